"""The quorum port's packets: QuorumPacket, its types, and what each one carries.

Every message between a leader and its learners is one jute ``QuorumPacket``, written
straight onto the TCP stream with no frame around it::

    | type int | zxid long | data buffer (int length, -1 = null) | authinfo vector<Id> |

The type says what the zxid and the data mean:

    type                 n   zxid                        data
    REQUEST              1   -1                          sessionId long | cxid int | type int | request body
    PROPOSAL             2   the txn's                   TxnHeader | txn record [| TxnDigest]
    ACK                  3   the acknowledged one        -
    COMMIT               4   the committed one           -
    PING                 5   leader: last proposed       learner's reply: (sessionId long | timeout int)*
    REVALIDATE           6   -1                          learner: sessionId long | timeout int
                                                         leader:  sessionId long | valid boolean
    SYNC                 7   0                           -
    INFORM               8   the txn's                   as PROPOSAL (to observers, already committed)
    COMMITANDACTIVATE    9   the committed reconfig      designated leader long
    NEWLEADER           10   newEpoch << 32              the leader's quorum config (or null)
    FOLLOWERINFO        11   acceptedEpoch << 32         LearnerInfo (sid, protocolVersion, configVersion)
    UPTODATE            12   -1                          -
    DIFF                13   leader's last committed     -
    TRUNC               14   where to cut the log        -
    SNAP                15   the snapshot's zxid         - (the snapshot follows the packet on the stream)
    OBSERVERINFO        16   as FOLLOWERINFO             as FOLLOWERINFO
    LEADERINFO          17   newEpoch << 32              protocolVersion int (0x10000)
    ACKEPOCH            18   learner's last zxid         learner's currentEpoch int (-1: already acked)
    INFORMANDACTIVATE   19   the reconfig's              designated leader long | as PROPOSAL

Decoding is the only place a peer's bytes are trusted to mean anything, so every error
is a :class:`QuorumWireError` (the connection is closed, the ensemble goes on), never an
assert. A length over ``jute.maxbuffer`` is refused before anything is allocated.

Mirrors: org.apache.zookeeper.server.quorum.QuorumPacket (zookeeper.jute), the type
constants and getPacketType of Leader, LearnerHandler.packetToString, and the payload
layouts of Learner.request / ping / revalidate and LearnerHandler.run.
"""

from __future__ import annotations

import asyncio
import enum
import struct
from dataclasses import dataclass

from zk.jute.codec import DEFAULT_MAX_BUFFER, JuteError
from zk.jute.records import Id, LearnerInfo, QuorumPacket
from zk.storage.util import TxnLogEntry, deserialize_txn, marshall_txn_entry

__all__ = [
    "PROTOCOL_VERSION",
    "PacketType",
    "QuorumWireError",
    "ReadDeadline",
    "StateSummary",
    "decode_ackepoch",
    "decode_learner_info",
    "decode_ping_touches",
    "decode_request",
    "decode_revalidate",
    "decode_revalidate_reply",
    "decode_txn",
    "encode_learner_info",
    "encode_ping_touches",
    "encode_request",
    "encode_revalidate",
    "encode_revalidate_reply",
    "encode_txn",
    "packet",
    "packet_to_string",
    "read_packet",
]

PROTOCOL_VERSION = 0x10000
"""Zab 1.0: LEADERINFO / ACKEPOCH exist (Learner.registerWithLeader)."""


class PacketType(enum.IntEnum):
    """Mirrors the constants of org.apache.zookeeper.server.quorum.Leader."""

    REQUEST = 1
    PROPOSAL = 2
    ACK = 3
    COMMIT = 4
    PING = 5
    REVALIDATE = 6
    SYNC = 7
    INFORM = 8
    COMMITANDACTIVATE = 9
    NEWLEADER = 10
    FOLLOWERINFO = 11
    UPTODATE = 12
    DIFF = 13
    TRUNC = 14
    SNAP = 15
    OBSERVERINFO = 16
    LEADERINFO = 17
    ACKEPOCH = 18
    INFORMANDACTIVATE = 19


class QuorumWireError(ValueError):
    """The peer's bytes are not what the protocol allows here: close the connection."""


def packet(t: PacketType, zxid: int, data: bytes | None = None) -> QuorumPacket:
    """A QuorumPacket without authinfo (every packet but REQUEST has none)."""
    return QuorumPacket(int(t), zxid, data, None)


