"""Caches of a whole subtree: TreeCache (one-shot watches on every node) and CuratorCache
(one persistent recursive watch on the root).

**TreeCache** sets two watches per cached node, a data watch (getData) and a child watch
(getChildren), and re-sets each as it fires: 2N watches for N nodes, and a re-read per
event. Events (TreeCacheEvent.Type): NODE_ADDED, NODE_UPDATED, NODE_REMOVED,
CONNECTION_SUSPENDED, CONNECTION_RECONNECTED, CONNECTION_LOST, INITIALIZED.

**CuratorCache** (Curator 5, which deprecated the three older caches) asks the server
for one PERSISTENT_RECURSIVE watch on the root (ZooKeeper 3.6+): every NodeCreated,
NodeDataChanged and NodeDeleted below the root arrives without re-arming anything, and
the cache reads only the node that changed. Events (CuratorCacheListener.Type):
NODE_CREATED, NODE_CHANGED, NODE_DELETED, and ``initialized``.

**After a reconnect** both rebuild from the root and compare with what they hold: setWatches
re-arms the watches, but a persistent watch does not replay what happened while the client
was away, and a one-shot watch reports it only as "changed". A rebuild that finds a node
gone reports it removed; one that finds a node new reports it added.

A trap found along the way (chapter 14): the server keeps *one* watch mode per path and
session. A one-shot watch set later by the same session on the root replaces the
recursive watch: it fires once and the recursive watch is gone (ours and ZooKeeper 3.8
alike), while the client's tables still list both. So one client must not hold a
CuratorCache and one-shot watches (a TreeCache's) on the same root path.

Mirrors: org.apache.curator.framework.recipes.cache.TreeCache, TreeCacheEvent,
CuratorCache, CuratorCacheListener.
"""

from __future__ import annotations

import enum
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from zk.client import ZooKeeper
from zk.protocol.constants import AddWatchMode, EventType, WatcherType
from zk.protocol.errors import KeeperException, NoNodeException
from zk.recipes.caches import _call, _OperationQueue
from zk.recipes.connection import ConnectionState, ConnectionStateManager, retrying
from zk.recipes.nodes import ChildData, join
from zk.watch.events import WatchedEvent

__all__ = ["CuratorCache", "CuratorCacheEventType", "TreeCache", "TreeCacheEvent", "TreeCacheEventType"]

log = logging.getLogger(__name__)


class TreeCacheEventType(enum.Enum):
    """Mirrors: org.apache.curator.framework.recipes.cache.TreeCacheEvent.Type."""

    NODE_ADDED = "NODE_ADDED"
    NODE_UPDATED = "NODE_UPDATED"
    NODE_REMOVED = "NODE_REMOVED"
    CONNECTION_SUSPENDED = "CONNECTION_SUSPENDED"
    CONNECTION_RECONNECTED = "CONNECTION_RECONNECTED"
    CONNECTION_LOST = "CONNECTION_LOST"
    INITIALIZED = "INITIALIZED"


@dataclass(frozen=True, slots=True)
class TreeCacheEvent:
    """Mirrors: org.apache.curator.framework.recipes.cache.TreeCacheEvent."""

    type: TreeCacheEventType
    data: ChildData | None = None


_CONNECTION_EVENTS = {
    ConnectionState.SUSPENDED: TreeCacheEventType.CONNECTION_SUSPENDED,
    ConnectionState.RECONNECTED: TreeCacheEventType.CONNECTION_RECONNECTED,
    ConnectionState.LOST: TreeCacheEventType.CONNECTION_LOST,
}


def _depth(root: str, path: str) -> int:
    if path == root:
        return 0
    rest = path[len(root) :] if root != "/" else path
    return rest.count("/")


