"""Mixed ensembles where data flows: Apache ZooKeeper 3.8 and ours on the same quorum wire.

Two reference servers and ours (myid 3, the highest id, made leader if a loaded machine
let the first round elect another, see ``_make_leader``): the reference
followers sync from our leader (DIFF/SNAP as ours decides, traced as ``sync.plan``) and
take its proposals; a reference follower that was down catches up from ours. Then one
reference voter (myid 3) with two of ours and an observer of ours (myid 4): the reference
leads, ours sync from it (traced as ``sync.learner.first``), our observer takes its
INFORMs. In both, writes through every member, ours and theirs, are read on every member.
"""

from __future__ import annotations

import asyncio

import pytest
from quorum_helpers import (
    children,
    create_sequential,
    make_leader,
    wait_converged,
    wait_modes,
    write_everywhere_read_everywhere,
)

from zk import lab
from zk.lab import reference_available, reference_missing_reason

pytestmark = [
    pytest.mark.skipif(not reference_available(), reason=reference_missing_reason() or "no reference"),
    pytest.mark.asyncio,
]

TICK = 200
LIMITS: dict[str, str | int] = {"initLimit": 10, "syncLimit": 5, "forceSync": "no"}


async def test_ours_leads_two_reference_followers_and_data_flows() -> None:
    async with lab.ensemble(3, kind=["reference", "reference", "ours"], tickTime=TICK, config=LIMITS) as ens:
        await make_leader(ens, ens[3])
        await wait_modes(ens, {1: "follower", 2: "follower", 3: "leader"})
        # the reference followers synced from ours: ours planned a sync for each
        plans = {e["to"] for e in ens[3].trace_events() if e["event"] == "sync.plan"}
        assert {"s1", "s2"} <= plans

        views = await asyncio.to_thread(write_everywhere_read_everywhere, list(ens), "/mixed")
        assert len(views[0]) == 9
        assert views[0] == views[1] == views[2]
        await wait_converged(ens)

        # a reference follower down while ours commits, then back: it catches up from ours
        await ens[1].kill()
        made = await asyncio.to_thread(create_sequential, ens[2].connect_string, "/mixed/late-")
        assert len(made) == 5
        n_plans = sum(1 for e in ens[3].trace_events() if e["event"] == "sync.plan" and e["to"] == "s1")
        await ens[1].restart()
        await ens[1].wait_ready(timeout=30)
        await wait_converged(ens)
        later = [e for e in ens[3].trace_events() if e["event"] == "sync.plan" and e["to"] == "s1"]
        assert len(later) > n_plans
        assert later[-1]["kind"] in ("DIFF", "SNAP"), later[-1]
        assert await ens[1].mode() == "follower"
        assert {f"/mixed/{n}" for n in await asyncio.to_thread(children, ens[1].connect_string, "/mixed")} >= set(made)


async def test_a_reference_leader_with_two_of_ours_and_our_observer() -> None:
    # voters 1, 2 (ours) and 3 (reference); observer 4 (ours)
    kinds: list[lab.ServerKind] = ["ours", "ours", "reference", "ours"]
    async with lab.ensemble(4, kind=kinds, observers=1, tickTime=TICK, config=LIMITS) as ens:
        await make_leader(ens, ens[3])
        await wait_modes(ens, {1: "follower", 2: "follower", 3: "leader", 4: "observer"})

        views = await asyncio.to_thread(write_everywhere_read_everywhere, list(ens), "/mixed")
        assert len(views[0]) == 12
        assert views[0] == views[1] == views[2] == views[3]
        await wait_converged(ens)
        # ours synced from the reference leader: each of ours, voter or observer
        for sid in (1, 2, 4):
            firsts = [e for e in ens[sid].trace_events() if e["event"] == "sync.learner.first"]
            assert firsts and firsts[-1]["from"] == "s3", (sid, firsts)

        # one of ours down while the reference commits, then back: it catches up from it
        await ens[2].kill()
        made = await asyncio.to_thread(create_sequential, ens[4].connect_string, "/mixed/late-")  # through the observer
        await ens[2].restart()
        await ens[2].wait_ready(timeout=30)
        await wait_converged(ens)
        firsts = [e for e in ens[2].trace_events() if e["event"] == "sync.learner.first"]
        assert firsts[-1]["from"] == "s3"
        assert firsts[-1]["kind"] in ("DIFF", "SNAP"), firsts[-1]
        assert {f"/mixed/{n}" for n in await asyncio.to_thread(children, ens[2].connect_string, "/mixed")} >= set(made)
