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
from kazoo.client import KazooClient

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


def _client(hosts: str) -> KazooClient:
    c = KazooClient(hosts=hosts, timeout=10)
    c.start(timeout=20)
    return c


def _log_since(server: lab.ServerProcess, offset: int) -> str:
    return server.log_path.read_text(encoding="utf-8", errors="replace")[offset:]


def _log_size(server: lab.ServerProcess) -> int:
    return len(server.log_path.read_text(encoding="utf-8", errors="replace"))


async def _until(check: object, what: str, timeout: float = 20) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():  # type: ignore[operator]
        if loop.time() > deadline:
            raise AssertionError(f"not in {timeout}s: {what}")
        await asyncio.sleep(0.05)


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


def _write(hosts: str, parent: str, n: int) -> list[str]:
    c = _client(hosts)
    try:
        return [c.create(f"{parent}/n", b"x", sequence=True, makepath=True) for _ in range(n)]
    finally:
        c.stop()
        c.close()


def _children(hosts: str, parent: str) -> list[str]:
    c = _client(hosts)
    try:
        c.sync(parent)
        return sorted(f"{parent}/{n}" for n in c.get_children(parent))
    finally:
        c.stop()
        c.close()


async def test_a_frozen_follower_is_dropped_by_the_leader_and_rejoins(ens: Ensemble) -> None:
    leader = await ens.wait_for_leader()
    frozen, other = [s for s in ens if s is not leader]
    leader_mark, frozen_mark = _log_size(leader), _log_size(frozen)
    await frozen.pause()
    try:
        # the leader's LearnerHandler for the frozen follower hears nothing for syncLimit ticks
        dropped = re.compile(rf"LearnerHandler {frozen.myid} \(.*TimeoutError")
        await _until(lambda: dropped.search(_log_since(leader, leader_mark)), "leader drops the follower", 10)
        assert "GOODBYE" in _log_since(leader, leader_mark)
        # the leader and the other follower are a quorum: writes go on
        quorum = ",".join(s.connect_string for s in (leader, other))
        made = await asyncio.to_thread(_write, quorum, "/limits/follower", 5)
        assert len(made) == 5
        assert await leader.mode() == "leader"
        assert await other.mode() == "follower"
        await asyncio.sleep(max(0.0, FROZEN - 1))
    finally:
        await frozen.resume()
    # thawed: its connection is gone, it looks again and follows the same leader
    await _until(lambda: "LOOKING" in _log_since(frozen, frozen_mark), "the thawed follower looks again")
    await frozen.wait_ready(timeout=30)
    await _wait_converged(ens)
    assert await frozen.mode() == "follower"
    assert await ens.wait_for_leader() is leader  # the leader never lost its quorum
    assert await asyncio.to_thread(_children, frozen.connect_string, "/limits/follower") == sorted(made)


async def test_a_frozen_leader_is_given_up_and_rejoins_as_follower(ens: Ensemble) -> None:
    old = await ens.wait_for_leader()
    rest = [s for s in ens if s is not old]
    marks = {s.myid: _log_size(s) for s in ens}
    await old.pause()
    try:
        # both followers hear nothing for syncLimit ticks and end their term
        for s in rest:
            await _until(
                lambda s=s: re.search(
                    r"Exception when following the leader .*TimeoutError", _log_since(s, marks[s.myid])
                ),
                f"s{s.myid} gives up the frozen leader",
                10,
            )
        made = await asyncio.to_thread(_write, ",".join(s.connect_string for s in rest), "/limits/leader", 5)
        modes = {s.myid: await s.mode() for s in rest}
        assert sorted(m or "" for m in modes.values()) == ["follower", "leader"], modes
        new = next(s for s in rest if modes[s.myid] == "leader")
        await asyncio.sleep(max(0.0, FROZEN - 1))
    finally:
        await old.resume()
    # thawed: no quorum is synced with it; it ends its term, follows the new leader, catches up
    await _until(lambda: "FOLLOWING" in _log_since(old, marks[old.myid]), "the old leader follows")
    await _wait_converged(ens)
    assert await old.mode() == "follower"
    assert await ens.wait_for_leader() is new
    zxid = parse_srvr(await old.four_letter_word("srvr"))["Zxid"]
    assert int(zxid, 16) >> 32 >= 2  # the new leader's epoch
    assert await asyncio.to_thread(_children, old.connect_string, "/limits/leader") == sorted(made)
