"""FileTxnLog: the write-ahead log on disk, appended in batches, read for recovery.

Writing (the sync stage's side)::

    append(hdr, txn)  n x  frames go into a buffer, no IO       (on the event loop)
    commit()               one write per file, one fsync each    (in a worker thread)
    roll_log()             the next append starts log.<its zxid>

``commit`` is where group commit happens: every transaction appended since the last
commit reaches the disk with one ``write`` and one ``fdatasync``. The caller replies to
none of them before ``commit`` returns (see zk.processors.chain).

Each file is preallocated in ``preAllocSize`` steps (64 MiB) by writing one zero byte
at the new end, so the file system allocates blocks once, not on every batch; the
zeros are the end marker a reader stops at. A new file's directory entry is fsynced
with its first batch: a log whose name is lost after a power cut is a log lost.

Reading: :class:`TxnIterator` walks the files that can hold ``zxid`` and later, oldest
first, and yields every transaction from ``zxid`` on. Damage (a bad frame) raises
:class:`LogCorruptError`, except that recovery may ask to *repair the tail*: a torn
last frame of the newest file (nothing valid after it) is cut off, and a newest file
without a whole header is removed (ZOOKEEPER-1621). Both are logged.

Mirrors: org.apache.zookeeper.server.persistence.FileTxnLog (append, commit, rollLog,
getLogFiles, getLastLoggedZxid, truncate, FileTxnIterator) and FilePadding. Differs:
append does no IO (Java's opens the file and writes through a BufferedOutputStream);
the new file's directory is fsynced; a bad frame at the tail is cut, not fatal.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from zk.jute.codec import DEFAULT_MAX_BUFFER, Record
from zk.jute.records import TxnDigest, TxnHeader
from zk.storage.log_format import (
    FILE_HEADER_SIZE,
    PREALLOC_SIZE,
    TXNLOG_MAGIC,
    LogScanner,
    calculate_file_size_with_padding,
    decode_file_header,
    encode_file_header,
    frame_txn_entry,
    read_log_bytes,
)
from zk.storage.util import (
    LOG_FILE_PREFIX,
    TxnLogEntry,
    get_zxid_from_name,
    make_log_name,
    marshall_txn_entry,
    sort_data_dir,
    zxid_str,
)

__all__ = ["FileTxnLog", "LogCorruptError", "TxnIterator", "fsync_dir", "get_log_files"]

log = logging.getLogger(__name__)


class LogCorruptError(OSError):
    """A log file is damaged where recovery may not repair it: the operator's problem,
    reported at start-up, never papered over with a partial tree."""


def fsync_dir(path: Path) -> None:
    """Make a directory's entries (a new or renamed file) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def get_log_files(names: Iterable[str], snapshot_zxid: int) -> list[str]:
    """The log files that can hold transactions after ``snapshot_zxid``, oldest first:
    the newest file starting at or before it, and every file after that.

    Mirrors: FileTxnLog.getLogFiles.
    """
    files = sort_data_dir([n for n in names if get_zxid_from_name(n, LOG_FILE_PREFIX) != -1], LOG_FILE_PREFIX,
                          ascending=True)  # fmt: skip
    log_zxid = 0
    for name in files:
        fzxid = get_zxid_from_name(name, LOG_FILE_PREFIX)
        if fzxid > snapshot_zxid:
            break
        log_zxid = max(log_zxid, fzxid)
    return [n for n in files if get_zxid_from_name(n, LOG_FILE_PREFIX) >= log_zxid]


@dataclasses.dataclass(slots=True)
class _Segment:
    """Bytes appended to one file since the last commit."""

    name: str
    new: bool
    buf: bytearray


@dataclasses.dataclass(slots=True)
class _OpenFile:
    fd: int
    position: int
    size: int


