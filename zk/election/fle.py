"""FastLeaderElection as a core: notifications and ticks in, notifications and a verdict out.

Theory of operation. A peer that is LOOKING starts a *round*: it bumps its logical clock,
votes for itself (its id, last logged zxid and current epoch) and sends that vote to every
voter, itself included. Each notification it then receives is handled by the rules of
``lookForLeader``:

* from a LOOKING peer in a later round: jump to that round, forget the votes seen so
  far, vote for the better of that peer's candidate and itself, and tell everyone;
* in an earlier round: ignore (the Messenger answered it with our vote already);
* in the same round: if the candidate beats ours by ``total_order_predicate``, adopt it
  and tell everyone; record the sender's vote either way;
* once a quorum's recorded votes match ours, wait ``finalize_wait`` (200 ms) for a better
  vote; if none comes, the round ends: LEADING if we are the candidate, else
  FOLLOWING (OBSERVING for an observer);
* from a FOLLOWING or LEADING peer: the ensemble already has a leader. Join it when a
  quorum of those notifications names it *and* the leader itself says LEADING
  (``checkLeader``), which lets a restarted server find the existing leader.

When nothing arrives for the notification interval (200 ms, doubling up to 60 s) the
peer re-sends its vote, or, if its messages are not getting out, asks the connection
manager to connect to everyone.

Whatever the state, the *Messenger* half answers: a peer that is not a voter (an
observer) gets our current vote at once; a LOOKING peer in an older round gets our
proposal; a LOOKING peer, when we are not looking, gets the leader we follow.

This module reads no clock: every entry point takes ``now`` (milliseconds) and the core
says, in ``deadline``, when it wants ``on_timeout`` called. It sends by returning
[SendNotification][zk.election.SendNotification] actions.

Mirrors: org.apache.zookeeper.server.quorum.FastLeaderElection (lookForLeader,
Messenger.WorkerReceiver, sendNotifications, getVoteTracker, checkLeader,
receivedFollowingNotification) and SyncedLearnerTracker. We differ in one place: the
Java loop is one thread blocked on a queue; here the same steps run per event.
"""

from __future__ import annotations

import dataclasses
import logging

from zk.election.messages import ElectionWireError, Notification, ServerState, decode_notification
from zk.election.quorum import QuorumVerifier
from zk.election.vote import Vote, total_order_predicate
from zk.trace import NULL_TRACER, Tracer

__all__ = [
    "FINALIZE_WAIT",
    "MAX_NOTIFICATION_INTERVAL",
    "ConnectAll",
    "ElectionAction",
    "FastLeaderElection",
    "LeaderElected",
    "SendNotification",
]

log = logging.getLogger(__name__)

FINALIZE_WAIT = 200
"""ms to wait, once a quorum agrees, for a better vote before ending the round."""

MAX_NOTIFICATION_INTERVAL = 60_000
"""ms: the ceiling of the re-send back-off (zookeeper.fastleader.maxNotificationInterval)."""

_LONG_MIN = -(1 << 63)


@dataclasses.dataclass(frozen=True, slots=True)
class SendNotification:
    """Send `notification` to server `to` (to ourselves too: it comes back as received)."""

    to: int
    notification: Notification


@dataclasses.dataclass(frozen=True, slots=True)
class ConnectAll:
    """Our notifications are stuck: (re)connect to every peer (QuorumCnxManager.connectAll)."""


@dataclasses.dataclass(frozen=True, slots=True)
class LeaderElected:
    """The round ended: we are now `state`, following (or being) `vote.id`."""

    vote: Vote
    state: ServerState


ElectionAction = SendNotification | ConnectAll | LeaderElected


