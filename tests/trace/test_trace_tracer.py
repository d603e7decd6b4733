"""The Tracer: off costs one check and emits nothing; on, events are stamped and written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zk.jute.records import Id
from zk.trace import NULL_TRACER, JsonLinesSink, MemorySink, Tracer, load


class _Boom:
    """A field value whose construction would be a bug while tracing is off."""

    def __init__(self) -> None:
        raise AssertionError("a disabled trace point built its fields")


def test_null_tracer_is_off_and_emits_nothing() -> None:
    assert NULL_TRACER.enabled is False
    NULL_TRACER.emit("server.packet.received", op="create")  # no sink, no error
    if NULL_TRACER.enabled:
        NULL_TRACER.emit("prep.txn.created", boom=_Boom())


def test_disabled_call_site_is_one_attribute_check(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tracer has slots, so ``enabled`` is a slot read; emit is never reached when off.
    assert "enabled" in Tracer.__slots__
    assert not hasattr(NULL_TRACER, "__dict__")
    calls: list[str] = []
    monkeypatch.setattr(Tracer, "emit", lambda self, event, **f: calls.append(event))
    for _ in range(1000):
        if NULL_TRACER.enabled:
            NULL_TRACER.emit("prep.txn.created", zxid=1)
    assert calls == []


def test_enabled_tracer_stamps_events() -> None:
    now = [1_000]
    sink = MemorySink()
    tracer = Tracer("s2", sink, clock=lambda: now[0])
    now[0] = 13_000_000
    tracer.emit("prep.txn.created", zxid=0x100000001, session=7)
    assert sink.events == [
        {"t": 12_999_000, "server": "s2", "event": "prep.txn.created", "zxid": 0x100000001, "session": 7}
    ]
    assert list(sink.events[0])[:3] == ["t", "server", "event"]


def test_stamped_keys_are_reserved() -> None:
    tracer = Tracer("s1", MemorySink())
    with pytest.raises(AssertionError):
        tracer.emit("server.packet.received", server="s2")
    with pytest.raises(AssertionError):
        tracer.emit("undotted")


def test_json_lines_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "s1.jsonl"
    tracer = Tracer("s1", JsonLinesSink(path))
    tracer.emit("server.packet.received", frm=None, passwd=b"\x00\xff", zxid=2**40 + 5, ok=True)
    tracer.emit("prep.txn.created", acl=[Id("world", "anyone")], paths=("/a", "/b"))
    # Flushed per event: readable before close, as a notebook reads a live server.
    lines = path.read_text().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["passwd"] == "00ff"
    assert first["zxid"] == 2**40 + 5 and isinstance(first["zxid"], int)
    assert first["ok"] is True and first["frm"] is None
    tracer.close()
    events = load(path)
    assert [e["event"] for e in events] == ["server.packet.received", "prep.txn.created"]
    assert events[1]["acl"] == [{"scheme": "world", "id": "anyone"}]
    assert events[1]["paths"] == ["/a", "/b"]


def test_load_merges_sorted_and_skips_half_written_line(tmp_path: Path) -> None:
    a, b = tmp_path / "s1.jsonl", tmp_path / "s2.jsonl"
    a.write_text('{"t": 5, "server": "s1", "event": "x.a"}\n{"t": 30, "server": "s1", "event": "x.c"}\n')
    b.write_text('{"t": 10, "server": "s2", "event": "x.b"}\n{"t": 40, "server": "s2", "ev')
    assert [e["event"] for e in load([a, b])] == ["x.a", "x.b", "x.c"]


def test_from_env(tmp_path: Path) -> None:
    assert Tracer.from_env({}) is NULL_TRACER
    assert Tracer.from_env({"ZK_TRACE": ""}) is NULL_TRACER
    path = tmp_path / "t.jsonl"
    tracer = Tracer.from_env({"ZK_TRACE": str(path), "ZK_TRACE_SERVER": "s3"})
    try:
        assert tracer.enabled and tracer.server == "s3"
        tracer.emit("session.expired", session=1)
    finally:
        tracer.close()
    (event,) = load(path)
    assert event["server"] == "s3" and event["event"] == "session.expired"
    default = Tracer.from_env({"ZK_TRACE": str(path)})
    default.close()
    assert default.server == "s1"
