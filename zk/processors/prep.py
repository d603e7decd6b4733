"""PrepRequestProcessor: where a write becomes a transaction.

The first stage of every chain. For a read it only checks the session. For a write it
does every check that can fail (path, ACL, version, parent, existence), assigns the next
zxid, and turns the request into a *transaction*: a TxnHeader plus a txn record that
says exactly what to do, with every decision already made (the sequential suffix, the
parent's new cversion, the new version). A transaction can then be logged, replicated and
applied on any server with the same result, and applying it never fails.

A write that fails a check still becomes a transaction: type ``error`` with an ErrorTxn
carrying the code. It takes a zxid and is logged like any other, so that every server
sees the same sequence.

Checks run against ``ChangeRecord`` s, not the tree alone: transactions already prepared
but not yet applied by FinalRequestProcessor (they may be waiting for an fsync) must be
visible to the next request. ``outstanding_changes`` holds them, newest per path in
``outstanding_changes_for_path``; Final drops them as it applies each zxid.

A multi prepares its ops one by one under a single zxid. At the first failure the rest
become ``ErrorTxn(RUNTIMEINCONSISTENCY)`` and the change records of the multi are rolled
back; DataTree then turns the whole multi into errors, so it is all or nothing.

Mirrors: org.apache.zookeeper.server.PrepRequestProcessor (pRequest, pRequest2Txn,
pRequest2TxnCreate, getRecordForPath, rollbackPendingChanges, fixupACL). We differ in
one way: Java runs Prep on its own thread fed by a queue; here ``prep`` is a plain
method the server calls as the request arrives, since it never waits on IO.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable

from zk.data import (
    CONTAINER_EPHEMERAL_OWNER,
    TTL_MAX_VALUE,
    DataTree,
    EphemeralType,
    ProviderRegistry,
    StatsTrack,
    check_acl,
    check_limits,
    fix_up_acl,
    limit_path,
    sequential_name,
    stat_path,
    validate_path,
)
from zk.data.digest import DIGEST_VERSION, calculate_digest, signed64
from zk.jute.codec import Record
from zk.jute.records import (
    ACL,
    CheckVersionRequest,
    CheckVersionTxn,
    CloseSessionTxn,
    CreateContainerTxn,
    CreateRequest,
    CreateSessionTxn,
    CreateTTLRequest,
    CreateTTLTxn,
    CreateTxn,
    DeleteRequest,
    DeleteTxn,
    ErrorTxn,
    Id,
    MultiTxn,
    SetACLRequest,
    SetACLTxn,
    SetDataRequest,
    SetDataTxn,
    StatPersisted,
    Txn,
    TxnDigest,
    TxnHeader,
)
from zk.processors.request import ChangeRecord, Request
from zk.protocol.constants import CreateMode, OpCode, Perms, op_name
from zk.protocol.errors import (
    BadArgumentsException,
    BadVersionException,
    Code,
    KeeperException,
    MarshallingErrorException,
    NoChildrenForEphemeralsException,
    NodeExistsException,
    NoNodeException,
    NotEmptyException,
    QuotaExceededException,
    ReconfigDisabledException,
    UnimplementedException,
)
from zk.protocol.messages import MultiRequest
from zk.session import SessionTracker
from zk.trace import NULL_TRACER, Tracer

__all__ = ["READ_OPS", "PrepRequestProcessor", "RateLogger"]

log = logging.getLogger(__name__)

# Requests that only need a session check in Prep (pRequest's last group).
READ_OPS = frozenset(
    {
        OpCode.sync, OpCode.exists, OpCode.getData, OpCode.getACL, OpCode.getChildren,
        OpCode.getAllChildrenNumber, OpCode.getChildren2, OpCode.ping, OpCode.setWatches,
        OpCode.setWatches2, OpCode.checkWatches, OpCode.removeWatches, OpCode.getEphemerals,
        OpCode.multiRead, OpCode.addWatch, OpCode.whoAmI,
    }
)  # fmt: skip


class PrepRequestProcessor:
    """Checks each request and turns writes into transactions. A core: no IO.

    Args:
        tree: the DataTree as Final has applied it so far.
        session_tracker: for session checks and for marking a closing session.
        next_zxid: hands out the next zxid (ZooKeeperServer.getNextZxid).
        now_ms: wall-clock time in ms for TxnHeader.time (ctime/mtime of nodes).
        elapsed_ms: monotonic time in ms, for the session tracker.
        registry: the auth providers (ACL matching, superDigest).
        extended_types_enabled: TTL nodes are allowed (zookeeper.extendedTypesEnabled).
        enforce_quota: refuse writes past a hard quota limit (zookeeper.enforceQuota).

    Mirrors: org.apache.zookeeper.server.PrepRequestProcessor.
    """

    def __init__(
        self,
        tree: DataTree,
        session_tracker: SessionTracker,
        next_zxid: Callable[[], int],
        now_ms: Callable[[], int],
        elapsed_ms: Callable[[], int],
        *,
        registry: ProviderRegistry,
        extended_types_enabled: bool = False,
        enforce_quota: bool = False,
        tracer: Tracer = NULL_TRACER,
    ) -> None:
        self.tree = tree
        self.session_tracker = session_tracker
        self.next_zxid = next_zxid
        self.now_ms = now_ms
        self.elapsed_ms = elapsed_ms
        self.registry = registry
        self.extended_types_enabled = extended_types_enabled
        self.enforce_quota = enforce_quota
        if enforce_quota:
            log.info("zookeeper.enforceQuota = true, Quota Enforce enables")
        self.rate_logger = RateLogger(log, elapsed_ms)
        self.tracer = tracer
        self.outstanding_changes: deque[ChangeRecord] = deque()
        self.outstanding_changes_for_path: dict[str, ChangeRecord] = {}

    # --- the entry point ------------------------------------------------------------

    def prep(self, request: Request) -> None:
        """Fill in ``request.hdr``/``txn`` (writes) or ``request.exception``.

        Mirrors PrepRequestProcessor.pRequest / pRequestHelper.
        """
        request.hdr = None
        request.txn = None
        request.txn_digest = None
        op = request.type
        decode_error = request.exception  # the body did not decode: MARSHALLINGERROR
        try:
            if decode_error is not None:
                if op in _WRITE_OPS or op == OpCode.multi:
                    request.hdr = TxnHeader(request.session_id, request.cxid, self.next_zxid(), self.now_ms(), op)
                raise decode_error
            if op == OpCode.multi:
                self._prep_multi(request)
            elif op in (OpCode.createSession, OpCode.closeSession):
                self._p_request_2_txn(op, self.next_zxid(), request, request.body)
            elif op in READ_OPS:
                self.session_tracker.check_session(request.session_id, request.owner)
            elif op in _WRITE_OPS:
                self._p_request_2_txn(op, self.next_zxid(), request, request.body)
            # anything else never reaches Prep: the server answers UNIMPLEMENTED first
        except KeeperException as e:
            if request.hdr is not None:
                request.hdr = _with_type(request.hdr, OpCode.error)
                request.txn = ErrorTxn(int(e.code))
            request.txn_digest = None  # an error txn is logged without a digest
            request.exception = e
        request.zxid = self.tree.last_processed_zxid if request.hdr is None else request.hdr.zxid
        if self.tracer.enabled:
            self.tracer.emit(
                "prep.request",
                session=request.session_id,
                cxid=request.cxid,
                op=op_name(op),
                zxid=request.hdr.zxid if request.hdr else None,
                txn=op_name(request.hdr.type) if request.hdr else None,
                err=int(request.exception.code) if request.exception else 0,
            )

    def applied(self, zxid: int) -> None:
        """Final has applied ``zxid``: drop the change records it covered.

        Mirrors the outstandingChanges clean-up in FinalRequestProcessor.processRequest.
        """
        while self.outstanding_changes and self.outstanding_changes[0].zxid <= zxid:
            cr = self.outstanding_changes.popleft()
            if self.outstanding_changes_for_path.get(cr.path) is cr:
                del self.outstanding_changes_for_path[cr.path]

    # --- change records ----------------------------------------------------------------

    def get_record_for_path(self, path: str) -> ChangeRecord:
        """The node as it will be after the outstanding changes; NoNode if it won't exist."""
        cr = self._find_record(path)
        if cr is None:
            raise NoNodeException(path)
        return cr

    def _find_record(self, path: str) -> ChangeRecord | None:
        """`get_record_for_path` without the exception, for a create's existence check:
        Java catches NoNodeException there, which in Python costs a create a few us."""
        cr = self.outstanding_changes_for_path.get(path)
        if cr is None:
            node = self.tree.get_node(path)
            if node is not None:
                cr = ChangeRecord(-1, path, node.stat, len(node.children), self.tree.acl_for_node(node),
                                  node.data, node_digest=node.digest)  # fmt: skip
        return cr if cr is not None and cr.stat is not None else None

    def _current_tree_digest(self) -> int:
        """The tree's digest once every outstanding change is applied
        (PrepRequestProcessor.getCurrentTreeDigest)."""
        if self.outstanding_changes:
            return self.outstanding_changes[-1].tree_digest
        return self.tree.tree_digest

    def _add_change(self, request: Request, cr: ChangeRecord, kind: str) -> None:
        """Record a change with its digests, and the txn's digest so far.

        The new tree digest is the current one minus the node's old digest plus its new
        one: the additive hash lets Prep know the digest before the tree changes.
        Mirrors: precalculateDigest, addChangeRecord and setTxnDigest.
        """
        prev = 0 if kind == _ADD else self.get_record_for_path(cr.path).node_digest
        new = 0 if kind == _REMOVE else calculate_digest(cr.path, cr.data, _live(cr.stat))
        cr.node_digest = new
        cr.tree_digest = signed64(self._current_tree_digest() - prev + new)
        self.add_change_record(cr)
        request.txn_digest = TxnDigest(DIGEST_VERSION, cr.tree_digest)

    def add_change_record(self, cr: ChangeRecord) -> None:
        self.outstanding_changes.append(cr)
        self.outstanding_changes_for_path[cr.path] = cr

    def _pending_changes(self, multi: MultiRequest) -> dict[str, ChangeRecord]:
        """Change records a failed multi must restore (getPendingChanges, with the
        parent records of ZOOKEEPER-1624 so sequential names stay right)."""
        pending: dict[str, ChangeRecord] = {}
        for _, rec in multi.ops:
            path = getattr(rec, "path", None)
            if not isinstance(path, str):
                continue
            for p in (path, path[: path.rfind("/")]):
                cr = self.outstanding_changes_for_path.get(p)
                if cr is not None and "\0" not in p and "/" in path:
                    pending[p] = cr
        return pending

    def _rollback_pending_changes(self, zxid: int, pending: dict[str, ChangeRecord]) -> None:
        while self.outstanding_changes and self.outstanding_changes[-1].zxid == zxid:
            cr = self.outstanding_changes.pop()
            self.outstanding_changes_for_path.pop(cr.path, None)
        if not self.outstanding_changes:
            return
        first_zxid = self.outstanding_changes[0].zxid
        for cr in pending.values():
            if cr.zxid >= first_zxid:
                self.outstanding_changes_for_path[cr.path] = cr

    # --- writes --------------------------------------------------------------------------

    def _check_acl(self, acl: list[ACL] | None, perm: int, auth_info: list[Id]) -> None:
        check_acl(acl, perm, auth_info, self.registry)

    def check_quota(self, path: str, last_data: bytes | None, data: bytes | None, op: int) -> None:
        """With ``enforce_quota``, fail a create or setData that would pass a hard limit
        of the quota above ``path``; log (rate-limited, WARN) every limit it passes.

        It reads the limits and stats of the *applied* tree, not the outstanding changes
        (so a burst of creates can overshoot a hard limit by the writes in flight), and
        ``last_data`` is the node's data as the change records have it. Limits or stats
        that do not parse are MARSHALLINGERROR, as Java's generic catch makes them.

        Raises:
            QuotaExceededException: a hard limit would be passed (its path: the quota's).

        Mirrors: ZooKeeperServer.checkQuota (both overloads).
        """
        if not self.enforce_quota:
            return
        prefix = self.tree.get_max_prefix_with_quota(path)
        if prefix is None:
            return
        new_bytes = 0 if data is None else len(data)
        if op == OpCode.create:
            bytes_diff, count_diff = new_bytes, 1
        else:
            assert op == OpCode.setData, f"checkQuota has no rule for op {op}"
            bytes_diff, count_diff = new_bytes - (0 if last_data is None else len(last_data)), 0
        limits_node = self.tree.get_node(limit_path(prefix))
        if limits_node is None:
            log.error("Missing limit node for quota %s", limit_path(prefix))
            return
        limits = _stats_track(limits_node.data)
        if not ((count_diff != 0 and (limits.count > -1 or limits.count_hard_limit > -1))
                or (bytes_diff != 0 and (limits.bytes > -1 or limits.byte_hard_limit > -1))):  # fmt: skip
            return
        stats_node = self.tree.get_node(stat_path(prefix))
        if stats_node is None:
            log.error("Missing node for stat %s", stat_path(prefix))
            return
        for passed in check_limits(prefix, limits, _stats_track(stats_node.data), bytes_diff, count_diff):
            self.rate_logger.rate_limit_log(passed.message)
            if passed.hard:
                raise QuotaExceededException(prefix)

    def _p_request_2_txn(self, op: int, zxid: int, request: Request, record: object) -> None:
        if request.hdr is None:
            request.hdr = TxnHeader(request.session_id, request.cxid, zxid, self.now_ms(), op)
        hdr = request.hdr
        if op in (OpCode.create, OpCode.create2, OpCode.createTTL, OpCode.createContainer):
            self._session_check(request)
            assert isinstance(record, (CreateRequest, CreateTTLRequest)), record
            self._p_request_2_txn_create(op, request, record, hdr)
        elif op == OpCode.deleteContainer:
            path = request.path
            if path is None:  # a client sent it: Java reads its raw bytes as a path
                raise BadArgumentsException()
            parent_path = _parent_path_and_validate(path)
            node = self.get_record_for_path(path)
            if node.child_count > 0:
                raise NotEmptyException(path)
            assert node.stat is not None
            if EphemeralType.get(node.stat.ephemeralOwner, self.extended_types_enabled) == EphemeralType.NORMAL:
                raise BadVersionException(path)
            self._delete(request, hdr, path, parent_path)
        elif op == OpCode.delete:
            self._session_check(request)
            assert isinstance(record, DeleteRequest), record
            path = _non_null(record.path)
            parent_path = _parent_path_and_validate(path)
            parent = self.get_record_for_path(parent_path)
            self._check_acl(parent.acl, Perms.DELETE, request.auth_info)
            node = self.get_record_for_path(path)
            assert node.stat is not None
            _check_and_inc_version(node.stat.version, record.version, path)
            if node.child_count > 0:
                raise NotEmptyException(path)
            self._delete(request, hdr, path, parent_path)
        elif op == OpCode.setData:
            self._session_check(request)
            assert isinstance(record, SetDataRequest), record
            path = _str(record.path)
            validate_path(path)
            node = self.get_record_for_path(path)
            self._check_acl(node.acl, Perms.WRITE, request.auth_info)
            self.check_quota(path, node.data, record.data, OpCode.setData)
            assert node.stat is not None
            new_version = _check_and_inc_version(node.stat.version, record.version, path)
            request.txn = SetDataTxn(path, record.data, new_version)
            node = node.duplicate(hdr.zxid)
            node.stat = _live(node.stat).replace(version=new_version, mtime=hdr.time, mzxid=hdr.zxid)
            node.data = record.data
            self._add_change(request, node, _UPDATE)
        elif op == OpCode.setACL:
            self._session_check(request)
            assert isinstance(record, SetACLRequest), record
            path = _str(record.path)
            validate_path(path)
            acl = fix_up_acl(path, request.auth_info, record.acl, self.registry)
            node = self.get_record_for_path(path)
            self._check_acl(node.acl, Perms.ADMIN, request.auth_info)
            assert node.stat is not None
            new_version = _check_and_inc_version(node.stat.aversion, record.version, path)
            request.txn = SetACLTxn(path, acl, new_version)
            node = node.duplicate(hdr.zxid)
            node.stat = _live(node.stat).replace(aversion=new_version)
            self._add_change(request, node, _UPDATE)
        elif op == OpCode.check:
            self._session_check(request)
            assert isinstance(record, CheckVersionRequest), record
            path = _str(record.path)
            validate_path(path)
            node = self.get_record_for_path(path)
            self._check_acl(node.acl, Perms.READ, request.auth_info)
            assert node.stat is not None
            request.txn = CheckVersionTxn(path, _check_and_inc_version(node.stat.version, record.version, path))
        elif op == OpCode.reconfig:
            # dynamic reconfiguration needs an ensemble and reconfigEnabled=true
            raise ReconfigDisabledException()
        elif op == OpCode.createSession:
            request.txn = CreateSessionTxn(request.session_timeout)
            self.session_tracker.track_session(request.session_id, request.session_timeout, self.elapsed_ms())
            self.session_tracker.set_owner(request.session_id, request.owner)
        elif op == OpCode.closeSession:
            self._p_close_session(request, hdr)
        else:  # pragma: no cover - _WRITE_OPS and this chain agree
            raise AssertionError(f"Prep has no rule for op {op}")
        if request.txn_digest is None:  # a txn that changes no node: the tree's digest as it is
            request.txn_digest = TxnDigest(DIGEST_VERSION, self._current_tree_digest())

    def _session_check(self, request: Request) -> None:
        self.session_tracker.check_session(request.session_id, request.owner)

    def _delete(self, request: Request, hdr: TxnHeader, path: str, parent_path: str) -> None:
        request.txn = DeleteTxn(path)
        parent = self.get_record_for_path(parent_path).duplicate(hdr.zxid)
        parent.child_count -= 1
        assert parent.stat is not None
        parent.stat = _live(parent.stat).replace(pzxid=hdr.zxid)
        self._add_change(request, parent, _UPDATE)
        self._add_change(request, ChangeRecord(hdr.zxid, path, None, -1, None), _REMOVE)

    def _p_request_2_txn_create(
        self, op: int, request: Request, record: CreateRequest | CreateTTLRequest, hdr: TxnHeader
    ) -> None:
        ttl = record.ttl if isinstance(record, CreateTTLRequest) else -1
        try:
            mode = CreateMode(record.flags)
        except ValueError:
            raise BadArgumentsException(record.path) from None
        self._validate_create_request(record.path, mode, ttl)
        path = _non_null(record.path)
        last_slash = path.rfind("/")
        if last_slash == -1 or "\0" in path:
            raise BadArgumentsException(path)
        parent_path = path[:last_slash]
        acl = fix_up_acl(path, request.auth_info, record.acl, self.registry)
        parent = self.get_record_for_path(parent_path)
        self._check_acl(parent.acl, Perms.CREATE, request.auth_info)
        assert parent.stat is not None
        parent_cversion = parent.stat.cversion
        if mode.is_sequential:
            path = sequential_name(path, parent_cversion)
        validate_path(path)
        if self._find_record(path) is not None:
            raise NodeExistsException(path)
        if EphemeralType.get(parent.stat.ephemeralOwner, self.extended_types_enabled) == EphemeralType.NORMAL:
            raise NoChildrenForEphemeralsException(path)
        new_cversion = parent_cversion + 1
        self.check_quota(path, None, record.data, OpCode.create)
        txn: Record
        if op == OpCode.createContainer:
            txn = CreateContainerTxn(path, record.data, acl, new_cversion)
        elif op == OpCode.createTTL:
            txn = CreateTTLTxn(path, record.data, acl, new_cversion, ttl)
        else:
            txn = CreateTxn(path, record.data, acl, mode.is_ephemeral, new_cversion)
        request.txn = txn
        if mode.is_container:
            owner = CONTAINER_EPHEMERAL_OWNER
        elif mode.is_ttl:
            owner = EphemeralType.TTL.to_ephemeral_owner(ttl)
        elif mode.is_ephemeral:
            owner = request.session_id
        else:
            owner = 0
        stat = StatPersisted(hdr.zxid, hdr.zxid, hdr.time, hdr.time, 0, 0, 0, owner, hdr.zxid)
        parent = parent.duplicate(hdr.zxid)
        parent.child_count += 1
        parent.stat = _live(parent.stat).replace(cversion=new_cversion, pzxid=hdr.zxid)
        self._add_change(request, parent, _UPDATE)
        self._add_change(request, ChangeRecord(hdr.zxid, path, stat, 0, acl, record.data), _ADD)

    def _validate_create_request(self, path: str | None, mode: CreateMode, ttl: int) -> None:
        """PrepRequestProcessor.validateCreateRequest and EphemeralType.validateTTL."""
        if mode.is_ttl and not self.extended_types_enabled:
            raise UnimplementedException()
        if mode.is_ttl:
            if ttl > TTL_MAX_VALUE or ttl <= 0:
                raise BadArgumentsException(path)
        elif ttl >= 0:
            raise BadArgumentsException(path)

    def _p_close_session(self, request: Request, hdr: TxnHeader) -> None:
        """Delete the session's ephemerals, as the tree will have them (closeSession)."""
        es = set(self.tree.get_ephemerals(request.session_id))
        for cr in self.outstanding_changes:
            if cr.stat is None:
                es.discard(cr.path)
            elif cr.stat.ephemeralOwner == request.session_id:
                es.add(cr.path)
        for path in sorted(es):
            # The parent's pzxid moves; Java adds this record only for the digest, and
            # leaves its child count alone.
            parent = self.get_record_for_path(_parent_path_and_validate(path)).duplicate(hdr.zxid)
            parent.stat = _live(parent.stat).replace(pzxid=hdr.zxid)
            self._add_change(request, parent, _UPDATE)
            self._add_change(request, ChangeRecord(hdr.zxid, path, None, 0, None), _REMOVE)
        request.txn = CloseSessionTxn(sorted(es))
        self.session_tracker.set_session_closing(request.session_id)

    # --- multi ---------------------------------------------------------------------------

    def _prep_multi(self, request: Request) -> None:
        multi = request.body
        assert isinstance(multi, MultiRequest), multi
        zxid = self.next_zxid()
        pending = self._pending_changes(multi)
        request.hdr = TxnHeader(request.session_id, request.cxid, zxid, self.now_ms(), OpCode.multi)
        failed: KeeperException | None = None
        txns: list[Txn] = []
        for op, sub in multi.ops:
            txn: Record
            op_type: int
            if failed is not None:
                op_type, txn = OpCode.error, ErrorTxn(int(Code.RUNTIMEINCONSISTENCY))
            elif op not in _MULTI_WRITE_OPS:  # reads belong in multiRead
                failed = BadArgumentsException()
                op_type, txn = OpCode.error, ErrorTxn(int(failed.code))
                self._rollback_pending_changes(zxid, pending)
            else:
                try:
                    self._p_request_2_txn(op, zxid, request, sub)
                    assert request.txn is not None
                    op_type, txn = op, request.txn
                except KeeperException as e:
                    failed = e
                    op_type, txn = OpCode.error, ErrorTxn(int(e.code))
                    request.exception = e
                    self._rollback_pending_changes(zxid, pending)
            txns.append(Txn(int(op_type), txn.to_bytes()))
        request.txn = MultiTxn(txns)
        # the digest after the whole multi (or, if it failed and rolled back, before it)
        request.txn_digest = TxnDigest(DIGEST_VERSION, self._current_tree_digest())


