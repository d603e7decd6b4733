"""A raw client connection: send exact bytes, read exact replies.

For tests and notebooks that must see the wire itself (a packet annotated byte by byte,
a malformed frame, an unknown opcode), where a real client library would hide or refuse
it. It speaks the protocol through zk.protocol's records and nothing more: no pings, no
reconnects, no watches of its own. Blocking, with a timeout on every read.

Mirrors: nothing in ZooKeeper; it plays the part of a (possibly misbehaving) ClientCnxn.
"""

from __future__ import annotations

import socket
import struct

from zk.jute.codec import Reader, Record, Writer
from zk.jute.records import ConnectRequest, ConnectResponse, ReplyHeader, RequestHeader
from zk.protocol.framing import frame

__all__ = ["RawConnection"]


class RawConnection:
    """One TCP connection to a server, driven packet by packet."""

    def __init__(self, host: str, port: int, timeout: float = 5.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.session_id = 0
        self.passwd = bytes(16)
        self.sent: list[bytes] = []  # every frame sent, for annotation

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send_bytes(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send_frame(self, payload: bytes) -> None:
        framed = frame(payload)
        self.sent.append(framed)
        self.sock.sendall(framed)

    def connect(self, timeout_ms: int = 30000, session_id: int = 0, passwd: bytes | None = None) -> ConnectResponse:
        """The handshake: ConnectRequest out, ConnectResponse (with readOnly) back."""
        req = ConnectRequest(0, 0, timeout_ms, session_id, passwd if passwd is not None else bytes(16), False)
        self.send_frame(req.to_bytes())
        rsp = ConnectResponse.from_bytes(self.recv_frame())
        self.session_id, self.passwd = rsp.sessionId, rsp.passwd or bytes(16)
        return rsp

    def request(self, xid: int, op: int, body: Record | None) -> None:
        w = Writer()
        RequestHeader(xid, op).encode(w)
        if body is not None:
            body.encode(w)
        self.send_frame(w.getvalue())

    def recv_frame(self) -> bytes:
        """One whole packet; ConnectionError when the server closed the connection."""
        (n,) = struct.unpack(">i", self._read_exactly(4))
        return self._read_exactly(n)

    def recv_reply(self) -> tuple[ReplyHeader, bytes]:
        """A ReplyHeader and the undecoded bytes of the body after it."""
        r = Reader(self.recv_frame())
        header = ReplyHeader.decode(r)
        return header, r.read_rest()

    def is_closed_by_server(self) -> bool:
        """True once the server has closed its side (EOF), False if it is still open."""
        try:
            self.sock.settimeout(2.0)
            return self.sock.recv(1, socket.MSG_PEEK) == b""
        except TimeoutError:
            return False
        except ConnectionError:
            return True

    def _read_exactly(self, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError(f"server closed the connection after {len(buf)} of {n} bytes")
            buf += chunk
        return bytes(buf)
