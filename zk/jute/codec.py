"""The jute binary format: how every ZooKeeper packet and file is written.

Jute is ZooKeeper's own serialization, generated from ``zookeeper.jute``. Its binary form
is plain big-endian with length prefixes and nothing else: no field tags, no version
bytes, no padding. A record is its fields, in declaration order, back to back.

    int      4 bytes, signed, big-endian
    long     8 bytes, signed, big-endian
    boolean  1 byte, 0 or 1
    buffer   int length (-1 = null), then that many bytes
    ustring  int length (-1 = null), then that many UTF-8 bytes
    vector   int count (-1 = null), then each element
    record   its fields, in order (no framing of its own)

This module holds the primitive readers and writers and the ``@record`` decorator that
turns an annotated class into a frozen dataclass with ``encode``/``decode``. The record
classes of ``zookeeper.jute`` live in :mod:`zk.jute.records`.

Mirrors: org.apache.jute.BinaryInputArchive, org.apache.jute.BinaryOutputArchive,
org.apache.jute.Record. We differ in one way: Java generates a class per record with
hand-rolled serialize/deserialize methods; we declare the fields once, as annotations,
and derive both directions (and the annotated byte dumps of zk.trace) from that list.
"""

from __future__ import annotations

import dataclasses
import operator
import struct
import typing
from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Protocol, TypeVar, dataclass_transform

__all__ = [
    "BOOL",
    "BUFFER",
    "INT",
    "LONG",
    "USTRING",
    "Bool",
    "Buffer",
    "Int",
    "JuteError",
    "JuteType",
    "Long",
    "Reader",
    "Record",
    "RecordType",
    "UString",
    "VectorType",
    "Writer",
    "record",
    "vector",
]

# jute.maxbuffer: the largest buffer, string or vector a reader accepts. ZooKeeper's
# default is 0xfffff (1 MiB - 1); the server adds a little for the packet around it.
DEFAULT_MAX_BUFFER = 0xFFFFF

_INT = struct.Struct(">i")
_LONG = struct.Struct(">q")


class JuteError(ValueError):
    """The bytes are not a valid jute record: truncated, oversized, or malformed.

    Always the sender's fault (a peer's or client's bad bytes, or a damaged file), never
    ours: callers turn it into a closed connection or a skipped record, never a crash.
    """


class Reader:
    """Reads jute primitives from a byte string, front to back.

    Mirrors: org.apache.jute.BinaryInputArchive.
    """

    __slots__ = ("_data", "max_buffer", "offset")

    def __init__(self, data: bytes | bytearray | memoryview, max_buffer: int = DEFAULT_MAX_BUFFER) -> None:
        self._data = bytes(data)
        self.offset = 0
        self.max_buffer = max_buffer

    @property
    def remaining(self) -> int:
        return len(self._data) - self.offset

    @property
    def data(self) -> bytes:
        """All the bytes, read or not: for a caller that decodes a long run of records
        with structs of its own and then moves ``offset`` past them."""
        return self._data

    def _take(self, n: int) -> bytes:
        end = self.offset + n
        if end > len(self._data):
            raise JuteError(f"truncated: need {n} bytes at offset {self.offset}, have {self.remaining}")
        chunk = self._data[self.offset : end]
        self.offset = end
        return chunk

    def read_int(self) -> int:
        if self.offset + 4 > len(self._data):
            raise JuteError(f"truncated: need an int at offset {self.offset}, have {self.remaining} bytes")
        (v,) = _INT.unpack_from(self._data, self.offset)
        self.offset += 4
        return int(v)

    def read_long(self) -> int:
        if self.offset + 8 > len(self._data):
            raise JuteError(f"truncated: need a long at offset {self.offset}, have {self.remaining} bytes")
        (v,) = _LONG.unpack_from(self._data, self.offset)
        self.offset += 8
        return int(v)

    def read_bool(self) -> bool:
        return self._take(1) != b"\x00"

    def _read_length(self, what: str) -> int:
        n = self.read_int()
        if n > self.max_buffer:
            raise JuteError(f"{what} of {n} bytes is over jute.maxbuffer ({self.max_buffer})")
        if n < -1:
            raise JuteError(f"{what} has a negative length {n}")
        return n

    def read_buffer(self) -> bytes | None:
        n = self._read_length("buffer")
        return None if n == -1 else self._take(n)

    def read_ustring(self) -> str | None:
        n = self._read_length("string")
        if n == -1:
            return None
        raw = self._take(n)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise JuteError(f"string is not UTF-8: {e}") from None

    def read_vector_length(self) -> int:
        return self._read_length("vector")

    def read_rest(self) -> bytes:
        """Whatever is left, for a caller that decodes it later."""
        return self._take(self.remaining)


