"""Caches follow a tree another client edits, on both servers, across a reconnect."""

from __future__ import annotations

import asyncio
import random

from recipes_helpers import eventually, unique

from zk import lab
from zk.client import ZooKeeper
from zk.lab.proxy import Proxy
from zk.protocol.errors import NodeExistsException, NoNodeException, NotEmptyException
from zk.recipes import (
    CuratorCache,
    CuratorCacheEventType,
    NodeCache,
    PathChildrenCache,
    PathChildrenCacheEventType,
    StartMode,
    TreeCache,
    TreeCacheEventType,
)

Tree = dict[str, bytes]


async def read_tree(zk: ZooKeeper, path: str) -> Tree:
    try:
        data, _ = await zk.get_data(path)
    except NoNodeException:
        return {}
    tree = {path: data}
    for child in await zk.get_children(path):
        tree.update(await read_tree(zk, f"{path}/{child}"))
    return tree


async def random_edits(zk: ZooKeeper, root: str, rng: random.Random, n: int) -> None:
    """Creates, updates and deletes at random, up to three levels below root."""
    for i in range(n):
        parent = root
        for _ in range(rng.randint(0, 2)):
            parent += f"/{rng.choice('abc')}"
        op = rng.random()
        try:
            if op < 0.5:
                await zk.create(f"{parent}/{rng.choice('abc')}", str(i).encode())
            elif op < 0.8:
                await zk.set_data(parent, str(i).encode())
            elif parent != root:
                await zk.delete(parent)
        except (NoNodeException, NodeExistsException, NotEmptyException):
            pass


async def test_caches_converge_to_the_tree(clients: list[ZooKeeper]) -> None:
    root = unique("/cache")
    editor = clients[0]
    await editor.create(root, b"root")
    tree_cache = TreeCache(clients[1], root)
    curator_cache = CuratorCache(clients[2], root)
    children_cache = PathChildrenCache(clients[3], root)
    node_cache = NodeCache(clients[3], f"{root}/a")
    await tree_cache.start()
    await curator_cache.start()
    await children_cache.start(StartMode.POST_INITIALIZED_EVENT)
    await node_cache.start()
    await random_edits(editor, root, random.Random(5), 150)

    async def converged() -> bool:
        truth = await read_tree(editor, root)
        children = {p: d for p, d in truth.items() if p.count("/") == root.count("/") + 1}
        for cache in (tree_cache, curator_cache, children_cache, node_cache):
            await cache.wait_idle()
        return (
            tree_cache.tree() == truth
            and curator_cache.tree() == truth
            and {d.path: d.data for d in children_cache.get_current_data()} == children
            and (node_cache.current_data.data if node_cache.current_data else None) == truth.get(f"{root}/a")
        )

    await eventually(converged, what="the caches converge")
    assert TreeCacheEventType.INITIALIZED in [e.type for e in tree_cache.events]
    assert curator_cache.initialized
    assert [e.type for e in children_cache.events].count(PathChildrenCacheEventType.INITIALIZED) == 1
    for cache in (tree_cache, curator_cache, children_cache, node_cache):
        await cache.close()


async def test_path_children_cache_events(clients: list[ZooKeeper]) -> None:
    root = unique("/pcc")
    await clients[0].create(root)
    await clients[0].create(f"{root}/x", b"1")
    cache = PathChildrenCache(clients[1], root)
    await cache.start(StartMode.POST_INITIALIZED_EVENT)
    await eventually(lambda: len(cache.events) >= 2)
    await clients[0].set_data(f"{root}/x", b"2")
    await eventually(lambda: len(cache.events) >= 3)
    await clients[0].create(f"{root}/y", b"3")
    await eventually(lambda: len(cache.events) >= 4)
    await clients[0].delete(f"{root}/x")
    await eventually(lambda: len(cache.events) >= 5)
    T = PathChildrenCacheEventType
    assert [(e.type, e.data.path if e.data else None) for e in cache.events] == [
        (T.CHILD_ADDED, f"{root}/x"),
        (T.INITIALIZED, None),
        (T.CHILD_UPDATED, f"{root}/x"),
        (T.CHILD_ADDED, f"{root}/y"),
        (T.CHILD_REMOVED, f"{root}/x"),
    ]
    assert [d.path for d in cache.events[1].initial_data] == [f"{root}/x"]
    await cache.close()


