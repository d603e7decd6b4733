"""ContainerManager.getCandidates as a pure function, and EphemeralType's encodings."""

from __future__ import annotations

import pytest

from zk.data.acl import OPEN_ACL_UNSAFE
from zk.data.containers import get_candidates, get_min_interval_ms
from zk.data.ephemeral import CONTAINER_EPHEMERAL_OWNER, TTL_MAX_VALUE, EphemeralType, client_ephemeral_owner
from zk.data.tree import DataTree
from zk.jute.records import CreateContainerTxn, CreateTTLTxn, CreateTxn, DeleteTxn, SetDataTxn, TxnHeader
from zk.protocol.constants import OpCode

T0 = 1_700_000_000_000  # wall-clock ms of the creating txns


def apply(tree: DataTree, zxid: int, op: OpCode, txn: object, time: int = T0) -> None:
    header = TxnHeader(clientId=1, cxid=zxid, zxid=zxid, time=time, type=op)
    assert tree.process_txn(header, txn).err == 0  # type: ignore[arg-type]


def make_tree() -> DataTree:
    tree = DataTree(extended_types_enabled=True)
    apply(tree, 1, OpCode.createContainer, CreateContainerTxn("/used", b"", OPEN_ACL_UNSAFE, 1))
    apply(tree, 2, OpCode.create, CreateTxn("/used/child", b"", OPEN_ACL_UNSAFE, False, 1))
    apply(tree, 3, OpCode.delete, DeleteTxn("/used/child"))
    apply(tree, 4, OpCode.createContainer, CreateContainerTxn("/fresh", b"", OPEN_ACL_UNSAFE, 2))
    apply(tree, 5, OpCode.createContainer, CreateContainerTxn("/busy", b"", OPEN_ACL_UNSAFE, 3))
    apply(tree, 6, OpCode.create, CreateTxn("/busy/child", b"", OPEN_ACL_UNSAFE, False, 1))
    apply(tree, 7, OpCode.createTTL, CreateTTLTxn("/ttl", b"", OPEN_ACL_UNSAFE, 4, 1000))
    apply(tree, 8, OpCode.createTTL, CreateTTLTxn("/ttl-parent", b"", OPEN_ACL_UNSAFE, 5, 1000))
    apply(tree, 9, OpCode.create, CreateTxn("/ttl-parent/c", b"", OPEN_ACL_UNSAFE, False, 1))
    return tree


def test_used_empty_containers_are_candidates() -> None:
    # ContainerManager.getCandidates: empty and cversion > 0 (ever had a child)
    assert get_candidates(make_tree(), T0) == ["/used"]


def test_never_used_containers_go_after_max_never_used_interval() -> None:
    # ContainerManager.getCandidates: maxNeverUsedIntervalMs != 0 and elapsed > it
    tree = make_tree()
    assert get_candidates(tree, T0 + 500, max_never_used_interval_ms=500) == ["/used"]
    assert get_candidates(tree, T0 + 501, max_never_used_interval_ms=500) == ["/fresh", "/used"]


def test_ttl_nodes_expire_after_ttl_without_children() -> None:
    # ContainerManager.getCandidates: TTL node, no children, now - mtime > ttl
    tree = make_tree()
    assert "/ttl" not in get_candidates(tree, T0 + 1000)
    assert get_candidates(tree, T0 + 1001) == ["/ttl", "/used"]
    # A setData moves mtime and so restarts the clock (getElapsed uses mtime).
    apply(tree, 10, OpCode.setData, SetDataTxn("/ttl", b"x", 1), time=T0 + 900)
    assert get_candidates(tree, T0 + 1001) == ["/used"]


def test_min_interval() -> None:
    # ContainerManager.getMinIntervalMs: one minute / maxPerMinute
    assert get_min_interval_ms() == 6
    assert get_min_interval_ms(60) == 1000


def test_ephemeral_type_encodings() -> None:
    # EphemeralType.get / TTL.toEphemeralOwner / getValue
    assert CONTAINER_EPHEMERAL_OWNER == -(2**63)
    assert EphemeralType.get(0) is EphemeralType.VOID
    assert EphemeralType.get(0x100000B0FE00001) is EphemeralType.NORMAL
    assert EphemeralType.get(CONTAINER_EPHEMERAL_OWNER) is EphemeralType.CONTAINER
    owner = EphemeralType.TTL.to_ephemeral_owner(5000)
    assert owner == 0xFF00000000001388 - 2**64  # 0xff extended byte, feature 0, ttl
    assert EphemeralType.get(owner, extended_types_enabled=True) is EphemeralType.TTL
    assert EphemeralType.get(owner, extended_types_enabled=False) is EphemeralType.NORMAL
    assert EphemeralType.TTL.get_value(owner) == 5000
    assert TTL_MAX_VALUE == 0xFFFFFFFFFF
    for bad in (0, -1, TTL_MAX_VALUE + 1):
        with pytest.raises(ValueError):
            EphemeralType.TTL.to_ephemeral_owner(bad)
    with pytest.raises(ValueError):
        EphemeralType.get(0xFF01000000000001 - 2**64, extended_types_enabled=True)
    assert client_ephemeral_owner(owner, True) == 0
    assert client_ephemeral_owner(CONTAINER_EPHEMERAL_OWNER) == 0
    assert client_ephemeral_owner(42) == 42
