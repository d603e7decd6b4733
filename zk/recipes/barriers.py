"""Barriers, a queue and counters: the smaller recipes of the ZooKeeper recipes page.

**Barrier** (DistributedBarrier): a node that blocks whoever waits on it while it exists.
``set_barrier`` creates it, ``remove_barrier`` deletes it, ``wait_on_barrier`` loops on
``exists(watch)`` until it is gone.

**Double barrier** (DistributedDoubleBarrier): ``member_qty`` processes enter together and
leave together. Entering creates ``<path>/<uuid>`` (ephemeral) and waits for
``<path>/ready``, which the member that sees ``member_qty`` children creates. Leaving
follows the recipes page: the member with the lowest name waits for the others to go
(watching the highest), every other member deletes its node and waits for the lowest.

**Queue** (SimpleDistributedQueue): ``offer`` creates ``<path>/qn-NNNNNNNNNN`` (persistent
sequential); ``take`` reads the lowest, and whoever deletes it owns the item (a NoNode on
delete means another consumer was faster: try the next).

**Counters**, compare-and-set on the node's version: :class:`SharedCount` (a 4-byte int,
``try_set_count`` succeeds only if nobody wrote since the version you read) and
:class:`DistributedAtomicLong` (an 8-byte long; ``increment`` retries the CAS until it wins).

Mirrors: org.apache.curator.framework.recipes.barriers.DistributedBarrier,
DistributedDoubleBarrier, queue.SimpleDistributedQueue, shared.SharedCount and
atomic.DistributedAtomicLong (optimistic mode only, no promoted lock).
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
import uuid
from dataclasses import dataclass

from zk.client import ZooKeeper
from zk.protocol.constants import CreateMode, EventType
from zk.protocol.errors import BadVersionException, NodeExistsException, NoNodeException
from zk.recipes.connection import retrying
from zk.recipes.nodes import ensure_path, join, parent_of
from zk.watch.events import WatchedEvent

__all__ = [
    "AtomicValue",
    "DistributedAtomicLong",
    "DistributedBarrier",
    "DistributedDoubleBarrier",
    "SharedCount",
    "SimpleDistributedQueue",
    "VersionedValue",
]

READY_NODE = "ready"
QUEUE_PREFIX = "qn-"


class _Wake:
    """A watcher that wakes one waiting coroutine on any node event."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    def __call__(self, event: WatchedEvent) -> None:
        if event.type is not EventType.NONE:
            self.event.set()

    async def wait(self, deadline: float | None) -> bool:
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            return False
        try:
            await asyncio.wait_for(self.event.wait(), left)
            return True
        except TimeoutError:
            return False


def _deadline(timeout: float | None) -> float | None:
    return None if timeout is None else time.monotonic() + timeout


async def _create_with_parents(zk: ZooKeeper, path: str, data: bytes, mode: CreateMode) -> str:
    while True:
        try:
            return await zk.create(path, data, mode=mode)
        except NoNodeException:
            await ensure_path(zk, parent_of(path), container=False)


class DistributedBarrier:
    """Mirrors: org.apache.curator.framework.recipes.barriers.DistributedBarrier."""

    def __init__(self, zk: ZooKeeper, path: str) -> None:
        self.zk = zk
        self.path = path

    async def set_barrier(self) -> None:
        with contextlib.suppress(NodeExistsException):
            await retrying(self.zk, lambda: _create_with_parents(self.zk, self.path, b"", CreateMode.PERSISTENT))

    async def remove_barrier(self) -> None:
        with contextlib.suppress(NoNodeException):
            await retrying(self.zk, lambda: self.zk.delete(self.path))

    async def wait_on_barrier(self, timeout: float | None = None) -> bool:
        """Wait until the barrier node is gone; False on timeout."""
        deadline = _deadline(timeout)
        while True:
            wake = _Wake()
            if await retrying(self.zk, self.zk.exists, self.path, watch=wake) is None:
                return True
            if not await wake.wait(deadline):
                return False


