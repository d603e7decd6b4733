"""The processor chains of an ensemble: leader, follower and observer.

::

    leader     Prep → ProposalRequestProcessor ─┬─▶ CommitProcessor → ToBeApplied → Final
                                                │        ▲ commit(request): a quorum ACKed
                                                ├─▶ propose: PROPOSAL to every follower
                                                └─▶ Sync → AckRequestProcessor (the leader's own ACK)

    follower   FollowerRequestProcessor ─┬─▶ CommitProcessor → Final
                                         └─▶ REQUEST to the leader (writes, sync, sessions)
               PROPOSAL ─▶ Sync → SendAckRequestProcessor (ACK after the fsync)
               COMMIT   ─▶ CommitProcessor.commit

    observer   ObserverRequestProcessor → CommitProcessor → Final
               INFORM   ─▶ Sync (no ACK) and CommitProcessor.commit

Reads are answered by the server the client is connected to, from its own tree; writes
go through the leader. The CommitProcessor is what keeps a session's view in order: a
session's read waits behind that session's own writes until they are committed and
applied, so a client always reads its own writes, while other sessions' reads pass.

Ordering rules, each enforced in this module:

- **log before ACK**: SyncRequestProcessor hands a txn to AckRequestProcessor (leader) or
  SendAckRequestProcessor (follower) only after the fsync of its batch.
- **commit in zxid order**: CommitProcessor.commit is called with committed txns in
  zxid order (the leader's Leader.try_to_commit, the follower's pending_txns queue);
  Final applies them in that order.

The stages talk to the quorum (propose, send an ACK, forward a request) through
callbacks: this package comes before zk.broadcast in the book, which supplies them.

Mirrors: org.apache.zookeeper.server.quorum.CommitProcessor, ProposalRequestProcessor,
AckRequestProcessor, SendAckRequestProcessor, FollowerRequestProcessor,
ObserverRequestProcessor, Leader.ToBeAppliedRequestProcessor, and the
setupRequestProcessors of LeaderZooKeeperServer, FollowerZooKeeperServer and
ObserverZooKeeperServer. Differs: one event loop instead of a thread per stage, so
CommitProcessor needs no worker pool; a committed request is applied at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from zk.processors.chain import DEFAULT_SNAP_COUNT, SyncRequestProcessor, cancel_and_wait
from zk.processors.final import FinalRequestProcessor
from zk.processors.prep import PrepRequestProcessor
from zk.processors.request import Request
from zk.protocol.constants import OpCode
from zk.trace import NULL_TRACER, Tracer

__all__ = [
    "FORWARDED_OPS",
    "CommitProcessor",
    "FollowerChain",
    "LeaderChain",
    "ObserverChain",
]

log = logging.getLogger(__name__)

FORWARDED_OPS = frozenset(
    {
        OpCode.sync, OpCode.create, OpCode.create2, OpCode.createTTL, OpCode.createContainer,
        OpCode.delete, OpCode.deleteContainer, OpCode.setData, OpCode.reconfig, OpCode.setACL,
        OpCode.multi, OpCode.check, OpCode.createSession, OpCode.closeSession,
    }
)  # fmt: skip
"""What a learner sends to the leader as REQUEST; everything else it answers itself
(FollowerRequestProcessor.run, global sessions only)."""


class CommitProcessor:
    """Holds each session's requests behind its uncommitted writes; applies commits.

    Args:
        final: the next stage (Final, or ToBeApplied around it).
        needs_commit: whether a local request waits for a commit (a write, or a
            ``sync`` on a learner: Java's ``matchSyncs``).

    Mirrors: org.apache.zookeeper.server.quorum.CommitProcessor.
    """

    def __init__(self, final: Callable[[Request], None], needs_commit: Callable[[Request], bool]) -> None:
        self.final = final
        self.needs_commit = needs_commit
        # session id -> its local requests, oldest first, the head waiting for a commit
        self.pending: dict[int, deque[Request]] = {}

    def process_request(self, request: Request) -> None:
        """A request from a client of this server (or, on the leader, a learner)."""
        queue = self.pending.get(request.session_id)
        if queue:
            queue.append(request)  # behind this session's own uncommitted write
        elif self.needs_commit(request):
            self.pending[request.session_id] = deque([request])
        else:
            self.final(request)

    def commit(self, committed: Request) -> None:
        """A committed txn (or a learner's answered ``sync``), in zxid order."""
        sid = committed.session_id
        queue = self.pending.get(sid)
        head = queue[0] if queue else None
        if head is not None and head.cxid == committed.cxid and self.needs_commit(head):
            assert queue is not None
            queue.popleft()
            if committed is not head:  # the local request carries the connection to answer
                head.hdr, head.txn, head.zxid = committed.hdr, committed.txn, committed.zxid
                if committed.session_timeout:
                    head.session_timeout = committed.session_timeout
            self.final(head)
            while queue and not self.needs_commit(queue[0]):
                self.final(queue.popleft())  # reads that waited for that write
            if not queue:
                del self.pending[sid]
        else:
            self.final(committed)  # another server's client, or an internal txn

    def clear(self) -> list[Request]:
        """Every request still waiting (the role ends): returned, not answered."""
        left = [r for q in self.pending.values() for r in q]
        self.pending.clear()
        return left


class _QuorumChain:
    """What the three chains share: the sync stage's task, throttling counts."""

    def __init__(
        self,
        final: FinalRequestProcessor,
        *,
        next_after_sync: Callable[[Request], None],
        global_outstanding_limit: int,
        snap_count: int,
        take_snapshot: Callable[[], Coroutine[Any, Any, object]] | None,
        tracer: Tracer,
    ) -> None:
        self.final = final
        self.tracer = tracer
        self.sync = SyncRequestProcessor(
            final, snap_count=snap_count, take_snapshot=take_snapshot, next_processor=next_after_sync, tracer=tracer
        )
        self.global_outstanding_limit = global_outstanding_limit
        self.in_process = 0
        self.on_throttle_change: Callable[[bool], None] = lambda throttled: None
        self.on_request_done: Callable[[Request], None] = lambda request: None
        self._task: asyncio.Task[None] | None = None

    @property
    def tasks(self) -> list[asyncio.Task[None]]:
        return [self._task] if self._task is not None else []

    @property
    def should_throttle(self) -> bool:
        return self.in_process > self.global_outstanding_limit

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.sync.run(lambda r: None, lambda n: None), name="sync")

    async def stop(self) -> None:
        """Stop the sync stage and wait for a running fsync (ZOOKEEPER-4712: nothing may
        still write the log once the role is over).

        A stage that died on its own (a failed log write) ended the term: the leader's
        ping loop or the learner saw the task finish and logged why. Its error is not
        raised again here, where it would take the QuorumPeer out of its loop instead
        of back to LOOKING, as ZooKeeper's peer goes (ZOOKEEPER-2247, -4882).
        """
        if self._task is not None:
            if self._task.done():
                if not self._task.cancelled() and self._task.exception() is not None:
                    log.info("The sync stage had stopped: %r", self._task.exception())
            else:
                await cancel_and_wait(self._task)
        await self.sync.stop()

    def _accepted(self) -> None:
        was = self.should_throttle
        self.in_process += 1
        if not was and self.should_throttle:
            self.on_throttle_change(True)

    def _final(self, request: Request) -> None:
        """Final, then the server's bookkeeping; local requests leave the count here."""
        self.final.process_request(request)
        if request.cnxn is not None:
            was = self.should_throttle
            self.in_process = max(0, self.in_process - 1)
            if was and not self.should_throttle:
                self.on_throttle_change(False)
        self.on_request_done(request)


class LeaderChain(_QuorumChain):
    """Prep → Proposal → Commit → ToBeApplied → Final, with Sync → AckRequestProcessor.

    Args:
        prep: PrepRequestProcessor.
        final: FinalRequestProcessor.
        propose: Leader.propose: send the PROPOSAL to the followers; False when it
            refuses (the zxid counter is exhausted and leadership is given up).
        process_ack: Leader.process_ack for the leader's own ACK, after its fsync.
        process_sync: Leader.process_sync for a ``sync`` forwarded by a learner.
        applied: ToBeAppliedRequestProcessor's clean-up of Leader.to_be_applied.
        is_learner_sync: whether a request is a learner's ``sync`` (LearnerSyncRequest).
    """

    def __init__(
        self,
        prep: PrepRequestProcessor,
        final: FinalRequestProcessor,
        *,
        propose: Callable[[Request], bool],
        process_ack: Callable[[int], None],
        process_sync: Callable[[Request], None],
        applied: Callable[[Request], None],
        is_learner_sync: Callable[[Request], bool],
        global_outstanding_limit: int = 1000,
        snap_count: int = DEFAULT_SNAP_COUNT,
        take_snapshot: Callable[[], Coroutine[Any, Any, object]] | None = None,
        tracer: Tracer = NULL_TRACER,
    ) -> None:
        super().__init__(
            final, next_after_sync=self.ack_request_processor, global_outstanding_limit=global_outstanding_limit,
            snap_count=snap_count, take_snapshot=take_snapshot, tracer=tracer,
        )  # fmt: skip
        self.prep = prep
        self.propose = propose
        self.process_ack = process_ack
        self.process_sync = process_sync
        self.applied = applied
        self.is_learner_sync = is_learner_sync
        self.commit_processor = CommitProcessor(self.to_be_applied_request_processor, lambda r: r.hdr is not None)

    def submit(self, request: Request) -> None:
        """PrepRequestProcessor, then ProposalRequestProcessor."""
        if request.cnxn is not None:
            self._accepted()
        self.prep.prep(request)
        self.proposal_request_processor(request)

    def proposal_request_processor(self, request: Request) -> None:
        """Mirrors ProposalRequestProcessor.processRequest: a learner's sync goes to the
        leader; everything goes on to Commit; a txn is also proposed and logged.

        Ordering: the PROPOSAL is queued to the followers before the leader's own log
        write starts; the leader's ACK counts only once its fsync is done.
        """
        if self.is_learner_sync(request):
            self.process_sync(request)
            return
        self.commit_processor.process_request(request)
        # A txn the leader refuses to propose (its zxid counter rolled over) is never
        # logged either: Java's propose throws before syncProcessor sees it.
        if request.hdr is not None and self.propose(request):
            self.sync.process_request(request)

    def ack_request_processor(self, request: Request) -> None:
        """The leader's own ACK, after the fsync. Mirrors AckRequestProcessor."""
        if request.hdr is not None:
            self.process_ack(request.hdr.zxid)

    def to_be_applied_request_processor(self, request: Request) -> None:
        """Final, then drop the proposal from Leader.to_be_applied.
        Mirrors Leader.ToBeAppliedRequestProcessor."""
        self._final(request)
        if request.hdr is not None:
            self.applied(request)


class FollowerChain(_QuorumChain):
    """FollowerRequestProcessor → Commit → Final; Sync → SendAckRequestProcessor.

    Args:
        final: FinalRequestProcessor.
        forward: Learner.request: send a request to the leader as REQUEST.
        send_ack: send ``ACK(zxid)`` to the leader (SendAckRequestProcessor).
    """

    def __init__(
        self,
        final: FinalRequestProcessor,
        *,
        forward: Callable[[Request], None],
        send_ack: Callable[[int], None] | None,
        global_outstanding_limit: int = 1000,
        snap_count: int = DEFAULT_SNAP_COUNT,
        take_snapshot: Callable[[], Coroutine[Any, Any, object]] | None = None,
        tracer: Tracer = NULL_TRACER,
    ) -> None:
        super().__init__(
            final, next_after_sync=self.send_ack_request_processor, global_outstanding_limit=global_outstanding_limit,
            snap_count=snap_count, take_snapshot=take_snapshot, tracer=tracer,
        )  # fmt: skip
        self.forward = forward
        self.send_ack = send_ack
        self.commit_processor = CommitProcessor(self._final, lambda r: r.type in FORWARDED_OPS)
        self.pending_txns: deque[Request] = deque()  # logged, waiting for COMMIT
        self.pending_syncs: deque[Request] = deque()  # forwarded syncs, waiting for SYNC

    def submit(self, request: Request) -> None:
        """Mirrors FollowerRequestProcessor.run (and ObserverRequestProcessor's)."""
        if request.cnxn is not None:
            self._accepted()
        self.commit_processor.process_request(request)
        if request.type in FORWARDED_OPS:
            if request.type == OpCode.sync:
                self.pending_syncs.append(request)
            self.forward(request)

    def log_request(self, request: Request) -> None:
        """A PROPOSAL: log it; its ACK follows the fsync. Mirrors
        FollowerZooKeeperServer.logRequest."""
        self.pending_txns.append(request)
        self.sync.process_request(request)

    def send_ack_request_processor(self, request: Request) -> None:
        """ACK a logged proposal, after its fsync (log before ACK). Mirrors
        SendAckRequestProcessor.processRequest."""
        if self.send_ack is not None and request.hdr is not None:
            self.send_ack(request.hdr.zxid)

    def commit(self, zxid: int) -> None:
        """A COMMIT: the oldest logged proposal must be the one committed.

        Raises:
            ValueError: the leader committed something we do not hold next; the
                follower must resync (Java exits the process).

        Mirrors FollowerZooKeeperServer.commit.
        """
        if not self.pending_txns:
            raise ValueError(f"Committing 0x{zxid:x} without seeing txn")
        first = self.pending_txns[0].zxid
        if first != zxid:
            raise ValueError(f"Committing zxid 0x{zxid:x} but next pending txn 0x{first:x}")
        self.commit_processor.commit(self.pending_txns.popleft())

    def sync_answered(self) -> None:
        """A SYNC from the leader: the oldest forwarded sync may be answered.
        Mirrors FollowerZooKeeperServer.sync."""
        if not self.pending_syncs:
            log.warning("Not expecting a sync.")
            return
        self.commit_processor.commit(self.pending_syncs.popleft())


class ObserverChain(FollowerChain):
    """ObserverRequestProcessor → Commit → Final; INFORM is logged (no ACK) and applied.

    Mirrors: ObserverZooKeeperServer (commitRequest) and ObserverRequestProcessor.
    """

    def __init__(
        self,
        final: FinalRequestProcessor,
        *,
        forward: Callable[[Request], None],
        global_outstanding_limit: int = 1000,
        snap_count: int = DEFAULT_SNAP_COUNT,
        take_snapshot: Callable[[], Coroutine[Any, Any, object]] | None = None,
        tracer: Tracer = NULL_TRACER,
    ) -> None:
        super().__init__(
            final, forward=forward, send_ack=None, global_outstanding_limit=global_outstanding_limit,
            snap_count=snap_count, take_snapshot=take_snapshot, tracer=tracer,
        )  # fmt: skip

    def commit_request(self, request: Request) -> None:
        """An INFORM: log it and apply it (it is committed already)."""
        self.sync.process_request(request)
        self.commit_processor.commit(request)
