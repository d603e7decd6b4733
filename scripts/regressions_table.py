"""The regressions page's tables, read from the tests: ZooKeeper's bugs and the tests that keep them out.

A test named ``test_ZOOKEEPER_<id>[_<id>…]_<what it checks>`` replays the scenario of
that ZooKeeper JIRA issue (or issues). This module finds those tests by parsing the test
files with :mod:`ast` (nothing is imported, so no test module runs and no fixture is
needed), and renders one Markdown table per test folder, one row per JIRA id::

    | JIRA | test | scenario |
    | [ZOOKEEPER-1154](…) | `tests/sync/test_sync_plan.py::test_ZOOKEEPER_1154_…` | … |

The scenario is the first two sentences of the test's docstring, plus its "Ours: …"
sentence, which names the function of ours that enforces the rule. A test without a
docstring borrows its module docstring's: the paragraph or bullet that starts with the
test's id if there is one, else the docstring's opening.

Used by scripts/mkdocs_hooks.py (at build time, so the page follows the tests) and by
tests/test_docs_regressions.py. Standard library only.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

MARKER = "<!-- regressions -->"
JIRA = "https://issues.apache.org/jira/browse/ZOOKEEPER-{id}"
TEST_NAME = re.compile(r"^test_ZOOKEEPER_(\d+(?:_\d+)*)(?:_|$)")

# A paragraph that opens with the ids it is about: "ZOOKEEPER-4712 (/-4541): when …",
# "ZOOKEEPER-1549 / -2832: a server …". Group 1 holds the ids, group 2 the text after.
_ABOUT = re.compile(r"^ZOOKEEPER-([^:]{0,40}):\s*(.*)$", re.S)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(`*/])")
# A bullet starts a new paragraph: "* ZOOKEEPER-2930: …" or "- …".
_BULLET = re.compile(r"^\s*[*-]\s+")
# Sentences that point outside the repository (the shared notes the tests cite).
_OUTSIDE = "zab-regressions.md"

# Where the summary came from, best first: the test's own docstring, its module's
# paragraph about the id, its module's opening.
TEST_DOC, MODULE_PARAGRAPH, MODULE_OPENING, NOTHING = range(4)


@dataclass(frozen=True, slots=True)
class RegressionTest:
    """One ``test_ZOOKEEPER_*`` test as found in its file.

    Attributes:
        ids: the JIRA numbers in its name, in name order (``3911_4646`` gives two).
        folder: the folder under tests/ it lives in (``sync``, ``storage``, …).
        nodeid: ``tests/…/test_x.py::[Class::]name``, as pytest takes it.
        line: the line of its ``def``.
        summaries: per id, the summary text and where it came from (``TEST_DOC`` …).
    """

    ids: tuple[int, ...]
    folder: str
    nodeid: str
    line: int
    summaries: tuple[tuple[int, str, int], ...]  # (id, text, source)

    def summary(self, jira_id: int) -> tuple[str, int]:
        for i, text, source in self.summaries:
            if i == jira_id:
                return text, source
        return "", NOTHING


def ids_in_name(name: str) -> tuple[int, ...]:
    """The JIRA numbers a test's name starts with: ``test_ZOOKEEPER_3911_4646_x`` → (3911, 4646)."""
    m = TEST_NAME.match(name)
    return tuple(int(part) for part in m.group(1).split("_")) if m else ()


def _sentences(text: str) -> list[str]:
    flat = " ".join(text.split())
    return [s for s in _SENTENCE_END.split(flat) if s and _OUTSIDE not in s]


def _paragraphs(doc: str) -> list[str]:
    """Blank-line separated paragraphs, with each bullet of a list a paragraph of its own."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n", doc):
        current: list[str] = []
        for line in block.splitlines():
            if _BULLET.match(line) and current:
                out.append("\n".join(current))
                current = []
            current.append(_BULLET.sub("", line, count=1) if _BULLET.match(line) else line)
        if current:
            out.append("\n".join(current))
    return [p.strip() for p in out if p.strip()]


def summarize(doc: str, count: int = 2) -> str:
    """The first ``count`` sentences of ``doc``, and its "Ours: …" sentence if later."""
    sentences = _sentences(doc)
    picked = sentences[:count]
    for sentence in sentences[count:]:
        if m := re.search(r"\b[Oo]urs:", sentence):
            picked.append("Ours:" + sentence[m.end() :])
            break
    return " ".join(picked)


def _about(doc: str, jira_id: int) -> str | None:
    """The text of the module docstring's paragraph that opens with ``jira_id``, if any."""
    for para in _paragraphs(doc):
        m = _ABOUT.match(para)
        if m and jira_id in {int(n) for n in re.findall(r"(?:^|-)(\d+)", m.group(1))}:
            text = m.group(2).rstrip(" ;,")  # a bullet of a list ends in ";" or ","
            return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")
    return None


