"""The regressions page (docs/regressions.md) lists every test named after a ZooKeeper bug.

Its tables are made at build time by scripts/regressions_table.py (through the mkdocs
hook in scripts/mkdocs_hooks.py), from the ``test_ZOOKEEPER_*`` tests it finds with ast.
These tests find the same tests another way (a regular expression over the files) and
check the page has a row for each of their ids that names them.
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
ROW = re.compile(
    r"^\| \[ZOOKEEPER-(\d+)\]\(https://issues\.apache\.org/jira/browse/ZOOKEEPER-\1\) \| (.+?) \| (.*) \|$"
)
DEF = re.compile(r"^\s*(?:async\s+)?def\s+(test_ZOOKEEPER_\w+)\s*\(", re.M)


def _scripts_module(name: str) -> ModuleType:
    """A module of scripts/ (not a package), imported as mkdocs imports its hooks."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(ROOT / "scripts"))


regressions_table = _scripts_module("regressions_table")
mkdocs_hooks = _scripts_module("mkdocs_hooks")


def _rows(markdown: str) -> dict[int, list[str]]:
    """JIRA id → the node ids in its rows (one row per table it appears in)."""
    rows: dict[int, list[str]] = {}
    for line in markdown.splitlines():
        if m := ROW.match(line):
            rows.setdefault(int(m.group(1)), []).extend(n.strip("`") for n in m.group(2).split("<br>"))
    return rows


def _named_tests() -> list[tuple[str, tuple[int, ...]]]:
    """(path::name, its ids) of every test_ZOOKEEPER_* function under tests/, by regex."""
    found = []
    for path in sorted(TESTS.rglob("test_*.py")):
        for name in DEF.findall(path.read_text(encoding="utf-8")):
            ids = tuple(int(n) for n in re.match(r"test_ZOOKEEPER((?:_\d+)+)", name).group(1).split("_")[1:])
            found.append((f"{path.relative_to(ROOT).as_posix()}::{name}", ids))
    return found


@pytest.fixture(scope="module")
def page() -> str:
    return regressions_table.regressions_markdown(TESTS, ROOT)


def test_every_regression_test_is_on_the_page_under_each_of_its_ids(page: str) -> None:
    rows = _rows(page)
    named = _named_tests()
    assert len(named) >= 30, "the regression tests were not found"
    missing = [(nodeid, i) for nodeid, ids in named for i in ids if nodeid not in rows.get(i, [])]
    assert not missing, f"not in the row of their id: {missing}"
    # and nothing else: each test on the page is one of them
    assert {n for nodeids in rows.values() for n in nodeids} == {nodeid for nodeid, _ in named}


def test_a_test_named_after_two_issues_is_listed_under_both(page: str) -> None:
    rows = _rows(page)
    two = [(nodeid, ids) for nodeid, ids in _named_tests() if len(ids) > 1]
    assert two, "no test named after two issues (test_ZOOKEEPER_3911_4646_… was one)"
    for nodeid, ids in two:
        assert all(nodeid in rows[i] for i in ids), (nodeid, ids)


def test_ids_are_sorted_numerically_in_each_table(page: str) -> None:
    for table in page.split("\n## ")[1:]:
        ids = [int(m.group(1)) for line in table.splitlines() if (m := ROW.match(line))]
        assert ids == sorted(ids) and len(ids) == len(set(ids)), ids


def test_the_summary_falls_back_to_the_module_docstring(tmp_path: Path) -> None:
    (tmp_path / "tests" / "sync").mkdir(parents=True)
    (tmp_path / "tests" / "sync" / "test_x.py").write_text(
        '"""What this file tests.\n\n'
        "* ZOOKEEPER-11 / -12: a follower ACKed before its fsync;\n"
        '* ZOOKEEPER-13: something else.\n"""\n\n\n'
        "async def test_ZOOKEEPER_11_12_ack_after_fsync() -> None:\n    pass\n\n\n"
        "def test_ZOOKEEPER_13_other() -> None:\n"
        '    """First. Second a | b. Third. Ours: `f` and g_h do it. Fifth."""\n\n\n'
        "def test_ZOOKEEPER_14_plain() -> None:\n    pass\n",
        encoding="utf-8",
    )
    rows = {
        int(m.group(1)): m.group(3)
        for line in regressions_table.regressions_markdown(tmp_path / "tests", tmp_path).splitlines()
        if (m := ROW.match(line))
    }
    assert rows[11] == rows[12] == "A follower ACKed before its fsync."
    assert rows[13] == "First. Second a \\| b. Ours: `f` and `g_h` do it."
    assert rows[14] == "*(the test file's docstring)* What this file tests."


def test_the_hook_replaces_the_marker_with_the_tables() -> None:
    source = (ROOT / "docs" / "regressions.md").read_text(encoding="utf-8")
    assert regressions_table.MARKER in source
    chapter = SimpleNamespace(src_uri="chapters/12-sync.md", abs_src_path=str(ROOT / "docs/chapters/12-sync.md"))
    out = mkdocs_hooks.on_page_markdown(
        source,
        page=SimpleNamespace(file=SimpleNamespace(src_uri="regressions.md")),
        config=SimpleNamespace(config_file_path=str(ROOT / "mkdocs.yml")),
        files=[chapter],
    )
    assert regressions_table.MARKER not in out
    assert "## 12. Sync after election" in out and "(chapters/12-sync.md)" in out
    assert set(_rows(out)) == {i for _, ids in _named_tests() for i in ids}
