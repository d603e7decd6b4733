"""The quorum config string (QuorumVerifier.toString) and reading it back, against 3.8.

The golden strings were printed by Apache ZooKeeper 3.8.0 (Debian's
/usr/share/java/zookeeper.jar, OpenJDK 17): ``QuorumPeerConfig.parse(zoo.cfg)``, then
``getQuorumVerifier().toString()``, for the zoo.cfg lines shown beside each. The
accept/refuse table was run through ``QuorumPeerConfig.parseDynamicConfig(props, 3,
false, false, null)`` after ``Properties.load``, which is QuorumPeer.configFromString,
the call Learner.syncWithLeader makes on NEWLEADER's data.
"""

from __future__ import annotations

import re

import pytest

from zk.election.quorum import (
    QuorumHierarchical,
    QuorumMaj,
    QuorumServer,
    config_from_string,
    java_hash_map_order,
)
from zk.startup.config import QuorumPeerConfig, parse_properties
from zk.startup.quorum_peer import quorum_verifier

# --- zoo.cfg -> toString, as 3.8 printed it -----------------------------------------------

MAJ_CFG = """\
tickTime=2000
initLimit=10
syncLimit=5
dataDir=/tmp/qvcap/maj/data
clientPort=2181
server.1=127.0.0.1:2888:3888
server.2=127.0.0.1:2889:3889
server.3=127.0.0.1:2890:3890
"""
# clientPort is not in it: 3.8 gives each server's own line the static client address
# but marks it isClientAddrFromStatic, and toString leaves such an address out
MAJ_38 = (
    "server.1=127.0.0.1:2888:3888:participant\n"
    "server.2=127.0.0.1:2889:3889:participant\n"
    "server.3=127.0.0.1:2890:3890:participant\n"
    "version=0"
)

HIER_CFG = """\
tickTime=2000
initLimit=10
syncLimit=5
dataDir=/tmp/qvcap/hier/data
clientPort=2181
server.1=127.0.0.1:2888:3888
server.2=127.0.0.1:2889:3889
server.3=127.0.0.1:2890:3890
server.4=127.0.0.1:2891:3891
server.5=127.0.0.1:2892:3892
server.6=127.0.0.1:2893:3893:observer
group.1=1:2:3
group.2=4:5
weight.1=1
weight.2=2
weight.4=0
"""
# every participant gets a weight line (default 1), the observer none
HIER_38 = (
    "server.1=127.0.0.1:2888:3888:participant\n"
    "server.2=127.0.0.1:2889:3889:participant\n"
    "server.3=127.0.0.1:2890:3890:participant\n"
    "server.4=127.0.0.1:2891:3891:participant\n"
    "server.5=127.0.0.1:2892:3892:participant\n"
    "server.6=127.0.0.1:2893:3893:observer\n"
    "group.1=1:2:3\n"
    "group.2=4:5\n"
    "weight.1=1\n"
    "weight.2=2\n"
    "weight.3=1\n"
    "weight.4=0\n"
    "weight.5=1\n"
    "version=0"
)

# client addresses from the server lines, any order in the file, a sid past the
# HashMap's 16 buckets (17 shares bucket 1 with 1), a role in capitals with a blank
MIXED_LINES = {
    3: "localhost:2890:3890;2183",
    1: "127.0.0.1:2888:3888:participant;127.0.0.1:2181",
    2: "127.0.0.1:2889:3889:PARTICIPANT ;localhost:2182",
    4: "127.0.0.1:2891:3891:observer",
    17: "127.0.0.1:2892:3892",
}
MIXED_38 = (
    "server.1=127.0.0.1:2888:3888:participant;127.0.0.1:2181\n"
    "server.17=127.0.0.1:2892:3892:participant\n"
    "server.2=127.0.0.1:2889:3889:participant;localhost:2182\n"
    "server.3=localhost:2890:3890:participant;0.0.0.0:2183\n"
    "server.4=127.0.0.1:2891:3891:observer\n"
    "version=0"
)

