"""The learner's side of sync against a scripted leader: the order of persist, epoch, ACK.

A fake leader on a real socket plays a script of packets at our Follower; every step
the follower takes that matters for recovery (fsync of the log, snapshot written,
currentEpoch written, a packet sent) goes into one timeline, and the tests assert its
order. Each test names the ZooKeeper bug that the wrong order caused.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from quorum_helpers import Script, create_entry, enc, register_follower, scripted_leader, z

from zk.broadcast import Follower, PacketType, packet, read_packet
from zk.broadcast.packets import encode_txn
from zk.data import DataTree
from zk.election import QuorumMaj
from zk.jute.records import QuorumPacket
from zk.processors import ZKDatabase
from zk.server import ServerConfig
from zk.startup.config import QuorumServer
from zk.storage import FileTxnSnapLog
from zk.sync import serialize_wire_snapshot, sync_with_leader


class FakePeer:
    """The QuorumPeer, recording epoch writes in the timeline."""

    def __init__(self, timeline: list[tuple[Any, ...]], port: int) -> None:
        self.timeline = timeline
        self.port = port
        self.my_id = 2
        self.verifier = QuorumMaj({i: QuorumServer(i, "127.0.0.1", 1, 1) for i in (1, 2, 3)})
        self.tick_time = 200
        self.init_limit = 10
        self.sync_limit = 5
        self._current = 1
        self._accepted = 1
        self.serving: object | None = None

    @property
    def max_buffer(self) -> int:
        return 0xFFFFF

    @property
    def current_epoch(self) -> int:
        return self._current

    @property
    def accepted_epoch(self) -> int:
        return self._accepted

    def set_current_epoch(self, epoch: int) -> None:
        self.timeline.append(("currentEpoch", epoch))
        self._current = epoch

    def set_accepted_epoch(self, epoch: int) -> None:
        self.timeline.append(("acceptedEpoch", epoch))
        self._accepted = epoch

    def quorum_address(self, sid: int) -> tuple[str, int]:
        return "127.0.0.1", self.port

    def quorum_listen_host(self) -> str:
        return "127.0.0.1"

    def update_election_vote(self, epoch: int) -> None:
        pass

    def set_serving(self, zks: object) -> None:
        self.serving = zks


async def run_follower(tmp_path: Path, script: Script) -> tuple[list[tuple[Any, ...]], Follower]:
    async with scripted_leader(script) as (port, done):
        timeline: list[tuple[Any, ...]] = []
        peer = FakePeer(timeline, port)
        snap_log = FileTxnSnapLog(tmp_path)
        db = ZKDatabase(DataTree(), snap_log=snap_log)
        db.load_data_base(DataTree)
        db.take_snapshot({})

        real_commit, real_snapshot = db.commit, db.take_snapshot

        def commit() -> None:
            real_commit()
            timeline.append(("fsync", snap_log.get_last_logged_zxid()))

        def take_snapshot(sessions: dict[int, int]) -> Path | None:
            path = real_snapshot(sessions)
            timeline.append(("snapshot", db.tree.last_processed_zxid))
            return path

        db.commit = commit  # type: ignore[method-assign]
        db.take_snapshot = take_snapshot  # type: ignore[method-assign]
        follower = Follower(peer, 1, ServerConfig(data_dir=tmp_path), db)  # type: ignore[arg-type]
        real_write = follower.write_packet

        def write_packet(qp: QuorumPacket) -> None:
            timeline.append(("send", PacketType(qp.type).name, qp.zxid))
            real_write(qp)

        follower.write_packet = write_packet  # type: ignore[method-assign]
        try:
            async with asyncio.timeout(20):
                await follower.run(sync_with_leader)
                await done.wait()
        finally:
            if follower.zks is not None:
                await follower.zks.stop()
            else:
                db.close()
        return timeline, follower


async def read_until(reader: asyncio.StreamReader, n: int) -> list[QuorumPacket]:
    got = []
    for _ in range(n):
        got.append(await read_packet(reader))
    return got


def index(timeline: list[tuple[Any, ...]], item: tuple[Any, ...]) -> int:
    return timeline.index(item)


async def diff_script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await register_follower(reader, writer, 2)
    for qp in [
        packet(PacketType.DIFF, z(1, 2)),
        packet(PacketType.PROPOSAL, z(1, 1), encode_txn(create_entry(z(1, 1), "/a"))),
        packet(PacketType.COMMIT, z(1, 1)),
        packet(PacketType.PROPOSAL, z(1, 2), encode_txn(create_entry(z(1, 2), "/b"))),
        packet(PacketType.NEWLEADER, z(2, 0)),
    ]:
        writer.write(enc(qp))
    ack = await read_packet(reader)
    assert (ack.type, ack.zxid) == (PacketType.ACK, z(2, 0))
    writer.write(enc(packet(PacketType.UPTODATE, -1)) + enc(packet(PacketType.COMMIT, z(1, 2))))
    await read_until(reader, 3)  # ACK(2:0) for UPTODATE, then the proposals' ACKs


@pytest.fixture
async def diff_run(tmp_path: Path) -> AsyncIterator[tuple[list[tuple[Any, ...]], Follower]]:
    yield await run_follower(tmp_path, diff_script)


async def test_ZOOKEEPER_3911_4646_4785_proposals_are_fsynced_before_the_newleader_ack(
    diff_run: tuple[list[tuple[Any, ...]], Follower],
) -> None:
    """During a DIFF the follower must have fsynced the synced proposals, the one not yet committed included,
    before it ACKs NEWLEADER; ZooKeeper ACKed first (3911, 4646), then handed the uncommitted ones to its
    asynchronous sync stage (4785), and a quorum crash or a bounce lost committed txns. Ours:
    zk.sync.learner_sync.sync_with_leader."""
    timeline, _ = diff_run
    assert index(timeline, ("fsync", z(1, 2))) < index(timeline, ("send", "ACK", z(2, 0)))


async def test_ZOOKEEPER_4643_current_epoch_is_written_after_the_txns_are_persisted(
    diff_run: tuple[list[tuple[Any, ...]], Follower],
) -> None:
    """The currentEpoch file is written only after the synced txns are on disk; in ZooKeeper a crash in between
    made a follower look up to date and committed txns were truncated. Ours: sync_with_leader."""
    timeline, _ = diff_run
    assert index(timeline, ("fsync", z(1, 2))) < index(timeline, ("currentEpoch", 2))


async def test_ZOOKEEPER_1264_current_epoch_is_written_on_newleader_before_its_ack(
    diff_run: tuple[list[tuple[Any, ...]], Follower],
) -> None:
    """Zab 1.0: currentEpoch is set on NEWLEADER, before its ACK (not on UPTODATE), and acceptedEpoch before
    ACKEPOCH; otherwise epochs can go backwards after crashes. Ours: register_with_leader and sync_with_leader."""
    timeline, _ = diff_run
    # set on NEWLEADER (before its ACK), not on UPTODATE
    assert index(timeline, ("currentEpoch", 2)) < index(timeline, ("send", "ACK", z(2, 0)))
    assert index(timeline, ("acceptedEpoch", 2)) < index(timeline, ("send", "ACKEPOCH", 0))


async def test_ZOOKEEPER_4685_proposal_acks_come_after_the_newleader_ack(
    diff_run: tuple[list[tuple[Any, ...]], Follower],
) -> None:
    """A follower ACKs the proposals of the sync phase only after its NEWLEADER ACK; ZooKeeper's leader shut down
    when a proposal's ACK came first. Ours: sync_with_leader."""
    timeline, _ = diff_run
    acks = [e[2] for e in timeline if e[:2] == ("send", "ACK")]
    assert acks[0] == z(2, 0)  # NEWLEADER's ACK first
    assert z(1, 1) in acks[2:] and z(1, 2) in acks[2:]


