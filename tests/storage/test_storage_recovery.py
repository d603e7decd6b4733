"""FileTxnSnapLog on real files: restore, damage, holes, the ordering of a snapshot.

The scenarios are ZooKeeper's own storage bugs (see /work/shared/zab-regressions.md,
"Storage and limits" and "Fuzzy snapshots"), each named in its test.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from storage_helpers import SESSION, DataDir, create, session, set_data, tree_dump

from zk.data import DataTree
from zk.jute.records import CloseSessionTxn, DeleteTxn, TxnHeader
from zk.protocol.constants import OpCode
from zk.storage import DatadirException, FileTxnSnapLog, LogCorruptError
from zk.storage.log_format import FILE_HEADER_SIZE


def _restore(d: DataDir, **kwargs: object) -> tuple[FileTxnSnapLog, DataTree, dict[int, int]]:
    fs = d.reopen() if not kwargs else FileTxnSnapLog(d.root, **{**d.kwargs, **kwargs})  # type: ignore[arg-type]
    result = fs.restore(DataTree)
    return fs, result.tree, result.sessions


def _logs(d: DataDir) -> list[str]:
    return sorted(p.name for p in d.log_dir.iterdir() if p.name.startswith("log."))


def test_restore_is_the_snapshot_plus_the_log_after_it(data_dir: DataDir) -> None:
    """FileTxnSnapLog.restore: the newest snapshot, then fastForwardFromEdits."""
    d = data_dir
    d.fs.save(d.tree, d.sessions)  # snapshot.0, as a new server writes
    d.log(session(1), create(2, "/a", b"1"), create(3, "/a/b", b"2"))
    d.log(set_data(4, "/a", b"3", 1))
    fs, tree, sessions = _restore(d)
    assert tree_dump(tree) == tree_dump(d.tree) and tree.last_processed_zxid == 4
    assert sessions == {SESSION: 30000}
    assert fs.get_last_logged_zxid() == 4


def test_a_new_log_file_starts_after_every_restart_and_roll(data_dir: DataDir) -> None:
    """FileTxnLog: the log rolls to log.<first zxid>; a restarted server never appends
    to an old file."""
    d = data_dir
    d.fs.save(d.tree, d.sessions)
    d.log(create(1, "/a"))
    d.fs.roll_log()
    d.log(create(2, "/b"))
    d.fs = d.reopen()
    d.log(create(3, "/c"))
    assert _logs(d) == ["log.1", "log.2", "log.3"]
    _, tree, _ = _restore(d)
    assert tree.last_processed_zxid == 3


def test_a_torn_tail_is_cut_and_logged(data_dir: DataDir, caplog: pytest.LogCaptureFixture) -> None:
    """A crash in the middle of a write: the last frame is cut off, the rest loads."""
    d = data_dir
    d.fs.save(d.tree, d.sessions)
    d.log(create(1, "/a"), create(2, "/b"))
    d.fs.close()
    log1 = d.log_dir / "log.1"
    data = log1.read_bytes()
    end = len(data.rstrip(b"\0"))
    with open(log1, "r+b") as f:  # tear the second frame: keep 10 of its bytes
        f.truncate(end - 5)
        f.truncate(len(data))
    d.fs = d.reopen()
    result = d.fs.restore(DataTree)
    assert result.tree.get_node("/a") is not None and result.tree.get_node("/b") is None
    assert result.repairs and "cut log.1" in result.repairs[0]
    assert "Cutting the torn tail" in caplog.text
    assert d.fs.restore(DataTree).repairs == [], "cut once: the next start finds a clean log"


def test_damage_in_the_middle_of_the_log_refuses_to_start(data_dir: DataDir) -> None:
    """A bad frame followed by good ones is not a torn write: cutting there would drop
    acknowledged txns, so restore refuses."""
    d = data_dir
    d.fs.save(d.tree, d.sessions)
    d.log(create(1, "/a"), create(2, "/b"), create(3, "/c"))
    d.fs.close()
    with open(d.log_dir / "log.1", "r+b") as f:
        f.seek(FILE_HEADER_SIZE + 30)
        f.write(b"\xff\xff")
    with pytest.raises(LogCorruptError, match="a valid record follows"):
        _restore(d)


def test_a_newest_log_without_header_is_removed(data_dir: DataDir) -> None:
    """ZOOKEEPER-1621: a crash after creating a log file, before its header."""
    d = data_dir
    d.fs.save(d.tree, d.sessions)
    d.log(create(1, "/a"))
    (d.log_dir / "log.2").write_bytes(b"")
    _fs, tree, _ = _restore(d)
    assert tree.last_processed_zxid == 1 and _logs(d) == ["log.1"]


def test_a_missing_middle_log_file_is_an_error_not_a_hole(data_dir: DataDir) -> None:
    """The 2025 dev@ report: replay only checked for zxids going back, so a deleted
    middle file left a silent hole. Every zxid must follow the one before."""
    d = data_dir
    d.fs.save(d.tree, d.sessions)
    d.log(create(1, "/a"))
    d.fs.roll_log()
    d.log(create(2, "/b"))
    d.fs.roll_log()
    d.log(create(3, "/c"))
    (d.log_dir / "log.2").unlink()
    with pytest.raises(LogCorruptError, match=r"0x3 in log\.3 follows 0x1"):
        _restore(d)


def test_logs_without_any_snapshot_are_refused_unless_trusted(data_dir: DataDir) -> None:
    """ZOOKEEPER-2325/-3056: no snapshot but log entries → refuse, unless
    zookeeper.snapshot.trust.empty."""
    d = data_dir
    d.log(create(1, "/a"))
    with pytest.raises(DatadirException, match="No snapshot found, but there are log entries"):
        _restore(d)
    _, tree, _ = _restore(d, trust_empty_snapshot=True)
    assert tree.get_node("/a") is not None


def test_an_empty_directory_is_an_empty_tree(data_dir: DataDir) -> None:
    _, tree, sessions = _restore(data_dir)
    assert tree.last_processed_zxid == 0 and sessions == {}


def test_a_corrupt_newest_snapshot_is_skipped_for_the_one_before(
    data_dir: DataDir, caplog: pytest.LogCaptureFixture
) -> None:
    """FileSnap.deserialize: an invalid snapshot is logged and the next older one is
    used; the log after *that* one brings the tree back to the end."""
    d = data_dir
    d.fs.save(d.tree, d.sessions)
    d.log(create(1, "/a", b"1"), create(2, "/b", b"2"))
    newest = d.fs.save(d.tree, d.sessions)
    d.log(create(3, "/c"))
    data = bytearray(newest.read_bytes())
    data[len(data) // 2] ^= 0xFF
    newest.write_bytes(bytes(data))
    fs = d.reopen()
    result = fs.restore(DataTree)
    assert result.snapshot == "snapshot.0" and result.skipped_snapshots == ["snapshot.2"]
    assert tree_dump(result.tree) == tree_dump(d.tree)
    assert "problem reading snap file snapshot.2" in caplog.text


def test_snapshots_of_which_none_loads_are_a_start_up_error(data_dir: DataDir) -> None:
    """Never a silently empty tree."""
    d = data_dir
    snap = d.fs.save(d.tree, d.sessions)
    snap.write_bytes(snap.read_bytes()[:-1])
    with pytest.raises(DatadirException, match="Not able to find valid snapshots"):
        _restore(d)


def test_a_snapshot_is_fsynced_before_it_gets_its_name(data_dir: DataDir, monkeypatch: pytest.MonkeyPatch) -> None:
    """ZOOKEEPER-2310: a snapshot counts only once its bytes are on disk. The order
    is: write tmp.snapshot.N, fsync it, rename to snapshot.N, fsync the directory."""
    d = data_dir
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync-dir" if os.path.isdir(f"/proc/self/fd/{fd}") else "fsync-file")
        real_fsync(fd)

    def replace(src: str | Path, dst: str | Path) -> None:
        assert not Path(dst).exists()
        events.append(f"rename {Path(src).name} -> {Path(dst).name}")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    d.fs.save(d.tree, d.sessions)
    assert events == ["fsync-file", "rename tmp.snapshot.0 -> snapshot.0", "fsync-dir"]


def test_an_unrenamed_snapshot_is_invisible(data_dir: DataDir) -> None:
    """A crash before the rename leaves tmp.snapshot.N, which no reader takes for a
    snapshot (Util.getZxidFromName needs the "snapshot." prefix)."""
    d = data_dir
    d.fs.save(d.tree, d.sessions)
    d.log(create(1, "/a"))
    (d.fs.snap_dir / "tmp.snapshot.1").write_bytes(b"half written")
    result = d.reopen().restore(DataTree)
    assert result.snapshot == "snapshot.0" and result.tree.get_node("/a") is not None


def test_truncate_keeps_txns_up_to_the_zxid_and_deletes_later_files(data_dir: DataDir) -> None:
    """FileTxnLog.truncate, for TRUNC sync."""
    d = data_dir
    d.fs.save(d.tree, d.sessions)
    d.log(create(1, "/a"), create(2, "/b"), create(3, "/c"))
    d.fs.roll_log()
    d.log(create(4, "/d"))
    d.fs.truncate_log(2)
    assert _logs(d) == ["log.1"]
    _, tree, _ = _restore(d)
    assert tree.last_processed_zxid == 2 and tree.get_node("/c") is None


async def test_a_fuzzy_snapshot_plus_replay_is_the_tree(data_dir: DataDir) -> None:
    """Replaying txns over a snapshot that already holds some of them gives the same
    tree (ZOOKEEPER-3144/-3145/-3249/-1046, -1573): here every txn after the
    snapshot's zxid is applied *while* the snapshot is written, a slice at a time."""
    d = data_dir
    d.fs.save(d.tree, d.sessions)
    d.log(session(1))
    for z in range(2, 60):
        d.create(z, f"/n{z}", b"v")
    snapshotting = asyncio.ensure_future(d.fs.save_fuzzy(d.tree, dict(d.sessions), slice_nodes=5))
    zxid = 60
    while not snapshotting.done():
        # delete and re-create, children under new parents
        d.log((TxnHeader(SESSION, zxid, zxid, 0, OpCode.delete), DeleteTxn(f"/n{zxid - 58}")))
        d.create(zxid + 1, f"/n{zxid - 58}", b"again")
        d.create(zxid + 2, f"/p{zxid}")
        d.create(zxid + 3, f"/p{zxid}/child")
        zxid += 4
        await asyncio.sleep(0)
    await snapshotting
    assert zxid > 60, "txns were applied while the snapshot was written"
    d.create(zxid, "/eph", ephemeral=True)
    d.log((TxnHeader(SESSION, 0, zxid + 1, 0, OpCode.closeSession), CloseSessionTxn(["/eph"])))
    fs = d.reopen()
    result = fs.restore(DataTree)
    assert result.snapshot is not None and result.snapshot != "snapshot.0"
    assert tree_dump(result.tree) == tree_dump(d.tree)
    assert result.sessions == {}


def test_purge_keeps_n_snapshots_and_the_logs_the_oldest_needs(data_dir: DataDir) -> None:
    """PurgeTxnLog.purgeOlderSnapshots: the log that holds the txn after the oldest
    kept snapshot stays, even though its name is older."""
    from zk.storage.purge import plan_purge, purge

    assert plan_purge(
        ["snapshot.a0", "snapshot.70", "snapshot.40"],
        ["snapshot.10", "snapshot.40", "snapshot.70", "snapshot.a0"],
        ["log.1", "log.35", "log.62", "log.91"],
    ) == ["log.1", "snapshot.10"]
    d = data_dir
    d.fs.save(d.tree, d.sessions)
    for z in range(1, 6):
        d.fs.roll_log()
        d.log(create(z, f"/n{z}"))
        d.fs.save(d.tree, d.sessions)
    deleted = purge(d.fs, 3)
    assert deleted == ["log.1", "log.2", "snapshot.0", "snapshot.1", "snapshot.2"]
    _, tree, _ = _restore(d)
    assert tree_dump(tree) == tree_dump(d.tree)
