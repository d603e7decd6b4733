"""Quotas against Apache ZooKeeper 3.8: zkCli's setquota and listquota, kazoo's writes.

One script per server: kazoo makes ``/q``; zkCli sets a soft count and a hard byte
limit (``setquota -n 3 /q``, ``setquota -B 12 /q``) and lists them; kazoo then creates,
writes and deletes under ``/q``, reading ``/zookeeper/quota/q/zookeeper_stats`` (data
and Stat) after each step; zkCli lists the quota again. Without enforceQuota every
write succeeds and the stats follow; with ``enforceQuota=true`` the write that passes
the hard limit fails with QUOTAEXCEEDED and the soft limit is logged. The transcripts
(and, with enforcement, the "Quota exceeded" lines of both logs) must be equal.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import KazooException

from zk import lab
from zk.lab import reference_missing_reason

ZKCLI = "/usr/share/zookeeper/bin/zkCli.sh"
STATS = "/zookeeper/quota/q/zookeeper_stats"

pytestmark = [
    pytest.mark.skipif(reference_missing_reason() is not None, reason=reference_missing_reason() or ""),
    pytest.mark.skipif(not os.path.exists(ZKCLI), reason=f"{ZKCLI} not installed (apt-get install zookeeper)"),
]


def _cli(connect: str, commands: str) -> list[str]:
    """zkCli's lines for the commands, without its banner, prompts and events."""
    out = subprocess.run(
        [ZKCLI, "-server", connect], input=commands + "quit\n", stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, timeout=60,
    ).stdout  # fmt: skip
    skip = ("SLF4J", "WATCHER::", "WatchedEvent", "Connecting to", "Welcome to", "JLine")
    return [line for line in out.splitlines() if line.strip() and not line.startswith(skip)]


def _script(server: lab.SyncServer) -> list[str]:
    lines: list[str] = []
    k = KazooClient(server.connect_string)
    k.start()
    try:

        def stats() -> str:
            data, st = k.get(STATS)
            return f"{data!r} version={st.version} mzxid={st.mzxid} dataLength={st.dataLength}"

        def step(name: str, call: Callable[[], object]) -> None:
            try:
                call()
                outcome = "ok"
            except KazooException as e:
                outcome = type(e).__name__
            lines.append(f"{name}: {outcome}; stats {stats()}")

        k.create("/q", b"abc")
        k.create("/q/a", b"hello")
        lines += _cli(server.connect_string, "setquota -n 3 /q\nsetquota -B 12 /q\nlistquota /q\n")
        lines.append(f"after setquota: {stats()}")
        step("create /q/b", lambda: k.create("/q/b"))
        step("create /q/c 1", lambda: k.create("/q/c", b"1"))  # past the soft count
        step("set /q/a hi", lambda: k.set("/q/a", b"hi"))
        step("set /q/a 0123456789", lambda: k.set("/q/a", b"0123456789"))  # past the hard bytes
        step("delete /q/b", lambda: k.delete("/q/b"))
        step("create /q/a/x z", lambda: k.create("/q/a/x", b"z"))
        step("delete /q/a/x", lambda: k.delete("/q/a/x"))
        step("create /q/big 0123456789", lambda: k.create("/q/big", b"0123456789"))  # past the hard bytes
        step("create /elsewhere", lambda: k.create("/elsewhere", b"far away"))
        data, st = k.get("/zookeeper/quota/q/zookeeper_limits")
        lines.append(f"limits {data!r} version={st.version}")
        lines += _cli(server.connect_string, "listquota /q\n")
    finally:
        k.stop()
        k.close()
    return lines


def _quota_log_lines(server: lab.SyncServer) -> list[str]:
    found = re.findall(r"Message:Quota exceeded: .*", server.process.log_tail(2000))
    return [line.strip() for line in found]


def _run_both(config: dict[str, str]) -> dict[str, tuple[list[str], list[str]]]:
    def run(kind: str) -> tuple[list[str], list[str]]:
        with lab.start_server_sync(kind, trace=False, config={"forceSync": "no", **config}) as s:  # type: ignore[arg-type]
            return _script(s), _quota_log_lines(s)

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {kind: pool.submit(run, kind) for kind in ("ours", "reference")}
        return {kind: f.result() for kind, f in futures.items()}


def test_quota_stats_and_listquota_match_the_reference() -> None:
    got = _run_both({})
    ours, ref = got["ours"][0], got["reference"][0]
    assert "Output stat for /q count=2,bytes=8" in ref, ref  # the reference really ran it
    assert ours == ref
    assert got["reference"][1] == [] == got["ours"][1], "without enforceQuota 3.8 logs no quota warning"


def test_enforce_quota_refuses_the_same_write_and_logs_the_same_warnings() -> None:
    got = _run_both({"enforceQuota": "true"})
    ours, ref = got["ours"][0], got["reference"][0]
    assert any("set /q/a 0123456789: QuotaExceededError" in line for line in ref), ref
    assert any("create /q/big 0123456789: QuotaExceededError" in line for line in ref), ref
    assert ours == ref
    assert got["ours"][1] == got["reference"][1]
    assert "Message:Quota exceeded: /q [current count=4, softCountLimit=3] Value:null" in got["ours"][1]


@pytest.mark.parametrize("kind", ["ours", "reference"])
async def test_quota_stats_survive_restarts(kind: lab.ServerKind) -> None:
    """The first restart replays the log onto the first snapshot; the second loads a
    snapshot that holds the stats node (which setupQuota recounts)."""

    def setup_and_write(connect: str) -> bytes:
        k = KazooClient(connect)
        k.start()
        try:
            k.create("/q/a/b", b"12345", makepath=True)
            k.create("/zookeeper/quota/q", b"")  # what SetQuotaCommand.createQuota sends
            k.create("/zookeeper/quota/q/zookeeper_limits", b"count=10,bytes=-1")
            k.create(STATS, b"count=0,bytes=0")
            k.create("/q/c", b"xy")
            k.set("/q/a", b"abc")
            k.delete("/q/a/b")
            return bytes(k.get(STATS)[0])
        finally:
            k.stop()
            k.close()

    def read_then_write(connect: str) -> tuple[bytes, bytes]:
        k = KazooClient(connect)
        k.start()
        try:
            before = bytes(k.get(STATS)[0])
            k.create("/q/d", b"1")  # the trie is back: the stats keep counting
            after = bytes(k.get(STATS)[0])
            k.delete("/q/d")
            return before, after
        finally:
            k.stop()
            k.close()

    async with lab.server(kind=kind, trace=False, forceSync="no") as s:
        written = await asyncio.to_thread(setup_and_write, s.connect_string)
        assert written == b"count=3,bytes=5"
        for _ in range(2):
            await s.restart()
            before, after = await asyncio.to_thread(read_then_write, s.connect_string)
            assert (before, after) == (b"count=3,bytes=5", b"count=4,bytes=6")
