"""Annotated bytes: the rows of a record add up to exactly its bytes."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zk.jute.codec import JuteError, JuteType, Record, RecordType, VectorType
from zk.jute.records import (
    ACL,
    ConnectRequest,
    CreateRequest,
    Id,
    ReplyHeader,
    RequestHeader,
    SetWatches2,
    Stat,
    TxnHeader,
)
from zk.trace import Row, annotate, annotate_frame, annotate_table

_INT32 = st.integers(-(2**31), 2**31 - 1)
_INT64 = st.integers(-(2**63), 2**63 - 1)


def _values(jt: JuteType) -> st.SearchStrategy[Any]:
    """A hypothesis strategy for one jute type, read off the type like the codec is."""
    if isinstance(jt, RecordType):
        return records(jt.cls)
    if isinstance(jt, VectorType):
        return st.none() | st.lists(_values(jt.element), max_size=3)
    return {
        "int": _INT32,
        "long": _INT64,
        "boolean": st.booleans(),
        "buffer": st.none() | st.binary(max_size=20),
        "ustring": st.none() | st.text(max_size=10),
    }[jt.name]


def records(cls: type[Record]) -> st.SearchStrategy[Any]:
    return st.builds(cls, *[_values(jt) for _, jt in cls.FIELDS])


def _joined(rows: list[Row]) -> bytes:
    return b"".join(r.raw for r in rows)


@settings(max_examples=50, deadline=None)
@given(records(Stat))
def test_stat_rows_sum_to_bytes(stat: Stat) -> None:
    rows = annotate(stat)
    assert _joined(rows) == stat.to_bytes()
    assert [r.field for r in rows] == [name for name, _ in Stat.FIELDS]


@settings(max_examples=50, deadline=None)
@given(records(CreateRequest))
def test_create_request_rows_sum_to_bytes(req: CreateRequest) -> None:
    rows = annotate(req, offset=7)
    assert _joined(rows) == req.to_bytes()
    assert rows[0].offset == 7
    for a, b in itertools.pairwise(rows):
        assert b.offset == a.offset + len(a.raw)


@pytest.mark.parametrize(
    "rec",
    [
        ConnectRequest(0, 0x100000005, 30000, 0, b"\x00" * 16, False),
        SetWatches2(5, ["/a"], [], None, ["/p", "/q"], []),
        ReplyHeader(-1, -1, 0),
        TxnHeader(0x10000ABCD0000, 3, 0x100000001, 1700000000000, 1),
    ],
)
def test_rows_sum_to_bytes(rec: Record) -> None:
    assert _joined(annotate(rec)) == rec.to_bytes()


def test_create_request_rows() -> None:
    req = CreateRequest("/app", b"hi", [ACL(31, Id("world", "anyone"))], 0)
    assert [(r.offset, r.bytes, r.field, r.value) for r in annotate(req)] == [
        (0, "00000004", "path (length)", "4"),
        (4, "2f617070", "path", "'/app'"),
        (8, "00000002", "data (length)", "2"),
        (12, "6869", "data", "b'hi'"),
        (14, "00000001", "acl (length)", "1"),
        (18, "0000001f", "acl[0].perms", "31"),
        (22, "00000005", "acl[0].id.scheme (length)", "5"),
        (26, "776f726c64", "acl[0].id.scheme", "'world'"),
        (31, "00000006", "acl[0].id.id (length)", "6"),
        (35, "616e796f6e65", "acl[0].id.id", "'anyone'"),
        (41, "00000000", "flags", "0"),
    ]


def test_null_and_empty() -> None:
    rows = annotate(CreateRequest(None, b"", None, 0))
    assert [(r.field, r.value) for r in rows] == [
        ("path (length)", "-1 (null)"),
        ("data (length)", "0"),
        ("acl (length)", "-1 (null)"),
        ("flags", "0"),
    ]


def test_annotate_frame() -> None:
    header = RequestHeader(1, 1)
    body = CreateRequest("/a", None, [], 0)
    payload = header.to_bytes() + body.to_bytes()
    frame = len(payload).to_bytes(4, "big") + payload + b"\xee"
    rows = annotate_frame(frame, RequestHeader, CreateRequest)
    assert _joined(rows) == frame
    assert rows[0].field == "len" and rows[0].value == f"{len(payload)} (frame has {len(payload) + 1})"
    assert rows[1].field == "RequestHeader.xid" and rows[1].offset == 4
    assert rows[3].field == "CreateRequest.path (length)"
    assert rows[-1].field == "(unparsed)"
    with pytest.raises(JuteError):
        annotate_frame(frame[:10], RequestHeader, CreateRequest)


def test_zxid_and_session_values() -> None:
    rows = annotate(TxnHeader(0x10000ABCD0000, 3, 0x100000001, 1, 1))
    assert rows[0].value == "0x10000abcd0000"
    assert rows[2].value == "0x100000001 (e1:1)"


def test_annotate_table() -> None:
    rows = annotate(CreateRequest("/app", bytes(20), None, 0))
    text = str(annotate_table(rows))
    lines = text.splitlines()
    assert lines[0] == "| offset | bytes | field | value |"
    assert lines[2] == "| 0 | 00 00 00 04 | path (length) | 4 |"
    assert "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 … (+4)" in text
