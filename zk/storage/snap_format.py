"""The snapshot file, as bytes: header, sessions, ACLs, nodes, and the checksum seals.

::

    | magic int "ZKSN" 0x5a4b534e | version int 2 | dbid long -1 |            FileHeader
    | count int | (session id long, timeout int) * count |                     sessions
    | map int | (index long, acls vector<ACL>) * map |                          ACL cache
    | (path ustring, data buffer, acl long, StatPersisted) * |                 nodes, parents
    | path ustring "/" |                                                           first
    | val long  Adler32 of every byte before it | path ustring "/" |           seal
    | zxid long | digestVersion int | digest long |                            ZxidDigest (3.6+,
    | val long  Adler32 of every byte before it | path ustring "/" |           seal   optional)

The root is written with path ``""``; the lone ``"/"`` marks the end of the nodes. A
snapshot counts as *valid* to start with only if it ends in ``00 00 00 01 2f`` (a
string of length 1, ``/``), so a file cut short is rejected before it is read; reading
it then checks both seals. Files named ``.gz`` are gzip over the same stream (the
checksum covers the uncompressed bytes); ``.snappy`` ones we do not read.

:func:`serialize_snapshot` yields the bytes in slices of a few thousand nodes so that
the server can write a snapshot while it keeps applying transactions between slices:
the result is *fuzzy*, as ZooKeeper's, and correct once the log after its zxid is
replayed over it (see the chapter).

Mirrors: org.apache.zookeeper.server.persistence.FileSnap (SNAP_MAGIC, serialize,
deserialize), SnapStream (sealStream, checkSealIntegrity, isValidCheckedStream),
org.apache.zookeeper.server.util.SerializeUtils (serializeSnapshot,
deserializeSnapshot) and DataTree.ZxidDigest.
"""

from __future__ import annotations

import dataclasses
import gzip
import operator
import struct
import zlib
from collections.abc import Iterator, Mapping

from zk.data import DataTree
from zk.data.digest import DIGEST_VERSION
from zk.jute.codec import JuteError, Reader, Writer
from zk.jute.records import FileHeader, StatPersisted

__all__ = [
    "DBID",
    "SNAP_MAGIC",
    "VERSION",
    "SnapshotError",
    "SnapshotInfo",
    "ZxidDigest",
    "decode_snapshot_stream",
    "deserialize_snapshot",
    "is_valid_snapshot_tail",
    "serialize_snapshot",
]

SNAP_MAGIC = int.from_bytes(b"ZKSN", "big")  # 0x5a4b534e
VERSION = 2
DBID = -1
_SEAL_PATH = b"\x00\x00\x00\x01/"  # writeString("/"): what a whole snapshot ends with
_INT = struct.Struct(">i")
_ACL_STAT = struct.Struct(">qqqqqiiiqq")  # a node's acl long, then its StatPersisted
_stat_fields = operator.attrgetter(*(name for name, _ in StatPersisted.FIELDS))


class SnapshotError(ValueError):
    """The bytes are not a whole, intact snapshot (a damaged or foreign file)."""


@dataclasses.dataclass(frozen=True, slots=True)
class ZxidDigest:
    """The tree's digest at a zxid, written after the first seal. Mirrors:
    DataTree.ZxidDigest."""

    zxid: int
    digest_version: int
    digest: int


@dataclasses.dataclass(frozen=True, slots=True)
class SnapshotInfo:
    """What a snapshot held besides the tree."""

    sessions: dict[int, int]
    digest: ZxidDigest | None


def is_valid_snapshot_tail(size: int, tail: bytes) -> bool:
    """At least 10 bytes, ending in the ``"/"`` of a seal. Mirrors:
    SnapStream.isValidCheckedStream."""
    return size >= 10 and tail[-5:] == _SEAL_PATH


