"""The election port's wire formats: the initial message and the notification.

Everything on the election port is big-endian, as Java's DataOutputStream writes it.
A connection starts with one *initial message* from the side that connected::

    +----------------------+----------------+-----------+----------------------+
    | protocol version (8) | server id (8)  | len (4)   | "host:port" (len)    |
    | -65536 = 0xffff0000… | the sender     | 1..2048   | its election address |
    +----------------------+----------------+-----------+----------------------+

(protocol version -65535 sends several addresses joined by ``|``; a first long that is
not negative is a bare server id, the format before 3.5.0). After it, both sides send
length-prefixed *messages*, each one notification::

    +-------+---------+----------+--------+-----------+-----------+---------+--------+--------+
    | len 4 | state 4 | leader 8 | zxid 8 | elecEp. 8 | peerEp. 8 | version | cfglen | config |
    |       | 0..3    | its id   |        | the round | its epoch | 4: = 2  | 4      | cfglen |
    +-------+---------+----------+--------+-----------+-----------+---------+--------+--------+

``version`` is 2 since 3.5.0 (the config bytes, QuorumVerifier.toString, follow);
older peers sent 28 bytes (no peer epoch) or 40 (no version). ``len`` is at most
PACKETMAXSIZE (512 KiB).

Every decoder here raises [ElectionWireError][zk.election.ElectionWireError]
on bad input: the peer's fault, logged and answered by closing its connection.

Mirrors: org.apache.zookeeper.server.quorum.QuorumCnxManager.InitialMessage (parse) and
startConnection; FastLeaderElection.buildMsg and Messenger.WorkerReceiver's decoding.
"""

from __future__ import annotations

import dataclasses
import enum
import struct

__all__ = [
    "MAX_BUFFER",
    "NOTIFICATION_CURRENT_VERSION",
    "OBSERVER_ID",
    "PACKETMAXSIZE",
    "PROTOCOL_VERSION_V1",
    "PROTOCOL_VERSION_V2",
    "ElectionWireError",
    "InitialMessage",
    "Notification",
    "ServerState",
    "decode_notification",
    "encode_initial_message",
    "encode_notification",
    "frame",
    "parse_address",
    "parse_initial_message",
]

PROTOCOL_VERSION_V1 = -65536
"""0xffff0000 as a signed long: the initial message with one election address (3.5.0+)."""

PROTOCOL_VERSION_V2 = -65535
"""The initial message with ``|``-separated addresses (ZOOKEEPER-3188, multiAddress)."""

MAX_BUFFER = 2048
"""Largest address string an initial message may carry (QuorumCnxManager.maxBuffer)."""

PACKETMAXSIZE = 512 * 1024
"""Largest message on an election connection (QuorumCnxManager.PACKETMAXSIZE)."""

NOTIFICATION_CURRENT_VERSION = 0x2
"""Notification.CURRENTVERSION: the format with config bytes."""

OBSERVER_ID = (1 << 63) - 1
"""Long.MAX_VALUE: the id an observer without one sends (QuorumPeer.OBSERVER_ID)."""

_MIN_NOTIFICATION = 28  # state, leader, zxid, electionEpoch: the oldest format
_LONG_MIN, _LONG_MAX = -(1 << 63), (1 << 63) - 1


class ElectionWireError(ValueError):
    """A peer sent bytes that are not a valid election message: its fault, not ours."""


class ServerState(enum.IntEnum):
    """A peer's state; the notification carries its ordinal. Mirrors QuorumPeer.ServerState."""

    LOOKING = 0
    FOLLOWING = 1
    LEADING = 2
    OBSERVING = 3


@dataclasses.dataclass(frozen=True, slots=True)
class InitialMessage:
    """What the connecting side says first: who it is and where it listens.

    Mirrors: QuorumCnxManager.InitialMessage.
    """

    sid: int
    election_addrs: tuple[tuple[str, int], ...]
    protocol_version: int = PROTOCOL_VERSION_V1


@dataclasses.dataclass(frozen=True, slots=True)
class Notification:
    """One vote as it travels: the sender's state and the leader it proposes.

    ``sid`` is not on the wire: the connection it came on names the sender. ``config``
    is the sender's QuorumVerifier.toString (``server.N=...`` lines and ``version=``).

    Mirrors: FastLeaderElection.Notification and ToSend.
    """

    state: ServerState
    leader: int
    zxid: int
    election_epoch: int
    peer_epoch: int
    version: int = NOTIFICATION_CURRENT_VERSION
    config: bytes = b""
    sid: int = -1


def frame(body: bytes) -> bytes:
    """A message on the election port: its length (4 bytes), then the body."""
    assert 0 < len(body) <= PACKETMAXSIZE, f"message of {len(body)} bytes"
    return struct.pack(">i", len(body)) + body


