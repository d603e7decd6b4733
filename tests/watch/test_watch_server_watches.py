"""Spec tests of ServerWatches: which DataTree change fires which watch.

Each test cites the DataTree (3.8) or FinalRequestProcessor method whose rule it checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import pytest

from zk.jute.records import ACL, Id
from zk.protocol.constants import AddWatchMode, EventType, WatcherType
from zk.protocol.errors import Code, MarshallingErrorException, NoWatcherException
from zk.watch import NodeZxids, ServerWatches, WatchedEvent

Created, Deleted, DataChanged, ChildrenChanged = (
    EventType.NodeCreated,
    EventType.NodeDeleted,
    EventType.NodeDataChanged,
    EventType.NodeChildrenChanged,
)


@dataclass(eq=False)
class FakeCnxn:
    session_id: int
    events: list[WatchedEvent] = field(default_factory=list)

    def process(self, event: WatchedEvent) -> None:
        self.events.append(event)

    def seen(self) -> list[tuple[EventType, str | None]]:
        return [(e.type, e.path) for e in self.events]


@dataclass(frozen=True)
class Node:
    mzxid: int
    pzxid: int


class T(NamedTuple):
    """A trigger as zk.data's DataTree makes it (WatchTrigger)."""

    path: str
    type: EventType
    acl: Sequence[ACL] | None = None


def create(path: str, parent: str) -> list[T]:
    return [T(path, Created), T(parent, ChildrenChanged)]


def delete(path: str, parent: str) -> list[T]:
    return [T(path, Deleted), T(parent, ChildrenChanged)]


def test_exists_watch_on_missing_node_fires_node_created() -> None:
    """DataTree.statNode adds the watch before the NoNode check; createNode fires it."""
    sw, c = ServerWatches(), FakeCnxn(1)
    sw.add_exists_watch("/a", c)
    sw.fire(create("/a", "/"))
    assert c.seen() == [(Created, "/a")]
    sw.fire(delete("/a", "/"))
    assert len(c.events) == 1  # one-shot


def test_child_watch_fires_on_create_and_delete_of_a_child() -> None:
    """DataTree.createNode / deleteNode: childWatches.triggerWatch(parent, NodeChildrenChanged)."""
    sw, c = ServerWatches(), FakeCnxn(1)
    sw.add_child_watch("/", c)
    sw.fire(create("/a", "/"))
    sw.add_child_watch("/", c)  # set again
    sw.fire(delete("/a", "/"))
    assert c.seen() == [(ChildrenChanged, "/"), (ChildrenChanged, "/")]


def test_set_data_fires_data_watch_only() -> None:
    """DataTree.setData: dataWatches.triggerWatch(path, NodeDataChanged)."""
    sw, d, ch = ServerWatches(), FakeCnxn(1), FakeCnxn(2)
    sw.add_data_watch("/a", d)
    sw.add_child_watch("/a", ch)
    sw.fire([T("/a", DataChanged)])
    assert d.seen() == [(DataChanged, "/a")] and ch.events == []


def test_delete_notifies_a_watcher_with_data_and_child_watch_once() -> None:
    """DataTree.deleteNode: childWatches.triggerWatch(path, NodeDeleted, acl, processed)."""
    sw, c = ServerWatches(), FakeCnxn(1)
    sw.add_data_watch("/a", c)
    sw.add_child_watch("/a", c)
    sw.fire(delete("/a", "/"))
    assert c.seen() == [(Deleted, "/a")]
    assert sw.get_watch_count() == 0  # both one-shot watches are used up


def test_delete_fires_child_watch_with_node_deleted() -> None:
    """DataTree.deleteNode: a getChildren watch on the deleted node hears NodeDeleted."""
    sw, c = ServerWatches(), FakeCnxn(1)
    sw.add_child_watch("/a", c)
    sw.fire(delete("/a", "/"))
    assert c.seen() == [(Deleted, "/a")]


