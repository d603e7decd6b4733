"""Chapter order is import order (HOUSE_STYLE rule 9).

A package under zk/ may import only packages earlier in the book. This test reads every
module's imports with ``ast`` (nothing is imported or executed) and fails on any arrow
that points down the list. ``zk/__init__.py`` and ``zk/__main__.py`` sit above the book
and may import anything.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ZK = Path(__file__).resolve().parent.parent / "zk"

# Book order = import order; see docs/architecture.md.
BOOK_ORDER = [
    "jute",
    "trace",
    "protocol",
    "data",
    "watch",
    "session",
    "storage",
    "processors",
    "server",
    "election",
    "broadcast",
    "sync",
    "startup",
    "client",
    "recipes",
    "lab",
]
RANK = {pkg: i for i, pkg in enumerate(BOOK_ORDER)}
TOP_LEVEL_FREE = {"__init__.py", "__main__.py"}


def _package_of(path: Path) -> str | None:
    """The book package a file belongs to (zk/<pkg>/...), None for zk/*.py."""
    parts = path.relative_to(ZK).parts
    return parts[0] if len(parts) > 1 else None


def _resolve_relative(path: Path, module: str | None, level: int) -> str:
    """The absolute dotted name of ``from <dots><module> import ...`` inside ``path``."""
    # zk/jute/codec.py and zk/jute/__init__.py both live in package ["zk", "jute"];
    # one dot is that package, each further dot goes one package up.
    package = list(path.relative_to(ZK.parent).parts[:-1])
    anchor = package[: len(package) - (level - 1)] if level - 1 <= len(package) else []
    return ".".join(anchor + ([module] if module else []))


def _imported_zk_packages(path: Path, source: str | None = None) -> list[tuple[int, str]]:
    """(line, package) for every import of zk.<package>[...] in one file (or in ``source``)."""
    if source is None:
        source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = _resolve_relative(path, node.module, node.level) if node.level else node.module or ""
            # from zk import data → zk.data
            names = [f"zk.{alias.name}" for alias in node.names] if module == "zk" else [module]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if len(parts) >= 2 and parts[0] == "zk":
                found.append((node.lineno, parts[1]))
    return found


def _book_files() -> list[Path]:
    return sorted(p for p in ZK.rglob("*.py") if _package_of(p) is not None)


def test_every_package_is_in_the_book() -> None:
    """A new folder under zk/ must take its place in BOOK_ORDER (and in the docs)."""
    folders = {p.name for p in ZK.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))}
    unknown = sorted(folders - RANK.keys())
    assert not unknown, f"zk/ packages missing from BOOK_ORDER in {__file__}: {unknown}"


@pytest.mark.parametrize("path", _book_files(), ids=lambda p: str(p.relative_to(ZK.parent)))
def test_imports_point_up_the_book(path: Path) -> None:
    here = _package_of(path)
    assert here is not None
    bad = [
        f"{path.relative_to(ZK.parent)}:{line} imports zk.{pkg} (chapter {RANK[pkg] + 1}) "
        f"from zk.{here} (chapter {RANK[here] + 1})"
        for line, pkg in _imported_zk_packages(path)
        if pkg in RANK and here in RANK and RANK[pkg] > RANK[here]
    ]
    assert not bad, "imports that point down the book:\n" + "\n".join(bad)


def test_only_init_and_main_sit_above_the_book() -> None:
    assert {p.name for p in ZK.glob("*.py")} <= TOP_LEVEL_FREE | {"py.typed"}, (
        "zk/*.py holds only __init__.py and __main__.py; code goes in a book package"
    )


# Packages whose folder has no __init__.py yet are not checked until it lands.
WRITTEN = [pkg for pkg in BOOK_ORDER if (ZK / pkg / "__init__.py").exists()]


@pytest.mark.parametrize("pkg", WRITTEN)
def test_package_docstring_names_what_it_mirrors(pkg: str) -> None:
    init = ZK / pkg / "__init__.py"
    doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
    assert doc, f"zk/{pkg}/__init__.py has no module docstring"
    assert "Mirrors" in doc, f"zk/{pkg}/__init__.py's docstring should say what it Mirrors: in ZooKeeper"


def test_the_checker_sees_every_kind_of_import() -> None:
    """The checker itself: absolute, ``from zk import``, and relative imports all resolve."""
    src = "import zk.lab\nfrom zk import server\nfrom ..protocol import x\nfrom . import codec\nimport os\n"
    found = [pkg for _, pkg in _imported_zk_packages(ZK / "jute" / "probe.py", src)]
    assert found == ["lab", "server", "protocol", "jute"]
    in_init = [pkg for _, pkg in _imported_zk_packages(ZK / "server" / "__init__.py", "from .. import lab\n")]
    assert in_init == ["lab"]
