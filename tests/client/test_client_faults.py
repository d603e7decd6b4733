"""The client across faults: a dropped connection, a frozen server, a restart, expiry.

Each test starts its own server (ours and Apache ZooKeeper 3.8), since it breaks it.
The servers run with tickTime=500, so session timeouts from 1 s to 10 s are allowed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from client_helpers import Events, unique
from conftest import KINDS, skip_without_reference

from zk import lab
from zk.client import ZooKeeper
from zk.lab.proxy import Proxy
from zk.protocol.constants import AddWatchMode, CreateMode, EventType, KeeperState
from zk.protocol.errors import SessionExpiredException

Kind = str


@pytest.fixture(params=KINDS)
async def server(request: pytest.FixtureRequest) -> AsyncIterator[lab.ServerProcess]:
    skip_without_reference(request.param)
    async with lab.server(kind=request.param, tickTime=500, trace=False) as s:
        yield s


@pytest.fixture
async def proxy(server: lab.ServerProcess) -> AsyncIterator[Proxy]:
    p = Proxy(server.host, server.port)
    yield p
    p.close()


async def _watch_everything(zk: ZooKeeper, base: str) -> dict[str, Events]:
    """One of each kind of watch under ``base``; returns the watchers by name."""
    w = {name: Events() for name in ("data", "exist", "child", "persistent")}
    await zk.create(base, b"0")
    await zk.get_data(base, w["data"])
    assert await zk.exists(base + "/new", w["exist"]) is None
    await zk.get_children(base, w["child"])
    await zk.add_watch(base + "/p", w["persistent"], AddWatchMode.PERSISTENT)
    return w


async def _change_everything(other: ZooKeeper, base: str) -> None:
    await other.set_data(base, b"1")
    await other.create(base + "/new")
    await other.create(base + "/p")


async def _expect_each_fired_once(
    zk: ZooKeeper, w: dict[str, Events], base: str, other: ZooKeeper, missed: bool = True
) -> None:
    """The one-shot watches fire once for what they missed (DataTree.setWatches compares
    each node's zxids with relativeZxid). A persistent watch is only set again: what it
    missed is lost, and it sees the next change."""
    expected = {
        "data": [(EventType.NodeDataChanged, base)],
        "exist": [(EventType.NodeCreated, base + "/new")],
        "child": [(EventType.NodeChildrenChanged, base)],
        "persistent": [(EventType.NodeDataChanged, base + "/p")],
    }
    if not missed:  # the changes came after the reconnect: the persistent watch saw them
        expected["persistent"].insert(0, (EventType.NodeCreated, base + "/p"))
    # SyncConnected comes with the ConnectResponse, before the server has read setWatches;
    # a reply to a later request proves it has.
    await zk.exists("/")
    await other.set_data(base + "/p", b"after")
    for name, events in w.items():
        try:
            await events.wait_for(lambda e: len(e.nodes()) >= 1)
        except AssertionError as e:
            raise AssertionError(f"{name} watcher: {e}") from None
    await asyncio.sleep(0.3)  # anything duplicated would have arrived by now
    assert {name: ev.nodes() for name, ev in w.items()} == expected


async def test_dropped_connection_keeps_the_session_and_the_watches(server: lab.ServerProcess, proxy: Proxy) -> None:
    """The network drops; changes happen meanwhile; on reconnect setWatches (with the last
    zxid seen) makes the server fire each missed watch, once."""
    base = unique()
    state = Events()
    async with (
        ZooKeeper(proxy.connect_string, 10_000, state, reconnect_delay=100) as zk,
        ZooKeeper(server.connect_string, 10_000) as other,
    ):
        session = zk.session_id
        eph = await zk.create(base + "-eph", mode=CreateMode.EPHEMERAL)
        w = await _watch_everything(zk, base)
        proxy.drop()
        await state.wait_state(KeeperState.Disconnected)
        await _change_everything(other, base)
        proxy.restore()
        await state.wait_state(KeeperState.SyncConnected, count=2)
        await _expect_each_fired_once(zk, w, base, other)
        assert zk.session_id == session and await other.exists(eph) is not None
    assert state.states() == [
        KeeperState.SyncConnected,
        KeeperState.Disconnected,
        KeeperState.SyncConnected,
        KeeperState.Closed,
    ]


async def test_a_frozen_server_costs_the_connection_not_the_session(server: lab.ServerProcess) -> None:
    """SIGSTOP for longer than the read timeout (2/3 of 6 s) but shorter than the session
    timeout: the client gives up on the connection, then resumes the same session."""
    state = Events()
    async with ZooKeeper(server.connect_string, 6_000, state, reconnect_delay=100) as zk:
        session = zk.session_id
        eph = await zk.create(unique(), mode=CreateMode.EPHEMERAL)
        await server.pause()
        try:
            await state.wait_state(KeeperState.Disconnected, timeout=10)
        finally:
            await server.resume()
        await state.wait_state(KeeperState.SyncConnected, count=2, timeout=15)
        assert zk.session_id == session
        assert await zk.exists(eph) is not None
    assert KeeperState.Expired not in state.states()


async def test_a_restart(server: lab.ServerProcess) -> None:
    """Kill -9 and start again on the same port and dataDir. The server recovers its
    sessions from its log and snapshot, so the client resumes its session: the
    ephemeral is still there and the watches are set again."""
    base = unique()
    state = Events()
    zk = await ZooKeeper(server.connect_string, 10_000, state, reconnect_delay=100).start()
    session = zk.session_id
    eph = await zk.create(base + "-eph", mode=CreateMode.EPHEMERAL)
    w = await _watch_everything(zk, base)
    await server.kill()
    await state.wait_state(KeeperState.Disconnected)
    await server.start()
    await server.wait_ready()
    await state.wait_state(KeeperState.SyncConnected, count=2, timeout=20)
    assert zk.session_id == session and await zk.exists(eph) is not None
    async with ZooKeeper(server.connect_string, 10_000) as other:
        await _change_everything(other, base)
        await _expect_each_fired_once(zk, w, base, other, missed=False)
    await zk.close()
    assert state.states() == [
        KeeperState.SyncConnected,
        KeeperState.Disconnected,
        KeeperState.SyncConnected,
        KeeperState.Closed,
    ]


async def test_session_expiry(server: lab.ServerProcess, proxy: Proxy) -> None:
    """Cut the network for longer than the session timeout: the server expires the session
    (its ephemerals go), and the client learns it on reconnect: Expired, exactly once."""
    state = Events()
    zk = await ZooKeeper(proxy.connect_string, 2_000, state, reconnect_delay=100).start()
    eph = await zk.create(unique(), mode=CreateMode.EPHEMERAL)
    data_w = Events()
    await zk.get_data(eph, data_w)
    async with ZooKeeper(server.connect_string, 10_000) as other:
        gone = Events()
        assert await other.exists(eph, gone) is not None
        proxy.drop()
        await gone.wait_for(lambda e: len(e.items) == 1, timeout=15)  # the server expired it
        assert gone.nodes() == [(EventType.NodeDeleted, eph)]
        proxy.restore()
        await state.wait_state(KeeperState.Closed, timeout=15)
        assert await other.exists(eph) is None
    assert state.states() == [
        KeeperState.SyncConnected,
        KeeperState.Disconnected,
        KeeperState.Expired,
        KeeperState.Closed,
    ]
    assert data_w.states() == [KeeperState.Disconnected, KeeperState.Expired, KeeperState.Closed]
    with pytest.raises(SessionExpiredException):
        await zk.get_data(eph)
    await zk.close()