class DistributedDoubleBarrier:
    """Mirrors: org.apache.curator.framework.recipes.barriers.DistributedDoubleBarrier."""

    def __init__(self, zk: ZooKeeper, path: str, member_qty: int) -> None:
        self.zk = zk
        self.path = path
        self.member_qty = member_qty
        self.our_path = join(path, str(uuid.uuid4()))
        self.ready_path = join(path, READY_NODE)

    async def enter(self, timeout: float | None = None) -> bool:
        """Wait until ``member_qty`` members have entered; False (and left) on timeout."""
        deadline = _deadline(timeout)
        wake = _Wake()
        ready = await retrying(self.zk, lambda: self.zk.exists(self.ready_path, watch=wake)) is not None
        await _create_with_parents(self.zk, self.our_path, b"", CreateMode.EPHEMERAL)
        if ready:
            return True
        children = await retrying(self.zk, lambda: self.zk.get_children(self.path))
        if len([c for c in children if c != READY_NODE]) >= self.member_qty:
            with contextlib.suppress(NodeExistsException):
                await self.zk.create(self.ready_path, b"", mode=CreateMode.PERSISTENT)
            return True
        if await wake.wait(deadline):
            return True
        await self.leave(timeout=0)
        return False

    async def leave(self, timeout: float | None = None) -> bool:
        """Wait until every member has left; False on timeout (``internalLeave``)."""
        deadline = _deadline(timeout)
        our_name = self.our_path.rsplit("/", 1)[-1]
        while True:
            children = sorted(
                c for c in await retrying(self.zk, lambda: self.zk.get_children(self.path)) if c != READY_NODE
            )
            if not children or children == [our_name]:
                await self._delete_ours()
                with contextlib.suppress(NoNodeException):
                    await self.zk.delete(self.ready_path)
                return True
            wake = _Wake()
            if children[0] == our_name:
                target = children[-1]  # the lowest waits for the highest
            else:
                if our_name in children:
                    await self._delete_ours()  # everyone else goes, then waits for the lowest
                target = children[0]
            target_path = join(self.path, target)
            if await retrying(self.zk, self.zk.exists, target_path, watch=wake) is None:
                continue
            if not await wake.wait(deadline):
                return False

    async def _delete_ours(self) -> None:
        with contextlib.suppress(NoNodeException):
            await retrying(self.zk, lambda: self.zk.delete(self.our_path))


class SimpleDistributedQueue:
    """A FIFO of byte strings in persistent sequential nodes.

    Mirrors: org.apache.curator.framework.recipes.queue.SimpleDistributedQueue.
    """

    def __init__(self, zk: ZooKeeper, path: str) -> None:
        self.zk = zk
        self.path = path

    async def offer(self, data: bytes) -> str:
        """Append ``data``; returns the node's path."""
        # Not retried on ConnectionLoss: a sequential create cannot be repeated safely.
        path = join(self.path, QUEUE_PREFIX)
        return await _create_with_parents(self.zk, path, data, CreateMode.PERSISTENT_SEQUENTIAL)

    async def _ordered(self, watcher: _Wake | None) -> list[str]:
        try:
            children = await retrying(self.zk, self.zk.get_children, self.path, watch=watcher or False)
        except NoNodeException:
            await ensure_path(self.zk, self.path, container=False)
            children = await retrying(self.zk, self.zk.get_children, self.path, watch=watcher or False)
        return sorted(c for c in children if c.startswith(QUEUE_PREFIX))

    async def peek(self) -> bytes | None:
        for child in await self._ordered(None):
            with contextlib.suppress(NoNodeException):
                data, _ = await retrying(self.zk, self.zk.get_data, join(self.path, child))
                return data
        return None

    async def poll(self, timeout: float | None = 0) -> bytes | None:
        """Remove and return the head, waiting at most ``timeout`` seconds (None: forever)."""
        deadline = _deadline(timeout)
        while True:
            wake = _Wake()
            for child in await self._ordered(wake):
                path = join(self.path, child)
                try:
                    data, _ = await retrying(self.zk, self.zk.get_data, path)
                    await self.zk.delete(path)
                except NoNodeException:
                    continue  # another consumer took it
                return data
            if not await wake.wait(deadline):
                return None

    async def take(self) -> bytes:
        data = await self.poll(timeout=None)
        assert data is not None
        return data


