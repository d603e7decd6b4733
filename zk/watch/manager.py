"""The watch table of one kind of watch: who watches which path, in which mode.

The server keeps two of these (see :mod:`zk.watch.server_watches`): one for data watches
(getData, exists) and one for child watches (getChildren). Each is a two-way index::

    watch_table:  path    -> {watcher, ...}     who to notify when the path changes
    watch2paths:  watcher -> {path, ...}        what to drop when a connection closes
    modes:        (watcher, path) -> mode       only non-STANDARD modes are stored

``trigger_watch(path, type)`` walks from ``path`` up to ``/`` (PathParentIterator). At
``path`` itself every watcher fires; a STANDARD one is removed as it fires (a one-shot
watch), a PERSISTENT one stays. At the parents above it only PERSISTENT_RECURSIVE
watchers fire, and a recursive watcher never fires for NodeChildrenChanged, not even at
its own path. The walk up only happens while at least one recursive watch exists.

Mirrors: org.apache.zookeeper.server.watch.WatchManager, PathParentIterator,
WatcherModeManager and WatchesSummary, as in ZooKeeper 3.8. Like 3.8 we keep one mode per
(watcher, path): setting a standard watch where the same connection has a persistent one
turns it into a standard one (ZOOKEEPER-4466, fixed in 3.9 by WatchStats). Java's
HashMaps list watches in no particular order; we list them in the order they were set.
Java also ignores addWatch from a connection already marked stale; here the server must
simply not add watches for a closed connection. Java 3.8.4+ (ZOOKEEPER-4799) has the
connection check READ on the node's ACL before it sends an event; here the server
passes that check in as an ``acl_filter`` (upstream 3.8.0 delivered unchecked, as does a manager
without a filter; Debian patches the fix into its 3.8.0 for CVE-2024-23944).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from zk.jute.records import ACL
from zk.protocol.constants import EventType, KeeperState
from zk.trace.tracer import NULL_TRACER, Tracer
from zk.watch.events import WatchedEvent, Watcher, WatcherMode

__all__ = ["AclFilter", "PathParentIterator", "WatchManager", "WatchesSummary"]

AclFilter = Callable[["Watcher", Sequence[ACL]], bool]
"""May this watcher READ a node with this ACL? The server's checkACL, bound to a
connection's auth info; ``trigger_watch`` skips the watchers it answers False for."""


class PathParentIterator:
    """Iterates over a path and then each of its parents, up to and including ``/``.

    ``/a/b`` gives ``/a/b``, ``/a``, ``/``. ``at_parent_path()`` tells, during the walk,
    whether the path last returned is a parent rather than the starting path. The path
    must already be valid.

    Mirrors: org.apache.zookeeper.server.watch.PathParentIterator.
    """

    def __init__(self, path: str, max_level: int) -> None:
        self._path = path
        self._max_level = max_level
        self._level = -1

    @classmethod
    def for_all(cls, path: str) -> PathParentIterator:
        """The path and all its parents."""
        return cls(path, 2**31 - 1)  # Integer.MAX_VALUE

    @classmethod
    def for_path_only(cls, path: str) -> PathParentIterator:
        """Only the path itself."""
        return cls(path, 0)

    def at_parent_path(self) -> bool:
        """True when the last path returned is a parent of the starting path."""
        return self._level > 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if not self._path or self._level >= self._max_level:
            raise StopIteration
        local_path = self._path
        self._level += 1
        if self._path == "/":
            self._path = ""  # the walk ends after the root
        else:
            self._path = self._path[: self._path.rindex("/")] or "/"
        return local_path


@dataclass(frozen=True, slots=True)
class WatchesSummary:
    """Counts for ``wchs`` and the admin ``watch_summary`` command.

    Mirrors: org.apache.zookeeper.server.watch.WatchesSummary.
    """

    num_connections: int
    num_paths: int
    total_watches: int

    def to_map(self) -> dict[str, int]:
        """The summary under the keys the admin server uses."""
        return {
            "num_connections": self.num_connections,
            "num_paths": self.num_paths,
            "num_total_watches": self.total_watches,
        }


def _hex(session_id: int) -> str:
    # Long.toHexString: two's complement, no leading zeros.
    return format(session_id & 0xFFFF_FFFF_FFFF_FFFF, "x")


