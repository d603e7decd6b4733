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
from kazoo.exceptions import ConnectionLoss, SessionExpiredError
from kazoo.handlers.threading import KazooTimeoutError
from quorum_helpers import children, client, close, create_sequential, wait_converged

from zk import lab
from zk.lab import Ensemble

pytestmark = pytest.mark.asyncio(loop_scope="module")

TICK = 200
SYNC_LIMIT = 5


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def ens() -> AsyncIterator[Ensemble]:
    async with lab.ensemble(3, kind="ours", tickTime=TICK, syncLimit=SYNC_LIMIT) as e:
        yield e


async def test_the_majority_goes_on_without_a_frozen_leader(ens: Ensemble) -> None:
    old = await ens.wait_for_leader()
    await old.pause()
    rest = [s for s in ens if s is not old]

    # waits, through kazoo's retries, for the new leader
    made = await asyncio.to_thread(create_sequential, ",".join(s.connect_string for s in rest), "/majority/n", 5)
    modes = {s.myid: await s.mode() for s in rest}
    assert sorted(m or "" for m in modes.values()) == ["follower", "leader"], modes
    await old.resume()
    await wait_converged(ens)
    assert await old.mode() == "follower"
    names = await asyncio.to_thread(children, old.connect_string, "/majority")
    assert [f"/majority/{n}" for n in names] == sorted(made)


async def test_a_server_cut_off_from_the_other_two_acknowledges_no_write(ens: Ensemble) -> None:
    alone = await ens.wait_for_leader()
    c = await asyncio.to_thread(client, alone.connect_string)
    try:
        for s in ens:
            if s is not alone:
                await s.kill()
        pending = c.create_async("/minority", b"must not be acknowledged")

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
        await asyncio.to_thread(close, c)
    for s in ens:
        if s is not alone:
            await s.start()
    await ens.wait_ready()
    await wait_converged(ens)
