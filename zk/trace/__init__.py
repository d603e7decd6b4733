"""zk.trace: named trace points in every server module, and the tools to read them.

Chapter 2 of the book, the ZooTrace analogue. Each module of the server takes a
:class:`Tracer` (:data:`NULL_TRACER`, switched off, by default) and marks the facts worth
seeing with a guarded call, which costs one attribute check when tracing is off::

    if tracer.enabled:
        tracer.emit("prep.txn.created", zxid=zxid, session=session_id, op="create")

Turning it on: start a server with ``ZK_TRACE=/path/trace.jsonl`` (and
``ZK_TRACE_SERVER=s2`` to name it); the server calls :meth:`Tracer.from_env` at start-up
and appends one JSON object per event to that file. In tests, ``Tracer("s1",
MemorySink())`` keeps events in a list.

Event names are dotted, ``<package>.<fact>``, the package being the zk subpackage whose
code emits it: ``server.packet.received``, ``prep.txn.created``, ``sync.fsync.done``,
``final.applied``, ``watch.triggered``, ``session.expired``. Every event is
``{"t": ns, "server": "s1", "event": name, **fields}``; a message between two parties
carries ``from`` and ``to`` (``"client:<session id>"``, ``"s2"``), and ids go in fields
named for them (``zxid``, ``*_zxid``, ``session``) so :class:`Labels` can name them.

Reading: :func:`load` merges the files of several servers, :func:`table` and
:func:`mermaid` draw them with stable labels, and :func:`annotate` shows a record's bytes.

Mirrors: org.apache.zookeeper.server.ZooTrace.
"""

from zk.trace.annotate import Row, annotate, annotate_frame, annotate_table
from zk.trace.render import (
    Event,
    Labels,
    Mermaid,
    Table,
    display_mermaid,
    filter,
    load,
    markdown_table,
    mermaid,
    table,
)
from zk.trace.tracer import NULL_TRACER, JsonLinesSink, MemorySink, Sink, Tracer, to_json

__all__ = [
    "NULL_TRACER",
    "Event",
    "JsonLinesSink",
    "Labels",
    "MemorySink",
    "Mermaid",
    "Row",
    "Sink",
    "Table",
    "Tracer",
    "annotate",
    "annotate_frame",
    "annotate_table",
    "display_mermaid",
    "filter",
    "load",
    "markdown_table",
    "mermaid",
    "table",
    "to_json",
]
