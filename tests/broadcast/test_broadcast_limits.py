"""syncLimit enforced both ways: three of our servers, one of them frozen (SIGSTOP).

With tickTime=200 and syncLimit=3, a peer that says nothing for 600 ms is given up.
A frozen follower is dropped by the leader (its LearnerHandler's read times out:
LearnerHandler.run's socket timeout of syncLimit ticks) while the leader and the other
follower, still a quorum, go on committing writes; thawed, the follower finds its
connection gone, looks, follows the same leader and catches up. A frozen leader is
given up by both followers (Learner.readPacket's timeout of syncLimit ticks); they elect
one of themselves and serve; thawed, the old leader finds no quorum synced with it,
ends its term, follows the new leader and converges.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from quorum_helpers import children, create_sequential, until, wait_converged

from zk import lab
from zk.lab import Ensemble, parse_srvr

pytestmark = pytest.mark.asyncio(loop_scope="module")

TICK = 200
SYNC_LIMIT = 3
INIT_LIMIT = 5
FROZEN = 4 * SYNC_LIMIT * TICK / 1000  # seconds: well past syncLimit * tickTime


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def ens() -> AsyncIterator[Ensemble]:
    async with lab.ensemble(3, kind="ours", tickTime=TICK, syncLimit=SYNC_LIMIT, initLimit=INIT_LIMIT) as e:
        yield e


def _log_since(server: lab.ServerProcess, offset: int) -> str:
    return server.log_path.read_text(encoding="utf-8", errors="replace")[offset:]


def _log_size(server: lab.ServerProcess) -> int:
    return len(server.log_path.read_text(encoding="utf-8", errors="replace"))


async def test_a_frozen_follower_is_dropped_by_the_leader_and_rejoins(ens: Ensemble) -> None:
    leader = await ens.wait_for_leader()
    frozen, other = [s for s in ens if s is not leader]
    leader_mark, frozen_mark = _log_size(leader), _log_size(frozen)
    await frozen.pause()
    try:
        # the leader's LearnerHandler for the frozen follower hears nothing for syncLimit ticks
        dropped = re.compile(rf"LearnerHandler {frozen.myid} \(.*TimeoutError")
        await until(lambda: dropped.search(_log_since(leader, leader_mark)), "leader drops the follower", 10)
        assert "GOODBYE" in _log_since(leader, leader_mark)
        # the leader and the other follower are a quorum: writes go on
        quorum = ",".join(s.connect_string for s in (leader, other))
        made = await asyncio.to_thread(create_sequential, quorum, "/limits/follower/n", 5)
        assert len(made) == 5
        assert await leader.mode() == "leader"
        assert await other.mode() == "follower"
        await asyncio.sleep(max(0.0, FROZEN - 1))
    finally:
        await frozen.resume()
    # thawed: its connection is gone, it looks again and follows the same leader
    await until(lambda: "LOOKING" in _log_since(frozen, frozen_mark), "the thawed follower looks again")
    await frozen.wait_ready(timeout=30)
    await wait_converged(ens)
    assert await frozen.mode() == "follower"
    assert await ens.wait_for_leader() is leader  # the leader never lost its quorum
    names = await asyncio.to_thread(children, frozen.connect_string, "/limits/follower")
    assert [f"/limits/follower/{n}" for n in names] == sorted(made)


async def test_a_frozen_leader_is_given_up_and_rejoins_as_follower(ens: Ensemble) -> None:
    old = await ens.wait_for_leader()
    rest = [s for s in ens if s is not old]
    marks = {s.myid: _log_size(s) for s in ens}
    await old.pause()
    try:
        # both followers hear nothing for syncLimit ticks and end their term
        for s in rest:
            await until(
                lambda s=s: re.search(
                    r"Exception when following the leader .*TimeoutError", _log_since(s, marks[s.myid])
                ),
                f"s{s.myid} gives up the frozen leader",
                10,
            )
        quorum = ",".join(s.connect_string for s in rest)
        made = await asyncio.to_thread(create_sequential, quorum, "/limits/leader/n", 5)
        modes = {s.myid: await s.mode() for s in rest}
        assert sorted(m or "" for m in modes.values()) == ["follower", "leader"], modes
        new = next(s for s in rest if modes[s.myid] == "leader")
        await asyncio.sleep(max(0.0, FROZEN - 1))
    finally:
        await old.resume()
    # thawed: no quorum is synced with it; it ends its term, follows the new leader, catches up
    await until(lambda: "FOLLOWING" in _log_since(old, marks[old.myid]), "the old leader follows")
    await wait_converged(ens)
    assert await old.mode() == "follower"
    assert await ens.wait_for_leader() is new
    zxid = parse_srvr(await old.four_letter_word("srvr"))["Zxid"]
    assert int(zxid, 16) >> 32 >= 2  # the new leader's epoch
    names = await asyncio.to_thread(children, old.connect_string, "/limits/leader")
    assert [f"/limits/leader/{n}" for n in names] == sorted(made)
