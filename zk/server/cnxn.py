"""ServerCnxn: one client's TCP connection, as an asyncio protocol.

A connection lives in two phases. Until the handshake it accepts one packet, a
ConnectRequest (or a four-letter word, which is answered and then closed). After it,
every packet is ``RequestHeader`` + body, handed to the ZooKeeperServer; replies and
watch notifications come back through ``send_response`` and ``process``.

Replies are not written one by one. ``send_response`` appends the framed reply to an
output buffer and schedules one flush for the end of the current event-loop turn, so the
replies of a whole batch leave in a single ``write``. When the kernel buffer is full
(``pause_writing``) the connection stops reading from that client: a slow reader cannot
make the server buffer without limit.

Bad bytes are the client's fault and cost only that client its connection: a length
over jute.maxbuffer or a ConnectRequest that does not decode closes it with a log line;
a body that does not decode is answered with MARSHALLINGERROR; an unknown opcode with
UNIMPLEMENTED, and then the connection is closed, as ZooKeeper does.

Mirrors: org.apache.zookeeper.server.ServerCnxn and NIOServerCnxn (readLength,
readConnectRequest, readRequest, sendResponse, process, sendCloseSession).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from zk.jute.codec import JuteError, Reader, Record, Writer
from zk.jute.records import Id, ReplyHeader, RequestHeader
from zk.protocol.constants import NOTIFICATION_XID
from zk.protocol.errors import MarshallingErrorException
from zk.protocol.framing import FrameDecoder, FrameError
from zk.protocol.messages import MultiResponse, decode_request_body
from zk.server.stats import ConnectionStats
from zk.trace import NULL_TRACER, Tracer
from zk.watch import WatchedEvent

if TYPE_CHECKING:
    from zk.server.zookeeper_server import ZooKeeperServer

__all__ = ["ServerCnxn"]

log = logging.getLogger(__name__)

_NOTIFICATION_HEADER = ReplyHeader(NOTIFICATION_XID, -1, 0)


class ServerCnxn(asyncio.Protocol):
    """One client connection. Mirrors: org.apache.zookeeper.server.NIOServerCnxn."""

    def __init__(self, zks: ZooKeeperServer, tracer: Tracer = NULL_TRACER) -> None:
        self.zks = zks
        self.tracer = tracer
        self.transport: asyncio.Transport | None = None
        self.decoder = FrameDecoder(zks.config.jute_max_buffer)
        self.initialized = False
        self.is_old_client = True
        self.session_id = 0
        self.session_timeout = 0
        self.auth_info: list[Id] = []
        self.remote_ip = ""
        self.remote = ""
        self.closing = False
        self.outstanding = 0
        self.packets_received = 0
        self.packets_sent = 0
        self.last_cxid = -1
        self.last_zxid = -1
        self.established_ms = 0
        self.cnxn_stats = ConnectionStats()  # cons: last op, latencies (ServerCnxn's fields)
        self._out = bytearray()
        self._out_packets = 0  # replies and events in _out, for the trace
        self._head: bytearray | None = bytearray()  # until the first 4 bytes are in
        self._flush_scheduled = False
        self._reading_paused_by = set[str]()

    # --- asyncio.Protocol --------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername") or ("?", 0)
        self.remote_ip, self.remote = str(peer[0]), f"{peer[0]}:{peer[1]}"
        self.established_ms = self.zks.now_ms()
        self.auth_info = [Id("ip", self.remote_ip)]
        if not self.zks.factory.register(self):
            self.close("too many connections from " + self.remote_ip)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.zks.remove_cnxn(self)

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        if self._head is not None:
            # The first 4 bytes decide: a four-letter word, or the length of a ConnectRequest.
            # TCP may deliver them in pieces, so they are gathered before deciding.
            self._head += data
            word = bytes(self._head[:4])
            if len(self._head) < 4:
                return
            data, self._head = bytes(self._head), None
            if self.zks.four_letter_words.handles(word):
                self._four_letter_word(word, data[4:12])  # stmk's 8-byte mask follows the word
                return
        try:
            packets = self.decoder.feed(data)
        except FrameError as e:
            log.warning("closing %s: %s", self.remote, e)
            self.close(str(e))
            return
        for payload in packets:
            if self.closing:
                return
            self.packets_received += 1
            self.zks.stats.packets_received += 1  # the server's total (ServerCnxn.packetReceived)
            if self.tracer.enabled:  # the raw packet, for byte-by-byte annotation
                self.tracer.emit("server.packet.received", session=self.session_id, bytes=payload)
            if self.initialized:
                self._read_request(payload)
            else:
                self._read_connect_request(payload)

    def pause_writing(self) -> None:
        self.pause_reading("write-buffer")

    def resume_writing(self) -> None:
        self.resume_reading("write-buffer")

    # --- reading ------------------------------------------------------------------

    def _four_letter_word(self, word: bytes, rest: bytes = b"") -> None:
        text = self.zks.four_letter_words.run(word.decode("ascii", "replace"), self, rest)
        if self.tracer.enabled:
            self.tracer.emit("server.4lw", word=word.decode("ascii", "replace"))
        assert self.transport is not None
        self.transport.write(text.encode())
        self.close("four-letter word answered")

    def _read_connect_request(self, payload: bytes) -> None:
        from zk.protocol.connect import parse_connect_request

        try:
            parsed = parse_connect_request(payload)
        except JuteError as e:
            log.warning("closing %s: bad ConnectRequest: %s", self.remote, e)
            self.close("bad ConnectRequest")
            return
        self.is_old_client = parsed.is_old_client
        self.zks.process_connect_request(self, parsed.request)

    def _read_request(self, payload: bytes) -> None:
        r = Reader(payload, self.zks.config.jute_max_buffer)
        try:
            h = RequestHeader.decode(r)
        except JuteError as e:
            log.warning("closing %s: bad RequestHeader: %s", self.remote, e)
            self.close("bad RequestHeader")
            return
        self.last_cxid = h.xid
        try:
            body = decode_request_body(h.type, r)
            error = None
        except KeyError:
            self.zks.unimplemented(self, h)
            return
        except JuteError as e:
            log.warning("session 0x%x: request %d does not decode: %s", self.session_id, h.type, e)
            body, error = None, MarshallingErrorException()
        self.zks.process_packet(self, h, body, error)

    # --- reading back-pressure ------------------------------------------------------

    def pause_reading(self, reason: str) -> None:
        if not self._reading_paused_by and self.transport is not None and not self.closing:
            self.transport.pause_reading()
        self._reading_paused_by.add(reason)

    def resume_reading(self, reason: str) -> None:
        self._reading_paused_by.discard(reason)
        if not self._reading_paused_by and self.transport is not None and not self.closing:
            self.transport.resume_reading()

    # --- writing (what the processors call) --------------------------------------------

    def send_response(self, header: ReplyHeader, body: Record | MultiResponse | None) -> None:
        """Frame and queue one reply (ServerCnxn.sendResponse)."""
        w = Writer()
        w.write_int(0)  # the length, filled in below
        header.encode(w)
        if body is not None:
            body.encode(w)
        buf = w.buf
        buf[0:4] = (len(buf) - 4).to_bytes(4, "big", signed=True)
        if header.xid >= 0:
            self.outstanding -= 1
            self.last_zxid = header.zxid
        self._queue(buf)

    def send_raw(self, payload: bytes) -> None:
        """Queue an already-encoded packet body (the ConnectResponse)."""
        self._queue(len(payload).to_bytes(4, "big", signed=True) + payload)

    def process(self, event: WatchedEvent) -> None:
        """A watch fired: queue the notification (NIOServerCnxn.process)."""
        if self.tracer.enabled:
            self.tracer.emit(
                "server.notification", to=f"client:{self.session_id:#x}", session=self.session_id,
                type=event.type.name, path=event.path,
            )  # fmt: skip
        self.send_response(_NOTIFICATION_HEADER, event.to_watcher_event())

    def finish_session_init(self, valid: bool) -> None:
        self.zks.finish_session_init(self, valid)

    def send_close_session(self) -> None:
        """Close once what is queued has been written (ServerCnxn.sendCloseSession)."""
        self._flush()
        self.close("session closed")

    def _queue(self, data: bytes | bytearray) -> None:
        if self.closing:
            return
        if self.tracer.enabled:  # the framed packet as it goes out, length prefix included
            self.tracer.emit("server.packet.sent", session=self.session_id, bytes=bytes(data))
        self.packets_sent += 1
        self.zks.stats.packets_sent += 1  # the server's total (ServerCnxn.packetSent)
        self._out += data
        self._out_packets += 1
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        """Write every packet queued in this turn of the event loop at once: the replies
        of a batch leave in one write (NIOServerCnxn writes its queue when writable)."""
        self._flush_scheduled = False
        if self._out and self.transport is not None and not self.transport.is_closing():
            self.transport.write(bytes(self._out))
            if self.tracer.enabled:
                self.tracer.emit("server.packet.flushed", session=self.session_id, packets=self._out_packets,
                                 bytes=len(self._out))  # fmt: skip
        self._out.clear()
        self._out_packets = 0

    def close(self, reason: str) -> None:
        if self.closing:
            return
        self._flush()
        self.closing = True
        log.debug("closing connection %s (session 0x%x): %s", self.remote, self.session_id, reason)
        if self.transport is not None:
            self.transport.close()

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other
