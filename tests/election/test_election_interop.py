"""Mixed elections: two Apache ZooKeeper 3.8 servers and one of ours, on the same wire.

ZooKeeper's rule predicts the winner: with equal epochs and zxids, the highest id. Ours
is myid 3 (it must win, and the reference servers must vote for it) and then myid 1 (it
must follow reference server 3). With atomic broadcast built, the followers then sync
with their leader across implementations, and the survivors of a dead leader elect
whichever of them the sync left with the newest zxid. The tests assert what each side
reports: its state (log lines), its mode (srvr) and its vote (on the election port,
as a non-voter asks).
"""

from __future__ import annotations

import asyncio

import pytest

from zk import lab
from zk.election import ServerState
from zk.lab import Ensemble, election_vote, reference_available, reference_missing_reason

pytestmark = pytest.mark.skipif(not reference_available(), reason=reference_missing_reason() or "")

TICK = 500


async def _until(check: object, timeout: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():  # type: ignore[operator]
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def _reference_votes(ens: Ensemble) -> dict[int, int]:
    votes = {}
    for member, s in zip(ens.members, ens, strict=True):
        if s.kind == "reference":
            votes[member.sid] = (await election_vote(member.host, member.election_port)).leader
    return votes


async def test_ours_leads_two_reference_followers() -> None:
    async with lab.ensemble(3, kind=["reference", "reference", "ours"], tickTime=TICK, forceSync="no") as ens:
        await _until(lambda: ens.peer_states()[3] == "LEADING")
        # both reference servers voted for ours and followed it, as the rule predicts
        for s in (ens[1], ens[2]):
            await _until(lambda s=s: "- FOLLOWING" in s.log_path.read_text())  # type: ignore[misc]
        assert await _reference_votes(ens) == {1: 3, 2: 3}
        # they sync with ours and stay: ours stays leader
        await asyncio.sleep(3)
        assert ens.peer_states()[3] == "LEADING"
        assert await _reference_votes(ens) == {1: 3, 2: 3}


async def test_ours_follows_a_reference_leader() -> None:
    async with lab.ensemble(3, kind=["ours", "reference", "reference"], tickTime=TICK, forceSync="no") as ens:
        await _until(lambda: ens.peer_states() == {1: "FOLLOWING", 2: "FOLLOWING", 3: "LEADING"})
        # reference 3 serves once reference 2 has synced with it: then srvr says so
        assert await ens.wait_for_leader(timeout=30) is ens[3]
        assert await ens.modes() == {1: "follower", 2: "follower", 3: "leader"}
        assert "vote (3, 0, 0)" in ens[1].log_tail(400)
        vote3 = await election_vote(ens.members[2].host, ens.members[2].election_port)
        assert (vote3.state, vote3.leader) == (ServerState.LEADING, 3)
        # the reference leader dies: ours and reference 2 elect one of themselves (the
        # newest zxid after sync, then the higher id) and serve again
        await ens[3].kill()
        await _until(lambda: sorted(s or "" for s in list(ens.peer_states().values())[:2]) == ["FOLLOWING", "LEADING"])
        new_leader = await ens.wait_for_leader(timeout=30)
        vote2 = await election_vote(ens.members[1].host, ens.members[1].election_port)
        assert vote2.leader == new_leader.myid
