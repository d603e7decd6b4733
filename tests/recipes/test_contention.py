"""Several processes contend: mutual exclusion by a shared counter, one leader at a time,
and Curator (Java) against zk.recipes (Python) on one lock path."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from recipes_helpers import unique

from zk import lab
from zk.client import ZooKeeper
from zk.recipes import InterProcessMutex, LeaderLatch

HERE = Path(__file__).resolve().parent
WORKER = HERE / "recipes_worker.py"
JAVA_SOURCE = HERE / "java" / "CuratorLockWorker.java"
JARS = [
    "curator-client",
    "curator-framework",
    "curator-recipes",
    "zookeeper",
    "zookeeper-jute",
    "guava",
    "slf4j-api",
    "slf4j-nop",
]
CURATOR_LOCK_NODE = re.compile(r"^_c_[0-9a-f-]{36}-lock-\d{10}$")


def python_worker(*args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(HERE.parent.parent))
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args], stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True, env=env
    )


def finish(procs: list[subprocess.Popen[str]], timeout: float = 120) -> list[str]:
    outputs = []
    for p in procs:
        out, _ = p.communicate(timeout=timeout)
        outputs.append(out)
        assert p.returncode == 0 and "VIOLATION" not in out, out
    return outputs


@pytest.fixture
def shared(tmp_path: Path) -> tuple[Path, Path]:
    counter, marker = tmp_path / "counter", tmp_path / "marker"
    counter.write_text("0")
    return counter, marker


def test_processes_exclude_each_other(server: lab.SyncServer, shared: tuple[Path, Path]) -> None:
    counter, marker = shared
    path = unique("/mutex")
    procs = [python_worker("mutex", server.connect_string, path, "15", str(counter), str(marker)) for _ in range(4)]
    finish(procs)
    assert int(counter.read_text()) == 60  # no increment lost: never two holders


async def test_exactly_one_leader_across_processes_and_a_crash(server: lab.SyncServer, tmp_path: Path) -> None:
    path = unique("/leader")
    statuses = [tmp_path / f"status-{i}" for i in range(3)]
    procs = [python_worker("latch", server.connect_string, path, f"p{i}", str(s)) for i, s in enumerate(statuses)]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "STARTED"
        alive = set(range(3))

        def leaders() -> list[int]:
            return [i for i in alive if statuses[i].exists() and statuses[i].read_text() == "leader"]

        async def watch_until(pred_count: int, seconds: float) -> None:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                now = leaders()
                assert len(now) <= 1, f"two leaders: {now}"
                if len(now) == pred_count:
                    return
                await asyncio.sleep(0.02)
            raise AssertionError(f"no leader within {seconds}s")

        for _ in range(2):  # crash the leader twice; the session timeout hands over
            await watch_until(1, 15)
            [leader] = leaders()
            procs[leader].send_signal(signal.SIGKILL)
            procs[leader].wait()
            alive.discard(leader)
        await watch_until(1, 15)
        zk = await ZooKeeper(server.connect_string, 4000).start(10)
        participants = await LeaderLatch(zk, path).get_participants()
        assert len(participants) == 1 and participants[0].id == f"p{leaders()[0]}"
        await zk.close()
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


# -- Curator interop ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def curator_classpath(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Compile CuratorLockWorker.java against the Debian jars; skip if we cannot."""
    if shutil.which("javac") is None or shutil.which("java") is None:
        pytest.skip("javac/java not installed")
    jars = [Path(f"/usr/share/java/{name}.jar") for name in JARS]
    missing = [str(j) for j in jars if not j.exists()]
    if missing:
        pytest.skip(f"Curator jars missing ({', '.join(missing)}): apt-get install libcurator-recipes-java")
    out = tmp_path_factory.mktemp("curator-classes")
    classpath = ":".join(str(j) for j in jars)
    subprocess.run(["javac", "-d", str(out), "-cp", classpath, str(JAVA_SOURCE)], check=True, capture_output=True)
    yield f"{out}:{classpath}"


