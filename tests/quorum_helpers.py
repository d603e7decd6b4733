"""Helpers for the broadcast and sync tests: ensembles of real processes, and scripted leaders.

Both ``tests/broadcast`` and ``tests/sync`` import this module by its name
(``from quorum_helpers import ...``): ``tests/`` is on ``sys.path`` because it holds the
``conftest.py``, as for the other ``*_helpers`` modules.

Ensembles (``zk.lab``), the clients run in a thread (``asyncio.to_thread``):

* `client`, `close`: a kazoo client started on a connect string, and its end;
* `tree`, `children`, `create_sequential`, `read_everywhere`,
  `write_everywhere_read_everywhere`: what a member holds, through a fresh client;
* `until`, `zxids`, `wait_converged`, `converged_tree`, `wait_serving`, `wait_modes`,
  `wait_log`: polling the members until ZooKeeper's guarantees show;
* `make_leader`: make a chosen member (the highest id) the leader;
* `LoadWriter`: a client creating nodes in a loop while the test crashes members.

Scripted leaders (a real follower or QuorumPeer in this process, a fake leader on a socket):
`z`, `OPEN_ACL`, `create_entry`, `enc`, `scripted_leader`, `scripted_peer`,
`follow_scripted_leader`, `register_follower`, `sync_by_empty_diff`.
"""

from __future__ import annotations

import asyncio
import struct
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from kazoo.client import KazooClient
from kazoo.exceptions import ConnectionLoss, NodeExistsError, SessionExpiredError

from zk.broadcast import Follower, PacketType, packet, read_packet
from zk.election.vote import Vote
from zk.jute.codec import Writer
from zk.jute.records import ACL, CreateTxn, Id, QuorumPacket, TxnHeader
from zk.lab import Ensemble, ServerProcess, parse_srvr
from zk.lab.chaos import wait_serving
from zk.lab.ports import free_ports
from zk.protocol.constants import OpCode
from zk.startup.config import QuorumPeerConfig
from zk.startup.quorum_peer import QuorumPeer
from zk.storage.util import TxnLogEntry

__all__ = [
    "OPEN_ACL",
    "LoadWriter",
    "Script",
    "children",
    "client",
    "close",
    "converged_tree",
    "create_entry",
    "create_sequential",
    "enc",
    "follow_scripted_leader",
    "make_leader",
    "read_everywhere",
    "register_follower",
    "scripted_leader",
    "scripted_peer",
    "sync_by_empty_diff",
    "tree",
    "until",
    "wait_converged",
    "wait_log",
    "wait_modes",
    "wait_serving",
    "write_everywhere_read_everywhere",
    "z",
    "zxids",
]

_T = TypeVar("_T")

# --- clients -------------------------------------------------------------------------------

SESSION_TIMEOUT = 10.0
"""What kazoo asks for; the servers cut it to maxSessionTimeout (20 ticks unless set)."""
CONNECT_TIMEOUT = 30.0
"""How long `client` waits for a session: a JVM and two of ours on a loaded 2-core machine."""


def client(hosts: str, **kw: Any) -> KazooClient:
    """A started kazoo client on `hosts` (one member's ``host:port`` or a connect string).

    Kazoo tries each host in turn until one gives it a session: a member that is still
    syncing ("not currently serving") closes the connection and kazoo moves on or retries.
    """
    c = KazooClient(hosts=hosts, timeout=SESSION_TIMEOUT, **kw)
    try:
        c.start(timeout=CONNECT_TIMEOUT)
    except BaseException:
        c.stop()
        c.close()
        raise
    return c


def close(c: KazooClient) -> None:
    """Close the session and release the client's thread."""
    c.stop()
    c.close()


def tree(c: KazooClient, path: str = "/") -> dict[str, bytes]:
    """Every node below `path` (not `path` itself, not ``/zookeeper``): full path to data."""
    out: dict[str, bytes] = {}
    for child in c.get_children(path):
        p = f"{path.rstrip('/')}/{child}"
        if p != "/zookeeper":
            out[p] = c.get(p)[0]
            out.update(tree(c, p))
    return out


