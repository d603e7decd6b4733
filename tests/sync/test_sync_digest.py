"""ZOOKEEPER-2846: a follower whose tree has left the leader's is found out by the digest.

Sync from the transaction log can leave a follower holding a tree that is not the
leader's (the JIRA issue, still open upstream, describes DIFFs built from on-disk txns
that skipped or repeated one). Nothing in the txns themselves shows it: each applies
cleanly. What shows it is the tree digest (ZOOKEEPER-3114): the leader's Prep computes
the digest of its tree after each txn and sends it in the PROPOSAL; the follower
compares it with its own after applying the txn. ZooKeeper 3.8 logs the mismatch and
counts it (``digest_mismatches_count``), and so do we; neither resyncs on it (that was
Facebook's own fix, not in ZooKeeper).
"""

from __future__ import annotations

import logging

import pytest
from quorum_helpers import create_entry, z

from zk.data import DataTree
from zk.data.digest import DIGEST_VERSION
from zk.jute.codec import Record
from zk.jute.records import TxnDigest, TxnHeader


def _leader_and_follower() -> tuple[DataTree, DataTree]:
    leader, follower = DataTree(), DataTree()
    for tree in (leader, follower):
        e = create_entry(z(1, 1), "/a")
        tree.process_txn(e.header, e.txn)
    return leader, follower


def _propose(leader: DataTree, zxid: int, path: str) -> tuple[TxnHeader, Record | None, TxnDigest]:
    """Apply a create on the leader; the txn and the digest its PROPOSAL would carry."""
    e = create_entry(zxid, path)
    leader.process_txn(e.header, e.txn)
    return e.header, e.txn, TxnDigest(DIGEST_VERSION, leader.tree_digest)


def test_ZOOKEEPER_2846_a_follower_that_agrees_counts_no_mismatch() -> None:
    """A follower whose tree is the leader's computes the digest each PROPOSAL carries. Ours:
    zk.data.tree.DataTree.process_txn."""
    leader, follower = _leader_and_follower()
    for counter, path in enumerate(["/b", "/c"], start=2):
        header, txn, digest = _propose(leader, z(1, counter), path)
        follower.process_txn(header, txn, digest)
    assert follower.digest_mismatches == 0
    assert follower.tree_digest == leader.tree_digest


def test_ZOOKEEPER_2846_a_diverged_follower_reports_a_digest_mismatch(caplog: pytest.LogCaptureFixture) -> None:
    """A follower that holds a node the leader never had applies the leader's next txn without an error, but its
    digest differs from the one in the PROPOSAL: the mismatch is logged and counted, as ZooKeeper 3.8 does. Ours:
    zk.data.tree.DataTree.process_txn."""
    leader, follower = _leader_and_follower()
    stray = create_entry(z(1, 2), "/only-on-the-follower")
    follower.process_txn(stray.header, stray.txn)  # a txn a bad DIFF repeated or the leader skipped

    header, txn, digest = _propose(leader, z(1, 2), "/b")
    with caplog.at_level(logging.ERROR, logger="zk.data.tree"):
        rc = follower.process_txn(header, txn, digest)
    assert rc.err == 0  # nothing in the txn itself shows it
    assert follower.digest_mismatches == 1
    assert f"Digest mismatch at zxid 0x{z(1, 2):x}" in caplog.text
