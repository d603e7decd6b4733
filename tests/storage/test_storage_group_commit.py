"""The sync stage: group commit, and the rule "fsync before reply".

A real Prep → Sync → Final chain over a real data directory, with FileTxnLog.commit
instrumented to record when each fsync starts and ends, and a fake connection that
records when each reply is sent.
"""

from __future__ import annotations

import asyncio
import threading
from itertools import count
from pathlib import Path

import pytest
from chain_helpers import RecordingCnxn

from zk.data import DataTree, ProviderRegistry
from zk.jute.codec import Record
from zk.jute.records import ACL, CreateRequest, Id, ReplyHeader
from zk.processors import FinalRequestProcessor, PrepRequestProcessor, Request, StandaloneChain, ZKDatabase
from zk.protocol.constants import OpCode
from zk.protocol.messages import MultiResponse
from zk.session import SessionTracker
from zk.storage import FileTxnLog, FileTxnSnapLog

OPEN = [ACL(31, Id("world", "anyone"))]
events: list[tuple[str, object]] = []
lock = threading.Lock()


class ReplyRecordingCnxn(RecordingCnxn):
    """Puts each reply on the shared timeline, beside the commits."""

    def send_response(self, header: ReplyHeader, body: Record | MultiResponse | None) -> None:
        with lock:
            events.append(("reply", header.zxid))


@pytest.fixture
def recorded_commits(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, object]]:
    events.clear()
    real = FileTxnLog.commit

    def commit(self: FileTxnLog) -> None:
        with lock:
            events.append(("fsync-start", self.last_zxid_seen))
        real(self)
        with lock:
            events.append(("fsync-done", self.last_zxid_seen))

    monkeypatch.setattr(FileTxnLog, "commit", commit)
    return events


def _chain(data_dir: Path, snap_count: int = 100_000) -> tuple[StandaloneChain, ZKDatabase, SessionTracker]:
    fs = FileTxnSnapLog(data_dir, prealloc_size=64 * 1024)
    db = ZKDatabase(DataTree(), snap_log=fs)
    tracker = SessionTracker(1, 2000, 0)
    registry = ProviderRegistry()
    zxids = count(1)
    prep = PrepRequestProcessor(db.tree, tracker, lambda: next(zxids), lambda: 0, lambda: 0, registry=registry)
    final = FinalRequestProcessor(db, prep, tracker, registry=registry)

    async def snapshot() -> None:
        await db.take_snapshot_fuzzy(tracker.sessions_with_timeouts())

    chain = StandaloneChain(prep, final, snap_count=snap_count, take_snapshot=snapshot)
    return chain, db, tracker


async def _creates(chain: StandaloneChain, tracker: SessionTracker, n: int, rounds: int = 1) -> list[Request]:
    sid = tracker.create_session(30000, 0)
    tracker.commit_session(sid, 30000)
    cnxn = ReplyRecordingCnxn(sid)
    requests = []
    for r in range(rounds):
        for i in range(n):
            req = Request(sid, r * n + i, OpCode.create, CreateRequest(f"/n{r}-{i}", b"", OPEN, 0), cnxn)
            chain.submit(req)
            requests.append(req)
        await asyncio.sleep(0)
    for _ in range(500):
        if chain.in_process == 0:
            break
        await asyncio.sleep(0.01)
    assert chain.in_process == 0
    return requests


async def test_no_reply_before_the_fsync_of_its_batch(tmp_path: Path, recorded_commits: list[object]) -> None:
    """SyncRequestProcessor.flush: zks.getZKDatabase().commit() before
    nextProcessor.processRequest. Every reply of zxid z comes after an fsync that
    covered z (fsync-done with last zxid >= z)."""
    chain, db, tracker = _chain(tmp_path)
    chain.start()
    try:
        await _creates(chain, tracker, 50, rounds=4)
    finally:
        await chain.stop()
        db.close()
    durable = 0
    replies = 0
    for kind, zxid in events:
        assert isinstance(zxid, int)
        if kind == "fsync-done":
            durable = zxid
        elif kind == "reply":
            replies += 1
            assert zxid <= durable, f"reply for 0x{zxid:x} sent before its fsync (durable up to 0x{durable:x})"
    assert replies == 200


async def test_requests_that_arrive_together_share_one_fsync(tmp_path: Path, recorded_commits: list[object]) -> None:
    """Group commit: 200 creates submitted in 4 bursts take a handful of fsyncs, not 200."""
    chain, db, tracker = _chain(tmp_path)
    chain.start()
    try:
        await _creates(chain, tracker, 50, rounds=4)
    finally:
        await chain.stop()
        db.close()
    fsyncs = sum(1 for kind, _ in events if kind == "fsync-start")
    assert 1 <= fsyncs <= 8
    assert db.snap_log is not None and db.snap_log.txn_log.fsyncs == fsyncs


async def test_every_snap_count_txns_the_log_rolls_and_a_snapshot_is_taken(tmp_path: Path) -> None:
    """SyncRequestProcessor.shouldSnapshot: after snapCount/2 + randRoll txns, roll
    the log and snapshot in the background."""
    chain, db, tracker = _chain(tmp_path, snap_count=20)
    chain.sync.rand_roll = lambda n: 0
    chain.sync.reset_snapshot_stats()
    chain.start()
    try:
        await _creates(chain, tracker, 15, rounds=4)
        task = chain.sync.snapshot_task
        assert task is not None
        await task
    finally:
        await chain.stop()
        db.close()
    names = sorted(p.name for p in (tmp_path / "version-2").iterdir())
    assert sum(n.startswith("log.") for n in names) >= 2
    assert any(n.startswith("snapshot.") for n in names)
    restored = FileTxnSnapLog(tmp_path).restore(DataTree)
    assert len(restored.tree.get_children("/")[0]) == 61  # 60 nodes and /zookeeper
