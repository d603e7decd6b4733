"""Learner, Follower, Observer: the other end of a LearnerHandler.

::

    follow_leader:   connect to the leader's quorum port (5 tries within initLimit)
                     register_with_leader: FOLLOWERINFO → LEADERINFO → ACKEPOCH
                         (acceptedEpoch is written before the ACKEPOCH that accepts it)
                     sync_with_leader (zk.sync): DIFF / TRUNC / SNAP ... NEWLEADER ... UPTODATE
                     broadcast: PROPOSAL → log, fsync, ACK; COMMIT → apply; PING → touches;
                                SYNC → answer a sync; REVALIDATE → answer a reconnect

A follower whose leader says nothing for syncLimit ticks (the leader pings twice a
tick), or whose connection breaks, ends its term and goes back to LOOKING.

Mirrors: org.apache.zookeeper.server.quorum.Learner (connectToLeader,
registerWithLeader, request, validateSession, revalidate, ping, readPacket,
writePacket), Follower (followLeader, processPacket) and Observer (observeLeader,
processPacket).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import Awaitable, Callable

from zk.broadcast.packets import (
    PacketType,
    QuorumWireError,
    ReadDeadline,
    decode_revalidate_reply,
    decode_txn,
    encode_learner_info,
    encode_ping_touches,
    encode_request,
    encode_revalidate,
    packet,
    packet_to_string,
    read_packet,
)
from zk.broadcast.peer import QuorumPeerView
from zk.broadcast.servers import (
    FollowerZooKeeperServer,
    ObserverZooKeeperServer,
    _LearnerZooKeeperServer,
)
from zk.election import QuorumVerifier
from zk.jute.codec import Writer
from zk.jute.records import CreateSessionTxn, QuorumPacket
from zk.processors import Request, ZKDatabase
from zk.processors.quorum_chains import FollowerChain, ObserverChain
from zk.protocol.constants import OpCode
from zk.server import ServerCnxn, ServerConfig
from zk.storage.restore import follows
from zk.storage.util import TxnLogEntry
from zk.trace import NULL_TRACER, Tracer

__all__ = ["Follower", "Learner", "Observer", "SyncWithLeader", "request_from_txn"]

log = logging.getLogger(__name__)

LEADER_CONNECT_DELAY = 0.1  # zookeeper.leaderConnectDelayDuringRetryMs

SyncWithLeader = Callable[["Learner", int], Awaitable[None]]
"""zk.sync's Learner.syncWithLeader, handed in by the QuorumPeer."""


def request_from_txn(entry: TxnLogEntry, data: bytes | None = None) -> Request:
    """A committed or proposed txn as a Request for the learner's chain; `data`, the
    packet's bytes it was decoded from, is what the learner logs (the leader's bytes)."""
    hdr = entry.header
    timeout = entry.txn.timeOut if isinstance(entry.txn, CreateSessionTxn) else 0
    return Request(hdr.clientId, hdr.cxid, hdr.type, None, None, hdr=hdr, txn=entry.txn, zxid=hdr.zxid,
                   session_timeout=timeout, txn_digest=entry.digest, serialized=data)  # fmt: skip


