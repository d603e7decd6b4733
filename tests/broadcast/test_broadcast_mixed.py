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
import os

import pytest
from kazoo.client import KazooClient

from zk import lab
from zk.lab import Ensemble, parse_srvr, reference_available, reference_missing_reason

pytestmark = [
    pytest.mark.skipif(not reference_available(), reason=reference_missing_reason() or "no reference"),
    pytest.mark.skipif(
        os.environ.get("ZK_MIXED_ENSEMBLES") != "1",
        reason="mixed ensembles with data flowing pass on an idle machine but failed 1 run in 6 under heavy "
        "load (a kazoo connect time-out, and once an election the rule does not explain); opt in with "
        "ZK_MIXED_ENSEMBLES=1 until that is understood",
    ),
    pytest.mark.asyncio,
]

TICK = 200
LIMITS: dict[str, str | int] = {"initLimit": 10, "syncLimit": 5, "forceSync": "no"}


def _client(hosts: str) -> KazooClient:
    c = KazooClient(hosts=hosts, timeout=10)
    c.start(timeout=20)
    return c


async def _wait_converged(ens: Ensemble, timeout: float = 30) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        zxids = {}
        for s in ens:
            try:
                zxids[s.myid] = parse_srvr(await s.four_letter_word("srvr")).get("Zxid")
            except (OSError, TimeoutError):
                zxids[s.myid] = None
        if len(set(zxids.values())) == 1 and None not in zxids.values():
            return next(iter(zxids.values()))  # type: ignore[return-value]
        if loop.time() > deadline:
            raise AssertionError(f"servers did not converge: {zxids}")
        await asyncio.sleep(0.1)


async def _wait_modes(ens: Ensemble, want: dict[int, str], timeout: float = 30) -> None:
    """After a leader change a learner says "not currently serving" until it has re-synced."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (modes := await ens.modes()) != want:
        if loop.time() > deadline:
            raise AssertionError(f"modes {modes}, expected {want}")
        await asyncio.sleep(0.1)


async def _make_leader(ens: Ensemble, target: lab.ServerProcess) -> None:
    """Equal histories elect the highest id, but only if all voters are in the first round:
    on a loaded machine two of them may elect one of their own before the third is up.
    Then crash that leader once every member serves: the target (the highest id) and the
    other voter, equal in epoch and zxid, elect the target; the crashed one comes back."""
    history = []
    for _ in range(5):
        await _wait_serving(ens)
        leader = await ens.wait_for_leader(timeout=30)
        history.append((leader.myid, {s.myid: parse_srvr(await s.four_letter_word("srvr")).get("Zxid") for s in ens}))
        if leader is target:
            return
        await leader.kill()
        await ens.wait_for_leader(timeout=30)
        await leader.start()
    raise AssertionError(f"s{target.myid} did not become leader: leaders and zxids in turn {history}")


async def _wait_serving(ens: Ensemble, timeout: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while None in (modes := await ens.modes()).values():
        if loop.time() > deadline:
            raise AssertionError(f"not every member serves: {modes}")
        await asyncio.sleep(0.1)


def _write_everywhere_read_everywhere(servers: list[lab.ServerProcess], parent: str) -> list[dict[str, bytes]]:
    """Each member gets 3 writes through its own client; then every member's view after sync."""
    clients = [_client(s.connect_string) for s in servers]
    try:
        clients[0].ensure_path(parent)
        for s, c in zip(servers, clients, strict=True):
            for j in range(3):
                c.create(f"{parent}/s{s.myid}-{s.kind}-{j}", f"{s.myid}:{j}".encode())
            assert c.get(f"{parent}/s{s.myid}-{s.kind}-2")[0] == f"{s.myid}:2".encode()  # its own write
        views = []
        for c in clients:
            c.sync(parent)
            views.append({n: c.get(f"{parent}/{n}")[0] for n in c.get_children(parent)})
        return views
    finally:
        for c in clients:
            c.stop()
            c.close()