def packet_to_string(qp: QuorumPacket) -> str:
    """``PROPOSAL 100000003 ...`` as ZooKeeper logs a packet (LearnerHandler.packetToString)."""
    try:
        name = PacketType(qp.type).name
    except ValueError:
        name = f"UNKNOWN{qp.type}"
    size = len(qp.data) if qp.data is not None else 0
    return f"{name} {qp.zxid & 0xFFFFFFFFFFFFFFFF:x} {size} bytes"


# --- reading from the stream -------------------------------------------------------------

_HEAD = struct.Struct(">iqi")  # type, zxid, data length


async def read_packet(reader: asyncio.StreamReader, max_buffer: int = DEFAULT_MAX_BUFFER) -> QuorumPacket:
    """Read one QuorumPacket off the stream.

    Raises:
        QuorumWireError: a length below -1 or above `max_buffer`, or a bad Id.
        asyncio.IncompleteReadError: the peer closed the connection.
    """
    t, zxid, length = _HEAD.unpack(await reader.readexactly(_HEAD.size))
    data = await _read_buffer_body(reader, length, max_buffer, "data")
    (count,) = struct.unpack(">i", await reader.readexactly(4))
    authinfo: list[Id] | None = None
    if count >= 0:
        if count > 1024:
            raise QuorumWireError(f"authinfo of {count} ids")
        authinfo = []
        for _ in range(count):
            scheme = await _read_ustring(reader, max_buffer)
            ident = await _read_ustring(reader, max_buffer)
            authinfo.append(Id(scheme, ident))
    elif count != -1:
        raise QuorumWireError(f"authinfo count {count}")
    return QuorumPacket(t, zxid, data, authinfo)


class ReadDeadline:
    """A read timeout for a connection read packet after packet, as Java's SO_TIMEOUT on
    a quorum socket: ``async with ReadDeadline(t) as deadline`` around the reading loop,
    ``await deadline.read(reader)`` for each packet, and the block raises TimeoutError
    once no packet has come for `t` seconds, wherever the loop is waiting then (a read,
    or a drain towards a peer that stopped reading). One timer per quiet period instead
    of an ``asyncio.timeout`` around every read (a timer made and cancelled per packet,
    which showed in the leader's profile).
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.expired = False

    async def __aenter__(self) -> ReadDeadline:
        self._loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None, "a ReadDeadline belongs to the task that reads"
        self._task = task
        self._last = self._loop.time()
        self._handle = self._loop.call_at(self._last + self.timeout, self._check)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        self._handle.cancel()
        # our cancel, and nobody else's: the silence is the error (asyncio.timeout's rule)
        if exc_type is asyncio.CancelledError and self.expired and self._task.uncancel() == 0:
            raise TimeoutError(f"no packet within {self.timeout:g} s") from exc

    def _check(self) -> None:
        due = self._last + self.timeout
        if self._loop.time() < due:  # heard from since: wait for the new deadline
            self._handle = self._loop.call_at(due, self._check)
            return
        self.expired = True
        self._task.cancel()

    async def read(self, reader: asyncio.StreamReader, max_buffer: int = DEFAULT_MAX_BUFFER) -> QuorumPacket:
        """The next packet; each one received moves the deadline."""
        qp = await read_packet(reader, max_buffer)
        self._last = self._loop.time()
        return qp


async def _read_buffer_body(reader: asyncio.StreamReader, length: int, max_buffer: int, what: str) -> bytes | None:
    if length == -1:
        return None
    if length < -1 or length > max_buffer:
        raise QuorumWireError(f"Unreasonable length = {length} for {what}")
    return await reader.readexactly(length)


async def _read_ustring(reader: asyncio.StreamReader, max_buffer: int) -> str | None:
    (length,) = struct.unpack(">i", await reader.readexactly(4))
    raw = await _read_buffer_body(reader, length, max_buffer, "string")
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise QuorumWireError(f"not UTF-8: {e}") from None


# --- payloads ------------------------------------------------------------------------------


def decode_learner_info(data: bytes | None) -> tuple[int | None, int, int]:
    """FOLLOWERINFO/OBSERVERINFO's data: ``(sid, protocolVersion, configVersion)``.

    Older learners sent only the sid (8 bytes) or nothing at all (sid None: the leader
    numbers them itself). Mirrors the start of LearnerHandler.run.
    """
    if data is None or len(data) < 8:
        return None, 0, 0
    sid = struct.unpack_from(">q", data)[0]
    version = struct.unpack_from(">i", data, 8)[0] if len(data) >= 12 else 0
    config_version = struct.unpack_from(">q", data, 12)[0] if len(data) >= 20 else 0
    return sid, version, config_version


def encode_learner_info(sid: int, config_version: int = 0) -> bytes:
    return LearnerInfo(sid, PROTOCOL_VERSION, config_version).to_bytes()


def decode_ackepoch(qp: QuorumPacket) -> StateSummary:
    """ACKEPOCH: the learner's ``(currentEpoch, lastZxid)``; epoch -1 means it had
    already accepted this epoch and its ACK does not count (Learner.registerWithLeader)."""
    if qp.data is None or len(qp.data) < 4:
        raise QuorumWireError("ACKEPOCH without an epoch")
    return StateSummary(struct.unpack_from(">i", qp.data)[0], qp.zxid)


@dataclass(frozen=True, slots=True)
class StateSummary:
    """A server's ``(currentEpoch, lastZxid)``. Mirrors: quorum.StateSummary."""

    current_epoch: int
    last_zxid: int

    def is_more_recent_than(self, other: StateSummary) -> bool:
        return (self.current_epoch, self.last_zxid) > (other.current_epoch, other.last_zxid)


