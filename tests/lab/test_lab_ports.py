"""Free ports and the zoo.cfg writer: the pure parts of the lab, no process started."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from zk.lab.config import QuorumMember, ServerLayout, merge_config, render_zoo_cfg, write_myid
from zk.lab.ports import free_port, free_ports, port_is_free


def test_free_ports_are_distinct_and_bindable() -> None:
    ports = free_ports(12)
    assert len(set(ports)) == 12
    for port in ports:
        assert port_is_free(port)
    assert free_port() not in ports  # handed-out ports are not handed out again


def test_a_listening_port_is_not_free() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        assert not port_is_free(sock.getsockname()[1])


def test_zoo_cfg_lists_entries_then_server_lines_by_sid() -> None:
    members = [QuorumMember(2, "127.0.0.1", 2, 3, 4), QuorumMember(1, "127.0.0.1", 5, 6, 7)]
    text = render_zoo_cfg({"tickTime": 2000, "4lw.commands.whitelist": "*", "x": True}, members)
    assert text.splitlines() == [
        "tickTime=2000",
        "4lw.commands.whitelist=*",
        "x=true",
        "server.1=127.0.0.1:5:6",
        "server.2=127.0.0.1:2:3",
    ]


@pytest.mark.parametrize(("key", "value"), [("a=b", 1), (" a", 1), ("a", "x\ny")])
def test_zoo_cfg_refuses_what_would_break_the_file(key: str, value: str) -> None:
    with pytest.raises(ValueError):
        render_zoo_cfg({key: value})


@pytest.mark.parametrize("key", ["dataDir", "clientPort", "clientPortAddress", "server.1"])
def test_the_lab_owns_ports_and_folders(key: str) -> None:
    with pytest.raises(ValueError, match="set by the lab"):
        merge_config({"tickTime": 2000}, {key: "x"})


def test_overrides_win_and_new_keys_follow(tmp_path: Path) -> None:
    merged = merge_config({"tickTime": 2000, "initLimit": 10}, {"tickTime": 500, "maxSessionTimeout": 9000})
    assert merged == {"tickTime": 500, "initLimit": 10, "maxSessionTimeout": 9000}
    layout = ServerLayout.under(tmp_path, "s3")
    assert layout.data_dir.is_dir()
    assert write_myid(layout.data_dir, 3).read_text() == "3\n"
    with pytest.raises(ValueError):
        write_myid(layout.data_dir, 256)
