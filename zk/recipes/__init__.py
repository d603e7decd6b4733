"""zk.recipes: locks, leader election, caches, barriers, queues and counters on zk.client.

Chapter 15 of the book. Every recipe is a small protocol between clients that share
nothing but the tree, and each one takes a :class:`zk.client.ZooKeeper` (asyncio)::

    async with ZooKeeper(connect) as zk:
        async with InterProcessMutex(zk, "/locks/job"):
            ...                                    # one process at a time, Curator's too
        latch = LeaderLatch(zk, "/election", id="worker-1")
        await latch.start()
        await latch.await_leadership()

The recipes follow Apache Curator, whose node layouts they share, so a Python process and
a Java process using Curator can meet on one path:

| recipe | node created | Curator class |
|---|---|---|
| :class:`InterProcessMutex` | ``<path>/_c_<uuid>-lock-NNNNNNNNNN`` | InterProcessMutex |
| :class:`InterProcessReadWriteLock` | ``_c_<uuid>-__READ__N..``, ``_c_<uuid>-__WRIT__N..`` | the same |
| :class:`InterProcessSemaphoreV2` | ``<path>/leases/_c_<uuid>-lease-N..``, ``<path>/locks`` | the same |
| :class:`LeaderLatch` | ``<path>/_c_<uuid>-latch-N..``, data = id | LeaderLatch |
| :class:`LeaderSelector` | ``<path>/_c_<uuid>-lock-N..``, data = id | LeaderSelector |
| :class:`SimpleDistributedQueue` | ``<path>/qn-N..`` | SimpleDistributedQueue |

:class:`NaiveLock` is the lock not to write (every waiter watches one node), kept to
measure the herd effect. Blocking versions for scripts: :mod:`zk.recipes.blocking`.

Mirrors: org.apache.curator.framework.recipes (Curator 5.4).
"""

from zk.recipes.barriers import (
    AtomicValue,
    DistributedAtomicLong,
    DistributedBarrier,
    DistributedDoubleBarrier,
    SharedCount,
    SimpleDistributedQueue,
    VersionedValue,
)
from zk.recipes.caches import (
    NodeCache,
    PathChildrenCache,
    PathChildrenCacheEvent,
    PathChildrenCacheEventType,
    StartMode,
)
from zk.recipes.connection import ConnectionState, ConnectionStateManager
from zk.recipes.leader import LeaderLatch, LeaderSelector, Participant
from zk.recipes.locks import IllegalMonitorStateError, InterProcessMutex, NaiveLock, gets_the_lock
from zk.recipes.nodes import ChildData, fix_for_sorting, sort_children
from zk.recipes.rwlock import InterProcessReadWriteLock, InterProcessSemaphoreV2, Lease
from zk.recipes.tree_cache import CuratorCache, CuratorCacheEventType, TreeCache, TreeCacheEvent, TreeCacheEventType

__all__ = [
    "AtomicValue",
    "ChildData",
    "ConnectionState",
    "ConnectionStateManager",
    "CuratorCache",
    "CuratorCacheEventType",
    "DistributedAtomicLong",
    "DistributedBarrier",
    "DistributedDoubleBarrier",
    "IllegalMonitorStateError",
    "InterProcessMutex",
    "InterProcessReadWriteLock",
    "InterProcessSemaphoreV2",
    "LeaderLatch",
    "LeaderSelector",
    "Lease",
    "NaiveLock",
    "NodeCache",
    "Participant",
    "PathChildrenCache",
    "PathChildrenCacheEvent",
    "PathChildrenCacheEventType",
    "SharedCount",
    "SimpleDistributedQueue",
    "StartMode",
    "TreeCache",
    "TreeCacheEvent",
    "TreeCacheEventType",
    "VersionedValue",
    "fix_for_sorting",
    "gets_the_lock",
    "sort_children",
]
