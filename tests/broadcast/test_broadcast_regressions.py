"""ZooKeeper's own broadcast bugs, each replayed against a real leader: a QuorumPeer of
ours leading in this process, and a scripted follower on its quorum port that decides
when to ACK. See /work/shared/zab-regressions.md.

* ZOOKEEPER-1675 / -2136 (3.8's part): a ``sync`` a learner forwards is answered by the
  leader only once every proposal outstanding when it arrived is committed
  (Leader.processSync, pendingSyncs), so that a client's read after its sync sees every
  write acknowledged before it. The across-a-leader-change part (sync as a quorum
  operation) is not in 3.8 and not here.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from pathlib import Path

from quorum_helpers import OPEN_ACL, enc, scripted_peer, until

from zk.broadcast import PacketType, packet, read_packet
from zk.broadcast.packets import encode_learner_info, encode_request
from zk.election.vote import Vote
from zk.jute.records import CreateRequest, QuorumPacket, SyncRequest
from zk.protocol.constants import OpCode

Reader = asyncio.StreamReader
Writer_ = asyncio.StreamWriter

TICK = 200
SYNC_LIMIT = 10  # two seconds: the follower below sits on an ACK for much less
SESSION = 0x55


async def _connect(port: int) -> tuple[Reader, Writer_]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while True:
        try:
            return await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.05)


async def _join(reader: Reader, writer: Writer_) -> int:
    """Server.2's side of discovery and sync, up to UPTODATE; returns the new epoch."""
    writer.write(enc(packet(PacketType.FOLLOWERINFO, 0, encode_learner_info(2))))
    leaderinfo = await read_packet(reader)
    assert leaderinfo.type == PacketType.LEADERINFO
    epoch = leaderinfo.zxid >> 32
    writer.write(enc(packet(PacketType.ACKEPOCH, 0, struct.pack(">i", 0))))
    while (qp := await read_packet(reader)).type != PacketType.NEWLEADER:
        pass  # DIFF (empty)
    writer.write(enc(packet(PacketType.ACK, qp.zxid)))
    while (qp := await read_packet(reader)).type != PacketType.UPTODATE:
        pass
    writer.write(enc(packet(PacketType.ACK, epoch << 32)))
    return epoch


def _request(cxid: int, op: int, body: bytes) -> bytes:
    return enc(QuorumPacket(int(PacketType.REQUEST), -1, encode_request(SESSION, cxid, op, body), None))


async def test_ZOOKEEPER_1675_a_learners_sync_waits_for_the_outstanding_proposals(tmp_path: Path) -> None:
    """Server.2 forwards a create (cxid 1) and then a sync (cxid 2) for its client, and
    sits on its ACK of the create's PROPOSAL; the leader and server.2 are the only
    voters up, so the create cannot commit without it. The leader must hold the SYNC
    until the create commits (COMMIT first, then SYNC, on server.2's queue); answered
    at once, the client's read after its sync would miss a write that the leader had
    already proposed (and would acknowledge a moment later). Ours: Leader.process_sync
    keeps it in pending_syncs under last_proposed; Leader.try_to_commit sends it.
    """
    peer, quorum_port = scripted_peer(tmp_path, server_id=1, tick_time=TICK, sync_limit=SYNC_LIMIT)
    await peer.start()
    assert peer.fle is not None
    peer.fle.current_vote = Vote(1, 0, 1, 0)
    leading = asyncio.ensure_future(peer.lead())
    received: list[QuorumPacket] = []
    proposals: asyncio.Queue[int] = asyncio.Queue()
    writer: Writer_ | None = None
    listening: asyncio.Task[None] | None = None

    async def listen(reader: Reader, writer: Writer_) -> None:
        """Everything the leader sends from UPTODATE on; PINGs are answered."""
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                qp = await read_packet(reader)
                if qp.type == PacketType.PING:
                    writer.write(enc(packet(PacketType.PING, qp.zxid)))
                    continue
                received.append(qp)
                if qp.type == PacketType.PROPOSAL:
                    proposals.put_nowait(qp.zxid)

    def seen(t: PacketType) -> list[int]:
        return [qp.zxid for qp in received if qp.type == t]

    try:
        async with asyncio.timeout(30):
            reader, writer = await _connect(quorum_port)
            epoch = await _join(reader, writer)
            listening = asyncio.ensure_future(listen(reader, writer))

            writer.write(_request(0, OpCode.createSession, struct.pack(">i", 30000)))
            session_zxid = await proposals.get()
            writer.write(enc(packet(PacketType.ACK, session_zxid)))
            await until(lambda: session_zxid in seen(PacketType.COMMIT), "the session committed", 5)

            create = CreateRequest("/x", b"", OPEN_ACL, 0).to_bytes()
            writer.write(_request(1, OpCode.create, create))
            create_zxid = await proposals.get()
            assert create_zxid == (epoch << 32) + 2
            writer.write(_request(2, OpCode.sync, SyncRequest("/").to_bytes()))
            await asyncio.sleep(0.6)  # within syncLimit: the leader keeps server.2
            assert not seen(PacketType.SYNC), "SYNC answered while the create it follows was outstanding"
            assert create_zxid not in seen(PacketType.COMMIT)

            writer.write(enc(packet(PacketType.ACK, create_zxid)))  # now the create has its quorum
            await until(lambda: seen(PacketType.SYNC), "SYNC after the commit", 5)
            order = [(PacketType(qp.type), qp.zxid) for qp in received if qp.type != PacketType.PROPOSAL]
            assert order.index((PacketType.COMMIT, create_zxid)) < order.index((PacketType.SYNC, 0)), order

            writer.write(_request(3, OpCode.sync, SyncRequest("/").to_bytes()))  # nothing outstanding now
            await until(lambda: len(seen(PacketType.SYNC)) == 2, "a sync with nothing outstanding is answered", 5)
    finally:
        if writer is not None:
            writer.close()
        if listening is not None:
            listening.cancel()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(15):
                await leading  # the only follower is gone: the term ends
        if not leading.done():
            leading.cancel()
            await asyncio.gather(leading, return_exceptions=True)
        await peer.stop()
