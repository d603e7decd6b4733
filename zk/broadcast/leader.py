"""The Leader: one term of leadership, from epoch negotiation to the last COMMIT.

::

    discovery       every learner: FOLLOWERINFO(acceptedEpoch) ─▶ get_epoch_to_propose
                      waits for a quorum (with the leader) to connect; the new epoch is
                      max(acceptedEpoch) + 1, written to acceptedEpoch before any
                      LEADERINFO names it (ZOOKEEPER-1291)
                    LEADERINFO(e) ─▶ ACKEPOCH(currentEpoch, lastZxid) ─▶ wait_for_epoch_ack
                      waits for a quorum of acknowledging followers; a follower ahead of
                      the leader is refused
    synchronization each learner: DIFF / TRUNC / SNAP (zk.sync), NEWLEADER, ACK
                      ─▶ wait_for_new_leader_ack: a quorum synced, the leader serves
    broadcast       propose ─▶ PROPOSAL to every follower; process_ack counts ACKs;
                    a quorum ─▶ COMMIT to followers, INFORM to observers, apply here

zxid = epoch << 32 | counter. The leader's first zxid of a term is ``e << 32``: no txn
has it, and NEWLEADER carries it. When the counter would pass 0xffffffff the leader
gives up its term (ZOOKEEPER-1277): the next leader starts a new epoch at counter 0.

The proposal bookkeeping (outstanding proposals, their ACK sets, last_committed,
to_be_applied, pending syncs) is plain data changed by plain methods; the shell parts
are the learner port, the waits with their initLimit timeout and the ping loop.

Mirrors: org.apache.zookeeper.server.quorum.Leader (lead, getEpochToPropose,
waitForEpochAck, waitForNewLeaderAck, startZkServer, propose, processAck, tryToCommit,
commit, inform, processSync, sendSync, startForwarding, touch, revalidateSession,
shutdown) and its LearnerCnxAcceptor. Differs: no dynamic reconfiguration
(COMMITANDACTIVATE / INFORMANDACTIVATE are decoded, never sent); a later proposal that
already has its quorum commits right after the one before it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from zk.broadcast.packets import (
    PacketType,
    QuorumWireError,
    StateSummary,
    decode_ping_touches,
    decode_request,
    decode_revalidate,
    encode_revalidate_reply,
    packet,
)
from zk.broadcast.peer import QuorumPeerView
from zk.jute.codec import JuteError, Reader
from zk.jute.records import QuorumPacket
from zk.processors import Request
from zk.protocol.constants import OpCode
from zk.protocol.errors import MarshallingErrorException
from zk.protocol.messages import decode_request_body
from zk.trace import NULL_TRACER, Tracer

if TYPE_CHECKING:
    from zk.broadcast.learner_handler import LearnerHandler
    from zk.broadcast.servers import LeaderZooKeeperServer

__all__ = ["Leader", "LeaderTimeout", "LearnerSyncRequest", "Proposal", "SyncFollower"]

log = logging.getLogger(__name__)

SyncFollower = Callable[["LearnerHandler", int], "bytes | None"]
"""zk.sync's LearnerHandler.syncFollower: queue DIFF/TRUNC and the proposals for a
learner at ``peerLastZxid``, start forwarding to it, and return the snapshot to send
(SNAP) or None. Handed to the Leader by the QuorumPeer (zk.sync comes after this
package in the book)."""


class LeaderTimeout(Exception):
    """No quorum within initLimit ticks: the term ends before it began."""


@dataclasses.dataclass(slots=True, eq=False)
class LearnerSyncRequest(Request):
    """A ``sync`` a learner forwarded: answered with SYNC on that learner's queue once
    every proposal before it is committed. Mirrors: quorum.LearnerSyncRequest."""

    handler: Any = None


@dataclasses.dataclass(slots=True, eq=False)
class Proposal:
    """A PROPOSAL and the voters that have ACKed it. Mirrors: Leader.Proposal."""

    packet: QuorumPacket
    request: Request | None
    acks: set[int] = dataclasses.field(default_factory=set)

    @property
    def zxid(self) -> int:
        return self.packet.zxid


class Leader:
    """One term of leadership.

    Args:
        peer: the QuorumPeer.
        sync_follower: zk.sync's plan-and-queue step for a connecting learner.
        tracer: receives ``broadcast.*`` events.
    """

    def __init__(self, peer: QuorumPeerView, *, sync_follower: SyncFollower, tracer: Tracer = NULL_TRACER) -> None:
        self.peer = peer
        self.my_id = peer.my_id
        self.verifier = peer.verifier
        self.sync_follower = sync_follower
        self.tracer = tracer
        self.zks: LeaderZooKeeperServer | None = None  # set by the QuorumPeer right after
        self.learners: set[LearnerHandler] = set()
        self.forwarding_followers: set[LearnerHandler] = set()
        self.observing_learners: set[LearnerHandler] = set()
        # broadcast bookkeeping
        self.outstanding_proposals: dict[int, Proposal] = {}
        self.to_be_applied: deque[Proposal] = deque()
        self.pending_syncs: dict[int, list[LearnerSyncRequest]] = {}
        self.last_committed = -1
        self.last_proposed = 0
        self.allowed_to_propose = True
        # discovery and synchronization
        self.epoch = -1
        self.waiting_for_new_epoch = True
        self.connecting_followers: set[int] = set()
        self.electing_followers: set[int] = set()
        self.election_finished = False
        self.new_leader_zxid = 0
        self.new_leader_acks: set[int] = set()
        self.quorum_formed = False
        self.leader_state_summary = StateSummary(0, 0)
        self.tick = 0
        self.follower_counter = -1
        self._epoch_ready = asyncio.Event()
        self._epoch_acked = asyncio.Event()
        self._new_leader_acked = asyncio.Event()
        self._started = asyncio.Event()
        self._stop = asyncio.Event()
        self.shutdown_reason: str | None = None
        self.leader_start_time: float | None = None
        # Leader.proposalStats (BufferStats): sizes of the proposals' txn bytes, -1 for none
        self.last_proposal_size = self.min_proposal_size = self.max_proposal_size = -1
        self._acceptor: asyncio.Server | None = None
        self._handler_tasks: set[asyncio.Task[None]] = set()

    @property
    def server(self) -> LeaderZooKeeperServer:
        assert self.zks is not None, "the QuorumPeer sets zks before lead()"
        return self.zks

    @property
    def init_timeout(self) -> float:
        return self.peer.init_limit * self.peer.tick_time / 1000

    def is_participant(self, sid: int) -> bool:
        return sid in self.verifier.voting_members

    # --- the term ------------------------------------------------------------------------

    async def lead(self) -> None:
        """Leader.lead: discovery, synchronization, then broadcast until the quorum is
        lost or the term is given up. Returns when the term is over."""
        zks = self.server
        self.leader_start_time = time.monotonic()
        self.leader_state_summary = StateSummary(self.peer.current_epoch, zks.db.tree.last_processed_zxid)
        await self._start_acceptor()
        reason = "the term ended"
        try:
            epoch = await self.get_epoch_to_propose(self.my_id, self.peer.accepted_epoch)
            zks.hzxid = epoch << 32  # zxid = epoch << 32 | counter
            self.last_proposed = zks.hzxid
            self.new_leader_zxid = zks.hzxid
            await self.wait_for_epoch_ack(self.my_id, self.leader_state_summary)
            self.peer.set_current_epoch(epoch)
            await self.wait_for_new_leader_ack(self.my_id, zks.hzxid)
            await self.start_zk_server()
            reason = await self._ping_loop()
        except LeaderTimeout as e:
            reason = str(e)
        finally:
            await self.shutdown(reason)

    async def start_zk_server(self) -> None:
        """A quorum ACKed NEWLEADER: start serving. Mirrors Leader.startZkServer."""
        zks = self.server
        self.last_committed = zks.hzxid
        log.info("Have quorum of supporters, sids: [%s]; starting up and setting last processed zxid: 0x%x",
                 ",".join(map(str, sorted(self.new_leader_acks))), zks.hzxid)  # fmt: skip
        await zks.start(listen=False)
        self.peer.update_election_vote(self.epoch)
        zks.db.tree.last_processed_zxid = zks.hzxid
        self.peer.set_serving(zks)
        self._started.set()
        if self.tracer.enabled:
            self.tracer.emit("broadcast.leader.serving", epoch=self.epoch, zxid=zks.hzxid)

    async def _ping_loop(self) -> str:
        """Twice a tick: ping every learner; every tick, check that a quorum is synced."""
        tick_skip = True
        chain_tasks = self.server.chain.tasks
        while True:
            try:
                async with asyncio.timeout(self.peer.tick_time / 2000):
                    await self._stop.wait()
            except TimeoutError:
                pass
            if self._stop.is_set():
                return self.shutdown_reason or "asked to stop"
            for task in chain_tasks:
                if task.done():
                    return f"the processor chain stopped: {task.exception() if not task.cancelled() else 'cancelled'}"
            if not tick_skip:
                self.tick += 1
                synced = {self.my_id} | {h.sid for h in self.learners if h.synced()}
                if not self.verifier.contains_quorum(synced):
                    sids = ",".join(map(str, sorted(synced)))
                    return f"Not sufficient followers synced, only synced with sids: [ {sids} ]"
            tick_skip = not tick_skip
            for h in list(self.learners):
                h.ping()

    def request_shutdown(self, reason: str) -> None:
        """End the term at the next tick (a zxid rollover, a failed disk)."""
        if self.shutdown_reason is None:
            self.shutdown_reason = reason
        self._stop.set()

    async def shutdown(self, reason: str) -> None:
        """Close the learner port and every learner. Mirrors Leader.shutdown (the
        QuorumPeer stops the server)."""
        log.info("Shutdown called. For the reason %s", reason)
        self._stop.set()
        if self._acceptor is not None:
            self._acceptor.close()
        for h in list(self.learners):
            h.shutdown()
        for task in list(self._handler_tasks):
            task.cancel()
        if self._handler_tasks:
            await asyncio.gather(*self._handler_tasks, return_exceptions=True)
        if self._acceptor is not None:
            await self._acceptor.wait_closed()

    # --- the learner port ----------------------------------------------------------------

    async def _start_acceptor(self) -> None:
        from zk.broadcast.learner_handler import LearnerHandler

        host = self.peer.quorum_listen_host()
        _, port = self.peer.quorum_address(self.my_id)

        def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            handler = LearnerHandler(self, reader, writer, tracer=self.tracer)
            task = asyncio.get_running_loop().create_task(handler.run(), name=f"learner-handler-{handler.remote}")
            self._handler_tasks.add(task)
            task.add_done_callback(self._handler_tasks.discard)

        for attempt in range(10):
            try:
                self._acceptor = await asyncio.start_server(accept, host, port, reuse_address=True)
                break
            except OSError as e:  # the previous term's socket may linger a moment
                if attempt == 9:
                    raise
                log.warning("Cannot bind the quorum port %s:%d yet: %s", host, port, e)
                await asyncio.sleep(0.2)
        log.info("Leader listening for learners on %s:%d", host, port)

    def add_learner_handler(self, h: LearnerHandler) -> None:
        self.learners.add(h)

    def remove_learner_handler(self, h: LearnerHandler) -> None:
        self.learners.discard(h)
        self.forwarding_followers.discard(h)
        self.observing_learners.discard(h)

    def get_and_decrement_follower_counter(self) -> int:
        sid = self.follower_counter
        self.follower_counter -= 1
        return sid

    # --- discovery -----------------------------------------------------------------------

    async def get_epoch_to_propose(self, sid: int, last_accepted_epoch: int) -> int:
        """The new epoch: one more than any acceptedEpoch of a quorum that connected.

        Ordering rule: the leader writes ``acceptedEpoch`` before the epoch is handed
        to any learner (ZOOKEEPER-1291). Mirrors Leader.getEpochToPropose.
        """
        if not self.waiting_for_new_epoch:
            return self.epoch
        if last_accepted_epoch >= self.epoch:
            self.epoch = last_accepted_epoch + 1
        if self.is_participant(sid):
            self.connecting_followers.add(sid)
        if self.my_id in self.connecting_followers and self.verifier.contains_quorum(self.connecting_followers):
            self.waiting_for_new_epoch = False
            self.peer.set_accepted_epoch(self.epoch)  # persisted before any LEADERINFO
            self._epoch_ready.set()
            if self.tracer.enabled:
                self.tracer.emit("broadcast.epoch.chosen", epoch=self.epoch, sids=sorted(self.connecting_followers))
        else:
            await self._wait(self._epoch_ready, "Timeout while waiting for epoch from quorum")
        return self.epoch

    async def wait_for_epoch_ack(self, sid: int, ss: StateSummary) -> None:
        """Wait until a quorum has ACKed the new epoch. Mirrors Leader.waitForEpochAck.

        Raises:
            QuorumWireError: the follower is ahead of the leader (its epoch or zxid is
                newer): it must not follow us.
        """
        if self.election_finished:
            return
        if ss.current_epoch != -1:
            if ss.is_more_recent_than(self.leader_state_summary):
                raise QuorumWireError(
                    f"Follower is ahead of the leader, leader summary: {self.leader_state_summary.current_epoch} "
                    f"(current epoch), 0x{self.leader_state_summary.last_zxid:x} (last zxid)"
                )
            if ss.last_zxid != -1 and self.is_participant(sid):
                self.electing_followers.add(sid)
        if self.my_id in self.electing_followers and self.verifier.contains_quorum(self.electing_followers):
            self.election_finished = True
            self._epoch_acked.set()
        else:
            await self._wait(self._epoch_acked, "Timeout while waiting for epoch to be acked by quorum")

    async def wait_for_new_leader_ack(self, sid: int, zxid: int) -> None:
        """Wait until a quorum has ACKed NEWLEADER (each after persisting what it was
        sent). Mirrors Leader.waitForNewLeaderAck."""
        if self.quorum_formed:
            return
        if zxid != self.new_leader_zxid:
            log.error("NEWLEADER ACK from sid: %d is from a different epoch - current 0x%x received 0x%x", sid,
                      self.new_leader_zxid, zxid)  # fmt: skip
            return
        if self.is_participant(sid):
            self.new_leader_acks.add(sid)
        if self.verifier.contains_quorum(self.new_leader_acks):
            self.quorum_formed = True
            self._new_leader_acked.set()
        else:
            await self._wait(self._new_leader_acked, "Timeout while waiting for NEWLEADER to be acked by quorum")

    async def wait_for_startup(self) -> None:
        await self._started.wait()

    async def _wait(self, event: asyncio.Event, what: str) -> None:
        try:
            async with asyncio.timeout(self.init_timeout):
                await event.wait()
        except TimeoutError:
            raise LeaderTimeout(what) from None

    # --- broadcast: proposals, ACKs, commits ---------------------------------------------

    def propose(self, request: Request) -> bool:
        """Send a txn to every follower as PROPOSAL and wait for its ACKs; False if it
        was refused (then it must not be logged either).

        Mirrors Leader.propose (with its zxid rollover check, ZOOKEEPER-1277, where Java
        throws XidRolloverException).
        """
        assert request.hdr is not None, "only txns are proposed"
        zxid = request.hdr.zxid
        if not self.allowed_to_propose:
            return False
        if zxid & 0xFFFFFFFF == 0xFFFFFFFF:
            self.allowed_to_propose = False
            msg = "zxid lower 32 bits have rolled over, forcing re-election, and therefore new epoch start"
            log.error(msg)
            self.request_shutdown(msg)
            return False
        # the same bytes the leader logs, digest included (SerializeUtils.serializeRequest)
        qp = packet(PacketType.PROPOSAL, zxid, request.serialize_data())
        size = len(qp.data or b"")
        self.last_proposal_size = size
        self.min_proposal_size = size if self.min_proposal_size < 0 else min(self.min_proposal_size, size)
        self.max_proposal_size = max(self.max_proposal_size, size)
        self.last_proposed = zxid
        self.outstanding_proposals[zxid] = Proposal(qp, request)
        for f in list(self.forwarding_followers):
            f.queue_packet(qp)
        if self.tracer.enabled:
            self.tracer.emit(
                "broadcast.proposal", zxid=zxid, followers=sorted(f.sid for f in self.forwarding_followers)
            )
        return True

    def process_ack(self, sid: int, zxid: int) -> None:
        """Count an ACK; commit what has its quorum, in zxid order.

        Mirrors Leader.processAck / tryToCommit. An ACK of NEWLEADER (counter 0) is
        counted by wait_for_new_leader_ack; an ACK of something committed or never
        proposed is ignored (a stale or confused peer, never a crash).
        """
        if zxid & 0xFFFFFFFF == 0:
            return
        if not self.outstanding_proposals or self.last_committed >= zxid:
            return
        p = self.outstanding_proposals.get(zxid)
        if p is None:
            log.warning("Trying to commit future proposal: zxid 0x%x from %d", zxid, sid)
            return
        p.acks.add(sid)
        if self.tracer.enabled:
            self.tracer.emit("broadcast.ack", **{"from": f"s{sid}"}, zxid=zxid)
        while p is not None and self.try_to_commit(p):
            p = self.outstanding_proposals.get(p.zxid + 1)

    def try_to_commit(self, p: Proposal) -> bool:
        """Commit `p` if it has a quorum of ACKs and nothing before it is outstanding."""
        zxid = p.zxid
        if zxid - 1 in self.outstanding_proposals:
            return False  # commit in order
        if not self.verifier.contains_quorum(p.acks):
            return False
        del self.outstanding_proposals[zxid]
        self.to_be_applied.append(p)
        self.last_committed = zxid
        commit = packet(PacketType.COMMIT, zxid)
        for f in list(self.forwarding_followers):
            f.queue_packet(commit)
        inform = packet(PacketType.INFORM, zxid, p.packet.data)
        for o in list(self.observing_learners):
            o.queue_packet(inform)
        if self.tracer.enabled:
            self.tracer.emit("broadcast.commit", zxid=zxid, acks=sorted(p.acks))
        if p.request is not None:
            self.server.leader_chain.commit_processor.commit(p.request)
        for r in self.pending_syncs.pop(zxid, []):
            self.send_sync(r)
        return True

    def applied(self, request: Request) -> None:
        """ToBeAppliedRequestProcessor: the txn is in the tree; forget the proposal."""
        if self.to_be_applied and self.to_be_applied[0].request is request:
            self.to_be_applied.popleft()
        elif request.hdr is not None and request.hdr.zxid > self.new_leader_zxid:
            log.error("Committed request not found on toBeApplied: 0x%x", request.hdr.zxid)

    def process_sync(self, r: Request) -> None:
        """A learner's sync: answer once every proposal before it is committed
        (ZOOKEEPER-1675: the read after it sees every write acknowledged before)."""
        assert isinstance(r, LearnerSyncRequest)
        if not self.outstanding_proposals:
            self.send_sync(r)
        else:
            self.pending_syncs.setdefault(self.last_proposed, []).append(r)

    def send_sync(self, r: LearnerSyncRequest) -> None:
        r.handler.queue_packet(packet(PacketType.SYNC, 0))

    def start_forwarding(self, handler: LearnerHandler, last_seen_zxid: int) -> int:
        """From now on `handler` gets every PROPOSAL/COMMIT (or INFORM); first queue the
        committed-but-unapplied and the outstanding proposals after `last_seen_zxid`.
        Mirrors Leader.startForwarding."""
        if self.last_proposed > last_seen_zxid:
            for p in self.to_be_applied:
                if p.zxid > last_seen_zxid:
                    handler.queue_packet(p.packet)
                    handler.queue_packet(packet(PacketType.COMMIT, p.zxid))
            if handler.learner_type == "participant":
                for zxid in sorted(self.outstanding_proposals):
                    if zxid > last_seen_zxid:
                        handler.queue_packet(self.outstanding_proposals[zxid].packet)
        if handler.learner_type == "participant":
            self.forwarding_followers.add(handler)
        else:
            self.observing_learners.add(handler)
        return self.last_proposed

    # --- requests and sessions from learners ------------------------------------------------

    def submit_learner_request(self, handler: LearnerHandler, qp: QuorumPacket) -> None:
        """A REQUEST: into Prep like a local request, without a connection to answer.
        Mirrors LeaderZooKeeperServer.submitLearnerRequest."""
        session_id, cxid, op, raw = decode_request(qp.data)
        auth = list(qp.authinfo or [])
        request: Request
        if op == OpCode.createSession:
            if len(raw) < 4:
                raise QuorumWireError("createSession REQUEST without a timeout")
            timeout = int.from_bytes(raw[:4], "big", signed=True)
            request = Request(session_id, cxid, op, None, None, auth, session_timeout=timeout)
        else:
            try:
                body = decode_request_body(op, Reader(raw, self.peer.max_buffer))
                error = None
            except (KeyError, JuteError):
                body, error = None, MarshallingErrorException()
            if op == OpCode.sync:
                request = LearnerSyncRequest(session_id, cxid, op, body, None, auth, exception=error, handler=handler)
            else:
                request = Request(session_id, cxid, op, body, None, auth, exception=error)
        request.create_time = self.server.now_ms()
        request.owner = handler  # the learner's clients' sessions belong to its handler
        self.server.chain.submit(request)

    def touch(self, session_id: int, timeout: int) -> None:
        self.server.session_tracker.touch_session(session_id, timeout, self.server.now_ms())

    def process_ping_reply(self, qp: QuorumPacket) -> None:
        for session_id, timeout in decode_ping_touches(qp.data):
            self.touch(session_id, timeout)

    def revalidate_session(self, qp: QuorumPacket, handler: LearnerHandler) -> None:
        """A client reconnected to a learner with its session: is it still alive?
        Mirrors LearnerMaster.revalidateSession."""
        session_id, timeout = decode_revalidate(qp.data)
        tracker = self.server.session_tracker
        valid = tracker.touch_session(session_id, timeout, self.server.now_ms())
        if valid:
            # the session now lives on that learner: a request still on its way from the
            # server the client left is answered SESSIONMOVED (ZOOKEEPER-710's race)
            tracker.set_owner(session_id, handler)
        handler.queue_packet(packet(PacketType.REVALIDATE, -1, encode_revalidate_reply(session_id, valid)))

    def now(self) -> float:
        return time.monotonic()

    # --- what mntr shows ------------------------------------------------------------------------

    def monitor_values(self) -> dict[str, int]:
        """The leader's gauges in ``mntr`` (LeaderZooKeeperServer.registerMetrics):
        ``learners`` counts every connected learner, synced or not; ``synced_followers``
        the followers that get proposals (getForwardingFollowers), observers apart."""
        voters = self.verifier.voting_members
        uptime = 0 if self.leader_start_time is None else int((time.monotonic() - self.leader_start_time) * 1000)
        return {
            "learners": len(self.learners),
            "synced_followers": len(self.forwarding_followers),
            "synced_non_voting_followers": sum(1 for h in self.forwarding_followers if h.sid not in voters),
            "synced_observers": len(self.observing_learners),
            "pending_syncs": sum(len(rs) for rs in self.pending_syncs.values()),
            "leader_uptime": uptime,
            "last_proposal_size": self.last_proposal_size,
            "min_proposal_size": self.min_proposal_size,
            "max_proposal_size": self.max_proposal_size,
        }