def _below(root: str, path: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


class _SubtreeCache:
    """What both tree caches share: the map, the queue, listeners, connection events."""

    def __init__(self, zk: ZooKeeper, root: str, cache_data: bool, max_depth: int | None) -> None:
        self.zk = zk
        self.root = root
        self.cache_data = cache_data
        self.max_depth = max_depth
        self.current: dict[str, ChildData] = {}  # full path -> ChildData
        self._ops = _OperationQueue(f"{type(self).__name__} {root}")
        self._closed = False
        self._seq = itertools.count()

    def get_current_data(self, path: str) -> ChildData | None:
        return self.current.get(path)

    def get_current_children(self, path: str) -> dict[str, ChildData]:
        """The cached children of ``path``, by name."""
        prefix = path.rstrip("/") + "/"
        return {
            p[len(prefix) :]: d for p, d in self.current.items() if p.startswith(prefix) and "/" not in p[len(prefix) :]
        }

    def size(self) -> int:
        return len(self.current)

    def tree(self) -> dict[str, bytes | None]:
        """Path -> data, sorted: what a test compares with the server's tree."""
        return {p: self.current[p].data for p in sorted(self.current)}

    async def wait_idle(self) -> None:
        await self._ops.idle.wait()

    def _in_scope(self, path: str) -> bool:
        return _below(self.root, path) and (self.max_depth is None or _depth(self.root, path) <= self.max_depth)

    async def _read_tree(self, path: str, watcher: Callable[[WatchedEvent], None] | None) -> dict[str, ChildData]:
        """Read ``path`` and its subtree (to max_depth); with a watcher, watch each node."""
        found: dict[str, ChildData] = {}
        try:
            data, stat = await retrying(self.zk, lambda: self.zk.get_data(path, watch=watcher or False))
        except NoNodeException:
            if watcher is not None and path == self.root:
                await retrying(self.zk, lambda: self.zk.exists(path, watch=watcher))
            return found
        found[path] = ChildData(path, stat, data if self.cache_data else None)
        if self.max_depth is not None and _depth(self.root, path) >= self.max_depth:
            return found
        try:
            children = await retrying(self.zk, lambda: self.zk.get_children(path, watch=watcher or False))
        except NoNodeException:
            return found
        for child in sorted(children):
            found.update(await self._read_tree(join(path, child), watcher))
        return found

    async def _apply(self, path: str, new: ChildData | None, creator: bool) -> None:
        """Put or remove one node; post ADDED / UPDATED / REMOVED as Curator's caches do."""
        raise NotImplementedError

    async def _rebuild(self, watcher: Callable[[WatchedEvent], None] | None) -> None:
        found = await self._read_tree(self.root, watcher)
        for gone in sorted(set(self.current) - set(found), reverse=True):  # children first
            await self._apply(gone, None, False)
        for path in sorted(found):
            await self._apply(path, found[path], False)


class TreeCache(_SubtreeCache):
    """A local copy of a subtree, kept by a data and a child watch on every node.

    ``listeners`` are called with ``(cache, event)``.

    Mirrors: org.apache.curator.framework.recipes.cache.TreeCache.
    """

    def __init__(self, zk: ZooKeeper, root: str, *, cache_data: bool = True, max_depth: int | None = None) -> None:
        super().__init__(zk, root, cache_data, max_depth)
        self.listeners: list[Callable[[TreeCache, TreeCacheEvent], Awaitable[None] | None]] = []
        self.events: list[TreeCacheEvent] = []

    async def start(self) -> None:
        """Start; the initial load runs in the background and ends with INITIALIZED."""
        ConnectionStateManager.of(self.zk).add_listener(self._state_changed)
        self._ops.start()
        self._ops.offer("initial", self._initial)

    async def _initial(self) -> None:
        await self._rebuild(self._watcher)
        await self._post(TreeCacheEvent(TreeCacheEventType.INITIALIZED))

    async def close(self) -> None:
        self._closed = True
        ConnectionStateManager.of(self.zk).remove_listener(self._state_changed)
        await self._ops.close()

    async def __aenter__(self) -> TreeCache:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _watcher(self, event: WatchedEvent) -> None:
        if event.type is EventType.NONE or self._closed or event.path is None:
            return
        path = event.path
        if event.type is EventType.NodeDeleted:
            self._ops.offer(f"removed {path}", lambda: self._removed(path))
        elif event.type is EventType.NodeChildrenChanged:
            self._ops.offer(f"children {path}", lambda: self._children_changed(path))
        else:  # NodeCreated (the root, through exists) or NodeDataChanged
            self._ops.offer(f"node {path}", lambda: self._node_changed(path))

    async def _node_changed(self, path: str) -> None:
        if path == self.root and path not in self.current:
            await self._rebuild(self._watcher)  # the root was (re)created: load the subtree
            return
        try:
            data, stat = await retrying(self.zk, lambda: self.zk.get_data(path, watch=self._watcher))
        except NoNodeException:
            await self._removed(path)
            return
        await self._apply(path, ChildData(path, stat, data if self.cache_data else None), False)

    async def _children_changed(self, path: str) -> None:
        try:
            children = await retrying(self.zk, lambda: self.zk.get_children(path, watch=self._watcher))
        except NoNodeException:
            await self._removed(path)
            return
        known = set(self.get_current_children(path))
        for child in sorted(set(children) - known):
            child_path = join(path, child)
            if self._in_scope(child_path):
                for p, d in sorted((await self._read_tree(child_path, self._watcher)).items()):
                    await self._apply(p, d, False)

    async def _removed(self, path: str) -> None:
        for p in sorted((p for p in self.current if _below(path, p)), reverse=True):
            await self._apply(p, None, False)
        if path == self.root:  # watch for it to come back
            await retrying(self.zk, lambda: self.zk.exists(path, watch=self._watcher))

    async def _apply(self, path: str, new: ChildData | None, creator: bool) -> None:
        old = self.current.get(path)
        if new is None:
            if old is not None:
                del self.current[path]
                await self._post(TreeCacheEvent(TreeCacheEventType.NODE_REMOVED, old))
            return
        self.current[path] = new
        if old is None:
            await self._post(TreeCacheEvent(TreeCacheEventType.NODE_ADDED, new))
        elif old.stat.mzxid != new.stat.mzxid:
            await self._post(TreeCacheEvent(TreeCacheEventType.NODE_UPDATED, new))

    async def _post(self, event: TreeCacheEvent) -> None:
        self.events.append(event)
        del self.events[:-10_000]
        for listener in list(self.listeners):
            await _call(listener, self, event)

    async def _state_changed(self, state: ConnectionState) -> None:
        kind = _CONNECTION_EVENTS.get(state)
        if kind is None or self._closed:
            return
        event = TreeCacheEvent(kind)
        self._ops.offer(f"state {next(self._seq)}", lambda: self._post(event))
        if state is ConnectionState.RECONNECTED:
            self._ops.offer("rebuild", lambda: self._rebuild(self._watcher))


class CuratorCacheEventType(enum.Enum):
    """Mirrors: org.apache.curator.framework.recipes.cache.CuratorCacheListener.Type."""

    NODE_CREATED = "NODE_CREATED"
    NODE_CHANGED = "NODE_CHANGED"
    NODE_DELETED = "NODE_DELETED"


CuratorCacheListener = Callable[[CuratorCacheEventType, ChildData | None, ChildData | None], Awaitable[None] | None]
"""``(type, old_data, data)``: old_data is None for NODE_CREATED, data None for NODE_DELETED."""


class CuratorCache(_SubtreeCache):
    """A local copy of a subtree, kept by one persistent recursive watch.

    ``listeners`` get ``(type, old_data, data)``; ``initialized_listeners`` get no
    argument once the initial load is done.

    Mirrors: org.apache.curator.framework.recipes.cache.CuratorCache (CuratorCacheImpl).
    """

    def __init__(self, zk: ZooKeeper, root: str, *, cache_data: bool = True) -> None:
        super().__init__(zk, root, cache_data, None)
        self.listeners: list[CuratorCacheListener] = []
        self.initialized_listeners: list[Callable[[], Awaitable[None] | None]] = []
        self.events: list[tuple[CuratorCacheEventType, str]] = []  # (type, path), in order
        self.initialized = False

    async def start(self) -> None:
        ConnectionStateManager.of(self.zk).add_listener(self._state_changed)
        self._ops.start()
        await retrying(self.zk, lambda: self.zk.add_watch(self.root, self._watcher, AddWatchMode.PERSISTENT_RECURSIVE))
        self._ops.offer("initial", self._initial)

    async def _initial(self) -> None:
        await self._rebuild(None)
        self.initialized = True
        for listener in list(self.initialized_listeners):
            await _call(listener)

    async def close(self) -> None:
        self._closed = True
        ConnectionStateManager.of(self.zk).remove_listener(self._state_changed)
        await self._ops.close()
        if self.zk.state.is_connected():
            try:
                await self.zk.remove_watches(self.root, self._watcher, WatcherType.Any, local=True)
            except KeeperException as e:
                log.info("removing the cache's watch on %s: %s", self.root, e)

    async def __aenter__(self) -> CuratorCache:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _watcher(self, event: WatchedEvent) -> None:
        if event.type is EventType.NONE or self._closed or event.path is None:
            return
        path = event.path
        if event.type is EventType.NodeDeleted:
            self._ops.offer(f"node {path}", lambda: self._apply(path, None, False))
        elif event.type in (EventType.NodeCreated, EventType.NodeDataChanged):
            self._ops.offer(f"node {path}", lambda: self._node_changed(path))

    async def _node_changed(self, path: str) -> None:
        try:
            data, stat = await retrying(self.zk, lambda: self.zk.get_data(path))
        except NoNodeException:
            await self._apply(path, None, False)
            return
        await self._apply(path, ChildData(path, stat, data if self.cache_data else None), False)

    async def _apply(self, path: str, new: ChildData | None, creator: bool) -> None:
        old = self.current.get(path)
        if new is None:
            if old is None:
                return
            del self.current[path]
            await self._post(CuratorCacheEventType.NODE_DELETED, old, None)
            return
        self.current[path] = new
        if old is None:
            await self._post(CuratorCacheEventType.NODE_CREATED, None, new)
        elif old.stat.mzxid != new.stat.mzxid:
            await self._post(CuratorCacheEventType.NODE_CHANGED, old, new)

    async def _post(self, kind: CuratorCacheEventType, old: ChildData | None, new: ChildData | None) -> None:
        path = (new or old).path  # type: ignore[union-attr]
        self.events.append((kind, path))
        del self.events[:-10_000]
        for listener in list(self.listeners):
            await _call(listener, kind, old, new)

    async def _state_changed(self, state: ConnectionState) -> None:
        if state is ConnectionState.RECONNECTED and not self._closed:
            self._ops.offer("rebuild", lambda: self._rebuild(None))
