"""The transaction log file, as bytes: its header, its records, and how a scan ends.

A log file is a header, then one frame per transaction, then zeros (the file is
preallocated in 64 MiB steps, so its tail is zeros until records overwrite them)::

    offset 0   | magic  int  "ZKLG" 0x5a4b4c47 | version int 2 | dbid long 0 |   FileHeader
    offset 16  | crc    long  Adler32 of entry  |                                 one frame
               | len    int   n                 |
               | entry  n bytes: TxnHeader, txn record, TxnDigest? (see util.py)  |
               | EOR    byte  0x42 'B'          |
               | crc | len | entry | 'B' |  ...                                    next frame
               | 00 00 00 00 00 00 00 00 | 00 00 00 00 | ...                       end: len 0

A frame whose length is 0 marks the end of the written part (the preallocated zeros).
Anything else that does not parse (a frame cut short by the end of the file, a length
past it, a checksum that does not match, a missing 'B', an entry that does not decode)
is *damage*. :class:`LogScanner` stops at the first damage and reports where it is and
whether a valid frame follows it: the recovery code decides what to do with that (cut a
torn tail, refuse a hole in the middle); this module only reads bytes.

Java treats a frame cut short at the end as the end of the file, and fails with "CRC
check failed" on a bad checksum anywhere. We report both as damage and let
FileTxnSnapLog cut the torn tail of the newest file.

Mirrors: org.apache.zookeeper.server.persistence.FileTxnLog (TXNLOG_MAGIC, VERSION,
append's framing, FileTxnIterator.next), Util.readTxnBytes/writeTxnBytes and
FilePadding.calculateFileSizeWithPadding.
"""

from __future__ import annotations

import dataclasses
import os
import struct
import zlib

from zk.jute.codec import JuteError
from zk.jute.records import FileHeader
from zk.storage.util import TxnLogEntry, deserialize_txn

__all__ = [
    "EOR",
    "FILE_HEADER_SIZE",
    "PREALLOC_SIZE",
    "TXNLOG_MAGIC",
    "VERSION",
    "LogDamage",
    "LogScanner",
    "calculate_file_size_with_padding",
    "decode_file_header",
    "encode_file_header",
    "frame_txn_entry",
    "read_log_bytes",
]

TXNLOG_MAGIC = int.from_bytes(b"ZKLG", "big")  # 0x5a4b4c47
VERSION = 2
FILE_HEADER_SIZE = 16  # magic int + version int + dbid long
EOR = 0x42  # 'B', the end-of-record byte
PREALLOC_SIZE = 64 * 1024 * 1024  # zookeeper.preAllocSize default, 65536 KiB

_FRAME_HEAD = struct.Struct(">qi")  # crc long, len int
_FRAME_OVERHEAD = _FRAME_HEAD.size + 1  # + the EOR byte


def encode_file_header(dbid: int = 0) -> bytes:
    """The 16 bytes that open every log file."""
    return FileHeader(TXNLOG_MAGIC, VERSION, dbid).to_bytes()


def decode_file_header(data: bytes) -> FileHeader | None:
    """The header, or None if ``data`` is too short to hold one. The magic is the
    caller's to check."""
    if len(data) < FILE_HEADER_SIZE:
        return None
    return FileHeader.from_bytes(data[:FILE_HEADER_SIZE])


def frame_txn_entry(entry: bytes) -> bytes:
    """crc, length, entry, 'B'. Mirrors: FileTxnLog.append and Util.writeTxnBytes."""
    assert entry, "a txn entry is never empty: a zero length marks the end of a log"
    return _FRAME_HEAD.pack(zlib.adler32(entry), len(entry)) + entry + bytes((EOR,))


def calculate_file_size_with_padding(position: int, file_size: int, prealloc_size: int) -> int:
    """The size to grow the file to before writing at ``position``.

    Within 4 KiB of the preallocated end, grow by another ``prealloc_size`` (rounded to
    a multiple of it when the writes already ran past the end).

    Mirrors: FilePadding.calculateFileSizeWithPadding.
    """
    if prealloc_size > 0 and position + 4096 >= file_size:
        if position > file_size:
            file_size = position + prealloc_size
            file_size -= file_size % prealloc_size
        else:
            file_size += prealloc_size
    return file_size