def test_add_watch_persistent_gets_data_and_child_events() -> None:
    """DataTree.addWatch: PERSISTENT in both managers; it stays after firing."""
    sw, c = ServerWatches(), FakeCnxn(1)
    sw.add_watch("/a", c, AddWatchMode.PERSISTENT)
    sw.fire(create("/a", "/"))
    sw.fire(create("/a/b", "/a"))
    sw.fire([T("/a", DataChanged)])
    sw.fire(delete("/a/b", "/a"))
    sw.fire(create("/a/b/c", "/a/b"))  # a grandchild: not for a persistent watch
    sw.fire(delete("/a", "/"))
    assert c.seen() == [
        (Created, "/a"),
        (ChildrenChanged, "/a"),
        (DataChanged, "/a"),
        (ChildrenChanged, "/a"),
        (Deleted, "/a"),
    ]
    assert sw.data_watches.contains_watcher("/a", c)  # still there after the delete


def test_add_watch_persistent_recursive_sees_subtree_but_no_child_events() -> None:
    """PersistentRecursiveWatcherTest.testBasic through DataTree's events."""
    sw, c = ServerWatches(), FakeCnxn(1)
    sw.add_watch("/a/b", c, AddWatchMode.PERSISTENT_RECURSIVE)
    sw.fire(create("/a", "/"))
    for path, parent in [
        ("/a/b", "/a"),
        ("/a/b/c", "/a/b"),
        ("/a/b/c/d", "/a/b/c"),
        ("/a/b/c/d/e", "/a/b/c/d"),
    ]:
        sw.fire(create(path, parent))
    sw.fire([T("/a/b/c/d/e", DataChanged)])
    sw.fire(delete("/a/b/c/d/e", "/a/b/c/d"))
    sw.fire(create("/a/b/c/d/e", "/a/b/c/d"))
    assert c.seen() == [
        (Created, "/a/b"),
        (Created, "/a/b/c"),
        (Created, "/a/b/c/d"),
        (Created, "/a/b/c/d/e"),
        (DataChanged, "/a/b/c/d/e"),
        (Deleted, "/a/b/c/d/e"),  # once, though the watch is in both managers
        (Created, "/a/b/c/d/e"),
    ]


def test_two_clients_each_notified() -> None:
    """PersistentRecursiveWatcherTest.testMultiClient: every change, every watcher."""
    sw, c = ServerWatches(), FakeCnxn(1)
    sw.add_watch("/a/b", c, AddWatchMode.PERSISTENT_RECURSIVE)
    for _ in range(4):
        sw.fire([T("/a/b/c", DataChanged)])
    assert c.seen() == [(DataChanged, "/a/b/c")] * 4


def test_add_watch_bad_mode_is_marshalling_error() -> None:
    """WatcherMode.fromZooDef throws; FinalRequestProcessor answers MARSHALLINGERROR."""
    with pytest.raises(MarshallingErrorException):
        ServerWatches().add_watch("/a", FakeCnxn(1), 5)


# --- setWatches ---------------------------------------------------------------------

TREE: dict[str, NodeZxids] = {"/same": Node(mzxid=5, pzxid=5), "/newer": Node(mzxid=12, pzxid=11)}


def test_set_watches_fires_what_the_client_missed() -> None:
    """DataTree.setWatches: each list's rule against relativeZxid (10 here)."""
    sw, c = ServerWatches(), FakeCnxn(1)
    sw.set_watches(
        10,
        data_watches=["/gone", "/newer", "/same"],
        exist_watches=["/newer", "/missing"],
        child_watches=["/gone", "/newer", "/same"],
        persistent_watches=["/p"],
        persistent_recursive_watches=["/r"],
        watcher=c,
        lookup=TREE.get,
    )
    assert c.seen() == [
        (Deleted, "/gone"),
        (DataChanged, "/newer"),
        (Created, "/newer"),
        (Deleted, "/gone"),
        (ChildrenChanged, "/newer"),
    ]
    # The rest are registered and fire as usual.
    c.events.clear()
    sw.fire([T("/same", DataChanged)])
    sw.fire(create("/missing", "/"))
    sw.fire(create("/same/x", "/same"))
    sw.fire([T("/p", DataChanged)])
    sw.fire([T("/r/deep/er", DataChanged)])
    assert c.seen() == [
        (DataChanged, "/same"),
        (Created, "/missing"),
        (ChildrenChanged, "/same"),
        (DataChanged, "/p"),
        (DataChanged, "/r/deep/er"),
    ]