def encode_request(session_id: int, cxid: int, op: int, body: bytes) -> bytes:
    """REQUEST's data (Learner.request)."""
    return struct.pack(">qii", session_id, cxid, op) + body


def decode_request(data: bytes | None) -> tuple[int, int, int, bytes]:
    """``(sessionId, cxid, type, body bytes)`` of a REQUEST."""
    if data is None or len(data) < 16:
        raise QuorumWireError("REQUEST shorter than its header")
    session_id, cxid, op = struct.unpack_from(">qii", data)
    return session_id, cxid, op, data[16:]


def encode_ping_touches(touches: dict[int, int]) -> bytes:
    """A learner's PING reply: every session touched since the last ping, with its timeout."""
    return b"".join(struct.pack(">qi", sid, timeout) for sid, timeout in touches.items())


def decode_ping_touches(data: bytes | None) -> list[tuple[int, int]]:
    if not data:
        return []
    if len(data) % 12:
        raise QuorumWireError(f"PING data of {len(data)} bytes is not (long, int)*")
    return [struct.unpack_from(">qi", data, i) for i in range(0, len(data), 12)]


def encode_revalidate(session_id: int, timeout: int) -> bytes:
    return struct.pack(">qi", session_id, timeout)


def decode_revalidate(data: bytes | None) -> tuple[int, int]:
    if data is None or len(data) < 12:
        raise QuorumWireError("REVALIDATE shorter than (long, int)")
    session_id, timeout = struct.unpack_from(">qi", data)
    return session_id, timeout


def encode_revalidate_reply(session_id: int, valid: bool) -> bytes:
    return struct.pack(">q?", session_id, valid)


def decode_revalidate_reply(data: bytes | None) -> tuple[int, bool]:
    if data is None or len(data) < 9:
        raise QuorumWireError("REVALIDATE reply shorter than (long, boolean)")
    session_id, valid = struct.unpack_from(">q?", data)
    return session_id, valid


def encode_txn(entry: TxnLogEntry) -> bytes:
    """PROPOSAL/INFORM data: the txn exactly as the log holds it (SerializeUtils.serializeRequest)."""
    return marshall_txn_entry(entry.header, entry.txn, entry.digest)


def decode_txn(qp: QuorumPacket, max_buffer: int = DEFAULT_MAX_BUFFER) -> TxnLogEntry:
    """The txn of a PROPOSAL or INFORM, checked against the packet's zxid."""
    if qp.data is None:
        raise QuorumWireError(f"{packet_to_string(qp)} without a txn")
    try:
        entry = deserialize_txn(qp.data, max_buffer)
    except (JuteError, ValueError) as e:
        raise QuorumWireError(f"{packet_to_string(qp)}: {e}") from None
    if entry.header.zxid != qp.zxid:
        raise QuorumWireError(f"{packet_to_string(qp)} carries txn 0x{entry.header.zxid:x}")
    return entry
