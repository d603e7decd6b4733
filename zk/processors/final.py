"""FinalRequestProcessor: apply the transaction, answer the client.

The last stage of every chain. For a write it applies the transaction to the in-memory
database (DataTree plus watches), which returns what changed and which watches fire; for
a read it does the read, checking the node's ACL. Either way it then builds the reply:
a ReplyHeader whose ``zxid`` is the last zxid applied, and the response record.

Errors found in Prep arrive as an ``error`` transaction and are answered here, after the
fsync, so a client never sees a reply to a write before that write (or its failure) is
in the log.

Mirrors: org.apache.zookeeper.server.FinalRequestProcessor (processRequest,
handleGetDataRequest, handleGetChildrenRequest) and the session part of
ZooKeeperServer.processTxn.
"""

from __future__ import annotations

import logging

from zk.data import ProcessTxnResult, ProviderRegistry, check_acl
from zk.jute.codec import Record
from zk.jute.records import (
    ACL,
    AddWatchRequest,
    CheckWatchesRequest,
    ClientInfo,
    Create2Response,
    CreateResponse,
    ErrorResponse,
    ExistsRequest,
    ExistsResponse,
    GetACLRequest,
    GetACLResponse,
    GetAllChildrenNumberRequest,
    GetAllChildrenNumberResponse,
    GetChildren2Request,
    GetChildren2Response,
    GetChildrenRequest,
    GetChildrenResponse,
    GetDataRequest,
    GetDataResponse,
    GetEphemeralsRequest,
    GetEphemeralsResponse,
    Id,
    RemoveWatchesRequest,
    ReplyHeader,
    SetACLResponse,
    SetDataResponse,
    SetWatches,
    SetWatches2,
    Stat,
    StatPersisted,
    SyncRequest,
    SyncResponse,
    WhoAmIResponse,
)
from zk.processors.database import ZKDatabase
from zk.processors.prep import PrepRequestProcessor
from zk.processors.request import Request, RequestOwner
from zk.protocol.constants import PING_XID, AddWatchMode, OpCode, Perms, WatcherType, op_name
from zk.protocol.errors import (
    BadArgumentsException,
    Code,
    KeeperException,
    MarshallingErrorException,
    NoAuthException,
    NoNodeException,
    NoWatcherException,
    SessionMovedException,
    exception_for,
)
from zk.protocol.messages import MultiRequest, MultiResponse, OpResult
from zk.session import SessionTracker
from zk.trace import NULL_TRACER, Tracer

__all__ = ["FinalRequestProcessor"]

log = logging.getLogger(__name__)