async def test_curator_cache_events(clients: list[ZooKeeper]) -> None:
    root = unique("/cc")
    cache = CuratorCache(clients[1], root)
    seen: list[tuple[CuratorCacheEventType, str, bytes | None]] = []
    cache.listeners.append(lambda t, old, new: seen.append((t, (new or old).path, new.data if new else None)))
    await cache.start()
    await eventually(lambda: cache.initialized)
    await clients[0].create(root, b"r")
    await clients[0].create(f"{root}/a", b"1")
    await eventually(lambda: len(seen) == 2)  # one change at a time: a re-read sees only the last value
    await clients[0].set_data(f"{root}/a", b"2")
    await eventually(lambda: len(seen) == 3)
    await clients[0].delete(f"{root}/a")
    await eventually(lambda: len(seen) == 4)
    T = CuratorCacheEventType
    assert seen == [
        (T.NODE_CREATED, root, b"r"),
        (T.NODE_CREATED, f"{root}/a", b"1"),
        (T.NODE_CHANGED, f"{root}/a", b"2"),
        (T.NODE_DELETED, f"{root}/a", None),
    ]
    await cache.close()


async def test_caches_rebuild_after_reconnect(server: lab.SyncServer, clients: list[ZooKeeper]) -> None:
    """Changes made while the cache's client is cut off show up after RECONNECTED:
    setWatches fires the one-shot watches of changed nodes, and the rebuild finds what a
    persistent watch does not replay (a node created and a node deleted meanwhile)."""
    root = unique("/rebuild")
    editor = clients[0]
    await editor.create(root, b"r")
    await editor.create(f"{root}/keep", b"1")
    await editor.create(f"{root}/gone", b"1")
    proxy = Proxy(server.host, server.port)
    zk = await ZooKeeper(proxy.connect_string, 8000).start(10)
    try:
        tree_cache, curator_cache = TreeCache(zk, root), CuratorCache(zk, f"{root}/keep")
        children_cache = PathChildrenCache(zk, root)
        await tree_cache.start()
        await curator_cache.start()
        await children_cache.start(StartMode.BUILD_INITIAL_CACHE)
        await eventually(lambda: tree_cache.size() == 3 and curator_cache.initialized)
        proxy.drop()
        await eventually(lambda: not zk.state.is_connected(), what="disconnected")
        await editor.delete(f"{root}/gone")
        await editor.create(f"{root}/new", b"2")
        await editor.set_data(f"{root}/keep", b"changed")
        await editor.create(f"{root}/keep/child", b"3")
        proxy.restore()

        async def converged() -> bool:
            for cache in (tree_cache, curator_cache, children_cache):
                await cache.wait_idle()
            truth = await read_tree(editor, root)
            keep = {p: d for p, d in truth.items() if p.startswith(f"{root}/keep")}
            children = {p: d for p, d in truth.items() if p.count("/") == root.count("/") + 1}
            return (
                tree_cache.tree() == truth
                and curator_cache.tree() == keep
                and {d.path: d.data for d in children_cache.get_current_data()} == children
            )

        await eventually(converged, what="the caches converge after the reconnect")
        types = [e.type for e in tree_cache.events]
        assert TreeCacheEventType.CONNECTION_SUSPENDED in types and TreeCacheEventType.CONNECTION_RECONNECTED in types
        pc_types = [e.type for e in children_cache.events]
        assert PathChildrenCacheEventType.CONNECTION_RECONNECTED in pc_types
        for cache in (tree_cache, curator_cache, children_cache):
            await cache.close()
    finally:
        await zk.close()
        proxy.close()


async def test_node_cache_follows_create_and_delete(clients: list[ZooKeeper]) -> None:
    path = unique("/nc")
    cache = NodeCache(clients[1], path)
    changes = 0

    def changed() -> None:
        nonlocal changes
        changes += 1

    cache.listeners.append(changed)
    await cache.start(build_initial=True)
    assert cache.current_data is None
    await clients[0].create(path, b"1")
    await eventually(lambda: cache.current_data is not None and cache.current_data.data == b"1")
    await clients[0].set_data(path, b"2")
    await eventually(lambda: cache.current_data is not None and cache.current_data.data == b"2")
    await clients[0].delete(path)
    await eventually(lambda: cache.current_data is None)
    assert changes == 3
    await cache.close()
    await asyncio.sleep(0)


async def test_a_one_shot_watch_on_the_root_replaces_the_cache_recursive_watch(clients: list[ZooKeeper]) -> None:
    """The trap the chapter warns about (one watch mode per path and session), on both
    servers: after a get_data watch on the root from the same client, the CuratorCache's
    recursive watch fires once more and then is gone."""
    root = unique("/mode")
    await clients[0].create(root, b"")
    cache = CuratorCache(clients[1], root)
    await cache.start()
    await eventually(lambda: cache.initialized)
    await clients[1].get_data(root, watch=lambda e: None)  # the same session, the same path
    await clients[0].set_data(root, b"1")
    await eventually(lambda: len(cache.events) == 2)  # NODE_CREATED (initial), NODE_CHANGED
    await clients[0].create(f"{root}/child", b"")
    await asyncio.sleep(0.5)
    assert f"{root}/child" not in cache.current  # the recursive watch is gone
    await cache.close()