class Writer:
    """Appends jute primitives to a growing buffer.

    Mirrors: org.apache.jute.BinaryOutputArchive.
    """

    __slots__ = ("buf",)

    def __init__(self) -> None:
        self.buf = bytearray()

    def getvalue(self) -> bytes:
        return bytes(self.buf)

    def write_int(self, v: int) -> None:
        self.buf += _INT.pack(v)

    def write_long(self, v: int) -> None:
        self.buf += _LONG.pack(v)

    def write_bool(self, v: bool) -> None:
        self.buf.append(1 if v else 0)

    def write_buffer(self, v: bytes | None) -> None:
        if v is None:
            self.buf += _INT.pack(-1)
        else:
            self.buf += _INT.pack(len(v))
            self.buf += v

    def write_ustring(self, v: str | None) -> None:
        self.write_buffer(None if v is None else v.encode("utf-8"))


# --- field types ------------------------------------------------------------------------
# Each jute type knows how to read and write one value and what it is called in
# zookeeper.jute; a record is a list of (field name, JuteType).


class JuteType(Protocol):
    """One jute type: its name in zookeeper.jute and its two directions."""

    @property
    def name(self) -> str: ...

    def read(self, r: Reader) -> Any: ...

    def write(self, w: Writer, v: Any) -> None: ...


@dataclasses.dataclass(frozen=True, slots=True)
class _Primitive:
    name: str
    read: Callable[[Reader], Any]
    write: Callable[[Writer, Any], None]


INT: JuteType = _Primitive("int", Reader.read_int, Writer.write_int)
LONG: JuteType = _Primitive("long", Reader.read_long, Writer.write_long)
BOOL: JuteType = _Primitive("boolean", Reader.read_bool, Writer.write_bool)
BUFFER: JuteType = _Primitive("buffer", Reader.read_buffer, Writer.write_buffer)
USTRING: JuteType = _Primitive("ustring", Reader.read_ustring, Writer.write_ustring)


@dataclasses.dataclass(frozen=True, slots=True)
class VectorType:
    """``vector<T>``: an int count (-1 for null) and then each element."""

    element: JuteType

    @property
    def name(self) -> str:
        return f"vector<{self.element.name}>"

    def read(self, r: Reader) -> list[Any] | None:
        n = r.read_vector_length()
        if n == -1:
            return None
        if n > r.remaining:  # every element takes at least one byte
            raise JuteError(f"vector of {n} elements cannot fit in {r.remaining} bytes")
        return [self.element.read(r) for _ in range(n)]

    def write(self, w: Writer, v: list[Any] | None) -> None:
        if v is None:
            w.write_int(-1)
            return
        w.write_int(len(v))
        for item in v:
            self.element.write(w, item)


@dataclasses.dataclass(frozen=True, slots=True)
class RecordType:
    """A nested record: its fields inline, with no framing of their own."""

    cls: type[Record]

    @property
    def name(self) -> str:
        return self.cls.JUTE_NAME

    def read(self, r: Reader) -> Record:
        return self.cls.decode(r)

    def write(self, w: Writer, v: Record) -> None:
        v.encode(w)


def vector(element: JuteType | type[Record]) -> VectorType:
    """``vector<element>``; a record class stands for that record type."""
    if isinstance(element, type):
        return VectorType(RecordType(element))
    return VectorType(element)


# Annotations for record fields: the Python type for mypy, the jute type for the codec.
Int = Annotated[int, INT]
Long = Annotated[int, LONG]
Bool = Annotated[bool, BOOL]
Buffer = Annotated[bytes | None, BUFFER]
UString = Annotated[str | None, USTRING]


# --- records ----------------------------------------------------------------------------


class Record:
    """Base of every jute record. Subclasses are made with :func:`record`.

    ``FIELDS`` is the record's definition; ``encode``/``decode`` follow a *plan* derived
    from it once per class, in which every run of fixed-size fields (int, long, boolean)
    is one precompiled ``struct`` (a Stat is a single ``>qqqqiiiqiiq``). That is the
    whole optimisation: the bytes are those of the field-by-field reading above.

    Mirrors: org.apache.jute.Record.
    """

    __slots__ = ()
    JUTE_NAME: ClassVar[str]
    FIELDS: ClassVar[tuple[tuple[str, JuteType], ...]]
    _INDEX: ClassVar[dict[str, int]]
    _VALUES: ClassVar[Callable[[Any], tuple[Any, ...]]]
    _PLAN: ClassVar[tuple[_Step, ...]]

    def encode(self, w: Writer) -> None:
        for step in self._PLAN:
            step.write(w, self)

    @classmethod
    def decode(cls: type[R], r: Reader) -> R:
        values: list[Any] = []
        for step in cls._PLAN:
            step.read(r, values)
        return cls(*values)

    def to_bytes(self) -> bytes:
        w = Writer()
        self.encode(w)
        return w.getvalue()

    def replace(self: R, **changes: Any) -> R:
        """A copy with some fields changed: ``dataclasses.replace`` at well under half
        its cost (every write replaces a Stat or two, on every server)."""
        cls = type(self)
        values = list(cls._VALUES(self))  # through the class: a function stored there would bind
        for name, value in changes.items():
            values[cls._INDEX[name]] = value  # KeyError: the record has no such field
        return cls(*values)

    @classmethod
    def from_bytes(cls: type[R], data: bytes | bytearray | memoryview, max_buffer: int = DEFAULT_MAX_BUFFER) -> R:
        """Decode exactly one record; trailing bytes are an error."""
        r = Reader(data, max_buffer)
        rec = cls.decode(r)
        if r.remaining:
            raise JuteError(f"{cls.__name__}: {r.remaining} bytes left over after the record")
        return rec


