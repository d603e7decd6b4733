"""ZKDatabase: the in-memory database a server serves from.

The DataTree (nodes and their Stat) and the watches on it, kept together so that applying
a transaction and firing the watches it triggers are one step. The DataTree returns the
watch events a transaction causes instead of firing them itself (zk.data comes before
zk.watch in the book); this class is where the two meet.

Mirrors: org.apache.zookeeper.server.ZKDatabase (processTxn, and the watch methods it
forwards to DataTree). The transaction log and snapshots it also owns in Java arrive with
zk.storage.
"""

from __future__ import annotations

from zk.data import DataTree, ProcessTxnResult
from zk.jute.codec import Record
from zk.jute.records import TxnHeader
from zk.trace import NULL_TRACER, Tracer
from zk.watch import ServerWatches
from zk.watch.manager import AclFilter

__all__ = ["ZKDatabase"]


class ZKDatabase:
    """The tree and its watches. A core: applying a txn is a pure state change plus
    ``watcher.process`` calls, which only queue notifications."""

    def __init__(
        self, tree: DataTree | None = None, *, acl_filter: AclFilter | None = None, tracer: Tracer = NULL_TRACER
    ) -> None:
        self.tree = tree if tree is not None else DataTree(tracer=tracer)
        self.watches = ServerWatches(tracer=tracer, acl_filter=acl_filter)

    def process_txn(self, hdr: TxnHeader, txn: Record | None) -> ProcessTxnResult:
        rc = self.tree.process_txn(hdr, txn)
        self.watches.fire(rc.watch_events)
        return rc
