"""Locks on ephemeral sequential nodes: Curator's InterProcessMutex, and the naive lock.

**The lock that watches its predecessor** (InterProcessMutex). Every contender creates an
ephemeral sequential node under the lock path and lists the children, sorted by sequence::

    /locks/job/_c_9f..-lock-0000000004   <- holds the lock (lowest)
    /locks/job/_c_1e..-lock-0000000005   waits: watches ...04 only
    /locks/job/_c_77..-lock-0000000007   waits: watches ...05 only

The lowest node holds the lock; every other contender watches *only the node just before
its own* (:func:`gets_the_lock`). A release deletes one node and wakes one waiter: one
notification per release, whatever the number of waiters. A contender that dies loses its
ephemeral node, which wakes its successor, who re-reads the children and watches the next
predecessor down (or takes the lock).

**The naive lock** (:class:`NaiveLock`): everybody tries to create one ephemeral node,
``<path>/lock``; whoever fails sets an exists watch on it. A release wakes *every* waiter,
who all rush to create the node; one wins, the rest set their watches again. N waiters mean
N notifications and N creates per release: the herd effect (惊群效应).

**The trap between getChildren and the watch.** A waiter reads the children, then sets a
watch on its predecessor. If the predecessor goes in between, ``exists(watch)`` would
succeed with None and *leave a watch on a path that will never exist again*: a stray
watch, on the server and in the client, per such race. Curator (and we) set the watch with
``getData``, which on NoNode sets no watch; the waiter just reads the children again.

**Sessions.** The lock is the node, and the node lives as long as the session. On LOST
(session expired) a held lock is gone: :attr:`InterProcessMutex.lost` is set and
:meth:`~InterProcessMutex.is_acquired_in_this_process` turns False. On SUSPENDED the holder
cannot know; Curator's advice, and ours, is to stop the critical work until RECONNECTED.

Mirrors: org.apache.curator.framework.recipes.locks.InterProcessMutex, LockInternals,
StandardLockInternalsDriver. Differs: re-entrancy is per asyncio task, not per thread,
and any task of the process may release.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType

from zk.client import ZooKeeper
from zk.protocol.constants import CreateMode, EventType, WatcherType
from zk.protocol.errors import (
    KeeperException,
    NodeExistsException,
    NoNodeException,
    NoWatcherException,
    SessionExpiredException,
)
from zk.recipes.connection import ConnectionState, ConnectionStateManager, retrying
from zk.recipes.nodes import create_protected, ensure_path, guaranteed_delete, join, node_name, sort_children
from zk.watch.events import WatchedEvent

__all__ = [
    "IllegalMonitorStateError",
    "InterProcessMutex",
    "LockInternals",
    "NaiveLock",
    "PredicateResults",
    "gets_the_lock",
    "local_address",
]

log = logging.getLogger(__name__)

LOCK_NAME = "lock-"


class IllegalMonitorStateError(RuntimeError):
    """Release of a lock this task does not hold (Java's IllegalMonitorStateException)."""


def local_address() -> bytes:
    """What Curator writes into a node created without data: the local IP address."""
    try:
        return socket.gethostbyname(socket.gethostname()).encode()
    except OSError:
        return b"127.0.0.1"


@dataclass(frozen=True, slots=True)
class PredicateResults:
    """Does ``our`` node hold the lock, and if not, which node to watch.

    Mirrors: org.apache.curator.framework.recipes.locks.PredicateResults.
    """

    gets_the_lock: bool
    path_to_watch: str | None


def gets_the_lock(sorted_children: list[str], our_node: str, max_leases: int = 1) -> PredicateResults:
    """StandardLockInternalsDriver.getsTheLock: a pure function of the sorted children.

    We hold the lock if fewer than ``max_leases`` nodes sort before ours; otherwise we
    watch the node ``max_leases`` places before ours (the predecessor, for a mutex).

    Raises:
        NoNodeException: our node is not among the children (our session expired, or
            somebody deleted it); the caller starts again with a new node.
    """
    try:
        our_index = sorted_children.index(our_node)
    except ValueError:
        raise NoNodeException(f"Sequential path not found: {our_node}") from None
    if our_index < max_leases:
        return PredicateResults(True, None)
    return PredicateResults(False, sorted_children[our_index - max_leases])


LockPredicate = Callable[[list[str], str], PredicateResults]


@dataclass
class _Waiter:
    """The watcher of one wait: it counts what it is woken by (for the herd notebook)."""

    wake: asyncio.Event = field(default_factory=asyncio.Event)
    notifications: int = 0

    def __call__(self, event: WatchedEvent) -> None:
        if event.type is not EventType.NONE:
            self.notifications += 1
        self.wake.set()  # state changes wake us too: the loop re-reads the children


class LockInternals:
    """The acquire loop shared by the mutex, the read-write lock, the semaphore's inner
    lock and LeaderSelector.

    Args:
        zk: the client.
        path: the lock's parent node.
        lock_name: the name after the protection prefix (``lock-``, ``__READ__``, ...).
        predicate: (sorted children, our node name) -> PredicateResults.
        sort_names: the lock names stripped for sorting.

    Mirrors: org.apache.curator.framework.recipes.locks.LockInternals.
    """

    def __init__(
        self,
        zk: ZooKeeper,
        path: str,
        lock_name: str,
        predicate: LockPredicate | None = None,
        sort_names: tuple[str, ...] | None = None,
    ) -> None:
        self.zk = zk
        self.path = path
        self.lock_name = lock_name
        self.predicate: LockPredicate = predicate or (lambda children, ours: gets_the_lock(children, ours, 1))
        self.sort_names = sort_names or (lock_name,)
        self.notifications = 0  # watch events received by this contender's waits

    async def sorted_children(self) -> list[str]:
        return sort_children(await retrying(self.zk, lambda: self.zk.get_children(self.path)), *self.sort_names)

    async def attempt_lock(self, timeout: float | None, data: bytes) -> str | None:
        """Create our node and wait until it holds the lock; its path, or None on timeout.

        On NoNode (our node vanished under us) start again with a new node, as Curator does.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        for _ in range(10):
            our_path = await create_protected(self.zk, self.path, self.lock_name, data)
            try:
                if await self._internal_lock_loop(our_path, deadline):
                    return our_path
                return None
            except NoNodeException:
                log.info("lock node %s vanished, trying again", our_path)
        raise NoNodeException(self.path)

    async def _internal_lock_loop(self, our_path: str, deadline: float | None) -> bool:
        our_node = node_name(our_path)
        done = False
        try:
            while True:
                if not self.zk.state.is_alive():
                    raise SessionExpiredException(our_path)
                result = self.predicate(await self.sorted_children(), our_node)
                if result.gets_the_lock:
                    done = True
                    return True
                assert result.path_to_watch is not None
                previous = join(self.path, result.path_to_watch)
                waiter = _Waiter()
                try:
                    await self.watch_predecessor(previous, waiter)
                except NoNodeException:
                    continue  # it went between getChildren and getData: no watch was set
                try:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        raise TimeoutError
                    await asyncio.wait_for(waiter.wake.wait(), left)
                except TimeoutError:
                    await self._remove_watch(previous, waiter)
                    return False
                finally:
                    self.notifications += waiter.notifications
        finally:
            if not done:
                await guaranteed_delete(self.zk, our_path)

    async def watch_predecessor(self, previous: str, watcher: _Waiter) -> None:
        """Set the watch on the node before ours with getData, which sets none on NoNode.

        (A test overrides this to delete the predecessor first and prove the point.)
        """
        await retrying(self.zk, lambda: self.zk.get_data(previous, watch=watcher))

    async def _remove_watch(self, path: str, watcher: _Waiter) -> None:
        # Curator's WatcherRemoveCuratorFramework.removeWatchers: leave nothing behind.
        with contextlib.suppress(NoWatcherException, KeeperException):
            await self.zk.remove_watches(path, watcher, WatcherType.Data, local=True)

    async def release_lock(self, our_path: str) -> None:
        await guaranteed_delete(self.zk, our_path)

    async def participant_nodes(self) -> list[str]:
        """The contenders' node paths in lock order (``getParticipantNodes``)."""
        try:
            return [join(self.path, c) for c in await self.sorted_children()]
        except NoNodeException:
            return []


class InterProcessMutex:
    """A re-entrant mutex across processes, interoperable with Curator's.

    ``async with mutex:`` or ``await mutex.acquire(timeout)`` / ``await mutex.release()``.

    Args:
        zk: the client.
        path: the lock node; contenders' nodes go below it.
        data: what to write into our node (Curator: the local IP address).

    Mirrors: org.apache.curator.framework.recipes.locks.InterProcessMutex.
    """

    def __init__(
        self, zk: ZooKeeper, path: str, data: bytes | None = None, *, internals: LockInternals | None = None
    ) -> None:
        self.zk = zk
        self.path = path
        self.data = local_address() if data is None else data
        self.internals = internals or LockInternals(zk, path, LOCK_NAME)
        self.lock_path: str | None = None
        self.lost = asyncio.Event()  # set when the session holding the lock expired
        self._owner: asyncio.Task[object] | None = None
        self._count = 0
        self._mutex = asyncio.Lock()  # one acquire at a time from this process
        ConnectionStateManager.of(zk).add_listener(self._state_changed)

    def _state_changed(self, state: ConnectionState) -> None:
        if state is ConnectionState.LOST and self.lock_path is not None:
            log.warning("session expired: lock %s is lost", self.lock_path)
            self.lost.set()
            self.lock_path, self._owner, self._count = None, None, 0
            if self._mutex.locked():
                self._mutex.release()

    async def acquire(self, timeout: float | None = None) -> bool:
        """Wait for the lock (at most ``timeout`` seconds); False on timeout.

        Re-entrant: the task that holds the lock may acquire it again, and must release
        it as many times.
        """
        task = asyncio.current_task()
        if self._owner is not None and self._owner is task:
            self._count += 1
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            await asyncio.wait_for(self._mutex.acquire(), timeout)
        except TimeoutError:
            return False
        try:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            path = await self.internals.attempt_lock(left, self.data)
        except BaseException:
            self._mutex.release()
            raise
        if path is None:
            self._mutex.release()
            return False
        self.lost.clear()
        self.lock_path, self._owner, self._count = path, task, 1
        return True

    async def release(self) -> None:
        """Release once; the node goes when the count reaches 0.

        Any task of this process may release (Curator insists on the owning thread; an
        asyncio program often acquires in one task and releases in another).

        Raises:
            IllegalMonitorStateError: this process does not hold the lock (a lost lock is
                no longer held either: check :attr:`lost`).
        """
        if self._owner is None:
            raise IllegalMonitorStateError(f"You do not own the lock: {self.path}")
        self._count -= 1
        if self._count > 0:
            return
        path, self.lock_path, self._owner = self.lock_path, None, None
        try:
            assert path is not None
            await self.internals.release_lock(path)
        finally:
            self._mutex.release()

    def is_acquired_in_this_process(self) -> bool:
        return self.lock_path is not None and not self.lost.is_set()

    def is_owned_by_current_task(self) -> bool:
        return self.is_acquired_in_this_process() and self._owner is asyncio.current_task()

    async def participant_nodes(self) -> list[str]:
        return await self.internals.participant_nodes()

    @property
    def notifications(self) -> int:
        """Watch events this mutex's waits received (one per release it was next for)."""
        return self.internals.notifications

    async def __aenter__(self) -> InterProcessMutex:
        await self.acquire()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.is_owned_by_current_task():
            await self.release()


class NaiveLock:
    """The lock every beginner writes first: one ephemeral node, everybody watches it.

    Kept to measure the herd effect. Correct (one holder at a time), but each release
    wakes every waiter: :attr:`notifications` grows by N-1 per release with N contenders.

    Node: ``<path>/lock``, ephemeral. Mirrors: no Curator class (the "herd effect" section
    of the ZooKeeper recipes page describes it as the thing to avoid).
    """

    def __init__(self, zk: ZooKeeper, path: str, data: bytes | None = None) -> None:
        self.zk = zk
        self.path = path
        self.node = join(path, "lock")
        self.data = local_address() if data is None else data
        self.notifications = 0
        self.held = False

    async def acquire(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                await self.zk.create(self.node, self.data, mode=CreateMode.EPHEMERAL)
                self.held = True
                return True
            except NoNodeException:
                await ensure_path(self.zk, self.path)
                continue
            except NodeExistsException:
                pass
            waiter = _Waiter()
            # exists, not getData: a watch is set even if the holder just left, which is
            # the point of the herd (and harmless here: the node name is reused).
            if await self.zk.exists(self.node, watch=waiter) is None:
                continue
            left = None if deadline is None else deadline - time.monotonic()
            try:
                if left is not None and left <= 0:
                    raise TimeoutError
                await asyncio.wait_for(waiter.wake.wait(), left)
            except TimeoutError:
                with contextlib.suppress(KeeperException):
                    await self.zk.remove_watches(self.node, waiter, WatcherType.Data, local=True)
                return False
            finally:
                self.notifications += waiter.notifications

    async def release(self) -> None:
        if not self.held:
            raise IllegalMonitorStateError(f"You do not own the lock: {self.path}")
        self.held = False
        await guaranteed_delete(self.zk, self.node)

    async def __aenter__(self) -> NaiveLock:
        await self.acquire()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.held:
            await self.release()
