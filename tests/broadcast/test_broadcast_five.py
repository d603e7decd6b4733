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
import threading
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from kazoo.client import KazooClient
from kazoo.exceptions import ConnectionLoss, NodeExistsError, SessionExpiredError

from zk import lab
from zk.lab import Ensemble, parse_srvr

pytestmark = pytest.mark.asyncio(loop_scope="module")

TICK = 200


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def ens() -> AsyncIterator[Ensemble]:
    async with lab.ensemble(5, kind="ours", tickTime=TICK, syncLimit=5, initLimit=10) as e:
        yield e


def _client(hosts: str) -> KazooClient:
    c = KazooClient(hosts=hosts, timeout=10)
    c.start(timeout=20)
    return c


def _tree(c: KazooClient, path: str = "/") -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for child in c.get_children(path):
        p = f"{path.rstrip('/')}/{child}"
        if p != "/zookeeper":
            out[p] = c.get(p)[0]
            out.update(_tree(c, p))
    return out


async def _converged(ens: Ensemble, timeout: float = 30) -> tuple[str, dict[str, bytes]]:
    """Wait until every member serves the same zxid; return it and the tree, equal everywhere."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        zxids: list[str | None] = []
        for s in ens:
            try:
                zxids.append(parse_srvr(await s.four_letter_word("srvr")).get("Zxid"))
            except (OSError, TimeoutError):
                zxids.append(None)
        if len(set(zxids)) == 1 and None not in zxids:
            break
        if loop.time() > deadline:
            raise AssertionError(f"servers did not converge: {zxids}")
        await asyncio.sleep(0.1)

    def read_all() -> list[dict[str, bytes]]:
        trees = []
        for s in ens:
            c = _client(s.connect_string)
            try:
                trees.append(_tree(c))
            finally:
                c.stop()
                c.close()
        return trees

    trees = await asyncio.to_thread(read_all)
    for s, t in zip(ens, trees, strict=True):
        assert t == trees[0], f"same zxid, different trees: s{s.myid} differs from s1"
    return str(zxids[0]), trees[0]


async def test_five_members_one_leader(ens: Ensemble) -> None:
    modes = await ens.modes()
    assert sorted(modes.values()) == ["follower"] * 4 + ["leader"]  # type: ignore[type-var]


async def test_writes_through_every_member_are_read_on_every_member(ens: Ensemble) -> None:
    def work() -> list[dict[str, bytes]]:
        clients = [_client(s.connect_string) for s in ens]
        try:
            clients[0].ensure_path("/five")
            for i, c in enumerate(clients):
                for j in range(4):
                    c.create(f"/five/s{i + 1}-{j}", f"{i}:{j}".encode())
                assert c.get(f"/five/s{i + 1}-3")[0] == f"{i}:3".encode()  # its own write, at once
            trees = []
            for c in clients:
                c.sync("/five")
                trees.append(_tree(c, "/five"))
            return trees
        finally:
            for c in clients:
                c.stop()
                c.close()

    trees = await asyncio.to_thread(work)
    assert len(trees[0]) == 20
    assert all(t == trees[0] for t in trees)
    await _converged(ens)


async def test_losing_the_leader_and_a_follower_under_load_loses_no_acknowledged_write(ens: Ensemble) -> None:
    old_leader = await ens.wait_for_leader()
    victim = next(s for s in ens if s is not old_leader)
    down = [old_leader, victim]
    survivors = [s for s in ens if s not in down]
    acked: list[str] = []
    stop = threading.Event()

    def writer() -> None:
        c = KazooClient(hosts=",".join(s.connect_string for s in survivors), timeout=10)
        c.start(timeout=20)
        c.ensure_path("/load5")
        i = 0
        try:
            while not stop.is_set():
                path = f"/load5/n{i:05d}"
                try:
                    c.create(path, b"x")
                    acked.append(path)
                    i += 1
                except NodeExistsError:  # an earlier try went through before the crash
                    acked.append(path)
                    i += 1
                except (ConnectionLoss, SessionExpiredError):
                    pass
                if len(acked) > 3000:
                    break
        finally:
            c.stop()
            c.close()

    t = asyncio.create_task(asyncio.to_thread(writer))
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while len(acked) < 20 and loop.time() < deadline:
            await asyncio.sleep(0.05)
        assert len(acked) >= 20, "no writes before the crash"
        await old_leader.kill()
        await victim.kill()
        new_leader = await ens.wait_for_leader(timeout=30)
        assert new_leader in survivors
        modes = await ens.modes()
        assert sorted(str(modes[s.myid or 0]) for s in survivors) == ["follower", "follower", "leader"]
        assert modes[old_leader.myid or 0] is None and modes[victim.myid or 0] is None
        n_before = len(acked)
        deadline = loop.time() + 30
        while len(acked) < n_before + 20 and loop.time() < deadline:  # three of five serve writes
            await asyncio.sleep(0.05)
        assert len(acked) >= n_before + 20, "the three survivors serve no writes"
    finally:
        stop.set()
        await t

    for s in down:
        await s.restart()
    await ens.wait_ready()
    zxid, tree = await _converged(ens)
    assert int(zxid, 16) >> 32 >= 2  # a new epoch
    missing = [p for p in acked if p not in tree]
    assert not missing, f"acknowledged writes lost: {missing[:5]}"
    assert len([p for p in tree if p.startswith("/five/")]) == 20
    modes = await ens.modes()
    assert modes[new_leader.myid or 0] == "leader"  # the two rejoined as followers
    assert sorted(str(m) for m in modes.values()) == ["follower"] * 4 + ["leader"]
