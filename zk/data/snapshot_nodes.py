"""The nodes of a snapshot, decoded in one pass: the fast path of DataTree.deserialize.

A snapshot of a big tree is mostly one record repeated a million times::

    | path: ustring | data: buffer | acl: long | stat: StatPersisted (60 bytes) |

which the general reader decodes field by field: a dozen calls per node, and then as
many again to compute the node's digest from the path it has just turned into a
``str``. Here two precompiled structs read a whole node (its data length, then acl,
stat and the *next* path's length together) and the digest is taken from the bytes
already at hand: the path as it was in the file, the data, the stat in the digest's
field order::

    at  | n: int | path: n bytes | dlen: int | data: dlen bytes |
        | acl: long | czxid mzxid ctime mtime: long | version cversion aversion: int |
        | ephemeralOwner pzxid: long | n': int | path' ...      <- _TAIL covers these

This path only takes what is plainly well formed. At the first node it does not like
(a null path, a length out of range, bytes cut short, a path that is not UTF-8, a
missing parent, a path met twice) it stops *before* that node and returns its offset;
the general reader in DataTree.deserialize goes on from there, and it is the one that
raises, with its own message, or decodes the odd case. So the two cannot disagree on
what a file means: a test decodes random trees both ways and compares.

Mirrors: the loop of org.apache.zookeeper.server.DataTree.deserialize, with
NodeHashMapImpl.put's digest (DigestCalculator.calculateDigest) folded in.
"""

from __future__ import annotations

import collections
import dataclasses
import struct
import zlib

from zk.data.digest import STAT_DIGEST, ZOOKEEPER_NODE_SUBTREE
from zk.data.node import DataNode
from zk.jute.records import StatPersisted

__all__ = ["DecodedNodes", "decode_nodes"]

_INT = struct.Struct(">i")
# acl, then StatPersisted in file order (czxid mzxid ctime mtime version cversion
# aversion ephemeralOwner pzxid), then the next path's length: 8 + 60 + 4 = 72 bytes.
_TAIL = struct.Struct(">qqqqqiiiqqi")


@dataclasses.dataclass(slots=True)
class DecodedNodes:
    """What :func:`decode_nodes` read, for DataTree to take over.

    Attributes:
        nodes: path -> node, parents before children, each parent's ``children`` filled.
        digest: the sum of the nodes' digests (not yet reduced modulo 2^64).
        offset: where the first node not decoded starts (its path's length).
        acl_usage: ACL index -> how many nodes hold it.
        owners: (path, ephemeralOwner) of every node whose owner is not 0.
    """

    nodes: dict[str, DataNode]
    digest: int
    offset: int
    acl_usage: collections.Counter[int]
    owners: list[tuple[str, int]]


def decode_nodes(stream: bytes, offset: int, max_buffer: int) -> DecodedNodes:
    """Decode the well-formed nodes of ``stream`` from ``offset`` on (the first path's
    length), up to the ``"/"`` that ends them or the first node it leaves to the
    general reader. Never raises on bad bytes: it just stops there."""
    nodes: dict[str, DataNode] = {}
    acl_usage: collections.Counter[int] = collections.Counter()
    owners: list[tuple[str, int]] = []
    total = 0
    end = len(stream)
    unpack_int, unpack_tail = _INT.unpack_from, _TAIL.unpack_from
    pack_digest, crc32 = STAT_DIGEST.pack, zlib.crc32
    get = nodes.get
    at = offset
    if at + 4 > end:
        return DecodedNodes(nodes, total, at, acl_usage, owners)
    (n,) = unpack_int(stream, at)
    while True:
        # Invariant: ``at`` is where a node (or the "/" marker) starts, ``n`` its path's
        # length; every node before ``at`` is in ``nodes``.
        p = at + 4
        if n < 0 or n > max_buffer or p + n + 4 > end:
            break  # a null path, or cut short: the general reader says which
        raw_path = stream[p : p + n]
        try:
            path = raw_path.decode("utf-8")
        except UnicodeDecodeError:
            break
        if path == "/" or path in nodes:
            break  # the end marker (the general reader consumes it), or a duplicate
        q = p + n
        (dlen,) = unpack_int(stream, q)
        q += 4
        if dlen == -1:
            data = None
        elif 0 <= dlen <= max_buffer:
            data = stream[q : q + dlen]  # short if cut off: the check below stops it
            q += dlen
        else:
            break
        if q + _TAIL.size > end:
            break
        acl, czxid, mzxid, ctime, mtime, version, cversion, aversion, owner, pzxid, next_n = unpack_tail(stream, q)
        slash = path.rfind("/")
        parent = None
        if slash != -1:
            parent = get(path[:slash])
            if parent is None:
                break  # "unable to find parent": the general reader raises it
        stat = StatPersisted(czxid, mzxid, ctime, mtime, version, cversion, aversion, owner, pzxid)
        if path.startswith(ZOOKEEPER_NODE_SUBTREE):
            digest = 0  # not part of the tree digest (NodeHashMapImpl)
        else:
            # DigestCalculator.calculateDigest: CRC32 of path, data, then the stat in
            # the digest's order (pzxid third), as zk.data.digest.calculate_digest.
            crc = crc32(raw_path)
            if data is not None:
                crc = crc32(data, crc)
            digest = crc32(pack_digest(czxid, mzxid, pzxid, ctime, mtime, version, cversion, aversion, owner), crc)
            total += digest
        nodes[path] = DataNode(data, acl, stat, set(), digest)
        acl_usage[acl] += 1
        if parent is not None:
            parent.children.add(path[slash + 1 :])
            if owner != 0:
                owners.append((path, owner))
        at, n = q + _TAIL.size - 4, next_n
    return DecodedNodes(nodes, total, at, acl_usage, owners)
