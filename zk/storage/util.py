"""Names of the files in a data directory, and how a transaction becomes bytes.

A data directory holds two kinds of file, each named after a zxid in hex (no leading
zeros, lower case, as Java's ``Long.toHexString``)::

    <dataLogDir>/version-2/log.<zxid of its first txn>         log.1, log.1f4a3
    <dataDir>/version-2/snapshot.<last zxid it covers>[.gz]     snapshot.0, snapshot.1f4a2

Sorting by the zxid in the name, not by the name, orders them (``log.a`` < ``log.10``).

A transaction is logged as its header, then its record, then (since 3.6, when
``zookeeper.digest.enabled``) the digest of the tree after it::

    txn entry = | TxnHeader | txn record (absent for some closeSessions) | TxnDigest? |

Reading one back is ``SerializeUtils.deserializeTxn``: the header's type picks the
record class; a create that ends early is an old ``CreateTxnV0`` (parentCVersion -1);
a closeSession with no body is a pre-3.6 one; whatever 12 bytes remain are the digest.

Mirrors: org.apache.zookeeper.server.persistence.Util (makeLogName, makeSnapshotName,
getZxidFromName, sortDataDir, marshallTxnEntry) and
org.apache.zookeeper.server.util.SerializeUtils.deserializeTxn.
"""

from __future__ import annotations

import dataclasses
import re
import struct
from collections.abc import Iterable

from zk.jute.codec import JuteError, Reader, Record, Writer
from zk.jute.records import (
    ACL,
    CloseSessionTxn,
    CreateContainerTxn,
    CreateSessionTxn,
    CreateTTLTxn,
    CreateTxn,
    CreateTxnV0,
    DeleteTxn,
    ErrorTxn,
    MultiTxn,
    SetACLTxn,
    SetDataTxn,
    TxnDigest,
    TxnHeader,
)
from zk.protocol.constants import OpCode

__all__ = [
    "LOG_FILE_PREFIX",
    "SNAPSHOT_FILE_PREFIX",
    "VERSION_DIR",
    "TxnLogEntry",
    "deserialize_txn",
    "get_zxid_from_name",
    "is_log_file_name",
    "is_snapshot_file_name",
    "make_log_name",
    "make_snapshot_name",
    "marshall_txn_entry",
    "sort_data_dir",
    "zxid_str",
]

LOG_FILE_PREFIX = "log"
SNAPSHOT_FILE_PREFIX = "snapshot"
VERSION_DIR = "version-2"  # FileTxnSnapLog.version + FileTxnSnapLog.VERSION

# The record of each txn type (SerializeUtils.deserializeTxn's switch).
TXN_RECORDS: dict[int, type[Record]] = {
    OpCode.createSession: CreateSessionTxn,
    OpCode.closeSession: CloseSessionTxn,
    OpCode.create: CreateTxn,
    OpCode.create2: CreateTxn,
    OpCode.createTTL: CreateTTLTxn,
    OpCode.createContainer: CreateContainerTxn,
    OpCode.delete: DeleteTxn,
    OpCode.deleteContainer: DeleteTxn,
    OpCode.reconfig: SetDataTxn,
    OpCode.setData: SetDataTxn,
    OpCode.setACL: SetACLTxn,
    OpCode.error: ErrorTxn,
    OpCode.multi: MultiTxn,
}

_HEX = re.compile(r"[+-]?[0-9a-fA-F]+")


def zxid_str(zxid: int) -> str:
    """``0x1f4a3``: how ZooKeeper prints a zxid in its logs."""
    return f"0x{zxid:x}"


def make_log_name(zxid: int) -> str:
    """``log.<hex>``. Mirrors: Util.makeLogName."""
    return f"{LOG_FILE_PREFIX}.{zxid:x}"


def make_snapshot_name(zxid: int, extension: str = "") -> str:
    """``snapshot.<hex>`` plus ``.gz``/``.snappy`` for compressed ones. Mirrors:
    Util.makeSnapshotName."""
    return f"{SNAPSHOT_FILE_PREFIX}.{zxid:x}{extension}"


def get_zxid_from_name(name: str, prefix: str) -> int:
    """The zxid in ``<prefix>.<hex>[.anything]``, or -1 if the name is not one.

    Mirrors: Util.getZxidFromName (``Long.parseLong(part, 16)``: a sign is allowed,
    values past a signed long are not).
    """
    parts = name.split(".")
    if len(parts) < 2 or parts[0] != prefix or not _HEX.fullmatch(parts[1]):
        return -1
    zxid = int(parts[1], 16)
    return zxid if -(1 << 63) <= zxid < (1 << 63) else -1


def is_log_file_name(name: str) -> bool:
    """Mirrors: Util.isLogFileName."""
    return name.startswith(LOG_FILE_PREFIX + ".")


def is_snapshot_file_name(name: str) -> bool:
    """Mirrors: Util.isSnapshotFileName."""
    return name.startswith(SNAPSHOT_FILE_PREFIX + ".")


def sort_data_dir(names: Iterable[str], prefix: str, *, ascending: bool) -> list[str]:
    """Names ordered by the zxid in them (a stable sort, as Java's). Mirrors:
    Util.sortDataDir."""
    return sorted(names, key=lambda n: get_zxid_from_name(n, prefix), reverse=not ascending)


@dataclasses.dataclass(frozen=True, slots=True)
class TxnLogEntry:
    """One transaction as the log holds it. Mirrors: org.apache.zookeeper.server.TxnLogEntry."""

    header: TxnHeader
    txn: Record | None
    digest: TxnDigest | None = None


