"""SESSIONMOVED: a session belongs to the server its client last connected through.

A client that reconnects its session to another server takes the session with it: the
leader's session tracker records the new owner (the learner's LearnerHandler after a
REVALIDATE, or the leader itself), and a request for that session that still comes
through the old server is refused in Prep with SESSIONMOVED. The old server then closes
that connection without a reply (FinalRequestProcessor: a connection-level error, so a
client racing two servers cannot be told its session lives where it does not,
ZOOKEEPER-710). Reads a follower serves from its own tree never reach the leader's
Prep: they are answered.

The same steps run against three of our servers and three of Apache ZooKeeper 3.8's
through raw connections (a client library would reconnect and hide the close), and the
outcomes must be equal, step for step, to the ones ZooKeeper's rules predict.
"""

from __future__ import annotations

import asyncio
import itertools

import pytest

from zk import lab
from zk.jute.records import ACL, CheckVersionRequest, CreateRequest, GetDataRequest, Id, SetDataRequest
from zk.lab import Ensemble, ServerProcess
from zk.lab.raw import RawConnection
from zk.protocol.constants import OpCode
from zk.protocol.messages import MultiRequest

OPEN_ACL = [ACL(31, Id("world", "anyone"))]
SESSION_TIMEOUT_MS = 30_000

# (step, outcome): "ok", "err <code>" or "closed" (closed without a reply)
EXPECTED = [
    ("create through follower A", "ok"),
    ("session reconnected at follower B", "ok"),
    ("setData through A after the move", "closed"),
    ("setData through B", "ok"),
    ("session reconnected at the leader", "ok"),
    ("getData through B (served by B)", "ok"),
    ("setData through B after the move", "closed"),
    ("session reconnected at follower B", "ok"),
    ("getData through the leader after the move", "closed"),
    ("session reconnected at follower A", "ok"),
    ("multi through B after the move", "closed"),
    ("setData through A", "ok"),
]


def _outcome(conn: RawConnection, xid: int, op: int, body: object) -> str:
    conn.request(xid, op, body)  # type: ignore[arg-type]
    try:
        header, _ = conn.recv_reply()
    except ConnectionError:
        return "closed"
    assert header.xid == xid, (header, xid)
    return "ok" if header.err == 0 else f"err {header.err}"


def _reconnect(server: ServerProcess, session: RawConnection) -> tuple[RawConnection, str]:
    conn = RawConnection(server.host, server.port, timeout=10.0)
    rsp = conn.connect(SESSION_TIMEOUT_MS, session.session_id, session.passwd)
    valid = rsp.sessionId == session.session_id and rsp.timeOut > 0
    return conn, "ok" if valid else f"invalid session (timeout {rsp.timeOut})"


def _scenario(leader: ServerProcess, a: ServerProcess, b: ServerProcess) -> list[tuple[str, str]]:
    steps: list[tuple[str, str]] = []
    opened: list[RawConnection] = []

    def reconnect(name: str, server: ServerProcess, session: RawConnection) -> RawConnection:
        conn, outcome = _reconnect(server, session)
        opened.append(conn)
        steps.append((name, outcome))
        return conn

    # One xid counter for the session, across its connections, as a client keeps it: a
    # follower matches a committed txn to its waiting request by session and xid, so two
    # connections reusing an xid could take each other's answers.
    xids = itertools.count(1)

    def send(name: str, conn: RawConnection, op: int, body: object) -> None:
        steps.append((name, _outcome(conn, next(xids), op, body)))

    def set_data(data: bytes) -> SetDataRequest:
        return SetDataRequest("/moved", data, -1)

    try:
        on_a = RawConnection(a.host, a.port, timeout=10.0)
        opened.append(on_a)
        on_a.connect(SESSION_TIMEOUT_MS)
        send("create through follower A", on_a, OpCode.create, CreateRequest("/moved", b"v", OPEN_ACL, 0))
        on_b = reconnect("session reconnected at follower B", b, on_a)
        send("setData through A after the move", on_a, OpCode.setData, set_data(b"a"))
        send("setData through B", on_b, OpCode.setData, set_data(b"b"))
        on_leader = reconnect("session reconnected at the leader", leader, on_a)
        send("getData through B (served by B)", on_b, OpCode.getData, GetDataRequest("/moved", False))
        send("setData through B after the move", on_b, OpCode.setData, set_data(b"c"))
        on_b2 = reconnect("session reconnected at follower B", b, on_a)
        send("getData through the leader after the move", on_leader, OpCode.getData, GetDataRequest("/moved", False))
        on_a2 = reconnect("session reconnected at follower A", a, on_a)
        multi = MultiRequest([(OpCode.check, CheckVersionRequest("/moved", -1))])
        send("multi through B after the move", on_b2, OpCode.multi, multi)
        send("setData through A", on_a2, OpCode.setData, set_data(b"d"))
    finally:
        for conn in opened:
            conn.close()
    return steps


def _followers(ens: Ensemble, leader: ServerProcess) -> tuple[ServerProcess, ServerProcess]:
    a, b = (s for s in ens if s is not leader)
    return a, b


@pytest.mark.parametrize("kind", ["ours", "reference"])
async def test_a_request_through_the_server_a_session_left_is_refused(kind: lab.ServerKind) -> None:
    async with lab.ensemble(3, kind=kind) as ens:
        leader = await ens.wait_for_leader()
        steps = await asyncio.to_thread(_scenario, leader, *_followers(ens, leader))
    assert steps == EXPECTED
