"""The election port's formats, checked against bytes Apache ZooKeeper 3.8 sent.

The golden bytes below were captured from a 3-node ZooKeeper 3.8.0 ensemble (Debian's
package) by connecting to server 1's election port as a fake peer: once as id 99 (it
kept the connection and answered our LOOKING notification with its vote, FOLLOWING
leader 3), once as id 0 (it hung up, as the higher id does, and connected back to the
address we advertised, sending its initial message). Ports were those of that run:
server.1=127.0.0.1:35457:54653, server.2=...:54045:53929, server.3=...:37469:60693.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zk.election.messages import (
    PACKETMAXSIZE,
    PROTOCOL_VERSION_V1,
    ElectionWireError,
    InitialMessage,
    Notification,
    ServerState,
    decode_notification,
    encode_initial_message,
    encode_notification,
    frame,
    parse_initial_message,
)
from zk.election.quorum import QuorumMaj
from zk.election.sim import SimMember

# server 1's answer to a LOOKING notification from a non-voter: length, then the body
ZK38_NOTIFICATION = bytes.fromhex(
    "000000b6000000010000000000000003000000000000000000000000000000010000000000000001000000020000008a"
    "7365727665722e313d3132372e302e302e313a33353435373a35343635333a7061727469636970616e740a7365727665"
    "722e323d3132372e302e302e313a35343034353a35333932393a7061727469636970616e740a7365727665722e333d31"
    "32372e302e302e313a33373436393a36303639333a7061727469636970616e740a76657273696f6e3d30"
)
# server 1's initial message when it connected back to us
ZK38_INITIAL = bytes.fromhex("ffffffffffff000000000000000000010000000f3132372e302e302e313a3534363533")

ZK38_CONFIG = (
    b"server.1=127.0.0.1:35457:54653:participant\n"
    b"server.2=127.0.0.1:54045:53929:participant\n"
    b"server.3=127.0.0.1:37469:60693:participant\n"
    b"version=0"
)


def test_decode_zookeeper_38_notification() -> None:
    (length,) = struct.unpack(">i", ZK38_NOTIFICATION[:4])
    body = ZK38_NOTIFICATION[4:]
    assert length == len(body) == 182
    n = decode_notification(body, sid=1)
    # state FOLLOWING, leader 3, zxid 0, round 1, format version 2; peer epoch 1: a synced
    # follower's vote carries the epoch the new leader established (updateElectionVote)
    assert (n.state, n.leader, n.zxid, n.election_epoch, n.peer_epoch, n.version) == (
        ServerState.FOLLOWING, 3, 0, 1, 1, 2,
    )  # fmt: skip
    assert n.config == ZK38_CONFIG and n.sid == 1


def test_encode_notification_is_byte_identical_to_zookeeper_38() -> None:
    n = Notification(ServerState.FOLLOWING, 3, 0, 1, 1, config=ZK38_CONFIG)
    assert frame(encode_notification(n)) == ZK38_NOTIFICATION


def test_quorum_maj_config_string_matches_zookeeper_38() -> None:
    members = {
        1: SimMember(1, host="127.0.0.1", quorum_port=35457, election_port=54653),
        2: SimMember(2, host="127.0.0.1", quorum_port=54045, election_port=53929),
        3: SimMember(3, host="127.0.0.1", quorum_port=37469, election_port=60693),
    }
    assert QuorumMaj(members).to_string().encode() == ZK38_CONFIG


def test_initial_message_matches_zookeeper_38() -> None:
    parsed = parse_initial_message(ZK38_INITIAL)
    assert parsed is not None
    msg, used = parsed
    assert used == len(ZK38_INITIAL)
    assert msg == InitialMessage(1, (("127.0.0.1", 54653),), PROTOCOL_VERSION_V1)
    assert encode_initial_message(msg) == ZK38_INITIAL
    assert PROTOCOL_VERSION_V1 == -65536 == struct.unpack(">q", bytes.fromhex("ffffffffffff0000"))[0]


def test_initial_message_needs_all_its_bytes() -> None:
    for cut in range(len(ZK38_INITIAL)):
        assert parse_initial_message(ZK38_INITIAL[:cut]) is None


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (struct.pack(">q", -7) + bytes(12), "unrecognized protocol version"),
        (struct.pack(">qqi", PROTOCOL_VERSION_V1, 1, 0), "Unreasonable buffer length"),
        (struct.pack(">qqi", PROTOCOL_VERSION_V1, 1, 2049), "Unreasonable buffer length"),
        (struct.pack(">qqi", PROTOCOL_VERSION_V1, 1, -1), "Unreasonable buffer length"),
        (struct.pack(">qqi", PROTOCOL_VERSION_V1, 1, 4) + b"abcd", "Badly formed address"),
        (struct.pack(">qqi", PROTOCOL_VERSION_V1, 1, 6) + b"host:x", "Bad port number"),
        (struct.pack(">qqi", PROTOCOL_VERSION_V1, 1, 2) + b"\xff\xfe", "not UTF-8"),
    ],
)
def test_bad_initial_messages_are_refused(data: bytes, error: str) -> None:
    """QuorumCnxManager.InitialMessage.parse's checks (ZOOKEEPER-2186: no huge buffers)."""
    with pytest.raises(ElectionWireError, match=error):
        parse_initial_message(data)


def test_pre_350_initial_message_is_a_bare_server_id() -> None:
    assert parse_initial_message(struct.pack(">q", 5)) == (InitialMessage(5, (), 5), 8)


def test_old_notification_formats_decode() -> None:
    """28 bytes (before peer epochs: taken from the zxid) and 40 bytes (3.4 before 3.4.6:
    36 bytes used, no version); a 36-byte message is partial, as in ZooKeeper."""
    zxid = (7 << 32) | 3
    n28 = decode_notification(struct.pack(">iqqq", 0, 2, zxid, 4), sid=2)
    assert (n28.peer_epoch, n28.version, n28.config) == (7, 0, b"")
    n40 = decode_notification(struct.pack(">iqqqqi", 1, 2, zxid, 4, 6, 99), sid=2)
    assert (n40.state, n40.peer_epoch, n40.version) == (ServerState.FOLLOWING, 6, 0)
    n44 = decode_notification(struct.pack(">iqqqqii", 2, 2, zxid, 4, 6, 1, 0), sid=2)
    assert (n44.version, n44.config) == (1, b"")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (bytes(27), "short response"),
        (bytes(30), "partial"),
        (bytes(36), "partial"),
        (struct.pack(">iqqqqii", 0, 1, 0, 1, 0, 2, 1000), "Invalid configLength"),
        (struct.pack(">iqqqqii", 0, 1, 0, 1, 0, 2, -1), "Invalid configLength"),
        (struct.pack(">iqqqqii", 9, 1, 0, 1, 0, 2, 0), "unknown state"),
    ],
)
def test_bad_notifications_are_refused(body: bytes, error: str) -> None:
    with pytest.raises(ElectionWireError, match=error):
        decode_notification(body, sid=1)


def test_frame_limit() -> None:
    assert PACKETMAXSIZE == 512 * 1024
    assert frame(b"x") == b"\x00\x00\x00\x01x"


_long = st.integers(-(2**63), 2**63 - 1)


@given(
    st.sampled_from(list(ServerState)), _long, _long, _long, _long, st.binary(max_size=300),
)  # fmt: skip
def test_notification_round_trip(state: ServerState, leader: int, zxid: int, ee: int, pe: int, cfg: bytes) -> None:
    n = Notification(state, leader, zxid, ee, pe, config=cfg, sid=4)
    assert decode_notification(encode_notification(n), sid=4) == n
