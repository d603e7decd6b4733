"""FileTxnSnapLog: a server's data directory, the log and the snapshots together.

::

    dataDir/version-2/      snapshot.0  snapshot.2af1  ...       FileSnap
    dataLogDir/version-2/   log.1  log.2ae9  ...                  FileTxnLog
                            (dataLogDir defaults to dataDir)

Restore on start-up::

    1. the newest snapshot that loads          tree + sessions as of zxid S (fuzzy)
    2. every logged txn after S, in order      replayed over it: the tree as of the
                                               last logged txn
    no snapshot, no log    → an empty tree (the caller writes snapshot.0)
    no snapshot, a log     → refused, unless snapshot.trust.empty (ZOOKEEPER-2325/3056)
    a hole in the zxids    → refused (a missing log file)
    a torn last record     → cut off, logged; a newest log without header → removed

Replaying over a fuzzy snapshot is correct because applying a txn is idempotent in
the ways that matter (DataTree: a create of an existing node, a delete of a missing
one, a cversion that never goes back; see the chapter).

Mirrors: org.apache.zookeeper.server.persistence.FileTxnSnapLog (restore,
fastForwardFromEdits, processTransaction, save, truncateLog, the version-2 folders and
their checks).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from zk.data import DataTree
from zk.jute.codec import DEFAULT_MAX_BUFFER, Record
from zk.jute.records import CreateSessionTxn, TxnDigest, TxnHeader
from zk.protocol.constants import OpCode
from zk.storage.file_snap import FileSnap
from zk.storage.file_txn_log import FileTxnLog, LogCorruptError
from zk.storage.log_format import PREALLOC_SIZE
from zk.storage.restore import follows
from zk.storage.snap_format import serialize_snapshot
from zk.storage.util import VERSION_DIR, TxnLogEntry, is_log_file_name, is_snapshot_file_name, zxid_str
from zk.trace import NULL_TRACER, Tracer

__all__ = ["EMPTY_SNAPSHOT_WARNING", "DatadirException", "FileTxnSnapLog", "RestoreResult", "gc_paused"]

log = logging.getLogger(__name__)

EMPTY_SNAPSHOT_WARNING = "No snapshot found, but there are log entries. "


class DatadirException(OSError):
    """The data directory cannot be used as it is: the operator's to fix."""


