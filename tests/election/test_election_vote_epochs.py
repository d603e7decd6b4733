"""ZOOKEEPER-1818: the votes of an established ensemble carry the epoch it runs in.

A member's vote is set when its election ends: the leader it chose, that leader's zxid
and its peer epoch *then*, the epoch of its last history. The leader then starts a new
epoch, one higher. Members that came in by different paths (elected together, joined a
running leader later, came back after a crash) would each report the peer epoch of
their own election, and a server restarting into the ensemble, which counts the
FOLLOWING/LEADING answers it gets, would find them disagreeing and wait forever. 3.8
aligns them: once the new epoch is established, the leader and every learner replace
the peer epoch of their vote by it (QuorumPeer.updateElectionVote; ours:
zk.startup.quorum_peer.QuorumPeer.update_election_vote, called by the Leader and by
sync_with_leader). The election round and zxid of each vote stay as they were.

Here three real servers go through two leader crashes, so that they settled in
different rounds and joined their epoch at different times; then every member is asked
for its vote on its election port, as a non-voter asks (zk.lab.election_vote), and one
more member is restarted into the ensemble. The same steps run on three of Apache
ZooKeeper 3.8's servers. (The round-and-zxid half of the bug is
test_election_regressions.py's, on the simulator.)
"""

from __future__ import annotations

import asyncio

import pytest
from quorum_helpers import client, close, wait_converged, wait_serving

from zk import lab
from zk.election import ServerState
from zk.lab import Ensemble, ServerProcess, election_vote, reference_missing_reason

TICK = 200


def _write_one(hosts: str) -> None:
    c = client(hosts)
    try:
        c.create("/epochs/w-", b"", sequence=True, makepath=True)
    finally:
        close(c)


async def _crash_leader(ens: Ensemble) -> ServerProcess:
    """Write once, kill -9 the leader, wait for the others to elect one, bring it back."""
    leader = await ens.wait_for_leader(timeout=30)
    await asyncio.to_thread(_write_one, leader.connect_string)
    await wait_converged(ens)
    await leader.kill()
    await ens.wait_for_leader(timeout=30)
    await leader.start()
    await wait_serving(ens, timeout=60)
    return leader


async def _votes(ens: Ensemble) -> dict[int, tuple[ServerState, int, int, int, int]]:
    """Each member's vote: (state, leader, peer epoch, election round, zxid)."""
    out = {}
    for member in ens.members:
        n = await election_vote(member.host, member.election_port)
        out[member.sid] = (n.state, n.leader, n.peer_epoch, n.election_epoch, n.zxid)
    return out


@pytest.mark.parametrize("kind", ["ours", "reference"])
async def test_ZOOKEEPER_1818_every_vote_carries_the_established_epoch(kind: lab.ServerKind) -> None:
    """After leader changes, every member's vote names the leader and the epoch it established, whatever round
    each settled in, and a restarted member joins on those votes. Ours: QuorumPeer.update_election_vote."""
    if kind == "reference" and (why := reference_missing_reason()) is not None:
        pytest.skip(why)
    async with lab.ensemble(3, kind=kind, tickTime=TICK, forceSync="no") as ens:
        for _ in range(2):
            await _crash_leader(ens)
        leader = await ens.wait_for_leader(timeout=30)
        # a write in the new epoch: until one, a learner that took an empty DIFF keeps
        # its old zxid, while the leader's is the epoch's first
        await asyncio.to_thread(_write_one, leader.connect_string)
        epoch = int(await wait_converged(ens), 16) >> 32
        assert epoch >= 3, f"two leader changes should have made epoch 3 at least, not {epoch}"

        votes = await _votes(ens)
        assert {(v[1], v[2]) for v in votes.values()} == {(leader.myid, epoch)}, votes
        states = {sid: v[0] for sid, v in votes.items()}
        assert sorted(states.values()) == [ServerState.FOLLOWING, ServerState.FOLLOWING, ServerState.LEADING]

        # a follower restarted now finds the ensemble by those answers and follows again
        follower = next(s for s in ens if s is not leader)
        await follower.stop()
        await follower.start()
        modes = await wait_serving(ens, timeout=60)
        assert modes[follower.myid or 0] == "follower" and modes[leader.myid or 0] == "leader", modes
        rejoined = (await _votes(ens))[follower.myid or 0]
        assert (rejoined[0], rejoined[1], rejoined[2]) == (ServerState.FOLLOWING, leader.myid, epoch), rejoined
