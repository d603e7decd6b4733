"""A minority serves no writes; the majority goes on. Three of our servers (zk.lab).

Cut off from the other two (they are killed), a server acknowledges no write: a
proposal needs a quorum of ACKs, and within syncLimit ticks the leader gives up its
term and stops serving. Frozen (SIGSTOP: its sockets open, nothing answering), a leader
is a minority of one: the other two elect a new leader among themselves and serve
writes; thawed, the old leader finds itself behind, follows, and converges.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from kazoo.client import KazooClient
from kazoo.exceptions import ConnectionLoss, SessionExpiredError
from kazoo.handlers.threading import KazooTimeoutError

from zk import lab
from zk.lab import Ensemble, parse_srvr

pytestmark = pytest.mark.asyncio(loop_scope="module")

TICK = 200
SYNC_LIMIT = 5


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def ens() -> AsyncIterator[Ensemble]:
    async with lab.ensemble(3, kind="ours", tickTime=TICK, syncLimit=SYNC_LIMIT) as e:
        yield e


def _client(hosts: str) -> KazooClient:
    c = KazooClient(hosts=hosts, timeout=10)
    c.start(timeout=20)
    return c


async def _wait_converged(ens: Ensemble, timeout: float = 30) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        zxids = []
        for s in ens:
            try:
                zxids.append(parse_srvr(await s.four_letter_word("srvr")).get("Zxid"))
            except (OSError, TimeoutError):
                zxids.append(None)
        if len(set(zxids)) == 1 and None not in zxids:
            return zxids[0]  # type: ignore[return-value]
        if loop.time() > deadline:
            raise AssertionError(f"servers did not converge: {zxids}")
        await asyncio.sleep(0.1)


async def test_the_majority_goes_on_without_a_frozen_leader(ens: Ensemble) -> None:
    old = await ens.wait_for_leader()
    await old.pause()
    rest = [s for s in ens if s is not old]

    def write() -> list[str]:
        c = _client(",".join(s.connect_string for s in rest))
        try:
            return [c.create("/majority/n", b"x", sequence=True, makepath=True) for _ in range(5)]
        finally:
            c.stop()
            c.close()

    made = await asyncio.to_thread(write)  # waits, through kazoo's retries, for the new leader
    modes = {s.myid: await s.mode() for s in rest}
    assert sorted(m or "" for m in modes.values()) == ["follower", "leader"], modes
    await old.resume()
    await _wait_converged(ens)
    assert await old.mode() == "follower"

    def read() -> list[str]:
        c = _client(old.connect_string)
        try:
            return sorted(f"/majority/{n}" for n in c.get_children("/majority"))
        finally:
            c.stop()
            c.close()

    assert await asyncio.to_thread(read) == sorted(made)


async def test_a_server_cut_off_from_the_other_two_acknowledges_no_write(ens: Ensemble) -> None:
    alone = await ens.wait_for_leader()
    client = await asyncio.to_thread(_client, alone.connect_string)
    try:
        for s in ens:
            if s is not alone:
                await s.kill()
        pending = client.create_async("/minority", b"must not be acknowledged")

        def outcome() -> str:
            try:
                pending.get(timeout=4 * SYNC_LIMIT * TICK / 1000)
            except (ConnectionLoss, SessionExpiredError, KazooTimeoutError) as e:
                return type(e).__name__
            return "acknowledged"

        assert await asyncio.to_thread(outcome) != "acknowledged"
        assert "Not sufficient followers synced" in alone.log_tail(200)  # it gave up its term
        assert await alone.mode() is None  # and serves nobody
        for _ in range(100):  # LOOKING is logged once the term's server has stopped
            if alone.peer_state() == "LOOKING":
                break
            await asyncio.sleep(0.05)
        assert alone.peer_state() == "LOOKING"
    finally:
        await asyncio.to_thread(client.stop)
        await asyncio.to_thread(client.close)
    for s in ens:
        if s is not alone:
            await s.start()
    await ens.wait_ready()
    await _wait_converged(ens)
