"""Write benchmark with fsync on: acknowledged creates per second, and restart time.

    .venv/bin/python bench/bench_writes.py [--quick] [--znodes 1000000]

1. Acknowledged creates per second at 1, 8 and 64 concurrent writers (each writer waits
   for its create's reply before sending the next), with forceSync=yes, against a
   fresh server of ours and then a fresh Apache ZooKeeper 3.8 on the same machine, as
   ratios. Group commit is what should make throughput grow with the writers: one
   fsync serves every create that arrived while the previous one ran.
2. Restart time with ``--znodes`` znodes: fill the tree (pipelined), then time a clean
   stop and a start until the server serves (snapshot load, log replay, and the
   start-up snapshot both servers write).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadgen import jvm_flags, prepare, run_workload

from zk import lab

WRITERS = [1, 8, 64]


async def bench_writes(kind: str, quick: bool) -> dict[int, float]:
    results: dict[int, float] = {}
    async with lab.server(kind=kind, trace=False, config={"forceSync": "yes", "maxClientCnxns": "0"},
                          jvm_flags=jvm_flags(kind)) as s:  # fmt: skip
        await prepare(s.host, s.port, "/bench")
        for n, writers in enumerate(WRITERS):
            total = (200 if quick else 1000) * (1 if writers == 1 else max(writers // 4, 4))
            r = await run_workload(s.host, s.port, "create", clients=writers, depth=1, total=total,
                                   root="/bench")  # fmt: skip
            assert r.errors == 0 or n > 0, r
            results[writers] = r.ops_per_second
            print(f"{kind}: {writers} writers: {r.ops_per_second:.0f} acked creates/s ({r.ops} in {r.seconds:.2f}s)")
            await _clear(s.host, s.port)
    return results


async def bench_restart(kind: str, znodes: int) -> tuple[float, float]:
    async with lab.server(kind=kind, trace=False, config={"forceSync": "yes", "maxClientCnxns": "0"},
                          jvm_flags=jvm_flags(kind)) as s:  # fmt: skip
        await prepare(s.host, s.port, "/bench")
        t = time.perf_counter()
        await run_workload(s.host, s.port, "create", clients=8, depth=64, total=znodes, root="/bench")
        fill = time.perf_counter() - t
        await s.stop()
        t = time.perf_counter()
        await s.start()
        await s.wait_ready(timeout=900)
        restart = time.perf_counter() - t
        print(f"{kind}: filled {znodes} znodes in {fill:.1f}s; restart to serving in {restart:.2f}s")
        return fill, restart


async def _clear(host: str, port: int) -> None:
    from kazoo.client import KazooClient

    def clear() -> None:
        zk = KazooClient(f"{host}:{port}")
        zk.start()
        for child in zk.get_children("/bench"):
            zk.delete_async(f"/bench/{child}")
        zk.sync("/bench")
        zk.stop()
        zk.close()

    await asyncio.to_thread(clear)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small totals, for a smoke run")
    parser.add_argument("--znodes", type=int, default=1_000_000, help="znodes for the restart measurement")
    parser.add_argument("--skip-restart", action="store_true")
    args = parser.parse_args()
    if not lab.reference_available():
        print(f"reference not available: {lab.reference_missing_reason()}")
        return
    ours = await bench_writes("ours", args.quick)
    ref = await bench_writes("reference", args.quick)
    print("\n| writers | ours acked creates/s | ZooKeeper 3.8 | ours / ZooKeeper |")
    print("|---:|---:|---:|---:|")
    for w in WRITERS:
        print(f"| {w} | {ours[w]:.0f} | {ref[w]:.0f} | {ours[w] / ref[w]:.2f} |")
    if args.skip_restart:
        return
    o = await bench_restart("ours", args.znodes)
    r = await bench_restart("reference", args.znodes)
    print("\n| znodes | ours restart s | ZooKeeper 3.8 restart s | ours / ZooKeeper |\n|---:|---:|---:|---:|")
    print(f"| {args.znodes} | {o[1]:.2f} | {r[1]:.2f} | {o[1] / r[1]:.2f} |")


if __name__ == "__main__":
    asyncio.run(main())
