"""zk.protocol: the client protocol, from TCP bytes to typed requests and replies.

Chapter 3 of the book: framing (a 4-byte length before every packet), the connect
handshake, request and reply headers, the special xids, every opcode with its request and
response records, and every error code.

Mirrors: ClientCnxn's packets, org.apache.zookeeper.ZooDefs.OpCode,
org.apache.zookeeper.KeeperException, org.apache.zookeeper.Watcher.Event.
"""

from zk.protocol.constants import (
    AUTHPACKET_XID,
    NOTIFICATION_XID,
    PING_XID,
    SET_WATCHES_XID,
    AddWatchMode,
    CreateMode,
    EventType,
    KeeperState,
    OpCode,
    Perms,
    WatcherType,
)
from zk.protocol.errors import Code, KeeperException, exception_for

__all__ = [
    "AUTHPACKET_XID",
    "NOTIFICATION_XID",
    "PING_XID",
    "SET_WATCHES_XID",
    "AddWatchMode",
    "Code",
    "CreateMode",
    "EventType",
    "KeeperException",
    "KeeperState",
    "OpCode",
    "Perms",
    "WatcherType",
    "exception_for",
]
