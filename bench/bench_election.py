"""Leader fail-over time: kill the leader of a 3-node ensemble, time until a new one.

    .venv/bin/python bench/bench_election.py [--runs 5] [--tick 2000]

For ours and for Apache ZooKeeper 3.8, with the same zoo.cfg (tickTime, initLimit,
syncLimit): start an ensemble, then `runs` times: SIGKILL the leader, poll every member's
log until a survivor logs ``LEADING`` (both servers log each QuorumPeer state change), and
restart the dead server (it rejoins as a follower). The time is kill → ``LEADING`` line
seen, so it includes noticing the loss (the reference: its leader connection breaks; ours:
its election connection breaks, a stand-in until broadcast) and the election with its
200 ms finalize wait, not the reference's sync of followers. Prints each run and the
median ratio ours/reference.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zk import lab


async def failover_times(kind: str, runs: int, tick: int) -> list[float]:
    times: list[float] = []
    async with lab.ensemble(3, kind=kind, trace=False, tickTime=tick, forceSync="no") as ens:  # type: ignore[arg-type]
        await asyncio.sleep(1)
        for _ in range(runs):
            states = ens.peer_states()
            (leader,) = [sid for sid, st in states.items() if st == "LEADING"]
            others = [sid for sid in states if sid != leader]
            t0 = time.monotonic()
            await ens[leader].kill()
            while not any(ens[s].peer_state() == "LEADING" for s in others):
                await asyncio.sleep(0.005)
            times.append(time.monotonic() - t0)
            await ens[leader].start()
            while sorted(str(s) for s in ens.peer_states().values()) != ["FOLLOWING", "FOLLOWING", "LEADING"]:
                await asyncio.sleep(0.05)
            await asyncio.sleep(1 if kind == "ours" else 3)  # let the reference resync
    return times


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tick", type=int, default=2000)
    args = parser.parse_args()
    results = {}
    for kind in ("ours", "reference"):
        results[kind] = await failover_times(kind, args.runs, args.tick)
        print(kind, " ".join(f"{t * 1000:.0f}ms" for t in results[kind]), flush=True)
    ours, ref = statistics.median(results["ours"]), statistics.median(results["reference"])
    print(f"tickTime={args.tick}: median ours {ours * 1000:.0f} ms, reference {ref * 1000:.0f} ms, "
          f"ratio ours/reference {ours / ref:.2f}")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
