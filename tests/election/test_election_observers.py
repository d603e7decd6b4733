"""Observers never vote: three voters and two observers of ours, real processes (zk.lab).

``server.4`` and ``server.5`` end in ``:observer``. With equal histories the highest id
would win an election; it never goes to an observer, no election quorum ever counts
one, and when two of the three voters are gone the one voter left and the two observers
(three of five members, a majority of the *members*) elect nobody. Issue 4's "observers
learn the leader but never vote" (FastLeaderElection.validVoter; QuorumMaj counts only
voting members).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from zk import lab
from zk.lab import Ensemble

pytestmark = pytest.mark.asyncio(loop_scope="module")

TICK = 200


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def ens() -> AsyncIterator[Ensemble]:
    async with lab.ensemble(5, observers=2, kind="ours", tickTime=TICK) as e:
        yield e


async def _wait_states(ens: Ensemble, want: dict[int, str | None], timeout: float = 20) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while ens.peer_states() != want:
        if loop.time() > deadline:
            raise AssertionError(f"states {ens.peer_states()}, wanted {want}")
        await asyncio.sleep(0.05)


def _quorum_voters(ens: Ensemble) -> list[list[int]]:
    """Every ``fle.quorum.reached`` of every member: the sids whose votes made it."""
    return [e["voters"] for e in ens.traces() if e["event"] == "fle.quorum.reached"]


async def test_the_highest_id_is_an_observer_and_does_not_lead(ens: Ensemble) -> None:
    assert [s.myid for s in ens.observers] == [4, 5]
    assert "server.5=" in ens[1].config_path.read_text()
    assert ":observer" in ens[1].config_path.read_text()
    await _wait_states(ens, {1: "FOLLOWING", 2: "FOLLOWING", 3: "LEADING", 4: "OBSERVING", 5: "OBSERVING"})
    assert await ens.modes() == {1: "follower", 2: "follower", 3: "leader", 4: "observer", 5: "observer"}
    voters = _quorum_voters(ens)
    assert voters, "no election quorum in the traces"
    assert all(set(v) <= {1, 2, 3} for v in voters), voters


async def _wait_voter_leads(ens: Ensemble, voters: set[int], timeout: float = 20) -> int:
    """Wait until one of `voters` leads, the other voters up follow it and both observers
    observe; return the leader's id."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        states = ens.peer_states()
        leaders = [sid for sid, st in states.items() if st == "LEADING"]
        if (
            len(leaders) == 1
            and leaders[0] in voters
            and all(states[sid] == "FOLLOWING" for sid in voters - set(leaders))
            and states[4] == states[5] == "OBSERVING"
        ):
            return leaders[0]
        if loop.time() > deadline:
            raise AssertionError(f"states {states}: no voter of {sorted(voters)} leads")
        await asyncio.sleep(0.05)


async def test_losing_the_leader_elects_a_voter_and_the_observers_follow_it(ens: Ensemble) -> None:
    await ens[3].kill()
    await _wait_voter_leads(ens, {1, 2})  # never 4 or 5, though their ids are higher
    await ens.wait_ready()
    assert (await ens.modes())[4] == "observer"
    assert all(set(v) <= {1, 2, 3} for v in _quorum_voters(ens))


async def test_one_voter_and_two_observers_elect_nobody(ens: Ensemble) -> None:
    """Three of five members are up, but only one of three voters: no quorum."""
    leader = next(sid for sid, st in ens.peer_states().items() if st == "LEADING")
    other = 3 - leader  # the voter left of 1 and 2
    await ens[leader].kill()
    want: dict[int, str | None] = {other: "LOOKING", leader: None, 3: None, 4: "LOOKING", 5: "LOOKING"}
    await _wait_states(ens, want)
    await asyncio.sleep(10 * TICK / 1000)  # several notification rounds: still nobody
    assert ens.peer_states() == want
    assert all(mode is None for mode in (await ens.modes()).values())  # nobody serves
    # a second voter back: a quorum of voters again, and it is a voter that leads
    await ens[leader].restart(wait=False)
    await _wait_voter_leads(ens, {1, 2})
    await ens[3].restart()
    await _wait_voter_leads(ens, {1, 2, 3})
    assert all(set(v) <= {1, 2, 3} for v in _quorum_voters(ens))
