"""Caches that follow nodes: NodeCache (one node) and PathChildrenCache (a node's children).

A cache is a local copy kept fresh by one-shot watches: read with a watch, and when the
watch fires, read again with a new watch. Between the event and the re-read the node may
change several times; the cache sees the latest state, not every step. That is the
contract of every ZooKeeper cache: it *converges* to the tree, it is not a change log.

Watchers never do the reading themselves. They put an *operation* on the cache's queue
and one worker task runs the operations in order, calling the listeners as it goes, so
listeners see events in the order the cache applied them (Curator does the same with
``offerOperation`` and a single-threaded executor).

**Connection events.** SUSPENDED and LOST are passed on to listeners; RECONNECTED triggers
a full refresh, because a watch re-set by setWatches reports a change it missed only as
"something changed", and a persistent watch reports nothing it missed (chapter 14).

Events (PathChildrenCacheEvent.Type): CHILD_ADDED, CHILD_UPDATED, CHILD_REMOVED,
CONNECTION_SUSPENDED, CONNECTION_RECONNECTED, CONNECTION_LOST, INITIALIZED.

Mirrors: org.apache.curator.framework.recipes.cache.NodeCache, PathChildrenCache,
PathChildrenCacheEvent, ChildData.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import inspect
import itertools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from zk.client import ZooKeeper
from zk.protocol.constants import EventType
from zk.protocol.errors import KeeperException, NoNodeException, SessionExpiredException
from zk.recipes.connection import ConnectionState, ConnectionStateManager, retrying
from zk.recipes.nodes import ChildData, ensure_path, join
from zk.watch.events import WatchedEvent

__all__ = [
    "ChildData",
    "NodeCache",
    "PathChildrenCache",
    "PathChildrenCacheEvent",
    "PathChildrenCacheEventType",
    "StartMode",
]

log = logging.getLogger(__name__)

_MAX_QUEUED = 10_000  # house rule 14: a cache falling this far behind is a bug


class _OperationQueue:
    """One worker task running a cache's operations in order (``offerOperation``).

    An operation already queued is not queued twice (Curator dedups with a set too).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._queue: asyncio.Queue[tuple[str, Callable[[], Coroutine[Any, Any, None]]]] = asyncio.Queue(_MAX_QUEUED)
        self._queued: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self.idle = asyncio.Event()
        self.idle.set()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    def offer(self, key: str, op: Callable[[], Coroutine[Any, Any, None]]) -> None:
        if key in self._queued:
            return
        self._queued.add(key)
        self.idle.clear()
        self._queue.put_nowait((key, op))

    async def _run(self) -> None:
        while True:
            key, op = await self._queue.get()
            self._queued.discard(key)
            try:
                await op()
            except SessionExpiredException:
                log.info("%s: session expired", self.name)
            except KeeperException as e:
                log.info("%s: %s (the next reconnect refreshes)", self.name, e)
            except Exception:
                log.exception("%s: operation %s failed", self.name, key)
            if self._queue.empty():
                self.idle.set()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def _call(listener: Callable[..., Any], *args: Any) -> None:
    try:
        result = listener(*args)
        if inspect.isawaitable(result):
            await result
    except Exception:
        log.exception("cache listener failed")


