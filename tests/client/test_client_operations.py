"""Every operation and every kind of watch, against our server and Apache ZooKeeper 3.8.

The servers are module-scoped (one of each kind, see conftest.py); each test works under
paths of its own.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import pytest
from client_helpers import Events, unique

from zk import lab
from zk.client import (
    CheckResult,
    ConnectionLossException,
    CreateResult,
    DeleteResult,
    ErrorResult,
    GetChildrenResult,
    GetDataResult,
    Op,
    SetDataResult,
    States,
    ZooKeeper,
    blocking,
)
from zk.data.acl import CREATOR_ALL_ACL, READ_ACL_UNSAFE
from zk.jute.records import ACL, Id
from zk.protocol.constants import AddWatchMode, CreateMode, EventType, KeeperState, Perms, WatcherType
from zk.protocol.errors import (
    AuthFailedException,
    BadVersionException,
    Code,
    NoAuthException,
    NodeExistsException,
    NoNodeException,
    NotEmptyException,
    NoWatcherException,
    SessionExpiredException,
)
from zk.watch.events import WatchedEvent

TIMEOUT = 10_000  # ms; the servers run with tickTime=500, so at most 10000


@pytest.fixture
async def zk(server: lab.SyncServer) -> AsyncIterator[ZooKeeper]:
    async with ZooKeeper(server.connect_string, TIMEOUT, reconnect_delay=100) as client:
        yield client


async def test_create_get_set_delete(zk: ZooKeeper) -> None:
    p = unique()
    assert await zk.create(p, b"v0") == p
    data, stat = await zk.get_data(p)
    assert data == b"v0" and stat.version == 0 and stat.dataLength == 2
    assert (await zk.set_data(p, b"v1", version=0)).version == 1
    with pytest.raises(BadVersionException):
        await zk.set_data(p, b"v2", version=0)
    with pytest.raises(NodeExistsException):
        await zk.create(p)
    await zk.create(p + "/c")
    with pytest.raises(NotEmptyException):
        await zk.delete(p)
    await zk.delete(p + "/c")
    with pytest.raises(BadVersionException):
        await zk.delete(p, version=7)
    await zk.delete(p, version=1)
    assert await zk.exists(p) is None
    with pytest.raises(NoNodeException) as info:
        await zk.get_data(p)
    assert info.value.path == p


async def test_create_modes_and_create2(zk: ZooKeeper) -> None:
    p = unique()
    path, stat = await zk.create2(p, b"x")
    assert path == p and stat.czxid == stat.mzxid
    s1 = await zk.create(p + "/s-", mode=CreateMode.PERSISTENT_SEQUENTIAL)
    s2 = await zk.create(p + "/s-", mode=CreateMode.EPHEMERAL_SEQUENTIAL)
    assert s1 == p + "/s-0000000000" and s2 == p + "/s-0000000001"
    e = await zk.exists(s2)
    assert e is not None and e.ephemeralOwner == zk.session_id
    c, cstat = await zk.create2(p + "/container", mode=CreateMode.CONTAINER)
    assert c == p + "/container" and cstat.czxid > stat.czxid
    assert await zk.create(p + "/ttl", mode=CreateMode.PERSISTENT_WITH_TTL, ttl=60_000) == p + "/ttl"
    with pytest.raises(ValueError):
        await zk.create(p + "/bad", ttl=5)


async def test_children_counts_ephemerals_sync_whoami(zk: ZooKeeper) -> None:
    p = unique()
    await zk.create(p)
    for name in ("a", "b"):
        await zk.create(f"{p}/{name}", mode=CreateMode.EPHEMERAL)
    await zk.create(p + "/c")
    await zk.create(p + "/c/d")
    assert sorted(await zk.get_children(p)) == ["a", "b", "c"]
    children, stat = await zk.get_children2(p)
    assert sorted(children) == ["a", "b", "c"] and stat.numChildren == 3
    assert await zk.get_all_children_number(p) == 4
    assert sorted(await zk.get_ephemerals(p)) == [p + "/a", p + "/b"]
    assert await zk.sync(p) == p
    [info] = await zk.who_am_i()
    assert info.authScheme == "ip"


async def test_acls_and_auth(server: lab.SyncServer, zk: ZooKeeper) -> None:
    p = unique()
    await zk.add_auth_info("digest", b"alice:secret")
    assert {(i.authScheme, i.user) for i in await zk.who_am_i()} >= {("digest", "alice")}
    await zk.create(p, b"private", CREATOR_ALL_ACL)
    acl, stat = await zk.get_acl(p)
    assert [(a.perms, a.id.scheme) for a in acl] == [(int(Perms.ALL), "digest")] and stat.aversion == 0
    async with ZooKeeper(server.connect_string, TIMEOUT) as other:
        with pytest.raises(NoAuthException):
            await other.get_data(p)
        await other.add_auth_info("digest", b"alice:secret")
        assert (await other.get_data(p))[0] == b"private"
    with pytest.raises(BadVersionException):
        await zk.set_acl(p, [ACL(int(Perms.ALL), Id("world", "anyone"))], version=1)
    assert (await zk.set_acl(p, READ_ACL_UNSAFE, version=0)).aversion == 1
    with pytest.raises(NoAuthException):
        await zk.set_data(p, b"x")


async def test_an_unknown_auth_scheme_fails_the_client(server: lab.SyncServer) -> None:
    events = Events()
    async with ZooKeeper(server.connect_string, TIMEOUT, events) as zk:
        with pytest.raises(AuthFailedException):
            await zk.add_auth_info("no-such-scheme", b"x")
        assert zk.state is States.AUTH_FAILED
        with pytest.raises(AuthFailedException):
            await zk.exists("/")
    await events.wait_state(KeeperState.Closed)
    assert events.states() == [KeeperState.SyncConnected, KeeperState.AuthFailed, KeeperState.Closed]


async def test_multi_transaction_and_multi_read(zk: ZooKeeper) -> None:
    p = unique()
    await zk.create(p, b"0")
    results = await zk.multi(
        [Op.create(p + "/a", b"A"), Op.set_data(p, b"1", version=0), Op.check(p, 1), Op.delete(p + "/a")]
    )
    assert isinstance(results[0], CreateResult) and results[0].path == p + "/a"
    assert isinstance(results[1], SetDataResult) and results[1].stat.version == 1
    assert isinstance(results[2], CheckResult) and isinstance(results[3], DeleteResult)
    with pytest.raises(BadVersionException) as info:
        await zk.transaction().create(p + "/b").check(p, 0).commit()
    errs = [r.err for r in info.value.results if isinstance(r, ErrorResult)]  # type: ignore[attr-defined]
    assert errs == [0, int(Code.BADVERSION)]
    assert await zk.exists(p + "/b") is None  # all or nothing
    reads = await zk.multi_read([Op.get_data(p), Op.get_children(p), Op.get_data(p + "/none")])
    assert isinstance(reads[0], GetDataResult) and reads[0].data == b"1"
    assert reads[1] == GetChildrenResult([])
    assert reads[2] == ErrorResult(int(Code.NONODE))
    assert await zk.multi([]) == []


async def test_one_shot_watches_fire_once(server: lab.SyncServer, zk: ZooKeeper) -> None:
    p = unique()
    data_w, exist_w, child_w = Events(), Events(), Events()
    assert await zk.exists(p, exist_w) is None  # a watch on a node that does not exist
    await zk.create(p, b"0")
    await exist_w.wait_for(lambda e: len(e.items) == 1)
    await zk.get_data(p, data_w)
    await zk.get_children(p, child_w)
    await zk.set_data(p, b"1")
    await zk.set_data(p, b"2")  # the data watch is spent: nothing more
    await zk.create(p + "/c")
    await zk.create(p + "/d")
    await zk.sync(p)
    await data_w.wait_for(lambda e: len(e.items) >= 1)
    await child_w.wait_for(lambda e: len(e.items) >= 1)
    await asyncio.sleep(0.2)
    assert exist_w.nodes() == [(EventType.NodeCreated, p)]
    assert data_w.nodes() == [(EventType.NodeDataChanged, p)]
    assert child_w.nodes() == [(EventType.NodeChildrenChanged, p)]


async def test_default_watcher_gets_watch_true_events(server: lab.SyncServer) -> None:
    events = Events()
    p = unique()
    async with ZooKeeper(server.connect_string, TIMEOUT, events) as zk:
        await zk.create(p)
        await zk.get_data(p, watch=True)
        await zk.delete(p)
        await events.wait_for(lambda e: len(e.nodes()) == 1)
    assert events.nodes() == [(EventType.NodeDeleted, p)]
    assert events.states() == [KeeperState.SyncConnected, KeeperState.Closed]


async def test_persistent_and_recursive_watches(server: lab.SyncServer, zk: ZooKeeper) -> None:
    p = unique()
    pers, rec = Events(), Events()
    # The server keeps one watch mode per (path, session): a second addWatch on the same
    # path replaces the first. So the recursive watch comes from a second client.
    other = await ZooKeeper(server.connect_string, TIMEOUT).start()
    await zk.add_watch(p, pers, AddWatchMode.PERSISTENT)
    await other.add_watch(p, rec, AddWatchMode.PERSISTENT_RECURSIVE)
    await zk.create(p)
    await zk.create(p + "/c")
    await zk.set_data(p + "/c", b"x")
    await zk.set_data(p, b"y")
    await zk.delete(p + "/c")
    await rec.wait_for(lambda e: len(e.items) == 5)
    await pers.wait_for(lambda e: len(e.items) == 4)
    assert pers.nodes() == [
        (EventType.NodeCreated, p),
        (EventType.NodeChildrenChanged, p),
        (EventType.NodeDataChanged, p),
        (EventType.NodeChildrenChanged, p),
    ]
    assert rec.nodes() == [  # no NodeChildrenChanged for a recursive watch
        (EventType.NodeCreated, p),
        (EventType.NodeCreated, p + "/c"),
        (EventType.NodeDataChanged, p + "/c"),
        (EventType.NodeDataChanged, p),
        (EventType.NodeDeleted, p + "/c"),
    ]
    await zk.remove_watches(p, pers, WatcherType.Any)
    await pers.wait_for(lambda e: len(e.items) == 5)
    assert pers.items[-1].type is EventType.PersistentWatchRemoved
    await zk.set_data(p, b"z")
    await rec.wait_for(lambda e: len(e.items) == 6)
    await zk.sync(p)
    assert len(pers.items) == 5
    await other.close()


async def test_remove_watches(zk: ZooKeeper) -> None:
    p = unique()
    await zk.create(p)
    data_w, child_w = Events(), Events()
    await zk.get_data(p, data_w)
    await zk.get_children(p, child_w)
    await zk.remove_watches(p, data_w, WatcherType.Data)
    await data_w.wait_for(lambda e: len(e.items) == 1)
    assert data_w.nodes() == [(EventType.DataWatchRemoved, p)]
    with pytest.raises(NoWatcherException):
        await zk.remove_watches(p, data_w, WatcherType.Data)
    await zk.remove_all_watches(p, WatcherType.Children)
    await child_w.wait_for(lambda e: len(e.items) == 1)
    assert child_w.nodes() == [(EventType.ChildWatchRemoved, p)]
    await zk.set_data(p, b"x")
    await zk.create(p + "/c")
    await zk.sync(p)
    await asyncio.sleep(0.2)
    assert len(data_w.items) == len(child_w.items) == 1


async def test_chroot(server: lab.SyncServer, zk: ZooKeeper) -> None:
    root = unique("/chroot")
    await zk.create(root)
    events = Events()
    async with ZooKeeper(server.connect_string + root, TIMEOUT) as cz:
        assert await cz.create("/a", b"in") == "/a"
        assert await cz.create("/s-", mode=CreateMode.EPHEMERAL_SEQUENTIAL) == "/s-0000000001"
        assert sorted(await cz.get_children("/")) == ["a", "s-0000000001"]
        assert await cz.get_ephemerals("/") == ["/s-0000000001"]
        assert await cz.sync("/a") == "/a"
        await cz.get_data("/a", events)
        await cz.add_watch("/", events, AddWatchMode.PERSISTENT_RECURSIVE)
        [res] = await cz.multi([Op.create("/m")])
        assert res == CreateResult("/m")
        await zk.set_data(root + "/a", b"out")  # the other client, outside the chroot
        # one event for the data watch and the recursive watch: one watcher, one call
        await events.wait_for(lambda e: len(e.items) >= 2)
    assert (await zk.get_data(root + "/a"))[0] == b"out"
    assert events.nodes()[:2] == [(EventType.NodeCreated, "/m"), (EventType.NodeDataChanged, "/a")]
    assert (await zk.exists(root + "/s-0000000001")) is None  # the ephemeral went with the session


async def test_close_ends_the_session(server: lab.SyncServer, zk: ZooKeeper) -> None:
    p = unique()
    w = Events()
    other = await ZooKeeper(server.connect_string, TIMEOUT, w).start()
    await other.create(p, mode=CreateMode.EPHEMERAL)
    watched = Events()
    assert await zk.exists(p, watched) is not None
    await other.close()
    assert other.state is States.CLOSED
    await watched.wait_for(lambda e: len(e.items) == 1)
    assert watched.nodes() == [(EventType.NodeDeleted, p)]
    assert w.states() == [KeeperState.SyncConnected, KeeperState.Closed]
    with pytest.raises(SessionExpiredException):  # Java: a closed client's calls fail so
        await other.exists("/")
    await other.close()  # twice is fine


async def test_a_watcher_may_await_the_client(zk: ZooKeeper) -> None:
    """Replies do not go through the event task, so a watcher can call the client."""
    p = unique()
    await zk.create(p, b"0")
    seen: list[bytes] = []
    done = asyncio.Event()

    async def reread(event: WatchedEvent) -> None:
        data, _ = await zk.get_data(p)
        seen.append(data)
        done.set()

    await zk.get_data(p, reread)
    await zk.set_data(p, b"1")
    await asyncio.wait_for(done.wait(), 10)
    assert seen == [b"1"]


async def test_requests_while_disconnected_fail_with_connection_loss() -> None:
    port_nobody_listens_on = lab.free_port()
    zk = ZooKeeper(f"127.0.0.1:{port_nobody_listens_on}", TIMEOUT, reconnect_delay=50)
    task = asyncio.create_task(zk.start())
    await asyncio.sleep(0.05)
    with pytest.raises(ConnectionLossException):
        await zk.exists("/")
    task.cancel()
    await zk.close()
    assert zk.state is States.CLOSED


def test_blocking_client(server: lab.SyncServer) -> None:
    p = unique()
    got: list[tuple[EventType, bytes]] = []
    done = threading.Event()
    with blocking.ZooKeeper(server.connect_string, TIMEOUT) as zk:
        zk.create(p, b"a")

        def watcher(event: WatchedEvent) -> None:
            # A blocking call from a watcher: it runs on the event thread, as in Java.
            got.append((event.type, zk.get_data(p)[0]))
            done.set()

        assert zk.get_data(p, watcher)[0] == b"a"
        zk.set_data(p, b"b")
        assert done.wait(10)
        assert got == [(EventType.NodeDataChanged, b"b")]
        stat = zk.exists(p)
        assert zk.multi_read([Op.get_data(p)]) == [GetDataResult(b"b", stat)]  # type: ignore[arg-type]
    assert zk.state is States.CLOSED
