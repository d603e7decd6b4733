"""A contender in its own process, for the contention tests (run as a script).

    mutex   <connect> <lockPath> <iterations> <counterFile> <markerFile>
    latch   <connect> <latchPath> <id> <statusFile>

``mutex`` does what CuratorLockWorker.java does, with zk.recipes.InterProcessMutex:
inside the lock it claims the marker file (O_EXCL: a second holder fails) and adds 1 to
the counter file with a pause between read and write. ``latch`` joins a LeaderLatch and
writes "leader" or "follower" to its status file on every change, until killed.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from zk.client import ZooKeeper
from zk.recipes import InterProcessMutex, LeaderLatch


def claim(marker: Path) -> None:
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        print("VIOLATION", flush=True)
        os._exit(2)


async def mutex(connect: str, path: str, iterations: int, counter: Path, marker: Path) -> None:
    async with ZooKeeper(connect, 4000) as zk:
        lock = InterProcessMutex(zk, path)
        for _ in range(iterations):
            async with lock:
                claim(marker)
                value = int(counter.read_text().strip())
                await asyncio.sleep(0.003)
                counter.write_text(str(value + 1))
                marker.unlink()
    print("DONE", flush=True)


async def latch(connect: str, path: str, id: str, status: Path) -> None:
    def write(leader: bool) -> None:
        tmp = status.with_suffix(".tmp")
        tmp.write_text("leader" if leader else "follower")
        tmp.replace(status)

    async with ZooKeeper(connect, 4000) as zk:
        write(False)
        latch = LeaderLatch(zk, path, id)
        latch.listeners.append(write)
        await latch.start()
        print("STARTED", flush=True)
        await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    if mode == "mutex":
        asyncio.run(mutex(args[0], args[1], int(args[2]), Path(args[3]), Path(args[4])))
    elif mode == "latch":
        asyncio.run(latch(args[0], args[1], args[2], Path(args[3])))
    else:
        raise SystemExit(f"unknown mode {mode}")
