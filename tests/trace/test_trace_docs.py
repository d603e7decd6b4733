"""The examples on docs/trace.md are what the code renders."""

from __future__ import annotations

import json
import re
from pathlib import Path

from zk.jute.records import ACL, CreateRequest, Id
from zk.trace import annotate, annotate_table, mermaid, table

PAGE = Path(__file__).resolve().parents[2] / "docs" / "trace.md"


def _fences(text: str, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)\n```$", text, flags=re.S | re.M)


def _table_starting(text: str, header: str) -> str:
    lines = text.splitlines()
    start = lines.index(header)
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return "\n".join(lines[start:end])


def test_page_examples_match_the_renderers() -> None:
    text = PAGE.read_text(encoding="utf-8")
    events = [json.loads(line) for line in _fences(text, "json")[-1].splitlines()]
    assert len(events) == 6
    assert _fences(text, "mermaid") == [mermaid(events)]
    assert _table_starting(text, "| T | server | event | session | zxid | path |") == str(
        table(events, ["session", "zxid", "path"])
    )
    req = CreateRequest("/app", b"hi", [ACL(31, Id("world", "anyone"))], 0)
    assert _table_starting(text, "| offset | bytes | field | value |") == str(annotate_table(annotate(req)))