class FileTxnLog:
    """The transaction log of one server, in ``log_dir``.

    Args:
        log_dir: ``<dataLogDir>/version-2``.
        force_sync: ``forceSync``; False skips every fsync (tests and demos only).
        prealloc_size: ``preAllocSize`` in bytes.
        dbid: written into each file header (always 0 in ZooKeeper).

    Mirrors: org.apache.zookeeper.server.persistence.FileTxnLog.
    """

    def __init__(
        self,
        log_dir: Path,
        *,
        force_sync: bool = True,
        prealloc_size: int = PREALLOC_SIZE,
        dbid: int = 0,
        max_buffer: int = DEFAULT_MAX_BUFFER,
    ) -> None:
        self.log_dir = log_dir
        self.force_sync = force_sync
        self.prealloc_size = prealloc_size
        self.dbid = dbid
        self.max_buffer = max_buffer
        self.last_zxid_seen = 0
        self.current_name: str | None = None  # None: the next append starts a file
        self._segments: list[_Segment] = []
        self._files: dict[str, _OpenFile] = {}
        self.commits = 0  # fsync'ed batches, for tests and the benchmark
        self.fsyncs = 0

    # --- writing ---------------------------------------------------------------------

    def append(
        self, hdr: TxnHeader, txn: Record | None, digest: TxnDigest | None = None, data: bytes | None = None
    ) -> bool:
        """Buffer one transaction for the next commit. No IO.

        `data` is the entry as `marshall_txn_entry` makes it, when the caller has it
        already (a PROPOSAL's bytes): it is logged as it is.

        Mirrors: FileTxnLog.append.
        """
        if hdr.zxid <= self.last_zxid_seen:
            log.warning("Current zxid %d is <= %d for %d", hdr.zxid, self.last_zxid_seen, hdr.type)
        else:
            self.last_zxid_seen = hdr.zxid
        if self.current_name is None:
            self.current_name = make_log_name(hdr.zxid)
            log.info("Creating new log file: %s", self.current_name)
            self._segments.append(_Segment(self.current_name, True, bytearray(encode_file_header(self.dbid))))
        elif not self._segments or self._segments[-1].name != self.current_name:
            self._segments.append(_Segment(self.current_name, False, bytearray()))
        self._segments[-1].buf += frame_txn_entry(data if data is not None else marshall_txn_entry(hdr, txn, digest))
        return True

    @property
    def pending_bytes(self) -> int:
        return sum(len(s.buf) for s in self._segments)

    def roll_log(self) -> None:
        """The next append opens a new file. Mirrors: FileTxnLog.rollLog."""
        self.current_name = None

    def commit(self) -> None:
        """Write what was appended and fsync it: one write and one fsync per file.

        Blocking: the sync stage runs it in a worker thread and appends nothing until
        it returns. Mirrors: FileTxnLog.commit.
        """
        segments, self._segments = self._segments, []
        if not segments:
            return
        for seg in segments:
            f = self._files.get(seg.name)
            if f is None:
                f = self._open(seg.name, seg.new)
            end = f.position + len(seg.buf)
            size = calculate_file_size_with_padding(f.position, f.size, self.prealloc_size)
            if size < end:
                size = calculate_file_size_with_padding(end, size, self.prealloc_size)
            if size > f.size:  # FilePadding.padFile: one zero byte at the new end
                os.pwrite(f.fd, b"\0", size - 1)
                f.size = size
            written = os.pwrite(f.fd, seg.buf, f.position)
            while written < len(seg.buf):  # a short write (rare) goes on where it stopped
                written += os.pwrite(f.fd, memoryview(seg.buf)[written:], f.position + written)
            f.position = end
            if self.force_sync:
                os.fdatasync(f.fd)
                self.fsyncs += 1
        self.commits += 1
        # Files before the current one are complete: close them (streamsToFlush).
        for name in [n for n in self._files if n != self.current_name]:
            os.close(self._files.pop(name).fd)

    def _open(self, name: str, new: bool) -> _OpenFile:
        path = self.log_dir / name
        if new:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            if self.force_sync:
                fsync_dir(self.log_dir)  # the name must survive a power cut too
            f = _OpenFile(fd, 0, 0)
        else:
            raise AssertionError(f"{name} is not open: segments of a file follow its creation")
        self._files[name] = f
        return f

    def close(self) -> None:
        """Close the files. Appended but uncommitted transactions are dropped (nobody
        was answered for them). Mirrors: FileTxnLog.close."""
        self._segments.clear()
        for f in self._files.values():
            os.close(f.fd)
        self._files.clear()
        self.current_name = None

    # --- reading ---------------------------------------------------------------------

    def log_names(self) -> list[str]:
        return [p.name for p in self.log_dir.iterdir()] if self.log_dir.exists() else []

    def read(self, zxid: int, *, repair_tail: bool = False) -> TxnIterator:
        """Every logged transaction from ``zxid`` on. Mirrors: FileTxnLog.read."""
        return TxnIterator(self.log_dir, zxid, self.max_buffer, repair_tail=repair_tail)

    def get_last_logged_zxid(self) -> int:
        """The zxid of the newest logged transaction, -1 if there is none.

        Mirrors: FileTxnLog.getLastLoggedZxid.
        """
        files = get_log_files(self.log_names(), 0)
        if not files:
            return -1
        zxid = get_zxid_from_name(files[-1], LOG_FILE_PREFIX)
        try:
            for entry in TxnIterator(self.log_dir, zxid, self.max_buffer, files=files[-1:]):
                zxid = entry.header.zxid
        except LogCorruptError as e:
            log.warning("Unexpected exception: %s", e)
        return zxid

    def truncate(self, zxid: int) -> None:
        """Remove every transaction after ``zxid``: cut the file that holds ``zxid``
        right after it, delete the files after it.

        Raises:
            OSError: no log file holds ``zxid``.

        Mirrors: FileTxnLog.truncate (for TRUNC sync).
        """
        self.close()
        files = get_log_files(self.log_names(), zxid)
        if not files or get_zxid_from_name(files[0], LOG_FILE_PREFIX) > zxid:
            raise OSError(
                "No log files found to truncate! This could happen if you still have snapshots from an old "
                "setup or log files were deleted accidentally or dataLogDir was changed in zoo.cfg."
            )
        it = TxnIterator(self.log_dir, 0, self.max_buffer, files=files[:1])
        cut = FILE_HEADER_SIZE
        for entry in it:
            if entry.header.zxid > zxid:
                break
            cut = it.position
        with open(self.log_dir / files[0], "r+b") as f:
            f.truncate(cut)
            os.fsync(f.fileno())
        for name in files[1:]:
            log.info("Deleting log file %s after truncation to %s", name, zxid_str(zxid))
            (self.log_dir / name).unlink()
        fsync_dir(self.log_dir)


