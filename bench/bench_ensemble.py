"""Ensemble write benchmark: acknowledged creates per second through 3 servers.

    .venv/bin/python bench/bench_ensemble.py [--quick] [--creates 2000]

A 3-server ensemble of ours, then a 3-server Apache ZooKeeper 3.8 ensemble, on this
machine, each with forceSync=no and the lab's tickTime (2000). Writers each send a
create and wait for its reply before sending the next (depth 1): the reply comes only
once a quorum has logged the proposal and the server the writer talks to has applied
the commit, so this measures the path PROPOSAL → ACKs → COMMIT, not the disk.

Rows:

- 1 writer on a follower (its create is forwarded to the leader as REQUEST),
- 1 writer on the leader,
- 16 writers spread over the three servers (6 on the leader, 5 on each follower).

Before the measured rows, each ensemble gets a warm-up of unmeasured creates from 16
writers (the JVM's JIT; our side gets the same). A row whose writer loses its
connection (on a busy machine, a leader that missed syncLimit and gave up its term) is
said so and measured again, at most three times.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadgen import prepare, run_workload

from zk import lab
from zk.lab import Ensemble, ServerKind, ServerProcess

ROWS = [("1 on a follower", 1), ("1 on the leader", 1), ("16 over all three", 16)]


async def _writes(servers: list[tuple[ServerProcess, int]], total: int, root: str) -> tuple[float, int]:
    """`total` creates from the writers given per server, all at once; (creates/s, errors)."""
    per_writer = total // sum(n for _, n in servers)
    for i, (s, _) in enumerate(servers):
        await prepare(s.host, s.port, f"{root}-{i}")
    start = time.perf_counter()
    results = await asyncio.gather(*(
        run_workload(s.host, s.port, "create", clients=n, depth=1, total=per_writer * n, root=f"{root}-{i}")
        for i, (s, n) in enumerate(servers)
    ))  # fmt: skip
    seconds = time.perf_counter() - start
    return sum(r.ops for r in results) / seconds, sum(r.errors for r in results)


def _placement(ens: Ensemble, leader: ServerProcess, row: str, writers: int) -> list[tuple[ServerProcess, int]]:
    """(server, writers on it): one writer on a follower or on the leader, or `writers`
    spread over the leader and the followers as evenly as they go."""
    followers = [s for s in ens if s is not leader]
    if writers == 1:
        return [(followers[0] if "follower" in row else leader, 1)]
    members = [leader, *followers]
    return [(s, writers // 3 + (1 if i < writers % 3 else 0)) for i, s in enumerate(members)]


async def bench(kind: ServerKind, creates: int) -> dict[str, float]:
    results: dict[str, float] = {}
    config = {"forceSync": "no", "maxClientCnxns": "0"}
    async with lab.ensemble(3, kind=kind, trace=False, config=config) as ens:
        leader = await ens.wait_for_leader()
        await _writes(_placement(ens, leader, "warm-up", 16), creates, "/warmup")
        for n, (row, writers) in enumerate(ROWS):
            total = creates * (1 if writers == 1 else 4)
            for attempt in range(3):
                try:
                    rate, errors = await _writes(_placement(ens, leader, row, writers), total, f"/r{n}-{attempt}")
                    break
                except (asyncio.IncompleteReadError, ConnectionError) as e:
                    # a server dropped a writer: on a busy machine, most likely a leader
                    # that missed syncLimit and gave up its term. Said, and measured again.
                    leader = await ens.wait_for_leader()
                    print(f"  {kind:9} {row:18} lost a connection ({e!r}); leader now s{leader.myid}", flush=True)
            else:
                raise RuntimeError(f"{kind}, {row}: three attempts lost a connection")
            results[row] = rate
            print(f"  {kind:9} {row:18} {rate:8.0f} acked creates/s{f'  errors={errors}' if errors else ''}",
                  flush=True)  # fmt: skip
    return results


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creates", type=int, default=2000, help="creates per single-writer row (x4 for 16)")
    parser.add_argument("--quick", action="store_true", help="200 creates per single-writer row: a smoke run")
    args = parser.parse_args()
    creates = 200 if args.quick else args.creates
    if not lab.reference_available():
        print(f"reference not available: {lab.reference_missing_reason()}")
        return
    ours = await bench("ours", creates)
    ref = await bench("reference", creates)
    print("\n| writers | ours acked creates/s | ZooKeeper 3.8 | ours / ZooKeeper |")
    print("|---|---:|---:|---:|")
    for row, _ in ROWS:
        print(f"| {row} | {ours[row]:.0f} | {ref[row]:.0f} | {ours[row] / ref[row]:.2f} |")


if __name__ == "__main__":
    asyncio.run(main())
