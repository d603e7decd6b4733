"""QuorumCnxManager: one TCP connection per pair of servers on the election port.

The shell around the election core. Each server listens on its election port and
connects to every other voter. Two servers that connect to each other at once would
end up with two connections, so ZooKeeper keeps only the one opened by the server with
the *higher* id:

* we connect to a higher id: we send our initial message and hang up; it connects back;
* a lower id connects to us: we read its initial message, hang up, and connect to it;
* otherwise the connection stays, with a send task and a receive task.

Each peer has a send queue of one message (a newer notification replaces an older one
still waiting: a stale vote is worth nothing) and we remember the last message sent,
to send again on a new connection. Received messages go straight to ``on_message``.

A peer whose id is not in our configuration and above ours is accepted, as ZooKeeper
accepts it: it is a non-voter (an observer of another configuration, or a tool asking
for our vote), and the election answers each of its notifications with our current vote.
Its queue goes with its connection. One whose unknown id is below ours is refused:
ZooKeeper would hang up and connect to the address its initial message names, and we
do not connect to addresses a stranger gives us.

Bad input is the peer's fault and costs it its connection, with a log line: a wrong
protocol version, an address length outside 1..2048, an address that is not
``host:port``, a message length outside 1..512 KiB, or nothing at all within the
connect timeout.

Mirrors: org.apache.zookeeper.server.quorum.QuorumCnxManager (Listener,
receiveConnection / handleConnection, initiateConnection / startConnection, connectOne,
connectAll, toSend, haveDelivered, SendWorker, RecvWorker). We differ: no SASL or TLS,
one address per server, asyncio tasks instead of threads.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import struct
from collections.abc import Callable, Coroutine, Mapping

from zk.election.messages import (
    MAX_BUFFER,
    PACKETMAXSIZE,
    ElectionWireError,
    InitialMessage,
    encode_initial_message,
    frame,
    parse_initial_message,
)
from zk.election.quorum import QuorumServerLike
from zk.trace import NULL_TRACER, Tracer

__all__ = ["DEFAULT_CNX_TIMEOUT", "MAX_PENDING_HANDSHAKES", "QuorumCnxManager"]

log = logging.getLogger(__name__)

DEFAULT_CNX_TIMEOUT = 5.0
"""Seconds to connect, and to read a peer's initial message (zookeeper.cnxTimeout)."""

MAX_PENDING_HANDSHAKES = 64
"""Inbound connections that may be in their handshake at once; more are closed."""

SEND_CAPACITY = 1
"""Messages waiting per peer (QuorumCnxManager.SEND_CAPACITY): the newest wins."""


