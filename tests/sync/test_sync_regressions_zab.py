"""ZooKeeper's own sync and recovery bugs, each replayed with a real QuorumPeer following
a scripted leader (as in test_sync_regressions_more.py): ZOOKEEPER-2355, -4394, -4882
and -1653. See /work/shared/zab-regressions.md.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from quorum_helpers import OPEN_ACL, create_entry, enc, scripted_peer, z

from zk.broadcast import Follower, PacketType, packet, read_packet
from zk.broadcast.packets import encode_txn
from zk.data import DataTree
from zk.election.vote import Vote
from zk.jute.records import CloseSessionTxn, CreateSessionTxn, CreateTxn, QuorumPacket, TxnHeader
from zk.processors import ZKDatabase
from zk.protocol.constants import OpCode
from zk.startup.config import ConfigException
from zk.startup.quorum_peer import QuorumPeer, read_epochs
from zk.storage import FileTxnSnapLog
from zk.storage.util import TxnLogEntry
from zk.sync import serialize_wire_snapshot

Reader = asyncio.StreamReader
Writer_ = asyncio.StreamWriter
SESSION = 0x55


async def _follow_scripted_leader(
    peer: QuorumPeer, leader_port: int, script: Callable[[Reader, Writer_], Awaitable[None]]
) -> None:
    """One term of `peer` following a leader that plays `script`, then hangs up."""
    done = asyncio.Event()

    async def leader(reader: Reader, writer: Writer_) -> None:
        try:
            await script(reader, writer)
        finally:
            writer.close()
            done.set()

    server = await asyncio.start_server(leader, "127.0.0.1", leader_port)
    try:
        assert peer.fle is not None
        peer.fle.current_vote = Vote(1, 0, 1, 0)  # the election chose server.1
        async with asyncio.timeout(20):
            await peer.follow(Follower)
            await done.wait()
    finally:
        server.close()
        await server.wait_closed()


async def _register(reader: Reader, writer: Writer_, epoch: int) -> QuorumPacket:
    """FOLLOWERINFO → LEADERINFO(epoch) → ACKEPOCH; returns the ACKEPOCH (its zxid is
    the follower's last zxid, what the leader plans the sync from)."""
    assert (await read_packet(reader)).type == PacketType.FOLLOWERINFO
    writer.write(enc(packet(PacketType.LEADERINFO, z(epoch, 0), struct.pack(">i", 0x10000))))
    ackepoch = await read_packet(reader)
    assert ackepoch.type == PacketType.ACKEPOCH
    return ackepoch


def _logged(data_dir: Path) -> list[int]:
    return [e.header.zxid for e in FileTxnSnapLog(data_dir).txn_log.read(0)]


def _proposal(entry: TxnLogEntry) -> QuorumPacket:
    return packet(PacketType.PROPOSAL, entry.header.zxid, encode_txn(entry))


# --- ZOOKEEPER-2355 ----------------------------------------------------------------------


def _ephemeral_on_disk(data_dir: Path) -> None:
    """The follower's disk: snapshot.0, then session 0x55 (1:1) and its ephemeral /e (1:2)."""
    db = ZKDatabase(DataTree(), snap_log=FileTxnSnapLog(data_dir))
    db.load_data_base(DataTree)
    db.take_snapshot({})
    assert db.snap_log is not None
    for hdr, txn in [
        (TxnHeader(SESSION, 0, z(1, 1), 0, OpCode.createSession), CreateSessionTxn(30000)),
        (TxnHeader(SESSION, 1, z(1, 2), 0, OpCode.create), CreateTxn("/e", b"", OPEN_ACL, True, 1)),
    ]:
        db.snap_log.append(hdr, txn)
        FileTxnSnapLog.process_transaction(hdr, db.tree, db.sessions, txn)
    db.commit()
    db.close()


CLOSE = TxnLogEntry(TxnHeader(SESSION, 2, z(1, 3), 0, OpCode.closeSession), CloseSessionTxn(["/e"]))


async def test_ZOOKEEPER_2355_a_follower_cut_off_inside_a_diff_reports_only_what_it_holds(tmp_path: Path) -> None:
    """The follower holds session 0x55's ephemeral /e (1:2). A leader DIFFs it up to 1:3,
    the closeSession, and the connection breaks in the middle of that PROPOSAL. ZooKeeper
    set lastProcessedZxid to the DIFF's zxid as the DIFF arrived, so the follower then
    reported 1:3, the next leader sent it nothing, and /e was never deleted there.
    Ours: zk.sync.learner_sync.sync_with_leader leaves the tree's zxid alone on DIFF
    (only applied txns move it) and QuorumPeer._end_term fast-forwards to the log; the
    next FOLLOWERINFO/ACKEPOCH says 1:2 and the next DIFF brings the close.
    """
    _ephemeral_on_disk(tmp_path)
    peer, leader_port = scripted_peer(tmp_path)

    async def cut_inside_the_proposal(reader: Reader, writer: Writer_) -> None:
        ackepoch = await _register(reader, writer, 2)
        assert ackepoch.zxid == z(1, 2)
        whole = enc(_proposal(CLOSE))
        writer.write(enc(packet(PacketType.DIFF, z(1, 3))) + whole[: len(whole) // 2])
        await writer.drain()
        await asyncio.sleep(0.2)  # the follower is inside read_packet when the leader dies

    reported: list[int] = []

    async def diff_again(reader: Reader, writer: Writer_) -> None:
        ackepoch = await _register(reader, writer, 3)
        reported.append(ackepoch.zxid)
        writer.write(
            enc(packet(PacketType.DIFF, z(1, 3)))
            + enc(_proposal(CLOSE))
            + enc(packet(PacketType.COMMIT, z(1, 3)))
            + enc(packet(PacketType.NEWLEADER, z(3, 0)))
        )
        assert (await read_packet(reader)).type == PacketType.ACK
        writer.write(enc(packet(PacketType.UPTODATE, -1)))
        await read_packet(reader)  # ACK of UPTODATE
        await asyncio.sleep(0.2)

    try:
        await peer.start()
        assert peer.db is not None and peer.db.tree.get_node("/e") is not None
        await _follow_scripted_leader(peer, leader_port, cut_inside_the_proposal)  # the broken read ends the term
        assert peer.db.tree.last_processed_zxid == z(1, 2), "the follower claims the DIFF's zxid"
        await _follow_scripted_leader(peer, leader_port, diff_again)
        assert reported == [z(1, 2)]
        assert peer.db.tree.get_node("/e") is None, "the ephemeral of a closed session outlives it"
    finally:
        await peer.stop()


# --- ZOOKEEPER-4394 ----------------------------------------------------------------------


@pytest.mark.parametrize("first", ["DIFF", "SNAP"])
async def test_ZOOKEEPER_4394_a_commit_between_newleader_and_uptodate_is_applied(tmp_path: Path, first: str) -> None:
    """The leader sends DIFF (or SNAP of 1:1), PROPOSAL 1:2, NEWLEADER, and only then
    COMMIT 1:2, before UPTODATE. In ZooKeeper the proposals were moved out of
    packetsNotCommitted on NEWLEADER, so that COMMIT looked up an empty queue: a
    NullPointerException, and the follower crash-looped. Ours:
    zk.sync.learner_sync.sync_with_leader remembers a COMMIT that follows NEWLEADER and
    hands it to FollowerChain.commit after UPTODATE, where the logged 1:2 waits.
    """
    peer, leader_port = scripted_peer(tmp_path)
    acks: list[int] = []
    applied_in_term: list[bool] = []

    async def script(reader: Reader, writer: Writer_) -> None:
        await _register(reader, writer, 2)
        if first == "DIFF":
            writer.write(
                enc(packet(PacketType.DIFF, z(1, 2)))
                + enc(_proposal(create_entry(z(1, 1), "/a")))
                + enc(packet(PacketType.COMMIT, z(1, 1)))
            )
        else:
            tree = DataTree()
            entry = create_entry(z(1, 1), "/a")
            tree.process_txn(entry.header, entry.txn)
            writer.write(enc(packet(PacketType.SNAP, z(1, 1))) + serialize_wire_snapshot(tree, {}))
        writer.write(enc(_proposal(create_entry(z(1, 2), "/b"))) + enc(packet(PacketType.NEWLEADER, z(2, 0))))
        ack = await read_packet(reader)
        assert (ack.type, ack.zxid) == (PacketType.ACK, z(2, 0))
        writer.write(enc(packet(PacketType.COMMIT, z(1, 2))) + enc(packet(PacketType.UPTODATE, -1)))
        async with asyncio.timeout(5):
            while z(1, 2) not in acks:
                qp = await read_packet(reader)
                if qp.type == PacketType.ACK:
                    acks.append(qp.zxid)
        # applied while the term runs (at its end the log is replayed anyway)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 0.3  # within syncLimit: the term still runs
        while loop.time() < deadline and not applied_in_term:
            assert peer.db is not None
            if peer.db.tree.get_node("/b") is not None:
                applied_in_term.append(True)
            await asyncio.sleep(0.02)

    try:
        await peer.start()
        assert peer.db is not None
        await _follow_scripted_leader(peer, leader_port, script)
        assert acks[0] == z(2, 0)  # UPTODATE's ACK first, then the proposal's
        assert peer.db.tree.get_node("/a") is not None
        assert applied_in_term, "the COMMIT after NEWLEADER was lost: /b was not applied while following"
        assert peer.db.tree.last_processed_zxid == z(1, 2)
    finally:
        await peer.stop()
    assert z(1, 2) in _logged(tmp_path)


# --- ZOOKEEPER-1653 ----------------------------------------------------------------------


def test_ZOOKEEPER_1653_a_current_epoch_left_in_its_temporary_file_is_used(tmp_path: Path) -> None:
    """A follower at currentEpoch 1 is DIFFed txns of epoch 2 by a leader of epoch 3: it
    logs 2:1 (step 2 of NEWLEADER), writes currentEpoch.tmp = 3, and crashes before the
    rename. ZooKeeper then refused to start ("The current epoch, 1, is older than the
    last zxid"); its fix reads the epoch left in currentEpoch.tmp. Ours:
    zk.startup.quorum_peer.read_epochs (the files are written by _write_long, the same
    ``.tmp`` + rename idiom).
    """
    snap_dir = tmp_path / "version-2"
    snap_dir.mkdir()
    (snap_dir / "currentEpoch").write_text("1")
    (snap_dir / "acceptedEpoch").write_text("3")
    (snap_dir / "currentEpoch.tmp").write_text("3")
    try:
        epochs = read_epochs(snap_dir, z(2, 1))
    except ConfigException as e:
        raise AssertionError(f"a server that can start refuses to: {e}") from None
    assert epochs == (3, 3)
    assert (snap_dir / "currentEpoch").read_text().strip() == "3"
    assert not (snap_dir / "currentEpoch.tmp").exists()  # taken, by the same rename
