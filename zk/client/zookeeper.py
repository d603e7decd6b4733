"""ZooKeeper: the asyncio client, a thin shell around the connection core.

Java's client runs two threads; this shell runs two tasks with the same jobs::

    send task  (SendThread)   connect to the next host, write what the core says, read
                              replies into the core, keep the timers; on any error drop
                              the socket, tell the core, and go round again.
    event task (EventThread)  call the watchers, one event at a time, in the order the
                              core queued them; a slow watcher delays later events,
                              never the connection.

Every decision is the core's (:class:`~zk.client.cnxn.ClientCnxn`): this module only
moves bytes, sleeps, and completes futures. An API call builds a
:class:`~zk.client.packet.Packet` as ZooKeeper.java does (validate the path, add the
chroot, pick the watch registration), queues it, and awaits its future, which the send
task completes when the reply arrives, as SendThread does for Java's synchronous calls.
A reply therefore never waits behind a slow watcher, and a watcher may itself await
calls on the same client.

    async with ZooKeeper("127.0.0.1:2181/app", session_timeout=10_000) as zk:
        await zk.create("/a", b"hello")
        data, stat = await zk.get_data("/a", watch=lambda e: print(e))

Mirrors: org.apache.zookeeper.ZooKeeper (its public methods, in snake_case) and the
threads of org.apache.zookeeper.ClientCnxn.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import random
import time
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from zk.client.cnxn import (
    RECONNECT_DELAY_MS,
    ClientCnxn,
    ClientCnxnError,
    EventOfDeath,
    PacketFinished,
    WatcherSetEventPair,
)
from zk.client.host_provider import ConnectStringParser, StaticHostProvider, prepend_chroot, strip_chroot
from zk.client.ops import Op, OpResult, create_opcode, make_multi_request, op_results
from zk.client.packet import Packet, WatchDeregistration, WatchRegistration
from zk.client.states import States
from zk.client.watch_manager import Watcher, WatchKind
from zk.data.acl import OPEN_ACL_UNSAFE
from zk.data.paths import validate_path
from zk.jute.records import (
    ACL,
    AddWatchRequest,
    CheckWatchesRequest,
    ClientInfo,
    CreateRequest,
    CreateTTLRequest,
    DeleteRequest,
    ExistsRequest,
    GetACLRequest,
    GetAllChildrenNumberRequest,
    GetChildren2Request,
    GetChildrenRequest,
    GetDataRequest,
    GetEphemeralsRequest,
    RemoveWatchesRequest,
    SetACLRequest,
    SetDataRequest,
    Stat,
    SyncRequest,
)
from zk.protocol.constants import AddWatchMode, CreateMode, OpCode, WatcherType
from zk.protocol.errors import Code, InvalidACLException, KeeperException, OperationTimeoutException, exception_for
from zk.protocol.messages import RESPONSE_RECORDS, MultiResponse
from zk.trace.tracer import NULL_TRACER, Tracer

__all__ = ["Transaction", "ZooKeeper"]

log = logging.getLogger(__name__)
DEFAULT_MAX_OUTSTANDING = 1000


def _validate_acl(acl: list[ACL] | None) -> list[ACL]:
    if not acl:
        raise InvalidACLException(None)
    return acl


def _validate_ttl(mode: CreateMode, ttl: int) -> None:
    # EphemeralType.validateTTL
    if mode.is_ttl:
        if not 0 < ttl <= 0xFFFFFFFFFF:
            raise ValueError(f"ttl must be in (0, 2**40) for mode {mode.name}: {ttl}")
    elif ttl >= 0:
        raise ValueError(f"{ttl} is invalid for mode {mode.name}")


class ZooKeeper:
    """An asyncio ZooKeeper client. Start it with ``await zk.start()`` or ``async with``.

    Args:
        connect_string: ``host:port[,host:port...][/chroot]``.
        session_timeout: the session timeout to ask for, in ms (the server clamps it to
            [2, 20] ticks by default).
        watcher: the default watcher: every state change, and ``watch=True`` events.
        session_id: resume an existing session.
        session_passwd: its password.
        can_be_read_only: accept read-only servers.
        tracer: receives the core's ``client.*`` events and ``client.event.delivered``.
        rng: randomness for the host shuffle and the reconnect delay (seed for replay).
        reconnect_delay: bound of the random pause before a reconnect, in ms (Java: 1000).
        max_outstanding: queued + in-flight requests before API calls wait for room.

    Mirrors: org.apache.zookeeper.ZooKeeper.
    """

    def __init__(
        self,
        connect_string: str,
        session_timeout: int = 30_000,
        watcher: Watcher | None = None,
        *,
        session_id: int = 0,
        session_passwd: bytes | None = None,
        can_be_read_only: bool = False,
        tracer: Tracer = NULL_TRACER,
        rng: random.Random | None = None,
        reconnect_delay: int = RECONNECT_DELAY_MS,
        max_outstanding: int = DEFAULT_MAX_OUTSTANDING,
    ) -> None:
        parser = ConnectStringParser(connect_string)
        rng = rng or random.Random()
        self.chroot = parser.chroot_path
        self.tracer = tracer
        self.cnxn = ClientCnxn(
            StaticHostProvider(parser.server_addresses, rng),
            session_timeout,
            chroot=self.chroot,
            default_watcher=watcher,
            session_id=session_id,
            session_passwd=session_passwd if session_passwd is not None else bytes(16),
            can_be_read_only=can_be_read_only,
            rng=rng,
            reconnect_delay=reconnect_delay,
            tracer=tracer,
        )
        self.max_outstanding = max_outstanding
        self._started = False
        self._stop = False
        self._send_task: asyncio.Task[None] | None = None
        self._event_task: asyncio.Task[None] | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._io_error: BaseException | None = None
        self._wake = asyncio.Event()
        self._changed = asyncio.Event()  # set on every dispatch: state or queue change
        self._events: asyncio.Queue[WatcherSetEventPair | EventOfDeath] = asyncio.Queue()

    # -- the session --------------------------------------------------------------------

    @property
    def state(self) -> States:
        """The connection state (``getState``)."""
        return self.cnxn.state

    @property
    def session_id(self) -> int:
        return self.cnxn.session_id

    @property
    def session_passwd(self) -> bytes:
        return self.cnxn.session_passwd

    @property
    def session_timeout(self) -> int:
        """The negotiated session timeout in ms (0 before the first session)."""
        return self.cnxn.negotiated_session_timeout

    def __repr__(self) -> str:
        return f"<ZooKeeper {self.state.name} session=0x{self.session_id:x} server={self.cnxn.server}>"

    async def start(self, timeout: float | None = None) -> ZooKeeper:
        """Start the send and event tasks; wait (``timeout`` seconds, None: forever) for
        the first session.

        Raises:
            OperationTimeoutException: no session within the timeout (the client keeps
                trying; close it if you give up).
            SessionExpiredException / AuthFailedException: the client closed instead.
        """
        if not self._started:
            self._started = True
            self._send_task = asyncio.create_task(self._send_loop(), name="zk-client-send")
            self._event_task = asyncio.create_task(self._event_loop(), name="zk-client-events")
        await self.wait_connected(timeout)
        return self

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait until the client holds a session (CONNECTED or CONNECTEDREADONLY)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.state.is_connected():
            if not self.state.is_alive():
                raise exception_for(Code.AUTHFAILED if self.state is States.AUTH_FAILED else Code.SESSIONEXPIRED)
            self._changed.clear()
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise OperationTimeoutException(None)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    async def __aenter__(self) -> ZooKeeper:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """End the session: closeSession, then stop the tasks (``ZooKeeper.close``).

        Ephemeral nodes of the session go at once. A no-op on a closed client. Called
        from a watcher, it does not wait for the event task (which is running it).
        """
        if self._started and self.state.is_alive() and not self.cnxn.closing:
            # If the connection is lost first, the session ends by expiry instead.
            with contextlib.suppress(KeeperException):
                await self._submit(Packet(OpCode.closeSession, None))
        self._stop = True
        self._wake.set()
        if self._send_task is not None:
            await asyncio.shield(self._send_task)
        elif self.state.is_alive():
            self.cnxn.closed(self._now())
            self._dispatch()
        if self._event_task is not None and asyncio.current_task() is not self._event_task:
            await asyncio.shield(self._event_task)

    # -- the send task: SendThread.run ------------------------------------------------------

    def _now(self) -> float:
        return time.monotonic() * 1000.0

    async def _send_loop(self) -> None:
        cnxn = self.cnxn
        try:
            while cnxn.state.is_alive() and not self._stop:
                if self._writer is None:
                    if cnxn.closing:
                        break  # don't re-establish the connection if we are closing
                    await self._connect()
                    continue
                try:
                    to = cnxn.tick(self._now())
                    data = cnxn.data_to_send(self._now())
                    if data:
                        self._writer.write(data)
                    self._dispatch()
                    if self._io_error is None and cnxn.state.is_alive() and not self._stop:
                        self._wake.clear()
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._wake.wait(), max(to, 1.0) / 1000.0)
                    if self._io_error is not None:
                        raise self._io_error
                except (ClientCnxnError, OSError, EOFError) as e:
                    if cnxn.closing:
                        break  # the server closes the socket after closeSession: expected
                    self._drop_connection()
                    cnxn.connection_lost(self._now(), f"{type(e).__name__}: {e}")
                    self._dispatch()
        finally:
            self._drop_connection()
            cnxn.closed(self._now())
            self._dispatch()

    async def _connect(self) -> None:
        cnxn = self.cnxn
        (host, port), delay = cnxn.start_connect(self._now())
        self._dispatch()
        if delay:
            self._wake.clear()
            with contextlib.suppress(TimeoutError):  # close() during the pause ends it at once
                await asyncio.wait_for(self._wake.wait(), delay / 1000.0)
            if self._stop or cnxn.closing:
                return
        try:
            to = cnxn.tick(self._now())
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), to / 1000.0)
        except (ClientCnxnError, OSError, TimeoutError) as e:
            cnxn.connection_lost(self._now(), f"connect to {host}:{port}: {type(e).__name__}: {e}")
            self._dispatch()
            return
        self._writer = writer
        self._io_error = None
        cnxn.tcp_connected(self._now())
        self._reader_task = asyncio.create_task(self._read_loop(reader), name="zk-client-read")
        self._dispatch()

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    raise EOFError(
                        f"Unable to read additional data from server sessionid 0x{self.cnxn.session_id:x}, "
                        "likely server has closed socket"
                    )
                self.cnxn.data_received(data, self._now())
                self._dispatch()
                self._wake.set()
        except asyncio.CancelledError:
            raise
        except (ClientCnxnError, OSError, EOFError) as e:
            self._dispatch()  # what the core queued before the error
            self._io_error = e
            self._wake.set()

    def _drop_connection(self) -> None:
        if self._reader_task is not None:
            self._reader_task.cancel()
            self._reader_task = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._io_error = None

    def _dispatch(self) -> None:
        """Carry the core's outputs out: complete futures, queue events for the event task."""
        for out in self.cnxn.events():
            if isinstance(out, PacketFinished):
                fut = out.packet.ctx
                if isinstance(fut, asyncio.Future) and not fut.done():
                    fut.set_result(out.packet)
            else:
                self._events.put_nowait(out)
        self._changed.set()

    # -- the event task: EventThread.run -------------------------------------------------------

    async def _event_loop(self) -> None:
        while True:
            item = await self._events.get()
            if isinstance(item, EventOfDeath):
                return
            ev = item.event
            if self.tracer.enabled:
                self.tracer.emit(
                    "client.event.delivered",
                    type=ev.type.name,
                    state=ev.state.name,
                    path=ev.path,
                    watchers=len(item.watchers),
                )
            for watcher in item.watchers:
                try:
                    result = watcher(ev)
                    if inspect.isawaitable(result):
                        await result
                except Exception:
                    log.exception("Error while calling watcher.")

    # -- submitting: ClientCnxn.submitRequest ---------------------------------------------------

    async def _submit(self, packet: Packet) -> Packet:
        while self.cnxn.outstanding >= self.max_outstanding and self.state.is_alive():
            self._changed.clear()
            await self._changed.wait()  # room comes with replies (or the loss of the connection)
        fut: asyncio.Future[Packet] = asyncio.get_running_loop().create_future()
        packet.ctx = fut
        self.cnxn.queue_packet(packet)
        self._dispatch()
        self._wake.set()
        return await fut

    async def _call(
        self,
        op: OpCode,
        request: Any,
        client_path: str | None,
        watch: WatchRegistration | None = None,
        unwatch: WatchDeregistration | None = None,
    ) -> Packet:
        server_path = prepend_chroot(self.chroot, client_path) if client_path is not None else None
        response_type = MultiResponse if op in (OpCode.multi, OpCode.multiRead) else RESPONSE_RECORDS.get(op)
        p = Packet(op, request, response_type, client_path=client_path, server_path=server_path)
        p.watch_registration, p.watch_deregistration = watch, unwatch
        return await self._submit(p)

    def _server(self, client_path: str) -> str:
        return prepend_chroot(self.chroot, client_path)

    def _watcher(self, watch: bool | Watcher) -> Watcher | None:
        if watch is True:
            return self.cnxn.watch_manager.default_watcher
        if watch is False:
            return None
        return watch

    @staticmethod
    def _check(p: Packet, path: str | None) -> None:
        if p.err != Code.OK:
            raise exception_for(p.err, path)

    # -- the API ------------------------------------------------------------------------

    async def create(
        self,
        path: str,
        data: bytes = b"",
        acl: list[ACL] | None = None,
        mode: CreateMode = CreateMode.PERSISTENT,
        *,
        ttl: int = -1,
    ) -> str:
        """Create a node; returns its path (with the sequence number, if sequential).
        ``acl`` defaults to OPEN_ACL_UNSAFE."""
        path, _ = await self._create(path, data, acl, mode, ttl, with_stat=False)
        return path

    async def create2(
        self,
        path: str,
        data: bytes = b"",
        acl: list[ACL] | None = None,
        mode: CreateMode = CreateMode.PERSISTENT,
        *,
        ttl: int = -1,
    ) -> tuple[str, Stat]:
        """Create a node; returns its path and Stat (Java's create with a Stat argument)."""
        path, stat = await self._create(path, data, acl, mode, ttl, with_stat=True)
        assert stat is not None
        return path, stat

    async def _create(
        self, path: str, data: bytes, acl: list[ACL] | None, mode: CreateMode, ttl: int, with_stat: bool
    ) -> tuple[str, Stat | None]:
        validate_path(path, mode.is_sequential)
        _validate_ttl(mode, ttl)
        acl = _validate_acl(OPEN_ACL_UNSAFE if acl is None else acl)
        op = create_opcode(mode, with_stat)
        server_path = self._server(path)
        request: CreateRequest | CreateTTLRequest
        if op is OpCode.createTTL:
            request = CreateTTLRequest(server_path, data, acl, int(mode), ttl)
        else:
            request = CreateRequest(server_path, data, acl, int(mode))
        p = await self._call(op, request, path)
        self._check(p, path)
        return strip_chroot(self.chroot, p.response.path), getattr(p.response, "stat", None)

    async def delete(self, path: str, version: int = -1) -> None:
        """Delete a node if its version matches (-1: any version)."""
        validate_path(path)
        self._check(await self._call(OpCode.delete, DeleteRequest(self._server(path), version), path), path)

    async def exists(self, path: str, watch: bool | Watcher = False) -> Stat | None:
        """The node's Stat, or None. A watch is set either way: on a missing node it fires
        NodeCreated."""
        validate_path(path)
        w = self._watcher(watch)
        reg = WatchRegistration(WatchKind.EXIST, path, w) if w is not None else None
        p = await self._call(OpCode.exists, ExistsRequest(self._server(path), w is not None), path, reg)
        if p.err == Code.NONODE:
            return None
        self._check(p, path)
        stat: Stat = p.response.stat
        return None if stat.czxid == -1 else stat

    async def get_data(self, path: str, watch: bool | Watcher = False) -> tuple[bytes, Stat]:
        """The node's data and Stat; the watch fires on NodeDataChanged or NodeDeleted."""
        validate_path(path)
        w = self._watcher(watch)
        reg = WatchRegistration(WatchKind.DATA, path, w) if w is not None else None
        p = await self._call(OpCode.getData, GetDataRequest(self._server(path), w is not None), path, reg)
        self._check(p, path)
        return p.response.data or b"", p.response.stat

    async def set_data(self, path: str, data: bytes, version: int = -1) -> Stat:
        """Set the data if the version matches (-1: any); returns the new Stat."""
        validate_path(path)
        p = await self._call(OpCode.setData, SetDataRequest(self._server(path), data, version), path)
        self._check(p, path)
        stat: Stat = p.response.stat
        return stat

    async def get_acl(self, path: str) -> tuple[list[ACL], Stat]:
        """The node's ACL and Stat."""
        validate_path(path)
        p = await self._call(OpCode.getACL, GetACLRequest(self._server(path)), path)
        self._check(p, path)
        return list(p.response.acl or []), p.response.stat

    async def set_acl(self, path: str, acl: list[ACL], version: int = -1) -> Stat:
        """Set the ACL if the ACL version (aversion) matches (-1: any)."""
        validate_path(path)
        acl = _validate_acl(acl)
        p = await self._call(OpCode.setACL, SetACLRequest(self._server(path), acl, version), path)
        self._check(p, path)
        stat: Stat = p.response.stat
        return stat

    async def get_children(self, path: str, watch: bool | Watcher = False) -> list[str]:
        """The names of the node's children (unsorted, as the server keeps them)."""
        validate_path(path)
        w = self._watcher(watch)
        reg = WatchRegistration(WatchKind.CHILD, path, w) if w is not None else None
        p = await self._call(OpCode.getChildren, GetChildrenRequest(self._server(path), w is not None), path, reg)
        self._check(p, path)
        return list(p.response.children or [])

    async def get_children2(self, path: str, watch: bool | Watcher = False) -> tuple[list[str], Stat]:
        """The children and the node's Stat (Java's getChildren with a Stat argument)."""
        validate_path(path)
        w = self._watcher(watch)
        reg = WatchRegistration(WatchKind.CHILD, path, w) if w is not None else None
        p = await self._call(OpCode.getChildren2, GetChildren2Request(self._server(path), w is not None), path, reg)
        self._check(p, path)
        return list(p.response.children or []), p.response.stat

    async def get_all_children_number(self, path: str) -> int:
        """How many nodes are below this one, at every depth."""
        validate_path(path)
        p = await self._call(OpCode.getAllChildrenNumber, GetAllChildrenNumberRequest(self._server(path)), path)
        self._check(p, path)
        n: int = p.response.totalNumber
        return n

    async def get_ephemerals(self, prefix_path: str = "/") -> list[str]:
        """This session's ephemeral nodes whose path starts with ``prefix_path``.

        Java sends the prefix without the chroot and returns server paths; we apply the
        chroot both ways, like every other call.
        """
        validate_path(prefix_path)
        p = await self._call(OpCode.getEphemerals, GetEphemeralsRequest(self._server(prefix_path)), prefix_path)
        self._check(p, prefix_path)
        paths = [strip_chroot(self.chroot, s) for s in p.response.ephemerals or []]
        if self.chroot is not None:
            paths = [s for s in paths if s.startswith("/")]
        return paths

    async def sync(self, path: str) -> str:
        """Wait until the server this client talks to has every write the leader had
        committed when the sync reached it; returns the path."""
        validate_path(path)
        p = await self._call(OpCode.sync, SyncRequest(self._server(path)), path)
        self._check(p, path)
        return strip_chroot(self.chroot, p.response.path or path)

    async def multi(self, ops: Iterable[Op]) -> list[OpResult]:
        """Run write ops atomically; raises the first failure's exception, with
        ``exc.results`` (every op's result) attached."""
        ops = list(ops)
        if not ops:
            return []
        opcode, request = make_multi_request(ops, self.chroot)
        if opcode is not OpCode.multi:
            raise ValueError("multi takes writes (create, delete, set_data, check); use multi_read for reads")
        p = await self._call(opcode, request, None)
        self._check(p, None)
        results = op_results(p.response, self.chroot)
        for op, res in zip(ops, results, strict=False):
            err = getattr(res, "err", 0)
            if err != Code.OK:
                exc = exception_for(err, op.path)
                exc.results = results  # type: ignore[attr-defined]  # KeeperException.getResults
                raise exc
        return results

    async def multi_read(self, ops: Iterable[Op]) -> list[OpResult]:
        """Run get_data / get_children ops together; each result may be an ErrorResult."""
        ops = list(ops)
        if not ops:
            return []
        opcode, request = make_multi_request(ops, self.chroot)
        if opcode is not OpCode.multiRead:
            raise ValueError("multi_read takes Op.get_data and Op.get_children only")
        p = await self._call(opcode, request, None)
        self._check(p, None)
        return op_results(p.response, self.chroot)

    def transaction(self) -> Transaction:
        """A builder for a multi: ``await zk.transaction().create(...).delete(...).commit()``."""
        return Transaction(self)

    async def add_watch(self, path: str, watcher: Watcher, mode: AddWatchMode) -> None:
        """Set a persistent watch (and, RECURSIVE, on every node below) that stays until
        removed; it does not need the node to exist."""
        validate_path(path)
        kind = WatchKind.PERSISTENT if mode is AddWatchMode.PERSISTENT else WatchKind.PERSISTENT_RECURSIVE
        reg = WatchRegistration(kind, path, watcher)
        p = await self._call(OpCode.addWatch, AddWatchRequest(self._server(path), int(mode)), path, reg)
        self._check(p, path)

    async def remove_watches(self, path: str, watcher: Watcher, watcher_type: WatcherType, local: bool = False) -> None:
        """Remove one watcher (checkWatches). Its watcher gets DataWatchRemoved,
        ChildWatchRemoved or PersistentWatchRemoved. With ``local``, it is removed here
        even if the server cannot be told."""
        await self._remove_watches(OpCode.checkWatches, path, watcher, watcher_type, local)

    async def remove_all_watches(self, path: str, watcher_type: WatcherType, local: bool = False) -> None:
        """Remove every watcher of a type on a path (removeWatches)."""
        await self._remove_watches(OpCode.removeWatches, path, None, watcher_type, local)

    async def _remove_watches(
        self, op: OpCode, path: str, watcher: Watcher | None, watcher_type: WatcherType, local: bool
    ) -> None:
        validate_path(path)
        unwatch = WatchDeregistration(path, watcher, int(watcher_type), local)
        server_path = self._server(path)
        request = (
            CheckWatchesRequest(server_path, int(watcher_type))
            if op is OpCode.checkWatches
            else RemoveWatchesRequest(server_path, int(watcher_type))
        )
        self._check(await self._call(op, request, path, unwatch=unwatch), path)

    async def add_auth_info(self, scheme: str, auth: bytes) -> None:
        """Add credentials to the session (``digest``, ``user:password``). They are sent
        again after every reconnect. Returns once the server answered, or once the
        connection was lost (the reconnect sends them first).

        Raises:
            AuthFailedException: the server refused them; the client is now AUTH_FAILED.
        """
        fut: asyncio.Future[Packet] = asyncio.get_running_loop().create_future()
        packet = self.cnxn.add_auth_info(scheme, auth, ctx=fut)
        self._dispatch()
        self._wake.set()
        if packet is None:
            return
        self._check(await fut, None)

    async def who_am_i(self) -> list[ClientInfo]:
        """The identities the server holds for this session (``whoAmI``)."""
        p = await self._call(OpCode.whoAmI, None, None)
        self._check(p, None)
        return list(p.response.clientInfo or [])


class Transaction:
    """A multi, built one call at a time. Mirrors org.apache.zookeeper.Transaction."""

    def __init__(self, zk: ZooKeeper) -> None:
        self._zk = zk
        self.ops: list[Op] = []

    def create(
        self,
        path: str,
        data: bytes = b"",
        acl: list[ACL] | None = None,
        mode: CreateMode = CreateMode.PERSISTENT,
        ttl: int = -1,
    ) -> Transaction:
        self.ops.append(Op.create(path, data, acl, mode, ttl))
        return self

    def delete(self, path: str, version: int = -1) -> Transaction:
        self.ops.append(Op.delete(path, version))
        return self

    def set_data(self, path: str, data: bytes, version: int = -1) -> Transaction:
        self.ops.append(Op.set_data(path, data, version))
        return self

    def check(self, path: str, version: int) -> Transaction:
        self.ops.append(Op.check(path, version))
        return self

    async def commit(self) -> list[OpResult]:
        return await self._zk.multi(self.ops)
