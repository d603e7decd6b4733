"""FastLeaderElection's rules, one test per rule, and scenarios on the seeded simulator.

Each scenario runs the real core on SimNetwork: random message delays from a seed and a
virtual clock, so every run replays exactly.
"""

from __future__ import annotations

import pytest

from zk.election import (
    FastLeaderElection,
    LeaderElected,
    Notification,
    QuorumHierarchical,
    QuorumMaj,
    SendNotification,
    ServerState,
    SimMember,
    SimNetwork,
    Vote,
    total_order_predicate,
)

SEEDS = range(8)


# --- rules -----------------------------------------------------------------------------


def test_total_order_is_epoch_then_zxid_then_id() -> None:
    """FastLeaderElection.totalOrderPredicate: (peer epoch, zxid, server id)."""
    assert total_order_predicate(1, 0, 2, 3, 99, 1)  # higher epoch beats higher zxid and id
    assert total_order_predicate(1, 5, 1, 3, 4, 1)  # same epoch: higher zxid
    assert total_order_predicate(3, 5, 1, 2, 5, 1)  # same epoch and zxid: higher id
    assert not total_order_predicate(2, 5, 1, 2, 5, 1)  # equal is not better
    assert not total_order_predicate(9, 9, 9, 1, 0, 0, new_weight=0)  # weight 0 never wins


def test_vote_equality_follows_state() -> None:
    """Vote.equals: LOOKING votes compare every field; settled ones the leader and epoch."""
    a = Vote(3, 5, 1, 1)
    assert a.matches(Vote(3, 5, 1, 1)) and not a.matches(Vote(3, 5, 2, 1))
    settled = Vote(3, 5, 1, 1, ServerState.FOLLOWING, version=2)
    assert settled.matches(Vote(3, 9, 7, 1, ServerState.LEADING, version=2))
    assert not settled.matches(Vote(3, 9, 7, 2, ServerState.LEADING, version=2))
    assert settled.matches(Vote(3, 9, 7, 2, ServerState.LEADING, version=0))  # old peer: id only


def test_quorums() -> None:
    five = {i: SimMember(i) for i in range(1, 6)}
    maj = QuorumMaj(five)
    assert maj.contains_quorum({1, 2, 3}) and not maj.contains_quorum({1, 2})
    with_observer = {**five, 6: SimMember(6, role="observer")}
    assert not QuorumMaj(with_observer).contains_quorum({1, 2, 6})  # observers never count
    # two groups of 3 with weights: a quorum is a weighted majority in a majority of groups
    h = QuorumHierarchical(
        {i: SimMember(i) for i in range(1, 7)}, {1: [1, 2, 3], 2: [4, 5, 6]}, {1: 2, 4: 0}
    )  # fmt: skip
    assert not h.contains_quorum({1, 4, 5})  # group 1 has 2 of 4, not more than half
    assert not h.contains_quorum({1, 2, 4, 5})  # group 2 has 1 of 2: one group of two
    assert h.contains_quorum({1, 2, 5, 6})  # 3 of 4 and 2 of 2
    assert h.get_weight(4) == 0 and "group.1=1:2:3" in h.to_string()


def _fle(my_id: int, n: int = 3, **kw: int) -> FastLeaderElection:
    return FastLeaderElection(my_id, QuorumMaj({i: SimMember(i) for i in range(1, n + 1)}), **kw)


def test_a_round_starts_with_a_vote_for_ourselves_sent_to_every_voter() -> None:
    fle = _fle(2, last_logged_zxid=7, current_epoch=1)
    actions = fle.look_for_leader(now=0)
    assert fle.logical_clock == 1
    assert [a.to for a in actions if isinstance(a, SendNotification)] == [1, 2, 3]
    n = actions[0].notification  # type: ignore[union-attr]
    assert (n.state, n.leader, n.zxid, n.election_epoch, n.peer_epoch) == (ServerState.LOOKING, 2, 7, 1, 1)


def test_later_round_resets_and_adopts_the_better_vote() -> None:
    fle = _fle(1)
    fle.look_for_leader(0)
    fle.receive_notification(Notification(ServerState.LOOKING, 3, 0, 5, 0, sid=3), now=1)
    assert fle.logical_clock == 5 and fle.proposed_leader == 3


def test_older_round_is_answered_not_counted() -> None:
    fle = _fle(1)
    fle.look_for_leader(0)
    fle.receive_notification(Notification(ServerState.LOOKING, 3, 0, 5, 0, sid=3), now=1)
    actions = fle.receive_notification(Notification(ServerState.LOOKING, 2, 0, 1, 0, sid=2), now=2)
    assert [a.to for a in actions if isinstance(a, SendNotification)] == [2]  # catch it up
    assert 2 not in fle.recvset


def test_quorum_waits_finalize_wait_then_decides() -> None:
    fle = _fle(3)
    fle.look_for_leader(0)
    fle.receive_notification(Notification(ServerState.LOOKING, 3, 0, 1, 0, sid=3), now=1)
    fle.receive_notification(Notification(ServerState.LOOKING, 3, 0, 1, 0, sid=2), now=2)
    assert fle.finalizing and fle.deadline == 202
    assert fle.on_timeout(now=100) == []
    (done,) = fle.on_timeout(now=202)
    assert done == LeaderElected(Vote(3, 0, 1, 0), ServerState.LEADING)


