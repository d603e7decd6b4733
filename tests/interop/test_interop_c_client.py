"""Apache ZooKeeper's C client (Debian's cli_mt, libzookeeper-mt) against ours and 3.8.

The same commands go to both servers through the C client's own shell; its printed
results (return codes, children, Stat) must agree once times and session ids are masked.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest

from zk import lab

CLI_MT = Path("/usr/lib/zookeeper/bin/cli_mt")
COMMANDS = [
    "create /c1",
    "create +e /c1/eph",
    "create +s /c1/seq-",
    "create +s /c1/seq-",
    "ls /c1",
    "set /c1 world",
    "get /c1",
    "exists /c1",
    "exists /nope",
    "create /c1",
    "delete /c1",
    "delete /c1/eph",
    "ls /c1",
]

pytestmark = pytest.mark.skipif(not CLI_MT.exists(), reason="the C client needs Debian's zookeeper-bin (cli_mt)")


def _run(connect: str) -> list[str]:
    proc = subprocess.Popen([str(CLI_MT), connect], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip
    assert proc.stdin is not None
    time.sleep(0.5)  # the session comes up
    for command in COMMANDS:
        proc.stdin.write(command + "\n")
        proc.stdin.flush()
        time.sleep(0.2)  # cli_mt answers asynchronously: one command at a time
    proc.stdin.write("quit\n")
    proc.stdin.flush()
    try:
        out, _ = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    lines = []
    for line in out.splitlines():
        line = re.sub(r"0x[0-9a-f]{6,}", "<session>", line)
        line = re.sub(r"time = \d+ msec", "time = <t>", line)
        line = re.sub(r"(ctime|mtime) ?= ?.*", r"\1=<time>", line)
        if line.strip():
            lines.append(line)
    return _sort_child_lists(lines)


def _sort_child_lists(lines: list[str]) -> list[str]:
    """ls prints children one per tab-indented line, in Java's hash order on 3.8 and
    sorted on ours: compare each run of them as a set."""
    out: list[str] = []
    run: list[str] = []
    for line in [*lines, ""]:
        if line.startswith("\t"):
            run.append(line)
            continue
        out += sorted(run)
        run = []
        if line:
            out.append(line)
    return out


def test_the_c_client_sees_the_same_results() -> None:
    with lab.start_server_sync(kind="ours") as ours:
        got = _run(ours.connect_string)
    assert "Watcher SESSION_EVENT state = CONNECTED_STATE" in got
    assert any("rc = -110" in line for line in got), "the second create of /c1 is NodeExists"
    if not lab.reference_available():
        pytest.skip(lab.reference_missing_reason())
    with lab.start_server_sync(kind="reference") as ref:
        expected = _run(ref.connect_string)
    assert got == expected