class FastLeaderElection:
    """The election core of one peer.

    Args:
        my_id: This server's id.
        verifier: The quorum rule and the members.
        last_logged_zxid: The last zxid in our log (the vote's zxid).
        current_epoch: The ``currentEpoch`` file's value (the vote's peer epoch).
        learner_type: ``"participant"`` or ``"observer"``.
        tracer: Where ``fle.*`` events go.
        min_notification_interval: First re-send interval, ms (default: finalize_wait).
        max_notification_interval: Ceiling of the back-off, ms.
        finalize_wait: ms to wait for a better vote once a quorum agrees.

    Mirrors: org.apache.zookeeper.server.quorum.FastLeaderElection.
    """

    def __init__(
        self,
        my_id: int,
        verifier: QuorumVerifier,
        *,
        last_logged_zxid: int = 0,
        current_epoch: int = 0,
        learner_type: str = "participant",
        tracer: Tracer = NULL_TRACER,
        min_notification_interval: int = FINALIZE_WAIT,
        max_notification_interval: int = MAX_NOTIFICATION_INTERVAL,
        finalize_wait: int = FINALIZE_WAIT,
    ) -> None:
        self.my_id = my_id
        self.verifier = verifier
        self.last_logged_zxid = last_logged_zxid
        self.current_epoch = current_epoch
        self.learner_type = learner_type
        self.tracer = tracer
        self.min_notification_interval = min_notification_interval
        self.max_notification_interval = max_notification_interval
        self.finalize_wait = finalize_wait
        self.state = ServerState.LOOKING  # QuorumPeer.getPeerState
        self.logical_clock = 0
        self.proposed_leader, self.proposed_zxid, self.proposed_epoch = -1, -1, -1
        # QuorumPeer.currentVote: until a round ends, our start-up vote (startLeaderElection)
        self.current_vote = Vote(my_id, last_logged_zxid, -1, current_epoch)
        self.recvset: dict[int, Vote] = {}  # votes of this round, by sender
        self.outofelection: dict[int, Vote] = {}  # FOLLOWING/LEADING votes, any round
        self.not_timeout = min_notification_interval
        self.finalizing = False  # a quorum agrees: waiting finalize_wait for a better vote
        self.deadline: int | None = None  # when on_timeout wants to run, ms
        self.round_started: int | None = None

    # --- who may vote ------------------------------------------------------------------

    def valid_voter(self, sid: int) -> bool:
        return sid in self.verifier.voting_members

    def _init_id(self) -> int:
        return self.my_id if self.valid_voter(self.my_id) else _LONG_MIN

    def _init_zxid(self) -> int:
        return self.last_logged_zxid if self.learner_type == "participant" else _LONG_MIN

    def _init_epoch(self) -> int:
        return self.current_epoch if self.learner_type == "participant" else _LONG_MIN

    def get_vote(self) -> Vote:
        """Our proposal in the running round."""
        return Vote(self.proposed_leader, self.proposed_zxid, self.logical_clock, self.proposed_epoch)

    # --- entry points --------------------------------------------------------------------

    def look_for_leader(self, now: int) -> list[ElectionAction]:
        """Start a round: bump the clock, vote for ourselves, tell every voter."""
        self.state = ServerState.LOOKING
        self.recvset.clear()
        self.outofelection.clear()
        self.finalizing = False
        self.not_timeout = self.min_notification_interval
        self.logical_clock += 1
        self._update_proposal(self._init_id(), self._init_zxid(), self._init_epoch())
        self.round_started = now
        log.info("New election. My id = %d, proposed zxid=0x%x", self.my_id, self.proposed_zxid & (2**64 - 1))
        if self.tracer.enabled:
            self.tracer.emit("fle.round.started", round=self.logical_clock, vote=self._vote_fields())
        self.deadline = now + self.not_timeout
        return self._send_notifications()

    def receive(self, sid: int, body: bytes, now: int) -> list[ElectionAction]:
        """A message from peer `sid`: the Messenger's reply, then (if LOOKING) a step of
        lookForLeader. Bytes that do not decode are logged and dropped."""
        try:
            n = decode_notification(body, sid)
        except ElectionWireError as e:
            log.warning("Skipping a malformed notification from sid=%d: %s", sid, e)
            return []
        return self.receive_notification(n, now)

    def receive_notification(self, n: Notification, now: int) -> list[ElectionAction]:
        """Messenger.WorkerReceiver for a decoded notification."""
        actions: list[ElectionAction] = []
        if self.tracer.enabled:
            self.tracer.emit(
                "fle.notification.received", **{"from": n.sid}, state=n.state.name, leader=n.leader,
                zxid=n.zxid, round=n.election_epoch, peer_epoch=n.peer_epoch, my_state=self.state.name,
            )  # fmt: skip
        if not self.valid_voter(n.sid):
            # an observer (or a non-voting peer): answer with our current vote at once
            cur = self.current_vote
            actions.append(self._to(n.sid, self.state, cur.id, cur.zxid, self.logical_clock, cur.peer_epoch))
            return actions
        log.info(
            "Notification: my state:%s; n.sid:%d, n.state:%s, n.leader:%d, n.round:0x%x, n.peerEpoch:0x%x, "
            "n.zxid:0x%x, message format version:0x%x",
            self.state.name, n.sid, n.state.name, n.leader, n.election_epoch & (2**64 - 1),
            n.peer_epoch & (2**64 - 1), n.zxid & (2**64 - 1), n.version,
        )  # fmt: skip
        if self.state == ServerState.LOOKING:
            if n.state == ServerState.LOOKING and n.election_epoch < self.logical_clock:
                v = self.get_vote()
                actions.append(self._to(n.sid, self.state, v.id, v.zxid, self.logical_clock, v.peer_epoch))
            actions += self._step(n, now)
        elif n.state == ServerState.LOOKING:
            # we have a leader, the sender is still looking: tell it whom we follow
            cur = self.current_vote
            actions.append(self._to(n.sid, self.state, cur.id, cur.zxid, cur.election_epoch, cur.peer_epoch))
        return actions

    def on_timeout(self, now: int, have_delivered: bool = True) -> list[ElectionAction]:
        """``deadline`` passed: end the round (finalize wait over) or re-send with back-off."""
        if self.state != ServerState.LOOKING or self.deadline is None or now < self.deadline:
            return []
        if self.finalizing:
            return self._decide(self.proposed_leader, now)
        actions: list[ElectionAction] = self._send_notifications() if have_delivered else [ConnectAll()]
        self.not_timeout = min(self.not_timeout * 2, self.max_notification_interval)
        log.info("Notification time out: %d ms", self.not_timeout)
        if self.tracer.enabled:
            self.tracer.emit("fle.timeout", interval=self.not_timeout, resent=have_delivered)
        self.deadline = now + self.not_timeout
        return actions

    # --- lookForLeader, one notification at a time ------------------------------------------

    def _step(self, n: Notification, now: int) -> list[ElectionAction]:
        if self.finalizing:
            # the finalize wait: only a better vote matters; anything else is dropped
            if not self._beats_proposal(n):
                self.deadline = now + self.finalize_wait
                return []
            self.finalizing = False  # "put it back": handled below as a fresh notification
        self.deadline = now + self.not_timeout
        if not (self.valid_voter(n.sid) and self.valid_voter(n.leader)):
            log.warning("Ignoring notification for sid %d from sid %d: not a voter", n.leader, n.sid)
            return []
        if n.state == ServerState.LOOKING:
            return self._looking(n, now)
        if n.state == ServerState.OBSERVING:
            return []
        return self._following(n, now)

    def _looking(self, n: Notification, now: int) -> list[ElectionAction]:
        actions: list[ElectionAction] = []
        if self._init_zxid() == -1 or n.zxid == -1:
            return []
        if n.election_epoch > self.logical_clock:
            self.logical_clock = n.election_epoch
            self.recvset.clear()
            if total_order_predicate(
                n.leader, n.zxid, n.peer_epoch, self._init_id(), self._init_zxid(), self._init_epoch(),
                self.verifier.get_weight(n.leader),
            ):  # fmt: skip
                self._update_proposal(n.leader, n.zxid, n.peer_epoch)
            else:
                self._update_proposal(self._init_id(), self._init_zxid(), self._init_epoch())
            actions += self._send_notifications()
        elif n.election_epoch < self.logical_clock:
            return []
        elif self._beats_proposal(n):
            self._update_proposal(n.leader, n.zxid, n.peer_epoch)
            actions += self._send_notifications()
        self.recvset[n.sid] = Vote(n.leader, n.zxid, n.election_epoch, n.peer_epoch)
        if self._has_quorum(self.recvset, self.get_vote()):
            self.finalizing = True
            self.deadline = now + self.finalize_wait
            if self.tracer.enabled:
                voters = sorted(s for s, v in self.recvset.items() if v.matches(self.get_vote()))
                self.tracer.emit(
                    "fle.quorum.reached", round=self.logical_clock, vote=self._vote_fields(), voters=voters
                )
        return actions

    def _following(self, n: Notification, now: int) -> list[ElectionAction]:
        """receivedFollowingNotification (LEADING uses it too; no oracle here)."""
        vote = Vote(n.leader, n.zxid, n.election_epoch, n.peer_epoch, n.state, n.version)
        if n.election_epoch == self.logical_clock:
            self.recvset[n.sid] = Vote(n.leader, n.zxid, n.election_epoch, n.peer_epoch, n.state)
            if self._has_quorum(self.recvset, vote) and self._check_leader(self.recvset, n.leader, n.election_epoch):
                return self._decide(n.leader, now, vote)
        # ZOOKEEPER-1732: outofelection holds this round's FOLLOWING/LEADING votes too
        self.outofelection[n.sid] = vote
        if self._has_quorum(self.outofelection, vote) and self._check_leader(
            self.outofelection, n.leader, n.election_epoch
        ):
            self.logical_clock = n.election_epoch
            return self._decide(n.leader, now, vote)
        return []

    def _check_leader(self, votes: dict[int, Vote], leader: int, election_epoch: int) -> bool:
        """checkLeader: another leader must have told us it is LEADING; we lead only in
        the round we are in."""
        if leader != self.my_id:
            v = votes.get(leader)
            return v is not None and v.state == ServerState.LEADING
        return self.logical_clock == election_epoch

    def _has_quorum(self, votes: dict[int, Vote], vote: Vote) -> bool:
        """getVoteTracker(...).hasAllQuorums: the senders whose vote matches form a quorum."""
        return self.verifier.contains_quorum(sid for sid, v in votes.items() if vote.matches(v))

    def _beats_proposal(self, n: Notification) -> bool:
        return total_order_predicate(
            n.leader, n.zxid, n.peer_epoch, self.proposed_leader, self.proposed_zxid, self.proposed_epoch,
            self.verifier.get_weight(n.leader),
        )  # fmt: skip

    def _decide(self, leader: int, now: int, via: Vote | None = None) -> list[ElectionAction]:
        if leader == self.my_id:
            self.state = ServerState.LEADING
        elif self.learner_type == "participant":
            self.state = ServerState.FOLLOWING
        else:
            self.state = ServerState.OBSERVING
        if via is None:
            end = Vote(self.proposed_leader, self.proposed_zxid, self.logical_clock, self.proposed_epoch)
        else:
            end = Vote(via.id, via.zxid, via.election_epoch, via.peer_epoch)
        self.current_vote = end
        self.finalizing = False
        self.deadline = None
        took = now - self.round_started if self.round_started is not None else 0
        log.info("%s - LEADER ELECTION TOOK - %d MS - vote %s round 0x%x", self.state.name, took, end,
                 end.election_epoch)  # fmt: skip
        if self.tracer.enabled:
            self.tracer.emit("fle.decided", state=self.state.name, leader=end.id, zxid=end.zxid,
                             round=end.election_epoch, peer_epoch=end.peer_epoch, took_ms=took)  # fmt: skip
        return [LeaderElected(end, self.state)]

    # --- sending -----------------------------------------------------------------------------

    def _update_proposal(self, leader: int, zxid: int, epoch: int) -> None:
        self.proposed_leader, self.proposed_zxid, self.proposed_epoch = leader, zxid, epoch
        if self.tracer.enabled:
            self.tracer.emit("fle.proposal", round=self.logical_clock, vote=self._vote_fields())

    def _send_notifications(self) -> list[ElectionAction]:
        """sendNotifications: our proposal, LOOKING, to every voter (ourselves included)."""
        vote = (self.proposed_leader, self.proposed_zxid, self.logical_clock, self.proposed_epoch)
        return [self._to(sid, ServerState.LOOKING, *vote) for sid in sorted(self.verifier.voting_members)]

    def _to(self, sid: int, state: ServerState, leader: int, zxid: int, ee: int, pe: int) -> SendNotification:
        config = self.verifier.to_string().encode()
        n = Notification(state, leader, zxid, ee, pe, config=config, sid=self.my_id)
        if self.tracer.enabled:
            self.tracer.emit("fle.notification.sent", to=sid, state=state.name, leader=leader, zxid=zxid,
                             round=ee, peer_epoch=pe)  # fmt: skip
        return SendNotification(sid, n)

    def _vote_fields(self) -> dict[str, int]:
        return {"leader": self.proposed_leader, "zxid": self.proposed_zxid, "peer_epoch": self.proposed_epoch}