async def test_diff_sync_applies_the_committed_txns_in_order(diff_run: tuple[list[tuple[Any, ...]], Follower]) -> None:
    _, follower = diff_run
    tree = follower.db.tree
    assert tree.get_node("/a") is not None and tree.get_node("/b") is not None
    assert tree.last_processed_zxid == z(1, 2)


async def snap_script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await register_follower(reader, writer, 2)
    tree = DataTree()
    tree.process_txn(create_entry(z(1, 1), "/snapped").header, create_entry(z(1, 1), "/snapped").txn)
    writer.write(enc(packet(PacketType.SNAP, z(1, 1))) + serialize_wire_snapshot(tree, {0x77: 4000}))
    writer.write(enc(packet(PacketType.NEWLEADER, z(2, 0))))
    ack = await read_packet(reader)
    assert ack.type == PacketType.ACK
    writer.write(enc(packet(PacketType.UPTODATE, -1)))
    await read_packet(reader)


async def test_ZOOKEEPER_3104_snap_is_persisted_before_the_newleader_ack(tmp_path: Path) -> None:
    """After a SNAP the snapshot is on disk before the NEWLEADER ACK; ZooKeeper ACKed earlier and a crash lost the
    synced data. Ours: sync_with_leader."""
    timeline, follower = await run_follower(tmp_path, snap_script)
    assert index(timeline, ("snapshot", z(1, 1))) < index(timeline, ("send", "ACK", z(2, 0)))
    assert (tmp_path / "version-2" / "snapshot.100000001").exists()
    assert follower.db.tree.get_node("/snapped") is not None
    assert follower.db.sessions == {0x77: 4000}


