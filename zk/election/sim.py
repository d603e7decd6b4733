"""A seeded simulated network with a virtual clock, for running election cores.

Every peer is a [FastLeaderElection][zk.election.FastLeaderElection] core; the
network delivers each notification after a random delay drawn from one seeded
``random.Random``, so a run is a pure function of its seed and its script (start,
crash, restart, partition). Nothing sleeps: time jumps from one event to the next.

It stands in for two things the real shells do: QuorumCnxManager (delivery, with
drops for crashed or cut-off peers) and the part of QuorumPeer that notices a lost
leader (a follower of a crashed leader goes back to LOOKING after ``detect_ms``; a
leader that no longer reaches a quorum does the same).

Mirrors: no Java class; the role of ZooKeeper's FLE tests with mocked peers
(FLETest, FLEPredicateTest), as a replayable transcript.
"""

from __future__ import annotations

import dataclasses
import heapq
import random
from collections.abc import Callable, Iterable

from zk.election.fle import ConnectAll, ElectionAction, FastLeaderElection, LeaderElected, SendNotification
from zk.election.messages import ServerState, encode_notification
from zk.election.quorum import QuorumMaj, QuorumVerifier
from zk.trace import NULL_TRACER, MemorySink, Tracer

__all__ = ["SimMember", "SimNetwork"]


@dataclasses.dataclass(frozen=True, slots=True)
class SimMember:
    """A ``server.N`` line for the simulator (the verifier needs only these fields)."""

    sid: int
    role: str = "participant"
    host: str = "sim"
    quorum_port: int = 0
    election_port: int = 0


@dataclasses.dataclass(order=True, slots=True)
class _Event:
    at: int
    seq: int
    kind: str = dataclasses.field(compare=False)
    sid: int = dataclasses.field(compare=False)
    payload: object = dataclasses.field(compare=False, default=None)
    incarnation: int = dataclasses.field(compare=False, default=0)