def children(hosts: str, parent: str) -> list[str]:
    """`parent`'s children's names, sorted, as a fresh client on `hosts` reads them after sync."""
    c = client(hosts)
    try:
        c.sync(parent)
        return sorted(c.get_children(parent))
    finally:
        close(c)


def create_sequential(hosts: str, prefix: str, n: int = 5) -> list[str]:
    """`n` sequential nodes ``prefix0000000000``... through a fresh client; their paths.
    The parent is created if missing."""
    c = client(hosts)
    try:
        return [c.create(prefix, b"x", sequence=True, makepath=True) for _ in range(n)]
    finally:
        close(c)


def read_everywhere(servers: Iterable[ServerProcess], read: Callable[[KazooClient], _T]) -> list[_T]:
    """`read(client)` through a fresh kazoo client on each member, after a sync."""
    out = []
    for s in servers:
        c = client(s.connect_string)
        try:
            c.sync("/")
            out.append(read(c))
        finally:
            close(c)
    return out


def write_everywhere_read_everywhere(
    servers: Sequence[ServerProcess], parent: str, per_member: int = 3
) -> list[dict[str, bytes]]:
    """Each member gets `per_member` creates through its own client and reads its own last
    write at once; then every member's view of `parent` (`tree`) after sync."""
    clients = [client(s.connect_string) for s in servers]
    try:
        clients[0].ensure_path(parent)
        for s, c in zip(servers, clients, strict=True):
            for j in range(per_member):
                c.create(f"{parent}/s{s.myid}-{s.kind}-{j}", f"{s.myid}:{j}".encode())
            last = per_member - 1
            assert c.get(f"{parent}/s{s.myid}-{s.kind}-{last}")[0] == f"{s.myid}:{last}".encode()  # its own write
        views = []
        for c in clients:
            c.sync(parent)
            views.append(tree(c, parent))
        return views
    finally:
        for c in clients:
            close(c)


# --- waiting -------------------------------------------------------------------------------


async def until(check: Callable[[], object], what: str, timeout: float = 20, poll: float = 0.05) -> None:
    """Poll `check()` until it is truthy; an AssertionError naming `what` after `timeout` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"not in {timeout:g}s: {what}")
        await asyncio.sleep(poll)


async def zxids(servers: Iterable[ServerProcess]) -> dict[int, str | None]:
    """Each member's ``Zxid`` from `srvr` by myid; None where it does not serve (or is down)."""
    out: dict[int, str | None] = {}
    for s in servers:
        try:
            out[s.myid or 0] = parse_srvr(await s.four_letter_word("srvr")).get("Zxid")
        except (OSError, TimeoutError):
            out[s.myid or 0] = None
    return out


async def wait_converged(servers: Iterable[ServerProcess], timeout: float = 30) -> str:
    """Wait until every member serves the same zxid and return it (``0x...``)."""
    members = list(servers)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        seen = await zxids(members)
        values = set(seen.values())
        if len(values) == 1 and None not in values:
            return str(next(iter(values)))
        if loop.time() > deadline:
            raise AssertionError(f"servers did not converge: {seen}")
        await asyncio.sleep(0.1)


async def converged_tree(servers: Iterable[ServerProcess], timeout: float = 30) -> tuple[str, dict[str, bytes]]:
    """`wait_converged`, then read the whole tree on every member: equal everywhere.
    Returns the zxid and the tree."""
    members = list(servers)
    zxid = await wait_converged(members, timeout)
    trees = await asyncio.to_thread(read_everywhere, members, tree)
    for s, t in zip(members, trees, strict=True):
        assert t == trees[0], f"same zxid, different trees: s{s.myid} differs from s{members[0].myid}"
    return zxid, trees[0]


