"""The pure parts of the recipes: sorting, the lock predicates, the connection-state table."""

from __future__ import annotations

import random

import pytest

from zk.protocol.constants import KeeperState
from zk.protocol.errors import NoNodeException
from zk.recipes import ConnectionState, ConnectionStateManager, fix_for_sorting, gets_the_lock, sort_children
from zk.recipes.nodes import protected_name
from zk.recipes.rwlock import read_lock_predicate


def lock_nodes(n: int, name: str = "lock-") -> list[str]:
    rng = random.Random(7)
    return [protected_name(f"{rng.getrandbits(128):032x}", name) + f"{i:010d}" for i in range(n)]


def test_fix_for_sorting_keeps_the_sequence() -> None:
    assert fix_for_sorting("_c_2534bcfe-cdcc-42cd-bd01-0228d6299c4f-latch-0000000012", "latch-") == "0000000012"
    assert fix_for_sorting("foreign", "lock-") == "foreign"


def test_children_sort_by_sequence_not_by_uuid() -> None:
    nodes = lock_nodes(20)
    shuffled = nodes[:]
    random.Random(1).shuffle(shuffled)
    assert sort_children(shuffled, "lock-") == nodes
    assert sorted(shuffled) != nodes  # the uuids would give another order


def test_the_lowest_holds_and_each_waiter_watches_its_predecessor() -> None:
    nodes = lock_nodes(4)
    assert gets_the_lock(nodes, nodes[0]).gets_the_lock
    for i in range(1, 4):
        result = gets_the_lock(nodes, nodes[i])
        assert not result.gets_the_lock and result.path_to_watch == nodes[i - 1]


def test_max_leases_watches_further_back() -> None:
    nodes = lock_nodes(5)
    assert gets_the_lock(nodes, nodes[1], max_leases=2).gets_the_lock
    assert gets_the_lock(nodes, nodes[4], max_leases=2).path_to_watch == nodes[2]


def test_a_missing_node_is_nonode() -> None:
    with pytest.raises(NoNodeException):
        gets_the_lock(lock_nodes(2), "_c_x-lock-0000000099")


def test_read_lock_waits_only_for_the_first_writer_before_it() -> None:
    r1, w2, r3, r4 = "_c_a-__READ__0000000001", "_c_b-__WRIT__0000000002", "_c_c-__READ__3", "_c_d-__READ__4"
    children = sort_children([r4, r3, w2, r1], "__READ__", "__WRIT__")
    assert children == [r1, w2, r3, r4]
    assert read_lock_predicate(children, r1).gets_the_lock
    assert read_lock_predicate(children, r4).path_to_watch == w2
    assert read_lock_predicate([r1, r3], r3).gets_the_lock  # readers share


@pytest.mark.parametrize(
    ("current", "keeper", "expected"),
    [
        (None, KeeperState.SyncConnected, ConnectionState.CONNECTED),
        (ConnectionState.CONNECTED, KeeperState.Disconnected, ConnectionState.SUSPENDED),
        (ConnectionState.SUSPENDED, KeeperState.SyncConnected, ConnectionState.RECONNECTED),
        (ConnectionState.SUSPENDED, KeeperState.Expired, ConnectionState.LOST),
        (ConnectionState.RECONNECTED, KeeperState.Disconnected, ConnectionState.SUSPENDED),
        (ConnectionState.SUSPENDED, KeeperState.Disconnected, None),
        (ConnectionState.CONNECTED, KeeperState.SyncConnected, None),
        (ConnectionState.CONNECTED, KeeperState.Closed, None),
        (ConnectionState.LOST, KeeperState.Expired, None),
    ],
)
def test_connection_state_table(
    current: ConnectionState | None, keeper: KeeperState, expected: ConnectionState | None
) -> None:
    assert ConnectionStateManager.next_state(current, keeper) is expected