@dataclasses.dataclass(slots=True)
class RestoreResult:
    """What restore found.

    Attributes:
        tree: the restored tree (``last_processed_zxid`` = the last txn replayed).
        sessions: committed session id -> timeout.
        snapshot: the snapshot's file name, None if there was none.
        txns_loaded: how many logged txns were replayed.
        repairs: what recovery cut or removed (torn tails, header-less files).
        skipped_snapshots: snapshots that did not load.
    """

    tree: DataTree
    sessions: dict[int, int]
    snapshot: str | None
    txns_loaded: int
    repairs: list[str]
    skipped_snapshots: list[str]


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside: for loading a tree.

    Loading allocates a few objects per node (the node, its stat, its set of children)
    and frees almost none, and CPython runs a full collection each time the heap has
    grown by a quarter: over a load of 200 000 nodes, re-traversing the growing tree
    cost about a third of the time. What a load builds has no cycles to collect; the
    collector starts again afterwards (unless it was already off on entry).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class FileTxnSnapLog:
    """Args:
        data_dir: ``dataDir`` (snapshots go into its ``version-2``).
        data_log_dir: ``dataLogDir``; defaults to ``data_dir``.
        force_sync: ``forceSync`` (fsync the log and the snapshots).
        prealloc_size: ``preAllocSize`` in bytes.
        trust_empty_snapshot: ``zookeeper.snapshot.trust.empty``.
        max_buffer: ``jute.maxbuffer``, for decoding txns.

    Mirrors: org.apache.zookeeper.server.persistence.FileTxnSnapLog.
    """

    def __init__(
        self,
        data_dir: Path,
        data_log_dir: Path | None = None,
        *,
        force_sync: bool = True,
        prealloc_size: int = PREALLOC_SIZE,
        trust_empty_snapshot: bool = False,
        max_buffer: int = DEFAULT_MAX_BUFFER,
        tracer: Tracer = NULL_TRACER,
    ) -> None:
        self.snap_dir = Path(data_dir) / VERSION_DIR
        self.log_dir = Path(data_log_dir if data_log_dir is not None else data_dir) / VERSION_DIR
        self.trust_empty_snapshot = trust_empty_snapshot
        self.tracer = tracer
        for d, what in ((self.log_dir, "data"), (self.snap_dir, "snap")):
            try:
                d.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise DatadirException(f"Unable to create {what} directory {d}: {e}") from e
            if not os.access(d, os.W_OK):
                raise DatadirException(f"Cannot write to {what} directory {d}")
        if self.log_dir != self.snap_dir:  # ZOOKEEPER-2967
            if any(is_snapshot_file_name(p.name) for p in self.log_dir.iterdir()):
                raise DatadirException(
                    "Log directory has snapshot files. Check if dataLogDir and dataDir configuration is correct."
                )
            if any(is_log_file_name(p.name) for p in self.snap_dir.iterdir()):
                raise DatadirException(
                    "Snapshot directory has log files. Check if dataLogDir and dataDir configuration is correct."
                )
        self.txn_log = FileTxnLog(self.log_dir, force_sync=force_sync, prealloc_size=prealloc_size,
                                  max_buffer=max_buffer)  # fmt: skip
        self.snap_log = FileSnap(self.snap_dir, force_sync=force_sync)

    # --- restore -----------------------------------------------------------------------

    def restore(
        self, make_tree: Callable[[], DataTree], on_txn: Callable[[TxnLogEntry], None] | None = None
    ) -> RestoreResult:
        """Load the newest valid snapshot and replay the log after it; `on_txn` sees each
        replayed txn (Java's PlayBackListener: ZKDatabase keeps them as its committed log).

        Raises:
            DatadirException: logs without any snapshot (and not trusted), or snapshots
                of which none loads.
            LogCorruptError: a damaged log that recovery may not repair, or a hole in
                the zxids.

        Mirrors: FileTxnSnapLog.restore.
        """
        with gc_paused():
            return self._restore(make_tree, on_txn)

    def _restore(
        self, make_tree: Callable[[], DataTree], on_txn: Callable[[TxnLogEntry], None] | None
    ) -> RestoreResult:
        try:
            loaded = self.snap_log.deserialize(make_tree)
        except OSError as e:
            raise DatadirException(str(e)) from e
        skipped = list(self.snap_log.skipped)
        if loaded is None:
            tree, snapshot = make_tree(), None
            sessions: dict[int, int] = {}
            if self.txn_log.get_last_logged_zxid() == -1:
                return RestoreResult(tree, sessions, None, 0, [], skipped)
            if not self.trust_empty_snapshot:
                raise DatadirException(EMPTY_SNAPSHOT_WARNING + "Something is broken!")
            log.warning("%sThis should only be allowed during upgrading.", EMPTY_SNAPSHOT_WARNING)
        else:
            tree, sessions, snapshot = loaded.tree, dict(loaded.info.sessions), loaded.name
        loaded_txns, repairs = self.fast_forward_from_edits(tree, sessions, on_txn)
        return RestoreResult(tree, sessions, snapshot, loaded_txns, repairs, skipped)

    def fast_forward_from_edits(
        self, tree: DataTree, sessions: dict[int, int], on_txn: Callable[[TxnLogEntry], None] | None = None
    ) -> tuple[int, list[str]]:
        """Replay every logged txn after the tree's zxid; returns (count, repairs).

        Mirrors: FileTxnSnapLog.fastForwardFromEdits.
        """
        start = time.monotonic()
        it = self.txn_log.read(tree.last_processed_zxid + 1, repair_tail=True)
        highest = tree.last_processed_zxid
        loaded = 0
        for entry in it:
            zxid = entry.header.zxid
            if zxid <= highest:
                log.error("%s(highestZxid) > %s(next log) for type %d", zxid_str(highest), zxid_str(zxid),
                          entry.header.type)  # fmt: skip
            elif not follows(highest, zxid):
                raise LogCorruptError(
                    f"Transaction log gap: {zxid_str(zxid)} in {it.log_file} follows {zxid_str(highest)}; the "
                    "transactions between them are missing (a deleted log file?)"
                )
            else:
                highest = zxid
            self.process_transaction(entry.header, tree, sessions, entry.txn)
            if on_txn is not None:
                on_txn(entry)
            loaded += 1
        self.txn_log.last_zxid_seen = max(self.txn_log.last_zxid_seen, highest)
        log.info("%d txns loaded in %d ms", loaded, (time.monotonic() - start) * 1000)
        if self.tracer.enabled:
            self.tracer.emit("storage.restored", zxid=highest, txns=loaded, repairs=len(it.repairs))
        return loaded, it.repairs

    @staticmethod
    def process_transaction(hdr: TxnHeader, tree: DataTree, sessions: dict[int, int], txn: Record | None) -> None:
        """Apply one logged txn to the tree and the session table. Errors in the
        result (NODEEXISTS on a replayed create, ...) are expected over a fuzzy
        snapshot and ignored. Mirrors: FileTxnSnapLog.processTransaction."""
        if hdr.type == OpCode.createSession:
            assert isinstance(txn, CreateSessionTxn), "deserialize_txn pairs createSession with its record"
            sessions[hdr.clientId] = txn.timeOut
        elif hdr.type == OpCode.closeSession:
            sessions.pop(hdr.clientId, None)
        tree.process_txn(hdr, txn)

    def get_last_logged_zxid(self) -> int:
        return self.txn_log.get_last_logged_zxid()

    # --- the log -----------------------------------------------------------------------

    def append(
        self, hdr: TxnHeader, txn: Record | None, digest: TxnDigest | None = None, data: bytes | None = None
    ) -> bool:
        return self.txn_log.append(hdr, txn, digest, data)

    def commit(self) -> None:
        """Blocking: write and fsync what was appended (run it in a thread)."""
        self.txn_log.commit()

    def roll_log(self) -> None:
        self.txn_log.roll_log()

    def truncate_log(self, zxid: int) -> None:
        """Drop every logged txn after ``zxid`` (TRUNC). Mirrors: truncateLog."""
        self.txn_log.truncate(zxid)

    def close(self) -> None:
        self.txn_log.close()

    # --- snapshots -----------------------------------------------------------------------

    def save(self, tree: DataTree, sessions: dict[int, int]) -> Path:
        """Write a snapshot of the tree as it is now, blocking (start-up, tools).

        Mirrors: FileTxnSnapLog.save.
        """
        zxid = tree.last_processed_zxid
        log.info("Snapshotting: %s to %s", zxid_str(zxid), self.snap_dir)
        tmp, fd = self.snap_log.begin(zxid)
        try:
            FileSnap.write(fd, serialize_snapshot(tree, dict(sessions)))
            return self.snap_log.finish(tmp, fd, zxid)
        except BaseException:
            FileSnap.abandon(tmp, fd)
            raise

    async def save_fuzzy(self, tree: DataTree, sessions: dict[int, int], *, slice_nodes: int = 5000) -> Path:
        """Write a snapshot while the server goes on applying txns between slices.

        The file is named after the zxid the tree had when the walk began; changes
        after it may or may not be in it (a fuzzy snapshot). Writes and the fsync run
        in a worker thread; the walk runs on the event loop, a slice at a time.
        """
        zxid = tree.last_processed_zxid
        log.info("Snapshotting: %s to %s", zxid_str(zxid), self.snap_dir)
        start = time.monotonic()
        tmp, fd = await asyncio.to_thread(self.snap_log.begin, zxid)
        # Each blocking step is shielded: a cancelled snapshot (the server stopping)
        # waits for the step in flight, so the descriptor is never closed under a
        # thread still writing to it.
        step: asyncio.Future[None] | None = None
        try:
            for chunk in serialize_snapshot(tree, dict(sessions), slice_nodes=slice_nodes):
                step = asyncio.ensure_future(asyncio.to_thread(FileSnap.write, fd, (chunk,)))
                await asyncio.shield(step)  # txns apply on the loop meanwhile: fuzzy
        except BaseException:
            if step is not None and not step.done():
                with contextlib.suppress(BaseException):
                    await step
            FileSnap.abandon(tmp, fd)
            raise
        finishing = asyncio.ensure_future(asyncio.to_thread(self.snap_log.finish, tmp, fd, zxid))
        try:
            final = await asyncio.shield(finishing)
        except asyncio.CancelledError:
            with contextlib.suppress(BaseException):
                await finishing
            raise
        log.info("Snapshot taken in %d ms", (time.monotonic() - start) * 1000)
        if self.tracer.enabled:
            self.tracer.emit("storage.snapshot", zxid=zxid, file=final.name)
        return final
