"""ZooKeeper's own sync and recovery bugs, each replayed with a real QuorumPeer following
a scripted leader (as in test_sync_regressions_more.py): ZOOKEEPER-2355, -4394, -4882
and -1653. See /work/shared/zab-regressions.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from pathlib import Path

import pytest
from quorum_helpers import (
    OPEN_ACL,
    create_entry,
    enc,
    follow_scripted_leader,
    register_follower,
    scripted_peer,
    sync_by_empty_diff,
    until,
    z,
)

from zk.broadcast import PacketType, packet, read_packet
from zk.broadcast.packets import encode_txn
from zk.data import DataTree
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
        ackepoch = await register_follower(reader, writer, 2)
        assert ackepoch.zxid == z(1, 2)
        whole = enc(_proposal(CLOSE))
        writer.write(enc(packet(PacketType.DIFF, z(1, 3))) + whole[: len(whole) // 2])
        await writer.drain()
        await asyncio.sleep(0.2)  # the follower is inside read_packet when the leader dies

    reported: list[int] = []

    async def diff_again(reader: Reader, writer: Writer_) -> None:
        ackepoch = await register_follower(reader, writer, 3)
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
        await follow_scripted_leader(peer, leader_port, cut_inside_the_proposal)  # the broken read ends the term
        assert peer.db.tree.last_processed_zxid == z(1, 2), "the follower claims the DIFF's zxid"
        await follow_scripted_leader(peer, leader_port, diff_again)
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
        await register_follower(reader, writer, 2)
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
        await follow_scripted_leader(peer, leader_port, script)
        assert acks[0] == z(2, 0)  # UPTODATE's ACK first, then the proposal's
        assert peer.db.tree.get_node("/a") is not None
        assert applied_in_term, "the COMMIT after NEWLEADER was lost: /b was not applied while following"
        assert peer.db.tree.last_processed_zxid == z(1, 2)
    finally:
        await peer.stop()
    assert z(1, 2) in _logged(tmp_path)


# --- ZOOKEEPER-4882 ----------------------------------------------------------------------


def _paths(tree: DataTree) -> set[str]:
    paths, stack = set(), ["/"]
    while stack:
        path = stack.pop()
        paths.add(path)
        stack.extend(f"{path.rstrip('/')}/{child}" for child in tree.get_children(path)[0])
    return paths


def _on_disk(data_dir: Path) -> tuple[int, set[str]]:
    """What a restart from `data_dir` would hold: the last zxid and every path."""
    db = ZKDatabase(DataTree(), snap_log=FileTxnSnapLog(data_dir))
    try:
        db.load_data_base(DataTree)
        return db.tree.last_processed_zxid, _paths(db.tree)
    finally:
        db.close()


def _holds(peer: QuorumPeer) -> tuple[int, set[str]]:
    assert peer.db is not None
    return peer.db.tree.last_processed_zxid, _paths(peer.db.tree)


async def _read_until_hung_up(reader: Reader, hung_up: asyncio.Event) -> None:
    """The leader's reading side: everything the follower sends, until it hangs up."""
    with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
        while True:
            await read_packet(reader)
    hung_up.set()


async def _ping(writer: Writer_) -> None:
    """The leader's PINGs, twice a tick, so that a healthy follower stays."""
    while True:
        writer.write(enc(packet(PacketType.PING, z(1, 1))))
        await asyncio.sleep(0.05)


A = create_entry(z(1, 1), "/a")
B = create_entry(z(2, 1), "/b")