class TxnIterator:
    """The transactions of the log from ``zxid`` on, across files, oldest first.

    Args:
        log_dir: the log directory.
        zxid: the first zxid wanted (earlier ones are read and skipped).
        repair_tail: cut a torn last frame off the newest file and remove a newest
            file without a header, instead of raising.
        files: read these names instead of ``get_log_files(…, zxid)``.

    Raises (while iterating):
        LogCorruptError: a damaged frame that is not a repairable tail, a file with a
            wrong magic, or a file without a header that is not the newest.

    Mirrors: FileTxnLog.FileTxnIterator.
    """

    def __init__(
        self,
        log_dir: Path,
        zxid: int,
        max_buffer: int = DEFAULT_MAX_BUFFER,
        *,
        repair_tail: bool = False,
        files: list[str] | None = None,
    ) -> None:
        self.log_dir = log_dir
        self.zxid = zxid
        self.max_buffer = max_buffer
        self.repair_tail = repair_tail
        names = [p.name for p in log_dir.iterdir()] if log_dir.exists() else []
        self.files = files if files is not None else get_log_files(names, zxid)
        self.log_file: str | None = None  # the file being read
        self.position = 0  # after the last frame read from it
        self.repairs: list[str] = []  # what recovery cut or removed, for the log and tests

    def __iter__(self) -> Iterator[TxnLogEntry]:
        for i, name in enumerate(self.files):
            newest = i == len(self.files) - 1
            self.log_file = name
            path = self.log_dir / name
            fd = os.open(path, os.O_RDONLY)
            try:
                data = read_log_bytes(fd)
            finally:
                os.close(fd)
            header = decode_file_header(data)
            if header is None or (header.magic == 0 and not data.strip(b"\0")):
                self._headerless(path, newest)
                continue
            if header.magic != TXNLOG_MAGIC:
                raise LogCorruptError(f"Transaction log: {path} has invalid magic number {header.magic} != "
                                      f"{TXNLOG_MAGIC}")  # fmt: skip
            scanner = LogScanner(data, self.max_buffer)
            self.position = scanner.position
            while (entry := scanner.next()) is not None:
                self.position = scanner.position
                if entry.header.zxid >= self.zxid:
                    yield entry
            if scanner.damage is not None:
                self._damaged(path, newest, scanner)

    def _headerless(self, path: Path, newest: bool) -> None:
        if not (newest and self.repair_tail):
            raise LogCorruptError(f"Transaction log {path} has no file header")
        # ZOOKEEPER-1621: a crash between creating the file and writing its header.
        log.warning("Removing %s: the newest log file has no header (created, then a crash)", path)
        path.unlink()
        fsync_dir(path.parent)
        self.repairs.append(f"removed {path.name}: no header")

    def _damaged(self, path: Path, newest: bool, scanner: LogScanner) -> None:
        damage = scanner.damage
        assert damage is not None
        where = f"{path} at offset {damage.offset}: {damage.reason}"
        if not newest or not self.repair_tail:
            raise LogCorruptError(f"Transaction log {where}")
        if damage.valid_frame_after is not None:
            raise LogCorruptError(
                f"Transaction log {where}, and a valid record follows at offset {damage.valid_frame_after}: "
                "damage in the middle of the log, not a torn write; refusing to drop the records after it"
            )
        cut = len(scanner.data) - damage.offset
        log.warning("Cutting the torn tail of %s: %d bytes from offset %d (%s)", path, cut, damage.offset,
                    damage.reason)  # fmt: skip
        with open(path, "r+b") as f:
            f.truncate(damage.offset)
            os.fsync(f.fileno())
        self.repairs.append(f"cut {path.name} at {damage.offset}: {damage.reason}")
