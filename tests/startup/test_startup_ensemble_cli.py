"""`zk ensemble`, the README's first command: a local ensemble of ours as child processes.

Runs the command in a subprocess on free ports, as a user would in a terminal, reads the
connect string it prints, writes through one server and reads on another with kazoo,
then sends SIGTERM and checks that every server it started is gone.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

from kazoo.client import KazooClient

from zk.lab.ports import free_ports, port_is_free

SIZE = 4
OBSERVERS = 1  # s4: three voters and an observer, the reader below reads through it


def _server_pids(root: Path) -> list[int]:
    """Processes running ``zk server <root>/...`` (the command's children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if b"server" in argv and any(a.startswith(str(root).encode()) for a in argv):
            found.append(int(entry.name))
    return found


def _consecutive_free_ports(n: int) -> int:
    """A base port such that base..base+n-1 are free now (the command wants a run)."""
    for base in sorted(free_ports(16)):
        if base + n - 1 <= 65535 and all(port_is_free(base + i) for i in range(n)):
            return base
    raise RuntimeError("no run of free ports")


def _read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    if not sel.select(timeout):
        raise AssertionError(f"zk ensemble printed nothing within {timeout} s")
    return proc.stdout.readline().strip()


def test_zk_ensemble_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    root = tmp_path / "ens"
    base = _consecutive_free_ports(SIZE)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    argv = [sys.executable, "-m", "zk", "ensemble", "--dir", str(root), "--size", str(SIZE), "--base-port", str(base),
            "--observers", str(OBSERVERS)]  # fmt: skip
    stderr = (tmp_path / "stderr.txt").open("w")
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env)
    try:
        connect = _read_line(proc, 90)
        hosts = connect.split(",")
        assert hosts == [f"127.0.0.1:{base + i}" for i in range(SIZE)], connect
        for sid in range(1, SIZE + 1):
            assert (root / f"s{sid}" / "data" / "myid").read_text().strip() == str(sid)
            cfg = (root / f"s{sid}" / "zoo.cfg").read_text()
            assert f"clientPort={base + sid - 1}" in cfg
            assert sum(line.startswith("server.") for line in cfg.splitlines()) == SIZE
            assert cfg.count(":observer") == OBSERVERS
            assert ("peerType=observer" in cfg) == (sid > SIZE - OBSERVERS)
        assert len(_server_pids(root)) == SIZE

        writer, reader = KazooClient(hosts[0], timeout=10), KazooClient(hosts[-1], timeout=10)
        writer.start(timeout=20)
        reader.start(timeout=20)
        try:
            writer.create("/cli", b"through s1")
            reader.sync("/cli")  # the reader's server has applied everything before this
            data, _ = reader.get("/cli")
            assert data == b"through s1"
        finally:
            for c in (writer, reader):
                c.stop()
                c.close()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            status = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
            stderr.close()
    log = (tmp_path / "stderr.txt").read_text()
    assert status == 0, log
    assert "s4 observer" in log, log  # the "serving:" line gives each member's mode
    assert "stopped" in log
    deadline = time.monotonic() + 10
    while _server_pids(root) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _server_pids(root) == [], "a server outlived zk ensemble"


def test_zk_ensemble_refuses_a_busy_port(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        argv = [sys.executable, "-m", "zk", "ensemble", "--dir", str(tmp_path), "--base-port", str(port)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert f"{port}" in done.stderr and "already in use" in done.stderr
    assert done.stdout == ""
