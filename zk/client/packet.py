"""A request on its way through the client, and the bytes it becomes.

Every call of the API becomes one :class:`Packet`. It waits in the outgoing queue until
the send loop writes it; at that moment it gets its xid and moves to the pending queue,
where it waits for its reply. Pings and auth packets carry fixed xids and never wait in
the pending queue (their replies are recognised by xid alone)::

    API call -> Packet -> outgoing queue --write, xid=n--> pending queue --reply n--> done
                                             |
                       ping (xid -2), auth (xid -4): written, never pending

On the wire a packet is ``len | RequestHeader(xid, type) | request record``; the
ConnectRequest alone has no header.

Mirrors: org.apache.zookeeper.ClientCnxn.Packet (createBB) and the reading of the
ConnectResponse in ClientCnxnSocket.readConnectResult.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from zk.jute.codec import Reader, Record, Writer
from zk.jute.records import ConnectRequest, ConnectResponse, ReplyHeader, RequestHeader
from zk.protocol.constants import OpCode
from zk.protocol.framing import frame
from zk.protocol.messages import MultiRequest

__all__ = ["Packet", "WatchDeregistration", "WatchRegistration", "encode_connect_request", "parse_connect_response"]


@dataclasses.dataclass(slots=True)
class WatchRegistration:
    """A watch to register once the reply's error code is known (ZooKeeper.WatchRegistration).

    ``kind`` is a :class:`~zk.client.watch_manager.WatchKind`.
    """

    kind: Any
    client_path: str
    watcher: Callable[..., Any]


@dataclasses.dataclass(slots=True)
class WatchDeregistration:
    """Watches to remove once removeWatches/checkWatches is answered (WatchDeregistration)."""

    client_path: str
    watcher: Callable[..., Any] | None
    watcher_type: int
    local: bool


@dataclasses.dataclass(slots=True, eq=False)
class Packet:
    """One request, from the API call to its reply.

    Attributes:
        op: the opcode (RequestHeader.type).
        request: the body record (a MultiRequest for multi/multiRead; None if none).
        response_type: the record to decode a successful reply into (None: no body).
        xid: set when the packet is written (ClientCnxnSocketNIO.doIO calls getXid then);
            fixed in advance for pings (-2) and auth packets (-4).
        client_path / server_path: the path as the caller gave it, and with the chroot.
        watch_registration / watch_deregistration: watch bookkeeping done on the reply.
        err, zxid, response: filled in from the reply (err CONNECTIONLOSS etc. if none).
        finished: set once, when the reply (or the loss of the connection) completes it.
        ctx: the shell's handle on the caller (an asyncio Future); the core never reads it.
    """

    op: OpCode
    request: Record | MultiRequest | None
    response_type: type[Any] | None = None
    xid: int | None = None
    client_path: str | None = None
    server_path: str | None = None
    watch_registration: WatchRegistration | None = None
    watch_deregistration: WatchDeregistration | None = None
    err: int = 0
    zxid: int = -1
    response: Any = None
    finished: bool = False
    ctx: Any = None

    def to_bytes(self) -> bytes:
        """``len | RequestHeader | body``, the packet as written (Packet.createBB)."""
        assert self.xid is not None, "a packet gets its xid before it is written"
        w = Writer()
        RequestHeader(self.xid, int(self.op)).encode(w)
        if self.request is not None:
            self.request.encode(w)
        return frame(w.getvalue())


def encode_connect_request(req: ConnectRequest) -> bytes:
    """The first packet of a connection: ``len | ConnectRequest`` (with the readOnly byte)."""
    return frame(req.to_bytes())


def parse_connect_response(payload: bytes) -> ConnectResponse:
    """The server's answer to a ConnectRequest. A server talking to a pre-3.4 client
    leaves the readOnly byte off; we always send it, but read both forms.

    Raises:
        JuteError: the server's bad bytes.
    """
    r = Reader(payload)
    protocol_version = r.read_int()
    time_out = r.read_int()
    session_id = r.read_long()
    passwd = r.read_buffer() or b""
    read_only = r.read_bool() if r.remaining else False
    return ConnectResponse(protocol_version, time_out, session_id, passwd, read_only)


def parse_reply_header(r: Reader) -> ReplyHeader:
    """``xid:i4 zxid:i8 err:i4`` at the front of every reply."""
    return ReplyHeader.decode(r)
