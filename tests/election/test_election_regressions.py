"""ZooKeeper's own election bugs, replayed. See /work/shared/zab-regressions.md.

* ZOOKEEPER-2930: before its fix QuorumCnxManager.connectOne opened each connection
  synchronously, on the thread that sends the notifications (and on the election's
  own thread in connectAll). A member whose address swallows SYNs cost cnxTimeout per
  connect, and the notifications to the reachable members queued behind it: with two
  such members of five, the other three could not elect a leader for tens of seconds
  per round. Here three QuorumPeers of ours, in this process, run with a five-member
  config whose server.4 and server.5 point at a *blackhole*: a listening socket whose
  accept queue is full, so the kernel drops every SYN and a connect hangs until its
  timeout. The three must elect a leader well within one connect timeout.
* ZOOKEEPER-1732 / -1818: a server restarting into an established ensemble must join it
  although the members' FOLLOWING/LEADING votes carry different election rounds and
  zxids. On the seeded simulator (FastLeaderElection cores only).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from quorum_helpers import z

from zk.election import ServerState, SimNetwork, Vote
from zk.lab.ports import free_ports
from zk.startup.config import QuorumPeerConfig
from zk.startup.quorum_peer import QuorumPeer

# --- ZOOKEEPER-2930 ----------------------------------------------------------------------

CNX_TIMEOUT_MS = 10_000
"""zookeeper.cnxTimeout for the three: one connect to a blackhole takes this long."""
ELECTION_BOUND_S = 6.0
"""The three must agree on a leader before this: well inside one connect timeout."""


@contextlib.contextmanager
def _blackholes(n: int) -> Iterator[list[int]]:
    """`n` loopback ports where a connect hangs: each is a listening socket with backlog
    0 whose one queue slot is taken by a connection nobody accepts, so Linux drops
    every further SYN (tcp_conn_request: the accept queue is full)."""
    socks: list[socket.socket] = []
    try:
        ports = []
        for _ in range(n):
            listener = socket.socket()
            listener.bind(("127.0.0.1", 0))
            listener.listen(0)
            filler = socket.create_connection(listener.getsockname(), timeout=2)
            socks += [listener, filler]
            ports.append(listener.getsockname()[1])
        probe = socket.socket()
        socks.append(probe)
        probe.settimeout(0.5)
        try:
            probe.connect(("127.0.0.1", ports[0]))
        except TimeoutError:
            pass  # as wanted: the SYN went unanswered
        else:
            raise AssertionError("the blackhole answered a connect")
        yield ports
    finally:
        for s in socks:
            s.close()


def _peers(tmp_path: Path, blackhole: list[int]) -> list[QuorumPeer]:
    """Servers 1-3 of a five-member config; 4 and 5 are at the blackhole."""
    ports = free_ports(9)
    servers = {f"server.{sid}": f"127.0.0.1:{ports[3 * sid - 2]}:{ports[3 * sid - 1]}" for sid in (1, 2, 3)}
    servers["server.4"] = f"127.0.0.1:{blackhole[0]}:{blackhole[1]}"
    servers["server.5"] = f"127.0.0.1:{blackhole[2]}:{blackhole[3]}"
    peers = []
    for sid in (1, 2, 3):
        props = {
            "tickTime": "100",
            "initLimit": "50",
            "syncLimit": "20",
            "dataDir": str(tmp_path / f"s{sid}"),
            "clientPort": str(ports[3 * sid - 3]),
            "clientPortAddress": "127.0.0.1",
            "cnxTimeout": str(CNX_TIMEOUT_MS),
            **servers,
        }
        cfg = QuorumPeerConfig.from_properties(props)
        cfg.server_id = sid
        peers.append(QuorumPeer(cfg))
    return peers


def _agreed(peers: list[QuorumPeer]) -> int | None:
    """The leader the three settled on, if they have."""
    if any(p.fle is None or p.state == ServerState.LOOKING for p in peers):
        return None
    votes = {p.fle.current_vote.id for p in peers if p.fle is not None}
    leaders = [p.my_id for p in peers if p.state == ServerState.LEADING]
    if len(votes) == 1 and leaders == list(votes):
        return leaders[0]
    return None


async def test_ZOOKEEPER_2930_an_election_does_not_wait_for_connects_to_unreachable_members(tmp_path: Path) -> None:
    """Two of five server lines point at addresses that never answer a SYN; in ZooKeeper a
    blocking connect to one stalled the election. Ours: QuorumCnxManager.connect_one starts
    each connect as its own task, bounded by cnxTimeout."""
    with _blackholes(4) as blackhole:
        peers = _peers(tmp_path, blackhole)
        loop = asyncio.get_running_loop()
        start = loop.time()
        runs = [asyncio.ensure_future(p.run()) for p in peers]
        try:
            leader = None
            while leader is None and loop.time() - start < ELECTION_BOUND_S and not any(r.done() for r in runs):
                await asyncio.sleep(0.02)
                leader = _agreed(peers)
            took = loop.time() - start
            for r in runs:
                if r.done():
                    r.result()  # a peer that crashed: its error
            states = {p.my_id: p.state.name for p in peers}
            assert leader is not None, (
                f"no leader after {took:.1f}s (one connect to the blackhole takes {CNX_TIMEOUT_MS / 1000:g}s): {states}"
            )
            assert leader == 3  # equal histories: the highest id of the three reachable
        finally:
            for r in runs:
                r.cancel()
            await asyncio.gather(*runs, return_exceptions=True)


# --- ZOOKEEPER-1732 / -1818 --------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_ZOOKEEPER_1732_a_restarted_server_joins_an_ensemble_whose_votes_disagree_on_round_and_zxid(
    seed: int,
) -> None:
    """An established ensemble's members report the same leader and peer epoch, but each
    the round and zxid of the election it settled in: a member that came back through
    another round, or joined a running leader, keeps its own (the corner cases of
    ZOOKEEPER-1732 and -1818; QuorumPeer.updateElectionVote aligns only the peer
    epoch). A server restarting into it (at round 1, the round of one of them) must
    join the leader on their FOLLOWING/LEADING answers. ZooKeeper, before 1732,
    compared those answers field by field and waited forever.

    The rules, FastLeaderElection as 3.8 has them: a settled vote matches on leader and
    peer epoch only (Vote.matches); a FOLLOWING/LEADING answer from the joiner's own
    round is counted in ``outofelection`` too (_following); the Messenger answers a
    LOOKING peer with the vote it settled on. Server 4 is down, so every one of the
    three answers is needed for a quorum of five.
    """
    net = SimNetwork(5, seed=seed)
    for sid in range(1, 6):
        net.start(sid, zxid=z(1, 7), epoch=1)
    net.run_until_stable()
    assert net.leaders() == [5]
    net.crash(1)
    net.crash(4)
    # what the ensemble's history left in each member's vote: leader 5 of epoch 2 for all,
    # rounds and zxids their own
    for sid, (zxid, round_) in {2: (z(1, 7), 1), 3: (z(1, 9), 2), 5: (z(2, 0), 3)}.items():
        fle = net.peers[sid]
        fle.current_vote = Vote(5, zxid, round_, 2, version=2)
        fle.logical_clock = round_
    net.run(until=net.now + 100)
    net.start(1, zxid=z(2, 4), epoch=2)  # restarted: its logical clock starts at 1
    net.run(until=net.now + 5000)
    assert net.states()[1] == ServerState.FOLLOWING, f"server 1 never joined: {net.states()}"
    assert net.votes()[1] == 5
    assert net.leaders() == [5] and net.peers[5].logical_clock == 3  # the leader never looked again
