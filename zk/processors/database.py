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
from collections import deque
from collections.abc import Callable
from pathlib import Path

from zk.data import DataTree, ProcessTxnResult
from zk.jute.codec import Record
from zk.jute.records import TxnDigest, TxnHeader
from zk.processors.request import Request
from zk.storage import FileTxnSnapLog, RestoreResult, TxnLogEntry
from zk.storage.util import SNAPSHOT_FILE_PREFIX, get_zxid_from_name, is_snapshot_file_name
from zk.trace import NULL_TRACER, Tracer
from zk.watch import ServerWatches
from zk.watch.manager import AclFilter

__all__ = ["COMMIT_LOG_COUNT", "MemoryAheadOfDiskError", "ZKDatabase"]

log = logging.getLogger(__name__)

COMMIT_LOG_COUNT = 500
"""How many of the newest committed txns the database keeps in memory for DIFF sync
(ZKDatabase.commitLogCount, zookeeper.commitLogCount)."""


class MemoryAheadOfDiskError(Exception):
    """The tree holds txns that are on no disk (ZOOKEEPER-4882): this server's log write
    failed under a txn that was then committed. Not a bug and not a peer's fault: the
    database must be reloaded from disk. Java raises an IOException with this message."""


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
        # Committed session id -> timeout as of the last load or role change (Java's
        # sessionsWithTimeouts); the running server's SessionTracker owns the live copy.
        self.sessions: dict[int, int] = {}
        # The newest committed txns, oldest first: what a leader DIFFs from
        # (ZKDatabase.committedLog, minCommittedLog, maxCommittedLog).
        self.committed_log: deque[TxnLogEntry] = deque(maxlen=COMMIT_LOG_COUNT)

    def process_txn(self, hdr: TxnHeader, txn: Record | None, digest: TxnDigest | None = None) -> ProcessTxnResult:
        rc = self.tree.process_txn(hdr, txn, digest)
        self.committed_log.append(TxnLogEntry(hdr, txn, digest))  # addCommittedProposal
        self.watches.fire(rc.watch_events)
        return rc

    @property
    def min_committed_log(self) -> int:
        return self.committed_log[0].header.zxid if self.committed_log else 0

    @property
    def max_committed_log(self) -> int:
        return self.committed_log[-1].header.zxid if self.committed_log else 0

    # --- start-up ----------------------------------------------------------------------

    def load_data_base(self, make_tree: Callable[[], DataTree]) -> dict[int, int]:
        """Replace the tree with the one on disk; returns the committed sessions and
        their timeouts. Blocking. Mirrors: ZKDatabase.loadDataBase."""
        if self.snap_log is None:
            self.initialized = True
            return {}
        # The PlayBackListener: the replayed txns become the committed log (the deque
        # keeps the newest COMMIT_LOG_COUNT), in the same pass as the replay.
        self.committed_log.clear()
        result = self.snap_log.restore(make_tree, self.committed_log.append)
        self.tree = result.tree
        self.restored = result
        self.initialized = True
        self.sessions = dict(result.sessions)
        log.info(
            "Loaded %s and %d txns: last zxid 0x%x%s",
            result.snapshot or "no snapshot", result.txns_loaded, self.tree.last_processed_zxid,
            f" (repaired: {'; '.join(result.repairs)})" if result.repairs else "",
        )  # fmt: skip
        return result.sessions

    def last_zxid_on_disk(self) -> int:
        """The newest zxid a restart would find: the newest valid snapshot's or the
        log's last txn, whichever is later (-1 for none). Blocking.
        Mirrors: FileTxnSnapLog.getLastLoggedZxid as ZOOKEEPER-4882 made it."""
        assert self.snap_log is not None
        newest = self.snap_log.snap_log.find_n_valid_snapshots(1)
        snapshot_zxid = get_zxid_from_name(newest[0], SNAPSHOT_FILE_PREFIX) if newest else -1
        return max(snapshot_zxid, self.snap_log.get_last_logged_zxid())

    def fast_forward_data_base(self, sessions: dict[int, int]) -> int:
        """Apply every logged txn after the tree's zxid (proposals logged but never
        committed while following): the tree then matches the log, as after a restart.
        Call it only once the sync stage has stopped (ZOOKEEPER-4712). Returns the last
        zxid. Mirrors: ZKDatabase.fastForwardDataBase (ZOOKEEPER-2845).

        Raises:
            MemoryAheadOfDiskError: the tree holds a txn the disk does not
                (ZOOKEEPER-4882); the caller must reload the database from disk.
        """
        if self.snap_log is not None:
            before = self.tree.last_processed_zxid
            # Rule (ZOOKEEPER-4882): the tree may be ahead of the disk only while the
            # term runs (a COMMIT can arrive before this server's own fsync). At the
            # term's end, a tree ahead of the disk holds a txn this server never logged
            # (its log write failed): voting and DIFFing from that zxid would leave a
            # hole in the log, and a restart would lose the txn. A zxid with counter 0
            # is the leader's mark for a new epoch (Leader.startZkServer), not a txn:
            # such a tree holds nothing that was not on disk when the epoch began.
            on_disk = self.last_zxid_on_disk()
            if before > on_disk and before & 0xFFFFFFFF != 0:
                raise MemoryAheadOfDiskError(
                    f"memory database (zxid: 0x{before:x}) is ahead of disk (zxid: 0x{on_disk:x})"
                )
            for entry in self.snap_log.txn_log.read(before + 1):
                if entry.header.zxid > self.tree.last_processed_zxid:
                    self.snap_log.process_transaction(entry.header, self.tree, sessions, entry.txn)
                    self.committed_log.append(entry)
            self.sessions = dict(sessions)
        return self.tree.last_processed_zxid

    def truncate_log(self, zxid: int, make_tree: Callable[[], DataTree]) -> None:
        """TRUNC: drop every logged txn after `zxid`, every snapshot after it, and reload
        the tree from what is left. Blocking.

        A snapshot newer than `zxid` may hold the very txns being cut (a *dirty*
        snapshot, ZOOKEEPER-1549 / -2832): left in place it would bring them back at
        the next restart, so it goes too. Mirrors: ZKDatabase.truncateLog.
        """
        assert self.snap_log is not None, "TRUNC needs a data directory"
        self.snap_log.truncate_log(zxid)
        for path in self.snap_log.snap_dir.iterdir():
            if is_snapshot_file_name(path.name) and get_zxid_from_name(path.name, SNAPSHOT_FILE_PREFIX) > zxid:
                log.warning("Removing snapshot %s: it is past the truncation point 0x%x", path.name, zxid)
                path.unlink()
        self.load_data_base(make_tree)

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
        return self.snap_log.append(request.hdr, request.txn, request.txn_digest, request.serialize_data())

    def commit(self) -> None:
        """Blocking: write and fsync every appended txn. Mirrors: ZKDatabase.commit."""
        if self.snap_log is not None:
            self.snap_log.commit()

    @property
    def commit_syncs(self) -> bool:
        """Whether `commit` fsyncs (forceSync=yes), i.e. may block for milliseconds."""
        return self.snap_log is not None and self.snap_log.txn_log.force_sync

    def roll_log(self) -> None:
        """Start a new log file with the next txn. Mirrors: ZKDatabase.rollLog."""
        if self.snap_log is not None:
            self.snap_log.roll_log()
        self.txn_count = 0

    def close(self) -> None:
        if self.snap_log is not None:
            self.snap_log.close()
