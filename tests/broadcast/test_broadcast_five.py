"""Five of our servers: a quorum of three survives losing the leader and a follower.

One module-scoped ensemble of five (tickTime 200 ms); the tests run in order:

* a write through every member is read on every member;
* kill -9 of the leader and of one follower while a client writes through the other
  three: those three (a quorum of five) elect a leader among themselves and go on
  serving; no acknowledged write is lost; the two come back and all five end on the
  same zxid and the same tree.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from quorum_helpers import LoadWriter, converged_tree, write_everywhere_read_everywhere

from zk import lab
from zk.lab import Ensemble

pytestmark = pytest.mark.asyncio(loop_scope="module")

TICK = 200


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def ens() -> AsyncIterator[Ensemble]:
    async with lab.ensemble(5, kind="ours", tickTime=TICK, syncLimit=5, initLimit=10) as e:
        yield e


async def test_five_members_one_leader(ens: Ensemble) -> None:
    modes = await ens.modes()
    assert sorted(modes.values()) == ["follower"] * 4 + ["leader"]  # type: ignore[type-var]


async def test_writes_through_every_member_are_read_on_every_member(ens: Ensemble) -> None:
    trees = await asyncio.to_thread(write_everywhere_read_everywhere, list(ens), "/five", 4)
    assert len(trees[0]) == 20
    assert all(t == trees[0] for t in trees)
    await converged_tree(ens)


async def test_losing_the_leader_and_a_follower_under_load_loses_no_acknowledged_write(ens: Ensemble) -> None:
    old_leader = await ens.wait_for_leader()
    victim = next(s for s in ens if s is not old_leader)
    down = [old_leader, victim]
    survivors = [s for s in ens if s not in down]
    load = LoadWriter(",".join(s.connect_string for s in survivors), "/load5", limit=3000)
    load.start()
    try:
        await load.wait_acked(20, "no writes before the crash", timeout=20)
        await old_leader.kill()
        await victim.kill()
        new_leader = await ens.wait_for_leader(timeout=30)
        assert new_leader in survivors
        modes = await ens.modes()
        assert sorted(str(modes[s.myid or 0]) for s in survivors) == ["follower", "follower", "leader"]
        assert modes[old_leader.myid or 0] is None and modes[victim.myid or 0] is None
        # three of five serve writes
        await load.wait_acked(len(load.acked) + 20, "the three survivors serve no writes", timeout=30)
    finally:
        await load.stop()

    for s in down:
        await s.restart()
    await ens.wait_ready()
    zxid, tree = await converged_tree(ens)
    assert int(zxid, 16) >> 32 >= 2  # a new epoch
    missing = [p for p in load.acked if p not in tree]
    assert not missing, f"acknowledged writes lost: {missing[:5]}"
    assert len([p for p in tree if p.startswith("/five/")]) == 20
    modes = await ens.modes()
    assert modes[new_leader.myid or 0] == "leader"  # the two rejoined as followers
    assert sorted(str(m) for m in modes.values()) == ["follower"] * 4 + ["leader"]
