"""The client's side of watches: which watcher to call for which event.

The server remembers only *that* a session watches a path; the client remembers *who*
(the watcher objects) in five tables, each ``client path -> watchers``::

    data_watches        getData(watch) and exists(watch) on a node that exists
    exist_watches       exists(watch) on a node that does not exist (yet)
    child_watches       getChildren(watch)
    persistent_watches  addWatch(PERSISTENT)            never removed by a trigger
    persistent_recursive_watches  addWatch(PERSISTENT_RECURSIVE)  and the whole subtree

A watch is registered only once the server has answered the request that set it (a
NoNode answer to exists still registers an exist watch, since the server set one). When a
notification arrives, :meth:`ZKWatchManager.materialize` picks the watchers it goes to and
removes the one-shot ones, by the event type's rule:

    NodeCreated, NodeDataChanged  data + exist watches of the path, persistent ones
    NodeChildrenChanged           child watches of the path, persistent ones
    NodeDeleted                   data + exist + child watches, persistent ones
    NONE (a state change)         every watcher of every table, and the default one

"persistent ones" are the persistent watchers of the path itself and the recursive
watchers of the path and of each of its parents. Paths here are client paths: the
chroot is already stripped.

Mirrors: org.apache.zookeeper.ZKWatchManager (materialize, removeWatcher,
containsWatcher) and ZooKeeper.WatchRegistration with its subclasses. Java keeps each
path's watchers in a HashSet; we keep a list in registration order, without duplicates,
so that the order in which watchers run is stable from run to run.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable

from zk.protocol.constants import EventType, KeeperState, WatcherType
from zk.protocol.errors import Code, NoWatcherException, exception_for
from zk.watch.events import WatchedEvent
from zk.watch.manager import PathParentIterator

__all__ = ["WatchKind", "Watcher", "ZKWatchManager"]

Watcher = Callable[[WatchedEvent], Awaitable[None] | None]
"""A client watcher: called once per event on the event task. It may be a coroutine
function; the event task then awaits it before delivering the next event."""

_Table = dict[str, list[Watcher]]


class WatchKind(enum.Enum):
    """The table a registration goes to (WatchRegistration's subclasses)."""

    DATA = "data"  # DataWatchRegistration (getData)
    EXIST = "exist"  # ExistsWatchRegistration (exists)
    CHILD = "child"  # ChildWatchRegistration (getChildren)
    PERSISTENT = "persistent"  # AddWatchRegistration(PERSISTENT)
    PERSISTENT_RECURSIVE = "persistent_recursive"  # AddWatchRegistration(PERSISTENT_RECURSIVE)


def _add(table: _Table, path: str, watcher: Watcher) -> None:
    watchers = table.setdefault(path, [])
    if watcher not in watchers:
        watchers.append(watcher)


def _extend(result: list[Watcher], watchers: list[Watcher] | None) -> None:
    for w in watchers or ():
        if w not in result:
            result.append(w)


class ZKWatchManager:
    """The five watch tables and the rules that fire and remove them. A pure core.

    Args:
        default_watcher: the watcher given to the constructor of ``ZooKeeper``; it gets
            every state change and the events of ``watch=True`` requests.

    Mirrors: org.apache.zookeeper.ZKWatchManager.
    """

    def __init__(self, default_watcher: Watcher | None = None) -> None:
        self.default_watcher = default_watcher
        self.data_watches: _Table = {}
        self.exist_watches: _Table = {}
        self.child_watches: _Table = {}
        self.persistent_watches: _Table = {}
        self.persistent_recursive_watches: _Table = {}

    def _table(self, kind: WatchKind) -> _Table:
        return {
            WatchKind.DATA: self.data_watches,
            WatchKind.EXIST: self.exist_watches,
            WatchKind.CHILD: self.child_watches,
            WatchKind.PERSISTENT: self.persistent_watches,
            WatchKind.PERSISTENT_RECURSIVE: self.persistent_recursive_watches,
        }[kind]

    # -- registration: WatchRegistration.register(rc) ------------------------------------

    def register(self, kind: WatchKind, client_path: str, watcher: Watcher, rc: int) -> bool:
        """Register after the server answered with ``rc``; True if a watch was added.

        exists and addWatch register on OK and on NONODE (the server set the watch
        either way); exists on NONODE goes to the exist table, on OK to the data table.
        getData and getChildren register on OK only.
        """
        if kind in (WatchKind.EXIST, WatchKind.PERSISTENT, WatchKind.PERSISTENT_RECURSIVE):
            if rc not in (Code.OK, Code.NONODE):
                return False
            if kind is WatchKind.EXIST and rc == Code.OK:
                kind = WatchKind.DATA
        elif rc != Code.OK:
            return False
        _add(self._table(kind), client_path, watcher)
        return True

    # -- firing: materialize ---------------------------------------------------------------

    def materialize(self, state: KeeperState, type: EventType, client_path: str | None) -> list[Watcher]:
        """The watchers an event goes to; one-shot watches that fire are removed.

        Raises:
            ValueError: an event type that is not a notification (the server's bad bytes).
        """
        result: list[Watcher] = []
        if type is EventType.NONE:
            if self.default_watcher is not None:
                result.append(self.default_watcher)
            for table in (
                self.data_watches,
                self.exist_watches,
                self.child_watches,
                self.persistent_watches,
                self.persistent_recursive_watches,
            ):
                for watchers in table.values():
                    _extend(result, watchers)
            # Java clears the one-shot tables here only when auto watch reset is disabled
            # (zookeeper.disableAutoWatchReset); we always reset watches on reconnect.
            return result
        assert client_path is not None, "a node event has a path"
        if type in (EventType.NodeDataChanged, EventType.NodeCreated):
            _extend(result, self.data_watches.pop(client_path, None))
            _extend(result, self.exist_watches.pop(client_path, None))
        elif type is EventType.NodeChildrenChanged:
            _extend(result, self.child_watches.pop(client_path, None))
        elif type is EventType.NodeDeleted:
            _extend(result, self.data_watches.pop(client_path, None))
            # Java: "This shouldn't be needed, but just in case" (an exist watch on a
            # node that was deleted means the node existed: it should be a data watch).
            _extend(result, self.exist_watches.pop(client_path, None))
            _extend(result, self.child_watches.pop(client_path, None))
        else:
            raise ValueError(f"Unhandled watch event type {type.name} with state {state.name} on path {client_path}")
        self._add_persistent_watches(client_path, result)
        return result

    def _add_persistent_watches(self, client_path: str, result: list[Watcher]) -> None:
        _extend(result, self.persistent_watches.get(client_path))
        for path in PathParentIterator.for_all(client_path):
            _extend(result, self.persistent_recursive_watches.get(path))

    # -- removal: removeWatches / removeAllWatches ---------------------------------------

    def _tables_for(self, watcher_type: WatcherType) -> list[tuple[_Table, EventType]]:
        # Which tables a removal of this type looks in, and the event their watchers get.
        child = (self.child_watches, EventType.ChildWatchRemoved)
        data = [(self.data_watches, EventType.DataWatchRemoved), (self.exist_watches, EventType.DataWatchRemoved)]
        persistent = [
            (self.persistent_watches, EventType.PersistentWatchRemoved),
            (self.persistent_recursive_watches, EventType.PersistentWatchRemoved),
        ]
        if watcher_type is WatcherType.Children:
            return [child]
        if watcher_type is WatcherType.Data:
            return data
        return [child, *data, *persistent]

    def contains_watcher(self, client_path: str, watcher: Watcher | None, watcher_type: WatcherType) -> bool:
        """Is there such a watch here? (``containsWatcher``: persistent watches count for
        every type.)"""
        tables = [t for t, _ in self._tables_for(watcher_type)]
        tables += [self.persistent_watches, self.persistent_recursive_watches]
        for table in tables:
            watchers = table.get(client_path)
            if watchers and (watcher is None or watcher in watchers):
                return True
        return False

    def remove_watcher(
        self, client_path: str, watcher: Watcher | None, watcher_type: WatcherType, local: bool, rc: int
    ) -> dict[EventType, list[Watcher]]:
        """Remove ``watcher`` (or all, if None) of a type from a path, after the server
        answered ``rc`` to removeWatches/checkWatches. Returns the removed watchers by the
        event each must now receive (DataWatchRemoved, ChildWatchRemoved, ...).

        With ``local`` the watches go even when the server failed (it may be gone).

        Raises:
            NoWatcherException: no such watch here.
            KeeperException: the server's error, when not ``local``.
        """
        if not self.contains_watcher(client_path, watcher, watcher_type):
            raise NoWatcherException(client_path)
        if rc != Code.OK and not local:
            raise exception_for(rc, client_path)
        removed: dict[EventType, list[Watcher]] = {}
        for table, event_type in self._tables_for(watcher_type):
            watchers = table.get(client_path)
            if not watchers:
                continue
            gone = list(watchers) if watcher is None else [w for w in watchers if w is watcher or w == watcher]
            for w in gone:
                watchers.remove(w)
                _extend(removed.setdefault(event_type, []), [w])
            if not watchers:
                del table[client_path]
        if not removed:
            raise NoWatcherException(client_path)
        return removed

    # -- reconnect: the lists primeConnection sends in setWatches ---------------------------

    def watch_lists(self) -> tuple[list[str], list[str], list[str], list[str], list[str]]:
        """(data, exist, child, persistent, persistent recursive) client paths."""
        return (
            list(self.data_watches),
            list(self.exist_watches),
            list(self.child_watches),
            list(self.persistent_watches),
            list(self.persistent_recursive_watches),
        )

    def clear(self) -> None:
        """Forget every watch (the session is gone)."""
        for table in (
            self.data_watches,
            self.exist_watches,
            self.child_watches,
            self.persistent_watches,
            self.persistent_recursive_watches,
        ):
            table.clear()
