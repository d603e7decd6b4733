"""ZooKeeper's own storage bugs around fuzzy snapshots and the zxid a snapshot claims
(see /work/shared/zab-regressions.md), each replayed on a real data directory.

A *fuzzy* snapshot is written while txns go on being applied: the file is named after
the zxid the tree had when the walk began, and each node is saved as it is when the walk
reaches it. `_fuzzy_snapshot` drives our walk (zk.storage.snap_format.serialize_snapshot)
one node per slice and applies chosen txns between two nodes, so each test places its
txns exactly where ZooKeeper's bug needed them. Restoring (the snapshot, then the log
after its zxid) must give the tree the server had: `tree_dump` equal, Stat for Stat.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from chain_helpers import RecordingCnxn
from storage_helpers import OPEN, SESSION, DataDir, session, tree_dump

from zk.data import DataTree
from zk.jute.codec import Writer
from zk.jute.records import (
    CloseSessionTxn,
    CreateRequest,
    CreateSessionTxn,
    CreateTxn,
    DeleteTxn,
    MultiTxn,
    Txn,
    TxnHeader,
)
from zk.processors import Request
from zk.protocol.constants import OpCode
from zk.server import ServerConfig, ZooKeeperServer
from zk.startup.quorum_peer import read_epochs
from zk.storage import FileTxnSnapLog
from zk.storage.file_snap import FileSnap
from zk.storage.snap_format import serialize_snapshot

OTHER_SESSION = 0x2000002


def _fuzzy_snapshot(d: DataDir, between: dict[int, Callable[[], None]]) -> int:
    """Write a snapshot of `d.tree` a node at a time; after the n-th node is written run
    ``between[n]()`` (which logs and applies txns). Returns the snapshot's zxid. Nodes
    are written parents first, children in sorted order: ``/`` is node 1."""
    zxid = d.tree.last_processed_zxid
    tmp, fd = d.fs.snap_log.begin(zxid)
    for n, chunk in enumerate(serialize_snapshot(d.tree, dict(d.sessions), slice_nodes=1), start=1):
        FileSnap.write(fd, (chunk,))
        if n in between:
            between.pop(n)()
    assert not between, f"the walk ended before node(s) {sorted(between)}"
    d.fs.snap_log.finish(tmp, fd, zxid)
    return zxid


def _restored(d: DataDir) -> tuple[DataTree, dict[int, int], str | None]:
    fs = d.reopen()
    try:
        result = fs.restore(DataTree)
    finally:
        fs.close()
    return result.tree, result.sessions, result.snapshot


def _delete(zxid: int, path: str) -> tuple[TxnHeader, DeleteTxn]:
    return TxnHeader(SESSION, zxid, zxid, 1000 + zxid, OpCode.delete), DeleteTxn(path)


# --- ZOOKEEPER-1573 ----------------------------------------------------------------------


def test_ZOOKEEPER_1573_replaying_a_create_whose_parent_the_snapshot_lacks(data_dir: DataDir) -> None:
    """A snapshot at 2 begins; before its walk reaches /a, /a/b is created (3) and
    deleted (4) and /a is deleted (5): the snapshot holds neither. Replay applies 3, a
    create under a parent that is not there. ZooKeeper 3.4 treated that NONODE as a
    corrupt log and refused to load the database at all. Ours: replay goes on and the
    tree comes out as the server had it (FileTxnSnapLog.process_transaction ignores the
    txn's error; DataTree.delete_node still moves the parent's pzxid).
    """
    d = data_dir
    d.log(session(1))
    d.create(2, "/a")
    snap_zxid = _fuzzy_snapshot(
        d, {1: lambda: (d.create(3, "/a/b"), d.log(_delete(4, "/a/b")), d.log(_delete(5, "/a")))}
    )
    assert snap_zxid == 2
    tree, sessions, snapshot = _restored(d)
    assert snapshot == "snapshot.2"
    assert tree.get_node("/a") is None
    assert tree_dump(tree) == tree_dump(d.tree)
    assert tree.last_processed_zxid == 5 and sessions == {SESSION: 30000}


# --- ZOOKEEPER-3145 ----------------------------------------------------------------------


def test_ZOOKEEPER_3145_a_replayed_close_session_moves_the_pzxid_of_an_unsaved_ephemeral(data_dir: DataDir) -> None:
    """The session owns /a/e; a snapshot at 3 saves /a, then the session closes (4) and
    /a/e goes before the walk reaches it. On replay the tree knows no ephemeral of that
    session, so ZooKeeper's closeSession deleted nothing and /a kept the pzxid 3 instead
    of 4: a client's child watch set against the stale pzxid missed the change. Ours:
    the CloseSessionTxn lists the paths (PrepRequestProcessor._p_close_session), and
    DataTree.kill_session deletes those; DataTree.delete_node moves the parent's pzxid
    even when the child is already gone.
    """
    d = data_dir
    d.log(session(1))
    d.create(2, "/a")
    d.create(3, "/a/e", ephemeral=True)
    close = (TxnHeader(SESSION, 0, 4, 1004, OpCode.closeSession), CloseSessionTxn(["/a/e"]))
    _fuzzy_snapshot(d, {2: lambda: d.log(close)})  # node 2 is /a
    a = d.tree.get_node("/a")
    assert a is not None and a.stat.pzxid == 4
    tree, sessions, _ = _restored(d)
    restored_a = tree.get_node("/a")
    assert restored_a is not None and restored_a.stat.pzxid == 4, "the close's pzxid was lost on replay"
    assert tree_dump(tree) == tree_dump(d.tree)
    assert sessions == {}


# --- ZOOKEEPER-3249 ----------------------------------------------------------------------


def test_ZOOKEEPER_3249_a_replayed_delete_never_moves_the_pzxid_back(data_dir: DataDir) -> None:
    """A snapshot at 3 begins; before it reaches /a, /a/b is deleted (4) and /a/c
    created (5): /a is saved with pzxid 5. Replaying the delete at 4 must not set the
    pzxid back to 4 (and the create at 5 finds /a/c there, NODEEXISTS, changing
    nothing). ZooKeeper set the parent's cversion and pzxid unconditionally on replay,
    so they went backwards. Ours: DataTree.delete_node and DataTree.create_node only
    ever raise them.
    """
    d = data_dir
    d.log(session(1))
    d.create(2, "/a")
    d.create(3, "/a/b")
    _fuzzy_snapshot(d, {1: lambda: (d.log(_delete(4, "/a/b")), d.create(5, "/a/c"))})
    tree, _, _ = _restored(d)
    a = tree.get_node("/a")
    assert a is not None and a.stat.pzxid == 5
    assert tree_dump(tree) == tree_dump(d.tree)


def test_ZOOKEEPER_3249_a_create_with_an_older_parent_cversion_never_lowers_it() -> None:
    """The rule itself, on a bare tree (the scenario of DataTreeTest.testNoCversionRevert):
    replaying a create whose txn carries a parent cversion below the parent's current
    one leaves the parent's cversion and pzxid where they are (DataTree.create_node)."""
    tree = DataTree()
    root = tree.get_node("")
    assert root is not None
    tree.create_node("/test", b"", OPEN, 0, root.stat.cversion + 1, 1, 1)
    root = tree.get_node("")
    assert root is not None
    cversion, pzxid = root.stat.cversion, root.stat.pzxid
    tree.create_node("/test1", b"", OPEN, 0, cversion - 1, 2, 2)
    root = tree.get_node("")
    assert root is not None
    assert (root.stat.cversion, root.stat.pzxid) >= (cversion, pzxid)
    assert root.stat.cversion >= cversion and root.stat.pzxid >= pzxid


