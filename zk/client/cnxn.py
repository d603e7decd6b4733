"""ClientCnxn: the client's connection to an ensemble, as a pure state machine.

Theory of operation. Java's ClientCnxn runs two threads around two queues::

    API call --queuePacket--> outgoingQueue --SendThread writes, xid=n--> pendingQueue
                                                                              |
    EventThread <--watch events, state events-- SendThread reads replies <----+

This class is everything those threads decide, with the threads taken out. It takes
inputs — bytes read, the clock, "the TCP connect worked", "the socket died", API calls —
and hands back outputs: bytes to write (:meth:`data_to_send`) and, from
:meth:`events`, the events for the event task and the packets that are done. The asyncio
shell (:mod:`zk.client.zookeeper`) owns the socket, the timers and the tasks.

The rules it keeps, each from the Java:

* **Xids in order.** A packet gets its xid when it is written (not when queued), so xids
  rise in write order; the server answers in that order, so the reply at the head of the
  stream always belongs to the head of the pending queue. Anything else is a protocol
  error that ends the connection (``readResponse``: "Xid out of order").
* **The handshake first.** On a new socket only the ConnectRequest is written; the rest of
  the outgoing queue waits for the ConnectResponse (``ClientCnxnSocketNIO.doIO``).
  Behind the ConnectRequest go the auth packets and the setWatches batches, in front
  of every request queued while disconnected (``primeConnection``).
* **Same session after a reconnect.** The ConnectRequest carries the session id and
  password from the last ConnectResponse, and the last zxid seen. A server that no longer
  knows the session answers timeOut 0: the session is Expired, the client CLOSED.
* **Watches survive a reconnect.** setWatches (setWatches2 if any persistent watch exists)
  lists every watched path and the last zxid seen; the server fires at once any watch
  whose node changed after that zxid.
* **Timeouts.** ``readTimeout = sessionTimeout * 2 / 3``: hearing nothing for that long
  ends the connection. A ping goes out when nothing was sent for ``readTimeout / 2``
  (a second earlier once idle for over a second, and at least every 10 seconds).
  ``connectTimeout = sessionTimeout / number of hosts`` bounds an attempt to connect.
* **Losing the connection** fails every outgoing and pending packet with CONNECTIONLOSS
  (SESSIONEXPIRED once CLOSED, AUTHFAILED once AUTH_FAILED) and queues a Disconnected
  event; consecutive state events of the same state are queued once (EventThread).

Time is an argument, in milliseconds (``now``); the core reads no clock.

Mirrors: org.apache.zookeeper.ClientCnxn (SendThread.primeConnection, readResponse,
onConnected, run's timer arithmetic, cleanup, conLossPacket, finishPacket,
queuePacket, EventThread.queueEvent).
"""

from __future__ import annotations

import dataclasses
import random
from collections import deque
from typing import Any

from zk.client.host_provider import StaticHostProvider, strip_chroot
from zk.client.packet import Packet, encode_connect_request, parse_connect_response
from zk.client.states import Input, States, transition
from zk.client.watch_manager import Watcher, ZKWatchManager
from zk.jute.codec import JuteError, Reader
from zk.jute.records import AuthPacket, ConnectRequest, ReplyHeader, SetWatches, SetWatches2, WatcherEvent
from zk.protocol.constants import (
    AUTHPACKET_XID,
    NOTIFICATION_XID,
    PING_XID,
    EventType,
    KeeperState,
    OpCode,
    WatcherType,
)
from zk.protocol.errors import Code, KeeperException, NoWatcherException
from zk.protocol.framing import FrameDecoder, FrameError
from zk.trace.tracer import NULL_TRACER, Tracer
from zk.watch.events import WatchedEvent

__all__ = [
    "MAX_SEND_PING_INTERVAL",
    "RECONNECT_DELAY_MS",
    "SET_WATCHES_MAX_LENGTH",
    "SPIN_DELAY_MS",
    "ClientCnxn",
    "ClientCnxnError",
    "EventOfDeath",
    "PacketFinished",
    "ProtocolError",
    "SessionExpiredError",
    "SessionTimeoutError",
    "WatcherSetEventPair",
]