# IPv6 literals as Java's Inet6Address prints them: eight groups, no "::"
IPV6_LINES = {
    1: "[::1]:2888:3888",
    2: "[0:0:0:0:0:0:0:1]:2889:3889;[::1]:2182",
    3: "127.0.0.1:2890:3890;0.0.0.0:2183",
}
IPV6_38 = (
    "server.1=[0:0:0:0:0:0:0:1]:2888:3888:participant\n"
    "server.2=[0:0:0:0:0:0:0:1]:2889:3889:participant;[0:0:0:0:0:0:0:1]:2182\n"
    "server.3=127.0.0.1:2890:3890:participant;0.0.0.0:2183\n"
    "version=0"
)


def _from_zoo_cfg(text: str) -> str:
    """What our QuorumPeer builds from a zoo.cfg, rendered."""
    return quorum_verifier(QuorumPeerConfig.from_properties(parse_properties(text))).to_string()


def test_quorum_maj_from_zoo_cfg_is_38s_string() -> None:
    assert _from_zoo_cfg(MAJ_CFG) == MAJ_38


def test_quorum_hierarchical_from_zoo_cfg_is_38s_string() -> None:
    assert _from_zoo_cfg(HIER_CFG) == HIER_38


def test_server_lines_with_client_addresses_and_sid_17_come_in_38s_order() -> None:
    members = {sid: QuorumServer.parse(sid, value) for sid, value in MIXED_LINES.items()}
    assert QuorumMaj(members).to_string() == MIXED_38


def test_ipv6_hosts_are_printed_as_java_prints_them() -> None:
    members = {sid: QuorumServer.parse(sid, value) for sid, value in IPV6_LINES.items()}
    assert QuorumMaj(members).to_string() == IPV6_38


def test_the_version_is_unsigned_hex_without_0x() -> None:
    members = {1: QuorumServer(1, "h", 1, 2), 2: QuorumServer(2, "h", 3, 4)}
    assert QuorumMaj(members, version=0x100000000).to_string().endswith("\nversion=100000000")
    assert QuorumMaj(members, version=-1).to_string().endswith("\nversion=ffffffffffffffff")  # Long.toHexString


def test_hierarchical_groups_and_weights_in_hash_map_order() -> None:
    # 3.8 printed these lines for server.5/17/18 with group.20=5, group.3=17:18
    members = {sid: QuorumServer(sid, "h", 2 * sid, 2 * sid + 1) for sid in (5, 17, 18)}
    qv = QuorumHierarchical(members, {20: [5], 3: [17, 18]})
    # sids 17 (bucket 1), 18 (2), 5 (5); gids 3 (bucket 3), 20 (bucket 4)
    assert qv.to_string().split("\n")[3:] == [
        "group.3=17:18",
        "group.20=5",
        "weight.17=1",
        "weight.18=1",
        "weight.5=1",
        "version=0",
    ]


@pytest.mark.parametrize(
    ("keys", "order"),
    [
        ([3, 1, 2], [1, 2, 3]),
        ([5, 17], [17, 5]),  # 16 buckets: 17 lands in bucket 1
        ([1, 17], [1, 17]),  # a shared bucket: the smaller first, as 3.8 printed it
        (list(range(1, 14)), list(range(1, 14))),  # 13 keys: 32 buckets
        ([20, *range(1, 13)], [*range(1, 13), 20]),  # 13 keys: 20 stays in bucket 20
        ([2, 1 << 32], [1 << 32, 2]),  # Long.hashCode folds the high word: bucket 1
    ],
)
def test_java_hash_map_order(keys: list[int], order: list[int]) -> None:
    assert java_hash_map_order(keys) == order


# --- config string -> verifier: what configFromString accepts and refuses -------------------


@pytest.mark.parametrize("golden", [MAJ_38, HIER_38, MIXED_38, IPV6_38])
def test_38s_strings_read_back_to_themselves(golden: str) -> None:
    assert config_from_string(golden).to_string() == golden


def test_reading_keeps_version_members_and_rule() -> None:
    qv = config_from_string(MAJ_38.replace("version=0", "version=100000000"))
    assert isinstance(qv, QuorumMaj)
    assert qv.version == 0x100000000
    assert sorted(qv.voting_members) == [1, 2, 3] and not qv.observing_members
    assert qv.all_members[2] == QuorumServer(2, "127.0.0.1", 2889, 3889)
    hier = config_from_string(HIER_38)
    assert isinstance(hier, QuorumHierarchical)
    assert hier.get_weight(2) == 2 and hier.contains_quorum({1, 2, 4, 5})


