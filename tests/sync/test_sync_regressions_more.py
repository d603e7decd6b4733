"""ZOOKEEPER-4712 and ZOOKEEPER-2832, each with a real QuorumPeer following a scripted leader.

The peer runs in this process on its own data directory and ports (as in
test_sync_partial_snap.py); a fake leader on server.1's quorum port plays the packets.

* ZOOKEEPER-4712 (/-4541): when a learner's term ends, its sync stage must be stopped
  before the database is fast-forwarded to the log. Java's Follower.shutdown did not
  stop the SyncRequestProcessor, so fastForwardDataBase read the log while the sync
  thread was still writing it: the tree (and the zxid the next election votes with)
  ended behind the log, and a txn could reach the log after the term was over. Here
  the leader sends proposals and goes away while their fsync is in progress; the tree
  after the term must hold exactly what the log holds, and the log must not grow after.
  A QuorumPeer with the buggy order is run through the same scenario to show the
  check catches it.
* ZOOKEEPER-2832: a follower that logged an uncommitted txn (2:1) later gets a SNAP
  from a leader whose snapshot (1:2) predates it. The snapshot the follower writes is
  named 1:2, so at its next restart the log replay after 1:2 brings 2:1 back, a txn
  no quorum ever committed. After the SNAP, nothing past the snapshot's zxid may stay
  in the follower's log.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from quorum_helpers import (
    create_entry,
    enc,
    follow_scripted_leader,
    register_follower,
    scripted_peer,
    sync_by_empty_diff,
    z,
)

from zk.broadcast import PacketType, packet, read_packet
from zk.broadcast.packets import encode_txn
from zk.data import DataTree
from zk.processors import ZKDatabase
from zk.server import ZooKeeperServer
from zk.startup.quorum_peer import QuorumPeer
from zk.storage import FileTxnSnapLog
from zk.sync import serialize_wire_snapshot

Reader = asyncio.StreamReader
Writer_ = asyncio.StreamWriter


def _logged(data_dir: Path) -> list[int]:
    return [e.header.zxid for e in FileTxnSnapLog(data_dir).txn_log.read(0)]


# --- ZOOKEEPER-4712 ----------------------------------------------------------------------


class FastForwardBeforeStop(QuorumPeer):
    """The buggy order of ZOOKEEPER-4712: fast-forward while the sync stage still runs."""

    async def _end_term(self, zks: ZooKeeperServer | None, *, reload: bool = False) -> None:
        assert self.db is not None
        self.set_serving(None)
        await asyncio.to_thread(self.db.fast_forward_data_base, dict(self.db.sessions))
        if zks is not None:
            await zks.stop(close_db=False)
        self.db.close()


N_PROPOSALS = 5


async def _term_ends_during_an_fsync(tmp_path: Path, cls: type[QuorumPeer]) -> tuple[int, list[int], list[int]]:
    """Returns (the tree's zxid after the term, the log then, the log a moment later)."""
    peer, leader_port = scripted_peer(tmp_path, cls)
    await peer.start()
    assert peer.db is not None and peer.db.snap_log is not None
    snap_log = peer.db.snap_log
    loop = asyncio.get_running_loop()
    fsync_started = asyncio.Event()
    armed = threading.Event()
    real_commit = snap_log.commit

    def slow_commit() -> None:
        if armed.is_set():  # the broadcast phase only: a slow disk under the proposals
            loop.call_soon_threadsafe(fsync_started.set)
            threading.Event().wait(0.5)
        real_commit()

    snap_log.commit = slow_commit  # type: ignore[method-assign]

    async def script(reader: Reader, writer: Writer_) -> None:
        await sync_by_empty_diff(reader, writer, 1)
        armed.set()
        for i in range(1, N_PROPOSALS + 1):
            writer.write(enc(packet(PacketType.PROPOSAL, z(1, i), encode_txn(create_entry(z(1, i), f"/p{i}")))))
        await writer.drain()
        await asyncio.wait_for(fsync_started.wait(), 10)
        # the leader goes away while the follower's sync stage is in its fsync

    try:
        await follow_scripted_leader(peer, leader_port, script)
        tree_zxid = peer.db.tree.last_processed_zxid
        logged_at_end = _logged(tmp_path)
        await asyncio.sleep(0.8)  # longer than the slow fsync: whatever was still running has run
        logged_later = _logged(tmp_path)
    finally:
        await peer.stop()
    return tree_zxid, logged_at_end, logged_later


async def test_ZOOKEEPER_4712_the_sync_stage_stops_before_the_database_is_fast_forwarded(tmp_path: Path) -> None:
    """At the end of a term the sync stage stops (its running fsync finishes) before the database is fast-forwarded
    from the log; in ZooKeeper the two raced. Ours: QuorumPeer's end of term and the chain's stop."""
    tree_zxid, logged_at_end, logged_later = await _term_ends_during_an_fsync(tmp_path, QuorumPeer)
    assert logged_later == logged_at_end, "the log grew after the term was over"
    assert logged_at_end, "the batch in its fsync was finished, not cut"
    assert tree_zxid == logged_at_end[-1], "the tree (and the next vote) is behind the log"
    assert logged_at_end == [z(1, i) for i in range(1, len(logged_at_end) + 1)]


async def test_ZOOKEEPER_4712_the_check_catches_the_buggy_order(tmp_path: Path) -> None:
    """The same scenario with the buggy order (fast-forward while the sync stage still runs) is caught by the
    check the previous test relies on."""
    tree_zxid, _, logged_later = await _term_ends_during_an_fsync(tmp_path, FastForwardBeforeStop)
    assert logged_later and tree_zxid < logged_later[-1]  # what the test above refuses


# --- ZOOKEEPER-2832 ----------------------------------------------------------------------


def _follower_with_an_uncommitted_txn(data_dir: Path) -> None:
    """B's disk: 1:1 and 1:2 (committed) and 2:1 (logged, never committed)."""
    db = ZKDatabase(DataTree(), snap_log=FileTxnSnapLog(data_dir))
    db.load_data_base(DataTree)
    db.take_snapshot({})  # snapshot.0
    assert db.snap_log is not None
    for zxid, path in [(z(1, 1), "/a"), (z(1, 2), "/b"), (z(2, 1), "/uncommitted")]:
        entry = create_entry(zxid, path)
        db.snap_log.append(entry.header, entry.txn)
        db.process_txn(entry.header, entry.txn)
    db.commit()
    db.close()


async def test_ZOOKEEPER_2832_a_snap_older_than_a_logged_txn_removes_it_from_the_log(tmp_path: Path) -> None:
    """A SNAP named older than a txn this learner logged must remove that txn from its log, or it survives a
    restart on this server alone. Ours: cut_history_past in zk.sync.learner_sync."""
    _follower_with_an_uncommitted_txn(tmp_path)
    peer, leader_port = scripted_peer(tmp_path)

    async def script(reader: Reader, writer: Writer_) -> None:
        ackepoch = await register_follower(reader, writer, 4)
        assert ackepoch.zxid == z(2, 1)  # B votes with its uncommitted txn
        tree = DataTree()
        for e in (create_entry(z(1, 1), "/a"), create_entry(z(1, 2), "/b")):
            tree.process_txn(e.header, e.txn)
        # the leader's snapshot predates 2:1 (C was at 1:2 and never saw it)
        writer.write(enc(packet(PacketType.SNAP, z(1, 2))) + serialize_wire_snapshot(tree, {}))
        writer.write(enc(packet(PacketType.NEWLEADER, z(4, 0))))
        assert (await read_packet(reader)).type == PacketType.ACK
        writer.write(enc(packet(PacketType.UPTODATE, -1)))
        assert (await read_packet(reader)).type == PacketType.ACK
        new = create_entry(z(4, 1), "/new")
        writer.write(enc(packet(PacketType.PROPOSAL, z(4, 1), encode_txn(new))))
        ack = await read_packet(reader)
        assert (ack.type, ack.zxid) == (PacketType.ACK, z(4, 1))
        writer.write(enc(packet(PacketType.COMMIT, z(4, 1))))
        await writer.drain()
        await asyncio.sleep(0.1)

    try:
        await peer.start()
        assert peer.db is not None and peer.db.tree.get_node("/uncommitted") is not None
        await follow_scripted_leader(peer, leader_port, script)
        assert peer.db.tree.get_node("/uncommitted") is None  # in memory: the leader's tree
        assert peer.db.tree.get_node("/new") is not None
    finally:
        await peer.stop()

    restarted = ZKDatabase(DataTree(), snap_log=FileTxnSnapLog(tmp_path))
    restarted.load_data_base(DataTree)  # B restarts: snapshot.100000002, then its log
    try:
        assert restarted.tree.get_node("/uncommitted") is None, "2:1 came back from the log"
        for path in ("/a", "/b", "/new"):
            assert restarted.tree.get_node(path) is not None
        assert restarted.tree.last_processed_zxid == z(4, 1)
    finally:
        restarted.close()
    assert z(2, 1) not in _logged(tmp_path)  # cut from the log, not only skipped
