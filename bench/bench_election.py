"""Leader fail-over time: SIGKILL the leader of a 3-node ensemble, time until writes work.

    .venv/bin/python bench/bench_election.py [--runs 11] [--tick 2000] [--quick]

For ours and for Apache ZooKeeper 3.8 in the same run, one after the other, with the
same zoo.cfg (tickTime, the lab's initLimit=10 and syncLimit=5, forceSync=no): start a
3-node ensemble, then `runs` times:

1. check that a create succeeds through every member, and find the leader;
2. SIGKILL the leader, and from that instant (t = 0) measure two times:
   - **elected**: a survivor's log says ``LEADING`` (both servers log each QuorumPeer
     state change; the log is polled every 20 ms): the election is over, but the new
     leader has not yet synced its followers and serves no one;
   - **write**: a create through a survivor is acknowledged. Every 50 ms, on each
     survivor, a probe opens a fresh session and sends one create (at most 20 probes
     in flight per survivor, each given 5 s); the time is when the first
     acknowledgement arrives. It includes noticing the lost leader, the election, the
     new leader's sync of its followers (NEWLEADER, UPTODATE), the new session (itself
     a quorum write) and the create: what a client sees;
3. restart the killed server and wait until every member serves and one leads.

Prints each run, then median, min and max per kind and the ratio ours / ZooKeeper of
the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadgen import create_once, jvm_flags

from zk import lab
from zk.lab import Ensemble, ServerKind, ServerProcess

PROBE_EVERY = 0.05
PROBE_TIMEOUT = 5.0
PROBES_IN_FLIGHT = 20  # per survivor: a member that holds connections cannot pile up more
LOG_POLL = 0.02
GIVE_UP = 120.0  # seconds after the kill: no fail-over takes this long unless broken


async def _write_everywhere(ens: Ensemble, tag: str, timeout: float = 60.0) -> None:
    """Retry until a create succeeds through every running member."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    for s in ens:
        attempt = 0
        while True:
            attempt += 1
            try:
                if await create_once(s.host, s.port, f"/{tag}-s{s.myid}-{attempt}", timeout=5) == 0:
                    break
            except (OSError, TimeoutError, asyncio.IncompleteReadError):
                pass
            if loop.time() > deadline:
                raise TimeoutError(f"{ens.kind}: no write through s{s.myid} within {timeout:g} s")
            await asyncio.sleep(0.2)


async def _first_write(survivors: list[ServerProcess], tag: str, t0: float) -> tuple[float, int, int]:
    """Probe every survivor until one acknowledges a create; (seconds since t0, myid of the
    member that did, probes sent)."""
    done: asyncio.Future[tuple[float, int]] = asyncio.get_running_loop().create_future()
    sent = 0

    async def probe(s: ServerProcess, n: int, slots: asyncio.Semaphore) -> None:
        try:
            err = await create_once(s.host, s.port, f"/{tag}-s{s.myid}-{n}", timeout=PROBE_TIMEOUT)
            if err == 0 and not done.done():
                done.set_result((time.monotonic() - t0, s.myid or 0))
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            pass  # not serving yet: the next probe will tell
        finally:
            slots.release()

    async def prober(s: ServerProcess) -> None:
        nonlocal sent
        slots = asyncio.Semaphore(PROBES_IN_FLIGHT)
        async with asyncio.TaskGroup() as tg:
            for n in range(10**9):
                await slots.acquire()
                sent += 1
                tg.create_task(probe(s, n, slots))
                await asyncio.sleep(PROBE_EVERY)

    tasks = [asyncio.create_task(prober(s)) for s in survivors]
    try:
        seconds, myid = await asyncio.wait_for(done, GIVE_UP)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return seconds, myid, sent


async def _first_leading(survivors: list[ServerProcess], t0: float) -> tuple[float, int]:
    """Poll the survivors' logs until one says LEADING; (seconds since t0, its myid)."""
    while time.monotonic() - t0 < GIVE_UP:
        for s in survivors:
            if s.peer_state() == "LEADING":
                return time.monotonic() - t0, s.myid or 0
        await asyncio.sleep(LOG_POLL)
    raise TimeoutError(f"no survivor logged LEADING within {GIVE_UP:g} s")


async def failover_times(kind: ServerKind, runs: int, tick: int) -> list[tuple[float, float]]:
    """`runs` fail-overs of a fresh 3-node ensemble; (elected, write) seconds for each."""
    times: list[tuple[float, float]] = []
    async with lab.ensemble(3, kind=kind, trace=False, tickTime=tick, forceSync="no", jvm_flags=jvm_flags(kind)) as ens:
        for run in range(1, runs + 1):
            await _write_everywhere(ens, f"before{run}")
            leader = await ens.wait_for_leader()
            survivors = [s for s in ens if s is not leader]
            t0 = time.monotonic()
            await leader.kill()
            (elected, new), (write, via, sent) = await asyncio.gather(
                _first_leading(survivors, t0), _first_write(survivors, f"after{run}", t0)
            )
            times.append((elected, write))
            print(f"  {kind:9} run {run}: killed leader s{leader.myid}; s{new} LEADING after {elected * 1000:5.0f} ms; "
                  f"first write acked via s{via} after {write * 1000:5.0f} ms ({sent} probes)", flush=True)  # fmt: skip
            await leader.start()
            await ens.wait_ready()
            await ens.wait_for_leader()
    return times


def _summary(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"{statistics.median(ms):.0f} ({min(ms):.0f}-{max(ms):.0f})"


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="fail-overs per kind")
    parser.add_argument("--tick", type=int, default=2000, help="tickTime, ms")
    parser.add_argument("--quick", action="store_true", help="2 fail-overs per kind: a smoke run")
    args = parser.parse_args()
    runs = 2 if args.quick else args.runs
    if not lab.reference_available():
        print(f"reference not available: {lab.reference_missing_reason()}")
        return
    results = {kind: await failover_times(kind, runs, args.tick) for kind in ("ours", "reference")}
    print(f"\ntickTime={args.tick}, {runs} fail-overs each; ms after SIGKILL of the leader, median (min-max)\n")
    print("| until | ours | ZooKeeper 3.8 | ours / ZooKeeper (medians) |")
    print("|---|---:|---:|---:|")
    for i, until in enumerate(["a survivor logs LEADING", "a create is acknowledged"]):
        ours = [t[i] for t in results["ours"]]
        ref = [t[i] for t in results["reference"]]
        ratio = statistics.median(ours) / statistics.median(ref)
        print(f"| {until} | {_summary(ours)} | {_summary(ref)} | {ratio:.2f} |")


if __name__ == "__main__":
    asyncio.run(main())
