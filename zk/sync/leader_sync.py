"""The leader's side of sync: plan, queue, start forwarding, all in one step.

Between the plan and Leader.start_forwarding no other code runs (one event-loop step,
no await): the proposals queued from the committed log and the ones forwarded after
them meet without a hole or an overlap, and a snapshot taken in the same step holds
exactly the txns up to ``forward_from``.

Mirrors: LearnerHandler.syncFollower (with its read lock on the committed log).
"""

from __future__ import annotations

import logging

from zk.broadcast import LearnerHandler, PacketType, packet
from zk.broadcast.packets import encode_txn
from zk.storage.util import TxnLogEntry
from zk.sync.plan import SyncKind, SyncPlan, plan_sync
from zk.sync.snapshot import serialize_wire_snapshot

__all__ = ["TXNLOG_SYNC_LIMIT", "sync_follower"]

log = logging.getLogger(__name__)

TXNLOG_SYNC_LIMIT = 100_000
"""Most txns read from the on-disk log for one DIFF; beyond it a snapshot is cheaper
(ZooKeeper bounds it by size: zookeeper.snapshotSizeFactor)."""


def _txn_log_from(handler: LearnerHandler, peer_last_zxid: int) -> list[TxnLogEntry] | None:
    snap_log = handler.leader.server.db.snap_log
    if snap_log is None:
        return None
    entries: list[TxnLogEntry] = []
    try:
        for entry in snap_log.txn_log.read(peer_last_zxid):
            if not entries and entry.header.zxid != peer_last_zxid:
                return None  # the log does not hold the learner's zxid: no DIFF from it
            entries.append(entry)
            if len(entries) > TXNLOG_SYNC_LIMIT:
                return None
    except OSError as e:
        log.warning("Cannot read the txn log for sync: %s", e)
        return None
    return entries or None


def sync_follower(handler: LearnerHandler, peer_last_zxid: int) -> bytes | None:
    """Queue DIFF or TRUNC and the txns the learner lacks, start forwarding, and return
    the wire snapshot to send instead if the plan is SNAP."""
    leader = handler.leader
    zks = leader.server
    db = zks.db
    committed = {e.header.zxid: e for e in db.committed_log}
    last_processed = db.tree.last_processed_zxid
    txn_log: list[TxnLogEntry] | None = None
    if committed and peer_last_zxid < db.min_committed_log:
        txn_log = _txn_log_from(handler, peer_last_zxid)
    plan = plan_sync(
        peer_last_zxid, last_processed, list(committed),
        [e.header.zxid for e in txn_log] if txn_log else None,
    )  # fmt: skip
    log.info("Synchronizing with Learner sid: %d maxCommittedLog=0x%x minCommittedLog=0x%x lastProcessedZxid=0x%x "
             "peerLastZxid=0x%x: %s 0x%x, %d txns (%s)", handler.sid, db.max_committed_log, db.min_committed_log,
             last_processed, peer_last_zxid, plan.kind.value, plan.zxid, len(plan.proposals), plan.why)  # fmt: skip
    if handler.tracer.enabled:
        handler.tracer.emit("sync.plan", to=f"s{handler.sid}", kind=plan.kind.value, zxid=plan.zxid,
                            peer=peer_last_zxid, txns=len(plan.proposals), why=plan.why)  # fmt: skip
    _queue_plan(handler, plan, committed, txn_log or [])
    leader.start_forwarding(handler, plan.forward_from)
    if plan.kind is SyncKind.SNAP:
        return serialize_wire_snapshot(db.tree, zks.session_tracker.sessions_with_timeouts())
    return None


def _queue_plan(
    handler: LearnerHandler, plan: SyncPlan, committed: dict[int, TxnLogEntry], txn_log: list[TxnLogEntry]
) -> None:
    if plan.kind is SyncKind.SNAP:
        return
    handler.queue_packet(packet(PacketType.DIFF if plan.kind is SyncKind.DIFF else PacketType.TRUNC, plan.zxid))
    on_disk = {e.header.zxid: e for e in txn_log}
    for zxid in plan.proposals:
        entry = committed.get(zxid) or on_disk[zxid]
        handler.queue_packet(packet(PacketType.PROPOSAL, zxid, encode_txn(entry)))
        handler.queue_packet(packet(PacketType.COMMIT, zxid))
