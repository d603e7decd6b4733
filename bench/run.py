"""Benchmarks: this server beside Apache ZooKeeper 3.8, in one run, as ratios.

    .venv/bin/python bench/run.py [--total 20000] [--quick]

For each workload (create, get, set) and each concurrency (clients x requests in flight
per client), the same load runs against a fresh server of ours and a fresh reference
server on this machine, one after the other, and the table reports operations per second
and ours/reference. Both run with forceSync=no, so this measures the request path, not
the disk; bench_writes.py measures acknowledged writes with fsync on, beside
ZooKeeper with fsync on.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadgen import jvm_flags, prepare, run_workload

from zk import lab

CONCURRENCY = [(1, 1), (8, 8), (32, 16)]


async def bench_one(kind: str, total: int, concurrency: list[tuple[int, int]]) -> dict[tuple[str, int, int], float]:
    results: dict[tuple[str, int, int], float] = {}
    async with lab.server(kind=kind, trace=False, config={"forceSync": "no", "maxClientCnxns": "0"},
                          jvm_flags=jvm_flags(kind)) as s:  # fmt: skip
        host, port = s.host, s.port
        await prepare(host, port, "/bench")
        for workload in ("create", "get", "set"):
            for clients, depth in concurrency:
                n = total if clients > 1 else max(total // 10, 500)
                r = await run_workload(host, port, workload, clients=clients, depth=depth, total=n, root="/bench")
                if workload == "create":  # next round creates fresh names
                    await _clear(host, port)
                results[(workload, clients, depth)] = r.ops_per_second
                print(
                    f"  {kind:9} {workload:6} {clients:3}x{depth:<3} {r.ops_per_second:10.0f} op/s"
                    f"{'  errors=' + str(r.errors) if r.errors else ''}",
                    flush=True,
                )
    return results


async def _clear(host: str, port: int) -> None:
    from kazoo.client import KazooClient

    def clear() -> None:
        zk = KazooClient(f"{host}:{port}")
        zk.start()
        for child in zk.get_children("/bench"):
            if child.startswith("c"):
                zk.delete_async(f"/bench/{child}")
        zk.sync("/bench")
        zk.stop()
        zk.close()

    await asyncio.to_thread(clear)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=20000, help="requests per measurement")
    parser.add_argument("--quick", action="store_true", help="small totals, for a smoke run")
    args = parser.parse_args()
    total = 2000 if args.quick else args.total
    ours = await bench_one("ours", total, CONCURRENCY)
    if not lab.reference_available():
        print(f"reference not available: {lab.reference_missing_reason()}")
        return
    ref = await bench_one("reference", total, CONCURRENCY)
    print("\n| workload | clients x in flight | ours op/s | ZooKeeper 3.8 op/s | ours / ZooKeeper |")
    print("|---|---|---:|---:|---:|")
    for key in ours:
        w, c, d = key
        print(f"| {w} | {c} x {d} | {ours[key]:.0f} | {ref[key]:.0f} | {ours[key] / ref[key]:.2f} |")


if __name__ == "__main__":
    asyncio.run(main())
