"""Annotated bytes: every byte of a jute record or a client packet, labelled with its field.

A row per primitive, in wire order::

    offset  bytes        field                value
    0       00 00 00 04  path (length)        4
    4       2f 61 70 70  path                 '/app'
    8       00 00 00 01  acl (length)         1
    12      00 00 00 1f  acl[0].perms         31
    ...

Length prefixes of strings, buffers and vectors are rows of their own, so the rows' bytes
put end to end are exactly the record's bytes. The rows are read off the bytes by walking
``Record.FIELDS``, the same field list the codec uses, so there is no table per record to
keep in step with :mod:`zk.jute.records`.

Mirrors: org.apache.jute.BinaryInputArchive, read one field at a time. ZooKeeper itself
has no byte-level dump; its LogFormatter and TxnLogToolkit print only decoded records.
"""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Sequence

from zk.jute.codec import JuteError, JuteType, Reader, Record, RecordType, VectorType
from zk.trace.render import Table, markdown_table

__all__ = ["Row", "annotate", "annotate_frame", "annotate_table"]

# Longest value text and most bytes a table cell shows; Row itself keeps everything.
_MAX_VALUE = 40
_MAX_BYTES = 16


@dataclasses.dataclass(frozen=True, slots=True)
class Row:
    """One primitive on the wire.

    Attributes:
        offset: where it starts, from the start of the annotated bytes.
        bytes: its bytes as a hex string (all of them).
        field: a dotted path, ``acl[0].id.scheme``; ``path (length)`` for a length prefix.
        value: the decoded value as text.
    """

    offset: int
    bytes: str
    field: str
    value: str

    @property
    def raw(self) -> builtins.bytes:
        """The row's bytes as bytes."""
        return builtins.bytes.fromhex(self.bytes)


class _Walker:
    """Reads one value per primitive off ``data``, recording the bytes each one took."""

    def __init__(self, data: builtins.bytes, base: int) -> None:
        self.data = data
        # Annotating is for our own eyes, so allow any length the bytes themselves hold.
        self.reader = Reader(data, max_buffer=max(len(data), 1))
        self.base = base
        self.rows: list[Row] = []

    def _row(self, start: int, field: str, value: str) -> None:
        chunk = self.data[start : self.reader.offset]
        self.rows.append(Row(self.base + start, chunk.hex(), field, value))

    def record(self, cls: type[Record], prefix: str) -> None:
        for name, jt in cls.FIELDS:
            self.value(jt, prefix + name)

    def value(self, jt: JuteType, path: str) -> None:
        r = self.reader
        start = r.offset
        if isinstance(jt, RecordType):
            self.record(jt.cls, path + ".")
        elif isinstance(jt, VectorType):
            n = r.read_vector_length()
            self._row(start, f"{path} (length)", "-1 (null)" if n == -1 else str(n))
            for i in range(max(n, 0)):
                self.value(jt.element, f"{path}[{i}]")
        elif jt.name in ("buffer", "ustring"):
            v = jt.read(r)
            # Split the one read into its two parts: the int length, then the content.
            end = r.offset
            r.offset = start + 4
            self._row(start, f"{path} (length)", "-1 (null)" if v is None else str(end - start - 4))
            r.offset = end
            if end > start + 4:
                self._row(start + 4, path, _cut(repr(v)))
        else:
            self._row(start, path, _primitive_text(path, jt.read(r)))


def _cut(text: str) -> str:
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def _primitive_text(path: str, v: object) -> str:
    name = path.rsplit(".", 1)[-1].lower()
    if isinstance(v, int) and not isinstance(v, bool) and v > 0:
        if name.endswith("zxid"):
            # zxid = epoch << 32 | counter
            return f"{v:#x} (e{v >> 32}:{v & 0xFFFFFFFF})"
        if name in ("sessionid", "session_id", "ephemeralowner", "clientid"):
            return f"{v:#x}"
    return str(v)


def annotate(record: Record, *, prefix: str = "", offset: int = 0) -> list[Row]:
    """The annotated bytes of ``record``: one :class:`Row` per primitive, in wire order.

    Args:
        record: any jute record.
        prefix: put before every field path (``"body."``).
        offset: the offset of the record's first byte.
    """
    walker = _Walker(record.to_bytes(), offset)
    walker.record(type(record), prefix)
    assert walker.reader.remaining == 0, f"{type(record).__name__}: annotation stopped short"
    return walker.rows


def annotate_frame(frame: builtins.bytes, *records: type[Record], length_prefix: bool = True) -> list[Row]:
    """Annotate a whole packet: its 4-byte length prefix, then each record in turn.

    For a client request, ``annotate_frame(frame, RequestHeader, CreateRequest)``. Field
    paths start with the record's class name (``RequestHeader.xid``). Bytes left over after
    the last record become one ``(unparsed)`` row, so the rows always add up to the frame.

    Raises:
        JuteError: the bytes do not hold these records (truncated or malformed).
    """
    walker = _Walker(frame, 0)
    if length_prefix:
        n = walker.reader.read_int()
        note = "" if n == len(frame) - 4 else f" (frame has {len(frame) - 4})"
        walker._row(0, "len", f"{n}{note}")
    for cls in records:
        try:
            walker.record(cls, cls.__name__ + ".")
        except JuteError as e:
            raise JuteError(f"{cls.__name__} at offset {walker.reader.offset}: {e}") from None
    if walker.reader.remaining:
        start = walker.reader.offset
        walker.reader.offset = len(frame)
        walker._row(start, "(unparsed)", f"{len(frame) - start} bytes")
    return walker.rows


def _hex_cell(hex_text: str) -> str:
    pairs = [hex_text[i : i + 2] for i in range(0, len(hex_text), 2)]
    shown = " ".join(pairs[:_MAX_BYTES])
    return shown if len(pairs) <= _MAX_BYTES else f"{shown} … (+{len(pairs) - _MAX_BYTES})"


def annotate_table(rows: Sequence[Row]) -> Table:
    """The rows as a Markdown table: offset, bytes (spaced hex, long runs cut), field, value."""
    return markdown_table(
        ["offset", "bytes", "field", "value"],
        ([str(r.offset), _hex_cell(r.bytes), r.field, r.value] for r in rows),
    )