# --- ZOOKEEPER-1046 ----------------------------------------------------------------------


def test_ZOOKEEPER_1046_a_replayed_create_that_finds_its_node_raises_the_parents_cversion(
    data_dir: DataDir,
) -> None:
    """/q/lock is the ephemeral of session 1. A snapshot at 4 saves /q; then session 1
    closes (5, an old-format closeSession without its paths, as 3.5 and older logged
    it) and session 2 creates /q/lock again (6); the walk then saves session 2's node.
    On replay the close finds no ephemeral of session 1 and the create hits NODEEXISTS,
    so ZooKeeper left /q's cversion at 1: the next sequential child of /q was given a
    suffix already used, and its create failed with NODEEXISTS. Ours: DataTree's
    process_txn raises the parent's cversion and pzxid from the txn on NODEEXISTS
    (DataTree.set_cversion_pzxid).
    """
    d = data_dir
    d.log(session(1))
    d.log((TxnHeader(OTHER_SESSION, 0, 2, 1002, OpCode.createSession), CreateSessionTxn(30000)))
    d.create(3, "/q")
    d.create(4, "/q/lock", ephemeral=True)
    recreate = (TxnHeader(OTHER_SESSION, 1, 6, 1006, OpCode.create), CreateTxn("/q/lock", b"", OPEN, True, 2))

    def close_and_recreate() -> None:
        d.log((TxnHeader(SESSION, 0, 5, 1005, OpCode.closeSession), None))
        d.log(recreate)

    _fuzzy_snapshot(d, {2: close_and_recreate})  # node 2 is /q
    q = d.tree.get_node("/q")
    lock = d.tree.get_node("/q/lock")
    assert q is not None and q.stat.cversion == 2
    assert lock is not None and lock.stat.ephemeralOwner == OTHER_SESSION
    tree, _, _ = _restored(d)
    restored_q = tree.get_node("/q")
    assert restored_q is not None
    assert restored_q.stat.cversion == 2, "the next sequential suffix would repeat one already used"
    assert tree_dump(tree) == tree_dump(d.tree)


# --- ZOOKEEPER-3127 ----------------------------------------------------------------------


