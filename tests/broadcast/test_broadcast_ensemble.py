"""Atomic broadcast with real processes: three of our servers serving kazoo (zk.lab).

One module-scoped ensemble; the tests run in order and each leaves it serving with
three members: writes through every server, bad bytes on the quorum port, then a
kill -9 of the leader under write load and the old leader's return.
"""

from __future__ import annotations

import asyncio
import struct
import threading
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from kazoo.client import KazooClient
from kazoo.exceptions import ConnectionLoss, NodeExistsError, SessionExpiredError

from zk import lab
from zk.lab import Ensemble, parse_srvr

pytestmark = pytest.mark.asyncio(loop_scope="module")

TICK = 500


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def ens() -> AsyncIterator[Ensemble]:
    async with lab.ensemble(3, kind="ours", tickTime=TICK) as e:
        yield e


def _client(hosts: str) -> KazooClient:
    c = KazooClient(hosts=hosts, timeout=10)
    c.start(timeout=20)
    return c


async def _zxids(ens: Ensemble) -> dict[int, str | None]:
    out: dict[int, str | None] = {}
    for s in ens:
        try:
            out[s.myid or 0] = parse_srvr(await s.four_letter_word("srvr")).get("Zxid")
        except (OSError, TimeoutError):
            out[s.myid or 0] = None
    return out


async def _wait_converged(ens: Ensemble, timeout: float = 30) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        zxids = await _zxids(ens)
        values = set(zxids.values())
        if len(values) == 1 and None not in values:
            return next(iter(values))  # type: ignore[return-value]
        if loop.time() > deadline:
            raise AssertionError(f"servers did not converge: {zxids}")
        await asyncio.sleep(0.2)


def _tree(c: KazooClient, path: str = "/") -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for child in c.get_children(path):
        p = f"{path.rstrip('/')}/{child}"
        if p == "/zookeeper":
            continue
        out[p] = c.get(p)[0]
        out.update(_tree(c, p))
    return out


async def test_every_member_serves_with_its_mode(ens: Ensemble) -> None:
    modes = await ens.modes()
    assert sorted(modes.values()) == ["follower", "follower", "leader"]
    # Equal histories: the highest id wins when all three are in the first round; on a
    # loaded machine one may start late and join the leader the other two chose.


async def test_writes_through_every_server_are_read_everywhere(ens: Ensemble) -> None:
    def work() -> list[dict[str, bytes]]:
        clients = [_client(s.connect_string) for s in ens]
        try:
            clients[0].ensure_path("/w")
            for i, c in enumerate(clients):
                for j in range(5):
                    c.create(f"/w/s{i + 1}-{j}", f"{i}:{j}".encode())
            # read-your-writes on each server, and after sync everybody's writes
            trees = []
            for c in clients:
                c.sync("/w")
                trees.append(_tree(c, "/w"))
            return trees
        finally:
            for c in clients:
                c.stop()
                c.close()

    trees = await asyncio.to_thread(work)
    assert len(trees[0]) == 15
    assert trees[0] == trees[1] == trees[2]
    await _wait_converged(ens)


async def test_a_session_moves_between_servers_with_its_ephemeral(ens: Ensemble) -> None:
    def work() -> tuple[bytes, bool]:
        c1 = _client(ens[1].connect_string)
        c1.create("/eph", b"mine", ephemeral=True)
        session_id, passwd = c1.client_id
        # the same session through another server: REVALIDATE asks the leader
        c2 = KazooClient(hosts=ens[2].connect_string, timeout=10, client_id=(session_id, passwd))
        c2.start(timeout=20)
        try:
            data, stat = c2.get("/eph")
            return data, stat.ephemeralOwner == session_id
        finally:
            c2.stop()  # closes the session: the ephemeral goes
            c2.close()
            c1.stop()
            c1.close()

    data, same_owner = await asyncio.to_thread(work)
    assert data == b"mine"
    assert same_owner

    def gone() -> bool:
        c = _client(ens[3].connect_string)
        try:
            c.sync("/")
            return c.exists("/eph") is None
        finally:
            c.stop()
            c.close()

    assert await asyncio.to_thread(gone)  # closeSession is a txn like any other


@pytest.mark.parametrize(
    ("name", "payload"),
    [
        ("garbage", b"\x13\x37" * 40),
        ("huge length", struct.pack(">iqi", 11, 0, 0x7FFFFFF0)),
        ("wrong first packet", struct.pack(">iqii", 3, 0x100000001, -1, -1)),
    ],
)
async def test_bad_input_on_the_quorum_port_closes_only_that_connection(
    ens: Ensemble, name: str, payload: bytes
) -> None:
    leader = await ens.wait_for_leader()
    port = ens.members[(leader.myid or 1) - 1].quorum_port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    await writer.drain()
    got = await asyncio.wait_for(reader.read(), 15)
    writer.close()
    assert b"\x00\x00\x00\x11" not in got[:4]  # never a LEADERINFO
    log = leader.log_path.read_text()
    assert "GOODBYE" in log
    assert sorted((await ens.modes()).values()) == ["follower", "follower", "leader"]


async def test_kill_the_leader_under_load_loses_no_acknowledged_write(ens: Ensemble) -> None:
    old = await ens.wait_for_leader()
    followers = [s for s in ens if s is not old]
    acked: list[str] = []
    stop = threading.Event()

    def writer() -> None:
        c = KazooClient(hosts=",".join(s.connect_string for s in followers), timeout=10)
        c.start(timeout=20)
        c.ensure_path("/load")
        i = 0
        try:
            while not stop.is_set() or len(acked) < 30:
                path = f"/load/n{i:05d}"
                try:
                    c.create(path, b"x")
                    acked.append(path)
                    i += 1
                except NodeExistsError:  # an earlier try went through before the crash
                    acked.append(path)
                    i += 1
                except (ConnectionLoss, SessionExpiredError):
                    pass
                if len(acked) > 2000:
                    break
        finally:
            c.stop()
            c.close()

    t = asyncio.create_task(asyncio.to_thread(writer))
    while len(acked) < 20:
        await asyncio.sleep(0.05)
    await old.kill()
    new = await ens.wait_for_leader(timeout=30)
    assert new is not old
    n_before = len(acked)
    while len(acked) < n_before + 20:  # the survivors serve writes
        await asyncio.sleep(0.05)
    stop.set()
    await t

    await old.restart()
    await ens.wait_ready()
    zxid = await _wait_converged(ens)
    assert int(zxid, 16) >> 32 >= 2  # a new epoch

    def read_all() -> list[dict[str, bytes]]:
        trees = []
        for s in ens:
            c = _client(s.connect_string)
            try:
                c.sync("/")
                trees.append(_tree(c, "/load"))
            finally:
                c.stop()
                c.close()
        return trees

    trees = await asyncio.to_thread(read_all)
    assert trees[0] == trees[1] == trees[2]  # the old leader converged
    missing = [p for p in acked if p not in trees[0]]
    assert not missing, f"acknowledged writes lost: {missing[:5]}"
    assert (await ens.modes())[old.myid or 0] == "follower"
