"""A read-write lock and a counting semaphore, on the lock machinery of :mod:`zk.recipes.locks`.

**Read-write lock.** Readers and writers queue under one node, on one sequence::

    /rw/_c_..-__READ__0000000003    reader: holds (no writer before it)
    /rw/_c_..-__READ__0000000004    reader: holds
    /rw/_c_..-__WRIT__0000000005    writer: watches ...04 (its predecessor, like a mutex)
    /rw/_c_..-__READ__0000000006    reader: watches ...05 (the first writer before it)

A writer is a mutex over every node. A reader holds the lock when no writer sorts
before it, and otherwise watches the *first* writer before it. The task holding the
write lock may also take the read lock (downgrading).

**Semaphore** (InterProcessSemaphoreV2): ``max_leases`` holders at once. Contenders
serialise on an inner mutex at ``<path>/locks``, create a lease node in
``<path>/leases`` (``_c_<uuid>-lease-NNNNNNNNNN``), and while the leases number more than
``max_leases`` they wait on a children watch of ``<path>/leases``; then they release the
inner mutex. A lease is given back by deleting its node.

Mirrors: org.apache.curator.framework.recipes.locks.InterProcessReadWriteLock and
InterProcessSemaphoreV2 (node names checked against Curator 5.4 with the Debian jars).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from types import TracebackType

from zk.client import ZooKeeper
from zk.protocol.constants import EventType, WatcherType
from zk.protocol.errors import KeeperException, NoNodeException
from zk.recipes.locks import InterProcessMutex, LockInternals, PredicateResults, local_address
from zk.recipes.nodes import create_protected, guaranteed_delete, join, node_name
from zk.watch.events import WatchedEvent

__all__ = ["READ_LOCK_NAME", "WRITE_LOCK_NAME", "InterProcessReadWriteLock", "InterProcessSemaphoreV2", "Lease"]

READ_LOCK_NAME = "__READ__"
WRITE_LOCK_NAME = "__WRIT__"


def read_lock_predicate(children: list[str], our_node: str) -> PredicateResults:
    """A reader holds the lock when no writer sorts before it; else it watches the first one.

    Mirrors: InterProcessReadWriteLock.readLockPredicate.
    """
    first_write = None
    for index, node in enumerate(children):
        if WRITE_LOCK_NAME in node:
            if first_write is None:
                first_write = index
        elif node == our_node:
            if first_write is None:
                return PredicateResults(True, None)
            return PredicateResults(False, children[first_write])
    raise NoNodeException(f"Sequential path not found: {our_node}")


class InterProcessReadWriteLock:
    """Two locks on one path: :attr:`read_lock` (shared) and :attr:`write_lock` (exclusive).

    Mirrors: org.apache.curator.framework.recipes.locks.InterProcessReadWriteLock.
    """

    def __init__(self, zk: ZooKeeper, path: str, data: bytes | None = None) -> None:
        names = (READ_LOCK_NAME, WRITE_LOCK_NAME)
        self.write_lock = InterProcessMutex(
            zk, path, data, internals=LockInternals(zk, path, WRITE_LOCK_NAME, sort_names=names)
        )

        def reader(children: list[str], our_node: str) -> PredicateResults:
            if self.write_lock.is_owned_by_current_task():
                return PredicateResults(True, None)
            return read_lock_predicate(children, our_node)

        self.read_lock = InterProcessMutex(
            zk, path, data, internals=LockInternals(zk, path, READ_LOCK_NAME, predicate=reader, sort_names=names)
        )
        # Several tasks of one process may share the read lock: give each its own node.
        self.read_lock._mutex = _NoLocalExclusion()  # type: ignore[assignment]


class _NoLocalExclusion:
    """A stand-in for the read lock's in-process asyncio.Lock: readers do not exclude
    each other, so tasks of one process must not queue behind one another."""

    def locked(self) -> bool:
        return False

    async def acquire(self) -> bool:
        return True

    def release(self) -> None:
        pass


@dataclass
class Lease:
    """One lease of a semaphore; give it back with ``await lease.close()``.

    Mirrors: org.apache.curator.framework.recipes.locks.Lease.
    """

    zk: ZooKeeper
    path: str

    async def close(self) -> None:
        await guaranteed_delete(self.zk, self.path)

    @property
    def node_name(self) -> str:
        return node_name(self.path)


class InterProcessSemaphoreV2:
    """At most ``max_leases`` holders at a time, across processes.

    Mirrors: org.apache.curator.framework.recipes.locks.InterProcessSemaphoreV2
    (without SharedCount-driven max leases).
    """

    def __init__(self, zk: ZooKeeper, path: str, max_leases: int, data: bytes | None = None) -> None:
        if max_leases < 1:
            raise ValueError("max_leases must be at least 1")
        self.zk = zk
        self.path = path
        self.max_leases = max_leases
        self.data = local_address() if data is None else data
        self.leases_path = join(path, "leases")
        self.lock = InterProcessMutex(zk, join(path, "locks"), self.data)

    async def acquire(self, qty: int = 1, timeout: float | None = None) -> list[Lease] | None:
        """``qty`` leases, or None (and none held) if they did not come within ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        leases: list[Lease] = []
        for _ in range(qty):
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            lease = await self._acquire_one(left)
            if lease is None:
                for held in leases:
                    await held.close()
                return None
            leases.append(lease)
        return leases

    async def _acquire_one(self, timeout: float | None) -> Lease | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        if not await self.lock.acquire(timeout):
            return None
        try:
            our_path = await create_protected(self.zk, self.leases_path, "lease-", self.data)
            our_node = node_name(our_path)
            while True:
                changed = asyncio.Event()

                def watcher(event: WatchedEvent, changed: asyncio.Event = changed) -> None:
                    if event.type is not EventType.NONE:
                        changed.set()

                children = await self.zk.get_children(self.leases_path, watch=watcher)
                if our_node not in children:
                    raise NoNodeException(f"Sequential path not found: {our_path}")
                if len(children) <= self.max_leases:
                    return Lease(self.zk, our_path)
                left = None if deadline is None else deadline - time.monotonic()
                try:
                    if left is not None and left <= 0:
                        raise TimeoutError
                    await asyncio.wait_for(changed.wait(), left)
                except TimeoutError:
                    with contextlib.suppress(KeeperException):
                        await self.zk.remove_watches(self.leases_path, watcher, WatcherType.Children, local=True)
                    await guaranteed_delete(self.zk, our_path)
                    return None
        finally:
            await self.lock.release()

    async def participant_nodes(self) -> list[str]:
        try:
            return sorted(await self.zk.get_children(self.leases_path))
        except NoNodeException:
            return []

    async def __aenter__(self) -> list[Lease]:
        leases = await self.acquire()
        assert leases is not None
        self._held = leases
        return leases

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for lease in self._held:
            await lease.close()