@dataclasses.dataclass(frozen=True, slots=True)
class LogDamage:
    """Where a scan met bytes that are not a frame.

    Attributes:
        offset: where the bad frame starts (everything before it is good).
        reason: what is wrong, for the log line.
        valid_frame_after: the offset of a valid frame further on, if there is one.
            None means only the damaged frame and zeros follow: a torn write at the
            tail. A number means the damage is in the middle of the log.
    """

    offset: int
    reason: str
    valid_frame_after: int | None


class LogScanner:
    """Reads frames out of one log file's bytes, front to back.

    ``next()`` returns the next entry, or None at the end; after None, ``damage`` says
    whether the end was clean (None) or bad bytes. ``position`` is the offset just
    after the last good frame: where a truncation would cut.

    Mirrors: FileTxnLog.FileTxnIterator (next, for one file).
    """

    def __init__(self, data: bytes, max_buffer: int, *, start: int = FILE_HEADER_SIZE) -> None:
        self.data = data
        self.max_buffer = max_buffer
        self.position = start
        self.damage: LogDamage | None = None
        self.done = False

    def next(self) -> TxnLogEntry | None:
        if self.done:
            return None
        entry, problem = self._read_frame(self.position)
        if entry is None:
            self.done = True
            if problem is not None:
                self.damage = LogDamage(self.position, problem, self._find_valid_frame_after(self.position))
            return None
        self.position += _FRAME_OVERHEAD + _frame_length(self.data, self.position)
        return entry

    def _read_frame(self, at: int) -> tuple[TxnLogEntry | None, str | None]:
        """(entry, None), or (None, None) at a clean end, or (None, reason) on damage."""
        data = self.data
        rest = len(data) - at
        if rest < _FRAME_HEAD.size:
            # Too short for crc and length: a clean end only if it is zeros (or nothing).
            return None, None if not data[at:].strip(b"\0") else "a frame cut short by the end of the file"
        crc, length = _FRAME_HEAD.unpack_from(data, at)
        if length == 0:
            if data.count(0, at) == rest:
                return None, None  # the preallocated zeros: the end of the written log
            return None, "zeros where a frame should be, with data after them"
        if length < 0 or length > rest - _FRAME_OVERHEAD:
            return None, f"a frame of length {length} with {rest - _FRAME_OVERHEAD} bytes left in the file"
        body_at = at + _FRAME_HEAD.size
        body = data[body_at : body_at + length]
        if data[body_at + length] != EOR:
            return None, "no end-of-record byte after the frame (Last transaction was partial)"
        if zlib.adler32(body) != crc:
            return None, "CRC check failed"
        try:
            return deserialize_txn(body, self.max_buffer), None
        except JuteError as e:
            return None, f"a frame with a good checksum that does not decode: {e}"

    def _find_valid_frame_after(self, at: int) -> int | None:
        """The first offset past ``at`` where a whole, checksummed frame starts.

        Only the bytes up to the last non-zero byte can hold one. A torn tail is a few
        KiB at most; a damaged middle is found at the first frame after it.
        """
        data = self.data
        end = len(data.rstrip(b"\0"))
        for q in range(at + 1, end - _FRAME_OVERHEAD):
            crc, length = _FRAME_HEAD.unpack_from(data, q)
            body_at = q + _FRAME_HEAD.size
            if length <= 0 or body_at + length >= len(data) or data[body_at + length] != EOR:
                continue
            if zlib.adler32(data[body_at : body_at + length]) == crc:
                return q
        return None


def read_log_bytes(fd: int) -> bytes:
    """The bytes of a log file that can hold frames: up to the first hole.

    A preallocated log is sparse (one byte written at the far end), so reading the
    whole 64 MiB would mostly read zeros. The written part ends at the first hole;
    should any data region after it hold a non-zero byte (damage), the whole file is
    returned so that the scan sees it. Without hole support, the whole file.
    """
    size = os.fstat(fd).st_size
    try:
        hole = os.lseek(fd, 0, os.SEEK_HOLE)
    except OSError:
        hole = size
    at = hole
    while at < size:
        try:
            start = os.lseek(fd, at, os.SEEK_DATA)
        except OSError:  # ENXIO: no data after ``at``
            break
        end = os.lseek(fd, start, os.SEEK_HOLE)
        if os.pread(fd, end - start, start).count(0) != end - start:
            hole = size
            break
        at = end
    return os.pread(fd, hole, 0)


def _frame_length(data: bytes, at: int) -> int:
    return int(_FRAME_HEAD.unpack_from(data, at)[1])
