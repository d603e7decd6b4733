"""ZooKeeper's own processor-chain bugs, each replayed on our chain (see
/work/shared/zab-regressions.md): ZOOKEEPER-1208 (an ephemeral created after its
session's close) and ZOOKEEPER-2247 (a server that cannot write its log keeps serving).
"""

from __future__ import annotations

import asyncio
from itertools import count
from pathlib import Path

from chain_helpers import RecordingCnxn

from zk.data import DataTree, ProviderRegistry
from zk.jute.codec import Record
from zk.jute.records import ACL, CloseSessionTxn, CreateRequest, ErrorTxn, Id
from zk.processors import FinalRequestProcessor, PrepRequestProcessor, Request, StandaloneChain, ZKDatabase
from zk.protocol.constants import CreateMode, OpCode
from zk.protocol.errors import Code
from zk.server import ServerConfig, ZooKeeperServer
from zk.session import SessionTracker
from zk.storage import FileTxnSnapLog

OPEN = [ACL(31, Id("world", "anyone"))]
NOW = 1_000_000


# --- ZOOKEEPER-1208 ----------------------------------------------------------------------


def test_ZOOKEEPER_1208_a_create_prepped_after_its_sessions_close_makes_no_ephemeral() -> None:
    """A closeSession and then a create-ephemeral of the same session are in the pipeline
    together (the client's create raced the expiry). In ZooKeeper the create was prepared
    after the close yet still became a create txn: the ephemeral was applied after the
    CloseSessionTxn had listed the session's nodes, so it belonged to a dead session and
    was never deleted. Ours: PrepRequestProcessor._p_close_session marks the session
    closing (SessionTracker.set_session_closing) as it builds the close, so the create's
    session check (SessionTracker.check_session) fails with SESSIONEXPIRED.
    """
    db = ZKDatabase(DataTree())
    tracker = SessionTracker(1, 2000, NOW)
    registry = ProviderRegistry()
    zxids = count(1)
    prep = PrepRequestProcessor(db.tree, tracker, lambda: next(zxids), lambda: NOW, lambda: NOW, registry=registry)
    final = FinalRequestProcessor(db, prep, tracker, registry=registry)
    session = tracker.create_session(30000, NOW)
    tracker.commit_session(session, 30000)
    cnxn = RecordingCnxn(session)

    def submit(op: int, body: Record | None, cxid: int) -> Request:
        req = Request(session, cxid, op, body, cnxn, list(cnxn.auth_info))
        prep.prep(req)
        return req

    early = submit(OpCode.create, CreateRequest("/before", b"", OPEN, int(CreateMode.EPHEMERAL)), 1)
    close = submit(OpCode.closeSession, None, 2)
    late = submit(OpCode.create, CreateRequest("/after", b"", OPEN, int(CreateMode.EPHEMERAL)), 3)

    assert isinstance(close.txn, CloseSessionTxn) and close.txn.paths2Delete == ["/before"]
    assert late.hdr is not None and late.hdr.type == OpCode.error, "the create came after the close: no create txn"
    assert late.txn == ErrorTxn(int(Code.SESSIONEXPIRED))
    for req in (early, close, late):  # Final applies them in zxid order, as logged
        final.process_request(req)
    assert db.tree.get_node("/before") is None
    assert db.tree.get_node("/after") is None, "an ephemeral owned by a closed session"
    assert not db.tree.get_ephemerals(session)


# --- ZOOKEEPER-2247 ----------------------------------------------------------------------


def _create(session: int, cxid: int, path: str, cnxn: RecordingCnxn) -> Request:
    return Request(session, cxid, OpCode.create, CreateRequest(path, b"", OPEN, 0), cnxn)


async def test_ZOOKEEPER_2247_a_failed_log_write_stops_the_chain_and_answers_nobody(tmp_path: Path) -> None:
    """The disk fails under the sync stage's fsync. In ZooKeeper the leader's
    SyncRequestProcessor died on the IOException but the leader kept leading, so every
    later write hung and the ensemble stayed unavailable. Ours:
    SyncRequestProcessor.run lets the error out of the stage (no reply, nothing applied),
    so the chain's task ends; ZooKeeperServer.serve_forever (standalone) and
    Leader._ping_loop (an ensemble) end the server's term on a finished chain task.
    """
    db = ZKDatabase(DataTree(), snap_log=FileTxnSnapLog(tmp_path, prealloc_size=64 * 1024))
    tracker = SessionTracker(1, 2000, 0)
    registry = ProviderRegistry()
    zxids = count(1)
    prep = PrepRequestProcessor(db.tree, tracker, lambda: next(zxids), lambda: 0, lambda: 0, registry=registry)
    chain = StandaloneChain(prep, FinalRequestProcessor(db, prep, tracker, registry=registry))

    def failing_commit() -> None:
        raise OSError(5, "Input/output error")

    db.commit = failing_commit  # type: ignore[method-assign]
    session = tracker.create_session(30000, 0)
    tracker.commit_session(session, 30000)
    cnxn = RecordingCnxn(session)
    chain.start()
    try:
        chain.submit(_create(session, 1, "/lost", cnxn))
        (task,) = chain.tasks
        async with asyncio.timeout(5):
            while not task.done():
                await asyncio.sleep(0.01)
        assert isinstance(task.exception(), OSError), "the sync stage swallowed the disk error"
        chain.submit(_create(session, 2, "/later", cnxn))
        await asyncio.sleep(0.05)
        assert cnxn.replies == [], "a write that is on no disk was answered"
        assert db.tree.get_node("/lost") is None and db.tree.get_node("/later") is None
    finally:
        task.cancel()
        db.close()


async def test_ZOOKEEPER_2247_a_standalone_server_that_cannot_log_stops_serving(tmp_path: Path) -> None:
    """The same failing disk under a whole standalone server: ``serve_forever`` must end
    with the disk's error instead of serving on without a log (ZooKeeperServer's
    critical-thread handler in Java, ``serve_forever`` here)."""
    zks = ZooKeeperServer(ServerConfig(data_dir=tmp_path, client_port=0, client_port_address="127.0.0.1"))

    def failing_commit() -> None:
        raise OSError(28, "No space left on device")

    zks.db.commit = failing_commit  # type: ignore[method-assign]
    serving = asyncio.ensure_future(zks.serve_forever())
    try:
        await asyncio.sleep(0.1)
        assert not serving.done()
        session = zks.session_tracker.create_session(30000, 0)
        zks.session_tracker.commit_session(session, 30000)
        zks.chain.submit(_create(session, 1, "/x", RecordingCnxn(session)))
        async with asyncio.timeout(5):
            try:
                await asyncio.shield(serving)
            except OSError as e:
                assert e.errno == 28
            else:
                raise AssertionError("serve_forever returned without the disk error")
    finally:
        if not serving.done():
            serving.cancel()
            await asyncio.gather(serving, return_exceptions=True)