def serialize_snapshot(
    tree: DataTree,
    sessions: Mapping[int, int],
    *,
    digest: ZxidDigest | None = None,
    slice_nodes: int = 5000,
) -> Iterator[bytes]:
    """The snapshot's bytes, a slice of ``slice_nodes`` nodes at a time.

    Between two slices the caller may change the tree (apply transactions): a node
    deleted in between is skipped, as Java's serializeNode skips a vanished node; a
    node added under a parent not yet written is written with it.

    Mirrors: FileSnap.serialize and DataTree.serializeNode (children sorted, Java's are
    in hash order).
    """
    adler = 1  # Adler32's initial value

    def out(w: Writer) -> bytes:
        nonlocal adler
        chunk = bytes(w.buf)
        adler = zlib.adler32(chunk, adler)
        w.buf.clear()
        return chunk

    w = Writer()
    FileHeader(SNAP_MAGIC, VERSION, DBID).encode(w)
    w.write_int(len(sessions))
    for session_id, timeout in sessions.items():
        w.write_long(session_id)
        w.write_int(timeout)
    tree.acl_cache.serialize(w)
    stack = [""]
    written = 0
    buf, pack_int, pack_acl_stat = w.buf, _INT.pack, _ACL_STAT.pack
    while stack:
        path = stack.pop()
        node = tree.nodes.get(path)
        if node is None:
            continue
        # w.write_ustring(path), write_buffer(data), write_long(acl), stat.encode(w),
        # with two precompiled structs: this runs once per node of the tree.
        raw, data = path.encode("utf-8"), node.data
        buf += pack_int(len(raw))
        buf += raw
        if data is None:
            buf += pack_int(-1)
        else:
            buf += pack_int(len(data))
            buf += data
        buf += pack_acl_stat(node.acl, *_stat_fields(node.stat))
        if node.children:  # most nodes are leaves
            stack.extend(f"{path}/{c}" for c in sorted(node.children, reverse=True))
        written += 1
        if written % slice_nodes == 0:
            yield out(w)  # the tree may change before the next slice
    w.write_ustring("/")
    yield out(w)
    w.write_long(adler)  # SnapStream.sealStream
    w.write_ustring("/")
    if digest is None:
        # The digest at the last zxid applied *now*, after the walk: a fuzzy snapshot's
        # tree is whole once replay reaches it (DataTree.serializeZxidDigest; ZooKeeper
        # writes an empty one, zxid 0, before any txn).
        zxid, value = tree.last_processed_zxid_digest or (0, 0)
        digest = ZxidDigest(zxid, DIGEST_VERSION, value)
    w.write_long(digest.zxid)
    w.write_int(digest.digest_version)
    w.write_long(digest.digest)
    yield out(w)
    w.write_long(adler)
    w.write_ustring("/")
    yield out(w)


def decode_snapshot_stream(name: str, raw: bytes) -> bytes:
    """The uncompressed stream of a snapshot file named ``name``.

    Raises:
        SnapshotError: a compressed file that does not decompress, or snappy.
    """
    mode = name.rsplit(".", 1)[-1].lower() if name.count(".") >= 2 else ""
    if mode == "gz":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise SnapshotError(f"{name}: not a gzip stream: {e}") from None
    if mode == "snappy":
        raise SnapshotError(f"{name}: snappy snapshots are not supported")
    return raw


def deserialize_snapshot(stream: bytes, tree: DataTree) -> SnapshotInfo:
    """Load a snapshot's stream into ``tree`` (which it replaces) and check its seals.

    Raises:
        SnapshotError: bad magic, a layout that does not parse, a seal that does not
            match. ``tree`` is then half loaded: use a fresh one per attempt.

    Mirrors: FileSnap.deserialize (one file) and SnapStream.checkSealIntegrity.
    """
    r = Reader(stream, max_buffer=len(stream))
    try:
        header = FileHeader.decode(r)
        if header.magic != SNAP_MAGIC:
            raise SnapshotError(f"mismatching magic headers {header.magic} != {SNAP_MAGIC}")
        sessions: dict[int, int] = {}
        for _ in range(r.read_int()):
            session_id = r.read_long()
            sessions[session_id] = r.read_int()
        tree.deserialize(r)
        _check_seal(stream, r)
        digest: ZxidDigest | None = None
        if r.remaining:
            zxid, version = r.read_long(), r.read_int()
            if version < 2:  # digests before version 2 were hex strings
                text = r.read_ustring()
                value = int(text, 16) if text else 0
            else:
                value = r.read_long()
            digest = ZxidDigest(zxid, version, value)
            _check_seal(stream, r)
    except SnapshotError:
        raise
    except (ValueError, KeyError) as e:  # JuteError is a ValueError; so is DataTree's
        raise SnapshotError(f"snapshot does not parse: {e}") from None
    return SnapshotInfo(sessions, digest if digest is not None and digest.zxid > 0 else None)


def _check_seal(stream: bytes, r: Reader) -> None:
    expected = zlib.adler32(stream[: r.offset])
    val = r.read_long()
    if r.read_ustring() != "/":
        raise JuteError("a seal without its '/'")
    if val != expected:
        raise SnapshotError("CRC corruption")
