"""Faults in a random order under write load, then ZooKeeper's guarantees, checked.

Three of our servers (and, in one case, a fourth that observes) behind the lab's
network take a write load from a kazoo client that moves between them
(quorum_helpers.LoadWriter, one create at a time). A seeded sequence of faults
(zk.lab.chaos.inflict) hits them, one after the other, each followed by the ensemble
serving again and the writer making progress: kill -9 of the leader or of a learner,
the leader or a learner cut off from the others, a crash of them all at once, and the
leader frozen (SIGSTOP, as in a long GC pause) until the others have elected another,
then woken up with its old term's state. Then the writer stops, the network heals, and
we check what Zab promises and what the seed's two rules say (a committed write is
never lost, a skipped one never comes back), on what the servers serve and, with
zk.lab.chaos.disk_violations, on what their disks hold:

- **no acknowledged write is lost**: every create the client saw succeed is in the tree;
- **agreement**: every member serves the same tree at the same zxid;
- **the disk holds what is served**: each member's data directory, restored offline
  as a restart would (FileTxnSnapLog.restore), gives exactly the tree it served;
- **one history**: a zxid logged by two members is the same txn in both logs (a
  leader of an epoch is alone in proposing it), and each log's zxids only grow;
- no member found its tree off the leader's (no "Digest mismatch" in any log).

Each failure names the seed and the faults so far: the run can be repeated. The same
checks run on three of Apache ZooKeeper 3.8.0's servers (our storage reads their logs
and snapshots). What they serve passes. Their disks often do not: a follower's log with
a hole (txns it served but never logged), or going back, or ending before what it
served; the data-loss bugs of zab-regressions.md that were fixed after 3.8.0. Those
runs are reported as expected failures, naming what broke; a failure of what the
reference serves fails the test.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
from quorum_helpers import LoadWriter, converged_tree, wait_serving

from zk import lab
from zk.lab import reference_missing_reason
from zk.lab.chaos import FAULTS, disk_violations, inflict

TICK = 200
ROUNDS = 6
PROGRESS = 15  # acknowledged creates each fault must be followed by


@pytest.mark.parametrize(
    ("kind", "seed", "observers", "snap_count"),
    [("ours", 1, 0, None), ("ours", 2, 0, None), ("ours", 3, 1, None), ("ours", 4, 0, 40), ("reference", 1, 0, None)],
)
async def test_faults_in_random_order_lose_no_acknowledged_write(
    kind: lab.ServerKind, seed: int, observers: int, snap_count: int | None, tmp_path: Path
) -> None:
    """`snap_count`: snapCount for the members; 40 makes each take a fuzzy snapshot and
    roll its log every 20 to 40 txns, so the faults also land in those."""
    if kind == "reference" and (why := reference_missing_reason()) is not None:
        pytest.skip(why)
    rng = random.Random(seed)
    faults = [rng.choice(FAULTS) for _ in range(ROUNDS)]
    async with lab.ensemble(
        3 + observers,
        kind=kind,
        observers=observers,
        network=True,
        tickTime=TICK,
        syncLimit=5,
        initLimit=10,
        config={"snapCount": snap_count} if snap_count else None,
    ) as ens:
        await ens.wait_for_leader(timeout=60)
        writer = LoadWriter(",".join(s.connect_string for s in ens), "/chaos", limit=100_000)
        writer.start()
        try:
            await writer.wait_acked(PROGRESS, "before the first fault", timeout=60)
            for n, name in enumerate(faults):
                where = f"seed {seed}, fault {n + 1} of {faults}"
                await inflict(ens, name, rng)
                await writer.wait_acked(len(writer.acked) + PROGRESS, f"writes after {where}", timeout=90)
        finally:
            await writer.stop()
        ens.network.heal()
        await wait_serving(ens, timeout=60)
        zxid, served = await converged_tree(ens, timeout=60)
        where = f"seed {seed}, faults {faults}"

        lost = [p for p in writer.acked if p not in served]
        assert not lost, f"{where}: acknowledged creates lost: {lost[:10]}"
        for s in ens:
            log = s.log_tail(100_000)
            assert "Digest mismatch" not in log and "Digests are not matching" not in log, f"{where}: s{s.myid}"
        await ens.stop()
        data_dirs = {}
        for s in ens:  # copied before the lab removes them; restore may repair a torn tail
            data_dirs[s.myid or 0] = tmp_path / f"s{s.myid}"
            shutil.copytree(s.data_dir, data_dirs[s.myid or 0])
    assert len(writer.acked) >= PROGRESS * (ROUNDS + 1), zxid

    violations = disk_violations(data_dirs, served)
    if kind == "reference" and violations:
        # Seen here with seed 1, one run or another (and some runs pass): a 3.8.0
        # follower's log with a hole, txns it served but never logged, so that its own
        # restart replays around them; a disk that lacks the last txns it served; a log
        # that goes back, a DIFF logged again over txns it held (3.8.0's restore replays
        # such repeats, logging an error). The first two are the ZOOKEEPER-4712 / -4785
        # / -4882 family, fixed after 3.8.0: a term's end leaves the tree ahead of the
        # disk. Ours: the sync stage stops first, a DIFF's txns are fsynced before the
        # ACK, and a tree ahead of its disk is reloaded (QuorumPeer).
        pytest.xfail(f"{where}: ZooKeeper 3.8.0's disks break what it served: {violations}")
    assert not violations, f"{where}: {violations}"