MAX_SEND_PING_INTERVAL = 10_000  # ms: ping at least this often, however long readTimeout
SET_WATCHES_MAX_LENGTH = 128 * 1024  # characters of paths per setWatches packet
SPIN_DELAY_MS = 1000  # StaticHostProvider.next(1000): pause after a round of failures
RECONNECT_DELAY_MS = 1000  # startConnect: a random pause in [0, 1000) before a reconnect
EMPTY_PASSWORD = bytes(16)


class ClientCnxnError(Exception):
    """The connection must be closed; the shell closes it and calls connection_lost."""


class ProtocolError(ClientCnxnError):
    """The server's bytes broke the protocol (bad framing, a reply out of xid order)."""


class SessionTimeoutError(ClientCnxnError):
    """Nothing heard from the server within the read (or connect) timeout."""


class SessionExpiredError(ClientCnxnError):
    """The server refused to resume the session: it has expired. The client is CLOSED."""


@dataclasses.dataclass(frozen=True, slots=True)
class WatcherSetEventPair:
    """One event and the watchers it goes to, for the event task (in this order)."""

    watchers: tuple[Watcher, ...]
    event: WatchedEvent


@dataclasses.dataclass(frozen=True, slots=True)
class PacketFinished:
    """A packet is done: its reply arrived, or the connection was lost first."""

    packet: Packet


@dataclasses.dataclass(frozen=True, slots=True)
class EventOfDeath:
    """The last output: the client is closed; the event task ends after this."""


Output = WatcherSetEventPair | PacketFinished | EventOfDeath


