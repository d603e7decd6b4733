"""Unit tests of WatchManager: one kind of watch table, its modes and its reports.

Each rule test cites the Java it checks (org.apache.zookeeper.server.watch, 3.8).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from zk.protocol.constants import NOTIFICATION_XID, EventType, KeeperState
from zk.protocol.errors import MarshallingErrorException
from zk.trace.tracer import MemorySink, Tracer
from zk.watch import PathParentIterator, WatchedEvent, WatcherMode, WatchManager


@dataclass(eq=False)
class FakeCnxn:
    """A server connection that records the events it would send."""

    session_id: int
    events: list[WatchedEvent] = field(default_factory=list)

    def process(self, event: WatchedEvent) -> None:
        self.events.append(event)

    def seen(self) -> list[tuple[EventType, str | None]]:
        return [(e.type, e.path) for e in self.events]


def test_path_parent_iterator_walks_to_root() -> None:
    """PathParentIterator.forAll: the path, then each parent, ending with "/"."""
    it = PathParentIterator.for_all("/a/b/c")
    seen = []
    for path in it:
        seen.append((path, it.at_parent_path()))
    assert seen == [("/a/b/c", False), ("/a/b", True), ("/a", True), ("/", True)]
    assert list(PathParentIterator.for_all("/")) == ["/"]
    assert list(PathParentIterator.for_path_only("/a/b")) == ["/a/b"]


def test_watched_event_wire_record() -> None:
    """WatchedEvent.getWrapper: type and state as ints; sent after xid NOTIFICATION_XID."""
    record = WatchedEvent(EventType.NodeCreated, KeeperState.SyncConnected, "/a").to_watcher_event()
    assert (record.type, record.state, record.path) == (1, 3, "/a")
    assert NOTIFICATION_XID == -1


def test_standard_watch_fires_once() -> None:
    """WatchManager.triggerWatch: a STANDARD watch is removed as it fires."""
    wm, c = WatchManager(), FakeCnxn(1)
    assert wm.add_watch("/a", c) is True
    assert wm.add_watch("/a", c) is False  # already there
    assert wm.trigger_watch("/a", EventType.NodeDataChanged) == {c}
    assert wm.trigger_watch("/a", EventType.NodeDataChanged) == set()
    assert c.events == [WatchedEvent(EventType.NodeDataChanged, KeeperState.SyncConnected, "/a")]
    assert wm.size() == 0


def test_persistent_watch_stays() -> None:
    """WatchManager.triggerWatch: a persistent watch is not removed."""
    wm, c = WatchManager(), FakeCnxn(1)
    wm.add_watch("/a", c, WatcherMode.PERSISTENT)
    for _ in range(3):
        wm.trigger_watch("/a", EventType.NodeDataChanged)
    assert len(c.events) == 3
    assert wm.contains_watcher("/a", c, WatcherMode.PERSISTENT)


def test_persistent_watch_does_not_fire_for_children() -> None:
    """WatchManager.triggerWatch: at a parent path only recursive watchers fire."""
    wm, c, r = WatchManager(), FakeCnxn(1), FakeCnxn(2)
    wm.add_watch("/a", c, WatcherMode.PERSISTENT)
    wm.add_watch("/x", r, WatcherMode.PERSISTENT_RECURSIVE)  # turns the walk up on
    wm.trigger_watch("/a/b", EventType.NodeCreated)
    assert c.events == []


def test_recursive_watch_fires_for_descendants() -> None:
    """PersistentRecursiveWatcherTest.testBasic, at the level of one WatchManager."""
    wm, c = WatchManager(), FakeCnxn(1)
    wm.add_watch("/a/b", c, WatcherMode.PERSISTENT_RECURSIVE)
    for path, type in [
        ("/a/b", EventType.NodeCreated),
        ("/a/b/c", EventType.NodeCreated),
        ("/a/b/c/d/e", EventType.NodeDataChanged),
        ("/a/b/c/d/e", EventType.NodeDeleted),
        ("/a", EventType.NodeDataChanged),  # above: not watched
        ("/a/bb", EventType.NodeCreated),  # a sibling with a common prefix: not watched
    ]:
        wm.trigger_watch(path, type)
    assert c.seen() == [
        (EventType.NodeCreated, "/a/b"),
        (EventType.NodeCreated, "/a/b/c"),
        (EventType.NodeDataChanged, "/a/b/c/d/e"),
        (EventType.NodeDeleted, "/a/b/c/d/e"),
    ]


def test_recursive_watch_skips_children_changed_even_at_its_path() -> None:
    """WatchManager.triggerWatch: isRecursive and NodeChildrenChanged -> not added."""
    wm, c = WatchManager(), FakeCnxn(1)
    wm.add_watch("/a", c, WatcherMode.PERSISTENT_RECURSIVE)
    assert wm.trigger_watch("/a", EventType.NodeChildrenChanged) == set()
    assert wm.trigger_watch("/", EventType.NodeChildrenChanged) == set()
    assert c.events == []


def test_root_recursive_watch() -> None:
    """PersistentRecursiveWatcherTest.testRootWatcher."""
    wm, c = WatchManager(), FakeCnxn(1)
    wm.add_watch("/", c, WatcherMode.PERSISTENT_RECURSIVE)
    for path in ["/a", "/a/b", "/b", "/b/c"]:
        wm.trigger_watch(path, EventType.NodeCreated)
    assert [p for _, p in c.seen()] == ["/a", "/a/b", "/b", "/b/c"]


def test_supressed_watchers_are_triggered_but_not_notified() -> None:
    """WatchManager.triggerWatch(path, type, acl, supress)."""
    wm, a, b = WatchManager(), FakeCnxn(1), FakeCnxn(2)
    wm.add_watch("/a", a)
    wm.add_watch("/a", b)
    assert wm.trigger_watch("/a", EventType.NodeDeleted, supress={a}) == {a, b}
    assert a.events == [] and len(b.events) == 1
    assert wm.size() == 0  # a's one-shot watch is used up all the same


def test_standard_watch_replaces_persistent_mode_as_in_38() -> None:
    """WatcherModeManager.setWatcherMode: one mode per (watcher, path) in 3.8 (ZOOKEEPER-4466)."""
    wm, c = WatchManager(), FakeCnxn(1)
    wm.add_watch("/a", c, WatcherMode.PERSISTENT)
    wm.add_watch("/a", c)  # e.g. getData(watch=true) on the same path
    wm.trigger_watch("/a", EventType.NodeDataChanged)
    wm.trigger_watch("/a", EventType.NodeDataChanged)
    assert len(c.events) == 1


def test_remove_watcher_drops_everything_of_a_connection() -> None:
    """WatchManager.removeWatcher(watcher): the connection closed."""
    wm, a, b = WatchManager(), FakeCnxn(1), FakeCnxn(2)
    wm.add_watch("/a", a)
    wm.add_watch("/b", a, WatcherMode.PERSISTENT_RECURSIVE)
    wm.add_watch("/a", b)
    wm.remove_watcher(a)
    assert wm.size() == 1
    assert wm.get_recursive_watch_qty() == 0
    wm.trigger_watch("/b/c", EventType.NodeCreated)
    wm.trigger_watch("/a", EventType.NodeCreated)
    assert a.events == [] and len(b.events) == 1


def test_remove_watch_on_path() -> None:
    """WatchManager.removeWatcher(path, watcher): true only if it was there."""
    wm, c = WatchManager(), FakeCnxn(1)
    wm.add_watch("/a", c, WatcherMode.PERSISTENT_RECURSIVE)
    assert wm.remove_watch("/a", c, WatcherMode.PERSISTENT) is False
    assert wm.remove_watch("/a", c) is True
    assert wm.remove_watch("/a", c) is False
    assert wm.get_recursive_watch_qty() == 0
    assert wm.trigger_watch("/a/b", EventType.NodeCreated) == set()


def test_contains_watcher_is_generous_in_38() -> None:
    """WatchManager.containsWatcher (3.8): any watcher on the leaf path counts."""
    wm, a, b = WatchManager(), FakeCnxn(1), FakeCnxn(2)
    wm.add_watch("/a", a)
    assert wm.contains_watcher("/a", a)
    assert wm.contains_watcher("/a", b)  # 3.8's quirk: b has no watch there
    assert not wm.contains_watcher("/a", b, WatcherMode.STANDARD)
    assert not wm.contains_watcher("/a/b", a)


def test_wchs_text_counts_connections_with_spent_watches() -> None:
    """WatchManager.toString: watch2Paths keeps a connection whose one-shot watch fired."""
    wm, a, b = WatchManager(), FakeCnxn(1), FakeCnxn(2)
    wm.add_watch("/a", a)
    wm.add_watch("/b", a)
    wm.add_watch("/a", b)
    assert wm.to_string() == "2 connections watching 2 paths\nTotal watches:3"
    wm.trigger_watch("/a", EventType.NodeDataChanged)
    assert str(wm) == "2 connections watching 1 paths\nTotal watches:1"
    assert wm.get_watches_summary().to_map() == {"num_connections": 2, "num_paths": 1, "num_total_watches": 1}


def test_wchc_and_wchp_text() -> None:
    """WatchManager.dumpWatches: 0x + Long.toHexString(sessionId), tab-indented lines."""
    wm, a, b = WatchManager(), FakeCnxn(0x1000E0B9B6C0000), FakeCnxn(-1)
    wm.add_watch("/a", a)
    wm.add_watch("/b", a)
    wm.add_watch("/a", b)
    assert wm.dump_watches(by_path=False) == "0x1000e0b9b6c0000\n\t/a\n\t/b\n0xffffffffffffffff\n\t/a\n"
    assert wm.dump_watches(by_path=True) == "/a\n\t0x1000e0b9b6c0000\n\t0xffffffffffffffff\n/b\n\t0x1000e0b9b6c0000\n"
    assert wm.get_watches() == {0x1000E0B9B6C0000: {"/a", "/b"}, -1: {"/a"}}
    assert wm.get_watches_by_path() == {"/a": {0x1000E0B9B6C0000, -1}, "/b": {0x1000E0B9B6C0000}}


def test_add_watch_mode_from_the_wire() -> None:
    """WatcherMode.fromZooDef: an unknown mode is a client error (MARSHALLINGERROR)."""
    assert WatcherMode.from_zoo_def(0) is WatcherMode.PERSISTENT
    assert WatcherMode.from_zoo_def(1) is WatcherMode.PERSISTENT_RECURSIVE
    with pytest.raises(MarshallingErrorException):
        WatcherMode.from_zoo_def(7)


def test_trace_events() -> None:
    sink = MemorySink()
    wm, c = WatchManager("data", Tracer("s1", sink)), FakeCnxn(5)
    wm.add_watch("/a", c)
    wm.trigger_watch("/a", EventType.NodeDeleted)
    names = [(e["event"], e.get("sessions")) for e in sink.events]
    assert names == [("watch.added", None), ("watch.triggered", [5])]
