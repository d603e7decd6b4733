"""SIGTERM stops an ensemble member promptly, whatever its role and whatever it was doing.

``zk server`` turns SIGTERM into a cancel of the QuorumPeer's task (zk.startup.main);
a server that outlives it by the lab's grace period is killed with SIGKILL, which is a
crash, not a shutdown. The race these tests pin down: when a whole ensemble stops at
once, a follower reads its leader's goodbye and its own SIGTERM in the same loop turn,
so the cancel lands while the follower is ending its term. It used to land inside the
processor chain's ``stop``, which suppresses the CancelledError of the sync task it
awaits, and was lost: the follower went back to LOOKING until the SIGKILL.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from quorum_helpers import scripted_peer

from zk import lab
from zk.lab import ServerProcess
from zk.server import ZooKeeperServer

PROMPT = 3.0  # seconds from SIGTERM to exit; the lab's grace before SIGKILL is 10
TICK = 200


async def _timed_stop(s: ServerProcess) -> tuple[float, int | None]:
    start = time.monotonic()
    rc = await s.stop(grace=PROMPT + 2)  # past PROMPT: measure the overrun, not the SIGKILL
    return time.monotonic() - start, rc


async def test_a_member_exits_within_3_s_of_sigterm_in_each_role() -> None:
    async with lab.ensemble(4, observers=1, tickTime=TICK) as ens:
        leader = await ens.wait_for_leader()
        roles = {s.myid: await s.mode() for s in ens}
        follower = next(s for s in ens if roles[s.myid] == "follower")
        observer = ens.observers[0]
        assert roles[observer.myid] == "observer", roles
        # observer, then a follower (the leader keeps its quorum), then the leader
        for s, role in ((observer, "observer"), (follower, "follower"), (leader, "leader")):
            took, rc = await _timed_stop(s)
            assert rc == 0 and took < PROMPT, f"the {role} took {took:.1f} s to exit (status {rc}):\n{s.log_tail(30)}"


@pytest.mark.parametrize("round_", range(3))
async def test_a_whole_ensemble_stopped_at_once_exits_within_3_s(round_: int) -> None:
    async with lab.ensemble(3, tickTime=TICK) as ens:
        await ens.wait_for_leader()
        results = await asyncio.gather(*(_timed_stop(s) for s in ens))
        slow = {s.myid: r for s, r in zip(ens, results, strict=True) if r[1] != 0 or r[0] >= PROMPT}
        assert not slow, f"(seconds, status) of the members that did not exit promptly: {slow}"


async def test_a_cancel_that_lands_while_a_term_ends_is_raised_after_the_clean_up(tmp_path: Path) -> None:
    """The race, made exact: cancel the QuorumPeer while its term's server is waiting
    for its own cancelled sync task (``with suppress(CancelledError): await task``)."""
    peer, _ = scripted_peer(tmp_path, tick_time=TICK)
    await peer.start()
    try:
        assert peer.db is not None
        zks = ZooKeeperServer(peer._server_config(), db=peer.db)
        await zks.start(listen=False)
        (sync_task,) = zks.chain.tasks
        ending = asyncio.create_task(peer._end_term(zks))
        async with asyncio.timeout(5):
            while not sync_task.cancelling():  # the chain's stop has cancelled its task
                await asyncio.sleep(0)
        assert not sync_task.done()  # and awaits it: the moment the cancel used to vanish
        ending.cancel()
        with pytest.raises(asyncio.CancelledError):
            async with asyncio.timeout(5):
                await ending
        assert sync_task.done() and not zks.running  # the clean-up still ran to its end
    finally:
        await peer.stop()
