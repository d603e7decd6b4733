"""TRUNC on the learner: the log is cut, and so is any snapshot past the cut.

ZOOKEEPER-1549 / -2832: a server that loaded an uncommitted logged txn into its tree
and snapshotted it keeps that txn in the snapshot; a TRUNC that cuts only the log lets
the txn come back at the next restart.
"""

from __future__ import annotations

from pathlib import Path

from zk.data import DataTree
from zk.jute.records import ACL, CreateTxn, Id, TxnHeader
from zk.processors import ZKDatabase
from zk.protocol.constants import OpCode
from zk.storage import FileTxnSnapLog

OPEN_ACL = [ACL(31, Id("world", "anyone"))]


def z(epoch: int, counter: int) -> int:
    return epoch << 32 | counter


def _db(path: Path) -> ZKDatabase:
    db = ZKDatabase(DataTree(), snap_log=FileTxnSnapLog(path))
    db.load_data_base(DataTree)
    return db


def test_ZOOKEEPER_1549_truncate_removes_a_dirty_snapshot(tmp_path: Path) -> None:
    """A snapshot that holds an uncommitted txn is removed by a TRUNC below it; otherwise the discarded txn comes
    back at the next restart. Ours: ZKDatabase.truncate_log."""
    db = _db(tmp_path)
    db.take_snapshot({})  # snapshot.0
    assert db.snap_log is not None
    for i, path in enumerate(["/a", "/b", "/uncommitted"], start=1):
        hdr = TxnHeader(1, i, z(1, i), 0, OpCode.create)
        txn = CreateTxn(path, b"", OPEN_ACL, False, i)
        db.snap_log.append(hdr, txn)
        db.process_txn(hdr, txn)
    db.commit()
    db.take_snapshot({})  # the dirty one: it holds 1:3, which no quorum logged
    db.close()

    db = _db(tmp_path)
    db.truncate_log(z(1, 2), DataTree)
    assert db.tree.last_processed_zxid == z(1, 2)
    assert db.tree.get_node("/uncommitted") is None
    assert not (tmp_path / "version-2" / "snapshot.100000003").exists()
    db.close()

    again = _db(tmp_path)  # a restart after the TRUNC: the txn stays gone
    assert again.tree.get_node("/uncommitted") is None
    assert again.tree.get_node("/b") is not None
    assert [e.header.zxid for e in again.committed_log] == [z(1, 1), z(1, 2)]
    again.close()