def java_worker(classpath: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["java", "-Xmx128m", "-XX:TieredStopAtLevel=1", "-cp", classpath, "CuratorLockWorker", *args],
        stdout=subprocess.PIPE,
        stdin=subprocess.PIPE,
        text=True,
    )


async def test_curator_holder_excludes_python(server: lab.SyncServer, curator_classpath: str) -> None:
    path = unique("/interop")
    java = java_worker(curator_classpath, "hold", server.connect_string, path)
    try:
        assert java.stdout is not None
        line = await asyncio.to_thread(java.stdout.readline)
        assert line.startswith("HELD "), line
        java_node = line.split()[1]
        assert CURATOR_LOCK_NODE.match(java_node.rsplit("/", 1)[1])
        async with ZooKeeper(server.connect_string, 4000) as zk:
            lock = InterProcessMutex(zk, path)
            assert not await lock.acquire(timeout=1.0)  # Curator holds it
            waiting = asyncio.create_task(lock.acquire(timeout=20))
            await asyncio.sleep(0.3)
            children = sorted(await zk.get_children(path), key=lambda n: n[-10:])
            assert f"{path}/{children[0]}" == java_node and len(children) == 2
            java.stdin.write("\n")  # type: ignore[union-attr]
            java.stdin.flush()  # type: ignore[union-attr]
            assert await waiting  # Curator released: our predecessor watch fired
            assert "RELEASED" in await asyncio.to_thread(java.stdout.read)
            await lock.release()
    finally:
        if java.poll() is None:
            java.kill()
        java.wait()


async def test_python_holder_excludes_curator(server: lab.SyncServer, curator_classpath: str) -> None:
    path = unique("/interop")
    async with ZooKeeper(server.connect_string, 4000) as zk:
        lock = InterProcessMutex(zk, path)
        await lock.acquire()
        java = java_worker(curator_classpath, "hold", server.connect_string, path)
        try:
            assert java.stdout is not None
            reading = asyncio.create_task(asyncio.to_thread(java.stdout.readline))
            await asyncio.sleep(2.5)  # the JVM is up and queued behind us
            assert not reading.done()
            assert len(await zk.get_children(path)) == 2
            await lock.release()
            line = await asyncio.wait_for(reading, 20)
            assert line.startswith("HELD "), line
            java.stdin.write("\n")  # type: ignore[union-attr]
            java.stdin.flush()  # type: ignore[union-attr]
            await asyncio.to_thread(java.wait, 20)
        finally:
            if java.poll() is None:
                java.kill()
            java.wait()


def test_curator_and_python_processes_share_a_counter(
    server: lab.SyncServer, curator_classpath: str, shared: tuple[Path, Path]
) -> None:
    counter, marker = shared
    path = unique("/interop")
    args = (server.connect_string, path, "15", str(counter), str(marker))
    procs = [java_worker(curator_classpath, "mutex", *args) for _ in range(2)]
    procs += [python_worker("mutex", *args) for _ in range(2)]
    finish(procs)
    assert int(counter.read_text()) == 60


async def test_curator_latch_and_python_latch_elect_one(server: lab.SyncServer, curator_classpath: str) -> None:
    path = unique("/interop-latch")
    async with ZooKeeper(server.connect_string, 4000) as zk:
        latch = LeaderLatch(zk, path, "python")
        await latch.start()
        assert await latch.await_leadership(5)
        java = java_worker(curator_classpath, "latch", server.connect_string, path, "java")
        try:
            assert java.stdout is not None
            reading = asyncio.create_task(asyncio.to_thread(java.stdout.readline))
            await asyncio.sleep(2.5)
            assert not reading.done()  # Curator's latch waits behind ours
            assert [p.id for p in await latch.get_participants()] == ["python", "java"]
            await latch.close()
            assert (await asyncio.wait_for(reading, 20)).strip() == "LEADER"
            java.stdin.write("\n")  # type: ignore[union-attr]
            java.stdin.flush()  # type: ignore[union-attr]
            await asyncio.to_thread(java.wait, 20)
        finally:
            if java.poll() is None:
                java.kill()
            java.wait()
