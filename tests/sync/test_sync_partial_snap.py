"""ZOOKEEPER-3642: a SNAP cut off before NEWLEADER leaves nothing behind.

A real QuorumPeer (in this process, its own data directory and ports) follows a scripted
leader that sends SNAP and a snapshot at 0x100000005, then dies before NEWLEADER. The
snapshot was never written to disk, so the tree must not stay in memory: were it kept,
the next election would vote with 0x100000005, a new leader would DIFF from there, and
a restart would silently lose everything up to it. Java clears the database when such a
learner shuts down (Learner.shutdown → zk.shutdown(fullyShutDown)); the QuorumPeer here
reloads it from disk.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from quorum_helpers import OPEN_ACL, enc, follow_scripted_leader, register_follower, scripted_peer

from zk.broadcast import PacketType, packet
from zk.data import DataTree
from zk.jute.records import CreateTxn, TxnHeader
from zk.protocol.constants import OpCode
from zk.sync import serialize_wire_snapshot

SNAP_ZXID = 1 << 32 | 5


async def test_ZOOKEEPER_3642_a_snap_cut_off_before_newleader_is_dropped(tmp_path: Path) -> None:
    """A leader dies after SNAP but before NEWLEADER: the snapshot is on no disk, so the learner must not keep its
    zxid, or a later DIFF skips everything before it. Ours: QuorumPeer's end of term reloads from disk."""
    peer, leader_port = scripted_peer(tmp_path)

    async def leader(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await register_follower(reader, writer, 2)
        tree = DataTree()
        hdr = TxnHeader(0x55, 1, SNAP_ZXID, 0, OpCode.create)
        tree.process_txn(hdr, CreateTxn("/snapped", b"", OPEN_ACL, False, 1))
        writer.write(enc(packet(PacketType.SNAP, SNAP_ZXID)) + serialize_wire_snapshot(tree, {}))
        await writer.drain()  # then the leader dies: no NEWLEADER

    try:
        await peer.start()
        assert peer.db is not None
        assert peer.db.tree.last_processed_zxid == 0
        await follow_scripted_leader(peer, leader_port, leader)
        # what the next election will vote with, and what a restart would load, agree
        assert peer.db.tree.last_processed_zxid == 0
        assert peer.db.tree.get_node("/snapped") is None
        assert not (tmp_path / "version-2" / f"snapshot.{SNAP_ZXID:x}").exists()
        assert peer.current_epoch == 0  # no NEWLEADER: the epoch is not the leader's
    finally:
        await peer.stop()
