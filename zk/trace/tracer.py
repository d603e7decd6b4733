"""The Tracer: named trace points that cost one attribute check when tracing is off.

Every server module takes a tracer (``NULL_TRACER`` by default) and, at each place where
something worth seeing happens, writes::

    if tracer.enabled:
        tracer.emit("prep.txn.created", zxid=zxid, session=session_id, op="create")

When tracing is off that is one attribute load and one branch: the keyword arguments are
never even built. When it is on, the tracer stamps the event and hands it to a sink::

    {"t": 1234567, "server": "s1", "event": "prep.txn.created", "zxid": 4294967297, ...}

``t`` is nanoseconds since the tracer was made (or since ``ZK_TRACE_ORIGIN``, so that the
servers of one ensemble share a zero), read from ``time.monotonic_ns``. Event names are
dotted, ``<package>.<fact>``: ``server.packet.received``, ``sync.fsync.done``,
``watch.triggered``. The file sink is the only IO in this package.

Mirrors: org.apache.zookeeper.server.ZooTrace. ZooTrace writes text lines through the
logger, filtered by a bit mask of categories (CLIENT_REQUEST_TRACE_MASK, ...); we emit
structured events, filtered afterwards by name prefix, so that notebooks can draw them.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any, Protocol

__all__ = [
    "NULL_TRACER",
    "JsonLinesSink",
    "MemorySink",
    "Sink",
    "Tracer",
    "to_json",
]

# Keys the tracer stamps on every event; a trace point may not use them as field names.
_STAMPS = frozenset({"t", "server", "event"})


class Sink(Protocol):
    """Where an enabled tracer sends its events: one call per event, in emit order."""

    def write(self, event: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


def _json_default(value: object) -> object:
    # json.dumps calls this for anything it cannot write itself; ints, strs, bools,
    # floats, None, lists and dicts never get here.
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # Jute records are dataclasses: write them as {field: value}, nested the same way.
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return repr(value)


def to_json(event: dict[str, Any]) -> str:
    """One event as one line of JSON: bytes become hex strings, ints stay ints.

    Jute records become objects of their fields; anything else unknown becomes its repr.
    """
    return json.dumps(event, default=_json_default, separators=(",", ":"), ensure_ascii=False)


class MemorySink:
    """Keeps every event in a list, as emitted (values are not converted). For tests."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def write(self, event: dict[str, Any]) -> None:
        self.events.append(event)

    def close(self) -> None:
        pass


class JsonLinesSink:
    """Appends one JSON object per line to a file, flushed after every event.

    The flush is what lets a notebook read a live server's trace while it runs. Several
    servers may append to one file: each event is a single write of a whole line.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._file: IO[str] | None = self.path.open("a", encoding="utf-8")
        # Servers run on asyncio, but a blocking helper thread may emit too.
        self._lock = threading.Lock()

    def write(self, event: dict[str, Any]) -> None:
        line = to_json(event) + "\n"
        with self._lock:
            if self._file is None:
                raise ValueError(f"trace sink {self.path} is closed")
            self._file.write(line)
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def __enter__(self) -> JsonLinesSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Tracer:
    """Stamps trace events and sends them to a sink; with no sink it is off.

    Args:
        server: this server's label in every event (``"s1"``).
        sink: where events go; ``None`` makes a disabled tracer.
        clock: nanosecond clock; a simulator passes its virtual clock here.
        origin: the clock value that is ``t = 0``; defaults to the clock at creation.

    Mirrors: org.apache.zookeeper.server.ZooTrace.
    """

    # Slots keep ``tracer.enabled`` a plain slot load: the whole cost of a trace point
    # when tracing is off.
    __slots__ = ("_clock", "_origin", "enabled", "server", "sink")

    def __init__(
        self,
        server: str = "s1",
        sink: Sink | None = None,
        *,
        clock: Callable[[], int] = time.monotonic_ns,
        origin: int | None = None,
    ) -> None:
        self.server = server
        self.sink = sink
        self.enabled: bool = sink is not None
        self._clock = clock
        self._origin = clock() if origin is None else origin

    def emit(self, event: str, /, **fields: object) -> None:
        """Record one event. Call sites guard it with ``if tracer.enabled:``.

        Args:
            event: the dotted name, ``<package>.<fact>`` (``"sync.fsync.done"``).
            **fields: the facts: ids, ops, paths, counts. Not ``t`` or ``server``.
        """
        sink = self.sink
        if not self.enabled or sink is None:
            return
        assert "." in event, f"trace event {event!r} is not named <package>.<fact>"
        assert _STAMPS.isdisjoint(fields), f"trace event {event!r} reuses a stamped key"
        sink.write({"t": self._clock() - self._origin, "server": self.server, "event": event, **fields})

    def close(self) -> None:
        """Close the sink (a no-op for a disabled tracer)."""
        if self.sink is not None:
            self.sink.close()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Tracer:
        """The tracer a server process uses, chosen by environment variables.

        ``ZK_TRACE``: the JSON-lines file to append to; unset or empty gives ``NULL_TRACER``.
        ``ZK_TRACE_SERVER``: this server's label (default ``"s1"``).
        ``ZK_TRACE_ORIGIN``: optional ``time.monotonic_ns()`` value to count ``t`` from, so
        that the processes of one ensemble share a time axis.
        """
        env = os.environ if environ is None else environ
        path = env.get("ZK_TRACE", "")
        if not path:
            return NULL_TRACER
        origin_text = env.get("ZK_TRACE_ORIGIN", "")
        origin = int(origin_text) if origin_text else None
        return cls(env.get("ZK_TRACE_SERVER", "") or "s1", JsonLinesSink(path), origin=origin)

    def __repr__(self) -> str:
        state = "on" if self.enabled else "off"
        return f"<Tracer {self.server} {state} sink={self.sink!r}>"


NULL_TRACER = Tracer("-", None)
"""The disabled tracer every core takes by default: ``enabled`` is False, ``emit`` does nothing."""