@dataclass(frozen=True, slots=True)
class VersionedValue:
    """A value and the node version it was read at. Mirrors: shared.VersionedValue."""

    version: int
    value: int


class SharedCount:
    """An int shared by everyone (4 bytes, big-endian, as Curator stores it).

    Mirrors: org.apache.curator.framework.recipes.shared.SharedCount (without listeners).
    """

    def __init__(self, zk: ZooKeeper, path: str, seed: int = 0) -> None:
        self.zk = zk
        self.path = path
        self.seed = seed

    async def start(self) -> None:
        """Create the node with the seed value if it does not exist."""
        with contextlib.suppress(NodeExistsException):
            await _create_with_parents(self.zk, self.path, struct.pack(">i", self.seed), CreateMode.PERSISTENT)

    async def get_versioned_value(self) -> VersionedValue:
        data, stat = await retrying(self.zk, lambda: self.zk.get_data(self.path))
        return VersionedValue(stat.version, struct.unpack(">i", data)[0])

    async def get_count(self) -> int:
        return (await self.get_versioned_value()).value

    async def set_count(self, value: int) -> None:
        await retrying(self.zk, lambda: self.zk.set_data(self.path, struct.pack(">i", value)))

    async def try_set_count(self, previous: VersionedValue, value: int) -> bool:
        """Set ``value`` only if the node is still at ``previous.version``: compare-and-set."""
        try:
            await retrying(self.zk, lambda: self.zk.set_data(self.path, struct.pack(">i", value), previous.version))
            return True
        except BadVersionException:
            return False


@dataclass(frozen=True, slots=True)
class AtomicValue:
    """The outcome of an atomic operation. Mirrors: atomic.AtomicValue."""

    succeeded: bool
    pre_value: int
    post_value: int
    attempts: int


class DistributedAtomicLong:
    """A long counter updated by compare-and-set on the node version.

    Mirrors: org.apache.curator.framework.recipes.atomic.DistributedAtomicLong (optimistic
    mode: retry the CAS up to ``max_attempts`` times).
    """

    def __init__(self, zk: ZooKeeper, path: str, max_attempts: int = 1000) -> None:
        self.zk = zk
        self.path = path
        self.max_attempts = max_attempts

    async def _read(self) -> tuple[int, int | None]:
        """(value, version); version None while the node does not exist."""
        try:
            data, stat = await retrying(self.zk, lambda: self.zk.get_data(self.path))
        except NoNodeException:
            return 0, None
        return (struct.unpack(">q", data)[0] if data else 0), stat.version

    async def get(self) -> int:
        return (await self._read())[0]

    async def compare_and_set(self, expected: int, new: int) -> AtomicValue:
        value, version = await self._read()
        if value != expected:
            return AtomicValue(False, value, value, 1)
        return await self._try_write(value, version, new, 1)

    async def _try_write(self, value: int, version: int | None, new: int, attempts: int) -> AtomicValue:
        data = struct.pack(">q", new)
        try:
            if version is None:
                await _create_with_parents(self.zk, self.path, data, CreateMode.PERSISTENT)
            else:
                await self.zk.set_data(self.path, data, version)
            return AtomicValue(True, value, new, attempts)
        except (BadVersionException, NodeExistsException):
            return AtomicValue(False, value, value, attempts)

    async def add(self, delta: int) -> AtomicValue:
        """Add ``delta``, retrying the CAS while others win it."""
        for attempt in range(1, self.max_attempts + 1):
            value, version = await self._read()
            result = await self._try_write(value, version, value + delta, attempt)
            if result.succeeded:
                return result
        return AtomicValue(False, value, value, self.max_attempts)

    async def increment(self) -> AtomicValue:
        return await self.add(1)

    async def decrement(self) -> AtomicValue:
        return await self.add(-1)
