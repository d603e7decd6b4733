"""DIFF, TRUNC and SNAP, each brought about on demand in a real ensemble of ours.

One module-scoped ensemble of three (tickTime 200 ms, syncLimit 5 ticks); the tests run
in order. Each makes one learner need one kind of sync, asserts from the leader's trace
(``sync.plan``) which one the leader chose, and that every server ends with the same
tree and zxid:

* a follower that was down while others wrote: DIFF of what it missed;
* a follower whose dataDir was wiped: SNAP;
* ZOOKEEPER-1154: a leader logs a proposal nobody else saw and crashes; the others go on
  in a new epoch; it comes back and is cut back by TRUNC;
* ZOOKEEPER-2845: the same without a restart: the leader loses its quorum, steps down
  with the proposal in its log, and rejoins; the fast-forward of its database to its
  log makes it say so, and it gets a TRUNC, not an empty DIFF that would leave the txn
  in its log to come back at its next restart.

"Nobody else saw it" needs care: a paused process's kernel still buffers what the
leader sends, and would hand it over on resume. So the followers are paused while the
leader proposes, then killed while paused (the buffers die with them) and restarted.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from quorum_helpers import client, close, converged_tree, wait_log

from zk import lab
from zk.lab import Ensemble, ServerProcess
from zk.storage import FileTxnSnapLog

pytestmark = pytest.mark.asyncio(loop_scope="module")

TICK = 200


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def ens() -> AsyncIterator[Ensemble]:
    async with lab.ensemble(3, kind="ours", tickTime=TICK, syncLimit=5, initLimit=10) as e:
        yield e


async def _write(server: ServerProcess, prefix: str, n: int) -> None:
    def work() -> None:
        c = client(server.connect_string)
        try:
            c.ensure_path("/sync")
            for i in range(n):
                c.create(f"/sync/{prefix}-{i}", str(i).encode())
        finally:
            close(c)

    await asyncio.to_thread(work)


def _last_plan(ens: Ensemble, sid: int) -> dict[str, object]:
    plans = [e for e in ens.traces() if e["event"] == "sync.plan" and e["to"] == f"s{sid}"]
    assert plans, f"no sync plan for s{sid}"
    return plans[-1]


async def _propose_unseen(ens: Ensemble, path: str, *, step_down: bool) -> tuple[ServerProcess, int]:
    """The leader proposes and logs a create of `path` that no follower ever receives.

    Returns the old leader (paused if `step_down`, else killed) and the proposal's zxid.
    The followers end killed (while paused) and restarted: a quorum in a new epoch.
    """
    leader = await ens.wait_for_leader()
    followers = [s for s in ens if s is not leader]
    c = await asyncio.to_thread(client, leader.connect_string)
    await asyncio.sleep(0.3)  # the session's txn is on every follower
    for f in followers:
        await f.pause()

    def proposals() -> list[int]:
        return [int(e["zxid"]) for e in leader.trace_events() if e["event"] == "broadcast.proposal"]

    before = len(proposals())
    c.create_async(path, b"never committed")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while len(proposals()) == before:
        if loop.time() > deadline:
            raise AssertionError("the leader never proposed")
        await asyncio.sleep(0.02)
    zxid = proposals()[before]
    if step_down:
        # syncLimit ticks without a follower: the leader gives up its term, keeping its
        # database; the fast-forward to its log brings the proposal into its tree
        tail = await wait_log(leader, "Term over: the database is at")
        assert f"Term over: the database is at 0x{zxid:x}" in tail  # ZOOKEEPER-2845's fix
        await leader.pause()
    else:
        await asyncio.sleep(0.5)  # logged and fsynced by the leader's sync stage
        await leader.kill()
    await asyncio.to_thread(close, c)
    for f in followers:
        await f.kill()  # while paused: what the leader sent dies in their socket buffers
    if not step_down:
        logged = [e.header.zxid for e in FileTxnSnapLog(leader.data_dir).txn_log.read(zxid)]
        assert logged[:1] == [zxid], "the old leader did not log the proposal"
    for f in followers:
        await f.start()
    for f in followers:
        await f.wait_ready()
    return leader, zxid


async def test_a_lagging_follower_is_brought_up_by_DIFF(ens: Ensemble) -> None:
    leader = await ens.wait_for_leader()
    await _write(leader, "before", 1)  # a follower at 0 holds no txn to DIFF from: it would get SNAP
    await converged_tree(ens)
    lagging = next(s for s in ens if s is not leader)
    await lagging.kill()
    await _write(leader, "while-away", 10)
    await lagging.restart()
    plan = _last_plan(ens, lagging.myid or 0)
    assert plan["kind"] == "DIFF"
    assert int(plan["txns"]) >= 10  # type: ignore[call-overload]
    assert f"Synchronizing with Learner sid: {lagging.myid} " in leader.log_tail(400)
    _, tree = await converged_tree(ens)
    assert len([p for p in tree if p.startswith("/sync/while-away-")]) == 10


async def test_a_wiped_follower_is_brought_up_by_SNAP(ens: Ensemble) -> None:
    leader = await ens.wait_for_leader()
    wiped = next(s for s in ens if s is not leader)
    await wiped.kill()
    shutil.rmtree(wiped.data_dir / "version-2")  # myid stays: the same member, no history
    await _write(leader, "after-wipe", 3)
    await wiped.restart()
    plan = _last_plan(ens, wiped.myid or 0)
    assert plan["kind"] == "SNAP"
    assert plan["peer"] == 0
    _, tree = await converged_tree(ens)
    assert "/sync/while-away-9" in tree and "/sync/after-wipe-2" in tree
    # ZOOKEEPER-3104: the synced state is on its disk, not only in memory
    snaps = [p.name for p in (wiped.data_dir / "version-2").iterdir() if p.name.startswith("snapshot.")]
    assert any(int(name.split(".")[1], 16) >= int(str(plan["zxid"])) for name in snaps), snaps


async def test_ZOOKEEPER_1154_an_old_leader_with_an_uncommitted_proposal_is_brought_down_by_TRUNC(
    ens: Ensemble,
) -> None:
    """An old leader that logged a proposal no quorum saw rejoins: it must be truncated (TRUNC), never sent a DIFF
    that would keep the txn on it alone. Ours: zk.sync.plan.plan_sync, with real processes."""
    old, zxid = await _propose_unseen(ens, "/sync/zk-1154", step_down=False)
    new = await ens.wait_for_leader()
    assert new is not old
    await old.restart()  # it holds zxid in its log; nothing was committed in the new epoch yet
    plan = _last_plan(ens, old.myid or 0)
    assert plan["kind"] == "TRUNC"
    assert plan["peer"] == zxid
    assert int(str(plan["zxid"])) < zxid
    _, tree = await converged_tree(ens)
    assert "/sync/zk-1154" not in tree
    await old.kill()  # and it stays cut after a restart: the log itself was truncated
    await old.restart()
    assert "/sync/zk-1154" not in (await converged_tree(ens))[1]


async def test_ZOOKEEPER_2845_a_leader_that_steps_down_is_truncated_not_diffed(ens: Ensemble) -> None:
    """A leader that steps down keeps txns the new quorum skipped unless it is truncated when it rejoins; in
    ZooKeeper a node then existed only on that server. Ours: plan_sync and ZKDatabase.fast_forward_data_base."""
    old, zxid = await _propose_unseen(ens, "/sync/zk-2845", step_down=True)
    new = await ens.wait_for_leader()
    assert new is not old
    await old.resume()  # it never restarted: its database was kept across the elections
    await old.wait_ready()
    plan = _last_plan(ens, old.myid or 0)
    assert plan["kind"] == "TRUNC"
    assert plan["peer"] == zxid  # what its log holds, not what it had committed
    assert "/sync/zk-2845" not in (await converged_tree(ens))[1]
    await _write(new, "after-2845", 2)
    await old.kill()
    await old.restart()
    _, tree = await converged_tree(ens)
    assert "/sync/zk-2845" not in tree and "/sync/after-2845-1" in tree
