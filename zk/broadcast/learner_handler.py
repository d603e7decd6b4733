"""LearnerHandler: the leader's side of one learner's connection.

::

    learner                                leader (this handler)
    FOLLOWERINFO(acceptedEpoch<<32, LearnerInfo) ─▶ get_epoch_to_propose   (quorum connects)
                               ◀─ LEADERINFO(newEpoch<<32, 0x10000)
    ACKEPOCH(lastZxid, currentEpoch) ─▶ wait_for_epoch_ack                 (quorum acks)
                               ◀─ DIFF | TRUNC | SNAP+snapshot, PROPOSAL/COMMIT ...   (zk.sync)
                               ◀─ NEWLEADER(newEpoch<<32, the quorum config string)
    ACK(newEpoch<<32)      ─▶ wait_for_new_leader_ack                      (quorum synced)
                               ◀─ UPTODATE
    ACK / PING / REQUEST / REVALIDATE ─▶   ◀─ PROPOSAL / COMMIT / INFORM / PING / SYNC

Every packet to the learner goes through one FIFO queue, drained by a sender task: the
order the leader queues them in is the order the learner sees them. The queue has a
byte limit; a learner too slow to keep up is disconnected rather than let the leader's
memory grow (it resyncs on reconnect).

A packet the phase does not allow, bytes that do not decode, a length over
jute.maxbuffer, or silence past the deadline close this connection with a log line;
the leader and the other learners carry on.

Mirrors: org.apache.zookeeper.server.quorum.LearnerHandler (run, sendPackets,
queuePacket, ping, synced, shutdown, SyncLimitCheck). The sync step itself
(syncFollower) is zk.sync's, called through ``Leader.sync_follower``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
from collections import deque
from typing import TYPE_CHECKING

from zk.broadcast.packets import (
    PROTOCOL_VERSION,
    PacketType,
    QuorumWireError,
    ReadDeadline,
    StateSummary,
    decode_ackepoch,
    decode_learner_info,
    packet,
    packet_to_string,
    read_packet,
)
from zk.jute.codec import Writer
from zk.jute.records import QuorumPacket
from zk.trace import NULL_TRACER, Tracer

if TYPE_CHECKING:
    from zk.broadcast.leader import Leader

__all__ = ["MAX_QUEUED_BYTES", "LearnerHandler", "SyncLimitCheck"]

log = logging.getLogger(__name__)

MAX_QUEUED_BYTES = 256 * 1024 * 1024
"""A learner's send queue may hold this many bytes of packets; past it the learner is
disconnected (rule 14: every queue has a limit)."""


class SyncLimitCheck:
    """Is the learner ACKing proposals within syncLimit? Tracks the oldest unacked
    PROPOSAL sent and the next one. Times in ns. Mirrors: LearnerHandler.SyncLimitCheck."""

    def __init__(self, sync_timeout_ms: int) -> None:
        self.sync_timeout_ms = sync_timeout_ms
        self.started = False
        self.current_zxid = 0
        self.current_time = 0
        self.next_zxid = 0
        self.next_time = 0

    def start(self) -> None:
        self.started = True

    def update_proposal(self, zxid: int, now_ns: int) -> None:
        if not self.started:
            return
        if self.current_time == 0:
            self.current_time, self.current_zxid = now_ns, zxid
        else:
            self.next_time, self.next_zxid = now_ns, zxid

    def update_ack(self, zxid: int) -> None:
        if self.current_zxid == zxid:
            self.current_time, self.current_zxid = self.next_time, self.next_zxid
            self.next_time = self.next_zxid = 0
        elif self.next_zxid == zxid:
            log.warning("ACK for 0x%x received before ACK for 0x%x", zxid, self.current_zxid)
            self.next_time = self.next_zxid = 0

    def check(self, now_ns: int) -> bool:
        if self.current_time == 0:
            return True
        return (now_ns - self.current_time) // 1_000_000 < self.sync_timeout_ms


class LearnerHandler:
    """The leader's end of one learner connection. Mirrors: quorum.LearnerHandler."""

    def __init__(
        self,
        leader: Leader,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        tracer: Tracer = NULL_TRACER,
    ) -> None:
        self.leader = leader
        self.reader = reader
        self.writer = writer
        self.tracer = tracer
        peer = writer.get_extra_info("peername")
        self.remote = f"{peer[0]}:{peer[1]}" if peer else "?"
        self.sid = -1
        self.version = 0
        self.learner_type = "participant"
        self.tick_of_next_ack_deadline = 0
        self.sync_limit_check = SyncLimitCheck(leader.peer.sync_limit * leader.peer.tick_time)
        self._queue: deque[QuorumPacket] = deque()
        self._queued_bytes = 0
        self._wake = asyncio.Event()
        self._sender: asyncio.Task[None] | None = None
        self._read_timeout = leader.peer.init_limit * leader.peer.tick_time / 1000
        self.alive = True
        self.packets_received = 0
        self.packets_sent = 0

    def __repr__(self) -> str:
        return f"<LearnerHandler sid={self.sid} {self.remote}>"

    # --- the connection's life -----------------------------------------------------------

    async def run(self) -> None:
        """LearnerHandler.run: handshake, sync, then the broadcast loop."""
        leader = self.leader
        peer = leader.peer
        try:
            leader.add_learner_handler(self)
            self.tick_of_next_ack_deadline = leader.tick + peer.init_limit + peer.sync_limit
            qp = await self._read()
            if qp.type not in (PacketType.FOLLOWERINFO, PacketType.OBSERVERINFO):
                log.error("First packet %s is not FOLLOWERINFO or OBSERVERINFO!", packet_to_string(qp))
                return
            sid, self.version, _config_version = decode_learner_info(qp.data)
            self.sid = sid if sid is not None else leader.get_and_decrement_follower_counter()
            if qp.type == PacketType.OBSERVERINFO:
                self.learner_type = "observer"
            log.info("Follower sid: %d : info : %s", self.sid, self.remote)
            last_accepted_epoch = qp.zxid >> 32
            new_epoch = await leader.get_epoch_to_propose(self.sid, last_accepted_epoch)
            new_leader_zxid = new_epoch << 32
            if self.version < PROTOCOL_VERSION:
                ss = StateSummary(qp.zxid >> 32, qp.zxid)  # a pre-1.0 learner: extrapolate
            else:
                self._write(packet(PacketType.LEADERINFO, new_leader_zxid, struct.pack(">i", PROTOCOL_VERSION)))
                await self.writer.drain()
                qp = await self._read()
                if qp.type != PacketType.ACKEPOCH:
                    log.error("%s is not ACKEPOCH", packet_to_string(qp))
                    return
                ss = decode_ackepoch(qp)
            await leader.wait_for_epoch_ack(self.sid, ss)
            peer_last_zxid = ss.last_zxid

            # Synchronization: DIFF/TRUNC and proposals are queued; a snapshot is written
            # straight to the stream, before anything queued.
            snapshot = leader.sync_follower(self, peer_last_zxid)
            if snapshot is not None:
                zxid = leader.server.db.tree.last_processed_zxid
                log.info("Sending snapshot last zxid of peer is 0x%x, zxid of leader is 0x%x", peer_last_zxid, zxid)
                self._write(packet(PacketType.SNAP, zxid))
                self.writer.write(snapshot)
                await self.writer.drain()
            self.queue_packet(self._new_leader_packet(new_leader_zxid))
            self._sender = asyncio.get_running_loop().create_task(self._send_packets(), name=f"sender-{self.sid}")

            qp = await self._read()
            if qp.type != PacketType.ACK:
                log.error("Next packet was supposed to be an ACK, but received packet: %s", packet_to_string(qp))
                return
            await leader.wait_for_new_leader_ack(self.sid, qp.zxid)
            self.sync_limit_check.start()
            self._read_timeout = peer.sync_limit * peer.tick_time / 1000
            await leader.wait_for_startup()
            self.queue_packet(packet(PacketType.UPTODATE, -1))
            if self.tracer.enabled:
                self.tracer.emit("broadcast.learner.synced", sid=self.sid, type=self.learner_type)

            async with ReadDeadline(self._read_timeout) as deadline:
                while True:
                    qp = await deadline.read(self.reader, peer.max_buffer)
                    self.packets_received += 1
                    self._process(qp)
        except (QuorumWireError, ValueError) as e:
            log.error("Closing the connection of learner %d (%s): %s", self.sid, self.remote, e)
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError) as e:
            log.error("Unexpected exception in LearnerHandler %d (%s): %r", self.sid, self.remote, e)
        except Exception as e:  # LeaderTimeout and friends: this learner is done
            if isinstance(e, asyncio.CancelledError):  # pragma: no cover - not an Exception
                raise
            log.error("LearnerHandler %d (%s) ends: %s", self.sid, self.remote, e)
        finally:
            log.warning("******* GOODBYE %s ********", self.remote)
            self.shutdown()

    def _process(self, qp: QuorumPacket) -> None:
        """One packet of the broadcast phase from the learner. Mirrors the loop of
        LearnerHandler.run."""
        leader = self.leader
        self.tick_of_next_ack_deadline = leader.tick + leader.peer.sync_limit
        t = qp.type
        if t == PacketType.ACK:
            self.sync_limit_check.update_ack(qp.zxid)
            leader.process_ack(self.sid, qp.zxid)
        elif t == PacketType.PING:
            leader.process_ping_reply(qp)
        elif t == PacketType.REVALIDATE:
            leader.revalidate_session(qp, self)
        elif t == PacketType.REQUEST:
            leader.submit_learner_request(self, qp)
        else:
            log.warning("unexpected quorum packet, type: %s", packet_to_string(qp))

    def _new_leader_packet(self, new_leader_zxid: int) -> QuorumPacket:
        """NEWLEADER: a Zab 1.0 learner also gets the leader's config string (UTF-8).

        3.8 sends ``getQuorumVerifierBytes()``, the last-seen verifier's toString. With
        reconfigEnabled=false, its default, the last seen is the zoo.cfg's verifier
        (version 0: Leader.lead's ZOOKEEPER-1783 bump goes through
        setLastSeenQuorumVerifier, which then stores nothing); we have no reconfig, so
        ours is always that one. A pre-1.0 learner gets none.
        """
        if self.version < PROTOCOL_VERSION:
            return packet(PacketType.NEWLEADER, new_leader_zxid)
        config = self.leader.verifier.to_string().encode()
        return packet(PacketType.NEWLEADER, new_leader_zxid, config)

    async def _read(self) -> QuorumPacket:
        async with asyncio.timeout(self._read_timeout):
            qp = await read_packet(self.reader, self.leader.peer.max_buffer)
        self.packets_received += 1
        return qp

    def _write(self, qp: QuorumPacket) -> None:
        w = Writer()
        qp.encode(w)
        self.writer.write(w.getvalue())
        self.packets_sent += 1

    # --- the send queue --------------------------------------------------------------------

    def queue_packet(self, qp: QuorumPacket) -> None:
        """Queue a packet for the learner (FIFO). Mirrors LearnerHandler.queuePacket."""
        if not self.alive:
            return
        self._queue.append(qp)
        self._queued_bytes += 28 + (len(qp.data) if qp.data else 0)
        if self._queued_bytes > MAX_QUEUED_BYTES:
            log.error("Learner %d's send queue passed %d bytes: disconnecting it", self.sid, MAX_QUEUED_BYTES)
            self.shutdown()
            return
        self._wake.set()

    async def _send_packets(self) -> None:
        """Drain the queue onto the socket. Mirrors LearnerHandler.sendPackets."""
        try:
            while self.alive:
                await self._wake.wait()
                self._wake.clear()
                # everything queued goes out in one write, as sendPackets flushes its
                # buffered stream only once the queue is empty: one syscall per batch
                out = Writer()
                while self._queue:
                    qp = self._queue.popleft()
                    self._queued_bytes -= 28 + (len(qp.data) if qp.data else 0)
                    if qp.type == PacketType.PROPOSAL:
                        self.sync_limit_check.update_proposal(qp.zxid, time.monotonic_ns())
                    qp.encode(out)
                    self.packets_sent += 1
                    if self.tracer.enabled and qp.type != PacketType.PING:
                        self.tracer.emit("broadcast.sent", to=f"s{self.sid}", type=PacketType(qp.type).name,
                                         zxid=qp.zxid)  # fmt: skip
                self.writer.write(out.buf)
                await self.writer.drain()
        except (ConnectionError, OSError) as e:
            log.warning("Exception when sending to learner %d: %r", self.sid, e)
            self.shutdown()

    # --- what the leader's loop asks ----------------------------------------------------------

    def ping(self) -> None:
        """Queue a PING, or drop a learner that sits on a proposal past syncLimit."""
        if self._sender is None or not self.alive:
            return  # not synced yet: a PING would confuse it
        if self.sync_limit_check.check(time.monotonic_ns()):
            self.queue_packet(packet(PacketType.PING, self.leader.last_proposed))
        else:
            log.warning("Closing connection to peer due to transaction timeout.")
            self.shutdown()

    def synced(self) -> bool:
        """Alive and heard from within syncLimit ticks. Mirrors LearnerHandler.synced."""
        return self.alive and self.leader.tick <= self.tick_of_next_ack_deadline

    def shutdown(self) -> None:
        """Close the connection; the leader forgets this learner."""
        if self.alive:
            self.alive = False
            self._queue.clear()
            self._wake.set()
            with contextlib.suppress(Exception):
                self.writer.close()
        if self._sender is not None and not self._sender.done() and self._sender is not asyncio.current_task():
            self._sender.cancel()
        self.leader.remove_learner_handler(self)