class FinalRequestProcessor:
    """Applies transactions and answers requests. A core: replies are queued on the
    request's connection object, which writes them out later.

    Mirrors: org.apache.zookeeper.server.FinalRequestProcessor.
    """

    def __init__(
        self,
        db: ZKDatabase,
        prep: PrepRequestProcessor,
        session_tracker: SessionTracker,
        *,
        registry: ProviderRegistry,
        tracer: Tracer = NULL_TRACER,
    ) -> None:
        self.db = db
        self.prep = prep
        self.session_tracker = session_tracker
        self.registry = registry
        self.tracer = tracer

    def apply_request(self, request: Request) -> ProcessTxnResult | None:
        """Apply a write's transaction; None for reads. ZooKeeperServer.processTxn."""
        hdr = request.hdr
        if hdr is None:
            return None
        if hdr.type == OpCode.createSession:
            self.session_tracker.commit_session(hdr.clientId, request.session_timeout)
        elif hdr.type == OpCode.closeSession:
            self.session_tracker.remove_session(hdr.clientId)
        rc = self.db.process_txn(hdr, request.txn, request.txn_digest)
        self.prep.applied(hdr.zxid)
        if self.tracer.enabled:
            self.tracer.emit(
                "final.applied", session=hdr.clientId, cxid=hdr.cxid, zxid=hdr.zxid,
                txn=op_name(hdr.type), path=rc.path, err=rc.err,
            )  # fmt: skip
        return rc

    def process_request(self, request: Request) -> None:
        """Apply, then answer. Mirrors FinalRequestProcessor.processRequest."""
        rc = self.apply_request(request)
        cnxn = request.cnxn
        if cnxn is None:  # internal: expiry's closeSession, deleteContainer
            return
        last_zxid = self.db.tree.last_processed_zxid
        err = Code.OK
        rsp: Record | MultiResponse | None = None
        try:
            if request.hdr is not None and request.hdr.type == OpCode.error:
                if request.exception is not None:
                    raise request.exception
                raise exception_for(getattr(request.txn, "err", int(Code.SYSTEMERROR)))
            ke = request.exception
            if ke is not None and (request.type != OpCode.multi or isinstance(ke, SessionMovedException)):
                raise ke
            op = request.type
            if op == OpCode.ping:
                cnxn.send_response(ReplyHeader(PING_XID, last_zxid, 0), None)
                return
            if op == OpCode.createSession:
                cnxn.finish_session_init(True)
                return
            assert rc is not None or request.hdr is None
            rsp, err = self._response(request, cnxn, rc)
        except SessionMovedException:
            # a connection-level error: the client has moved to another server, and a reply
            # here could make it think this one still holds its session (ZOOKEEPER-710).
            # Java closes the connection without answering, and so do we.
            log.info("Session 0x%x moved; closing its connection here", request.session_id)
            cnxn.send_close_session()
            return
        except KeeperException as e:
            err = e.code
        except Exception:
            # Java's Final answers any other failure with MARSHALLINGERROR and goes on: one
            # request's reply must not take the server down. The transaction (if any) is
            # already applied above, outside this guard; a failure there is fatal.
            log.exception("Failed to process session 0x%x cxid %d op %s", request.session_id, request.cxid,
                          op_name(request.type))  # fmt: skip
            rsp, err = None, Code.MARSHALLINGERROR
        hdr = ReplyHeader(request.cxid, last_zxid, int(err))
        if self.tracer.enabled:
            self.tracer.emit(
                "final.reply", to=f"client:{request.session_id:#x}", session=request.session_id,
                cxid=request.cxid, op=op_name(request.type), zxid=last_zxid, err=int(err),
            )  # fmt: skip
        cnxn.send_response(hdr, rsp)
        if request.type == OpCode.closeSession:
            cnxn.send_close_session()

    # --- one branch per opcode --------------------------------------------------------

    def _response(
        self, request: Request, cnxn: RequestOwner, rc: ProcessTxnResult | None
    ) -> tuple[Record | MultiResponse | None, Code]:
        op, body = request.type, request.body
        tree = self.db.tree
        if rc is not None:  # a write, applied
            err = Code(rc.err)
            if op == OpCode.multi:
                subs = rc.multi_result or []
                if any(sub.err == Code.SESSIONMOVED for sub in subs):
                    raise SessionMovedException()
                return MultiResponse([_multi_result(sub) for sub in subs]), Code.OK
            if op == OpCode.create:
                return CreateResponse(rc.path), err
            if op in (OpCode.create2, OpCode.createTTL, OpCode.createContainer):
                return Create2Response(rc.path, _stat(rc.stat)), err
            if op == OpCode.setData:
                return SetDataResponse(_stat(rc.stat)), err
            if op == OpCode.setACL:
                return SetACLResponse(_stat(rc.stat)), err
            return None, err  # delete, deleteContainer, closeSession
        if op == OpCode.sync:
            assert isinstance(body, SyncRequest)
            return SyncResponse(body.path), Code.OK
        if op == OpCode.exists:
            assert isinstance(body, ExistsRequest)
            path = _path(body.path)
            if "\0" in path:
                raise BadArgumentsException()
            node = tree.get_node(path)
            if node is not None:
                self._check_acl(tree.acl_for_node(node), Perms.READ, request.auth_info)
            if body.watch:
                self.db.watches.add_exists_watch(path, cnxn)
            return ExistsResponse(tree.stat_node(path)), Code.OK
        if op == OpCode.getData:
            assert isinstance(body, GetDataRequest)
            return self._get_data(body, cnxn, request.auth_info), Code.OK
        if op == OpCode.getChildren:
            assert isinstance(body, GetChildrenRequest)
            return self._get_children(body, cnxn, request.auth_info), Code.OK
        if op == OpCode.getChildren2:
            assert isinstance(body, GetChildren2Request)
            path = _path(body.path)
            self._read_check(path, request.auth_info)
            children, stat = tree.get_children(path)
            if body.watch:
                self.db.watches.add_child_watch(path, cnxn)
            return GetChildren2Response(children, stat), Code.OK
        if op == OpCode.getAllChildrenNumber:
            assert isinstance(body, GetAllChildrenNumberRequest)
            path = _path(body.path)
            self._read_check(path, request.auth_info)
            return GetAllChildrenNumberResponse(tree.get_all_children_number(path)), Code.OK
        if op == OpCode.getACL:
            assert isinstance(body, GetACLRequest)
            return self._get_acl(body, request.auth_info), Code.OK
        if op == OpCode.multiRead:
            assert isinstance(body, MultiRequest)
            return self._multi_read(body, cnxn, request.auth_info), Code.OK
        if op in (OpCode.setWatches, OpCode.setWatches2):
            assert isinstance(body, (SetWatches, SetWatches2))
            persistent = body.persistentWatches if isinstance(body, SetWatches2) else []
            recursive = body.persistentRecursiveWatches if isinstance(body, SetWatches2) else []
            self.db.watches.set_watches(
                body.relativeZxid, body.dataWatches or [], body.existWatches or [],
                body.childWatches or [], persistent or [], recursive or [], cnxn, self._stat_of,
            )  # fmt: skip
            return None, Code.OK
        if op == OpCode.addWatch:
            assert isinstance(body, AddWatchRequest)
            self.db.watches.add_watch(_path(body.path), cnxn, _add_watch_mode(body.mode))
            return ErrorResponse(0), Code.OK
        if op == OpCode.checkWatches:
            assert isinstance(body, CheckWatchesRequest)
            wtype = _watcher_type(body.type)
            if not self.db.watches.contains_watcher(_path(body.path), wtype, cnxn):
                raise NoWatcherException(f"{body.path} (type: {wtype.name})")
            return None, Code.OK
        if op == OpCode.removeWatches:
            assert isinstance(body, RemoveWatchesRequest)
            wtype = _watcher_type(body.type)
            if not self.db.watches.remove_watch(_path(body.path), wtype, cnxn):
                raise NoWatcherException(f"{body.path} (type: {wtype.name})")
            return None, Code.OK
        if op == OpCode.whoAmI:
            return WhoAmIResponse([self._client_info(i) for i in request.auth_info]), Code.OK
        if op == OpCode.getEphemerals:
            assert isinstance(body, GetEphemeralsRequest)
            prefix = (body.prefixPath or "").strip()
            mine = sorted(tree.get_ephemerals(request.session_id))
            if prefix and prefix != "/":
                mine = [p for p in mine if p.startswith(body.prefixPath or "")]
            return GetEphemeralsResponse(mine), Code.OK
        raise MarshallingErrorException()  # Request.isValid let through an op we lack

    def _check_acl(self, acl: list[ACL], perm: int, auth_info: list[Id]) -> None:
        check_acl(acl, perm, auth_info, self.registry)

    def _client_info(self, i: Id) -> ClientInfo:
        """AuthUtil.getClientInfos: the scheme and the user name (a digest id without its hash)."""
        return ClientInfo(i.scheme, self.registry.get_user(i))

    def _stat_of(self, path: str) -> StatPersisted | None:
        node = self.db.tree.get_node(path)
        return node.stat if node is not None else None

    def _read_check(self, path: str, auth_info: list[Id]) -> None:
        node = self.db.tree.get_node(path)
        if node is None:
            raise NoNodeException()
        self._check_acl(self.db.tree.acl_for_node(node), Perms.READ, auth_info)

    def _get_data(self, body: GetDataRequest, cnxn: RequestOwner, auth_info: list[Id]) -> GetDataResponse:
        path = _path(body.path)
        self._read_check(path, auth_info)
        data, stat = self.db.tree.get_data(path)
        if body.watch:
            self.db.watches.add_data_watch(path, cnxn)
        return GetDataResponse(data, stat)

    def _get_children(self, body: GetChildrenRequest, cnxn: RequestOwner, auth_info: list[Id]) -> GetChildrenResponse:
        path = _path(body.path)
        self._read_check(path, auth_info)
        children, _ = self.db.tree.get_children(path)
        if body.watch:
            self.db.watches.add_child_watch(path, cnxn)
        return GetChildrenResponse(children)

    def _get_acl(self, body: GetACLRequest, auth_info: list[Id]) -> GetACLResponse:
        """READ or ADMIN may read an ACL; without ADMIN, digest hashes are masked."""
        path = _path(body.path)
        tree = self.db.tree
        node = tree.get_node(path)
        if node is None:
            raise NoNodeException()
        node_acl = tree.acl_for_node(node)
        self._check_acl(node_acl, Perms.READ | Perms.ADMIN, auth_info)
        acl, stat = tree.get_acl(path)
        try:
            self._check_acl(node_acl, Perms.ADMIN, auth_info)
        except NoAuthException:
            acl = [_mask_digest(a) for a in acl]
        return GetACLResponse(acl, stat)

    def _multi_read(self, body: MultiRequest, cnxn: RequestOwner, auth_info: list[Id]) -> MultiResponse:
        results: list[OpResult] = []
        for _op, sub in body.ops:
            try:
                if isinstance(sub, GetChildrenRequest):
                    results.append(OpResult(OpCode.getChildren, self._get_children(sub, cnxn, auth_info)))
                elif isinstance(sub, GetDataRequest):
                    results.append(OpResult(OpCode.getData, self._get_data(sub, cnxn, auth_info)))
                else:
                    raise MarshallingErrorException()  # a write inside multiRead
            except KeeperException as e:
                results.append(OpResult(OpCode.error, ErrorResponse(int(e.code))))
        return MultiResponse(results)