def test_set_watches_not_newer_when_equal_to_relative_zxid() -> None:
    """DataTree.setWatches: only mzxid/pzxid strictly greater than relativeZxid fire."""
    sw, c = ServerWatches(), FakeCnxn(1)
    sw.set_watches(5, ["/same"], [], ["/same"], None, None, c, TREE.get)
    assert c.events == []
    assert sw.get_watch_count() == 2


# --- checkWatches / removeWatches -----------------------------------------------------


def test_remove_watches_raises_no_watcher_when_absent() -> None:
    """FinalRequestProcessor removeWatches: NoWatcherException("<path> (type: <type>)")."""
    sw, c = ServerWatches(), FakeCnxn(1)
    with pytest.raises(NoWatcherException) as info:
        sw.remove_watches("/a", WatcherType.Data, c)
    assert info.value.code is Code.NOWATCHER
    assert str(info.value) == "KeeperErrorCode = No such watcher for /a (type: Data)"


def test_remove_watches_by_type() -> None:
    """DataTree.removeWatch: Children, Data, or Any (both managers)."""
    sw, c = ServerWatches(), FakeCnxn(1)
    sw.add_data_watch("/a", c)
    sw.add_child_watch("/a", c)
    sw.remove_watches("/a", WatcherType.Children, c)
    with pytest.raises(NoWatcherException):
        sw.remove_watches("/a", WatcherType.Children, c)
    sw.check_watches("/a", WatcherType.Data, c)
    sw.remove_watches("/a", WatcherType.Any, c)
    with pytest.raises(NoWatcherException):
        sw.check_watches("/a", WatcherType.Any, c)
    sw.fire(delete("/a", "/"))
    assert c.events == []  # the server itself sends no WatchRemoved event


def test_remove_persistent_watch_with_any() -> None:
    """DataTree.removeWatch(Any) removes an addWatch watch from both managers."""
    sw, c = ServerWatches(), FakeCnxn(1)
    sw.add_watch("/a", c, AddWatchMode.PERSISTENT_RECURSIVE)
    sw.remove_watches("/a", int(WatcherType.Any), c)
    sw.fire(create("/a/b", "/a"))
    assert c.events == [] and sw.get_watch_count() == 0


def test_bad_watcher_type_is_marshalling_error() -> None:
    """WatcherType.fromInt throws; FinalRequestProcessor answers MARSHALLINGERROR."""
    with pytest.raises(MarshallingErrorException):
        ServerWatches().check_watches("/a", 9, FakeCnxn(1))


def test_remove_cnxn_and_four_letter_words_use_data_watches() -> None:
    """DataTree.removeCnxn; dumpWatchesSummary and dumpWatches print dataWatches only."""
    sw, a, b = ServerWatches(), FakeCnxn(1), FakeCnxn(2)
    sw.add_data_watch("/a", a)
    sw.add_child_watch("/a", a)
    sw.add_exists_watch("/b", b)
    assert sw.dump_watches_summary() == "2 connections watching 2 paths\nTotal watches:2"
    assert sw.dump_watches(by_path=False) == "0x1\n\t/a\n0x2\n\t/b\n"
    assert sw.get_watch_count() == 3
    sw.remove_cnxn(a)
    assert sw.get_watch_count() == 1
    assert sw.get_watches() == {2: {"/b"}}


def test_acl_filter_drops_events_for_readers_without_read() -> None:
    """ZOOKEEPER-4799 (3.8.4+): ServerCnxn.process(event, acl) checks READ first.

    The one-shot watch is used up all the same (WatchManager removes it before process).
    """
    secret = [ACL(1, Id("digest", "admin:x"))]
    allowed = {1}
    sw = ServerWatches(acl_filter=lambda w, acl: w.session_id in allowed)
    a, b = FakeCnxn(1), FakeCnxn(2)
    sw.add_data_watch("/s", a)
    sw.add_data_watch("/s", b)
    assert sw.fire([T("/s", DataChanged, secret)]) == {a, b}
    assert a.seen() == [(DataChanged, "/s")] and b.events == []
    assert sw.get_watch_count() == 0
    sw.add_data_watch("/open", b)
    sw.fire([T("/open", DataChanged, None)])  # no ACL given: no check, as Java with acl == null
    assert b.seen() == [(DataChanged, "/open")]
