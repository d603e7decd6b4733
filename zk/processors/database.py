"""ZKDatabase: the in-memory database a server serves from, and the files behind it.

The DataTree (nodes and their Stat) and the watches on it, kept together so that applying
a transaction and firing the watches it triggers are one step. The DataTree returns the
watch events a transaction causes instead of firing them itself (zk.data comes before
zk.watch in the book); this class is where the two meet.

With a data directory (``snap_log``, a zk.storage FileTxnSnapLog) it also owns the
durable side: loading the tree from the newest snapshot and the log at start-up,
appending each transaction to the log (the sync stage commits them in batches), and
taking snapshots. Without one (tests of the processors) nothing is persisted.

Mirrors: org.apache.zookeeper.server.ZKDatabase (processTxn, loadDataBase, append,
commit, rollLog, getTxnCount, the sessionsWithTimeouts it restores) and the parts of
ZooKeeperServer.loadData / takeSnapshot that touch only the database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from zk.data import DataTree, ProcessTxnResult
from zk.jute.codec import Record
from zk.jute.records import TxnDigest, TxnHeader
from zk.processors.request import Request
from zk.storage import FileTxnSnapLog, RestoreResult
from zk.trace import NULL_TRACER, Tracer
from zk.watch import ServerWatches
from zk.watch.manager import AclFilter

__all__ = ["ZKDatabase"]

log = logging.getLogger(__name__)


class ZKDatabase:
    """The tree, its watches, and (optionally) its files.

    Applying a txn is a pure state change plus ``watcher.process`` calls, which only
    queue notifications; the file methods are the shell around it.

    Args:
        tree: the tree to serve (a new empty one if None).
        snap_log: the data directory; None keeps everything in memory.
        acl_filter: who may see a watch event (ZOOKEEPER-4799).
        tracer: receives ``watch.*`` and ``storage.*`` events.
    """

    def __init__(
        self,
        tree: DataTree | None = None,
        *,
        snap_log: FileTxnSnapLog | None = None,
        acl_filter: AclFilter | None = None,
        tracer: Tracer = NULL_TRACER,
    ) -> None:
        self.tree = tree if tree is not None else DataTree(tracer=tracer)
        self.watches = ServerWatches(tracer=tracer, acl_filter=acl_filter)
        self.snap_log = snap_log
        self.tracer = tracer
        self.txn_count = 0  # txns logged since the last roll (getTxnCount)
        self.initialized = False
        self.restored: RestoreResult | None = None

    def process_txn(self, hdr: TxnHeader, txn: Record | None, digest: TxnDigest | None = None) -> ProcessTxnResult:
        rc = self.tree.process_txn(hdr, txn, digest)
        self.watches.fire(rc.watch_events)
        return rc

    # --- start-up ----------------------------------------------------------------------

    def load_data_base(self, make_tree: Callable[[], DataTree]) -> dict[int, int]:
        """Replace the tree with the one on disk; returns the committed sessions and
        their timeouts. Blocking. Mirrors: ZKDatabase.loadDataBase."""
        if self.snap_log is None:
            self.initialized = True
            return {}
        result = self.snap_log.restore(make_tree)
        self.tree = result.tree
        self.restored = result
        self.initialized = True
        log.info(
            "Loaded %s and %d txns: last zxid 0x%x%s",
            result.snapshot or "no snapshot", result.txns_loaded, self.tree.last_processed_zxid,
            f" (repaired: {'; '.join(result.repairs)})" if result.repairs else "",
        )  # fmt: skip
        return result.sessions

    def kill_dead_sessions(self, sessions: dict[int, int]) -> list[int]:
        """Remove the ephemerals of owners that are not live sessions: a fuzzy snapshot
        can hold an ephemeral whose session's close came before it in the log.
        Mirrors: the "Clean up dead sessions" step of ZooKeeperServer.loadData."""
        dead = [s for s in self.tree.get_sessions() if s not in sessions]
        for session_id in dead:
            self.tree.kill_session(session_id, self.tree.last_processed_zxid)
        return dead

    def take_snapshot(self, sessions: dict[int, int]) -> Path | None:
        """A snapshot of the tree as it is, blocking (start-up). Mirrors:
        ZooKeeperServer.takeSnapshot."""
        if self.snap_log is None:
            return None
        return self.snap_log.save(self.tree, sessions)

    async def take_snapshot_fuzzy(self, sessions: dict[int, int]) -> Path | None:
        """A snapshot written while txns keep being applied (the snapshot thread)."""
        if self.snap_log is None:
            return None
        return await self.snap_log.save_fuzzy(self.tree, sessions)

    # --- the log (called by the sync stage only) ---------------------------------------------

    @property
    def persistent(self) -> bool:
        return self.snap_log is not None

    def append(self, request: Request) -> bool:
        """Buffer a write's txn for the next commit; False for reads. No IO.
        Mirrors: ZKDatabase.append."""
        if self.snap_log is None or request.hdr is None:
            return False
        self.txn_count += 1
        return self.snap_log.append(request.hdr, request.txn, request.txn_digest)

    def commit(self) -> None:
        """Blocking: write and fsync every appended txn. Mirrors: ZKDatabase.commit."""
        if self.snap_log is not None:
            self.snap_log.commit()

    def roll_log(self) -> None:
        """Start a new log file with the next txn. Mirrors: ZKDatabase.rollLog."""
        if self.snap_log is not None:
            self.snap_log.roll_log()
        self.txn_count = 0

    def close(self) -> None:
        if self.snap_log is not None:
            self.snap_log.close()
