"""Atomic broadcast with real processes: three of our servers serving kazoo (zk.lab).

One module-scoped ensemble; the tests run in order and each leaves it serving with
three members: writes through every server, bad bytes on the quorum port, then a
kill -9 of the leader under write load and the old leader's return.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from kazoo.client import KazooClient
from quorum_helpers import (
    LoadWriter,
    client,
    close,
    read_everywhere,
    tree,
    wait_converged,
    write_everywhere_read_everywhere,
)

from zk import lab
from zk.lab import Ensemble

pytestmark = pytest.mark.asyncio(loop_scope="module")

TICK = 500


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def ens() -> AsyncIterator[Ensemble]:
    async with lab.ensemble(3, kind="ours", tickTime=TICK) as e:
        yield e


async def test_every_member_serves_with_its_mode(ens: Ensemble) -> None:
    modes = await ens.modes()
    assert sorted(modes.values()) == ["follower", "follower", "leader"]
    # Equal histories: the highest id wins when all three are in the first round; on a
    # loaded machine one may start late and join the leader the other two chose.


async def test_writes_through_every_server_are_read_everywhere(ens: Ensemble) -> None:
    # read-your-writes on each server, and after sync everybody's writes
    trees = await asyncio.to_thread(write_everywhere_read_everywhere, list(ens), "/w", 5)
    assert len(trees[0]) == 15
    assert trees[0] == trees[1] == trees[2]
    await wait_converged(ens)


async def test_a_session_moves_between_servers_with_its_ephemeral(ens: Ensemble) -> None:
    def work() -> tuple[bytes, bool]:
        c1 = client(ens[1].connect_string)
        c1.create("/eph", b"mine", ephemeral=True)
        session_id, passwd = c1.client_id
        # the same session through another server: REVALIDATE asks the leader
        c2 = client(ens[2].connect_string, client_id=(session_id, passwd))
        try:
            data, stat = c2.get("/eph")
            return data, stat.ephemeralOwner == session_id
        finally:
            close(c2)  # closes the session: the ephemeral goes
            close(c1)

    data, same_owner = await asyncio.to_thread(work)
    assert data == b"mine"
    assert same_owner

    def gone(c: KazooClient) -> bool:
        return c.exists("/eph") is None

    assert await asyncio.to_thread(read_everywhere, [ens[3]], gone) == [True]  # closeSession is a txn like any other


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
    load = LoadWriter(",".join(s.connect_string for s in followers), "/load", limit=2000)
    load.start()
    try:
        await load.wait_acked(20, "no writes before the crash", timeout=60)
        await old.kill()
        new = await ens.wait_for_leader(timeout=30)
        assert new is not old
        # the survivors serve writes
        await load.wait_acked(len(load.acked) + 20, "the two survivors serve no writes", timeout=60)
    finally:
        await load.stop()

    await old.restart()
    await ens.wait_ready()
    zxid = await wait_converged(ens)
    assert int(zxid, 16) >> 32 >= 2  # a new epoch

    trees = await asyncio.to_thread(read_everywhere, ens, lambda c: tree(c, "/load"))
    assert trees[0] == trees[1] == trees[2]  # the old leader converged
    missing = [p for p in load.acked if p not in trees[0]]
    assert not missing, f"acknowledged writes lost: {missing[:5]}"
    assert (await ens.modes())[old.myid or 0] == "follower"