class SimNetwork:
    """Peers, a clock and a message heap. All times are virtual milliseconds.

    Args:
        n: Number of servers, ids 1..n (or give `members`).
        seed: Seeds every random choice (delays).
        latency: (min, max) ms per message.
        detect_ms: How long a follower takes to notice its leader is gone.
        members: Explicit members (to add observers).
        trace: Keep every core's trace events in `events`.
    """

    def __init__(
        self,
        n: int = 3,
        *,
        seed: int = 0,
        latency: tuple[int, int] = (1, 5),
        detect_ms: int = 1000,
        members: Iterable[SimMember] | None = None,
        trace: bool = True,
    ) -> None:
        self.members = {m.sid: m for m in (members or [SimMember(i) for i in range(1, n + 1)])}
        self.verifier: QuorumVerifier = QuorumMaj(self.members)
        self.rng = random.Random(seed)
        self.latency = latency
        self.detect_ms = detect_ms
        self.now = 0
        self.peers: dict[int, FastLeaderElection] = {}
        self.incarnation: dict[int, int] = {}
        self.cut: set[frozenset[int]] = set()
        self._heap: list[_Event] = []
        self._seq = 0
        self.sink = MemorySink() if trace else None
        self.decisions: list[tuple[int, int, ServerState, int]] = []  # (time, sid, state, leader)

    @property
    def events(self) -> list[dict[str, object]]:
        """The trace events of every peer, in virtual time order."""
        return list(self.sink.events) if self.sink is not None else []

    def _tracer(self, sid: int) -> Tracer:
        if self.sink is None:
            return NULL_TRACER
        return Tracer(f"s{sid}", self.sink, clock=lambda: self.now * 1_000_000, origin=0)

    def _push(self, at: int, kind: str, sid: int, payload: object = None) -> None:
        self._seq += 1
        heapq.heappush(self._heap, _Event(at, self._seq, kind, sid, payload, self.incarnation.get(sid, 0)))

    # --- the script ----------------------------------------------------------------------

    def start(self, sid: int, *, at: int | None = None, zxid: int = 0, epoch: int = 0) -> None:
        """Start (or restart) server `sid` at time `at` with this log state."""
        self._push(self.now if at is None else at, "start", sid, (zxid, epoch))

    def crash(self, sid: int) -> None:
        """Stop `sid` now: its messages in flight are lost; its followers notice later."""
        self.peers.pop(sid, None)
        self.incarnation[sid] = self.incarnation.get(sid, 0) + 1
        for other, fle in self.peers.items():
            if fle.state != ServerState.LOOKING and fle.current_vote.id == sid:
                self._push(self.now + self.detect_ms, "lost_leader", other)

    def partition(self, *groups: Iterable[int]) -> None:
        """Cut every link between different groups (one call replaces the last cut)."""
        sets = [set(g) for g in groups]
        self.cut = {frozenset((a, b)) for i, g in enumerate(sets) for h in sets[i + 1 :] for a in g for b in h}
        self._check_leaders()

    def heal(self) -> None:
        self.cut = set()

    def _linked(self, a: int, b: int) -> bool:
        return frozenset((a, b)) not in self.cut

    def _check_leaders(self) -> None:
        # a leader (or follower) cut off from a quorum including its leader steps down later
        for sid, fle in self.peers.items():
            if fle.state == ServerState.LOOKING:
                continue
            leader = fle.current_vote.id
            reach = [s for s in self.peers if self._linked(sid, s) and self._linked(s, leader)]
            if not self._linked(sid, leader) or not self.verifier.contains_quorum(reach):
                self._push(self.now + self.detect_ms, "lost_leader", sid)

    # --- running -----------------------------------------------------------------------------

    def run(self, until: int | None = None, stop: Callable[[SimNetwork], bool] | None = None) -> None:
        """Process events until the heap is empty, time `until`, or `stop` says so."""
        while self._heap:
            if stop is not None and stop(self):
                return
            ev = self._heap[0]
            if until is not None and ev.at > until:
                self.now = until
                return
            heapq.heappop(self._heap)
            self.now = max(self.now, ev.at)
            self._handle(ev)
        if until is not None:
            self.now = max(self.now, until)

    def run_until_stable(self, limit: int = 120_000) -> None:
        """Run until every live peer has left LOOKING (or `limit` ms pass)."""
        self.run(until=self.now + limit, stop=lambda net: net.stable())

    def stable(self) -> bool:
        return bool(self.peers) and all(f.state != ServerState.LOOKING for f in self.peers.values())

    def _handle(self, ev: _Event) -> None:
        if ev.kind == "start":
            assert isinstance(ev.payload, tuple)
            zxid, epoch = ev.payload
            self.incarnation[ev.sid] = self.incarnation.get(ev.sid, 0) + 1
            role = self.members[ev.sid].role
            fle = FastLeaderElection(
                ev.sid, self.verifier, last_logged_zxid=zxid, current_epoch=epoch, learner_type=role,
                tracer=self._tracer(ev.sid),
            )  # fmt: skip
            self.peers[ev.sid] = fle
            self._apply(ev.sid, fle.look_for_leader(self.now))
            return
        fle_or_none = self.peers.get(ev.sid)
        if fle_or_none is None or ev.incarnation != self.incarnation.get(ev.sid, 0):
            return  # a crashed (or since restarted) peer
        fle = fle_or_none
        if ev.kind == "deliver":
            assert isinstance(ev.payload, tuple)
            src, body = ev.payload
            self._apply(ev.sid, fle.receive(src, body, self.now))
        elif ev.kind == "timer":
            if fle.deadline is not None and self.now >= fle.deadline:
                self._apply(ev.sid, fle.on_timeout(self.now))
        elif ev.kind == "lost_leader" and fle.state != ServerState.LOOKING:
            self._apply(ev.sid, fle.look_for_leader(self.now))

    def _apply(self, sid: int, actions: list[ElectionAction]) -> None:
        fle = self.peers[sid]
        for action in actions:
            if isinstance(action, SendNotification):
                to = action.to
                if to not in self.peers and to != sid:
                    continue
                if not self._linked(sid, to):
                    continue
                delay = 0 if to == sid else self.rng.randint(*self.latency)
                body = encode_notification(action.notification)
                self._seq += 1
                heapq.heappush(
                    self._heap,
                    _Event(self.now + delay, self._seq, "deliver", to, (sid, body), self.incarnation.get(to, 0)),
                )
            elif isinstance(action, LeaderElected):
                self.decisions.append((self.now, sid, action.state, action.vote.id))
            elif isinstance(action, ConnectAll):
                pass  # the simulated network is always connected
        if fle.deadline is not None:
            self._push(fle.deadline, "timer", sid)

    # --- what a test asks --------------------------------------------------------------------

    def states(self) -> dict[int, ServerState]:
        return {sid: f.state for sid, f in sorted(self.peers.items())}

    def leaders(self) -> list[int]:
        return [sid for sid, f in sorted(self.peers.items()) if f.state == ServerState.LEADING]

    def votes(self) -> dict[int, int]:
        """Whom each settled peer follows (its current vote's id)."""
        return {sid: f.current_vote.id for sid, f in sorted(self.peers.items()) if f.state != ServerState.LOOKING}