class ClientCnxn:
    """The connection core. See the module docstring for the rules it keeps.

    Args:
        host_provider: the servers to try (shuffled connect string).
        session_timeout: the timeout to ask for, in ms.
        chroot: the chroot of the connect string, or None.
        default_watcher: gets state changes and the events of ``watch=True`` requests.
        session_id: resume this session instead of making a new one.
        session_passwd: its password (from the ConnectResponse that made it).
        can_be_read_only: accept a read-only server (ConnectRequest.readOnly).
        rng: randomness for the reconnect delay.
        reconnect_delay: the bound of the random pause before each reconnect, in ms.
        tracer: receives ``client.*`` events.

    Mirrors: org.apache.zookeeper.ClientCnxn.
    """

    def __init__(
        self,
        host_provider: StaticHostProvider,
        session_timeout: int,
        *,
        chroot: str | None = None,
        default_watcher: Watcher | None = None,
        session_id: int = 0,
        session_passwd: bytes = EMPTY_PASSWORD,
        can_be_read_only: bool = False,
        rng: random.Random | None = None,
        reconnect_delay: int = RECONNECT_DELAY_MS,
        tracer: Tracer = NULL_TRACER,
    ) -> None:
        self.host_provider = host_provider
        self.session_timeout = session_timeout
        self.chroot = chroot
        self.watch_manager = ZKWatchManager(default_watcher)
        self.session_id = session_id
        self.session_passwd = session_passwd
        self.read_only = can_be_read_only
        self.rng = rng or random.Random()
        self.reconnect_delay = reconnect_delay
        self.tracer = tracer

        self.state = States.NOT_CONNECTED
        self.negotiated_session_timeout = 0
        self.connect_timeout = session_timeout // host_provider.size()
        self.read_timeout = session_timeout * 2 // 3
        # A session id from the caller counts as "seen on a read-write server".
        self.seen_rw_server_before = session_id != 0
        self.last_zxid = 0
        self.xid = 1
        self.closing = False
        self.is_first_connect = True
        self.server: tuple[str, int] | None = None

        self.outgoing_queue: deque[Packet] = deque()
        self.pending_queue: deque[Packet] = deque()
        self.auth_info: list[tuple[str, bytes]] = []
        self._auth_in_flight: deque[Packet] = deque()  # written auth packets, oldest first
        self._outputs: list[Output] = []
        self._session_state = KeeperState.Disconnected  # EventThread.sessionState
        self._decoder = FrameDecoder()
        self._connect_request: bytes | None = None  # written first on a new socket
        self._initialized = False  # the ConnectResponse has arrived on this socket
        self.last_send = 0.0
        self.last_heard = 0.0

    # -- small helpers ---------------------------------------------------------------

    def _trace(self, event: str, **fields: object) -> None:
        if self.tracer.enabled:
            self.tracer.emit(event, outgoing=len(self.outgoing_queue), pending=len(self.pending_queue), **fields)

    def _change_state(self, event: Input) -> None:
        old = self.state
        self.state = transition(old, event)
        if self.tracer.enabled and old is not self.state:
            self.tracer.emit("client.state.changed", old=old.name, new=self.state.name, input=event.name)

    def get_xid(self) -> int:
        """The next xid: 1, 2, ... and from 2**31-1 back to 1 (never a special xid)."""
        if self.xid == 2**31 - 1:
            self.xid = 1
        xid = self.xid
        self.xid += 1
        return xid

    @property
    def outstanding(self) -> int:
        """Packets queued or awaiting a reply."""
        return len(self.outgoing_queue) + len(self.pending_queue)

    def events(self) -> list[Output]:
        """Take every output produced since the last call, in order."""
        out, self._outputs = self._outputs, []
        return out

    def queue_event(self, event: WatchedEvent, watchers: list[Watcher] | None = None) -> None:
        """Hand an event to the event task, with the watchers it goes to.

        A state event (type NONE) of the state last queued is dropped, so a string of
        failed reconnects gives one Disconnected (EventThread.queueEvent).
        """
        if event.type is EventType.NONE:
            if event.state == self._session_state:
                return
            self._session_state = event.state
        if watchers is None:
            watchers = self.watch_manager.materialize(event.state, event.type, event.path)
        self._trace(
            "client.event.queued", type=event.type.name, state=event.state.name, path=event.path, watchers=len(watchers)
        )
        self._outputs.append(WatcherSetEventPair(tuple(watchers), event))

    # -- API side: queuePacket ------------------------------------------------------------

    def queue_packet(self, packet: Packet) -> Packet:
        """Queue a request (ClientCnxn.queuePacket). On a closed or closing client it
        fails at once: CONNECTIONLOSS, or SESSIONEXPIRED / AUTHFAILED as the state says."""
        if not self.state.is_alive() or self.closing:
            self._con_loss_packet(packet)
            return packet
        if packet.op is OpCode.closeSession:
            self.closing = True
        self.outgoing_queue.append(packet)
        self._trace("client.packet.queued", op=packet.op.name, path=packet.client_path)
        return packet

    def add_auth_info(self, scheme: str, auth: bytes, ctx: Any = None) -> Packet | None:
        """Remember credentials (sent again on every reconnect) and queue them now."""
        if not self.state.is_alive():
            return None
        self.auth_info.append((scheme, auth))
        packet = Packet(OpCode.auth, AuthPacket(0, scheme, auth), xid=AUTHPACKET_XID, ctx=ctx)
        return self.queue_packet(packet)

    # -- the connect loop: startConnect, primeConnection -------------------------------------

    def start_connect(self, now: float) -> tuple[tuple[str, int], int]:
        """Begin an attempt: the server to try and how long to wait first, in ms.

        The wait is the host provider's spin delay (after a whole round of failures) plus,
        on every attempt but the first, a random pause below ``reconnect_delay``.
        """
        addr, delay = self.host_provider.next(SPIN_DELAY_MS)
        if not self.is_first_connect and self.reconnect_delay > 0:
            delay += self.rng.randrange(self.reconnect_delay)
        self._change_state(Input.start_connect)
        self.server = addr
        self.last_send = self.last_heard = now + delay  # the connect timer starts at the attempt
        self._trace("client.connect.started", host=f"{addr[0]}:{addr[1]}", delay_ms=delay)
        return addr, delay

    def tcp_connected(self, now: float) -> None:
        """The socket is up: queue the ConnectRequest, auth and setWatches (primeConnection)."""
        self._change_state(Input.tcp_connected)
        self.is_first_connect = False
        self._decoder = FrameDecoder()
        self._initialized = False
        self.last_send = self.last_heard = now
        sess_id = self.session_id if self.seen_rw_server_before else 0
        req = ConnectRequest(0, self.last_zxid, self.session_timeout, sess_id, self.session_passwd, self.read_only)
        self._connect_request = encode_connect_request(req)
        # Java pushes each of these to the front of the outgoing queue, the ConnectRequest
        # last; the result is: ConnectRequest, auth packets, setWatches, then the rest.
        primed: list[Packet] = [
            Packet(OpCode.auth, AuthPacket(0, scheme, auth), xid=AUTHPACKET_XID) for scheme, auth in self.auth_info
        ]
        primed += self._set_watches_packets()
        self.outgoing_queue.extendleft(reversed(primed))
        self._trace(
            "client.connect.request",
            session=sess_id,
            last_zxid=self.last_zxid,
            timeout=self.session_timeout,
            auth=len(self.auth_info),
            set_watches=len(primed) - len(self.auth_info),
        )

    def _set_watches_packets(self) -> list[Packet]:
        lists = self.watch_manager.watch_lists()
        if not any(lists):
            return []
        # server paths, in the order Java takes them: data, exist, child, persistent, recursive
        queues = [deque(self._prepend(p) for p in paths) for paths in lists]
        packets: list[Packet] = []
        while any(queues):
            batch: list[list[str]] = [[], [], [], [], []]
            length = 0
            while length < SET_WATCHES_MAX_LENGTH:
                i = next((i for i, q in enumerate(queues) if q), None)
                if i is None:
                    break
                path = queues[i].popleft()
                batch[i].append(path)
                length += len(path)
            data, exist, child, persistent, recursive = batch
            if persistent or recursive:
                rec: SetWatches | SetWatches2 = SetWatches2(self.last_zxid, data, exist, child, persistent, recursive)
                op = OpCode.setWatches2
            else:
                rec, op = SetWatches(self.last_zxid, data, exist, child), OpCode.setWatches
            packets.append(Packet(op, rec))
            self._trace(
                "client.setwatches.queued",
                op=op.name,
                relative_zxid=self.last_zxid,
                data=data,
                exist=exist,
                child=child,
                persistent=persistent,
                persistent_recursive=recursive,
            )
        return packets

    def _prepend(self, client_path: str) -> str:
        if self.chroot is None:
            return client_path
        return self.chroot if client_path == "/" else self.chroot + client_path

    # -- writing: doIO's write half -------------------------------------------------------------

    def data_to_send(self, now: float) -> bytes:
        """The bytes to write now. Assigns xids and moves packets to the pending queue.

        Before the ConnectResponse only the ConnectRequest goes out; while CONNECTING
        (no socket) nothing does.
        """
        if self.state is States.ASSOCIATING and not self._initialized:
            out, self._connect_request = self._connect_request or b"", None
            if out:
                self.last_send = now
            return out
        if not self.state.is_connected():
            return b""
        chunks: list[bytes] = []
        while self.outgoing_queue:
            p = self.outgoing_queue.popleft()
            if p.op not in (OpCode.ping, OpCode.auth):
                p.xid = self.get_xid()
                self.pending_queue.append(p)
            elif p.op is OpCode.auth:
                self._auth_in_flight.append(p)
            chunks.append(p.to_bytes())
            self._trace("client.packet.sent", xid=p.xid, op=p.op.name, path=p.client_path)
        if chunks:
            self.last_send = now
        return b"".join(chunks)

    # -- timers: the top of SendThread.run's loop ------------------------------------------------

    def tick(self, now: float) -> float:
        """Check the timeouts and queue a ping if one is due; returns ms until the next tick.

        Raises:
            SessionTimeoutError: nothing heard for readTimeout (connectTimeout while not
                yet connected): the shell drops the connection and tries the next host.
        """
        idle_recv = now - self.last_heard
        idle_send = now - self.last_send
        if self.state.is_connected():
            to = self.read_timeout - idle_recv
        else:
            to = self.connect_timeout - idle_recv
        if to <= 0:
            limit = self.read_timeout if self.state.is_connected() else self.connect_timeout
            self._trace("client.timeout", idle_recv_ms=round(idle_recv), limit_ms=limit)
            raise SessionTimeoutError(
                f"Client session timed out, have not heard from server in {round(idle_recv)}ms "
                f"for session id 0x{self.session_id:x}"
            )
        if self.state.is_connected():
            # The extra second keeps a second ping from being late when readTimeout is short.
            time_to_next_ping = self.read_timeout // 2 - idle_send - (1000 if idle_send > 1000 else 0)
            if time_to_next_ping <= 0 or idle_send > MAX_SEND_PING_INTERVAL:
                self.outgoing_queue.append(Packet(OpCode.ping, None, xid=PING_XID))
                self.last_send = now  # updateLastSend: the ping counts as sent
                self._trace("client.ping.queued", idle_send_ms=round(idle_send))
            elif time_to_next_ping < to:
                to = time_to_next_ping
        return to

    # -- reading: readConnectResult and readResponse ------------------------------------------

    def data_received(self, data: bytes, now: float) -> None:
        """Feed bytes read from the socket. Outputs go to :meth:`events`.

        Raises:
            ProtocolError: the server broke the protocol; drop the connection.
            SessionExpiredError: the session is gone; the client is now CLOSED.
        """
        try:
            frames = self._decoder.feed(data)
        except FrameError as e:
            raise ProtocolError(str(e)) from e
        for payload in frames:
            self.last_heard = now
            try:
                if not self._initialized:
                    self._read_connect_result(payload)
                else:
                    self._read_response(payload)
            except (JuteError, ValueError) as e:  # bad bytes, an unknown event type or state
                raise ProtocolError(f"bad packet from the server: {e}") from e

    def _read_connect_result(self, payload: bytes) -> None:
        rsp = parse_connect_response(payload)
        self._initialized = True
        self.negotiated_session_timeout = rsp.timeOut
        if rsp.timeOut <= 0:
            self._change_state(Input.session_expired)
            self._trace("client.session.expired", session=self.session_id)
            self.queue_event(WatchedEvent(EventType.NONE, KeeperState.Expired, None))
            raise SessionExpiredError(
                f"Unable to reconnect to ZooKeeper service, session 0x{self.session_id:x} has expired"
            )
        self.read_timeout = rsp.timeOut * 2 // 3
        self.connect_timeout = rsp.timeOut // self.host_provider.size()
        self.host_provider.on_connected()
        self.session_id = rsp.sessionId
        self.session_passwd = rsp.passwd or b""
        self._change_state(Input.session_established_ro if rsp.readOnly else Input.session_established)
        self.seen_rw_server_before |= not rsp.readOnly
        self._trace(
            "client.session.established",
            session=rsp.sessionId,
            timeout=rsp.timeOut,
            read_only=rsp.readOnly,
            read_timeout=self.read_timeout,
        )
        state = KeeperState.ConnectedReadOnly if rsp.readOnly else KeeperState.SyncConnected
        self.queue_event(WatchedEvent(EventType.NONE, state, None))

    def _read_response(self, payload: bytes) -> None:
        r = Reader(payload)
        hdr = ReplyHeader.decode(r)
        if hdr.xid == PING_XID:
            self._trace("client.ping.received")
            return
        if hdr.xid == AUTHPACKET_XID:
            self._read_auth_reply(hdr)
            return
        if hdr.xid == NOTIFICATION_XID:
            ev = WatcherEvent.decode(r)
            path = strip_chroot(self.chroot, ev.path) if ev.path is not None else None
            event = WatchedEvent(EventType(ev.type), KeeperState(ev.state), path)
            self._trace("client.notification.received", type=event.type.name, path=path, zxid=hdr.zxid)
            self.queue_event(event)
            return
        if not self.pending_queue:
            raise ProtocolError(f"Nothing in the queue, but got {hdr.xid}")
        packet = self.pending_queue.popleft()
        try:
            if packet.xid != hdr.xid:
                packet.err = Code.CONNECTIONLOSS
                raise ProtocolError(
                    f"Xid out of order. Got Xid {hdr.xid} with err {hdr.err} expected Xid {packet.xid} "
                    f"for a packet of type {packet.op.name}"
                )
            packet.err = hdr.err
            packet.zxid = hdr.zxid
            if hdr.zxid > 0:
                self.last_zxid = hdr.zxid
            if hdr.err == 0 and packet.response_type is not None:
                packet.response = packet.response_type.decode(r)
            self._trace("client.reply.received", xid=hdr.xid, zxid=hdr.zxid, err=hdr.err, op=packet.op.name)
        finally:
            self._finish_packet(packet)

    def _read_auth_reply(self, hdr: ReplyHeader) -> None:
        packet = self._auth_in_flight.popleft() if self._auth_in_flight else None
        self._trace("client.auth.received", err=hdr.err)
        if packet is not None:
            packet.err = hdr.err
        if hdr.err == Code.AUTHFAILED:
            # The client is done: the shell sees a state that is not alive and ends the
            # send loop, which calls closed() (Java queues its event of death here).
            self._change_state(Input.auth_failed)
            self.queue_event(WatchedEvent(EventType.NONE, KeeperState.AuthFailed, None))
        if packet is not None:
            self._finish_packet(packet)

    # -- finishing packets: finishPacket, conLossPacket, cleanup -----------------------------------

    def _finish_packet(self, p: Packet) -> None:
        if p.watch_registration is not None:
            reg = p.watch_registration
            if self.watch_manager.register(reg.kind, reg.client_path, reg.watcher, p.err):
                self._trace("client.watch.registered", kind=reg.kind.value, path=reg.client_path)
        if p.watch_deregistration is not None:
            d = p.watch_deregistration
            try:
                removed = self.watch_manager.remove_watcher(
                    d.client_path, d.watcher, WatcherType(d.watcher_type), d.local, p.err
                )
                state = (
                    KeeperState.Disconnected
                    if p.err in (Code.SESSIONEXPIRED, Code.CONNECTIONLOSS)
                    else KeeperState.SyncConnected
                )
                for event_type, watchers in removed.items():
                    if watchers:
                        self.queue_event(WatchedEvent(event_type, state, d.client_path), watchers)
                        p.err = Code.OK  # removed locally: a lost connection does not matter
            except NoWatcherException:
                p.err = Code.NOWATCHER
            except KeeperException as ke:
                p.err = ke.code
        p.finished = True
        self._outputs.append(PacketFinished(p))

    def _con_loss_packet(self, p: Packet) -> None:
        if p.op is OpCode.ping:
            return
        if self.state is States.AUTH_FAILED:
            p.err = Code.AUTHFAILED
        elif self.state is States.CLOSED:
            p.err = Code.SESSIONEXPIRED
        else:
            p.err = Code.CONNECTIONLOSS
        if p.op is OpCode.auth:
            # Java's addAuthInfo never fails: the credentials are re-sent on reconnect.
            p.err = Code.OK if p.err == Code.CONNECTIONLOSS else p.err
        self._finish_packet(p)

    def _cleanup(self) -> int:
        failed = list(self.pending_queue) + list(self._auth_in_flight) + list(self.outgoing_queue)
        self.pending_queue.clear()
        self._auth_in_flight.clear()
        self.outgoing_queue.clear()
        for p in failed:
            self._con_loss_packet(p)
        self._connect_request = None
        self._initialized = False
        self._decoder = FrameDecoder()
        return len(failed)

    def connection_lost(self, now: float, reason: str = "") -> None:
        """The socket is gone (or the attempt failed): fail what is queued, queue
        Disconnected, and go back to CONNECTING (cleanAndNotifyState)."""
        was = self.state
        failed = self._cleanup()
        self._trace("client.connection.lost", reason=reason, failed=failed, state=was.name)
        if self.state.is_alive():
            if self.state is not States.NOT_CONNECTED:
                self._change_state(Input.connection_lost)
            self.queue_event(WatchedEvent(EventType.NONE, KeeperState.Disconnected, None))
        self.last_send = self.last_heard = now

    def closed(self, now: float) -> None:
        """The send loop has ended: fail what is left, queue Closed and the end of events.

        Called once, after close() (or after the session expired or auth failed).
        """
        # CLOSED first, so that what is left fails with SESSIONEXPIRED, as in Java.
        self._change_state(Input.closed)
        self._cleanup()
        self._trace("client.closed", session=self.session_id)
        self.queue_event(WatchedEvent(EventType.NONE, KeeperState.Closed, None))
        self._outputs.append(EventOfDeath())
