"""The watch half of the DataTree: which change fires which watches, in which order.

ZooKeeper's DataTree holds two WatchManagers and fires them at the end of each change.
Here the DataTree (zk/data) reports its changes as triggers, ``(path, type, acl)``, and
``ServerWatches.fire`` applies DataTree's rules to them (acl is the ACL of the node the
event is about; ACLs left out below)::

    create /a/b    [("/a/b", NodeCreated), ("/a", NodeChildrenChanged)]
    delete /a/b    [("/a/b", NodeDeleted), ("/a", NodeChildrenChanged)]
    setData /a/b   [("/a/b", NodeDataChanged)]

    NodeCreated          -> data watches of the path (exists watches set on a missing node)
    NodeDeleted          -> data watches, then child watches of the path; a watcher
                            in both hears of the deletion once
    NodeDataChanged      -> data watches
    NodeChildrenChanged  -> child watches of the parent ("/" for a child of the root)

Registration follows DataTree too: getData and getChildren set a watch only when the
node exists (so the server calls ``add_data_watch`` / ``add_child_watch`` after a
successful read), exists sets one either way (``add_exists_watch``); addWatch puts a
PERSISTENT or PERSISTENT_RECURSIVE watch into both managers. The four-letter words (wchs, wchc, wchp) report the data
watches only, as DataTree.dumpWatches does.

No WatchRemoved events come from the server: after a successful removeWatches the
server only replies OK, and the client library makes DataWatchRemoved,
ChildWatchRemoved or PersistentWatchRemoved for its own watchers (ZKWatchManager).

Mirrors: the watch parts of org.apache.zookeeper.server.DataTree (createNode,
deleteNode, setData, getData, statNode, getChildren, addWatch, setWatches,
containsWatcher, removeWatch, removeCnxn) in 3.8, and the NoWatcherException of
FinalRequestProcessor's checkWatches / removeWatches. Java 3.8.4+ checks the node's ACL
for READ before delivering an event (ServerWatcher.process(e, acl), ZOOKEEPER-4799);
we do when the server passes an ``acl_filter``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from zk.jute.records import ACL
from zk.protocol.constants import AddWatchMode, EventType, KeeperState, WatcherType
from zk.protocol.errors import MarshallingErrorException, NoWatcherException
from zk.trace.tracer import NULL_TRACER, Tracer
from zk.watch.events import WatchedEvent, Watcher, WatcherMode
from zk.watch.manager import AclFilter, WatchesSummary, WatchManager

__all__ = ["NodeZxids", "ServerWatches", "WatchTriggerLike"]


class WatchTriggerLike(Protocol):
    """One watch trigger of a transaction: zk.data's ``WatchTrigger`` fits.

    ``acl`` is the ACL of the node the event is about (of the parent, for
    NodeChildrenChanged), for the READ check; None skips the check.
    """

    @property
    def path(self) -> str: ...

    @property
    def type(self) -> EventType: ...

    @property
    def acl(self) -> Sequence[ACL] | None: ...


class NodeZxids(Protocol):
    """What setWatches needs to know of a node: a Stat, or anything with these two.

    ``mzxid`` is the zxid of the last setData (or the create), ``pzxid`` that of the
    last change to the node's children.
    """

    @property
    def mzxid(self) -> int: ...

    @property
    def pzxid(self) -> int: ...


def _watcher_type(watcher_type: int) -> WatcherType:
    # Java's WatcherType.fromInt throws IllegalArgumentException, which
    # FinalRequestProcessor answers with MARSHALLINGERROR.
    try:
        return WatcherType(watcher_type)
    except ValueError:
        raise MarshallingErrorException(f"invalid watcher type {watcher_type}") from None


class ServerWatches:
    """The data and child watches of one server, fired by the DataTree's changes.

    Args:
        tracer: where ``watch.*`` events go.
        acl_filter: may this connection READ a node with this ACL (the server's
            checkACL with the connection's auth info)? None delivers every event,
            as ZooKeeper 3.8.0 does.

    Mirrors: the ``dataWatches`` / ``childWatches`` half of
    org.apache.zookeeper.server.DataTree.
    """

    def __init__(self, tracer: Tracer = NULL_TRACER, acl_filter: AclFilter | None = None) -> None:
        self.tracer = tracer
        self.data_watches = WatchManager("data", tracer, acl_filter)
        self.child_watches = WatchManager("child", tracer, acl_filter)

    # --- firing ----------------------------------------------------------------------

    def fire(self, events: Iterable[WatchTriggerLike]) -> set[Watcher]:
        """Fire the watches for the changes of one transaction, in order.

        Args:
            events: the triggers as the DataTree made them; a NodeChildrenChanged
                trigger names the parent.

        Returns:
            Every watcher triggered.

        Raises:
            ValueError: an event type the DataTree never makes (our bug).
        """
        triggered: set[Watcher] = set()
        for event in events:
            path, type, acl = event.path, event.type, event.acl
            if type is EventType.NodeCreated or type is EventType.NodeDataChanged:
                triggered |= self.data_watches.trigger_watch(path, type, acl=acl)
            elif type is EventType.NodeDeleted:
                # DataTree.deleteNode: a watcher that has both a data and a child watch
                # on the path hears of the deletion once, yet both watches are used up.
                processed = self.data_watches.trigger_watch(path, type, acl=acl)
                triggered |= processed | self.child_watches.trigger_watch(path, type, processed, acl)
            elif type is EventType.NodeChildrenChanged:
                triggered |= self.child_watches.trigger_watch(path, type, acl=acl)
            else:
                raise ValueError(f"the DataTree does not fire {type!r} (on {path})")
        return triggered

    # --- registering -----------------------------------------------------------------

    def add_data_watch(self, path: str, watcher: Watcher) -> None:
        """A getData with watch=true found the node (DataTree.getData)."""
        self.data_watches.add_watch(path, watcher)

    def add_exists_watch(self, path: str, watcher: Watcher) -> None:
        """An exists with watch=true, whether or not the node exists (DataTree.statNode).

        On a missing node this is the watch that a later create fires as NodeCreated.
        """
        self.data_watches.add_watch(path, watcher)

    def add_child_watch(self, path: str, watcher: Watcher) -> None:
        """A getChildren with watch=true found the node (DataTree.getChildren)."""
        self.child_watches.add_watch(path, watcher)

    def add_watch(self, path: str, watcher: Watcher, mode: AddWatchMode | int) -> None:
        """addWatch: a persistent (or persistent recursive) watch, in both managers.

        Raises:
            MarshallingErrorException: ``mode`` is not an AddWatchMode.

        Mirrors: DataTree.addWatch (3.8 also puts a recursive watch in the child
        manager, where it never fires: recursive watches skip NodeChildrenChanged).
        """
        watcher_mode = WatcherMode.from_zoo_def(int(mode))
        self.data_watches.add_watch(path, watcher, watcher_mode)
        self.child_watches.add_watch(path, watcher, watcher_mode)

    def set_watches(
        self,
        relative_zxid: int,
        data_watches: Iterable[str] | None,
        exist_watches: Iterable[str] | None,
        child_watches: Iterable[str] | None,
        persistent_watches: Iterable[str] | None,
        persistent_recursive_watches: Iterable[str] | None,
        watcher: Watcher,
        lookup: Callable[[str], NodeZxids | None],
    ) -> None:
        """Re-register a reconnecting client's watches, firing those it has missed.

        The client sends the zxid it last saw. A change after that zxid is reported at
        once instead of registering the watch: a deleted node as NodeDeleted, newer data
        as NodeDataChanged, a node that now exists as NodeCreated, newer children as
        NodeChildrenChanged. Persistent watches are registered without any check.

        Args:
            relative_zxid: the last zxid the client saw.
            data_watches: SetWatches' dataWatches (None, as jute may decode an empty
                vector, means none; so for the four lists below).
            exist_watches: existWatches.
            child_watches: childWatches.
            persistent_watches: SetWatches2's persistentWatches.
            persistent_recursive_watches: SetWatches2's persistentRecursiveWatches.
            watcher: the reconnected connection.
            lookup: the DataTree's node for a path (its Stat will do), None if absent.

        Mirrors: DataTree.setWatches.
        """

        def send(type: EventType, path: str) -> None:
            if self.tracer.enabled:
                self.tracer.emit("watch.set_watches.fired", path=path, type=type.name, session=watcher.session_id)
            watcher.process(WatchedEvent(type, KeeperState.SyncConnected, path))

        for path in data_watches or ():
            node = lookup(path)
            if node is None:
                send(EventType.NodeDeleted, path)
            elif node.mzxid > relative_zxid:
                send(EventType.NodeDataChanged, path)
            else:
                self.data_watches.add_watch(path, watcher)
        for path in exist_watches or ():
            if lookup(path) is not None:
                send(EventType.NodeCreated, path)
            else:
                self.data_watches.add_watch(path, watcher)
        for path in child_watches or ():
            node = lookup(path)
            if node is None:
                send(EventType.NodeDeleted, path)
            elif node.pzxid > relative_zxid:
                send(EventType.NodeChildrenChanged, path)
            else:
                self.child_watches.add_watch(path, watcher)
        for path in persistent_watches or ():
            self.child_watches.add_watch(path, watcher, WatcherMode.PERSISTENT)
            self.data_watches.add_watch(path, watcher, WatcherMode.PERSISTENT)
        for path in persistent_recursive_watches or ():
            self.child_watches.add_watch(path, watcher, WatcherMode.PERSISTENT_RECURSIVE)
            self.data_watches.add_watch(path, watcher, WatcherMode.PERSISTENT_RECURSIVE)

    # --- checkWatches, removeWatches, closing ----------------------------------------

    def contains_watcher(self, path: str, watcher_type: WatcherType | int, watcher: Watcher) -> bool:
        """Whether ``watcher`` has a watch of that type on ``path`` (DataTree.containsWatcher).

        Any means a data or a child watch. See ``WatchManager.contains_watcher`` for
        3.8's generous answer.
        """
        kind = _watcher_type(int(watcher_type))
        if kind is WatcherType.Children:
            return self.child_watches.contains_watcher(path, watcher)
        if kind is WatcherType.Data:
            return self.data_watches.contains_watcher(path, watcher)
        in_child = self.child_watches.contains_watcher(path, watcher)
        return self.data_watches.contains_watcher(path, watcher) or in_child

    def remove_watch(self, path: str, watcher_type: WatcherType | int, watcher: Watcher) -> bool:
        """Remove ``watcher``'s watches of that type on ``path`` (DataTree.removeWatch).

        Returns:
            True if any watch was removed.
        """
        kind = _watcher_type(int(watcher_type))
        if kind is WatcherType.Children:
            return self.child_watches.remove_watch(path, watcher)
        if kind is WatcherType.Data:
            return self.data_watches.remove_watch(path, watcher)
        # Any: both managers, even when the first already removed one.
        removed_child = self.child_watches.remove_watch(path, watcher)
        removed_data = self.data_watches.remove_watch(path, watcher)
        return removed_child or removed_data

    def check_watches(self, path: str, watcher_type: WatcherType | int, watcher: Watcher) -> None:
        """The checkWatches request: succeed, or fail with NOWATCHER.

        Raises:
            NoWatcherException: no such watch ("/a (type: Data)", as Java words it).
            MarshallingErrorException: ``watcher_type`` is not a WatcherType.

        Mirrors: FinalRequestProcessor, case OpCode.checkWatches.
        """
        if not self.contains_watcher(path, watcher_type, watcher):
            raise NoWatcherException(f"{path} (type: {_watcher_type(int(watcher_type)).name})")

    def remove_watches(self, path: str, watcher_type: WatcherType | int, watcher: Watcher) -> None:
        """The removeWatches request: remove the watches, or fail with NOWATCHER.

        Raises:
            NoWatcherException: nothing was removed ("/a (type: Data)").
            MarshallingErrorException: ``watcher_type`` is not a WatcherType.

        Mirrors: FinalRequestProcessor, case OpCode.removeWatches.
        """
        if not self.remove_watch(path, watcher_type, watcher):
            raise NoWatcherException(f"{path} (type: {_watcher_type(int(watcher_type)).name})")

    def remove_cnxn(self, watcher: Watcher) -> None:
        """A connection closed: drop all its watches (DataTree.removeCnxn)."""
        self.data_watches.remove_watcher(watcher)
        self.child_watches.remove_watcher(watcher)

    # --- four-letter words and mntr ---------------------------------------------------

    def get_watch_count(self) -> int:
        """Data plus child watches: mntr's ``zk_watch_count`` (DataTree.getWatchCount)."""
        return self.data_watches.size() + self.child_watches.size()

    def dump_watches_summary(self) -> str:
        """``wchs`` without the final newline: the data watches' summary."""
        return self.data_watches.to_string()

    def dump_watches(self, by_path: bool) -> str:
        """``wchp`` (``by_path``) or ``wchc``, of the data watches."""
        return self.data_watches.dump_watches(by_path)

    def get_watches_summary(self) -> WatchesSummary:
        """The data watches' summary (DataTree.getWatchesSummary)."""
        return self.data_watches.get_watches_summary()

    def get_watches(self) -> dict[int, set[str]]:
        """Session id -> data-watched paths (DataTree.getWatches)."""
        return self.data_watches.get_watches()

    def get_watches_by_path(self) -> dict[str, set[int]]:
        """Path -> sessions with a data watch (DataTree.getWatchesByPath)."""
        return self.data_watches.get_watches_by_path()
