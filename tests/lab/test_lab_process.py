"""ServerProcess's life cycle and faults, on a fake server (a few lines of Python).

The fake answers `ruok` and `srvr` like ZooKeeper, so these tests exercise the real
start/ready/stop/kill/pause/restart code quickly and without Java or our server.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from zk.lab import Ensemble, ServerProcess, ServerStartError, free_port, running_lab_processes

FAKE_SERVER = r"""
import asyncio, signal, sys
port, mode = int(sys.argv[1]), sys.argv[2]
if mode == "crash":
    print("fake: bad config, exiting", file=sys.stderr)
    sys.exit(3)
if mode == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
srvr = b"not currently serving" if mode == "loading" else b"Zxid: 0x0\nMode: standalone\n"
async def handle(reader, writer):
    word = await reader.readexactly(4)
    writer.write({b"ruok": b"imok", b"srvr": srvr}.get(word, b""))
    await writer.drain()
    writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", port)
    print("fake: serving on", port, file=sys.stderr, flush=True)
    async with server:
        await server.serve_forever()
asyncio.run(main())
"""


def fake(tmp_path: Path, mode: str = "ok") -> ServerProcess:
    port = free_port()
    return ServerProcess(
        name="f1",
        kind="ours",
        host="127.0.0.1",
        port=port,
        data_dir=tmp_path / "data",
        config_path=tmp_path / "zoo.cfg",
        log_path=tmp_path / "server.log",
        argv=[sys.executable, "-c", FAKE_SERVER, str(port), mode],
    )


async def test_start_ready_stop(tmp_path: Path) -> None:
    s = fake(tmp_path)
    await s.start()
    await s.wait_ready(10)
    assert s.running and s.pid in running_lab_processes()
    assert s.pid is not None and os.getpgid(s.pid) == s.pid  # its own process group
    assert await s.mode() == "standalone"
    assert s.connect_string == f"127.0.0.1:{s.port}"
    assert await s.stop() == -15  # the fake keeps Python's default SIGTERM action
    assert not s.running and s.pid not in running_lab_processes()
    assert await s.mode() is None


async def test_stop_escalates_to_sigkill_after_the_grace(tmp_path: Path) -> None:
    s = fake(tmp_path, "stubborn")
    await s.start()
    await s.wait_ready(10)
    assert await s.stop(grace=0.3) == -9


async def test_exit_before_serving_reports_the_log(tmp_path: Path) -> None:
    s = fake(tmp_path, "crash")
    await s.start()
    with pytest.raises(ServerStartError, match=r"(?s)status 3.*bad config"):
        await s.wait_ready(10)


async def test_ruok_alone_is_not_ready(tmp_path: Path) -> None:
    s = fake(tmp_path, "loading")
    await s.start()
    try:
        with pytest.raises(ServerStartError, match="did not serve"):
            await s.wait_ready(0.5)
    finally:
        await s.stop()


async def test_pause_resume_and_stop_while_paused(tmp_path: Path) -> None:
    s = fake(tmp_path)
    await s.start()
    await s.wait_ready(10)
    await s.pause()
    assert s.running and not await s.is_serving(timeout=0.3)
    await s.resume()
    assert await s.is_serving()
    await s.pause()
    assert await s.stop(grace=5) == -15  # SIGTERM reaches a stopped process via SIGCONT


async def test_kill_then_restart_keeps_port_and_log(tmp_path: Path) -> None:
    s = fake(tmp_path)
    await s.start()
    await s.wait_ready(10)
    first_pid, port = s.pid, s.port
    assert await s.kill() == -9
    with pytest.raises(RuntimeError, match="not running"):
        await s.pause()
    await s.restart(timeout=10)
    assert s.port == port and s.pid != first_pid and s.starts == 2
    with pytest.raises(RuntimeError, match="already running"):
        await s.start()
    await s.stop()
    log = s.log_path.read_text()
    assert log.count("\nfake: serving on") == 2  # one log, appended by both runs
    assert "start #2 of f1" in log


def test_traces_merge_in_time_order(tmp_path: Path) -> None:
    servers = []
    for name, times in (("s1", [10, 30]), ("s2", [20])):
        s = fake(tmp_path / name)
        s.trace_path = tmp_path / f"{name}.jsonl"
        lines = [json.dumps({"t": t, "server": name, "event": "lab.test"}) + "\n" for t in times]
        s.trace_path.write_text("".join(lines) + '{"t": 99, "half')  # a half-written last line
        servers.append(s)
    ensemble = Ensemble("ours", tmp_path, [], servers)
    assert [(e["t"], e["server"]) for e in ensemble.traces()] == [(10, "s1"), (20, "s2"), (30, "s1")]
    assert [e["t"] for e in servers[1].trace_events()] == [20]
    assert Ensemble("reference", tmp_path, [], [fake(tmp_path)]).traces() == []
