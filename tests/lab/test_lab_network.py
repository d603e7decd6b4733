"""The lab's network of proxies, without servers: each member's view, partitions, and the
election message readdressed so a callback goes through the proxies too."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from zk.election.messages import InitialMessage, encode_initial_message, parse_initial_message
from zk.lab.config import QuorumMember
from zk.lab.network import Network, readdress_initial_message
from zk.lab.ports import LOOPBACK, free_ports
from zk.lab.proxy import Proxy


@pytest.fixture
def net() -> Iterator[Network]:
    ports = free_ports(9)
    members = [
        QuorumMember(sid, LOOPBACK, ports[3 * i], ports[3 * i + 1], ports[3 * i + 2]) for i, sid in enumerate((1, 2, 3))
    ]
    n = Network(members)
    yield n
    n.close()


def test_each_member_sees_itself_as_it_is_and_the_others_through_its_own_proxies(net: Network) -> None:
    view = {m.sid: m for m in net.view(2)}
    assert view[2] == net.members[2]
    for y in (1, 3):
        assert view[y].quorum_port == net.proxies[2, y, "quorum"].port
        assert view[y].election_port == net.proxies[2, y, "election"].port
        assert view[y].client_port == net.members[y].client_port
    assert net.proxies[2, 1, "quorum"].target == (LOOPBACK, net.members[1].quorum_port)


def test_a_partition_cuts_the_links_between_groups_both_ways_and_heal_restores_them(net: Network) -> None:
    net.partition({1}, {2, 3})
    assert not net.connected(1, 2) and not net.connected(3, 1) and net.connected(2, 3)
    for (x, y, _), proxy in net.proxies.items():
        assert proxy.down == (1 in (x, y)), (x, y)
    net.isolate(3)  # replaces the earlier partition
    assert net.connected(1, 2) and not net.connected(1, 3) and not net.connected(2, 3)
    net.heal()
    assert all(not p.down for p in net.proxies.values())


@pytest.mark.parametrize("groups", [({1}, {2}), ({1, 2}, {2, 3}), ({1}, {2, 3, 4})])
def test_groups_must_split_the_members_exactly(net: Network, groups: tuple[set[int], ...]) -> None:
    with pytest.raises(ValueError, match="without overlap"):
        net.partition(*groups)


def test_the_initial_message_is_readdressed_and_what_follows_is_kept() -> None:
    msg = encode_initial_message(InitialMessage(7, (("10.0.0.7", 3888),)))
    out = readdress_initial_message(msg + b"tail", LOOPBACK, 4242)
    assert out is not None
    parsed = parse_initial_message(out)
    assert parsed is not None
    rewritten, used = parsed
    assert (rewritten.sid, rewritten.election_addrs) == (7, ((LOOPBACK, 4242),))
    assert out[used:] == b"tail"
    assert readdress_initial_message(msg[:10], LOOPBACK, 4242) is None  # more bytes, please
    old_style = (7).to_bytes(8, "big")  # before 3.5: the sid alone, nothing to readdress
    assert readdress_initial_message(old_style, LOOPBACK, 4242) == old_style


def test_a_proxy_forwards_and_a_dropped_proxy_cuts_and_refuses() -> None:
    with socket.create_server((LOOPBACK, 0)) as target:
        proxy = Proxy(LOOPBACK, target.getsockname()[1])
        try:
            with socket.create_connection((LOOPBACK, proxy.port), timeout=5) as c:
                s, _ = target.accept()
                with s:
                    c.sendall(b"ping")
                    assert s.recv(4) == b"ping"
                    proxy.drop()
                    assert c.recv(4) == b""  # cut: the connecting side sees the end
            with socket.create_connection((LOOPBACK, proxy.port), timeout=5) as c:
                assert c.recv(4) == b""  # refused (accepted, then closed at once)
        finally:
            proxy.close()
