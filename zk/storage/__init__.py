"""Storage: the transaction log and snapshots, in Apache ZooKeeper's own file format.

The cores read and write bytes (:mod:`~zk.storage.util`, :mod:`~zk.storage.log_format`,
:mod:`~zk.storage.snap_format`, :mod:`~zk.storage.restore`); the shells own the files
(:mod:`~zk.storage.file_txn_log`, :mod:`~zk.storage.file_snap`,
:mod:`~zk.storage.file_txn_snap_log`). See chapter 7.

Mirrors: org.apache.zookeeper.server.persistence.
"""

from zk.storage.file_snap import FileSnap
from zk.storage.file_txn_log import FileTxnLog, LogCorruptError, TxnIterator
from zk.storage.file_txn_snap_log import DatadirException, FileTxnSnapLog, RestoreResult
from zk.storage.snap_format import SnapshotError
from zk.storage.util import TxnLogEntry

__all__ = [
    "DatadirException",
    "FileSnap",
    "FileTxnLog",
    "FileTxnSnapLog",
    "LogCorruptError",
    "RestoreResult",
    "SnapshotError",
    "TxnIterator",
    "TxnLogEntry",
]
