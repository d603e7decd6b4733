"""Reading traces: load JSON-lines files, label ids, draw tables and sequence diagrams.

A raw trace is full of numbers that change on every run: session ids such as
``0x10000abcd0000``, zxids such as ``4294967299``, nanosecond clocks. :class:`Labels`
turns them into names that do not: ``sess#1`` (sessions in order of first appearance),
``e1:3`` (zxid = epoch << 32 | counter), ``T+12ms`` (time since the first event). Tables
and Mermaid diagrams are built through the labels, so a notebook's picture reads the same
every time it runs.

Mirrors: org.apache.zookeeper.server.ZooTrace (the reading side, which ZooKeeper leaves
to grep over its log files).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "Event",
    "Labels",
    "Mermaid",
    "Table",
    "display_mermaid",
    "filter",
    "load",
    "markdown_table",
    "mermaid",
    "table",
]

Event = dict[str, Any]
"""One trace event: ``{"t": ns, "server": "s1", "event": "pkg.fact", **fields}``."""

_STAMPS = ("t", "server", "event")
_ENDPOINTS = ("from", "to")
# Field names whose value is a session id (compared lower-cased, so jute's sessionId too).
_SESSION_FIELDS = frozenset({"session", "session_id", "sessionid", "ephemeral_owner", "ephemeralowner"})
# Longest rendered value in a table cell or diagram text before it is cut.
_MAX_VALUE = 48


# --- loading ----------------------------------------------------------------------------

PathLike = str | os.PathLike[str]


def load(path_or_paths: PathLike | Iterable[PathLike]) -> list[Event]:
    """Read one or several JSON-lines trace files into one list, sorted by ``t``.

    A last line without its newline is a live server's half-written event and is skipped.
    Events with equal ``t`` keep their file order (the sort is stable).
    """
    if isinstance(path_or_paths, (str, os.PathLike)):
        paths: list[PathLike] = [path_or_paths]
    else:
        paths = list(path_or_paths)
    events: list[Event] = []
    for path in paths:
        text = Path(path).read_text(encoding="utf-8")
        for line in text.splitlines(keepends=True):
            if not line.endswith("\n") or not line.strip():
                continue
            events.append(json.loads(line))
    events.sort(key=lambda e: int(e.get("t", 0)))
    return events


# Shadows the builtin inside this module only; callers write trace.filter(events, "prep").
def filter(
    events: Iterable[Event],
    prefix: str | Sequence[str] | None = None,
    *,
    server: str | None = None,
) -> list[Event]:
    """The events whose name starts with ``prefix`` (whole dotted parts) and, if given,
    that come from ``server``.

    ``prefix="prep"`` keeps ``prep.txn.created`` but not ``prepare.x``; a tuple of
    prefixes keeps events matching any of them.
    """
    prefixes = [] if prefix is None else [prefix] if isinstance(prefix, str) else list(prefix)

    def matches(name: str) -> bool:
        if not prefixes:
            return True
        for p in prefixes:
            p = p.rstrip(".")
            if name == p or name.startswith(p + "."):
                return True
        return False

    return [e for e in events if matches(str(e.get("event", ""))) and (server is None or e.get("server") == server)]


# --- labels -----------------------------------------------------------------------------


def _as_int(value: object) -> int | None:
    """An id as an int, whether it came as an int or as a ``"0x..."`` / decimal string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value, 0)
        except ValueError:
            return None
    return None


