"""The leader's DIFF / TRUNC / SNAP choice as a pure function (zk.sync.plan).

Each case is a row of LearnerHandler.syncFollower's table; the ZOOKEEPER-ids name the
bugs a wrong choice caused.
"""

from __future__ import annotations

from zk.sync import SyncKind, plan_sync


def z(epoch: int, counter: int) -> int:
    return epoch << 32 | counter


COMMITTED = [z(1, i) for i in range(1, 11)]  # 1:1 .. 1:10


def test_in_sync_gets_an_empty_diff() -> None:
    plan = plan_sync(z(1, 10), z(1, 10), COMMITTED)
    assert (plan.kind, plan.zxid, plan.proposals) == (SyncKind.DIFF, z(1, 10), ())


def test_lagging_learner_gets_a_diff_of_what_it_lacks() -> None:
    plan = plan_sync(z(1, 7), z(1, 10), COMMITTED)
    assert plan.kind is SyncKind.DIFF
    assert plan.zxid == z(1, 10)  # DIFF carries the leader's last committed zxid
    assert plan.proposals == (z(1, 8), z(1, 9), z(1, 10))
    assert plan.forward_from == z(1, 10)


def test_ZOOKEEPER_1154_old_leader_with_an_uncommitted_tail_is_truncated_never_diffed() -> None:
    # A logged 1:11 alone and crashed; the others elected B, which has 1:10 as its last.
    """A learner whose log runs past the leader's history is truncated to it (TRUNC), never DIFFed from its own
    zxid. Ours: zk.sync.plan.plan_sync."""
    plan = plan_sync(z(1, 11), z(1, 10), COMMITTED)
    assert plan.kind is SyncKind.TRUNC
    assert plan.zxid == z(1, 10)  # cut right after the last committed txn (not before: -1156)
    assert plan.proposals == ()


def test_ZOOKEEPER_1154_after_new_epoch_txns_a_truncate_cannot_cross_epochs() -> None:
    # B went on in epoch 2; A's 1:11 is not in B's history and a TRUNC may not cross
    # the epoch boundary: A gets a snapshot, never a DIFF on top of 1:11.
    """When the leader has txns of a newer epoch past the learner's fork, a TRUNC cannot cross the epoch
    boundary: the learner gets a snapshot. Ours: plan_sync."""
    committed = [*COMMITTED, z(2, 1), z(2, 2)]
    plan = plan_sync(z(1, 11), z(2, 2), committed)
    assert plan.kind is SyncKind.SNAP


def test_divergent_tail_in_the_same_epoch_is_truncated_then_diffed() -> None:
    # the learner has 1:5 and then a 1:6 the leader never committed; the leader's 1:6
    # is another txn (cannot happen within one epoch in Zab, but the plan must not DIFF
    # over a zxid it does not hold)
    committed = [z(1, 1), z(1, 2), z(1, 3), z(1, 5), z(1, 6)]
    plan = plan_sync(z(1, 4), z(1, 6), committed)
    assert plan.kind is SyncKind.TRUNC
    assert plan.zxid == z(1, 3)
    assert plan.proposals == (z(1, 5), z(1, 6))


def test_learner_at_a_new_epoch_zxid_is_diffed_not_truncated() -> None:
    # it synced in epoch 2 by SNAP (its zxid is 2:0, no txn has it)
    committed = [*COMMITTED, z(2, 1), z(2, 2)]
    plan = plan_sync(z(2, 0), z(2, 2), committed)
    assert plan.kind is SyncKind.DIFF
    assert plan.proposals == (z(2, 1), z(2, 2))


def test_learner_older_than_the_committed_log_without_a_txn_log_gets_a_snapshot() -> None:
    plan = plan_sync(z(1, 0), z(1, 10), COMMITTED[5:])
    assert plan.kind is SyncKind.SNAP
    assert plan.zxid == z(1, 10)


def test_learner_older_than_the_committed_log_is_diffed_from_the_txn_log() -> None:
    committed = COMMITTED[5:]  # 1:6 .. 1:10 in memory
    txn_log = [z(1, i) for i in range(3, 9)]  # 1:3 .. 1:8 on disk
    plan = plan_sync(z(1, 3), z(1, 10), committed, txn_log)
    assert plan.kind is SyncKind.DIFF
    assert plan.proposals == tuple(z(1, i) for i in range(4, 11))


def test_ZOOKEEPER_2418_a_gap_between_txn_log_and_committed_log_means_snapshot() -> None:
    """A DIFF built from the on-disk log and the committed log could skip txns lying between the two; a gap means
    a snapshot. Ours: plan_sync."""
    committed = COMMITTED[7:]  # 1:8 .. 1:10
    txn_log = [z(1, 3), z(1, 4), z(1, 5)]  # the disk stops at 1:5: 1:6, 1:7 are nowhere
    plan = plan_sync(z(1, 3), z(1, 10), committed, txn_log)
    assert plan.kind is SyncKind.SNAP


def test_empty_committed_log_uses_the_last_processed_zxid() -> None:
    assert plan_sync(z(1, 4), z(1, 4), []).kind is SyncKind.DIFF
    assert plan_sync(z(1, 5), z(1, 4), []).kind is SyncKind.TRUNC
    assert plan_sync(z(1, 3), z(1, 4), []).kind is SyncKind.SNAP


def test_ZOOKEEPER_4352_a_new_empty_server_never_gets_a_bare_diff() -> None:
    # a newly added server at zxid 0, the leader's committed log starting later
    """A new, empty server must never be sent a bare DIFF (it missed part of the data in ZooKeeper when
    minCommittedLog was 0). Ours: plan_sync."""
    plan = plan_sync(0, z(1, 10), COMMITTED[2:])
    assert plan.kind is SyncKind.SNAP


def test_forced_snapshot() -> None:
    assert plan_sync(z(1, 10), z(1, 10), COMMITTED, force_snap=True).kind is SyncKind.SNAP
