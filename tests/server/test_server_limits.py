"""Every queue and every count has a limit, and reaching it is defined behaviour.

maxClientCnxns caps connections per IP address (the extra one is closed, as ZooKeeper
does); globalOutstandingLimit caps requests in the chain (reading pauses until Final
catches up, and every request is still answered, in order).
"""

import asyncio
import contextlib
import time
from collections.abc import Iterator

import pytest

from zk import lab
from zk.jute.records import ACL, CreateRequest, Id
from zk.lab.raw import RawConnection
from zk.protocol.constants import OpCode
from zk.protocol.errors import Code

OPEN = [ACL(31, Id("world", "anyone"))]


@pytest.fixture(scope="module", params=["ours", "reference"])
def two_cnxn_server(request: pytest.FixtureRequest) -> Iterator[lab.SyncServer]:
    if request.param == "reference" and not lab.reference_available():
        pytest.skip(lab.reference_missing_reason())
    with lab.start_server_sync(kind=request.param, config={"maxClientCnxns": "2"}) as s:
        yield s


def test_max_client_cnxns_closes_the_extra_connection(two_cnxn_server: lab.SyncServer) -> None:
    host, port = two_cnxn_server.connect_string.rsplit(":", 1)
    first, second = _connected(host, int(port)), _connected(host, int(port))
    try:
        try:
            third = RawConnection(host, int(port))
        except ConnectionError:
            return  # refused outright: closed before it could send anything
        with third:
            with contextlib.suppress(ConnectionError):  # it may be closed before we write
                third.send_frame(b"\x00" * 44)  # a ConnectRequest's size; it never gets an answer
            assert third.is_closed_by_server()
    finally:
        first.close()
        second.close()


def _connected(host: str, port: int) -> RawConnection:
    """A session, retried while the server still counts the lab's readiness probes
    (ZooKeeper's NIO factory forgets a closed connection a moment later)."""
    for _ in range(50):
        try:
            c = RawConnection(host, port)
        except ConnectionError:
            time.sleep(0.1)
            continue
        try:
            c.connect()
            return c
        except ConnectionError:
            c.close()
            time.sleep(0.1)
    raise AssertionError("could not open a session")


def test_requests_over_the_outstanding_limit_are_all_answered_in_order() -> None:
    with lab.start_server_sync(config={"globalOutstandingLimit": "5"}) as s:
        host, port = s.connect_string.rsplit(":", 1)
        with RawConnection(host, int(port)) as c:
            c.connect()
            n = 300
            for xid in range(1, n + 1):
                c.request(xid, OpCode.create, CreateRequest(f"/n{xid}", b"", OPEN, 0))
            replies = [c.recv_reply()[0] for _ in range(n)]
        assert [r.xid for r in replies] == list(range(1, n + 1))
        assert all(r.err == Code.OK for r in replies)
        assert [r.zxid for r in replies] == sorted(r.zxid for r in replies)


async def test_the_chain_pauses_reading_past_the_limit_and_resumes() -> None:
    """StandaloneChain reports when in-process requests pass globalOutstandingLimit
    (ZooKeeperServer.shouldThrottle) and when they fall back under it."""
    from zk.data import DataTree, ProviderRegistry
    from zk.processors import FinalRequestProcessor, PrepRequestProcessor, Request, StandaloneChain, ZKDatabase
    from zk.session import SessionTracker

    db = ZKDatabase(DataTree())
    tracker = SessionTracker(1, 2000, 0)
    registry = ProviderRegistry()
    zxid = iter(range(1, 1000))
    prep = PrepRequestProcessor(db.tree, tracker, lambda: next(zxid), lambda: 0, lambda: 0, registry=registry)
    chain = StandaloneChain(prep, FinalRequestProcessor(db, prep, tracker, registry=registry),
                            global_outstanding_limit=3)  # fmt: skip
    changes: list[bool] = []
    chain.on_throttle_change = changes.append
    chain.start()
    try:
        for i in range(10):
            chain.submit(Request(0, i, OpCode.createSession, None, None, session_timeout=4000))
        assert changes == [True] and chain.in_process == 10
        for _ in range(100):
            if chain.in_process == 0:
                break
            await asyncio.sleep(0.01)
        assert changes == [True, False] and chain.in_process == 0
    finally:
        await chain.stop()
