"""Unmodified clients against three of our servers, given the ensemble's full connect string.

* zkCli.sh (Apache ZooKeeper 3.8's shell, one JVM, commands on stdin) creates, sets and
  reads nodes through whichever member it picks; kazoo then reads the same tree on every
  member.
* A kazoo client is connected to a follower and holds an ephemeral; that follower is
  killed (-9). The ensemble keeps its quorum (no election), the client moves to another
  member with the same session id, its ephemeral is still there, and what it writes next
  is read on every member, the killed one too once it is back.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from kazoo.client import KazooClient, KazooState
from quorum_helpers import client, close, read_everywhere

from zk import lab
from zk.lab import Ensemble, reference_missing_reason

pytestmark = pytest.mark.asyncio(loop_scope="module")

ZKCLI = "/usr/share/zookeeper/bin/zkCli.sh"
TICK = 200

CLI_COMMANDS = """\
create /cli data0
create /cli/a a0
create /cli/b b0
set /cli data1
set /cli/a a1
get /cli
get /cli/a
ls /cli
quit
"""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def ens() -> AsyncIterator[Ensemble]:
    # sessions of up to 15 s: the client's 10 s is not cut to 20 ticks (4 s)
    async with lab.ensemble(
        3, kind="ours", tickTime=TICK, syncLimit=5, initLimit=10, maxSessionTimeout=15000, forceSync="no"
    ) as e:
        yield e


@pytest.mark.skipif(not os.path.exists(ZKCLI), reason=f"{ZKCLI} not installed (apt-get install zookeeper)")
@pytest.mark.skipif(reference_missing_reason() is not None, reason=reference_missing_reason() or "")
async def test_zkcli_with_the_full_connect_string(ens: Ensemble) -> None:
    assert ens.connect_string.count(",") == 2
    result = await asyncio.to_thread(
        subprocess.run,
        [ZKCLI, "-server", ens.connect_string],
        input=CLI_COMMANDS,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
    )
    out = result.stdout
    lines = [line.strip() for line in out.splitlines()]
    for created in ("Created /cli", "Created /cli/a", "Created /cli/b"):
        assert created in lines, out
    # zkCli's own reads, through the member it is connected to, see its own writes
    assert "data1" in lines and "a1" in lines, out
    assert "[a, b]" in lines, out
    assert "WatchedEvent state:SyncConnected type:None path:null" in lines, out

    def read(c: KazooClient) -> tuple[bytes, bytes, bytes, list[str], int, int]:
        top, top_stat = c.get("/cli")
        a, a_stat = c.get("/cli/a")
        b, _ = c.get("/cli/b")
        return top, a, b, sorted(c.get_children("/cli")), top_stat.version, a_stat.version

    assert await asyncio.to_thread(read_everywhere, ens, read) == [(b"data1", b"a1", b"b0", ["a", "b"], 1, 1)] * 3


async def test_session_moves_when_its_server_is_killed(ens: Ensemble) -> None:
    leader = await ens.wait_for_leader()
    follower = next(s for s in ens if s is not leader)
    # the follower first, then the others: the client starts on the follower
    hosts = ",".join([follower.connect_string] + [s.connect_string for s in ens if s is not follower])
    states: list[KazooState] = []
    c = await asyncio.to_thread(client, hosts, randomize_hosts=False)
    try:
        assert c._connection._socket.getpeername()[1] == follower.port
        c.add_listener(states.append)
        session_id = c.client_id[0]
        await asyncio.to_thread(c.create, "/moving", b"")
        await asyncio.to_thread(c.create, "/moving/eph", b"mine", ephemeral=True)

        await follower.kill()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while not (states and states[-1] == KazooState.CONNECTED and c.connected):
            assert loop.time() < deadline, f"no reconnect: {states}"
            await asyncio.sleep(0.05)

        assert KazooState.LOST not in states, states
        assert c.client_id[0] == session_id
        port = c._connection._socket.getpeername()[1]
        assert port != follower.port and port in {s.port for s in ens}
        assert (await ens.leaders()) == [leader]  # two of three: no election was needed

        stat = await asyncio.to_thread(c.exists, "/moving/eph")
        assert stat is not None and stat.ephemeralOwner == session_id
        await asyncio.to_thread(c.create, "/moving/after", b"written after the move")

        await follower.restart()
        await ens.wait_ready()

        def read(r: KazooClient) -> tuple[bytes, int | None]:
            eph = r.exists("/moving/eph")
            return r.get("/moving/after")[0], None if eph is None else eph.ephemeralOwner

        assert await asyncio.to_thread(read_everywhere, ens, read) == [(b"written after the move", session_id)] * 3
    finally:
        await asyncio.to_thread(close, c)
