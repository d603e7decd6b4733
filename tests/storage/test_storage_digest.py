"""The tree digest agrees with Apache ZooKeeper 3.8's, node for node and txn for txn.

ZooKeeper 3.8 writes, after every logged txn, the digest the tree has once that txn is
applied (a TxnDigest), and the digest at the last zxid at the end of every snapshot. We
replay a data directory ZooKeeper wrote and check that our DataTree reaches the very same
digests; then we check that our own server's log carries digests our tree agrees with.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from test_storage_interop import _write_sample

from zk import lab
from zk.data import DataTree
from zk.data.digest import DIGEST_VERSION
from zk.lab.reference import reference_available
from zk.storage import FileTxnSnapLog


def replay_checking_every_digest(data_dir: Path) -> tuple[DataTree, int]:
    """Load the newest snapshot, then apply each logged txn with the digest it was
    logged with; returns the tree and how many digests were checked."""
    snap_log = FileTxnSnapLog(data_dir, data_dir)
    loaded = snap_log.snap_log.deserialize(DataTree)
    tree = loaded.tree if loaded is not None else DataTree()
    checked = 0
    for entry in snap_log.txn_log.read(tree.last_processed_zxid + 1):
        tree.process_txn(entry.header, entry.txn, entry.digest)
        checked += entry.digest is not None and entry.digest.version == DIGEST_VERSION
    snap_log.close()
    return tree, checked


@pytest.mark.skipif(not reference_available(), reason="Apache ZooKeeper 3.8 (Debian) is not installed")
async def test_our_tree_reaches_the_digests_zookeeper_logged(tmp_path: Path) -> None:
    async with lab.reference() as ref:
        zk = await asyncio.to_thread(_write_sample, ref.connect_string)
        await asyncio.to_thread(zk.stop)
        await asyncio.to_thread(zk.close)
        await ref.stop()
        shutil.copytree(ref.data_dir / "version-2", tmp_path / "version-2")
    tree, checked = replay_checking_every_digest(tmp_path)
    assert checked >= 10, "ZooKeeper logged a digest after every successful txn"
    assert tree.digest_mismatches == 0


async def test_our_server_logs_digests_its_tree_agrees_with(tmp_path: Path) -> None:
    """Prep computes each txn's digest before the txn is applied (from its change
    records); replaying the log must reach each one."""
    async with lab.server(keep=True, root=tmp_path) as s:
        zk = await asyncio.to_thread(_write_sample, s.connect_string)
        await asyncio.to_thread(zk.stop)
        await asyncio.to_thread(zk.close)
        await s.stop()
        data_dir = s.data_dir
    for snap in (data_dir / "version-2").glob("snapshot.*"):
        if snap.name != "snapshot.0":
            snap.unlink()  # replay the whole log from the empty start-up snapshot
    tree, checked = replay_checking_every_digest(data_dir)
    assert checked >= 10
    assert tree.digest_mismatches == 0