def encode_initial_message(msg: InitialMessage) -> bytes:
    """The initial message's bytes (QuorumCnxManager.startConnection)."""
    addrs = "|".join(_format_addr(host, port) for host, port in msg.election_addrs).encode()
    assert 0 < len(addrs) <= MAX_BUFFER, "our own election address is too long"
    return struct.pack(">qqi", msg.protocol_version, msg.sid, len(addrs)) + addrs


def _format_addr(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_initial_message(data: bytes) -> tuple[InitialMessage, int] | None:
    """Parse an initial message from the start of `data`.

    Returns:
        ``(message, bytes used)``, or None if more bytes are needed.

    Raises:
        ElectionWireError: A protocol version we do not know, an address length outside
            1..2048, or an address that is not ``host:port``.
    """
    if len(data) < 8:
        return None
    (version,) = struct.unpack_from(">q", data)
    if version >= 0:  # before 3.5.0 the first long was the server id itself
        return InitialMessage(version, (), version), 8
    if version not in (PROTOCOL_VERSION_V1, PROTOCOL_VERSION_V2):
        raise ElectionWireError(f"Got unrecognized protocol version {version}")
    if len(data) < 20:
        return None
    sid, remaining = struct.unpack_from(">qi", data, 8)
    if remaining <= 0 or remaining > MAX_BUFFER:
        raise ElectionWireError(f"Unreasonable buffer length: {remaining}")
    if len(data) < 20 + remaining:
        return None
    try:
        text = data[20 : 20 + remaining].decode("utf-8")
    except UnicodeDecodeError:
        raise ElectionWireError("election address is not UTF-8") from None
    addrs = tuple(parse_address(a) for a in text.split("|"))
    return InitialMessage(sid, addrs, version), 20 + remaining


def parse_address(text: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` → (host, port).

    Raises:
        ElectionWireError: Badly formed address or port.
    """
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or not rest.startswith(":"):
            raise ElectionWireError(f"Badly formed address: {text}")
        port_text = rest[1:]
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep or not host or ":" in host:
            raise ElectionWireError(f"Badly formed address: {text}")
    try:
        port = int(port_text)
    except ValueError:
        raise ElectionWireError(f"Bad port number: {port_text}") from None
    if not 0 <= port <= 65535:
        raise ElectionWireError(f"Bad port number: {port_text}")
    return host, port


def encode_notification(n: Notification) -> bytes:
    """A notification's body, as 3.8 sends it (FastLeaderElection.buildMsg): 44 bytes
    plus the config."""
    return struct.pack(
        ">iqqqqii", int(n.state), n.leader, n.zxid, n.election_epoch, n.peer_epoch, n.version, len(n.config)
    ) + bytes(n.config)


def decode_notification(body: bytes, sid: int) -> Notification:
    """Decode a notification body from peer `sid` (its length prefix already removed).

    Older formats decode too: 28 bytes (no peer epoch: it is the zxid's epoch) and 40
    (no version). A state outside 0..3 is refused, where ZooKeeper skips the message.

    Raises:
        ElectionWireError: Shorter than 28 bytes, a config length that is negative or
            beyond the message, or an unknown state.
    """
    size = len(body)
    if size < _MIN_NOTIFICATION:
        raise ElectionWireError(f"Got a short response from server {sid}: {size}")
    state, leader, zxid, election_epoch = struct.unpack_from(">iqqq", body)
    version, config = 0, b""
    if size == 28:
        peer_epoch = zxid >> 32  # ZxidUtils.getEpochFromZxid
    else:
        if size < 36:
            raise ElectionWireError(f"partial notification from server {sid}: {size} bytes")
        (peer_epoch,) = struct.unpack_from(">q", body, 28)
        if size != 40:
            if size < 40:
                raise ElectionWireError(f"partial notification from server {sid}: {size} bytes")
            (version,) = struct.unpack_from(">i", body, 36)
        if version > 0x1:
            if size < 44:
                raise ElectionWireError(f"partial notification from server {sid}: {size} bytes")
            (length,) = struct.unpack_from(">i", body, 40)
            if length < 0 or 44 + length > size:
                raise ElectionWireError(
                    f"Invalid configLength in notification message! sid={sid}, capacity={size}, "
                    f"version={version}, configLength={length}"
                )
            config = bytes(body[44 : 44 + length])
    try:
        server_state = ServerState(state)
    except ValueError:
        raise ElectionWireError(f"unknown state {state} in a notification from server {sid}") from None
    return Notification(server_state, leader, zxid, election_epoch, peer_epoch, version, config, sid)