def test_better_vote_during_finalize_wait_reopens_the_round() -> None:
    fle = _fle(2)
    fle.look_for_leader(0)
    fle.receive_notification(Notification(ServerState.LOOKING, 2, 0, 1, 0, sid=2), now=1)
    fle.receive_notification(Notification(ServerState.LOOKING, 2, 0, 1, 0, sid=1), now=2)
    assert fle.finalizing
    fle.receive_notification(Notification(ServerState.LOOKING, 3, 0, 1, 0, sid=3), now=50)
    assert not fle.finalizing and fle.proposed_leader == 3


def test_leading_notifications_need_the_leader_itself() -> None:
    """checkLeader: a quorum of FOLLOWING votes is not enough without the leader's LEADING."""
    fle = _fle(1, n=5)
    fle.look_for_leader(0)
    for sid in (2, 3, 4):
        fle.receive_notification(Notification(ServerState.FOLLOWING, 5, 0, 1, 1, sid=sid), now=1)
    assert fle.state == ServerState.LOOKING
    (done,) = fle.receive_notification(Notification(ServerState.LEADING, 5, 0, 1, 1, sid=5), now=2)
    assert isinstance(done, LeaderElected) and done.state == ServerState.FOLLOWING and done.vote.id == 5


def test_backoff_doubles_to_the_ceiling() -> None:
    fle = _fle(1, max_notification_interval=1000)
    fle.look_for_leader(0)
    now, seen = 0, []
    for _ in range(6):
        assert fle.deadline is not None
        now = fle.deadline
        fle.on_timeout(now)
        seen.append(fle.not_timeout)
    assert seen == [400, 800, 1000, 1000, 1000, 1000]


# --- scenarios on the simulator ------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_highest_epoch_zxid_id_wins(seed: int) -> None:
    net = SimNetwork(5, seed=seed)
    state = {1: (0, 2), 2: (9, 1), 3: (5, 2), 4: (5, 2), 5: (100, 1)}  # sid: (zxid, epoch)
    for sid, (zxid, epoch) in state.items():
        net.start(sid, zxid=zxid, epoch=epoch)
    net.run_until_stable()
    assert net.leaders() == [4]  # epoch 2 beats epoch 1; then zxid 5 vs 0; then id 4 > 3
    assert set(net.votes().values()) == {4}


@pytest.mark.parametrize("seed", SEEDS)
def test_staggered_starts_agree(seed: int) -> None:
    net = SimNetwork(3, seed=seed)
    for sid, at in ((1, 0), (2, 700), (3, 3000)):
        net.start(sid, at=at)
    net.run(until=10_000)
    assert len(net.leaders()) == 1 and len(set(net.votes().values())) == 1
    assert net.stable()


@pytest.mark.parametrize("seed", SEEDS)
def test_restarted_server_joins_the_leader_it_finds(seed: int) -> None:
    net = SimNetwork(3, seed=seed)
    for sid in (1, 2, 3):
        net.start(sid)
    net.run_until_stable()
    (leader,) = net.leaders()
    follower = next(s for s in (1, 2, 3) if s != leader)
    net.crash(follower)
    net.run(until=net.now + 100)
    net.start(follower)  # its logical clock restarts at 1
    net.run(until=net.now + 5000)
    assert net.leaders() == [leader] and net.votes()[follower] == leader
    assert net.peers[leader].logical_clock == 1  # the leader never had to look again


@pytest.mark.parametrize("seed", SEEDS)
def test_killing_the_leader_elects_another(seed: int) -> None:
    net = SimNetwork(5, seed=seed)
    for sid in range(1, 6):
        net.start(sid)
    net.run_until_stable()
    assert net.leaders() == [5]
    net.crash(5)
    net.run(until=net.now + 5000)
    assert net.leaders() == [4] and set(net.votes().values()) == {4}


@pytest.mark.parametrize("seed", SEEDS)
def test_minority_elects_nobody(seed: int) -> None:
    net = SimNetwork(5, seed=seed)
    net.partition({1, 2}, {3, 4, 5})
    for sid in range(1, 6):
        net.start(sid)
    net.run(until=30_000)
    states = net.states()
    assert states[1] == states[2] == ServerState.LOOKING
    assert net.leaders() == [5]
    net.heal()
    net.run(until=net.now + 120_000)  # their back-off reaches them; they find leader 5
    assert net.stable() and set(net.votes().values()) == {5}


@pytest.mark.parametrize("seed", SEEDS)
def test_observers_learn_the_leader_but_never_vote(seed: int) -> None:
    members = [SimMember(1), SimMember(2), SimMember(3), SimMember(9, role="observer")]
    net = SimNetwork(members=members, seed=seed)
    for sid in (1, 2, 3, 9):
        net.start(sid, zxid=50 if sid == 9 else 0)  # the observer's zxid would win a vote
    net.run_until_stable()
    assert net.leaders() == [3] and net.states()[9] == ServerState.OBSERVING
    assert net.votes()[9] == 3
    for fle in net.peers.values():
        assert 9 not in fle.recvset
    # a majority of voters is needed: with one voter and the observer, nothing happens
    net2 = SimNetwork(members=members, seed=seed)
    net2.start(1)
    net2.start(9)
    net2.run(until=20_000)
    assert net2.leaders() == []


def test_same_seed_same_transcript() -> None:
    def transcript(seed: int) -> list[tuple[object, ...]]:
        net = SimNetwork(5, seed=seed, latency=(1, 50))
        for sid in range(1, 6):
            net.start(sid, at=sid * 7)
        net.run_until_stable()
        return [(e["t"], e["server"], e["event"]) for e in net.events]

    assert transcript(42) == transcript(42)
    assert transcript(42) != transcript(43)
