"""The tree digest: a running fingerprint of the whole DataTree.

Every node has a digest, a CRC32 over its path, its data and the fields of its stat::

    CRC32( path bytes | data | czxid mzxid pzxid ctime mtime : long
                               version cversion aversion : int | ephemeralOwner : long )

and the tree's digest is the sum of its nodes' digests, modulo 2^64 (an additive hash:
a change costs "minus the old node digest, plus the new one"). Nodes under
``/zookeeper/`` are left out, and the root counts once although it is reachable as ``""``
and as ``"/"``.

Why have it: two servers that applied the same transactions hold the same digest, so a
follower (or a restart replaying a log) can check in O(1) that it built the same tree.
ZooKeeper 3.8 has it on by default (``zookeeper.digest.enabled``): every log entry carries
the digest the tree has *after* that transaction (a TxnDigest), and a snapshot ends with
the digest at its last zxid. Prep computes it ahead of time from its change records; the
tree recomputes it as it applies; a mismatch is logged, since it means the two disagree.

Mirrors: org.apache.zookeeper.server.DigestCalculator, NodeHashMapImpl and
org.apache.zookeeper.server.util.AdHash.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import ItemsView, Iterator

from zk.data.node import DataNode
from zk.jute.records import StatPersisted

__all__ = ["DIGEST_VERSION", "STAT_DIGEST", "ZOOKEEPER_NODE_SUBTREE", "NodeHashMap", "calculate_digest", "signed64"]

# Bumped whenever the method or its fields change (DigestCalculator.DIGEST_VERSION).
DIGEST_VERSION = 2

ZOOKEEPER_NODE_SUBTREE = "/zookeeper/"
# czxid mzxid pzxid ctime mtime: long, version cversion aversion: int, ephemeralOwner:
# long; 60 bytes. Not StatPersisted's order: pzxid comes third.
STAT_DIGEST = struct.Struct(">qqqqqiiiq")
_MASK64 = (1 << 64) - 1


def signed64(value: int) -> int:
    """A sum kept modulo 2^64, read back as Java's long."""
    value &= _MASK64
    return value - (1 << 64) if value >= 1 << 63 else value


def calculate_digest(path: str, data: bytes | None, stat: StatPersisted) -> int:
    """One node's digest (DigestCalculator.calculateDigest)."""
    if path.startswith(ZOOKEEPER_NODE_SUBTREE):
        return 0
    if path == "/":  # "" and "/" are the same node; always digest it as ""
        path = ""
    crc = zlib.crc32(path.encode("utf-8"))
    if data is not None:
        crc = zlib.crc32(data, crc)
    s = stat
    block = STAT_DIGEST.pack(s.czxid, s.mzxid, s.pzxid, s.ctime, s.mtime, s.version, s.cversion, s.aversion,
                       s.ephemeralOwner)  # fmt: skip
    return zlib.crc32(block, crc)


class NodeHashMap:
    """The tree's path → node map, keeping the tree digest as nodes come, go and change.

    Write only through ``put``, ``remove`` and ``pre_change``/``post_change`` around an
    in-place change of a node, as DataTree does; reads are a mapping's.

    Mirrors: org.apache.zookeeper.server.NodeHashMapImpl.
    """

    __slots__ = ("_digest", "_nodes")

    def __init__(self) -> None:
        self._nodes: dict[str, DataNode] = {}
        self._digest = 0  # AdHash: the sum of the node digests, modulo 2^64

    @property
    def digest(self) -> int:
        return signed64(self._digest)

    def put(self, path: str, node: DataNode) -> None:
        old = self._nodes.get(path)
        self._nodes[path] = node
        self._add(path, node)
        if old is not None:
            self._remove(path, old)

    def put_without_digest(self, path: str, node: DataNode) -> None:
        """The ``/`` alias of the root: the root counts once, as ``""``."""
        self._nodes[path] = node

    def remove(self, path: str) -> DataNode | None:
        node = self._nodes.pop(path, None)
        if node is not None:
            self._remove(path, node)
        return node

    def pre_change(self, path: str, node: DataNode) -> None:
        self._remove(path, node)

    def post_change(self, path: str, node: DataNode) -> None:
        self._add(path, node)

    def adopt(self, nodes: dict[str, DataNode], digest: int) -> None:
        """Take over a map built elsewhere (a snapshot's decoder), whose nodes carry
        their digests and whose ``digest`` is their sum. The map must be empty."""
        assert not self._nodes, "adopt replaces an empty map only"
        self._nodes = nodes
        self._digest = digest

    def clear(self) -> None:
        self._nodes.clear()
        self._digest = 0

    def _add(self, path: str, node: DataNode) -> None:
        if path.startswith(ZOOKEEPER_NODE_SUBTREE):
            return
        node.digest = calculate_digest(path, node.data, node.stat)
        self._digest += node.digest

    def _remove(self, path: str, node: DataNode) -> None:
        if path.startswith(ZOOKEEPER_NODE_SUBTREE):
            return
        self._digest -= node.digest  # the digest it was added with (Java caches it on the node)

    # --- reading, as a mapping ---------------------------------------------------------

    def get(self, path: str) -> DataNode | None:
        return self._nodes.get(path)

    def __getitem__(self, path: str) -> DataNode:
        return self._nodes[path]

    def __contains__(self, path: object) -> bool:
        return path in self._nodes

    def __iter__(self) -> Iterator[str]:
        return iter(self._nodes)

    def __len__(self) -> int:
        return len(self._nodes)

    def items(self) -> ItemsView[str, DataNode]:
        return self._nodes.items()