def _multi_result(sub: ProcessTxnResult) -> OpResult:
    t = sub.type
    if t == OpCode.create:
        return OpResult(t, CreateResponse(sub.path))
    if t in (OpCode.create2, OpCode.createTTL, OpCode.createContainer):
        return OpResult(OpCode.create2, Create2Response(sub.path, _stat(sub.stat)))
    if t in (OpCode.delete, OpCode.deleteContainer):
        return OpResult(OpCode.delete)
    if t == OpCode.check:
        return OpResult(t)
    if t == OpCode.setData:
        return OpResult(t, SetDataResponse(_stat(sub.stat)))
    return OpResult(OpCode.error, ErrorResponse(sub.err))


def _stat(stat: Stat | None) -> Stat:
    # Java serializes a null Stat as if it were all zeros; only failed txns lack one
    return stat if stat is not None else Stat(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)


def _mask_digest(a: ACL) -> ACL:
    if a.id.scheme != "digest" or a.id.id is None:
        return a
    user = a.id.id.split(":", 1)[0]
    return ACL(a.perms, Id("digest", f"{user}:x"))


# Java's WatcherType.fromInt and AddWatchMode.fromInt throw a RuntimeException for an
# unknown value, and processRequest answers any such exception with MARSHALLINGERROR.


def _watcher_type(t: int) -> WatcherType:
    try:
        return WatcherType(t)
    except ValueError:
        raise MarshallingErrorException() from None


def _add_watch_mode(mode: int) -> AddWatchMode:
    try:
        return AddWatchMode(mode)
    except ValueError:
        raise MarshallingErrorException() from None


def _path(path: str | None) -> str:
    # A null path makes Java's read handlers throw a NullPointerException: MARSHALLINGERROR.
    if path is None:
        raise MarshallingErrorException()
    return path
