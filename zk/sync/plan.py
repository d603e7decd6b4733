"""The leader's choice of DIFF, TRUNC or SNAP for one learner: a pure function.

Inputs are plain zxids: what the learner last has (``peer``), what the leader's tree
last applied (``last_processed``), the leader's in-memory committed log (its newest
~500 committed txns, ``committed``), and optionally the zxids of its on-disk log from
the learner's zxid on (``txn_log``)::

    peer == last_processed                  → DIFF(peer), nothing to send   (in sync)
    peer >  max(committed), same epoch      → TRUNC(max(committed))         (an old leader's
                                                                             uncommitted tail)
    min(committed) <= peer <= max(committed) → walk the committed log:
        peer found in it                    → DIFF(max), then every txn after peer
        peer not found, first newer txn in
            the same epoch                  → TRUNC(the txn before), then the rest
            another epoch                   → SNAP (a TRUNC may not cross epochs)
    peer <  min(committed), txn log holds it → the same walk over the txn log, then the
                                              committed log (a gap between them → SNAP,
                                              ZOOKEEPER-2418)
    otherwise                               → SNAP

A learner at ``e << 32`` (it synced in epoch e and has no txn of it) cannot be
truncated: it gets a DIFF even where its zxid is not in the log. Every txn sent is
sent as PROPOSAL followed by COMMIT; ``forward_from`` is where Leader.start_forwarding
continues.

The plan never says TRUNC for a zxid the leader has not committed, and never DIFFs
past a txn the learner holds and the leader does not: ZOOKEEPER-1154/-1156 (an old
leader's logged-but-uncommitted txn must be cut, not kept).

Mirrors: LearnerHandler.syncFollower and queueCommittedProposals (as pure code).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["SyncKind", "SyncPlan", "plan_sync"]


class SyncKind(enum.Enum):
    DIFF = "DIFF"
    TRUNC = "TRUNC"
    SNAP = "SNAP"


@dataclass(frozen=True, slots=True)
class SyncPlan:
    """What to send a learner before NEWLEADER.

    Attributes:
        kind: DIFF, TRUNC or SNAP.
        zxid: DIFF's zxid (the leader's last committed), TRUNC's (where to cut), or
            SNAP's (the snapshot's: ``last_processed``).
        proposals: zxids to send, in order, each as PROPOSAL then COMMIT.
        forward_from: the last zxid the learner will have; proposals after it are
            forwarded by Leader.start_forwarding.
        why: the case of the table above, for the log and the book.
    """

    kind: SyncKind
    zxid: int
    proposals: tuple[int, ...]
    forward_from: int
    why: str


def _is_new_epoch_zxid(zxid: int) -> bool:
    return zxid & 0xFFFFFFFF == 0


class _Walk:
    """queueCommittedProposals: the first op packet, then the txns after the peer."""

    def __init__(self, peer: int) -> None:
        self.peer = peer
        self.op: tuple[SyncKind, int] | None = None
        self.proposals: list[int] = []
        self.refused = False  # a TRUNC across epochs: fall back to SNAP

    def walk(self, zxids: Sequence[int], peer: int, max_zxid: int | None, last_committed: int) -> int:
        new_epoch_peer = _is_new_epoch_zxid(peer)
        queued = peer
        prev = -1
        for z in zxids:
            if max_zxid is not None and z > max_zxid:
                break
            if z < peer:
                prev = z
                continue
            if self.op is None:
                if z == peer:
                    self.op = (SyncKind.DIFF, last_committed)
                    continue
                if new_epoch_peer:
                    self.op = (SyncKind.DIFF, last_committed)
                elif z > peer:
                    if z >> 32 != peer >> 32:
                        self.refused = True  # cannot TRUNC across an epoch
                        return queued
                    self.op = (SyncKind.TRUNC, prev)
            if z <= queued:
                continue
            self.proposals.append(z)
            queued = z
        if self.op is None and new_epoch_peer:
            self.op = (SyncKind.DIFF, last_committed)
        return queued


def plan_sync(
    peer: int,
    last_processed: int,
    committed: Sequence[int],
    txn_log: Sequence[int] | None = None,
    *,
    force_snap: bool = False,
) -> SyncPlan:
    """Choose how to bring a learner at `peer` up to the leader.

    Args:
        peer: the learner's last zxid (ACKEPOCH's).
        last_processed: the leader's tree's last zxid.
        committed: the committed log's zxids, ascending.
        txn_log: zxids of the on-disk log from `peer` on (ascending), None if txn-log
            sync is off or the log does not reach back to `peer`.
        force_snap: always SNAP (tests; ``forceSnapshotSync``).
    """
    snap = SyncPlan(SyncKind.SNAP, last_processed, (), last_processed, "no usable history: snapshot")
    if force_snap:
        return SyncPlan(SyncKind.SNAP, last_processed, (), last_processed, "forced snapshot sync")
    if committed:
        min_c, max_c = committed[0], committed[-1]
    else:
        min_c = max_c = last_processed
    if last_processed == peer:
        return SyncPlan(SyncKind.DIFF, peer, (), peer, "learner already in sync: empty DIFF")
    if peer > max_c and not _is_new_epoch_zxid(peer):
        return SyncPlan(SyncKind.TRUNC, max_c, (), max_c, "learner ahead of the committed log: TRUNC")
    w = _Walk(peer)
    if min_c <= peer <= max_c:
        current = w.walk(committed, peer, None, max_c)
        why = "learner within the committed log"
    elif peer < min_c and txn_log:
        current = w.walk(txn_log, peer, min_c, max_c)
        if w.refused or current < min_c:
            return dataclass_replace(snap, why="gap between the txn log and the committed log: snapshot")
        current = w.walk(committed, current, None, max_c)
        why = "learner behind the committed log: txn log, then committed log"
    else:
        return snap
    if w.refused or w.op is None:
        return dataclass_replace(snap, why="the learner's history diverges in another epoch: snapshot")
    kind, zxid = w.op
    return SyncPlan(kind, zxid, tuple(w.proposals), current, why)


def dataclass_replace(plan: SyncPlan, *, why: str) -> SyncPlan:
    return SyncPlan(plan.kind, plan.zxid, plan.proposals, plan.forward_from, why)