class NodeCache:
    """A local copy of one node (data and Stat), or None while it does not exist.

    ``listeners`` are called with no argument after each change (NodeCacheListener.nodeChanged).

    Mirrors: org.apache.curator.framework.recipes.cache.NodeCache.
    """

    def __init__(self, zk: ZooKeeper, path: str) -> None:
        self.zk = zk
        self.path = path
        self.current_data: ChildData | None = None
        self.listeners: list[Callable[[], Awaitable[None] | None]] = []
        self._ops = _OperationQueue(f"NodeCache {path}")
        self._closed = False

    async def start(self, build_initial: bool = False) -> None:
        """Start following; with ``build_initial`` the first read is done before returning."""
        ConnectionStateManager.of(self.zk).add_listener(self._state_changed)
        self._ops.start()
        if build_initial:
            await self._reset()
        else:
            self._ops.offer("reset", self._reset)

    async def close(self) -> None:
        self._closed = True
        ConnectionStateManager.of(self.zk).remove_listener(self._state_changed)
        await self._ops.close()

    async def __aenter__(self) -> NodeCache:
        await self.start(build_initial=True)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _watcher(self, event: WatchedEvent) -> None:
        if event.type is not EventType.NONE and not self._closed:
            self._ops.offer("reset", self._reset)

    async def _reset(self) -> None:
        # exists first: its watch also catches the node's creation.
        stat = await retrying(self.zk, lambda: self.zk.exists(self.path, watch=self._watcher))
        if stat is None:
            await self._set(None)
            return
        try:
            data, data_stat = await retrying(self.zk, lambda: self.zk.get_data(self.path, watch=self._watcher))
        except NoNodeException:
            self._ops.offer("reset", self._reset)  # gone again: the exists watch is re-set
            return
        await self._set(ChildData(self.path, data_stat, data))

    async def _set(self, new: ChildData | None) -> None:
        old, self.current_data = self.current_data, new
        if old != new:
            for listener in list(self.listeners):
                await _call(listener)

    async def _state_changed(self, state: ConnectionState) -> None:
        if state is ConnectionState.RECONNECTED:
            self._ops.offer("reset", self._reset)

    async def wait_idle(self) -> None:
        """Wait until every queued operation ran (for tests and notebooks)."""
        await self._ops.idle.wait()


class PathChildrenCacheEventType(enum.Enum):
    """Mirrors: org.apache.curator.framework.recipes.cache.PathChildrenCacheEvent.Type."""

    CHILD_ADDED = "CHILD_ADDED"
    CHILD_UPDATED = "CHILD_UPDATED"
    CHILD_REMOVED = "CHILD_REMOVED"
    CONNECTION_SUSPENDED = "CONNECTION_SUSPENDED"
    CONNECTION_RECONNECTED = "CONNECTION_RECONNECTED"
    CONNECTION_LOST = "CONNECTION_LOST"
    INITIALIZED = "INITIALIZED"


@dataclass(frozen=True, slots=True)
class PathChildrenCacheEvent:
    """One event: its type, the child concerned, and for INITIALIZED the initial children.

    Mirrors: org.apache.curator.framework.recipes.cache.PathChildrenCacheEvent.
    """

    type: PathChildrenCacheEventType
    data: ChildData | None = None
    initial_data: list[ChildData] = field(default_factory=list)


class StartMode(enum.Enum):
    """Mirrors: PathChildrenCache.StartMode."""

    NORMAL = "NORMAL"  # CHILD_ADDED for each initial child
    BUILD_INITIAL_CACHE = "BUILD_INITIAL_CACHE"  # read them before start returns, no events
    POST_INITIALIZED_EVENT = "POST_INITIALIZED_EVENT"  # CHILD_ADDED for each, then INITIALIZED


_CONNECTION_EVENTS = {
    ConnectionState.SUSPENDED: PathChildrenCacheEventType.CONNECTION_SUSPENDED,
    ConnectionState.RECONNECTED: PathChildrenCacheEventType.CONNECTION_RECONNECTED,
    ConnectionState.LOST: PathChildrenCacheEventType.CONNECTION_LOST,
}