async def test_a_leader_with_a_lower_epoch_is_refused(tmp_path: Path) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_packet(reader)
        writer.write(enc(packet(PacketType.LEADERINFO, z(0, 0), struct.pack(">i", 0x10000))))
        with pytest.raises(asyncio.IncompleteReadError):
            await read_packet(reader)  # the follower hangs up, no ACKEPOCH

    timeline, _ = await run_follower(tmp_path, script)
    assert not [e for e in timeline if e[:2] == ("send", "ACKEPOCH")]


async def test_ZOOKEEPER_4925_a_hole_in_the_proposals_is_refused(tmp_path: Path) -> None:
    """A proposal that does not follow the last one (a hole) ends the sync; a follower that took it could later
    lead and spread the hole. Ours: Learner.check_continuity."""

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await register_follower(reader, writer, 2)
        for qp in [
            packet(PacketType.DIFF, z(1, 3)),
            packet(PacketType.PROPOSAL, z(1, 1), encode_txn(create_entry(z(1, 1), "/a"))),
            packet(PacketType.PROPOSAL, z(1, 3), encode_txn(create_entry(z(1, 3), "/c"))),  # 1:2 missing
            packet(PacketType.NEWLEADER, z(2, 0)),
        ]:
            writer.write(enc(qp))
        with pytest.raises((asyncio.IncompleteReadError, ConnectionError)):
            await read_packet(reader)

    timeline, _ = await run_follower(tmp_path, script)
    assert ("currentEpoch", 2) not in timeline
    assert not [e for e in timeline if e[:2] == ("send", "ACK")]


BAD_FROM_THE_LEADER = {
    "a zxid from the past": enc(packet(PacketType.PROPOSAL, z(1, 1), encode_txn(create_entry(z(1, 1), "/a")))),
    "a txn that is not one": enc(packet(PacketType.PROPOSAL, z(1, 2), b"\x13\x37" * 9)),
    "a huge length": struct.pack(">iqi", int(PacketType.PROPOSAL), z(1, 2), 0x7FFFFFF0),
    "LEADERINFO during sync": enc(packet(PacketType.LEADERINFO, z(3, 0), struct.pack(">i", 0x10000))),
}


@pytest.mark.parametrize("name", BAD_FROM_THE_LEADER)
async def test_bad_input_from_the_leader_ends_the_term_before_anything_is_acked(tmp_path: Path, name: str) -> None:
    """The leader's bad bytes (or a packet out of place) end this learner's term: it hangs
    up, ACKs nothing and moves to no new epoch; the QuorumPeer then elects again."""

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await register_follower(reader, writer, 2)
        writer.write(enc(packet(PacketType.DIFF, z(1, 2))))
        writer.write(enc(packet(PacketType.PROPOSAL, z(1, 1), encode_txn(create_entry(z(1, 1), "/a")))))
        writer.write(BAD_FROM_THE_LEADER[name])
        writer.write(enc(packet(PacketType.NEWLEADER, z(2, 0))))
        with pytest.raises((asyncio.IncompleteReadError, ConnectionError)):
            await read_packet(reader)

    timeline, _ = await run_follower(tmp_path, script)
    assert ("currentEpoch", 2) not in timeline, name
    assert not [e for e in timeline if e[:2] == ("send", "ACK")], name