class WatchManager:
    """All watches of one kind (data or child), with their modes.

    Args:
        kind: ``"data"`` or ``"child"``; only used in trace events.
        tracer: where ``watch.*`` events go.
        acl_filter: the READ check of ZOOKEEPER-4799; None delivers every event.

    Mirrors: org.apache.zookeeper.server.watch.WatchManager (3.8).
    """

    def __init__(self, kind: str = "data", tracer: Tracer = NULL_TRACER, acl_filter: AclFilter | None = None) -> None:
        self.kind = kind
        self.tracer = tracer
        self.acl_filter = acl_filter
        # Dicts with None values are ordered sets: deterministic notification order.
        self._watch_table: dict[str, dict[Watcher, None]] = {}
        self._watch2paths: dict[Watcher, dict[str, None]] = {}
        self._modes: dict[tuple[Watcher, str], WatcherMode] = {}
        self._recursive_qty = 0

    # --- WatcherModeManager ----------------------------------------------------------

    def get_watcher_mode(self, watcher: Watcher, path: str) -> WatcherMode:
        """The mode of ``watcher``'s watch on ``path`` (STANDARD if none is stored)."""
        return self._modes.get((watcher, path), WatcherMode.STANDARD)

    def _set_watcher_mode(self, watcher: Watcher, path: str, mode: WatcherMode) -> None:
        old = self._modes.pop((watcher, path), WatcherMode.STANDARD)
        if mode is not WatcherMode.STANDARD:
            self._modes[(watcher, path)] = mode
        # recursiveQty lets trigger_watch skip the walk up when nobody watches recursively.
        self._recursive_qty += int(mode.is_recursive) - int(old.is_recursive)

    def get_recursive_watch_qty(self) -> int:
        """How many recursive watches there are (``getRecursiveWatchQty``)."""
        return self._recursive_qty

    # --- adding, firing, removing ----------------------------------------------------

    def add_watch(self, path: str, watcher: Watcher, mode: WatcherMode = WatcherMode.STANDARD) -> bool:
        """Watch ``path`` for ``watcher`` in ``mode``, replacing the mode it had there.

        Returns:
            True if ``watcher`` did not watch ``path`` before.
        """
        self._watch_table.setdefault(path, {})[watcher] = None
        paths = self._watch2paths.setdefault(watcher, {})
        self._set_watcher_mode(watcher, path, mode)
        added = path not in paths
        paths[path] = None
        if self.tracer.enabled:
            self.tracer.emit("watch.added", kind=self.kind, path=path, session=watcher.session_id, mode=mode.name)
        return added

    def trigger_watch(
        self,
        path: str,
        type: EventType,
        supress: set[Watcher] | None = None,
        acl: Sequence[ACL] | None = None,
    ) -> set[Watcher]:
        """Notify every watcher of ``path`` (and recursive watchers above it) of ``type``.

        Watchers in ``supress`` are not notified (they already were, by the other
        manager) but are still counted as triggered, and still lose a one-shot watch.
        So are watchers that ``acl_filter`` says may not read a node with ``acl``
        (ServerCnxn.process(event, acl) drops the event after the watch is used up).

        Returns:
            The watchers triggered, suppressed ones included (empty if none).

        Mirrors: WatchManager.triggerWatch.
        """
        if not self._watch_table:  # no watch anywhere: nothing to walk (most writes)
            return set()
        event = WatchedEvent(type, KeeperState.SyncConnected, path)
        watchers: dict[Watcher, None] = {}
        parents = self._path_parent_iterator(path)
        for local_path in parents:
            this_watchers = self._watch_table.get(local_path)
            if not this_watchers:
                continue
            for watcher in list(this_watchers):
                mode = self.get_watcher_mode(watcher, local_path)
                if mode.is_recursive:
                    if type is not EventType.NodeChildrenChanged:
                        watchers[watcher] = None
                elif not parents.at_parent_path():
                    watchers[watcher] = None
                    if not mode.is_persistent:
                        # A one-shot watch is used up. Java leaves the watcher's (maybe
                        # now empty) entry in watch2Paths, which wchs then still counts.
                        del this_watchers[watcher]
                        paths = self._watch2paths.get(watcher)
                        if paths is not None:
                            paths.pop(local_path, None)
            if not this_watchers:
                del self._watch_table[local_path]

        notified = [w for w in watchers if supress is None or w not in supress]
        suppressed = len(watchers) - len(notified)
        if self.acl_filter is not None and acl is not None:
            can_read = self.acl_filter
            notified = [w for w in notified if can_read(w, acl)]
        if self.tracer.enabled and watchers:
            self.tracer.emit(
                "watch.triggered",
                kind=self.kind,
                path=path,
                type=type.name,
                sessions=[w.session_id for w in notified],
                suppressed=suppressed,
                filtered=len(watchers) - suppressed - len(notified),
            )
        for watcher in notified:
            watcher.process(event)
        return set(watchers)

    def remove_watcher(self, watcher: Watcher) -> None:
        """Drop every watch of ``watcher``: its connection closed (``removeWatcher(w)``)."""
        paths = self._watch2paths.pop(watcher, None)
        if paths is None:
            return
        for path in paths:
            watchers = self._watch_table.get(path)
            if watchers is not None:
                watchers.pop(watcher, None)
                if not watchers:
                    del self._watch_table[path]
            self._set_watcher_mode(watcher, path, WatcherMode.STANDARD)
        if self.tracer.enabled:
            self.tracer.emit("watch.cnxn.removed", kind=self.kind, session=watcher.session_id)

    def contains_watcher(self, path: str, watcher: Watcher, mode: WatcherMode | None = None) -> bool:
        """Whether there is a watch on ``path`` for checkWatches.

        With ``mode`` None this is 3.8's ``containsWatcher``, quirk included: it answers
        True when *any* watcher watches ``path`` itself, not only ``watcher`` (3.9 checks
        this watcher). With a ``mode`` it asks exactly whether ``watcher`` watches
        ``path`` in that mode (3.9's ``containsWatcher(path, watcher, mode)``).
        """
        if mode is not None:
            return watcher in self._watch_table.get(path, {}) and self.get_watcher_mode(watcher, path) is mode
        watcher_mode = self.get_watcher_mode(watcher, path)
        parents = self._path_parent_iterator(path)
        for local_path in parents:
            if not parents.at_parent_path() and local_path in self._watch_table:
                return True  # at the leaf, all watcher types match
            if watcher_mode.is_recursive:
                return True
        return False

    def remove_watch(self, path: str, watcher: Watcher, mode: WatcherMode | None = None) -> bool:
        """Remove ``watcher``'s watch on ``path`` (``removeWatcher(path, w)``).

        With a ``mode``, only a watch in that mode is removed.

        Returns:
            True if there was such a watch.
        """
        if mode is not None and (
            watcher not in self._watch_table.get(path, {}) or self.get_watcher_mode(watcher, path) is not mode
        ):
            return False
        paths = self._watch2paths.get(watcher)
        if paths is None or path not in paths:
            return False
        del paths[path]
        watchers = self._watch_table.get(path)
        if watchers is None or watcher not in watchers:
            return False
        del watchers[watcher]
        if not watchers:
            del self._watch_table[path]
        self._set_watcher_mode(watcher, path, WatcherMode.STANDARD)
        if self.tracer.enabled:
            self.tracer.emit("watch.removed", kind=self.kind, path=path, session=watcher.session_id)
        return True

    def _path_parent_iterator(self, path: str) -> PathParentIterator:
        if self._recursive_qty == 0:
            return PathParentIterator.for_path_only(path)
        return PathParentIterator.for_all(path)

    # --- what the four-letter words and the admin server read ------------------------

    def size(self) -> int:
        """The number of (path, watcher) pairs."""
        return sum(len(watchers) for watchers in self._watch_table.values())

    def get_watches_summary(self) -> WatchesSummary:
        """Connections, paths and watches, as ``wchs`` counts them."""
        total = sum(len(paths) for paths in self._watch2paths.values())
        return WatchesSummary(len(self._watch2paths), len(self._watch_table), total)

    def to_string(self) -> str:
        """The text of ``wchs`` without its final newline (``WatchManager.toString``)."""
        s = self.get_watches_summary()
        return f"{s.num_connections} connections watching {s.num_paths} paths\nTotal watches:{s.total_watches}"

    __str__ = to_string

    def dump_watches(self, by_path: bool) -> str:
        """The text of ``wchp`` (``by_path``) or ``wchc``, without the final blank line.

        By path::                By connection::

            /a                      0x1000e0b9b6c0000
            \\t0x1000e0b9b6c0000      \\t/a
        """
        lines: list[str] = []
        if by_path:
            for path, watchers in self._watch_table.items():
                lines.append(path)
                lines.extend(f"\t0x{_hex(w.session_id)}" for w in watchers)
        else:
            for watcher, paths in self._watch2paths.items():
                lines.append(f"0x{_hex(watcher.session_id)}")
                lines.extend(f"\t{path}" for path in paths)
        return "".join(line + "\n" for line in lines)

    def get_watches(self) -> dict[int, set[str]]:
        """Session id -> watched paths (``getWatches``, the admin ``watches`` command)."""
        return {w.session_id: set(paths) for w, paths in self._watch2paths.items()}

    def get_watches_by_path(self) -> dict[str, set[int]]:
        """Path -> watching session ids (``getWatchesByPath``)."""
        return {path: {w.session_id for w in ws} for path, ws in self._watch_table.items()}