class _Step(Protocol):
    def write(self, w: Writer, rec: Record) -> None: ...

    def read(self, r: Reader, values: list[Any]) -> None: ...


_FIXED = {"int": "i", "long": "q", "boolean": "?"}


class _FixedRun:
    """Consecutive int/long/boolean fields, packed and unpacked as one struct."""

    __slots__ = ("get", "names", "packer")

    def __init__(self, names: list[str], formats: str) -> None:
        self.names = names
        self.packer = struct.Struct(">" + formats)
        getter = operator.attrgetter(*names)
        self.get: Callable[[Record], tuple[Any, ...]] = getter if len(names) > 1 else lambda rec: (getter(rec),)

    def write(self, w: Writer, rec: Record) -> None:
        w.buf += self.packer.pack(*self.get(rec))

    def read(self, r: Reader, values: list[Any]) -> None:
        if r.remaining < self.packer.size:
            raise JuteError(f"truncated: need {self.packer.size} bytes for {', '.join(self.names)}")
        values.extend(self.packer.unpack_from(r._data, r.offset))
        r.offset += self.packer.size


class _Field:
    """One variable-size field (buffer, ustring, vector, nested record)."""

    __slots__ = ("jt", "name")

    def __init__(self, name: str, jt: JuteType) -> None:
        self.name, self.jt = name, jt

    def write(self, w: Writer, rec: Record) -> None:
        self.jt.write(w, getattr(rec, self.name))

    def read(self, r: Reader, values: list[Any]) -> None:
        values.append(self.jt.read(r))


def _plan(fields: tuple[tuple[str, JuteType], ...]) -> tuple[_Step, ...]:
    steps: list[_Step] = []
    run: list[tuple[str, str]] = []
    for name, jt in fields:
        code = _FIXED.get(jt.name)
        if code is not None:
            run.append((name, code))
            continue
        if run:
            steps.append(_FixedRun([n for n, _ in run], "".join(c for _, c in run)))
            run = []
        steps.append(_Field(name, jt))
    if run:
        steps.append(_FixedRun([n for n, _ in run], "".join(c for _, c in run)))
    return tuple(steps)


R = TypeVar("R", bound=Record)


def _jute_type_of(hint: Any) -> JuteType:
    if typing.get_origin(hint) is Annotated:
        for meta in hint.__metadata__:
            if isinstance(meta, (_Primitive, VectorType, RecordType)):
                return meta
    if isinstance(hint, type) and issubclass(hint, Record):
        return RecordType(hint)
    raise TypeError(f"{hint!r} is not a jute field type")


@dataclass_transform(frozen_default=True)
def record(module: str) -> Callable[[type[R]], type[R]]:
    """Make a jute record class: a frozen, slotted dataclass whose annotated fields, in
    order, are the record's fields. ``module`` is the jute module it belongs to, so
    ``JUTE_NAME`` reads as in zookeeper.jute (``org.apache.zookeeper.data.Stat``)."""

    def wrap(cls: type[R]) -> type[R]:
        dc = dataclasses.dataclass(frozen=True, slots=True)(cls)
        hints = typing.get_type_hints(dc, include_extras=True)
        fields = dataclasses.fields(dc)  # type: ignore[arg-type]  # dc is a dataclass now
        dc.FIELDS = tuple((f.name, _jute_type_of(hints[f.name])) for f in fields)
        names = [name for name, _ in dc.FIELDS]
        dc._INDEX = {name: i for i, name in enumerate(names)}
        # attrgetter gives a tuple for two names or more only
        dc._VALUES = operator.attrgetter(*names) if len(names) > 1 else lambda r: tuple(getattr(r, n) for n in names)
        dc._PLAN = _plan(dc.FIELDS)
        dc.JUTE_NAME = f"{module}.{cls.__name__}"
        return dc

    return wrap