async def wait_modes(ens: Ensemble, want: dict[int, str], timeout: float = 30) -> None:
    """Wait until the members' modes are `want`. After a leader change a learner says
    "not currently serving" until it has re-synced."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (modes := await ens.modes()) != want:
        if loop.time() > deadline:
            raise AssertionError(f"modes {modes}, expected {want}")
        await asyncio.sleep(0.1)


async def wait_log(server: ServerProcess, text: str, timeout: float = 20) -> str:
    """Wait until the last 400 lines of `server`'s log hold `text`; those lines."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while text not in (tail := server.log_tail(400)):
        if loop.time() > deadline:
            raise AssertionError(f"{server.name} never logged {text!r}:\n{server.log_tail(40)}")
        await asyncio.sleep(0.05)
    return tail


def _write_one(hosts: str, path: str) -> None:
    c = client(hosts)
    try:
        c.create(path, b"", sequence=True, makepath=True)
    finally:
        close(c)


async def make_leader(ens: Ensemble, target: ServerProcess) -> None:
    """Make `target`, the voter with the highest id, the leader.

    Equal histories elect the highest id, but a loaded machine may let two voters elect
    one of their own before the third is up. Then crash that leader, but only after a
    write has reached every member: without one, the members' zxids differ by how they
    synced (a learner that joined before the leader served took an empty DIFF and keeps
    its old zxid; one that joined later took a SNAP at the new epoch's zxid, in 3.8 as in
    ours), and the higher zxid, not the higher id, wins the next round. With equal
    histories the target and the other voter elect the target; the crashed one comes back.
    """
    history = []
    for _ in range(5):
        await wait_serving(ens)
        leader = await ens.wait_for_leader(timeout=30)
        if leader is target:
            return
        await asyncio.to_thread(_write_one, leader.connect_string, "/make-leader/w-")
        history.append((leader.myid, await wait_converged(ens)))
        await leader.kill()
        await ens.wait_for_leader(timeout=30)
        await leader.start()
    raise AssertionError(f"s{target.myid} did not become leader: leaders and zxids in turn {history}")


# --- load ----------------------------------------------------------------------------------


class LoadWriter:
    """A kazoo client creating ``parent/n00000``, ``n00001``... one at a time until stopped.

    `acked` holds each path whose create was acknowledged (or found to exist on a retry:
    an earlier try went through before a crash); a connection loss or an expired session
    is retried with the same path. At most `limit` creates.
    """

    def __init__(self, hosts: str, parent: str, limit: int) -> None:
        self.hosts = hosts
        self.parent = parent
        self.limit = limit
        self.acked: list[str] = []
        self._stop = threading.Event()
        self._task: asyncio.Future[None] | None = None

    def _run(self) -> None:
        c = client(self.hosts)
        try:
            c.ensure_path(self.parent)
            i = 0
            while not self._stop.is_set():
                path = f"{self.parent}/n{i:05d}"
                try:
                    c.create(path, b"x")
                    self.acked.append(path)
                    i += 1
                except NodeExistsError:  # an earlier try went through before the crash
                    self.acked.append(path)
                    i += 1
                except (ConnectionLoss, SessionExpiredError):
                    pass
                if len(self.acked) > self.limit:
                    break
        finally:
            close(c)

    def start(self) -> None:
        """Start writing in a thread."""
        self._task = asyncio.ensure_future(asyncio.to_thread(self._run))

    async def wait_acked(self, n: int, what: str, timeout: float = 30) -> None:
        """Wait until `n` creates are acknowledged in all."""
        await until(lambda: len(self.acked) >= n or (self._task is not None and self._task.done()), what, timeout)
        assert len(self.acked) >= n, f"{what}: {len(self.acked)} acknowledged"

    async def stop(self) -> None:
        """Stop and wait for the thread; raises what the writer raised."""
        self._stop.set()
        if self._task is not None:
            await self._task


# --- scripted leaders --------------------------------------------------------------------

OPEN_ACL = [ACL(31, Id("world", "anyone"))]


def z(epoch: int, counter: int) -> int:
    """A zxid: epoch in the high 32 bits, counter in the low."""
    return epoch << 32 | counter


