"""PurgeTxnLog: delete the snapshots and logs a restart can no longer need.

Keep the ``n`` newest valid snapshots (n >= 3). The oldest kept one, ``snapshot.Z``,
still needs every txn after Z, which lives in the log files from the newest one that
starts at or before Z on. Everything older than both goes::

    snapshot.10  snapshot.40  snapshot.70  snapshot.a0      n = 3: Z = 0x40
    log.1  log.35  log.62  log.91                           log.35 holds 0x41.. : kept
    deleted: snapshot.10, log.1

Only valid snapshots count (a damaged newest one would otherwise push out the older
one a restart falls back to), and a snapshot counts only after its fsync and rename
(FileSnap), so a purge never removes what the next start depends on.

Mirrors: org.apache.zookeeper.server.PurgeTxnLog (purge, purgeOlderSnapshots) and
DatadirCleanupManager (MIN_SNAP_RETAIN_COUNT = 3; the timer lives in the server).
"""

from __future__ import annotations

import logging

from zk.storage.file_txn_log import get_log_files
from zk.storage.file_txn_snap_log import FileTxnSnapLog
from zk.storage.util import LOG_FILE_PREFIX, SNAPSHOT_FILE_PREFIX, get_zxid_from_name

__all__ = ["MIN_SNAP_RETAIN_COUNT", "plan_purge", "purge"]

log = logging.getLogger(__name__)

MIN_SNAP_RETAIN_COUNT = 3


def plan_purge(snapshots_kept: list[str], snap_names: list[str], log_names: list[str]) -> list[str]:
    """The names to delete, given the valid snapshots to keep (newest first). A core.

    Mirrors: PurgeTxnLog.purgeOlderSnapshots.
    """
    if not snapshots_kept:
        return []
    least = get_zxid_from_name(snapshots_kept[-1], SNAPSHOT_FILE_PREFIX)
    retained_logs = set(get_log_files(log_names, least))
    doomed = [n for n in log_names if n not in retained_logs and -1 < get_zxid_from_name(n, LOG_FILE_PREFIX) < least]
    doomed += [n for n in snap_names if -1 < get_zxid_from_name(n, SNAPSHOT_FILE_PREFIX) < least]
    return sorted(doomed)


def purge(snap_log: FileTxnSnapLog, snap_retain_count: int = MIN_SNAP_RETAIN_COUNT) -> list[str]:
    """Delete what ``plan_purge`` says; returns the names deleted. Blocking.

    Mirrors: PurgeTxnLog.purge.
    """
    if snap_retain_count < MIN_SNAP_RETAIN_COUNT:
        raise ValueError(f"snapRetainCount must be at least {MIN_SNAP_RETAIN_COUNT}, got {snap_retain_count}")
    kept = snap_log.snap_log.find_n_valid_snapshots(snap_retain_count)
    if len(kept) < snap_retain_count:
        return []  # fewer snapshots than we keep: nothing is old enough
    snap_names = [p.name for p in snap_log.snap_dir.iterdir()]
    log_names = [p.name for p in snap_log.log_dir.iterdir()]
    doomed = plan_purge(kept, snap_names, log_names)
    for name in doomed:
        directory = snap_log.log_dir if name.startswith(LOG_FILE_PREFIX + ".") else snap_log.snap_dir
        log.info("Removing file: %s", directory / name)
        (directory / name).unlink(missing_ok=True)
    return doomed
