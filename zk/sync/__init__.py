"""zk.sync: bringing a learner up to its new leader (DIFF, TRUNC, SNAP).

Chapter 12 of the book. The leader's choice for each learner is a pure function
(``plan.plan_sync``) of plain zxids; ``leader_sync.sync_follower`` turns the plan into
queued packets in the same event-loop step as Leader.start_forwarding; the snapshot
travels in the snapshot file's layout (``snapshot``); ``learner_sync.sync_with_leader``
is the learner's side, with the ordering rules of ZooKeeper's recovery bugs written
beside the code that keeps them.

Mirrors: LearnerHandler.syncFollower / queueCommittedProposals, Learner.syncWithLeader,
ZKDatabase.serializeSnapshot / deserializeSnapshot / truncateLog.
"""

from zk.sync.leader_sync import sync_follower
from zk.sync.learner_sync import sync_with_leader
from zk.sync.plan import SyncKind, SyncPlan, plan_sync
from zk.sync.snapshot import SIGNATURE, load_wire_snapshot, read_wire_snapshot, serialize_wire_snapshot

__all__ = [
    "SIGNATURE",
    "SyncKind",
    "SyncPlan",
    "load_wire_snapshot",
    "plan_sync",
    "read_wire_snapshot",
    "serialize_wire_snapshot",
    "sync_follower",
    "sync_with_leader",
]