def create_entry(zxid: int, path: str) -> TxnLogEntry:
    """A logged create of `path` (empty data, open ACL) at `zxid`."""
    return TxnLogEntry(TxnHeader(0x55, 1, zxid, 0, OpCode.create), CreateTxn(path, b"", OPEN_ACL, False, 1))


def enc(qp: QuorumPacket) -> bytes:
    """A quorum packet as it goes on the wire."""
    w = Writer()
    qp.encode(w)
    return w.getvalue()


def scripted_peer(
    tmp_path: Path, cls: type[QuorumPeer] = QuorumPeer, *, server_id: int = 2, tick_time: int = 100, sync_limit: int = 5
) -> tuple[QuorumPeer, int]:
    """A QuorumPeer of server.`server_id` in a three-member config on free loopback
    ports, its dataDir `tmp_path` (initLimit 10); and server.1's quorum port: where a
    test's scripted leader listens (the default, server.2), or where this peer, as
    server.1, waits for a scripted learner."""
    ports = free_ports(7)
    props = {
        "tickTime": str(tick_time),
        "initLimit": "10",
        "syncLimit": str(sync_limit),
        "dataDir": str(tmp_path),
        "clientPort": str(ports[0]),
        "clientPortAddress": "127.0.0.1",
        **{f"server.{sid}": f"127.0.0.1:{ports[2 * sid - 1]}:{ports[2 * sid]}" for sid in (1, 2, 3)},
    }
    cfg = QuorumPeerConfig.from_properties(props)
    cfg.server_id = server_id
    return cls(cfg), ports[1]


Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
"""What a scripted leader plays to the learner that connects: reads and writes packets."""


@asynccontextmanager
async def scripted_leader(script: Script, port: int = 0) -> AsyncIterator[tuple[int, asyncio.Event]]:
    """A fake leader on loopback `port` (0: a free one) that plays `script` to whoever
    connects, then hangs up. Yields its port and an event set once the script ended."""
    done = asyncio.Event()

    async def leader(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await script(reader, writer)
        finally:
            writer.close()
            done.set()

    server = await asyncio.start_server(leader, "127.0.0.1", port)
    try:
        yield server.sockets[0].getsockname()[1], done
    finally:
        server.close()
        await server.wait_closed()


async def follow_scripted_leader(peer: QuorumPeer, leader_port: int, script: Script) -> None:
    """One term of `peer` following a leader that plays `script`, then hangs up."""
    async with scripted_leader(script, leader_port) as (_, done):
        assert peer.fle is not None
        peer.fle.current_vote = Vote(1, 0, 1, 0)  # the election chose server.1
        async with asyncio.timeout(20):
            await peer.follow(Follower)
            await done.wait()


async def register_follower(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, epoch: int) -> QuorumPacket:
    """FOLLOWERINFO → LEADERINFO(epoch) → ACKEPOCH; returns the ACKEPOCH (its zxid is
    the follower's last zxid, what the leader plans the sync from)."""
    assert (await read_packet(reader)).type == PacketType.FOLLOWERINFO
    writer.write(enc(packet(PacketType.LEADERINFO, z(epoch, 0), struct.pack(">i", 0x10000))))
    ackepoch = await read_packet(reader)
    assert ackepoch.type == PacketType.ACKEPOCH
    return ackepoch


async def sync_by_empty_diff(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, epoch: int, newleader_data: bytes | None = None
) -> None:
    """Register the follower, then sync it with nothing to send: DIFF, NEWLEADER (with
    `newleader_data`), its ACK, UPTODATE, its ACK. The follower then serves in `epoch`."""
    await register_follower(reader, writer, epoch)
    writer.write(enc(packet(PacketType.DIFF, 0)) + enc(packet(PacketType.NEWLEADER, z(epoch, 0), newleader_data)))
    ack = await read_packet(reader)
    assert (ack.type, ack.zxid) == (PacketType.ACK, z(epoch, 0))
    writer.write(enc(packet(PacketType.UPTODATE, -1)))
    assert (await read_packet(reader)).type == PacketType.ACK
