"""mkdocs hooks: pages that are partly written by the build.

1. Link the executed notebooks from the pages that talk about them.

The executed notebooks exist only after ``scripts/test.sh`` ran papermill (into
docs/notebooks/, gitignored), so no page may link one by hand: the strict build would fail
whenever a notebook is missing. Instead a page writes the marker ``<!-- notebooks -->``
and this hook replaces it, at build time, with links to the notebooks that exist:

- on ``chapters/NN-name.md``: the notebooks named ``NN_*.ipynb`` (chapter NN's);
- on ``notebooks.md``: every notebook, in book order.

2. List ZooKeeper's own bugs and the tests that replay them. A page (regressions.md)
writes ``<!-- regressions -->``; it is replaced by tables that scripts/regressions_table.py
reads from the ``test_ZOOKEEPER_*`` tests under tests/, one section per test folder,
headed by the chapter of the same name. ``mkdocs serve`` watches tests/ for it.

Wired in by ``hooks:`` in mkdocs.yml.
"""

from __future__ import annotations

import json
import posixpath
import re
from pathlib import Path
from typing import Any

# mkdocs puts this file's folder on sys.path while it loads a hook.
from regressions_table import MARKER as REGRESSIONS_MARKER
from regressions_table import regressions_markdown

MARKER = "<!-- notebooks -->"
CHAPTER_PAGE = re.compile(r"^chapters/(\d\d)-([^/]+)\.md$")  # number, name


def _notebooks(files: Any) -> list[Any]:
    """Documentation files under notebooks/ ending in .ipynb, sorted by name."""
    found = [f for f in files if f.src_uri.startswith("notebooks/") and f.src_uri.endswith(".ipynb")]
    return sorted(found, key=lambda f: f.src_uri)


def _title(file: Any) -> str:
    """The notebook's first Markdown heading, else its file name."""
    try:
        cells = json.loads(Path(file.abs_src_path).read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError):
        cells = []
    for cell in cells:
        if cell.get("cell_type") != "markdown":
            continue
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else source
        for line in text.splitlines():
            if line.startswith("#"):
                return line.lstrip("#").strip()
    return Path(file.src_uri).stem


def _links(page_uri: str, notebooks: list[Any]) -> str:
    base = posixpath.dirname(page_uri)
    return "\n".join(
        f"- [{_title(nb)}]({posixpath.relpath(nb.src_uri, base or '.')}) (`notebooks/{Path(nb.src_uri).name}`)"
        for nb in notebooks
    )


def _root(config: Any) -> Path:
    return Path(config.config_file_path).resolve().parent


def _chapters(page_uri: str, files: Any) -> dict[str, tuple[str, str]]:
    """Test folder → (chapter title, link from the page): ``chapters/07-storage.md`` for storage/."""
    found: dict[str, tuple[int, str, str]] = {}
    for f in files:
        m = CHAPTER_PAGE.match(f.src_uri)
        if not m:
            continue
        title = next(
            (
                line.lstrip("#").strip()
                for line in Path(f.abs_src_path).read_text("utf-8").splitlines()
                if line.startswith("# ")
            ),
            m.group(2),
        )
        link = posixpath.relpath(f.src_uri, posixpath.dirname(page_uri) or ".")
        found[m.group(2)] = (int(m.group(1)), title, link)
    return {name: (title, link) for name, (_, title, link) in sorted(found.items(), key=lambda kv: kv[1][0])}


def on_serve(server: Any, config: Any, builder: Any) -> Any:
    server.watch(str(_root(config) / "tests"))  # the regressions page is read from there
    return server


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if REGRESSIONS_MARKER in markdown:
        root = _root(config)
        tables = regressions_markdown(root / "tests", root, _chapters(page.file.src_uri, files))
        markdown = markdown.replace(REGRESSIONS_MARKER, tables)
    if MARKER not in markdown:
        return markdown
    uri = page.file.src_uri
    notebooks = _notebooks(files)
    chapter = CHAPTER_PAGE.match(uri)
    if chapter:
        notebooks = [nb for nb in notebooks if Path(nb.src_uri).name.startswith(chapter.group(1) + "_")]
    if notebooks:
        listing = _links(uri, notebooks)
    else:
        listing = (
            "*No notebook here yet, or not executed yet: `bash scripts/test.sh` executes "
            "`notebooks/*.ipynb` into `docs/notebooks/` before it builds the site.*"
        )
    return markdown.replace(MARKER, listing)