class PathChildrenCache:
    """A local copy of a node's children (and their data, if ``cache_data``).

    ``listeners`` are called with ``(cache, event)``.

    Mirrors: org.apache.curator.framework.recipes.cache.PathChildrenCache.
    """

    def __init__(self, zk: ZooKeeper, path: str, cache_data: bool = True) -> None:
        self.zk = zk
        self.path = path
        self.cache_data = cache_data
        self.current: dict[str, ChildData] = {}  # full path -> data
        self.listeners: list[Callable[[PathChildrenCache, PathChildrenCacheEvent], Awaitable[None] | None]] = []
        self.events: list[PathChildrenCacheEvent] = []  # every event, in order (bounded)
        self._ops = _OperationQueue(f"PathChildrenCache {path}")
        self._post_initialized = False  # POST_INITIALIZED_EVENT: INITIALIZED after the first refresh
        self._closed = False
        self._seq = itertools.count()

    async def start(self, mode: StartMode = StartMode.NORMAL) -> None:
        ConnectionStateManager.of(self.zk).add_listener(self._state_changed)
        await ensure_path(self.zk, self.path, container=False)
        self._ops.start()
        if mode is StartMode.BUILD_INITIAL_CACHE:
            await self._refresh(post_events=False)
        elif mode is StartMode.POST_INITIALIZED_EVENT:
            self._post_initialized = True
            self._ops.offer("refresh", self._refresh)
        else:
            self._ops.offer("refresh", self._refresh)

    async def close(self) -> None:
        self._closed = True
        ConnectionStateManager.of(self.zk).remove_listener(self._state_changed)
        await self._ops.close()

    async def __aenter__(self) -> PathChildrenCache:
        await self.start(StartMode.BUILD_INITIAL_CACHE)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def get_current_data(self) -> list[ChildData]:
        """The children, sorted by path."""
        return [self.current[p] for p in sorted(self.current)]

    def get_current_data_for(self, path: str) -> ChildData | None:
        return self.current.get(path)

    async def wait_idle(self) -> None:
        await self._ops.idle.wait()

    # -- watchers only queue operations ---------------------------------------------------------

    def _child_watcher(self, event: WatchedEvent) -> None:
        if event.type is not EventType.NONE and not self._closed:
            self._ops.offer("refresh", self._refresh)

    def _data_watcher(self, event: WatchedEvent) -> None:
        if event.type is EventType.NONE or self._closed or event.path is None:
            return
        path = event.path
        if event.type is EventType.NodeDeleted:
            self._ops.offer(f"remove {path}", lambda: self._remove(path))
        elif event.type is EventType.NodeDataChanged:
            self._ops.offer(f"get {path}", lambda: self._get_data(path))

    # -- operations -----------------------------------------------------------------------------

    async def _refresh(self, post_events: bool = True) -> None:
        """RefreshOperation: list the children with a watch, drop the gone, load the new."""
        try:
            children = await retrying(self.zk, lambda: self.zk.get_children(self.path, watch=self._child_watcher))
        except NoNodeException:
            await ensure_path(self.zk, self.path, container=False)
            self._ops.offer("refresh", self._refresh)
            return
        full = {join(self.path, c) for c in children}
        for gone in sorted(set(self.current) - full):
            await self._remove(gone, post_events)
        for path in sorted(full):
            await self._get_data(path, post_events)
        if self._post_initialized:
            self._post_initialized = False
            await self._post(
                PathChildrenCacheEvent(PathChildrenCacheEventType.INITIALIZED, initial_data=self.get_current_data())
            )

    async def _get_data(self, path: str, post_events: bool = True) -> None:
        """GetDataOperation: read a child with a data watch; ADDED or UPDATED if it changed."""
        try:
            if self.cache_data:
                data, stat = await retrying(self.zk, lambda: self.zk.get_data(path, watch=self._data_watcher))
            else:
                got = await retrying(self.zk, lambda: self.zk.exists(path, watch=self._data_watcher))
                if got is None:
                    raise NoNodeException(path)
                data, stat = b"", got
        except NoNodeException:
            await self._remove(path, post_events)
            return
        new = ChildData(path, stat, data if self.cache_data else None)
        old = self.current.get(path)
        self.current[path] = new
        if not post_events:
            return
        if old is None:
            await self._post(PathChildrenCacheEvent(PathChildrenCacheEventType.CHILD_ADDED, new))
        elif old.stat.mzxid != stat.mzxid:
            await self._post(PathChildrenCacheEvent(PathChildrenCacheEventType.CHILD_UPDATED, new))

    async def _remove(self, path: str, post_events: bool = True) -> None:
        old = self.current.pop(path, None)
        if old is not None and post_events:
            await self._post(PathChildrenCacheEvent(PathChildrenCacheEventType.CHILD_REMOVED, old))

    async def _post(self, event: PathChildrenCacheEvent) -> None:
        self.events.append(event)
        del self.events[:-_MAX_QUEUED]
        for listener in list(self.listeners):
            await _call(listener, self, event)

    async def _state_changed(self, state: ConnectionState) -> None:
        kind = _CONNECTION_EVENTS.get(state)
        if kind is None or self._closed:
            return
        event = PathChildrenCacheEvent(kind)
        # Through the queue, so the event sits in order with the cache's own events.
        self._ops.offer(f"state {next(self._seq)}", lambda: self._post(event))
        if state is ConnectionState.RECONNECTED:
            self._ops.offer("refresh", self._refresh)
