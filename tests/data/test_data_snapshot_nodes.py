"""The snapshot's fast node decoder and the general reader load the very same tree.

zk.data.snapshot_nodes decodes the well-formed nodes of a snapshot in one pass and
leaves anything else to DataTree.deserialize's general loop. These tests decode random
trees, and damaged copies of them, once with the fast path and once with the general
reader alone, and require the same tree (nodes, children, digests, ACL counts,
ephemerals) or the same error.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zk.data.tree as tree_module
from zk.data.acl import OPEN_ACL_UNSAFE, READ_ACL_UNSAFE
from zk.data.digest import calculate_digest
from zk.data.ephemeral import CONTAINER_EPHEMERAL_OWNER, EphemeralType
from zk.data.node import DataNode
from zk.data.snapshot_nodes import DecodedNodes, decode_nodes
from zk.data.tree import DataTree
from zk.jute.codec import Reader, Writer
from zk.jute.records import ACL, Id, StatPersisted

DIGEST_ACL = [ACL(31, Id("digest", "user:tpUq/4Pn5A64fVZyQ0gOJ8ZWqkY="))]
OWNERS = [0, 0, 0, 0x100000B0FE00000, 0x100000B0FE00001, CONTAINER_EPHEMERAL_OWNER,
          EphemeralType.TTL.to_ephemeral_owner(5000)]  # fmt: skip

longs = st.integers(-(1 << 63), (1 << 63) - 1)
ints = st.integers(-(1 << 31), (1 << 31) - 1)
names = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="/"), min_size=1, max_size=8)
node_specs = st.tuples(
    st.integers(0, 1000),  # which existing node is the parent
    names,
    st.none() | st.binary(max_size=20),
    st.sampled_from([-1, 0, 1, 2]),  # ACL: open, or one of the lists the tree stored
    st.tuples(longs, longs, longs, longs, ints, ints, ints, st.sampled_from(OWNERS), longs),
)


def _build(specs: list[tuple[int, str, bytes | None, int, tuple[int, ...]]], extended: bool) -> DataTree:
    """A tree with the given nodes (and the three the server owns)."""
    tree = DataTree(extended_types_enabled=extended)
    indexes = [tree.acl_cache.convert_acls(a) for a in (OPEN_ACL_UNSAFE, READ_ACL_UNSAFE, DIGEST_ACL)]
    paths = [""]
    for parent_at, name, data, acl, stat in specs:
        parent = paths[parent_at % len(paths)]
        path = f"{parent}/{name}"
        if path in tree.nodes or path == "/":
            continue
        index = -1 if acl == -1 else indexes[acl]
        tree.nodes.pre_change(parent, tree.nodes[parent])
        tree.nodes[parent].children.add(name)
        tree.nodes.post_change(parent, tree.nodes[parent])
        tree.nodes.put(path, DataNode(data, index, StatPersisted(*stat)))
        tree.acl_cache.add_usage(index)
        paths.append(path)
    return tree


def _stream(tree: DataTree) -> bytes:
    w = Writer()
    tree.serialize(w)
    return w.getvalue()


def _nothing_fast(stream: bytes, offset: int, max_buffer: int) -> DecodedNodes:
    return DecodedNodes({}, 0, offset, collections.Counter(), [])


def _load(stream: bytes, extended: bool, *, fast: bool, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The loaded tree as comparable values, or the error it raised."""
    decoder: Callable[[bytes, int, int], DecodedNodes] = decode_nodes if fast else _nothing_fast
    with monkeypatch.context() as m:
        m.setattr(tree_module, "decode_nodes", decoder)
        tree = DataTree(extended_types_enabled=extended)
        r = Reader(stream, max_buffer=len(stream))
        try:
            tree.deserialize(r)
        except ValueError as e:  # JuteError included
            return type(e), str(e)
    return (
        r.offset,
        {p: (n.data, n.acl, n.stat, sorted(n.children), n.digest) for p, n in tree.nodes.items()},
        tree.tree_digest,
        dict(tree.acl_cache.reference_counter),
        {s: tree.get_ephemerals(s) for s in tree.get_sessions()},
        tree.get_containers(),
        tree.get_ttls(),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=st.lists(node_specs, max_size=40), extended=st.booleans())
def test_fast_and_general_decode_load_the_same_tree(
    specs: Any, extended: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = _build(specs, extended)
    stream = _stream(tree)
    loaded = _load(stream, extended, fast=True, monkeypatch=monkeypatch)
    assert loaded == _load(stream, extended, fast=False, monkeypatch=monkeypatch)
    assert loaded[0] == len(stream), "the whole stream, '/' marker included, is read"
    assert loaded[2] == tree.tree_digest
    for path, (data, _, stat, _, digest) in loaded[1].items():
        if path != "/":
            assert digest == calculate_digest(path, data, stat) or path.startswith("/zookeeper/")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=st.lists(node_specs, min_size=1, max_size=12), data=st.data())
def test_damaged_streams_fail_or_load_alike(specs: Any, data: st.DataObject, monkeypatch: pytest.MonkeyPatch) -> None:
    """Cut short, a byte changed, or a few bytes dropped: the fast path stops before the
    node it does not like and the general reader gives the very same answer."""
    stream = bytearray(_stream(_build(specs, True)))
    where = data.draw(st.integers(0, len(stream) - 1))
    damage = data.draw(st.sampled_from(["cut", "flip", "drop"]))
    if damage == "cut":
        del stream[where:]
    elif damage == "flip":
        stream[where] ^= data.draw(st.integers(1, 255))
    else:
        del stream[where : where + data.draw(st.integers(1, 8))]
    fast = _load(bytes(stream), True, fast=True, monkeypatch=monkeypatch)
    assert fast == _load(bytes(stream), True, fast=False, monkeypatch=monkeypatch)


def test_the_fast_path_stops_at_a_missing_parent_and_the_general_reader_names_it() -> None:
    tree = _build([(0, "a", b"x", -1, (1, 2, 3, 4, 5, 6, 7, 0, 9)), (1, "b", None, 0, (1,) * 9)], False)
    stream = _stream(tree).replace(b"/a/b", b"/q/b")
    with pytest.raises(ValueError, match="unable to find parent /q of path /q/b"):
        DataTree().deserialize(Reader(stream, max_buffer=len(stream)))
    r = Reader(stream, max_buffer=len(stream))
    DataTree().acl_cache.deserialize(r)
    decoded = decode_nodes(r.data, r.offset, r.max_buffer)
    assert list(decoded.nodes) == ["", "/a"]
    assert stream[decoded.offset + 4 : decoded.offset + 8] == b"/q/b"