class Labels:
    """Maps the ids in trace events to symbolic labels that are the same on every run.

    - sessions: ``sess#1``, ``sess#2``, ... in order of first appearance (fields named
      ``session``, ``session_id``, ``sessionid``, and ``client:<id>`` endpoints);
      session 0 ("no session yet") stays ``0``.
    - zxids: ``e<epoch>:<counter>`` (fields named ``zxid`` or ending in ``zxid``).
    - times: ``T+12ms`` from the first event (``origin``).
    - servers: as given (``s1``); an int endpoint is a server id and reads ``s<id>``.

    Use one ``Labels`` for every view of one trace (``Labels.scan(events)`` numbers the
    whole trace first), so ``sess#2`` is the same session in each table and diagram.
    """

    def __init__(self, origin: int | None = None) -> None:
        self.origin = origin
        self._sessions: dict[int, str] = {}
        self._clients: dict[str, str] = {}

    @classmethod
    def scan(cls, events: Iterable[Event]) -> Labels:
        """Labels numbered by first appearance across all of ``events``."""
        labels = cls()
        for ev in events:
            labels.row(ev)
        return labels

    def session(self, value: object) -> str:
        """``sess#N`` for a session id (int or hex string)."""
        sid = _as_int(value)
        if sid is None:
            return _plain(value)
        if sid == 0:
            return "0"
        label = self._sessions.get(sid)
        if label is None:
            label = self._sessions[sid] = f"sess#{len(self._sessions) + 1}"
        return label

    @staticmethod
    def zxid(value: object) -> str:
        """``e<epoch>:<counter>`` for a zxid; -1 and other negatives stay as numbers."""
        z = _as_int(value)
        if z is None or z < 0:
            return _plain(value)
        # zxid = epoch << 32 | counter
        return f"e{z >> 32}:{z & 0xFFFFFFFF}"

    def time(self, t: int) -> str:
        """``T+12ms`` from ``origin`` (the first time seen, if none was given)."""
        if self.origin is None:
            self.origin = t
        ms = (t - self.origin) / 1e6
        sign = "+" if ms >= 0 else "-"
        ms = abs(ms)
        # Below 10 ms a tenth of a millisecond still tells steps apart.
        return f"T{sign}{ms:.1f}ms" if ms < 10 else f"T{sign}{ms:.0f}ms"

    def endpoint(self, value: object) -> str:
        """A ``from``/``to`` value: ``s1`` as given, ``2`` as ``s2``,
        ``client:<session id>`` as ``client:sess#1``, other ``client:<addr>`` as ``client#1``."""
        if isinstance(value, int) and not isinstance(value, bool):
            return f"s{value}"
        text = _plain(value)
        if text.startswith("client:"):
            rest = text[len("client:") :]
            if rest.startswith("sess#"):
                return text
            if _as_int(rest) is not None:
                return "client:" + self.session(rest)
            label = self._clients.get(rest)
            if label is None:
                label = self._clients[rest] = f"client#{len(self._clients) + 1}"
            return label
        return text

    def field(self, name: str, value: object) -> str:
        """One field's value as text, labelled by what the field's name says it holds."""
        key = name.lower()
        if key == "t" and isinstance(value, int):
            return self.time(value)
        if key in _ENDPOINTS:
            return self.endpoint(value)
        if key in _SESSION_FIELDS:
            return self.session(value)
        if key.endswith("zxid"):
            return self.zxid(value)
        if isinstance(value, Mapping):
            inner = ", ".join(f"{k}={self.field(str(k), v)}" for k, v in value.items())
            return "{" + inner + "}"
        if isinstance(value, (list, tuple)):
            # Elements of a list named like an id field are ids too (zxids=[...]).
            singular = name[:-1] if name.endswith("s") else name
            return "[" + ", ".join(self.field(singular, v) for v in value) + "]"
        return _plain(value)

    def row(self, event: Event) -> dict[str, str]:
        """Every field of ``event``, labelled; ``t`` becomes ``T``."""
        out: dict[str, str] = {}
        for k, v in event.items():
            out["T" if k == "t" else k] = self.field(k, v)
        return out


def _plain(value: object) -> str:
    if value is None:
        return "None"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return str(value)


def _cut(text: str, limit: int = _MAX_VALUE) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- displayable results ----------------------------------------------------------------


class _Rendered:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text

    # The plain repr is the text itself, so a terminal, a doctest or nbval shows it as is.
    def __repr__(self) -> str:
        return self.text

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _Rendered):
            return type(self) is type(other) and self.text == other.text
        return NotImplemented

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.text))


class Table(_Rendered):
    """A Markdown table: ``str()`` gives the text, Jupyter and the docs site render it."""

    __slots__ = ()

    def _repr_markdown_(self) -> str:
        return self.text