def _create_some(server: lab.ServerProcess, prefix: str, n: int = 5) -> list[str]:
    c = _client(server.connect_string)
    try:
        return [c.create(prefix, b"x", sequence=True) for _ in range(n)]
    finally:
        c.stop()
        c.close()


def _children(server: lab.ServerProcess, parent: str) -> list[str]:
    c = _client(server.connect_string)
    try:
        c.sync(parent)
        return sorted(c.get_children(parent))
    finally:
        c.stop()
        c.close()


async def test_ours_leads_two_reference_followers_and_data_flows() -> None:
    async with lab.ensemble(3, kind=["reference", "reference", "ours"], tickTime=TICK, config=LIMITS) as ens:
        await _make_leader(ens, ens[3])
        await _wait_modes(ens, {1: "follower", 2: "follower", 3: "leader"})
        # the reference followers synced from ours: ours planned a sync for each
        plans = {e["to"] for e in ens[3].trace_events() if e["event"] == "sync.plan"}
        assert {"s1", "s2"} <= plans

        views = await asyncio.to_thread(_write_everywhere_read_everywhere, list(ens), "/mixed")
        assert len(views[0]) == 9
        assert views[0] == views[1] == views[2]
        await _wait_converged(ens)

        # a reference follower down while ours commits, then back: it catches up from ours
        await ens[1].kill()
        made = await asyncio.to_thread(_create_some, ens[2], "/mixed/late-")
        assert len(made) == 5
        n_plans = sum(1 for e in ens[3].trace_events() if e["event"] == "sync.plan" and e["to"] == "s1")
        await ens[1].restart()
        await ens[1].wait_ready(timeout=30)
        await _wait_converged(ens)
        later = [e for e in ens[3].trace_events() if e["event"] == "sync.plan" and e["to"] == "s1"]
        assert len(later) > n_plans
        assert later[-1]["kind"] in ("DIFF", "SNAP"), later[-1]
        assert await ens[1].mode() == "follower"
        assert {f"/mixed/{n}" for n in await asyncio.to_thread(_children, ens[1], "/mixed")} >= set(made)


async def test_a_reference_leader_with_two_of_ours_and_our_observer() -> None:
    # voters 1, 2 (ours) and 3 (reference); observer 4 (ours)
    kinds: list[lab.ServerKind] = ["ours", "ours", "reference", "ours"]
    async with lab.ensemble(4, kind=kinds, observers=1, tickTime=TICK, config=LIMITS) as ens:
        await _make_leader(ens, ens[3])
        await _wait_modes(ens, {1: "follower", 2: "follower", 3: "leader", 4: "observer"})

        views = await asyncio.to_thread(_write_everywhere_read_everywhere, list(ens), "/mixed")
        assert len(views[0]) == 12
        assert views[0] == views[1] == views[2] == views[3]
        await _wait_converged(ens)
        # ours synced from the reference leader: each of ours, voter or observer
        for sid in (1, 2, 4):
            firsts = [e for e in ens[sid].trace_events() if e["event"] == "sync.learner.first"]
            assert firsts and firsts[-1]["from"] == "s3", (sid, firsts)

        # one of ours down while the reference commits, then back: it catches up from it
        await ens[2].kill()
        made = await asyncio.to_thread(_create_some, ens[4], "/mixed/late-")  # through the observer
        await ens[2].restart()
        await ens[2].wait_ready(timeout=30)
        await _wait_converged(ens)
        firsts = [e for e in ens[2].trace_events() if e["event"] == "sync.learner.first"]
        assert firsts[-1]["from"] == "s3"
        assert firsts[-1]["kind"] in ("DIFF", "SNAP"), firsts[-1]
        assert {f"/mixed/{n}" for n in await asyncio.to_thread(_children, ens[2], "/mixed")} >= set(made)
