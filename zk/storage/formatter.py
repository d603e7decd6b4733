"""Dump tools: a log or a snapshot file as text or JSON, for people and for notebooks.

``zk logdump log.1`` prints one line per transaction, as TxnLogToolkit does::

    <time> session 0x100000a2b0000 cxid 0x1 zxid 0x2 create /app,68656c6c6f,...,false,1

``zk snapdump snapshot.2`` prints every node with its Stat, then the sessions, as
SnapshotFormatter does. ``--json`` gives one JSON object per line instead (the same
fields, by name), which is what a notebook or a script wants.

Mirrors: org.apache.zookeeper.server.persistence.TxnLogToolkit (dump mode) and
org.apache.zookeeper.server.SnapshotFormatter; the older LogFormatter that 3.8 no
longer ships.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from zk.data import DataTree
from zk.jute.codec import DEFAULT_MAX_BUFFER, Record
from zk.protocol.constants import OpCode
from zk.storage.file_txn_log import TxnIterator
from zk.storage.log_format import TXNLOG_MAGIC, decode_file_header
from zk.storage.snap_format import decode_snapshot_stream, deserialize_snapshot
from zk.storage.util import TxnLogEntry

__all__ = ["dump_log", "dump_snapshot", "record_fields"]


def record_fields(record: Record | None) -> Any:
    """A record as plain JSON values (bytes as hex)."""
    if record is None:
        return None
    if isinstance(record, Record):
        return {f.name: record_fields(getattr(record, f.name)) for f in dataclasses.fields(record)}  # type: ignore[arg-type]
    if isinstance(record, bytes):
        return record.hex()
    if isinstance(record, list):
        return [record_fields(x) for x in record]
    return record


def _op(t: int) -> str:
    try:
        return OpCode(t).name
    except ValueError:
        return str(t)


def _txn_line(e: TxnLogEntry) -> str:
    h = e.header
    when = datetime.datetime.fromtimestamp(h.time / 1000, datetime.UTC).isoformat(timespec="milliseconds")
    body = "" if e.txn is None else ",".join(str(v) for v in record_fields(e.txn).values())
    digest = f" digest v{e.digest.version} {e.digest.treeDigest:#x}" if e.digest is not None else ""
    return f"{when} session {h.clientId:#x} cxid {h.cxid:#x} zxid {h.zxid:#x} {_op(h.type)} {body}{digest}"


def dump_log(path: Path, *, as_json: bool = False, max_buffer: int = DEFAULT_MAX_BUFFER) -> Iterator[str]:
    """The lines of ``zk logdump``. Damage ends the dump with a line saying where."""
    header = decode_file_header(path.read_bytes()[:16])
    if header is None or header.magic != TXNLOG_MAGIC:
        yield f"{path}: not a transaction log (no ZKLG header)"
        return
    if as_json:
        yield json.dumps({"file": path.name, "magic": "ZKLG", "version": header.version, "dbid": header.dbid})
    else:
        yield f"ZooKeeper Transactional Log File with dbid {header.dbid} txnlog format version {header.version}"
    it = TxnIterator(path.parent, 0, max_buffer, files=[path.name])
    count = 0
    try:
        for e in it:
            count += 1
            if as_json:
                yield json.dumps({
                    "zxid": e.header.zxid, "session": e.header.clientId, "cxid": e.header.cxid,
                    "time": e.header.time, "type": _op(e.header.type), "txn": record_fields(e.txn),
                    "digest": record_fields(e.digest),
                })  # fmt: skip
            else:
                yield _txn_line(e)
    except OSError as err:
        yield json.dumps({"damage": str(err)}) if as_json else f"DAMAGE: {err}"
        return
    if not as_json:
        yield f"EOF reached after {count} txns."


def dump_snapshot(path: Path, *, as_json: bool = False) -> Iterator[str]:
    """The lines of ``zk snapdump``. Raises SnapshotError for a damaged file."""
    tree = DataTree()
    info = deserialize_snapshot(decode_snapshot_stream(path.name, path.read_bytes()), tree)
    paths = sorted(p for p in tree.nodes if p)
    if not as_json:
        yield f"ZNode Details (count={len(paths)}):"
    for p in paths:
        node = tree.nodes[p]
        st = node.stat
        if as_json:
            yield json.dumps({"path": p, "data": None if node.data is None else node.data.hex(), "acl": node.acl,
                              "stat": record_fields(st)})  # fmt: skip
        else:
            yield "----"
            yield p
            for f in dataclasses.fields(st):
                v = getattr(st, f.name)
                yield f"  {f.name} = {v:#x}" if f.name.endswith(("zxid", "Owner")) else f"  {f.name} = {v}"
            yield f"  dataLength = {0 if node.data is None else len(node.data)}"
    sessions = info.sessions
    if as_json:
        yield json.dumps({"sessions": {f"{s:#x}": t for s, t in sessions.items()}, "digest": None if info.digest
                          is None else dataclasses.asdict(info.digest)})  # fmt: skip
    else:
        yield "----"
        yield "Session Details (sid, timeout, ephemeralCount):"
        for s, t in sessions.items():
            yield f"{s:#x}, {t}, {len(tree.get_ephemerals(s))}"
        yield "----"
        yield f"Last zxid: 0x{path.name.split('.')[1] if '.' in path.name else '?'}"
