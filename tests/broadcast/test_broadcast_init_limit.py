"""initLimit, both ways: neither side of the quorum port waits for a silent peer forever.

Until a learner is synced, each side reads with a timeout of ``initLimit * tickTime``
(syncLimit takes over once the NEWLEADER ACK is in): the leader on a learner's
connection (Leader.LearnerCnxAcceptor sets it on the accepted socket, so a peer that
connects and says nothing is dropped), and the learner on the leader's (Learner's
socket, created with it). Without the first, a stuck peer would hold a LearnerHandler
and, during epoch negotiation, the leader's wait; without the second, a learner would
never leave a leader that stopped answering half-way through the handshake, and the
ensemble could lose the voter it needs for the next quorum.

Leader side: a raw TCP connection to the quorum port of the leader of three of ours
and of three of ZooKeeper 3.8's, silent, must be closed after about initLimit ticks,
and the ensemble serves on. Learner side: our follower, in-process, against a scripted
leader that reads FOLLOWERINFO and never answers, gives up after about initLimit ticks.
The windows are generous on purpose (a loaded 2-core machine): what is checked is
that the limit applies, not how fast a server reacts.
"""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest
from quorum_helpers import client, close, scripted_peer

from zk import lab
from zk.broadcast import Follower, PacketType, read_packet
from zk.election.vote import Vote
from zk.lab import ServerProcess

TICK = 200
INIT_LIMIT = 5
SYNC_LIMIT = 2  # shorter than initLimit: a close near syncLimit would mean the wrong limit
INIT_S = TICK * INIT_LIMIT / 1000
SLACK_S = 4.0


def _seconds_until_closed(host: str, port: int, give_up: float = 30.0) -> float:
    """Connect, send nothing, and time how long until the other side closes."""
    with socket.create_connection((host, port), timeout=give_up) as sock:
        start = time.monotonic()
        try:
            data = sock.recv(1)
        except ConnectionResetError:
            data = b""
        assert data == b"", f"the leader sent {data!r} to a learner that said nothing"
        return time.monotonic() - start


def _quorum_port(ens: lab.Ensemble, server: ServerProcess) -> int:
    return next(m.quorum_port for m in ens.members if m.sid == server.myid)


def _write_and_read(hosts: str) -> bytes:
    c = client(hosts)
    try:
        c.create("/after-silence", b"served")
        return bytes(c.get("/after-silence")[0])
    finally:
        close(c)


@pytest.mark.parametrize("kind", ["ours", "reference"])
async def test_a_silent_learner_connection_is_closed_after_init_limit(kind: lab.ServerKind) -> None:
    async with lab.ensemble(3, kind=kind, tickTime=TICK, initLimit=INIT_LIMIT, syncLimit=SYNC_LIMIT) as ens:
        leader = await ens.wait_for_leader()
        waited = await asyncio.to_thread(_seconds_until_closed, leader.host, _quorum_port(ens, leader))
        assert SYNC_LIMIT * TICK / 1000 < INIT_S * 0.8 <= waited <= INIT_S + SLACK_S, waited
        assert await ens.wait_for_leader() is leader  # one stuck peer costs the ensemble nothing
        assert await asyncio.to_thread(_write_and_read, ens.connect_string) == b"served"


async def test_our_follower_leaves_a_leader_that_falls_silent_in_the_handshake(tmp_path: Path) -> None:
    peer, leader_port = scripted_peer(tmp_path)  # tickTime 100, initLimit 10: one second
    limit_s = peer.tick_time * peer.init_limit / 1000
    seen: list[PacketType] = []
    hung_up = asyncio.Event()

    async def silent_leader(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(PacketType((await read_packet(reader)).type))
        try:
            await reader.read()  # no LEADERINFO, ever: wait for the follower to hang up
        finally:
            hung_up.set()
            writer.close()

    server = await asyncio.start_server(silent_leader, "127.0.0.1", leader_port)
    await peer.start()
    try:
        assert peer.fle is not None
        peer.fle.current_vote = Vote(1, 0, 1, 0)  # the election chose server.1
        start = time.monotonic()
        async with asyncio.timeout(limit_s + SLACK_S + 5):
            await peer.follow(Follower)  # returns when the term is over
            await hung_up.wait()
        waited = time.monotonic() - start
    finally:
        server.close()
        await peer.stop()
    assert seen == [PacketType.FOLLOWERINFO]
    assert limit_s * 0.8 <= waited <= limit_s + SLACK_S, waited