class Learner:
    """What followers and observers share.

    Args:
        peer: the QuorumPeer.
        leader_id: whom the election chose.
        config: the client-side settings for the server this learner will run.
        db: the QuorumPeer's database.
        tracer: receives ``broadcast.*`` events.
    """

    PACKET_TYPE = PacketType.FOLLOWERINFO

    def __init__(
        self,
        peer: QuorumPeerView,
        leader_id: int,
        config: ServerConfig,
        db: ZKDatabase,
        *,
        tracer: Tracer = NULL_TRACER,
    ) -> None:
        self.peer = peer
        self.leader_id = leader_id
        self.config = config
        self.db = db
        self.tracer = tracer
        self.zks: _LearnerZooKeeperServer | None = None  # made once sync knows the database
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.read_timeout = peer.init_limit * peer.tick_time / 1000
        self._out = Writer()  # packets written in this turn of the event loop, not yet sent
        self._write_scheduled = False
        self.last_queued = 0
        self.pending_revalidations: dict[int, ServerCnxn] = {}
        # QuorumPeer.SyncMode: "SNAP" from a SNAP until its snapshot is on disk (the
        # NEWLEADER step); a term that ends in between leaves a tree in memory that is
        # on no disk, and the QuorumPeer reloads from disk (ZOOKEEPER-3642).
        self.sync_mode: str | None = None
        # NEWLEADER's config (syncWithLeader's newLeaderQV). 3.8 would apply it on
        # UPTODATE with reconfigEnabled; off, its default and our only mode, it is kept.
        self.new_leader_qv: QuorumVerifier | None = None
        self.sync_error: BaseException | None = None  # what the sync stage died of

    # --- the server this learner runs --------------------------------------------------

    def make_server(self) -> _LearnerZooKeeperServer:
        """The follower's or observer's ZooKeeperServer over the synced database."""
        raise NotImplementedError

    @property
    def server(self) -> _LearnerZooKeeperServer:
        assert self.zks is not None, "the server exists once sync has read its first packet"
        return self.zks

    # --- the connection -------------------------------------------------------------------

    async def connect_to_leader(self) -> None:
        """Connect to the leader's quorum port: up to 5 tries within initLimit ticks.
        Mirrors Learner.connectToLeader (LeaderConnector)."""
        host, port = self.peer.quorum_address(self.leader_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.peer.init_limit * self.peer.tick_time / 1000
        for tries in range(5):
            try:
                remaining = max(0.01, deadline - loop.time())
                async with asyncio.timeout(remaining):
                    self.reader, self.writer = await asyncio.open_connection(host, port)
                log.info("Successfully connected to leader, using address: %s:%d", host, port)
                return
            except (OSError, TimeoutError) as e:
                if tries >= 4 or loop.time() + LEADER_CONNECT_DELAY >= deadline:
                    raise ConnectionError(f"Failed connect to {host}:{port}: {e!r}") from None
                log.warning("Unexpected exception, tries=%d, connecting to %s:%d: %r", tries, host, port, e)
                # a fixed pause, as 3.8's: a learner that raced its new leader's listen
                # (refused) is back within a tenth of a second, not after a back-off
                await asyncio.sleep(LEADER_CONNECT_DELAY)

    async def read_packet(self) -> QuorumPacket:
        """The next packet from the leader, within the current read timeout."""
        assert self.reader is not None
        async with asyncio.timeout(self.read_timeout):
            return await read_packet(self.reader, self.peer.max_buffer)

    def write_packet(self, qp: QuorumPacket) -> None:
        """Queue a packet to the leader, in order. The packets written in one turn of the
        event loop go out in one write: a synced batch's ACKs in one segment, as Java's
        Learner.writePacket(pp, false) buffers them until SyncRequestProcessor flushes."""
        if self.writer is None or self.writer.is_closing():
            return
        qp.encode(self._out)
        if not self._write_scheduled:
            self._write_scheduled = True
            asyncio.get_running_loop().call_soon(self._write_out)

    def _write_out(self) -> None:
        self._write_scheduled = False
        out, self._out = self._out, Writer()
        if out.buf and self.writer is not None and not self.writer.is_closing():
            self.writer.write(out.buf)

    async def flush(self) -> None:
        self._write_out()
        if self.writer is not None:
            await self.writer.drain()

    async def register_with_leader(self) -> int:
        """FOLLOWERINFO/OBSERVERINFO → LEADERINFO → ACKEPOCH; returns ``newEpoch << 32``.

        Ordering rule: a new epoch is written to ``acceptedEpoch`` before the ACKEPOCH
        that accepts it is sent (Zab's "accept the epoch, then acknowledge").

        Raises:
            QuorumWireError: the leader's epoch is below ours, or a packet out of place.

        Mirrors Learner.registerWithLeader.
        """
        peer = self.peer
        last_logged_zxid = self.db.tree.last_processed_zxid
        self.write_packet(packet(self.PACKET_TYPE, peer.accepted_epoch << 32, encode_learner_info(peer.my_id)))
        await self.flush()
        qp = await self.read_packet()
        new_epoch = qp.zxid >> 32
        if qp.type == PacketType.LEADERINFO:
            if new_epoch > peer.accepted_epoch:
                epoch_bytes = struct.pack(">i", peer.current_epoch)
                peer.set_accepted_epoch(new_epoch)  # persisted before the ACKEPOCH below
            elif new_epoch == peer.accepted_epoch:
                epoch_bytes = struct.pack(">i", -1)  # already acked this epoch: do not count us twice
            else:
                raise QuorumWireError(f"Leaders epoch, {new_epoch} is less than accepted epoch, {peer.accepted_epoch}")
            self.write_packet(packet(PacketType.ACKEPOCH, last_logged_zxid, epoch_bytes))
            await self.flush()
            return new_epoch << 32
        if new_epoch > peer.accepted_epoch:
            peer.set_accepted_epoch(new_epoch)
        if qp.type != PacketType.NEWLEADER:
            raise QuorumWireError("First packet should have been NEWLEADER")
        return qp.zxid

    def close(self) -> None:
        self._write_out()  # what was written before the close still goes, as it did unbuffered
        if self.writer is not None:
            with contextlib.suppress(Exception):
                self.writer.close()

    # --- what the learner's server asks of it ------------------------------------------------

    def request(self, request: Request) -> None:
        """Forward a client's request to the leader as REQUEST. Mirrors Learner.request."""
        if request.type == OpCode.createSession:
            body = struct.pack(">i", request.session_timeout)
        elif request.body is not None and request.exception is None:
            w = Writer()
            request.body.encode(w)
            body = w.getvalue()
        else:
            body = b""  # closeSession, or a body that did not decode: the leader answers it
        data = encode_request(request.session_id, request.cxid, request.type, body)
        self.write_packet(QuorumPacket(int(PacketType.REQUEST), -1, data, list(request.auth_info) or None))

    def send_ack(self, zxid: int) -> None:
        """SendAckRequestProcessor: the proposal is on disk."""
        self.write_packet(packet(PacketType.ACK, zxid))
        if self.tracer.enabled:
            self.tracer.emit("broadcast.ack.sent", to=f"s{self.leader_id}", zxid=zxid)

    def validate_session(self, cnxn: ServerCnxn, session_id: int, timeout: int) -> None:
        """Ask the leader whether a reconnecting client's session lives (REVALIDATE)."""
        self.pending_revalidations[session_id] = cnxn
        self.write_packet(packet(PacketType.REVALIDATE, -1, encode_revalidate(session_id, timeout)))

    def revalidate(self, qp: QuorumPacket) -> None:
        session_id, valid = decode_revalidate_reply(qp.data)
        cnxn = self.pending_revalidations.pop(session_id, None)
        if cnxn is None:
            log.warning("Missing session 0x%x for validation", session_id)
            return
        self.server.finish_session_init(cnxn, valid)

    def ping(self, qp: QuorumPacket) -> None:
        """Answer a PING with the sessions our clients touched. Mirrors Learner.ping."""
        self.write_packet(QuorumPacket(qp.type, qp.zxid, encode_ping_touches(self.server.touch_snapshot()), None))

    def check_continuity(self, zxid: int) -> None:
        """A proposal must follow the last one (ZOOKEEPER-4925: a hole is refused)."""
        if self.last_queued and not follows(self.last_queued, zxid):
            raise QuorumWireError(f"Got zxid 0x{zxid:x} expected 0x{self.last_queued + 1:x}")
        self.last_queued = zxid

    # --- the term --------------------------------------------------------------------------

    async def run(self, sync_with_leader: SyncWithLeader) -> None:
        """followLeader / observeLeader: until the leader goes away."""
        synced = False
        try:
            await self.connect_to_leader()
            new_epoch_zxid = await self.register_with_leader()
            if (new_epoch_zxid >> 32) < self.peer.accepted_epoch:
                raise QuorumWireError("Error: Epoch of leader is lower")
            await sync_with_leader(self, new_epoch_zxid)
            synced = True
            for task in self.server.chain.tasks:
                task.add_done_callback(self._sync_stage_stopped)
            assert self.reader is not None
            async with ReadDeadline(self.read_timeout) as deadline:  # syncLimit ticks, from NEWLEADER on
                while True:
                    qp = await deadline.read(self.reader, self.peer.max_buffer)
                    if self.sync_error is not None:
                        break  # not even a COMMIT that was on its way: see _sync_stage_stopped
                    self.process_packet(qp)
                    await self.flush()
        except (QuorumWireError, ValueError, OSError, asyncio.IncompleteReadError, TimeoutError) as e:
            # OSError: a ConnectionError, or this server's disk failing during the sync
            # (Java's followLeader catches every Exception and goes back to LOOKING)
            log.warning("Exception when following the leader (synced: %s): %r", synced, e)
        finally:
            self.close()
            self.pending_revalidations.clear()

    def _sync_stage_stopped(self, task: asyncio.Task[None]) -> None:
        """The sync stage died (its log write failed): stop following now.

        Rule (ZOOKEEPER-4882): a learner whose log cannot take the proposals must not go
        on applying COMMITs and answering PINGs as if it held them, or its tree runs
        ahead of its disk, and it rejoins, votes and is DIFFed from a zxid it never
        logged. Closing the connection ends the term; the QuorumPeer's clean-up then
        reloads the database from disk. Java: the SyncRequestProcessor's critical-thread
        handler sets the server's state to ERROR, which ends followLeader's loop.
        """
        if task.cancelled() or task.exception() is None:
            return  # stopped with the term
        self.sync_error = task.exception()
        log.error("The sync stage failed, so this learner stops following: %r", self.sync_error)
        self.close()

    def process_packet(self, qp: QuorumPacket) -> None:
        raise NotImplementedError


class Follower(Learner):
    """Mirrors: org.apache.zookeeper.server.quorum.Follower."""

    PACKET_TYPE = PacketType.FOLLOWERINFO

    def make_server(self) -> FollowerZooKeeperServer:
        self.zks = FollowerZooKeeperServer(self.config, self, self.db, tracer=self.tracer)
        return self.zks

    @property
    def chain(self) -> FollowerChain:
        chain = self.server.chain
        assert isinstance(chain, FollowerChain)
        return chain

    def process_packet(self, qp: QuorumPacket) -> None:
        """Mirrors Follower.processPacket."""
        t = qp.type
        if t == PacketType.PING:
            self.ping(qp)
        elif t == PacketType.PROPOSAL:
            entry = decode_txn(qp, self.peer.max_buffer)
            self.check_continuity(entry.header.zxid)
            self.chain.log_request(request_from_txn(entry, qp.data))
        elif t == PacketType.COMMIT:
            self.chain.commit(qp.zxid)
        elif t == PacketType.UPTODATE:
            log.error("Received an UPTODATE message after Follower started")
        elif t == PacketType.REVALIDATE:
            self.revalidate(qp)
        elif t == PacketType.SYNC:
            self.chain.sync_answered()
        else:
            log.warning("Unknown packet type: %s", packet_to_string(qp))


class Observer(Learner):
    """Mirrors: org.apache.zookeeper.server.quorum.Observer."""

    PACKET_TYPE = PacketType.OBSERVERINFO

    def make_server(self) -> ObserverZooKeeperServer:
        self.zks = ObserverZooKeeperServer(self.config, self, self.db, tracer=self.tracer)
        return self.zks

    @property
    def chain(self) -> ObserverChain:
        chain = self.server.chain
        assert isinstance(chain, ObserverChain)
        return chain

    def process_packet(self, qp: QuorumPacket) -> None:
        """Mirrors Observer.processPacket."""
        t = qp.type
        if t == PacketType.PING:
            self.ping(qp)
        elif t == PacketType.INFORM:
            entry = decode_txn(qp, self.peer.max_buffer)
            self.check_continuity(entry.header.zxid)
            self.chain.commit_request(request_from_txn(entry, qp.data))
        elif t in (PacketType.PROPOSAL, PacketType.COMMIT):
            log.warning("Ignoring %s: observers only take INFORM", packet_to_string(qp))
        elif t == PacketType.UPTODATE:
            log.error("Received an UPTODATE message after Observer started")
        elif t == PacketType.REVALIDATE:
            self.revalidate(qp)
        elif t == PacketType.SYNC:
            self.chain.sync_answered()
        else:
            log.warning("Unknown packet type: %s", packet_to_string(qp))
