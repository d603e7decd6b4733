"""zk.watch: who is told when a znode changes.

Chapter 5 of the book. :mod:`zk.watch.events` says what a watcher, a watch event and a
watch mode are; :mod:`zk.watch.manager` is the watch table of one kind (data or child)
and the rule of which watch fires for which event; :mod:`zk.watch.server_watches` is
the DataTree's pair of tables and the rules of which change fires which table.

Mirrors: org.apache.zookeeper.server.watch and the watch parts of
org.apache.zookeeper.server.DataTree.
"""

from zk.watch.events import WatchedEvent, Watcher, WatcherMode
from zk.watch.manager import AclFilter, PathParentIterator, WatchesSummary, WatchManager
from zk.watch.server_watches import NodeZxids, ServerWatches, WatchTriggerLike

__all__ = [
    "AclFilter",
    "NodeZxids",
    "PathParentIterator",
    "ServerWatches",
    "WatchManager",
    "WatchTriggerLike",
    "WatchedEvent",
    "Watcher",
    "WatcherMode",
    "WatchesSummary",
]
