"""The snapshot a leader sends after SNAP, in the snapshot file's own layout.

After the ``SNAP`` packet the leader writes the database straight onto the quorum
stream, then a signature string::

    | count int | (session id long, timeout int) * count |             sessions
    | map int | (index long, acls vector<ACL>) * map |                  ACL cache
    | (path ustring, data buffer, acl long, StatPersisted) * | "/" |    nodes
    | "BenWasHere" ustring |                                            signature

That is a snapshot file's body without its file header and its checksum seals (TCP
has its own). Nothing frames it, so the learner walks the structure as it reads, field
by field, before decoding the bytes it collected with the same code that reads
snapshot files.

Mirrors: ZKDatabase.serializeSnapshot / deserializeSnapshot, SerializeUtils
.serializeSnapshot / deserializeSnapshot, the "BenWasHere" signature of
LearnerHandler.run and Learner.syncWithLeader.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Mapping

from zk.broadcast.packets import QuorumWireError
from zk.data import DataTree
from zk.jute.codec import DEFAULT_MAX_BUFFER, JuteError, Reader, Writer

__all__ = ["SIGNATURE", "load_wire_snapshot", "read_wire_snapshot", "serialize_wire_snapshot"]

SIGNATURE = "BenWasHere"
_STAT_SIZE = 8 * 4 + 4 * 3 + 8 * 2  # StatPersisted: czxid mzxid ctime mtime version cversion aversion owner pzxid


def serialize_wire_snapshot(tree: DataTree, sessions: Mapping[int, int]) -> bytes:
    """The bytes the leader writes after SNAP, signature included."""
    w = Writer()
    w.write_int(len(sessions))
    for session_id, timeout in sessions.items():
        w.write_long(session_id)
        w.write_int(timeout)
    tree.serialize(w)
    w.write_ustring(SIGNATURE)
    return w.getvalue()


class _Collector:
    def __init__(self, reader: asyncio.StreamReader, max_buffer: int) -> None:
        self.reader = reader
        self.max_buffer = max_buffer
        self.buf = bytearray()

    async def take(self, n: int) -> bytes:
        data = await self.reader.readexactly(n)
        self.buf += data
        return data

    async def int_(self) -> int:
        return int(struct.unpack(">i", await self.take(4))[0])

    async def buffer(self) -> bytes | None:
        n = await self.int_()
        if n == -1:
            return None
        if n < -1 or n > self.max_buffer:
            raise QuorumWireError(f"Unreasonable length = {n} in the snapshot")
        return await self.take(n)


async def read_wire_snapshot(reader: asyncio.StreamReader, max_buffer: int = DEFAULT_MAX_BUFFER) -> bytes:
    """Read exactly one wire snapshot (signature included) off the stream.

    Raises:
        QuorumWireError: a length past `max_buffer`, a missing signature.
        asyncio.IncompleteReadError: the leader went away mid-snapshot.
    """
    c = _Collector(reader, max_buffer)
    sessions = await c.int_()
    if sessions < 0:
        raise QuorumWireError(f"{sessions} sessions in the snapshot")
    await c.take(12 * sessions)
    for _ in range(await c.int_()):  # the ACL cache
        await c.take(8)
        count = await c.int_()
        if count < 0 or count > max_buffer:
            raise QuorumWireError(f"{count} ACLs in one ACL cache entry")
        for _ in range(count):
            await c.take(4)  # perms
            await c.buffer()  # scheme
            await c.buffer()  # id
    while True:
        path = await c.buffer()
        if path == b"/":
            break
        if path is None:
            raise QuorumWireError("a null path in the snapshot")
        await c.buffer()  # data
        await c.take(8 + _STAT_SIZE)  # acl index, StatPersisted
    signature = await c.buffer()
    if signature != SIGNATURE.encode():
        raise QuorumWireError(f"Missing signature. Got {signature!r}")
    return bytes(c.buf)


def load_wire_snapshot(raw: bytes, tree: DataTree) -> dict[int, int]:
    """Load a wire snapshot into `tree` (replacing it); returns the sessions.

    Raises:
        QuorumWireError: bytes that do not decode as a snapshot.
    """
    r = Reader(raw, max_buffer=len(raw))
    try:
        sessions: dict[int, int] = {}
        for _ in range(r.read_int()):
            session_id = r.read_long()
            sessions[session_id] = r.read_int()
        tree.deserialize(r)
        if r.read_ustring() != SIGNATURE:
            raise QuorumWireError("Missing signature")
    except (JuteError, ValueError, KeyError) as e:
        if isinstance(e, QuorumWireError):
            raise
        raise QuorumWireError(f"the snapshot does not decode: {e}") from None
    return sessions
