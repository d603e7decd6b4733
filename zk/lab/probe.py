"""Ask a server for its vote on the election port, as a non-voting peer would.

A notification from a server that is not a voter is answered at once with the
receiver's current vote and state (FastLeaderElection.Messenger). The probe connects
as such a peer (an id above every member, so the connection is kept), sends one LOOKING
notification and returns the answer: what the server reports as its state and leader.
Apache ZooKeeper 3.8 and ours both answer it.

Mirrors: no Java class; what an observer's first notification gets back.
"""

from __future__ import annotations

import asyncio
import struct

from zk.election.messages import (
    InitialMessage,
    Notification,
    ServerState,
    decode_notification,
    encode_initial_message,
    encode_notification,
    frame,
)

__all__ = ["PROBE_SID", "election_vote"]

PROBE_SID = 10_000
"""The id the probe introduces itself with: above any lab member's."""


async def election_vote(host: str, election_port: int, timeout: float = 5.0) -> Notification:
    """Return the vote `host:election_port` reports (its state, leader, zxid, epochs).

    Raises:
        OSError: The connection failed or was closed without an answer.
        TimeoutError: No answer within `timeout`.
    """
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(host, election_port)
        try:
            writer.write(encode_initial_message(InitialMessage(PROBE_SID, (("127.0.0.1", 1),))))
            writer.write(frame(encode_notification(Notification(ServerState.LOOKING, PROBE_SID, 0, 0, 0))))
            await writer.drain()
            try:
                (length,) = struct.unpack(">i", await reader.readexactly(4))
                body = await reader.readexactly(length)
            except asyncio.IncompleteReadError as e:
                raise OSError(f"{host}:{election_port} closed without answering") from e
        finally:
            writer.close()
    return decode_notification(body, sid=-1)
