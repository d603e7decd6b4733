"""What a watch is on the server: a watcher, the event it receives, and its mode.

On the server a *watcher* is a client connection: when a watched node changes, the
server calls ``watcher.process(event)`` and the connection queues a notification, a
ReplyHeader with xid ``NOTIFICATION_XID`` (-1) and zxid -1, followed by the event as a
``WatcherEvent`` record::

    WatcherEvent = | type: int | state: int | path: ustring |
                     NodeCreated  SyncConnected  "/app/a"

A watch has one of three modes. A STANDARD watch (set by getData, exists or
getChildren with ``watch=true``) fires once and is then gone; the client must set it
again. addWatch sets a PERSISTENT watch (fires on every change of that node, stays) or a
PERSISTENT_RECURSIVE one (fires on every change of that node or of any node below it,
except NodeChildrenChanged, and stays).

Mirrors: org.apache.zookeeper.WatchedEvent, org.apache.zookeeper.Watcher (as the server
uses it: ServerCnxn implements it) and org.apache.zookeeper.server.watch.WatcherMode.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from zk.jute.records import WatcherEvent
from zk.protocol.constants import AddWatchMode, EventType, KeeperState
from zk.protocol.errors import MarshallingErrorException

__all__ = ["WatchedEvent", "Watcher", "WatcherMode"]


@dataclass(frozen=True, slots=True)
class WatchedEvent:
    """One event for one watcher: what happened, in which connection state, to which path.

    ``path`` is None for pure state changes (``EventType.NONE``), which only clients make.

    Mirrors: org.apache.zookeeper.WatchedEvent.
    """

    type: EventType
    state: KeeperState
    path: str | None

    def to_watcher_event(self) -> WatcherEvent:
        """The record sent on the wire after a ReplyHeader with xid NOTIFICATION_XID
        (``WatchedEvent.getWrapper``)."""
        return WatcherEvent(type=int(self.type), state=int(self.state), path=self.path)


class Watcher(Protocol):
    """Something that watches: on the server, a client connection.

    It must be hashable (watch tables are keyed by it) and know its session, which the
    four-letter words ``wchc`` and ``wchp`` print. ``process`` must not block: the
    connection only queues the notification.

    Mirrors: org.apache.zookeeper.Watcher as implemented by ServerCnxn.
    """

    @property
    def session_id(self) -> int: ...

    def __hash__(self) -> int: ...

    def process(self, event: WatchedEvent) -> None: ...


class WatcherMode(enum.Enum):
    """How a watch behaves after it fires. Mirrors server.watch.WatcherMode."""

    # (is_persistent, is_recursive), as in the Java enum's constructor.
    STANDARD = (False, False)
    PERSISTENT = (True, False)
    PERSISTENT_RECURSIVE = (True, True)

    @property
    def is_persistent(self) -> bool:
        """Stays after it fires."""
        return self.value[0]

    @property
    def is_recursive(self) -> bool:
        """Also fires for nodes below its path."""
        return self.value[1]

    @classmethod
    def from_zoo_def(cls, mode: int) -> WatcherMode:
        """The mode for an AddWatchRequest's ``mode`` field (``WatcherMode.fromZooDef``).

        Raises:
            MarshallingErrorException: the client sent a mode that is not an AddWatchMode.
                Java throws IllegalArgumentException here, which FinalRequestProcessor's
                catch-all answers with MARSHALLINGERROR; we raise that code directly.
        """
        if mode == AddWatchMode.PERSISTENT:
            return cls.PERSISTENT
        if mode == AddWatchMode.PERSISTENT_RECURSIVE:
            return cls.PERSISTENT_RECURSIVE
        raise MarshallingErrorException(f"unsupported addWatch mode {mode}")
