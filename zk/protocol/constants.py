"""The numbers of the client protocol: opcodes, special xids, event types, create modes.

These are the constants a client and a server must agree on byte for byte. Names are
spelled as upstream (``OpCode.getData``, ``EventType.NodeCreated``) so that a reader can
search the Java for them; the one exception is ``EventType.NONE``, since ``None`` is a
Python keyword.

Mirrors: org.apache.zookeeper.ZooDefs (OpCode, Perms), org.apache.zookeeper.Watcher.Event
(EventType, KeeperState), org.apache.zookeeper.CreateMode, org.apache.zookeeper.AddWatchMode,
org.apache.zookeeper.Watcher.WatcherType, and the special xids of ClientCnxn.
"""

from __future__ import annotations

import enum

__all__ = [
    "AUTHPACKET_XID",
    "NOTIFICATION_XID",
    "PING_XID",
    "SET_WATCHES_XID",
    "AddWatchMode",
    "CreateMode",
    "EventType",
    "KeeperState",
    "OpCode",
    "Perms",
    "WatcherType",
    "op_name",
]

# Special xids: replies with these are not answers to a numbered request.
NOTIFICATION_XID = -1  # a watch event, pushed by the server
PING_XID = -2  # the answer to a ping
AUTHPACKET_XID = -4  # the answer to an auth packet
SET_WATCHES_XID = -8  # the answer to setWatches after a reconnect


class OpCode(enum.IntEnum):
    """The ``type`` of a RequestHeader. Mirrors ZooDefs.OpCode."""

    notification = 0
    create = 1
    delete = 2
    exists = 3
    getData = 4
    setData = 5
    getACL = 6
    setACL = 7
    getChildren = 8
    sync = 9
    ping = 11
    getChildren2 = 12
    check = 13
    multi = 14
    create2 = 15
    reconfig = 16
    checkWatches = 17
    removeWatches = 18
    createContainer = 19
    deleteContainer = 20
    createTTL = 21
    multiRead = 22
    auth = 100
    setWatches = 101
    sasl = 102
    getEphemerals = 103
    getAllChildrenNumber = 104
    setWatches2 = 105
    addWatch = 106
    whoAmI = 107
    createSession = -10
    closeSession = -11
    error = -1


def op_name(op: int) -> str:
    """The opcode's name for logs and traces; the number itself if it is not one."""
    try:
        return OpCode(op).name
    except ValueError:
        return str(op)


class Perms(enum.IntFlag):
    """ACL permission bits. Mirrors ZooDefs.Perms."""

    READ = 1
    WRITE = 2
    CREATE = 4
    DELETE = 8
    ADMIN = 16
    ALL = 31


class EventType(enum.IntEnum):
    """What happened to a watched path. Mirrors Watcher.Event.EventType."""

    NONE = -1
    NodeCreated = 1
    NodeDeleted = 2
    NodeDataChanged = 3
    NodeChildrenChanged = 4
    DataWatchRemoved = 5
    ChildWatchRemoved = 6
    PersistentWatchRemoved = 7


class KeeperState(enum.IntEnum):
    """The client's connection state carried in a WatcherEvent. Mirrors
    Watcher.Event.KeeperState (the deprecated Unknown and NoSyncConnected included)."""

    Unknown = -1
    Disconnected = 0
    NoSyncConnected = 1
    SyncConnected = 3
    AuthFailed = 4
    ConnectedReadOnly = 5
    SaslAuthenticated = 6
    Expired = -112
    Closed = 7


class WatcherType(enum.IntEnum):
    """Which watches checkWatches / removeWatches mean. Mirrors Watcher.WatcherType."""

    Children = 1
    Data = 2
    Any = 3


class AddWatchMode(enum.IntEnum):
    """The mode of addWatch. Mirrors org.apache.zookeeper.AddWatchMode."""

    PERSISTENT = 0
    PERSISTENT_RECURSIVE = 1


class CreateMode(enum.IntEnum):
    """The ``flags`` of a create request. Mirrors org.apache.zookeeper.CreateMode."""

    PERSISTENT = 0
    EPHEMERAL = 1
    PERSISTENT_SEQUENTIAL = 2
    EPHEMERAL_SEQUENTIAL = 3
    CONTAINER = 4
    PERSISTENT_WITH_TTL = 5
    PERSISTENT_SEQUENTIAL_WITH_TTL = 6

    @property
    def is_ephemeral(self) -> bool:
        return self in (CreateMode.EPHEMERAL, CreateMode.EPHEMERAL_SEQUENTIAL)

    @property
    def is_sequential(self) -> bool:
        return self in (
            CreateMode.PERSISTENT_SEQUENTIAL,
            CreateMode.EPHEMERAL_SEQUENTIAL,
            CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL,
        )

    @property
    def is_container(self) -> bool:
        return self is CreateMode.CONTAINER

    @property
    def is_ttl(self) -> bool:
        return self in (CreateMode.PERSISTENT_WITH_TTL, CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL)
