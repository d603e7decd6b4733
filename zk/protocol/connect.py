"""The connect handshake: the first packet of every client connection.

The client opens TCP and sends a ConnectRequest (the only packet without a
RequestHeader); the server answers with a ConnectResponse carrying the negotiated session
timeout, the session id and its 16-byte password. Clients since 3.4 append one byte,
``readOnly``, to both; older clients do not, and the server then leaves it off its answer
too, so the same record has two wire forms:

    ConnectRequest   protocolVersion:i4 lastZxidSeen:i8 timeOut:i4 sessionId:i8
                     passwd:buffer [readOnly:bool]
    ConnectResponse  protocolVersion:i4 timeOut:i4 sessionId:i8 passwd:buffer
                     [readOnly:bool]

A session id of 0 asks for a new session; any other asks to resume that one, and the
password must match. A refused resume is answered with timeOut 0, session id 0 and a
zeroed password, and then the connection is closed.

Mirrors: ZooKeeperServer.processConnectRequest and ZooKeeperServer.finishSessionInit.
"""

from __future__ import annotations

import dataclasses

from zk.jute.codec import JuteError, Reader, Writer
from zk.jute.records import ConnectRequest, ConnectResponse

__all__ = ["ParsedConnect", "encode_connect_response", "parse_connect_request"]


@dataclasses.dataclass(frozen=True, slots=True)
class ParsedConnect:
    """A ConnectRequest and whether it came from a pre-3.4 client (no readOnly byte)."""

    request: ConnectRequest
    is_old_client: bool


def parse_connect_request(payload: bytes) -> ParsedConnect:
    """Decode the first packet of a connection; JuteError if it is not a ConnectRequest."""
    r = Reader(payload)
    protocol_version = r.read_int()
    last_zxid_seen = r.read_long()
    time_out = r.read_int()
    session_id = r.read_long()
    passwd = r.read_buffer()
    old = r.remaining == 0
    read_only = False if old else r.read_bool()
    if r.remaining:
        raise JuteError(f"ConnectRequest: {r.remaining} bytes left over")
    req = ConnectRequest(protocol_version, last_zxid_seen, time_out, session_id, passwd, read_only)
    return ParsedConnect(req, old)


def encode_connect_response(rsp: ConnectResponse, is_old_client: bool) -> bytes:
    """The ConnectResponse payload (without the length prefix), in the client's form."""
    w = Writer()
    w.write_int(rsp.protocolVersion)
    w.write_int(rsp.timeOut)
    w.write_long(rsp.sessionId)
    w.write_buffer(rsp.passwd)
    if not is_old_client:
        w.write_bool(rsp.readOnly)
    return w.getvalue()
