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
import struct
from pathlib import Path

from zk.broadcast import Follower, PacketType, packet, read_packet
from zk.data import DataTree
from zk.election.vote import Vote
from zk.jute.codec import Writer
from zk.jute.records import ACL, CreateTxn, Id, QuorumPacket, TxnHeader
from zk.lab.ports import free_ports
from zk.protocol.constants import OpCode
from zk.startup.config import QuorumPeerConfig
from zk.startup.quorum_peer import QuorumPeer
from zk.sync import serialize_wire_snapshot

OPEN_ACL = [ACL(31, Id("world", "anyone"))]
SNAP_ZXID = 1 << 32 | 5


def enc(qp: QuorumPacket) -> bytes:
    w = Writer()
    qp.encode(w)
    return w.getvalue()


def _peer(tmp_path: Path) -> tuple[QuorumPeer, int]:
    ports = free_ports(7)
    props = {
        "tickTime": "100",
        "initLimit": "10",
        "syncLimit": "5",
        "dataDir": str(tmp_path),
        "clientPort": str(ports[0]),
        "clientPortAddress": "127.0.0.1",
        **{f"server.{sid}": f"127.0.0.1:{ports[2 * sid - 1]}:{ports[2 * sid]}" for sid in (1, 2, 3)},
    }
    cfg = QuorumPeerConfig.from_properties(props)
    cfg.server_id = 2
    return QuorumPeer(cfg), ports[1]  # server.1's quorum port: the scripted leader


async def test_ZOOKEEPER_3642_a_snap_cut_off_before_newleader_is_dropped(tmp_path: Path) -> None:
    peer, leader_port = _peer(tmp_path)
    served = asyncio.Event()

    async def leader(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            qp = await read_packet(reader)
            assert qp.type == PacketType.FOLLOWERINFO
            writer.write(enc(packet(PacketType.LEADERINFO, 2 << 32, struct.pack(">i", 0x10000))))
            assert (await read_packet(reader)).type == PacketType.ACKEPOCH
            tree = DataTree()
            hdr = TxnHeader(0x55, 1, SNAP_ZXID, 0, OpCode.create)
            tree.process_txn(hdr, CreateTxn("/snapped", b"", OPEN_ACL, False, 1))
            writer.write(enc(packet(PacketType.SNAP, SNAP_ZXID)) + serialize_wire_snapshot(tree, {}))
            await writer.drain()
        finally:
            writer.close()  # the leader dies: no NEWLEADER
            served.set()

    server = await asyncio.start_server(leader, "127.0.0.1", leader_port)
    try:
        await peer.start()
        assert peer.db is not None and peer.fle is not None
        assert peer.db.tree.last_processed_zxid == 0
        peer.fle.current_vote = Vote(1, 0, 1, 0)  # the election chose server.1
        async with asyncio.timeout(20):
            await peer.follow(Follower)
            await served.wait()
        # what the next election will vote with, and what a restart would load, agree
        assert peer.db.tree.last_processed_zxid == 0
        assert peer.db.tree.get_node("/snapped") is None
        assert not (tmp_path / "version-2" / f"snapshot.{SNAP_ZXID:x}").exists()
        assert peer.current_epoch == 0  # no NEWLEADER: the epoch is not the leader's
    finally:
        server.close()
        await peer.stop()