def _summaries(ids: tuple[int, ...], doc: str | None, module_doc: str | None) -> tuple[tuple[int, str, int], ...]:
    out = []
    for jira_id in ids:
        if doc:
            out.append((jira_id, summarize(doc), TEST_DOC))
        elif module_doc and (about := _about(module_doc, jira_id)) is not None:
            out.append((jira_id, summarize(about), MODULE_PARAGRAPH))
        elif module_doc:
            opening = summarize(_paragraphs(module_doc)[0], 1)
            out.append((jira_id, f"*(the test file's docstring)* {opening}", MODULE_OPENING))
        else:
            out.append((jira_id, "", NOTHING))
    return tuple(out)


def find_regression_tests(tests_dir: Path, root: Path) -> list[RegressionTest]:
    """Every ``test_ZOOKEEPER_*`` function under ``tests_dir`` (in Test* classes too).

    Args:
        tests_dir: the tests/ folder.
        root: the folder node ids are relative to (the repository's top).

    Returns:
        The tests, by file path and then line.
    """
    found: list[RegressionTest] = []
    for path in sorted(tests_dir.rglob("test_*.py")):
        module = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        module_doc = ast.get_docstring(module)
        rel = path.relative_to(root).as_posix()
        folder = path.parent.relative_to(tests_dir).as_posix()
        scopes: list[tuple[str, Iterable[ast.stmt]]] = [("", module.body)]
        scopes += [(f"{n.name}::", n.body) for n in module.body if isinstance(n, ast.ClassDef)]
        for prefix, body in scopes:
            for node in body:
                if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                ids = ids_in_name(node.name)
                if not ids:
                    continue
                summaries = _summaries(ids, ast.get_docstring(node), module_doc)
                found.append(RegressionTest(ids, folder, f"{rel}::{prefix}{node.name}", node.lineno, summaries))
    return sorted(found, key=lambda t: (t.nodeid.split("::")[0], t.line))


# Names of code in docstring prose: dotted (``Leader.process_sync``, ``zk.sync.plan``) or
# with an underscore (``pending_syncs``, ``_write_long``). Not "3.8", "server.2", "1:2".
_CODE_NAME = re.compile(r"(?<![\w.`])(?:[A-Za-z_]\w+(?:\.[A-Za-z_]\w+)+|\w*[A-Za-z]\w*_\w+|_\w+)(?![\w`])")


def _cell(text: str) -> str:
    """Docstring prose made into one cell of a Markdown table: names of code in backticks."""
    parts = re.split(r"(``.+?``|`[^`]+`)", text)  # code spans are kept as they are
    for i in range(0, len(parts), 2):
        parts[i] = _CODE_NAME.sub(lambda m: f"`{m.group()}`", parts[i]).replace("<", "&lt;")
    for i in range(1, len(parts), 2):
        parts[i] = "`" + parts[i].strip("`") + "`"
    return "".join(parts).replace("|", "\\|")


def _row(jira_id: int, tests: list[RegressionTest]) -> str:
    # The best summary among the tests of this id; on a tie, the first test's.
    text, _ = min((t.summary(jira_id) for t in tests), key=lambda s: s[1])
    link = f"[ZOOKEEPER-{jira_id}]({JIRA.format(id=jira_id)})"
    names = "<br>".join(f"`{t.nodeid}`" for t in tests)
    return f"| {link} | {names} | {_cell(text)} |"


def render_tables(tests: list[RegressionTest], chapters: Mapping[str, tuple[str, str]] | None = None) -> str:
    """Markdown: one section per test folder, each a table with one row per JIRA id.

    Args:
        tests: from :func:`find_regression_tests`.
        chapters: folder → (chapter title, link to the chapter's page); a folder with a
            chapter is headed by it, and the sections follow the order of this mapping.
            Folders without one come last, headed by their name.
    """
    chapters = chapters or {}
    folders = sorted({t.folder for t in tests}, key=lambda f: (list(chapters).index(f) if f in chapters else 1e9, f))
    out: list[str] = []
    for folder in folders:
        here = [t for t in tests if t.folder == folder]
        if folder in chapters:
            title, link = chapters[folder]
            out += [f"## {title}", "", f"From `tests/{folder}/`; [the chapter]({link}) explains the rules.", ""]
        else:
            out += [f"## tests/{folder}", ""]
        out += ["| JIRA | test | scenario |", "|---|---|---|"]
        for jira_id in sorted({i for t in here for i in t.ids}):
            out.append(_row(jira_id, [t for t in here if jira_id in t.ids]))
        out.append("")
    return "\n".join(out)


def regressions_markdown(tests_dir: Path, root: Path, chapters: Mapping[str, tuple[str, str]] | None = None) -> str:
    """The tables that replace :data:`MARKER`: :func:`find_regression_tests`, then :func:`render_tables`."""
    tests = find_regression_tests(tests_dir, root)
    ids = {i for t in tests for i in t.ids}
    lead = f"*{len(ids)} ZooKeeper issues, {len(tests)} tests, read from `tests/` when this page was built.*"
    return lead + "\n\n" + render_tables(tests, chapters)
