"""FileSnap: snapshot files on disk, written so that only whole ones count.

Writing ``snapshot.<zxid>`` goes through a temporary name::

    tmp.snapshot.<zxid>   write every slice, fsync the file        (not a snapshot yet)
    snapshot.<zxid>       rename, then fsync the directory         (now it counts)

Ordering rule (ZOOKEEPER-2310): *a snapshot is fsynced before it counts*. Until the
rename, no reader (ours or ZooKeeper's: ``tmp.`` does not start with ``snapshot.``)
sees the file, and the rename happens only after its bytes are on disk, so a power
cut can never leave an empty or partial file under a snapshot's name that the next
start would trust, nor let a purge remove the older files it would then need.

Reading takes the newest *valid* snapshot: the candidates are the files whose name
parses and whose last five bytes are a seal (at most 100 of them), newest first; one
that fails to load (bad magic, bad seal, a tree that does not parse) is logged and
skipped for the one before it.

Mirrors: org.apache.zookeeper.server.persistence.FileSnap (deserialize,
findNValidSnapshots, findNRecentSnapshots, serialize) and SnapStream.isValidSnapshot.
Differs: Java writes straight to the final name unless asked to fsync
(AtomicFileOutputStream); we always use the temporary name and fsync.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from zk.data import DataTree
from zk.data.digest import DIGEST_VERSION
from zk.storage.file_txn_log import fsync_dir
from zk.storage.snap_format import (
    SnapshotError,
    SnapshotInfo,
    decode_snapshot_stream,
    deserialize_snapshot,
    is_valid_snapshot_tail,
)
from zk.storage.util import SNAPSHOT_FILE_PREFIX, get_zxid_from_name, make_snapshot_name, sort_data_dir

__all__ = ["TMP_PREFIX", "FileSnap", "LoadedSnapshot"]

log = logging.getLogger(__name__)

TMP_PREFIX = "tmp."


class LoadedSnapshot:
    """The snapshot a restore starts from."""

    def __init__(self, name: str, zxid: int, tree: DataTree, info: SnapshotInfo) -> None:
        self.name = name
        self.zxid = zxid
        self.tree = tree
        self.info = info


class FileSnap:
    """The snapshots of one server, in ``snap_dir`` (``<dataDir>/version-2``).

    Mirrors: org.apache.zookeeper.server.persistence.FileSnap.
    """

    def __init__(self, snap_dir: Path, *, force_sync: bool = True) -> None:
        self.snap_dir = snap_dir
        self.force_sync = force_sync
        self.skipped: list[str] = []  # invalid snapshots passed over by the last load

    def _names(self) -> list[str]:
        return [p.name for p in self.snap_dir.iterdir()] if self.snap_dir.exists() else []

    def find_n_recent_snapshots(self, n: int) -> list[str]:
        """The ``n`` newest names that parse, valid or not. Mirrors:
        FileSnap.findNRecentSnapshots."""
        names = [f for f in self._names() if get_zxid_from_name(f, SNAPSHOT_FILE_PREFIX) != -1]
        return sort_data_dir(names, SNAPSHOT_FILE_PREFIX, ascending=False)[:n]

    def find_n_valid_snapshots(self, n: int) -> list[str]:
        """The ``n`` newest names whose file ends in a seal. Mirrors:
        FileSnap.findNValidSnapshots and SnapStream.isValidSnapshot."""
        found: list[str] = []
        for name in self.find_n_recent_snapshots(len(self._names())):
            if self._looks_valid(name):
                found.append(name)
                if len(found) == n:
                    break
            else:
                log.warning("Invalid snapshot %s: it does not end in a seal (cut short?)", name)
                self.skipped.append(name)
        return found

    def _looks_valid(self, name: str) -> bool:
        path = self.snap_dir / name
        if name.endswith((".gz", ".snappy")):
            return path.stat().st_size > 0  # checked when read
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - 5))
            return is_valid_snapshot_tail(size, f.read())

    def deserialize(self, make_tree: Callable[[], DataTree]) -> LoadedSnapshot | None:
        """Load the newest snapshot that loads; None if there is no snapshot at all.

        Raises:
            OSError: there are snapshots, but none of them loads.

        Mirrors: FileSnap.deserialize.
        """
        self.skipped = []
        candidates = self.find_n_valid_snapshots(100)
        if not candidates:
            if self.skipped:
                raise OSError(f"Not able to find valid snapshots in {self.snap_dir}: {', '.join(self.skipped)}")
            return None
        for name in candidates:
            log.info("Reading snapshot %s", self.snap_dir / name)
            tree = make_tree()
            try:
                stream = decode_snapshot_stream(name, (self.snap_dir / name).read_bytes())
                info = deserialize_snapshot(stream, tree)
            except (SnapshotError, OSError) as e:
                log.warning("problem reading snap file %s: %s; trying the one before it", name, e)
                self.skipped.append(name)
                continue
            zxid = get_zxid_from_name(name, SNAPSHOT_FILE_PREFIX)
            tree.last_processed_zxid = zxid
            d = info.digest
            if d is not None and d.digest_version == DIGEST_VERSION and d.zxid >= zxid:
                # checked when replay reaches d.zxid, at once if it is the snapshot's own
                # (DataTree.deserializeZxidDigest)
                tree.digest_from_loaded_snapshot = (d.zxid, d.digest)
                tree.compare_snapshot_digests(zxid)
            return LoadedSnapshot(name, zxid, tree, info)
        raise OSError(f"Not able to find valid snapshots in {self.snap_dir}: {', '.join(self.skipped)}")

    # --- writing: the blocking steps; FileTxnSnapLog feeds them the slices ------------

    def begin(self, zxid: int) -> tuple[Path, int]:
        """Open ``tmp.snapshot.<zxid>`` for writing; returns its path and descriptor."""
        self.snap_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.snap_dir / (TMP_PREFIX + make_snapshot_name(zxid))
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        return tmp, fd

    @staticmethod
    def write(fd: int, chunks: Iterable[bytes]) -> None:
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view) :]

    def finish(self, tmp: Path, fd: int, zxid: int) -> Path:
        """fsync the file, give it its name, fsync the directory: now it counts."""
        try:
            if self.force_sync:
                os.fsync(fd)
        finally:
            os.close(fd)
        final = self.snap_dir / make_snapshot_name(zxid)
        os.replace(tmp, final)
        if self.force_sync:
            fsync_dir(self.snap_dir)
        return final

    @staticmethod
    def abandon(tmp: Path, fd: int) -> None:
        """A snapshot that failed half way: close and remove the temporary file."""
        with contextlib.suppress(OSError):
            os.close(fd)
        tmp.unlink(missing_ok=True)
