"""LeaderLatch and LeaderSelector against both servers, connection loss and expiry included."""

from __future__ import annotations

import asyncio
import re

import pytest
from recipes_helpers import eventually, expire_session, unique

from zk import lab
from zk.client import ZooKeeper
from zk.lab.proxy import Proxy
from zk.protocol.errors import SessionExpiredException
from zk.recipes import ConnectionState, ConnectionStateManager, LeaderLatch, LeaderSelector

LATCH_NODE = re.compile(r"^_c_[0-9a-f-]{36}-latch-\d{10}$")


async def test_one_leader_and_failover_in_order(clients: list[ZooKeeper]) -> None:
    path = unique("/latch")
    latches = [LeaderLatch(zk, path, f"p{i}") for i, zk in enumerate(clients)]
    for latch in latches:
        await latch.start()
    assert await latches[0].await_leadership(5)
    for expected in range(len(latches)):
        await eventually(lambda e=expected: latches[e].has_leadership(), what=f"p{expected} leads")  # type: ignore[misc]
        assert [latch.has_leadership() for latch in latches].count(True) == 1
        participants = await latches[-1].get_participants() if expected < 3 else []
        if participants:
            assert participants[0].id == f"p{expected}" and participants[0].is_leader
        await latches[expected].close()
    assert await clients[0].get_children(path) == []


async def test_latch_node_layout(clients: list[ZooKeeper]) -> None:
    path = unique("/latch")
    async with LeaderLatch(clients[0], path, "the-id") as latch:
        [child] = await clients[1].get_children(path)
        assert LATCH_NODE.match(child)
        assert (await clients[1].get_data(f"{path}/{child}"))[0] == b"the-id"
        assert latch.our_path == f"{path}/{child}"


async def test_leadership_is_dropped_on_suspended_and_requeued_on_reconnect(
    server: lab.SyncServer, clients: list[ZooKeeper]
) -> None:
    path = unique("/latch")
    proxy = Proxy(server.host, server.port)
    zk = await ZooKeeper(proxy.connect_string, 6000).start(10)
    try:
        seen: list[bool] = []
        latch = LeaderLatch(zk, path, "leader")
        latch.listeners.append(seen.append)
        await latch.start()
        assert await latch.await_leadership(5)
        other = LeaderLatch(clients[0], path, "other")
        await other.start()
        first_node = latch.our_path
        proxy.drop()
        await eventually(lambda: not latch.has_leadership(), what="leadership dropped on SUSPENDED")
        proxy.restore()
        # RECONNECTED: the latch deletes its node and queues again, behind "other".
        await eventually(other.has_leadership, what="the other participant leads")
        await eventually(lambda: latch.our_path not in (None, first_node), what="a new node")
        assert not latch.has_leadership()
        assert seen == [True, False]
        states = ConnectionStateManager.of(zk).history
        assert ConnectionState.SUSPENDED in states and ConnectionState.RECONNECTED in states
        await other.close()
        assert await latch.await_leadership(5)
        await latch.close()
    finally:
        await zk.close()
        proxy.close()


async def test_latch_notices_session_expiry(server: lab.SyncServer, clients: list[ZooKeeper]) -> None:
    path = unique("/latch")
    zk = await ZooKeeper(server.connect_string, 4000).start(10)
    latch = LeaderLatch(zk, path, "doomed")
    seen: list[bool] = []
    latch.listeners.append(seen.append)
    await latch.start()
    assert await latch.await_leadership(5)
    other = LeaderLatch(clients[0], path, "next")
    await other.start()
    await expire_session(zk, server.connect_string)
    await eventually(lambda: latch.lost, what="the latch sees LOST")
    assert seen == [True, False]
    with pytest.raises(SessionExpiredException):
        await latch.await_leadership(1)
    assert await other.await_leadership(10)
    await other.close()
    await zk.close()


async def test_selector_takes_turns(clients: list[ZooKeeper]) -> None:
    path = unique("/selector")
    leading: list[str] = []
    log: list[str] = []

    def make(name: str):  # type: ignore[no-untyped-def]
        async def take_leadership(selector: LeaderSelector) -> None:
            leading.append(name)
            assert len(leading) == 1, "two leaders"
            log.append(name)
            await asyncio.sleep(0.05)
            leading.remove(name)

        return take_leadership

    selectors = [LeaderSelector(zk, path, make(f"s{i}"), id=f"s{i}") for i, zk in enumerate(clients)]
    for s in selectors:
        s.auto_requeue = True
        s.start()
    await eventually(lambda: len(log) >= 12, what="12 leaderships")
    for s in selectors:
        await s.close()
    assert {name for name in log} == {f"s{i}" for i in range(4)}
    await eventually(lambda: _empty(clients[0], path), what="no node left")


async def _empty(zk: ZooKeeper, path: str) -> bool:
    return await zk.get_children(path) == []


async def test_selector_leadership_is_cancelled_on_connection_loss(server: lab.SyncServer) -> None:
    path = unique("/selector")
    proxy = Proxy(server.host, server.port)
    zk = await ZooKeeper(proxy.connect_string, 6000).start(10)
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def take_leadership(selector: LeaderSelector) -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    selector = LeaderSelector(zk, path, take_leadership, id="x")
    try:
        selector.start()
        await asyncio.wait_for(started.wait(), 5)
        assert selector.has_leadership()
        assert [p.id for p in await selector.get_participants()] == ["x"]
        proxy.drop()
        await asyncio.wait_for(cancelled.wait(), 10)
        assert not selector.has_leadership()
        proxy.restore()
    finally:
        await selector.close()
        await zk.close()
        proxy.close()