def _multi(zxid: int, creates: list[tuple[str, int]]) -> tuple[TxnHeader, MultiTxn]:
    """A multi of creates ``(path, parent cversion)``, as Prep writes it."""
    subs = []
    for p, parent_cversion in creates:
        w = Writer()
        CreateTxn(p, b"", OPEN, False, parent_cversion).encode(w)
        subs.append(Txn(OpCode.create, w.getvalue()))
    return TxnHeader(SESSION, zxid, zxid, 1000 + zxid, OpCode.multi), MultiTxn(subs)


def test_ZOOKEEPER_3127_a_snapshot_inside_a_multi_claims_the_zxid_before_it(data_dir: DataDir) -> None:
    """A multi at 3 creates /m1 and /m2; a snapshot is taken after /m1 is applied and
    before /m2. ZooKeeper moved lastProcessedZxid to 3 at the first sub-txn, so that
    snapshot was named 3 and replay skipped the multi: /m2 was lost. Ours: DataTree's
    _process_txn moves ``last_processed_zxid`` only once the whole txn is applied, so
    the snapshot is named 2 and replay applies the multi again.
    """
    d = data_dir
    d.log(session(1))
    d.create(2, "/base")
    real_create_node = d.tree.create_node
    snapshots: list[Path] = []

    def create_node(path: str, *args: object, **kwargs: object) -> object:
        if path == "/m2":  # between the multi's two sub-txns
            snapshots.append(d.fs.save(d.tree, dict(d.sessions)))
        return real_create_node(path, *args, **kwargs)  # type: ignore[arg-type]

    d.tree.create_node = create_node  # type: ignore[method-assign]
    root = d.tree.get_node("")
    assert root is not None
    d.log(_multi(3, [("/m1", root.stat.cversion + 1), ("/m2", root.stat.cversion + 2)]))
    assert d.tree.get_node("/m1") is not None and d.tree.get_node("/m2") is not None
    assert [p.name for p in snapshots] == ["snapshot.2"], "the snapshot claims a multi it holds in part"
    tree, _, snapshot = _restored(d)
    assert snapshot == "snapshot.2"
    assert tree.get_node("/m2") is not None, "replay skipped the rest of the multi"
    assert tree_dump(tree) == tree_dump(d.tree) and tree.last_processed_zxid == 3


# --- ZOOKEEPER-582 -----------------------------------------------------------------------


def _snapshot_only(data_dir: Path, zxid: int) -> None:
    """A data directory holding one snapshot at `zxid` (/old in it) and no log at all."""
    tree = DataTree()
    hdr = TxnHeader(SESSION, 1, zxid, 1000, OpCode.create)
    tree.process_txn(hdr, CreateTxn("/old", b"", OPEN, False, -1))
    fs = FileTxnSnapLog(data_dir)
    fs.save(tree, {})
    fs.close()


async def test_ZOOKEEPER_582_a_snapshot_without_logs_sets_the_epoch_and_the_next_zxid(tmp_path: Path) -> None:
    """A server holds only snapshot.1b00000005 (epoch 27) and no log file. ZooKeeper
    derived the last zxid from the logs alone, so it started logging at epoch 1: those
    txns sort before the snapshot, and a restart (snapshot, then the log after it)
    dropped them. Ours: the database's zxid is max(snapshot, log)
    (FileTxnSnapLog.restore), the next zxid follows it (ZooKeeperServer.next_zxid),
    and the epoch files default to its epoch (zk.startup.quorum_peer.read_epochs).
    """
    snap_zxid = 27 << 32 | 5
    _snapshot_only(tmp_path, snap_zxid)
    assert read_epochs(tmp_path / "version-2", snap_zxid) == (27, 27)

    zks = ZooKeeperServer(ServerConfig(data_dir=tmp_path, client_port=0, client_port_address="127.0.0.1"))
    await zks.start(listen=False)
    try:
        assert zks.db.tree.last_processed_zxid == snap_zxid
        sid = zks.session_tracker.create_session(30000, 0)
        zks.session_tracker.commit_session(sid, 30000)
        cnxn = RecordingCnxn(sid)
        zks.chain.submit(Request(sid, 1, OpCode.create, CreateRequest("/new", b"", OPEN, 0), cnxn))
        async with asyncio.timeout(5):
            while not cnxn.replies:
                await asyncio.sleep(0.01)
        assert cnxn.replies[0].err == 0 and cnxn.replies[0].zxid == snap_zxid + 1
    finally:
        await zks.stop()
    logged = [e.header.zxid for e in FileTxnSnapLog(tmp_path).txn_log.read(0)]
    assert logged == [snap_zxid + 1], "the first txn after the snapshot sorts after it"
    tree, _, snapshot = _restored_dir(tmp_path)
    assert snapshot == f"snapshot.{snap_zxid:x}"
    assert tree.get_node("/old") is not None and tree.get_node("/new") is not None, "a restart lost the write"


def _restored_dir(data_dir: Path) -> tuple[DataTree, dict[int, int], str | None]:
    fs = FileTxnSnapLog(data_dir)
    try:
        result = fs.restore(DataTree)
    finally:
        fs.close()
    return result.tree, result.sessions, result.snapshot
