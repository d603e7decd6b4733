"""ZooKeeperServer: one standalone server, wiring every earlier chapter together.

    ServerCnxnFactory ── accepts ──▶ ServerCnxn ── packets ──▶ ZooKeeperServer
                                                                 │ Request
             SessionTracker ◀── touch / expire ──────────────────┤
                                                                 ▼
                         PrepRequestProcessor → SyncRequestProcessor → FinalRequestProcessor
                                                                 │
                                     ZKDatabase (DataTree + watches) ◀┘

This module is the shell: it owns the listening socket, the clock and the timers
(session expiry, container clean-up) and turns packets into Requests. Every decision
is made by the cores it calls: the session tracker, Prep, Final, the DataTree.

Mirrors: org.apache.zookeeper.server.ZooKeeperServer (processConnectRequest,
createSession, reopenSession, finishSessionInit, processPacket, submitRequest, expire,
checkACL's super user) and ServerCnxnFactory (maxClientCnxns, closeSession).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine, Sequence
from typing import Any

from zk.data import DataTree, ProviderRegistry, check_acl, get_candidates
from zk.data.containers import get_min_interval_ms
from zk.jute.codec import Record
from zk.jute.records import ACL, ConnectRequest, ConnectResponse, ReplyHeader, RequestHeader
from zk.processors.chain import RequestChain, StandaloneChain
from zk.processors.database import ZKDatabase
from zk.processors.final import FinalRequestProcessor
from zk.processors.prep import PrepRequestProcessor
from zk.processors.request import Request
from zk.protocol.connect import encode_connect_response
from zk.protocol.constants import AUTHPACKET_XID, OpCode, Perms, op_name
from zk.protocol.errors import Code, KeeperException, NoAuthException
from zk.protocol.messages import MultiRequest
from zk.server.cnxn import ServerCnxn
from zk.server.config import ServerConfig
from zk.server.four_letter import FourLetterWords
from zk.server.stats import ServerStats
from zk.session import SessionTracker, generate_password, negotiate_session_timeout
from zk.storage import FileTxnSnapLog
from zk.storage.purge import purge
from zk.trace import NULL_TRACER, Tracer
from zk.watch import Watcher

__all__ = ["ServerCnxnFactory", "ZooKeeperServer"]

log = logging.getLogger(__name__)

# Request.isValid: opcodes a client may send on their own. `check` is only valid inside
# a multi; `notification`, `createSession`, `error` are never sent by clients.
_INVALID_TOP_LEVEL = frozenset({OpCode.check, OpCode.notification, OpCode.createSession, OpCode.error})


class ServerCnxnFactory:
    """The set of live connections: per-IP limits and lookup by session.

    Mirrors: org.apache.zookeeper.server.ServerCnxnFactory / NIOServerCnxnFactory.
    """

    def __init__(self, max_client_cnxns: int) -> None:
        self.max_client_cnxns = max_client_cnxns
        self.cnxns: set[ServerCnxn] = set()
        self.by_session: dict[int, ServerCnxn] = {}

    def register(self, cnxn: ServerCnxn) -> bool:
        """Accept a connection unless its IP already has maxClientCnxns of them."""
        if self.max_client_cnxns > 0:
            same_ip = sum(1 for c in self.cnxns if c.remote_ip == cnxn.remote_ip)
            if same_ip >= self.max_client_cnxns:
                log.warning("Too many connections from %s - max is %d", cnxn.remote_ip, self.max_client_cnxns)
                return False
        self.cnxns.add(cnxn)
        return True

    def unregister(self, cnxn: ServerCnxn) -> None:
        self.cnxns.discard(cnxn)
        if self.by_session.get(cnxn.session_id) is cnxn:
            del self.by_session[cnxn.session_id]

    def close_session(self, session_id: int, reason: str) -> bool:
        cnxn = self.by_session.pop(session_id, None)
        if cnxn is None:
            return False
        cnxn.close(reason)
        return True


class ZooKeeperServer:
    """A standalone ZooKeeper server. Mirrors: org.apache.zookeeper.server.ZooKeeperServer."""

    SNAPSHOT_ON_LOAD = True
    """Write a clean snapshot right after loading (standalone). An ensemble member does
    not: its log may end in proposals that were never committed, and a snapshot holding
    them could outlive a later TRUNC (ZOOKEEPER-1549)."""

    def __init__(self, config: ServerConfig, *, tracer: Tracer = NULL_TRACER, db: ZKDatabase | None = None) -> None:
        self.config = config
        self.tracer = tracer
        self._start_wall = time.time()
        self.auth_providers = ProviderRegistry(config.super_digest)
        if db is None:
            self.db = ZKDatabase(
                DataTree(extended_types_enabled=config.extended_types_enabled, tracer=tracer),
                snap_log=self._open_data_dir(),
                acl_filter=self._may_read,
                tracer=tracer,
            )
            sessions = self.load_data()  # zk.storage: the tree from dataDir, before anything reads it
        else:  # an ensemble member's next role: the database stays loaded across roles
            self.db = db
            sessions = dict(db.sessions)
        self.session_tracker = self.create_session_tracker(sessions)
        self.hzxid = self.db.tree.last_processed_zxid
        self.prep = PrepRequestProcessor(
            self.db.tree, self.session_tracker, self.next_zxid, self.wall_ms, self.now_ms,
            registry=self.auth_providers, extended_types_enabled=config.extended_types_enabled,
            enforce_quota=config.enforce_quota, tracer=tracer,
        )  # fmt: skip
        self.final = FinalRequestProcessor(
            self.db, self.prep, self.session_tracker, registry=self.auth_providers, tracer=tracer
        )
        self.chain = self.setup_request_processors()
        self.chain.on_throttle_change = self._throttle
        self.chain.on_request_done = self._request_done
        self.factory = ServerCnxnFactory(config.max_client_cnxns)
        self.four_letter_words = FourLetterWords(self)
        self.stats = ServerStats()
        self._server: asyncio.Server | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.running = False

    # --- hooks the ensemble's servers override (zk.broadcast, chapter 11) -------------

    def create_session_tracker(self, sessions: dict[int, int]) -> SessionTracker:
        """The session tracker. Mirrors: ZooKeeperServer.createSessionTracker."""
        return SessionTracker(
            self.config.session_tracker_server_id, self.config.tick_time, self.now_ms(), sessions, tracer=self.tracer
        )

    def setup_request_processors(self) -> RequestChain:
        """The processor chain. Mirrors: ZooKeeperServer.setupRequestProcessors."""
        c = self.config
        return StandaloneChain(
            self.prep, self.final, global_outstanding_limit=c.global_outstanding_limit,
            snap_count=c.snap_count, take_snapshot=self.take_snapshot, tracer=self.tracer,
        )  # fmt: skip

    def background_tasks(self) -> list[Coroutine[Any, Any, None]]:
        """The timers this server runs: session expiry and the container manager (an
        ensemble runs both on the leader only)."""
        return [self._expire_sessions(), self._clean_containers()]

    # --- storage (zk.storage, chapter 7): load at start-up, snapshots ------------------

    def _open_data_dir(self) -> FileTxnSnapLog | None:
        """The data directory, or None for a server without one (tests)."""
        if self.config.data_dir is None:
            return None
        c = self.config
        return FileTxnSnapLog(
            self.config.data_dir, c.data_log_dir, force_sync=c.force_sync, prealloc_size=c.prealloc_size,
            trust_empty_snapshot=c.trust_empty_snapshot, max_buffer=c.jute_max_buffer, tracer=self.tracer,
        )  # fmt: skip

    def load_data(self) -> dict[int, int]:
        """Restore the tree and the sessions, drop the ephemerals of sessions that are
        gone, and write a clean snapshot, all before serving. Raises OSError (zk.storage's
        DatadirException, LogCorruptError) if the data directory cannot be trusted.
        Mirrors: ZooKeeperServer.loadData."""
        make_tree = lambda: DataTree(extended_types_enabled=self.config.extended_types_enabled, tracer=self.tracer)  # noqa: E731
        sessions = self.db.load_data_base(make_tree)
        for session_id in self.db.kill_dead_sessions(sessions):
            log.info("Removed the ephemerals of dead session 0x%x", session_id)
        if self.SNAPSHOT_ON_LOAD:
            self.db.take_snapshot(sessions)
        return sessions

    async def take_snapshot(self) -> None:
        """The snapshot thread's work, on the loop a slice at a time. Mirrors:
        ZooKeeperServer.takeSnapshot as SyncRequestProcessor's thread runs it."""
        await self.db.take_snapshot_fuzzy(self.session_tracker.sessions_with_timeouts())

    async def _purge_data_dir(self) -> None:
        """DatadirCleanupManager's PurgeTask: every purgeInterval hours, keep the
        snapRetainCount newest snapshots and the logs they need."""
        assert self.db.snap_log is not None
        while True:
            await asyncio.sleep(self.config.purge_interval * 3600)
            await asyncio.to_thread(purge, self.db.snap_log, self.config.snap_retain_count)

    # --- clocks and zxids (the shell's business) -----------------------------------

    def now_ms(self) -> int:
        """Elapsed time for timeouts (Time.currentElapsedTime)."""
        return time.monotonic_ns() // 1_000_000

    def wall_ms(self) -> int:
        """Wall time for ctime/mtime (Time.currentWallTime)."""
        return time.time_ns() // 1_000_000

    def next_zxid(self) -> int:
        self.hzxid += 1
        return self.hzxid

    # --- life cycle ------------------------------------------------------------------

    async def start(self, *, listen: bool = True) -> None:
        """Start the chain and the timers and, with `listen`, open the client port (an
        ensemble member's port belongs to its QuorumPeer, which outlives each role)."""
        loop = asyncio.get_running_loop()
        self.chain.start()
        if listen:
            self._server = await loop.create_server(
                lambda: ServerCnxn(self, self.tracer),
                self.config.client_port_address,
                self.config.client_port,
                reuse_address=True,
            )
        self._tasks = [loop.create_task(coro) for coro in self.background_tasks()]
        if self.config.purge_interval > 0 and self.db.snap_log is not None:  # zk.storage: autopurge
            self._tasks.append(loop.create_task(self._purge_data_dir(), name="purge-task"))
        self.running = True
        if listen:
            if self.tracer.enabled:
                self.tracer.emit("server.started", port=self.bound_port)
            log.info("serving clients on %s:%d", self.config.client_port_address, self.bound_port)

    @property
    def bound_port(self) -> int:
        assert self._server is not None and self._server.sockets
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self, *, close_db: bool = True) -> None:
        """Stop serving: connections, timers, the chain (waiting for a running fsync),
        and with `close_db` the log files (an ensemble member keeps them across roles)."""
        self.running = False
        if self._server is not None:
            self._server.close()
        for cnxn in list(self.factory.cnxns):
            cnxn.close("server shutting down")
        for task in self._tasks:
            task.cancel()
        await self.chain.stop()
        if close_db:
            self.db.close()
        if self._server is not None:
            await self._server.wait_closed()

    async def serve_forever(self) -> None:
        """Run until cancelled, or until a core task dies (a bug: die loudly)."""
        await self.start()
        try:
            done, _ = await asyncio.wait([*self._tasks, *self.chain.tasks], return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()
        finally:
            await self.stop()

    # --- connect handshake ---------------------------------------------------------------

    def process_connect_request(self, cnxn: ServerCnxn, req: ConnectRequest) -> None:
        """Mirrors ZooKeeperServer.processConnectRequest."""
        last_zxid = self.db.tree.last_processed_zxid
        if req.lastZxidSeen > last_zxid:
            log.info(
                "Refusing session request for client %s as it has seen zxid 0x%x our last zxid is 0x%x",
                cnxn.remote, req.lastZxidSeen, last_zxid,
            )  # fmt: skip
            cnxn.close("client zxid ahead")
            return
        timeout = negotiate_session_timeout(
            req.timeOut, self.config.effective_min_session_timeout, self.config.effective_max_session_timeout
        )
        cnxn.session_timeout = timeout
        cnxn.initialized = True
        cnxn.pause_reading("session-init")  # nothing more until the session is set up
        if self.tracer.enabled:
            self.tracer.emit(
                "server.connect", **{"from": f"client:{cnxn.remote}", "to": self.tracer.server},
                session=req.sessionId, timeout=timeout,
            )  # fmt: skip
        if req.sessionId == 0:
            self.create_session(cnxn, timeout)
            return
        self.factory.close_session(req.sessionId, "client reconnected")
        cnxn.session_id = req.sessionId
        passwd = req.passwd or b""
        if passwd != generate_password(req.sessionId):
            log.info("Invalid session 0x%x for client %s, probably expired", req.sessionId, cnxn.remote)
            self.finish_session_init(cnxn, False)
            return
        self.revalidate_session(cnxn, req.sessionId, timeout)

    def revalidate_session(self, cnxn: ServerCnxn, session_id: int, timeout: int) -> None:
        """Is the session a reconnecting client names still alive? Here the tracker
        knows; a learner asks its leader. Mirrors: ZooKeeperServer.revalidateSession."""
        valid = self.session_tracker.touch_session(session_id, timeout, self.now_ms())
        if not valid:
            log.info("Invalid session 0x%x for client %s, probably expired", session_id, cnxn.remote)
        self.finish_session_init(cnxn, valid)

    def create_session(self, cnxn: ServerCnxn, timeout: int) -> None:
        session_id = self.session_tracker.create_session(timeout, self.now_ms())
        cnxn.session_id = session_id
        self._submit(Request(session_id, 0, OpCode.createSession, None, cnxn, session_timeout=timeout))

    def finish_session_init(self, cnxn: ServerCnxn, valid: bool) -> None:
        """Send the ConnectResponse. Mirrors ZooKeeperServer.finishSessionInit."""
        sid = cnxn.session_id
        rsp = ConnectResponse(
            0,
            cnxn.session_timeout if valid else 0,
            sid if valid else 0,
            generate_password(sid) if valid else bytes(16),
            False,
        )
        cnxn.send_raw(encode_connect_response(rsp, cnxn.is_old_client))
        if valid:
            self.factory.by_session[sid] = cnxn
            cnxn.resume_reading("session-init")
            if self.tracer.enabled:
                self.tracer.emit("server.session.established", to=f"client:{sid:#x}", session=sid)
        else:
            cnxn.send_close_session()

    # --- packets -----------------------------------------------------------------------

    def process_packet(
        self,
        cnxn: ServerCnxn,
        h: RequestHeader,
        body: Record | MultiRequest | None,
        error: KeeperException | None,
    ) -> None:
        """Mirrors ZooKeeperServer.processPacket and submitRequest."""
        if h.xid >= 0:
            cnxn.outstanding += 1
        if h.type == OpCode.auth:
            self._process_auth(cnxn, h, body)
            return
        if h.type == OpCode.sasl or h.type in _INVALID_TOP_LEVEL:
            self.unimplemented(cnxn, h)
            return
        if not self.session_tracker.touch_session(cnxn.session_id, cnxn.session_timeout, self.now_ms()):
            log.debug("Dropping request from expired session 0x%x", cnxn.session_id)
            return
        if self.tracer.enabled:
            self.tracer.emit(
                "server.request", **{"from": f"client:{cnxn.session_id:#x}", "to": self.tracer.server},
                session=cnxn.session_id, cxid=h.xid, op=op_name(h.type),
            )  # fmt: skip
        request = Request(cnxn.session_id, h.xid, h.type, body, cnxn, list(cnxn.auth_info), exception=error)
        self._submit(request)

    def _submit(self, request: Request) -> None:
        request.create_time = self.now_ms()
        self.chain.submit(request)

    def unimplemented(self, cnxn: ServerCnxn, h: RequestHeader) -> None:
        """UnimplementedRequestProcessor: answer UNIMPLEMENTED, then close."""
        log.warning("Received packet at server of unknown type %d", h.type)
        cnxn.send_response(ReplyHeader(h.xid, -1, int(Code.UNIMPLEMENTED)), None)
        cnxn.send_close_session()

    def _process_auth(self, cnxn: ServerCnxn, h: RequestHeader, body: object) -> None:
        from zk.jute.records import AuthPacket

        ok = False
        if isinstance(body, AuthPacket) and body.scheme is not None:
            provider = self.auth_providers.get(body.scheme)
            if provider is not None:
                try:
                    new_ids = provider.handle_authentication(body.auth or b"", cnxn.remote_ip)
                except KeeperException:
                    new_ids = []
                for new_id in new_ids:
                    if new_id not in cnxn.auth_info:
                        cnxn.auth_info.append(new_id)
                ok = bool(new_ids)
        if ok:
            log.info("Session 0x%x: auth success for scheme %s", cnxn.session_id, getattr(body, "scheme", "?"))
            cnxn.send_response(ReplyHeader(AUTHPACKET_XID, 0, 0), None)
        else:
            log.warning("Authentication failed for scheme: %s", getattr(body, "scheme", "?"))
            cnxn.send_response(ReplyHeader(AUTHPACKET_XID, 0, int(Code.AUTHFAILED)), None)
            cnxn.send_close_session()

    def _may_read(self, watcher: Watcher, acl: Sequence[ACL]) -> bool:
        """ZOOKEEPER-4799 (3.8.4): a watch event goes only to connections that may READ
        the node. (Debian's 3.8.0 carries this fix as a patch for CVE-2024-23944.)"""
        try:
            check_acl(list(acl), Perms.READ, getattr(watcher, "auth_info", []), self.auth_providers)
        except NoAuthException:
            return False
        return True

    def remove_cnxn(self, cnxn: ServerCnxn) -> None:
        self.factory.unregister(cnxn)
        self.db.watches.remove_cnxn(cnxn)

    def _request_done(self, request: Request) -> None:
        if isinstance(request.cnxn, ServerCnxn):  # FinalRequestProcessor.updateStats
            now = self.now_ms()
            self.stats.update_latency(now - request.create_time)
            last_zxid = self.db.tree.last_processed_zxid
            request.cnxn.cnxn_stats.update_for_response(request.cxid, last_zxid, request.type, request.create_time, now)
        if request.type == OpCode.closeSession and request.cnxn is None:
            # an expired session's connection (if still open) goes now (Final's closeSession)
            self.factory.close_session(request.session_id, "session expired")

    def _throttle(self, throttled: bool) -> None:
        for cnxn in list(self.factory.cnxns):
            if throttled:
                cnxn.pause_reading("throttle")
            else:
                cnxn.resume_reading("throttle")

    # --- timers --------------------------------------------------------------------------

    async def _expire_sessions(self) -> None:
        """SessionTrackerImpl.run: sleep to the next bucket, close what expired."""
        while True:
            await asyncio.sleep(max(self.session_tracker.get_wait_time(self.now_ms()), 1) / 1000)
            for session in self.session_tracker.expire(self.now_ms()):
                log.info("Expiring session 0x%x, timeout of %dms exceeded", session.session_id, session.timeout)
                self._submit(Request(session.session_id, 0, OpCode.closeSession, None, None))

    async def _clean_containers(self) -> None:
        """ContainerManager: delete empty containers and expired TTL nodes."""
        interval = self.config.container_check_interval_ms / 1000
        pause = get_min_interval_ms(self.config.container_max_per_minute) / 1000
        while True:
            await asyncio.sleep(interval)
            for path in get_candidates(self.db.tree, self.wall_ms()):
                self._submit(Request(0, 0, OpCode.deleteContainer, None, None, path=path))
                await asyncio.sleep(pause)  # znode.container.maxPerMinute
