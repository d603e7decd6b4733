"""The learner's side of sync: from DIFF / TRUNC / SNAP to UPTODATE.

::

    first packet  DIFF   nothing to load; the txns that follow go to the log
                  TRUNC  cut the log (and any snapshot past the cut), reload the tree
                  SNAP   read the snapshot off the stream, replace the tree
    then          PROPOSAL  kept in order (a hole is refused, ZOOKEEPER-4925)
                  COMMIT    before NEWLEADER after SNAP/TRUNC: applied to the tree
                            (the NEWLEADER snapshot will hold it); otherwise remembered
                  INFORM    (observers) as PROPOSAL + COMMIT
                  NEWLEADER its data, the leader's config string, read and logged;
                            the ordered steps below, then ACK
                  UPTODATE  serve
    after         ACK(newEpoch << 32); the chain starts; each proposal logged before
                  NEWLEADER is ACKed (ZOOKEEPER-4685: only after the NEWLEADER ACK); the
                  proposals that came after NEWLEADER are logged through the chain, which
                  ACKs each after its fsync; the remembered COMMITs are applied in order.

On NEWLEADER, in this order, before the ACK the leader counts towards its quorum:

1. after SNAP or TRUNC, write a snapshot of the tree and fsync it (ZOOKEEPER-3104,
   -3642: the synced state is on disk before anyone relies on it); after SNAP, then
   cut from the log (and drop any snapshot past) everything after the SNAP's zxid:
   those txns are this server's own, never the leader's, and a restart would replay
   them over the new snapshot (ZOOKEEPER-2832). Only after the snapshot is written, so
   a crash in between leaves the old history whole, and before step 2 appends;
2. append every proposal received so far to the log and fsync it (ZOOKEEPER-3911,
   -3023/-4646: synchronously, not through the asynchronous sync stage);
3. write ``currentEpoch`` (ZOOKEEPER-1264/-1282: on NEWLEADER, not on UPTODATE;
   ZOOKEEPER-4643: only after step 2, else a crash leaves a server that looks up to
   date for the new epoch without its txns);
4. send ACK(NEWLEADER's zxid).

``tests/sync/test_sync_learner.py`` breaks if any step moves.

Mirrors: org.apache.zookeeper.server.quorum.Learner.syncWithLeader (3.8.6, with the
ordering of ZOOKEEPER-4643's fix).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from zk.broadcast import Follower, Learner, Observer, PacketType, QuorumWireError, packet, packet_to_string
from zk.broadcast.learner import request_from_txn
from zk.broadcast.packets import decode_txn
from zk.data import DataTree
from zk.election.quorum import QuorumVerifier, config_from_string
from zk.processors import Request, ZKDatabase
from zk.processors.quorum_chains import FollowerChain, ObserverChain
from zk.storage.file_txn_log import fsync_dir
from zk.storage.util import LOG_FILE_PREFIX, SNAPSHOT_FILE_PREFIX, get_zxid_from_name, is_snapshot_file_name
from zk.sync.snapshot import load_wire_snapshot, read_wire_snapshot

__all__ = ["new_leader_config", "sync_with_leader"]

log = logging.getLogger(__name__)


def cut_history_past(db: ZKDatabase, zxid: int) -> None:
    """After a SNAP at `zxid` is on disk: remove every logged txn after `zxid` and every
    snapshot named after it. Blocking.

    ZOOKEEPER-2832: a follower that logged an uncommitted 2:1 and then receives a SNAP
    at 1:2 writes snapshot.100000002; its next restart loads that snapshot and replays
    the log after it, 2:1 included, a txn no quorum committed. Java leaves the log as
    it is (the bug is open in 3.8/3.9).
    """
    snap_log = db.snap_log
    if snap_log is None:
        return
    txn_log = snap_log.txn_log
    if any(e.header.zxid > zxid for e in txn_log.read(zxid + 1)):
        log.warning("Removing the txns logged after the snapshot's 0x%x (ZOOKEEPER-2832)", zxid)
        snap_log.close()
        for name in txn_log.log_names():
            if get_zxid_from_name(name, LOG_FILE_PREFIX) > zxid:  # a whole file past the cut
                (txn_log.log_dir / name).unlink()
        if any(e.header.zxid > zxid for e in txn_log.read(zxid + 1)):
            snap_log.truncate_log(zxid)  # the file that holds zxid, cut right after it
        fsync_dir(txn_log.log_dir)
    for path in snap_log.snap_dir.iterdir():
        if is_snapshot_file_name(path.name) and get_zxid_from_name(path.name, SNAPSHOT_FILE_PREFIX) > zxid:
            log.warning("Removing snapshot %s: it is past the SNAP's 0x%x", path.name, zxid)
            path.unlink()


def new_leader_config(data: bytes | None) -> QuorumVerifier | None:
    """NEWLEADER's data as the leader's verifier; None if it has none (a pre-1.0 leader,
    or 3.8's null) or it does not parse.

    A config that does not parse is logged and the sync goes on: 3.8 prints the
    exception and carries on too. What 3.8 does with a good one, setLastSeenQuorumVerifier,
    stores nothing and writes no zoo.cfg.dynamic.next while reconfigEnabled=false (its
    default; we have no reconfig), so we only log it and the learner keeps it, as
    syncWithLeader keeps newLeaderQV for UPTODATE (where processReconfig then returns).
    """
    if data is None or len(data) <= 1:  # 3.8 reads it only when longer than 1 byte
        return None
    text = data.decode("utf-8", errors="replace")  # new String(data, UTF_8)
    try:
        qv = config_from_string(text)
    except ValueError as e:
        log.warning("The leader's config in NEWLEADER does not parse, going on without it: %s: %r", e, text)
        return None
    log.info("NEWLEADER carries the leader's config, version %x: %r", qv.version & 0xFFFFFFFFFFFFFFFF, text)
    log.info("Dynamic reconfig is disabled, we don't store the last seen config.")
    return qv


async def sync_with_leader(learner: Learner, new_leader_zxid: int) -> None:
    """Learner.syncWithLeader: bring the database up to the leader, then serve.

    Raises:
        QuorumWireError: a packet out of place, a hole, a bad snapshot: resync.
    """
    peer = learner.peer
    db = learner.db
    new_epoch = new_leader_zxid >> 32

    def make_tree() -> DataTree:
        return DataTree(extended_types_enabled=learner.config.extended_types_enabled)

    snapshot_needed = True
    snap_zxid: int | None = None  # the zxid of a SNAP: the log past it is not the leader's
    qp = await learner.read_packet()
    if qp.type == PacketType.DIFF:
        log.info("Getting a diff from the leader 0x%x", qp.zxid)
        snapshot_needed = False
    elif qp.type == PacketType.SNAP:
        log.info("Getting a snapshot from leader 0x%x", qp.zxid)
        learner.sync_mode = "SNAP"  # until the snapshot is on disk (ZOOKEEPER-3642)
        assert learner.reader is not None
        raw = await read_wire_snapshot(learner.reader, peer.max_buffer)
        tree = make_tree()
        db.sessions = load_wire_snapshot(raw, tree)
        tree.last_processed_zxid = qp.zxid
        snap_zxid = qp.zxid
        db.tree = tree
        db.committed_log.clear()
    elif qp.type == PacketType.TRUNC:
        log.warning("Truncating log to get in sync with the leader 0x%x", qp.zxid)
        await asyncio.to_thread(db.truncate_log, qp.zxid, make_tree)
        if db.tree.last_processed_zxid != qp.zxid:
            raise QuorumWireError(
                f"Not able to truncate the log to 0x{qp.zxid:x}: the log ends at 0x{db.tree.last_processed_zxid:x}"
            )
    else:
        raise QuorumWireError(f"Got unexpected packet from leader: {packet_to_string(qp)}")
    if learner.tracer.enabled:
        learner.tracer.emit("sync.learner.first", **{"from": f"s{learner.leader_id}"},
                            kind=PacketType(qp.type).name, zxid=qp.zxid)  # fmt: skip
    zks = learner.make_server()  # its session tracker starts from the synced sessions
    chain = zks.chain
    assert isinstance(chain, FollowerChain)
    is_follower = isinstance(learner, Follower) and not isinstance(chain, ObserverChain)

    packets_not_committed: deque[Request] = deque()
    packets_committed: deque[int] = deque()
    requests_to_ack: list[Request] = []
    write_to_txn_log = not snapshot_needed
    seen_newleader = False
    while True:
        qp = await learner.read_packet()
        t = qp.type
        if t == PacketType.PROPOSAL:
            entry = decode_txn(qp, peer.max_buffer)
            learner.check_continuity(entry.header.zxid)
            packets_not_committed.append(request_from_txn(entry, qp.data))
        elif t == PacketType.COMMIT:
            if not write_to_txn_log:
                head = packets_not_committed[0] if packets_not_committed else None
                if head is None or head.zxid != qp.zxid:
                    log.warning("Committing 0x%x, but next proposal is %s", qp.zxid,
                                f"0x{head.zxid:x}" if head else "none")  # fmt: skip
                else:
                    zks.final.apply_request(packets_not_committed.popleft())
            else:
                packets_committed.append(qp.zxid)
        elif t == PacketType.INFORM:
            entry = decode_txn(qp, peer.max_buffer)
            learner.check_continuity(entry.header.zxid)
            request = request_from_txn(entry, qp.data)
            if not write_to_txn_log:
                zks.final.apply_request(request)
            else:
                packets_not_committed.append(request)
                packets_committed.append(qp.zxid)
        elif t == PacketType.NEWLEADER:
            log.info("Learner received NEWLEADER message")
            qv = new_leader_config(qp.data)
            if qv is not None:
                learner.new_leader_qv = qv
                if learner.tracer.enabled and qp.data is not None:
                    text = qp.data.decode("utf-8", errors="replace")  # as received, not re-rendered
                    learner.tracer.emit("sync.newleader.config", **{"from": f"s{learner.leader_id}"},
                                        version=qv.version, config=text)  # fmt: skip
            # 1. the synced state on disk first (ZOOKEEPER-3104, -3642)
            if snapshot_needed:
                sessions = zks.session_tracker.sessions_with_timeouts()
                await asyncio.to_thread(db.take_snapshot, sessions)
                if snap_zxid is not None:  # after the snapshot, before step 2 (ZOOKEEPER-2832)
                    await asyncio.to_thread(cut_history_past, db, snap_zxid)
            learner.sync_mode = None  # the synced tree is on disk now
            write_to_txn_log = True
            learner.read_timeout = peer.sync_limit * peer.tick_time / 1000
            # 2. every proposal so far in the log, fsynced (ZOOKEEPER-3911, -4646)
            if is_follower:
                for request in packets_not_committed:
                    db.append(request)
                    chain.pending_txns.append(request)
                    requests_to_ack.append(request)
                await asyncio.to_thread(db.commit)
                log.info("%d txns have been persisted", len(packets_not_committed))
                packets_not_committed.clear()
            # 3. the epoch only now (ZOOKEEPER-1264, -4643)
            peer.set_current_epoch(new_epoch)
            log.info("Set the current epoch to %d", new_epoch)
            # 4. then the ACK that counts towards the leader's quorum
            learner.write_packet(packet(PacketType.ACK, new_leader_zxid))
            await learner.flush()
            seen_newleader = True
            if learner.tracer.enabled:
                learner.tracer.emit("sync.newleader.acked", to=f"s{learner.leader_id}", zxid=new_leader_zxid)
        elif t == PacketType.UPTODATE:
            log.info("Learner received UPTODATE message")
            if not seen_newleader:  # a pre-Zab-1.0 leader: snapshot and epoch now
                await asyncio.to_thread(db.take_snapshot, zks.session_tracker.sessions_with_timeouts())
                if snap_zxid is not None:
                    await asyncio.to_thread(cut_history_past, db, snap_zxid)
                learner.sync_mode = None
                peer.set_current_epoch(new_epoch)
            break
        elif t == PacketType.PING:
            pass  # the leader pings from NEWLEADER on; the answer waits for our server
        else:
            raise QuorumWireError(f"unexpected packet during sync: {packet_to_string(qp)}")

    learner.write_packet(packet(PacketType.ACK, new_epoch << 32))
    await zks.start(listen=False)
    peer.update_election_vote(new_epoch)
    if is_follower:
        for request in requests_to_ack:  # ZOOKEEPER-4685: after the NEWLEADER ACK
            learner.send_ack(request.zxid)
        for request in packets_not_committed:
            chain.log_request(request)  # ACKed by the chain after the fsync
        for zxid in packets_committed:
            chain.commit(zxid)
    elif isinstance(learner, Observer):
        assert isinstance(chain, ObserverChain)
        for request in packets_not_committed:
            if packets_committed and packets_committed[0] == request.zxid:
                packets_committed.popleft()
                chain.commit_request(request)
            else:
                log.warning("Committing 0x%x, but next proposal is 0x%x",
                            packets_committed[0] if packets_committed else -1, request.zxid)  # fmt: skip
    await learner.flush()
    peer.set_serving(zks)
    if learner.tracer.enabled:
        learner.tracer.emit("sync.learner.serving", epoch=new_epoch, zxid=db.tree.last_processed_zxid)