# input -> what 3.8's toString printed after reading it
ACCEPTED = [
    ("server.2=127.0.0.1:2889:3889\nserver.1=127.0.0.1:2888:3888",
     "server.1=127.0.0.1:2888:3888:participant\nserver.2=127.0.0.1:2889:3889:participant\nversion=0"),
    ("# comment\n\n  server.1 = 127.0.0.1:2888:3888:Observer \nserver.2:127.0.0.1:2889:3889\n"
     "server.3 127.0.0.1:2890:3890\nversion=  1f",
     "server.1=127.0.0.1:2888:3888:observer\nserver.2=127.0.0.1:2889:3889:participant\n"
     "server.3=127.0.0.1:2890:3890:participant\nversion=1f"),
    ("server.1=127.0.0.1:2888:3888:participant\nserver.2=127.0.0.1:2889:3889:participant\nversion=100000000\n",
     "server.1=127.0.0.1:2888:3888:participant\nserver.2=127.0.0.1:2889:3889:participant\nversion=100000000"),
    ("server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\ngroup.1=1:2\nweight.2=3\nversion=5",
     "server.1=127.0.0.1:2888:3888:participant\nserver.2=127.0.0.1:2889:3889:participant\n"
     "group.1=1:2\nweight.1=1\nweight.2=3\nversion=5"),
    ("server.1=host.invalid:2888:3888\nserver.2=127.0.0.1:2889:3889:participant",  # unresolved is fine
     "server.1=host.invalid:2888:3888:participant\nserver.2=127.0.0.1:2889:3889:participant\nversion=0"),
    ("server.1=127.0.0.1:2888:3888\nversion=-1",  # one server: logged, not refused
     "server.1=127.0.0.1:2888:3888:participant\nversion=ffffffffffffffff"),
    ("server.1=127.0.0.1:2888:3888\\\n:participant",  # a continued line
     "server.1=127.0.0.1:2888:3888:participant\nversion=0"),
    ("server.1=127.0.0.1:+2888:3888", "server.1=127.0.0.1:2888:3888:participant\nversion=0"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "printed"), ACCEPTED)
def test_accepted_as_38_accepts(text: str, printed: str) -> None:
    assert config_from_string(text).to_string() == printed


# input -> the start of 3.8's exception message
REFUSED = [
    ("server.1=127.0.0.1:2888:3888\nfoo=bar", "Unrecognised parameter: foo"),
    ("servers.1=127.0.0.1:2888:3888", "Unrecognised parameter: servers.1"),
    ("server.1=127.0.0.1:2888", "127.0.0.1:2888 does not have the form"),
    ("server.1=127.0.0.1:2888:3888:participant:extra", "127.0.0.1:2888:3888:participant:extra does not"),
    ("server.1=127.0.0.1:2888:3888;1:2:3", "127.0.0.1:2888:3888;1:2:3 does not have the form"),
    ("server.1=127.0.0.1:2888:3888;a;b", "127.0.0.1:2888:3888;a;b does not have the form"),
    ("server.1=127.0.0.1:2888:3888\nversion=0x10", 'For input string: "0x10" under radix 16'),
    ("server.1=127.0.0.1:2888:3888\nversion=", 'For input string: "" under radix 16'),
    ("server.1=127.0.0.1:2888:3888:observer", "Observers w/o participants"),
    ("server.1=127.0.0.1:2888:3888:participant;2181\nserver.2=127.0.0.1:2889:3889; 2182", "For input string"),
    ("server.x=127.0.0.1:2888:3888", 'For input string: "x"'),
    ("server.1=127.0.0.1:2888:3888:voter", "Unrecognised peertype: voter"),
    ("server.1=127.0.0.1:2888:2888", "Client and election port must be different!"),
    ("server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\ngroupie=1:2", 'For input string: "groupie"'),
    ("server.1=127.0.0.1:99999:3888", "port out of range:99999"),
    ("server.1=127.0.0.1:2888:3888|127.0.0.2:2888:3888", "Multiple address feature is disabled"),
]


@pytest.mark.parametrize(("text", "message"), REFUSED)
def test_refused_as_38_refuses(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        config_from_string(text)
