"""Which container and TTL nodes are due for deletion.

A *container* node (CreateMode.CONTAINER) exists to hold children, for recipes such as
locks and leader election: once it has had a child and has none left, the server
deletes it. A *TTL* node (PERSISTENT_WITH_TTL) is deleted once it has had no children
and no change for longer than its TTL. Neither is deleted by a transaction of its own
making: a timer in the server asks, every ``znode.container.checkIntervalMs``, which
nodes are candidates, and submits a ``deleteContainer`` request for each, no faster
than ``znode.container.maxPerMinute``. Prep then checks the node again (it may have
gained a child meanwhile) before anything is logged.

This module is the decision alone; the timer and the requests belong to the server.

Mirrors: org.apache.zookeeper.server.ContainerManager (getCandidates, getElapsed,
getMinIntervalMs).
"""

from __future__ import annotations

from zk.data.ephemeral import EphemeralType
from zk.data.node import DataNode
from zk.data.tree import DataTree

__all__ = [
    "DEFAULT_CHECK_INTERVAL_MS",
    "DEFAULT_MAX_NEVER_USED_INTERVAL_MS",
    "DEFAULT_MAX_PER_MINUTE",
    "get_candidates",
    "get_elapsed",
    "get_min_interval_ms",
]

# ZooKeeperServerMain's defaults for the znode.container.* system properties.
DEFAULT_CHECK_INTERVAL_MS = 60_000
DEFAULT_MAX_PER_MINUTE = 10_000
DEFAULT_MAX_NEVER_USED_INTERVAL_MS = 0  # 0: a never-used container lives forever


def get_elapsed(node: DataNode, now_ms: int) -> int:
    """Milliseconds since the node was last modified, by the wall clock."""
    return now_ms - node.stat.mtime


def get_min_interval_ms(max_per_minute: int = DEFAULT_MAX_PER_MINUTE) -> int:
    """The pause between two deleteContainer requests."""
    return 60_000 // max_per_minute


def get_candidates(
    tree: DataTree, now_ms: int, max_never_used_interval_ms: int = DEFAULT_MAX_NEVER_USED_INTERVAL_MS
) -> list[str]:
    """Paths of the empty containers and expired TTL nodes, sorted.

    Args:
        tree: the server's tree.
        now_ms: the wall clock in ms (mtime is wall-clock time from the txn header).
        max_never_used_interval_ms: ``znode.container.maxNeverUsedIntervalMs``; a
            container that never had a child goes after this long (0: never).

    A container qualifies once it has no children and its persisted cversion is above
    0, so that a container made just before a check is not deleted before its first
    child arrives. Mirrors: ContainerManager.getCandidates.
    """
    candidates: set[str] = set()
    for path in tree.get_containers():
        node = tree.get_node(path)
        if node is None or node.children:
            continue
        if node.stat.cversion > 0 or (
            max_never_used_interval_ms != 0 and get_elapsed(node, now_ms) > max_never_used_interval_ms
        ):
            candidates.add(path)
    for path in tree.get_ttls():
        node = tree.get_node(path)
        if node is None or node.children:
            continue
        owner = node.stat.ephemeralOwner
        if EphemeralType.get(owner, tree.extended_types_enabled) is EphemeralType.TTL:
            ttl = EphemeralType.TTL.get_value(owner)
            if ttl != 0 and get_elapsed(node, now_ms) > ttl:
                candidates.add(path)
    return sorted(candidates)
