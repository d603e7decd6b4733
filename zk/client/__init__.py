"""zk.client: a ZooKeeper client laid out like the Java client's core.

Chapter 14 of the book. Two layers, as everywhere in this project:

- the **core**, pure and clock-free: :class:`ClientCnxn` (the connection state machine,
  the outgoing and pending queues, pings, reconnects, setWatches, auth, chroot),
  :class:`ZKWatchManager` (which watcher an event goes to), :class:`StaticHostProvider`
  and the state table of :mod:`zk.client.states`;
- the **shells**: :class:`ZooKeeper`, the asyncio client (a send task and an event task,
  Java's SendThread and EventThread), and :class:`zk.client.blocking.ZooKeeper`, which
  runs it on a background thread for scripts and notebooks.

Errors are the typed exceptions of :mod:`zk.protocol.errors` (``NoNodeException``, ...),
plus :class:`ConnectionLossException`. Events are :class:`~zk.watch.events.WatchedEvent`.

Mirrors: org.apache.zookeeper.ZooKeeper, org.apache.zookeeper.ClientCnxn.
"""

from zk.client.cnxn import ClientCnxn, ProtocolError, SessionExpiredError, SessionTimeoutError
from zk.client.host_provider import ConnectStringParser, StaticHostProvider
from zk.client.ops import (
    CheckResult,
    CreateResult,
    DeleteResult,
    ErrorResult,
    GetChildrenResult,
    GetDataResult,
    Op,
    OpResult,
    SetDataResult,
)
from zk.client.states import TRANSITIONS, IllegalTransition, Input, States
from zk.client.watch_manager import Watcher, WatchKind, ZKWatchManager
from zk.client.zookeeper import Transaction, ZooKeeper
from zk.protocol.errors import ConnectionLossException, OperationTimeoutException
from zk.watch.events import WatchedEvent

__all__ = [
    "TRANSITIONS",
    "CheckResult",
    "ClientCnxn",
    "ConnectStringParser",
    "ConnectionLossException",
    "CreateResult",
    "DeleteResult",
    "ErrorResult",
    "GetChildrenResult",
    "GetDataResult",
    "IllegalTransition",
    "Input",
    "Op",
    "OpResult",
    "OperationTimeoutException",
    "ProtocolError",
    "SessionExpiredError",
    "SessionTimeoutError",
    "SetDataResult",
    "States",
    "StaticHostProvider",
    "Transaction",
    "WatchKind",
    "WatchedEvent",
    "Watcher",
    "ZKWatchManager",
    "ZooKeeper",
]