def marshall_txn_entry(header: TxnHeader, txn: Record | None, digest: TxnDigest | None = None) -> bytes:
    """Header, record, digest, back to back. Mirrors: Util.marshallTxnEntry."""
    w = Writer()
    header.encode(w)
    if txn is not None:
        txn.encode(w)
    if digest is not None:
        digest.encode(w)
    return w.getvalue()


def deserialize_txn(data: bytes, max_buffer: int) -> TxnLogEntry:
    """Decode one txn entry.

    Raises:
        JuteError: the bytes are not a txn entry (an unknown type, a record cut short).
            A caller that has checked the entry's checksum treats this as a damaged
            file, never as a crash.

    Mirrors: SerializeUtils.deserializeTxn.
    """
    if len(data) >= _HEADER.size and _HEADER.unpack_from(data)[4] in _CREATES:
        entry = _decode_create(data, max_buffer)
        if entry is not None:
            return entry
    r = Reader(data, max_buffer)
    header = TxnHeader.decode(r)
    cls = TXN_RECORDS.get(header.type)
    if cls is None:
        raise JuteError(f"Unsupported Txn with type={header.type}")
    start = r.offset
    txn: Record | None
    try:
        txn = cls.decode(r)
    except JuteError:
        if header.type == OpCode.create:
            # A create logged by ZooKeeper before 3.3 (no parentCVersion): -1 makes the
            # tree compute it.
            r = Reader(data, max_buffer)
            r.offset = start
            v0 = CreateTxnV0.decode(r)
            txn = CreateTxn(v0.path, v0.data, v0.acl, v0.ephemeral, -1)
        elif header.type == OpCode.closeSession and r.remaining == 0:
            txn = None  # logged before CloseSessionTxn existed (3.6)
            r.offset = len(data)
        else:
            raise
    digest = TxnDigest.decode(r) if r.remaining >= 12 else None
    return TxnLogEntry(header, txn, digest)


# --- the fast path for creates ------------------------------------------------------------
# A log is mostly creates, and a restart decodes every one after the snapshot. The
# general decoder reads a CreateTxn field by field through the record plan; here a
# few structs read it whole, and the ACL list, which is nearly always one of a handful
# (world:anyone), is decoded once per distinct byte string::
#
#   | clientId long | cxid int | zxid long | time long | type int |         TxnHeader
#   | path ustring | data buffer | acl vector<ACL> | ephemeral boolean |    CreateTxn
#   | parentCVersion int | (version int | treeDigest long)? |              TxnDigest?
#
# Anything it does not expect (a length out of range, bytes cut short, a path that is
# not UTF-8, an old CreateTxnV0) makes it answer None, and the general decoder reads
# the entry: it alone raises, so both read a file the same way (a test compares them).

_HEADER = struct.Struct(">qiqqi")  # TxnHeader: 32 bytes
_INT = struct.Struct(">i")
_FLAG_CVERSION = struct.Struct(">?i")  # ephemeral, parentCVersion
_DIGEST = struct.Struct(">iq")  # TxnDigest
_CREATES = (OpCode.create, OpCode.create2)
_ACL_CACHE_LIMIT = 64  # distinct ACL lists remembered; past it, the rest are decoded each time
_acl_cache: dict[bytes, tuple[ACL, ...]] = {}


def _decode_create(data: bytes, max_buffer: int) -> TxnLogEntry | None:
    """A create's entry, or None to leave it to the general decoder."""
    unpack_int = _INT.unpack_from
    end = len(data)
    header = TxnHeader(*_HEADER.unpack_from(data))
    at = _HEADER.size
    fields: list[bytes | None] = []
    for _ in range(2):  # path, data
        if at + 4 > end:
            return None
        (n,) = unpack_int(data, at)
        at += 4
        if n == -1:
            fields.append(None)
            continue
        if n < 0 or n > max_buffer or at + n > end:
            return None
        fields.append(data[at : at + n])
        at += n
    raw_path, body = fields
    if raw_path is None:
        return None
    try:
        path = raw_path.decode("utf-8")
    except UnicodeDecodeError:
        return None
    # The ACL vector: walk its lengths to find its end, then look its bytes up.
    acl_at = at
    if at + 4 > end:
        return None
    (count,) = unpack_int(data, at)
    at += 4
    if count < 0 or count > max_buffer:
        return None  # a null list (-1) is rare: the general decoder reads it
    for _ in range(count):
        at += 4  # perms
        for _ in range(2):  # scheme, id
            if at + 4 > end:
                return None
            (n,) = unpack_int(data, at)
            at += 4 + max(n, 0)
            if n < -1 or n > max_buffer or at > end:
                return None
    if at + _FLAG_CVERSION.size > end:
        return None
    raw_acl = data[acl_at:at]
    acls = _acl_cache.get(raw_acl)
    if acls is None:
        r = Reader(raw_acl[4:], max_buffer)
        try:
            acls = tuple(ACL.decode(r) for _ in range(count))
        except JuteError:
            return None
        if len(_acl_cache) < _ACL_CACHE_LIMIT:
            _acl_cache[raw_acl] = acls
    ephemeral, parent_cversion = _FLAG_CVERSION.unpack_from(data, at)
    if data[at] > 1:
        return None  # a boolean byte that is neither 0 nor 1: leave it to the general reader
    at += _FLAG_CVERSION.size
    digest = TxnDigest(*_DIGEST.unpack_from(data, at)) if end - at >= _DIGEST.size else None
    return TxnLogEntry(header, CreateTxn(path, body, list(acls), ephemeral, parent_cversion), digest)