class _Connection:
    """One live connection to a peer: its send and receive tasks (SendWorker/RecvWorker)."""

    def __init__(self, mgr: QuorumCnxManager, sid: int, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:  # fmt: skip
        self.mgr, self.sid, self.reader, self.writer = mgr, sid, reader, writer
        self.running = True
        self.tasks = [
            asyncio.ensure_future(self._send_loop()),
            asyncio.ensure_future(self._recv_loop()),
        ]

    async def _send_loop(self) -> None:
        mgr = self.mgr
        queue = mgr.queue_send[self.sid]
        wake = mgr.wake[self.sid]
        try:
            if not queue and self.sid in mgr.last_message_sent:
                await self._send(mgr.last_message_sent[self.sid])
            while self.running:
                if not queue:
                    wake.clear()
                    await wake.wait()
                    continue
                body = queue.popleft()
                mgr.last_message_sent[self.sid] = body
                await self._send(body)
        except (OSError, ConnectionError) as e:
            log.warning("Exception when using channel: for id %d my id = %d: %s", self.sid, mgr.my_id, e)
        finally:
            self.finish()

    async def _send(self, body: bytes) -> None:
        self.writer.write(frame(body))
        await self.writer.drain()

    async def _recv_loop(self) -> None:
        mgr = self.mgr
        try:
            while self.running:
                (length,) = struct.unpack(">i", await self.reader.readexactly(4))
                if length <= 0 or length > PACKETMAXSIZE:
                    log.warning("Received packet with invalid packet: %d from sid %d; closing", length, self.sid)
                    return
                body = await self.reader.readexactly(length)
                mgr.deliver(self.sid, body)
        except (asyncio.IncompleteReadError, OSError, ConnectionError) as e:
            if self.running:
                log.warning("Connection broken for id %d, my id = %d: %r", self.sid, mgr.my_id, e)
        finally:
            self.finish()

    def finish(self) -> None:
        if not self.running:
            return
        self.running = False
        self.writer.close()
        for task in self.tasks:
            if task is not asyncio.current_task():
                task.cancel()
        if self.mgr.connections.get(self.sid) is self:
            del self.mgr.connections[self.sid]
            self.mgr.on_disconnect(self.sid)
            if self.sid not in self.mgr.view:  # a non-voter: nothing to reconnect to
                self.mgr.forget(self.sid)


class QuorumCnxManager:
    """The election port of one server.

    Args:
        my_id: Our server id.
        view: Every ``server.N`` (id → its line), observers included.
        on_message: Called with ``(sid, body)`` for every message received, and for the
            messages we send to ourselves.
        listen_host: Where to listen (our election address, or 0.0.0.0).
        cnx_timeout: Seconds for connecting and for a peer's initial message.
        bind_retry: Attempts to bind the election port (electionPortBindRetry; 0: forever).
        tracer: Where ``qcm.*`` events go.

    Mirrors: org.apache.zookeeper.server.quorum.QuorumCnxManager.
    """

    def __init__(
        self,
        my_id: int,
        view: Mapping[int, QuorumServerLike],
        on_message: Callable[[int, bytes], None],
        *,
        listen_host: str | None = None,
        cnx_timeout: float = DEFAULT_CNX_TIMEOUT,
        bind_retry: int = 3,
        tracer: Tracer = NULL_TRACER,
    ) -> None:
        if my_id not in view:
            raise ValueError(f"My id {my_id} not in the peer list")
        self.my_id = my_id
        self.view = dict(view)
        self.on_message = on_message
        me = view[my_id]
        self.election_addr = (me.host, me.election_port)
        self.listen_host = listen_host or me.host
        self.cnx_timeout = cnx_timeout
        self.bind_retry = bind_retry
        self.tracer = tracer
        self.connections: dict[int, _Connection] = {}
        self.queue_send: dict[int, collections.deque[bytes]] = {}
        self.wake: dict[int, asyncio.Event] = {}
        self.last_message_sent: dict[int, bytes] = {}
        self.in_progress: set[int] = set()
        self.on_disconnect: Callable[[int], None] = lambda sid: None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._pending_handshakes = 0
        self.shutdown = False

    # --- life cycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Bind the election port (Listener), retrying once a second."""
        attempt = 0
        while True:
            attempt += 1
            try:
                self._server = await asyncio.start_server(
                    self._receive_connection, self.listen_host, self.election_addr[1], reuse_address=True
                )
                break
            except OSError as e:
                log.error("Exception while listening to address %s:%d: %s", self.listen_host, self.election_addr[1], e)
                if self.bind_retry and attempt >= self.bind_retry:
                    raise
                await asyncio.sleep(1)
        log.info("%d is accepting connections now, my election bind port: %s:%d", self.my_id, *self.election_addr)

    async def halt(self) -> None:
        self.shutdown = True
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections.values()):
            conn.finish()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, coro: Coroutine[object, object, None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- sending -----------------------------------------------------------------------

    def to_send(self, sid: int, body: bytes) -> None:
        """Queue `body` for `sid` (to ourselves: hand it to on_message on the next turn)."""
        if sid == self.my_id:
            asyncio.get_running_loop().call_soon(self.deliver, sid, body)
            return
        queue = self.queue_send.setdefault(sid, collections.deque(maxlen=SEND_CAPACITY))
        queue.append(body)  # maxlen 1: a newer vote replaces one not yet sent
        self.wake.setdefault(sid, asyncio.Event()).set()
        self.connect_one(sid)

    def forget(self, sid: int) -> None:
        """Drop what we keep for a non-voter once its connection is gone."""
        self.queue_send.pop(sid, None)
        self.wake.pop(sid, None)
        self.last_message_sent.pop(sid, None)

    def deliver(self, sid: int, body: bytes) -> None:
        if not self.shutdown:
            self.on_message(sid, body)

    def have_delivered(self) -> bool:
        """Some peer's queue is empty: our messages get out (QuorumCnxManager.haveDelivered)."""
        return any(not q for q in self.queue_send.values())

    def connected_to(self, sid: int) -> bool:
        return sid in self.connections

    def connect_all(self) -> None:
        for sid in list(self.queue_send):
            self.connect_one(sid)

    def connect_one(self, sid: int) -> None:
        """Open a connection to `sid` unless one is up or on its way."""
        if self.shutdown or sid in self.connections or sid in self.in_progress:
            return
        if sid not in self.view:
            log.warning("Invalid server id: %d", sid)
            return
        self.in_progress.add(sid)
        self._spawn(self._initiate_connection(sid))

    async def _initiate_connection(self, sid: int) -> None:
        server = self.view[sid]
        try:
            try:
                async with asyncio.timeout(self.cnx_timeout):
                    reader, writer = await asyncio.open_connection(server.host, server.election_port)
            except (OSError, TimeoutError) as e:
                log.debug("Cannot open channel to %d at election address %s:%d: %s", sid, server.host,
                          server.election_port, e)  # fmt: skip
                return
            writer.write(encode_initial_message(InitialMessage(self.my_id, (self.election_addr,))))
            try:
                await writer.drain()
            except OSError as e:
                log.warning("Ignoring exception reading or writing challenge: %s", e)
                writer.close()
                return
            if sid > self.my_id:
                log.info("Have smaller server identifier, so dropping the connection: (myId:%d --> sid:%d)",
                         self.my_id, sid)  # fmt: skip
                writer.close()
                return
            self._start_workers(sid, reader, writer)
        finally:
            self.in_progress.discard(sid)

    # --- receiving connections ------------------------------------------------------------

    async def _receive_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        if self._pending_handshakes >= MAX_PENDING_HANDSHAKES:
            log.warning("Too many election connections in handshake; closing %s", peer)
            writer.close()
            return
        self._pending_handshakes += 1
        try:
            async with asyncio.timeout(self.cnx_timeout):
                init = await self._read_initial_message(reader)
        except (ElectionWireError, asyncio.IncompleteReadError, OSError, TimeoutError) as e:
            log.error("Initial message parsing error from %s, closing: %r", peer, e)
            if self.tracer.enabled:
                self.tracer.emit("qcm.refused", peer=str(peer), reason=str(e))
            writer.close()
            return
        finally:
            self._pending_handshakes -= 1
        sid = init.sid
        if sid not in self.view:
            if sid < self.my_id:
                log.error("Refusing election connection from %s: server id %d is not in the configuration and "
                          "below ours, and we do not connect to the address it names", peer, sid)  # fmt: skip
                if self.tracer.enabled:
                    self.tracer.emit("qcm.refused", peer=str(peer), reason=f"unknown sid {sid}")
                writer.close()
                return
            log.info("Election connection from %s: server id %d is not in the configuration, "
                     "a non-voter that gets our vote back", peer, sid)  # fmt: skip
        if sid < self.my_id:
            # we win the challenge: drop theirs, connect to them ourselves
            old = self.connections.get(sid)
            if old is not None:
                old.finish()
            writer.close()
            self.connect_one(sid)
        elif sid == self.my_id:
            log.warning("We got a connection request from a server with our own ID. "
                        "This should be either a configuration error, or a bug.")  # fmt: skip
            writer.close()
        else:
            self._start_workers(sid, reader, writer)

    async def _read_initial_message(self, reader: asyncio.StreamReader) -> InitialMessage:
        data = b""
        while True:
            parsed = parse_initial_message(data)
            if parsed is not None:
                return parsed[0]
            if len(data) >= 20 + MAX_BUFFER:
                raise ElectionWireError("initial message too long")
            need = 8 if len(data) < 8 else (20 if len(data) < 20 else 20 + struct.unpack_from(">i", data, 16)[0])
            data += await reader.readexactly(need - len(data))

    def _start_workers(self, sid: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.shutdown:
            writer.close()
            return
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                import socket

                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        old = self.connections.get(sid)
        if old is not None:
            old.finish()
        self.queue_send.setdefault(sid, collections.deque(maxlen=SEND_CAPACITY))
        self.wake.setdefault(sid, asyncio.Event())
        self.connections[sid] = _Connection(self, sid, reader, writer)
        log.info("Connected to server %d on the election port", sid)
        if self.tracer.enabled:
            self.tracer.emit("qcm.connected", peer=sid)