class Mermaid(_Rendered):
    """A Mermaid diagram: ``str()`` gives its source; in Jupyter and in the mkdocs site
    (which renders fenced ``mermaid`` blocks) it shows as the diagram."""

    __slots__ = ()

    def _repr_markdown_(self) -> str:
        return f"```mermaid\n{self.text}\n```"


def display_mermaid(text: str) -> Mermaid:
    """Wrap Mermaid source so that a notebook cell displays it as a diagram."""
    return Mermaid(text)


# --- tables -----------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> Table:
    """A Markdown table from a header and rows of cell texts (escaped here)."""
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        assert len(row) == len(header), f"row has {len(row)} cells, header {len(header)}"
        lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
    return Table("\n".join(lines))


def table(events: Sequence[Event], fields: Sequence[str] | None = None, *, labels: Labels | None = None) -> Table:
    """One row per event: T, server, event, then ``fields`` (default: every field seen,
    in order of first appearance), each value labelled."""
    labels = Labels.scan(events) if labels is None else labels
    if fields is None:
        seen: dict[str, None] = {}
        for ev in events:
            for k in ev:
                if k not in _STAMPS:
                    seen.setdefault(k, None)
        fields = list(seen)
    rows = []
    for ev in events:
        row = [
            labels.time(int(ev["t"])) if "t" in ev else "",
            _plain(ev.get("server", "")),
            _plain(ev.get("event", "")),
        ]
        row += [_cut(labels.field(f, ev[f])) if f in ev else "" for f in fields]
        rows.append(row)
    return markdown_table(["T", "server", "event", *fields], rows)


# --- sequence diagrams ------------------------------------------------------------------

# Mermaid's lexer ends a message at '#' or ';'; it decodes '#35;' and '#59;' back.
_MERMAID_ESCAPES = str.maketrans({"#": "#35;", ";": "#59;", "\n": " "})


def _mermaid_text(text: str) -> str:
    return text.translate(_MERMAID_ESCAPES)


def _mermaid_id(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", label)


def _natural(label: str) -> tuple[str, int, str]:
    m = re.match(r"(\D*)(\d+)(.*)", label)
    return (m.group(1), int(m.group(2)), m.group(3)) if m else (label, -1, "")


def mermaid(events: Sequence[Event], fields: Sequence[str] | None = None, *, labels: Labels | None = None) -> str:
    """A Mermaid ``sequenceDiagram`` of ``events``.

    An event with ``from`` and/or ``to`` is an arrow (the missing end is the event's own
    server); any other event is a note over its server. The text is the event name and
    its other fields (only ``fields``, if given), labelled. Clients stand on the left in
    order of first appearance, servers to their right in name order.
    """
    labels = Labels.scan(events) if labels is None else labels
    clients: dict[str, None] = {}
    servers: dict[str, None] = {}

    def participant(label: str) -> str:
        (clients if label.startswith("client") else servers).setdefault(label, None)
        return _mermaid_id(label)

    body: list[str] = []
    for ev in events:
        server = _plain(ev.get("server", "?"))
        shown = [k for k in ev if k not in _STAMPS and k not in _ENDPOINTS]
        if fields is not None:
            shown = [k for k in fields if k in ev]
        parts = [_plain(ev.get("event", "?"))]
        parts += [f"{k}={_cut(labels.field(k, ev[k]))}" for k in shown]
        text = _mermaid_text(" ".join(parts))
        if "from" in ev or "to" in ev:
            src = labels.endpoint(ev["from"]) if "from" in ev else server
            dst = labels.endpoint(ev["to"]) if "to" in ev else server
            body.append(f"    {participant(src)}->>{participant(dst)}: {text}")
        else:
            body.append(f"    Note over {participant(server)}: {text}")

    lines = ["sequenceDiagram"]
    for label in [*clients, *sorted(servers, key=_natural)]:
        pid = _mermaid_id(label)
        lines.append(f"    participant {pid}" if pid == label else f"    participant {pid} as {_mermaid_text(label)}")
    return "\n".join(lines + body)
