"""What the launchers write and run, checked without starting anything."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from zk.lab import ensemble, reference_available, server
from zk.lab.config import QuorumMember
from zk.lab.ours import ours_process
from zk.lab.reference import EXTENDED_TYPES_FLAG, MAIN_CLASS, reference_process


def cfg_lines(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


def test_ours_standalone(tmp_path: Path) -> None:
    s = ours_process(tmp_path, "s1", 12345, config={"tickTime": 500}, trace_origin=7)
    assert s.argv == [sys.executable, "-m", "zk", "server", str(tmp_path / "s1" / "zoo.cfg")]
    cfg = cfg_lines(s.config_path)
    assert cfg["tickTime"] == "500" and cfg["clientPort"] == "12345"
    assert cfg["clientPortAddress"] == "127.0.0.1" and cfg["4lw.commands.whitelist"] == "*"
    assert cfg["dataDir"] == str(s.data_dir) and "initLimit" not in cfg
    assert s.trace_path == tmp_path / "s1" / "trace.jsonl"
    assert s.env["ZK_TRACE"] == str(s.trace_path)
    assert s.env["ZK_TRACE_SERVER"] == "s1" and s.env["ZK_TRACE_ORIGIN"] == "7"


def test_ours_member_without_trace(tmp_path: Path) -> None:
    members = [QuorumMember(i, "127.0.0.1", 100 + i, 200 + i, 300 + i) for i in (1, 2, 3)]
    s = ours_process(tmp_path, "s2", 302, members=members, myid=2, trace=False)
    assert s.trace_path is None and s.env["ZK_TRACE"] == ""  # off even if the caller's env sets it
    cfg = cfg_lines(s.config_path)
    assert cfg["server.3"] == "127.0.0.1:103:203" and cfg["initLimit"] == "10"
    assert (s.data_dir / "myid").read_text() == "2\n"
    with pytest.raises(ValueError, match="myid and members"):
        ours_process(tmp_path, "s4", 1, members=members)


@pytest.mark.skipif(not reference_available(), reason="needs java for the command line")
def test_reference_standalone(tmp_path: Path) -> None:
    s = reference_process(tmp_path, "s1", 23456, jvm_flags=["-Dzookeeper.snapCount=100"])
    assert s.kind == "reference" and s.trace_path is None
    assert s.argv[-2:] == [MAIN_CLASS, str(s.config_path)]
    assert EXTENDED_TYPES_FLAG in s.argv and "-Xmx256m" in s.argv
    assert s.argv.index("-Dzookeeper.snapCount=100") > s.argv.index("-Xmx256m")  # caller's flags win
    cfg = cfg_lines(s.config_path)
    assert cfg["admin.enableServer"] == "false" and cfg["maxClientCnxns"] == "0"
    assert cfg["forceSync"] == "yes" and cfg["initLimit"] == "10"
    no_ttl = reference_process(tmp_path, "s2", 23457, extended_types=False)
    assert EXTENDED_TYPES_FLAG not in no_ttl.argv


async def test_bad_arguments_fail_before_starting_anything(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="jvm_flags"):
        async with server(jvm_flags=["-Xmx1g"], root=tmp_path):
            pass
    with pytest.raises(ValueError, match="set by the lab"):
        async with server(root=tmp_path, clientPort=1):
            pass
    with pytest.raises(ValueError, match=r"1\.\.255"):
        async with ensemble(0, root=tmp_path):
            pass
    assert list(tmp_path.iterdir()) == []  # the temporary folder went away too
