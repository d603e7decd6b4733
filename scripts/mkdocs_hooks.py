"""mkdocs hooks: link the executed notebooks from the pages that talk about them.

The executed notebooks exist only after ``scripts/test.sh`` ran papermill (into
docs/notebooks/, gitignored), so no page may link one by hand: the strict build would fail
whenever a notebook is missing. Instead a page writes the marker ``<!-- notebooks -->``
and this hook replaces it, at build time, with links to the notebooks that exist:

- on ``chapters/NN-name.md``: the notebooks named ``NN_*.ipynb`` (chapter NN's);
- on ``notebooks.md``: every notebook, in book order.

Wired in by ``hooks:`` in mkdocs.yml.
"""

from __future__ import annotations

import json
import posixpath
import re
from pathlib import Path
from typing import Any

MARKER = "<!-- notebooks -->"
CHAPTER_PAGE = re.compile(r"^chapters/(\d\d)-[^/]+\.md$")


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


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
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
