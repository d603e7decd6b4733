"""Labels, tables and Mermaid diagrams of synthetic traces."""

from __future__ import annotations

from zk.trace import Labels, Mermaid, Table, display_mermaid, filter, mermaid, table

MS = 1_000_000


def _run(session: int, start: int, epoch: int = 1) -> list[dict[str, object]]:
    """One create request, as a standalone server would trace it."""
    z = epoch << 32 | 1
    return [
        {
            "t": start,
            "server": "s1",
            "event": "server.packet.received",
            "from": f"client:{session:#x}",
            "to": "s1",
            "op": "create",
            "xid": 1,
        },
        {
            "t": start + 1 * MS,
            "server": "s1",
            "event": "prep.txn.created",
            "zxid": z,
            "session": session,
            "op": "create",
        },
        {"t": start + 3 * MS, "server": "s1", "event": "sync.fsync.done", "last_zxid": z, "count": 1},
        {"t": start + 12 * MS, "server": "s1", "event": "final.applied", "zxid": z, "path": "/a|b"},
        {
            "t": start + 13 * MS,
            "server": "s1",
            "event": "server.reply.sent",
            "to": f"client:{session:#x}",
            "xid": 1,
            "zxid": z,
        },
    ]


GOLDEN_MERMAID = """\
sequenceDiagram
    participant client_sess_1 as client:sess#35;1
    participant s1
    client_sess_1->>s1: server.packet.received op=create xid=1
    Note over s1: prep.txn.created zxid=e1:1 session=sess#35;1 op=create
    Note over s1: sync.fsync.done last_zxid=e1:1 count=1
    Note over s1: final.applied zxid=e1:1 path=/a|b
    s1->>client_sess_1: server.reply.sent xid=1 zxid=e1:1"""

GOLDEN_TABLE = """\
| T | server | event | zxid | session |
|---|---|---|---|---|
| T+0.0ms | s1 | server.packet.received |  |  |
| T+1.0ms | s1 | prep.txn.created | e1:1 | sess#1 |
| T+3.0ms | s1 | sync.fsync.done |  |  |
| T+12ms | s1 | final.applied | e1:1 |  |
| T+13ms | s1 | server.reply.sent | e1:1 |  |"""


def test_labels_are_stable_across_runs() -> None:
    run1 = _run(0x10000ABCD0000, start=123_456_789)
    run2 = _run(0x2000000FF0007, start=987_654_321_000)
    assert mermaid(run1) == mermaid(run2) == GOLDEN_MERMAID
    assert str(table(run1, ["zxid", "session"])) == str(table(run2, ["zxid", "session"])) == GOLDEN_TABLE


def test_labels() -> None:
    labels = Labels(origin=0)
    assert labels.session(0x10000ABCD0000) == "sess#1"
    assert labels.session("0x2000000ff0007") == "sess#2"
    assert labels.session(0x10000ABCD0000) == "sess#1"
    assert labels.session(0) == "0"
    assert labels.zxid(0x300000007) == "e3:7"
    assert labels.zxid(-1) == "-1"
    assert labels.time(12 * MS) == "T+12ms"
    assert labels.time(1_500_000) == "T+1.5ms"
    assert labels.endpoint("client:0x10000abcd0000") == "client:sess#1"
    assert labels.endpoint("client:127.0.0.1:5555") == "client#1"
    assert labels.endpoint(2) == "s2"
    assert labels.field("peer_zxid", 1 << 32) == "e1:0"
    assert labels.field("sessionId", 0x2000000FF0007) == "sess#2"
    assert labels.field("vote", {"leader": 3, "zxid": 1 << 32 | 4}) == "{leader=3, zxid=e1:4}"
    assert labels.field("zxids", [1 << 32, 2 << 32]) == "[e1:0, e2:0]"
    assert labels.field("data", b"\x01\x02") == "0102"


def test_filter() -> None:
    events = [*_run(5, 0), {"t": 99, "server": "s2", "event": "prepare.other"}]
    assert [e["event"] for e in filter(events, "prep")] == ["prep.txn.created"]
    assert len(filter(events, ("server", "sync."))) == 3
    assert len(filter(events, server="s2")) == 1
    assert len(filter(events)) == 6


def test_table_escapes_and_default_fields() -> None:
    text = str(table(_run(5, 0)[3:4]))
    assert text.splitlines()[0] == "| T | server | event | zxid | path |"
    assert "/a\\|b" in text


def test_notebook_display_objects() -> None:
    t = table(_run(5, 0))
    assert isinstance(t, Table) and t._repr_markdown_() == str(t) == repr(t)
    m = display_mermaid(mermaid(_run(5, 0)))
    assert isinstance(m, Mermaid)
    assert m._repr_markdown_() == f"```mermaid\n{m}\n```"


def test_mermaid_orders_servers_and_uses_int_endpoints() -> None:
    events = [
        {"t": 0, "server": "s10", "event": "fle.notification.sent", "to": 2, "leader": 10},
        {"t": 1, "server": "s2", "event": "fle.notification.received", "from": "s10"},
        {"t": 2, "server": "s1", "event": "fle.state.changed", "state": "LOOKING;x"},
    ]
    assert mermaid(events) == "\n".join(
        [
            "sequenceDiagram",
            "    participant s1",
            "    participant s2",
            "    participant s10",
            "    s10->>s2: fle.notification.sent leader=10",
            "    s10->>s2: fle.notification.received",
            "    Note over s1: fle.state.changed state=LOOKING#59;x",
        ]
    )