class RateLogger:
    """Logs a message at WARN at once, and a run of the same message once per interval
    (``[n times] Message: ...``), so a client hammering a full quota cannot flood the log.

    Args:
        logger: where to log.
        elapsed_ms: a monotonic clock in ms.
        interval_ms: how often a repeated message is logged again.

    Mirrors: org.apache.zookeeper.server.RateLogger.
    """

    def __init__(self, logger: logging.Logger, elapsed_ms: Callable[[], int], interval_ms: int = 100) -> None:
        self.logger = logger
        self.elapsed_ms = elapsed_ms
        self.interval_ms = interval_ms
        self.msg: str | None = None
        self.value: str | None = None
        self.timestamp = 0
        self.count = 0  # repeats of ``msg`` not logged yet

    def flush(self) -> None:
        if self.msg is not None and self.count > 0:
            text = f"[{self.count} times] " if self.count > 1 else ""
            text += f"Message: {self.msg}"
            if self.value is not None:
                text += f" Last value:{self.value}"
            self.logger.warning("%s", text)
        self.msg = self.value = None
        self.count = 0

    def rate_limit_log(self, msg: str, value: str | None = None) -> None:
        now = self.elapsed_ms()
        if msg == self.msg:
            self.count += 1
            self.value = value
            if now - self.timestamp >= self.interval_ms:
                self.flush()
                self.msg, self.value, self.timestamp = msg, value, now
        else:
            self.flush()
            self.msg, self.value, self.timestamp = msg, value, now
            # Java's "Message:{} Value:{}" prints a null value as "null"
            self.logger.warning("Message:%s Value:%s", msg, "null" if value is None else value)