async def test_ZOOKEEPER_4882_a_follower_whose_log_write_failed_holds_nothing_off_its_disk(tmp_path: Path) -> None:
    """A follower's disk fails once, under the fsync of PROPOSAL 1:1 (/a); a quorum of
    the others ACKs it and the leader's COMMIT arrives while that fsync still hangs, so
    /a is applied in memory and is on no disk. In ZooKeeper the follower then voted and
    rejoined with 1:1, was DIFFed from there, logged 2:1 after a hole, and lost /a at its
    next restart. Java's fix: fastForwardDataBase refuses a memory database ahead of
    the disk, and the database is reloaded from disk.

    The rules, ours: a follower whose sync stage died stops following at once
    (Learner.run); the term's clean-up reloads from disk instead of fast-forwarding a
    tree that is ahead of the log (QuorumPeer._clean_up_term,
    ZKDatabase.fast_forward_data_base), and the dead stage's error does not take the
    peer out of its loop (_QuorumChain.stop). The next leader then DIFFs /a again, and
    a restart holds every committed txn.
    """
    peer, leader_port = scripted_peer(tmp_path)
    await peer.start()
    assert peer.db is not None and peer.db.snap_log is not None
    snap_log = peer.db.snap_log
    loop = asyncio.get_running_loop()
    hanging, release, armed = asyncio.Event(), threading.Event(), threading.Event()
    real_commit = snap_log.commit

    def fails_once() -> None:
        if armed.is_set():
            armed.clear()
            loop.call_soon_threadsafe(hanging.set)
            release.wait(10)
            raise OSError(5, "Input/output error")
        real_commit()

    snap_log.commit = fails_once  # type: ignore[method-assign]
    findings: list[str] = []

    async def term_1(reader: Reader, writer: Writer_) -> None:
        await sync_by_empty_diff(reader, writer, 1)
        hung_up = asyncio.Event()
        tasks = [asyncio.ensure_future(_read_until_hung_up(reader, hung_up)), asyncio.ensure_future(_ping(writer))]
        try:
            armed.set()
            writer.write(enc(_proposal(A)))
            await asyncio.wait_for(hanging.wait(), 10)  # the follower's fsync of 1:1 hangs
            writer.write(enc(packet(PacketType.COMMIT, z(1, 1))))  # the others made the quorum
            await until(lambda: peer.db is not None and peer.db.tree.get_node("/a") is not None, "/a applied", 5)
            release.set()  # ... and the fsync fails
            try:
                await asyncio.wait_for(hung_up.wait(), 3)
            except TimeoutError:
                findings.append("the follower kept following with a dead sync stage")
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    reported: list[int] = []

    async def term_2(reader: Reader, writer: Writer_) -> None:
        ackepoch = await register_follower(reader, writer, 2)
        reported.append(ackepoch.zxid)
        diff = enc(packet(PacketType.DIFF, z(1, 1)))
        if ackepoch.zxid < z(1, 1):
            diff += enc(_proposal(A)) + enc(packet(PacketType.COMMIT, z(1, 1)))
        writer.write(diff + enc(packet(PacketType.NEWLEADER, z(2, 0))))
        assert (await read_packet(reader)).type == PacketType.ACK
        writer.write(enc(packet(PacketType.UPTODATE, -1)))
        assert (await read_packet(reader)).type == PacketType.ACK
        writer.write(enc(_proposal(B)))
        async with asyncio.timeout(5):
            while (qp := await read_packet(reader)).type != PacketType.ACK:
                pass
        assert qp.zxid == z(2, 1)
        writer.write(enc(packet(PacketType.COMMIT, z(2, 1))))
        await writer.drain()
        await asyncio.sleep(0.1)

    try:
        try:
            await follow_scripted_leader(peer, leader_port, term_1)
        except OSError as e:
            raise AssertionError(f"the disk error took the peer out of its loop: {e!r}") from e
        assert not findings, findings
        in_memory, on_disk = _holds(peer), _on_disk(tmp_path)
        assert "/a" not in in_memory[1], "/a, committed in memory only, outlived the term"
        assert in_memory == on_disk, "the tree (and the next vote) is not what the disk holds"
        await follow_scripted_leader(peer, leader_port, term_2)
        assert reported == [on_disk[0]]
    finally:
        release.set()
        await peer.stop()

    restarted, _ = scripted_peer(tmp_path)
    try:
        await restarted.start()
        assert restarted.db is not None
        for path in ("/a", "/b"):
            assert restarted.db.tree.get_node(path) is not None, f"{path} lost at the restart"
    finally:
        await restarted.stop()


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