def _stats_track(data: bytes | None) -> StatsTrack:
    """A limits or stats node's data; a client may have written anything there (null
    too, a NullPointerException in Java)."""
    try:
        if data is None:
            raise ValueError("null data")
        return StatsTrack(data)
    except ValueError as e:
        log.error("Failed to process a quota check: %s", e)
        raise MarshallingErrorException() from e


_WRITE_OPS = frozenset(
    {
        OpCode.create, OpCode.create2, OpCode.createTTL, OpCode.createContainer,
        OpCode.deleteContainer, OpCode.delete, OpCode.setData, OpCode.setACL, OpCode.check,
        OpCode.reconfig,
    }
)  # fmt: skip
_MULTI_WRITE_OPS = frozenset(
    {OpCode.create, OpCode.create2, OpCode.createTTL, OpCode.createContainer}
    | {OpCode.delete, OpCode.setData, OpCode.check}
)


def _str(path: str | None) -> str:
    """A path that goes through validatePath first: null is BADARGUMENTS there."""
    if path is None:
        raise BadArgumentsException()
    return path


def _non_null(path: str | None) -> str:
    """A path Java uses before validating it (create, delete): null throws a
    NullPointerException, which pRequest answers with MARSHALLINGERROR."""
    if path is None:
        raise MarshallingErrorException()
    return path


def _parent_path_and_validate(path: str) -> str:
    """PrepRequestProcessor.getParentPathAndValidate: the root and /zookeeper's special
    paths cannot be deleted."""
    last_slash = path.rfind("/")
    if last_slash == -1 or "\0" in path or DataTree.is_special_path(path):
        raise BadArgumentsException(path)
    return path[:last_slash]


def _check_and_inc_version(current: int, expected: int, path: str) -> int:
    """-1 matches any version; otherwise the versions must agree (optimistic CAS)."""
    if expected != -1 and expected != current:
        raise BadVersionException(path)
    return current + 1


_ADD, _REMOVE, _UPDATE = "add", "remove", "update"  # PrepRequestProcessor.DigestOpCode


def _live(stat: StatPersisted | None) -> StatPersisted:
    assert stat is not None, "only a removal has no stat"
    return stat


def _with_type(hdr: TxnHeader, op: int) -> TxnHeader:
    return TxnHeader(hdr.clientId, hdr.cxid, hdr.zxid, hdr.time, op)
