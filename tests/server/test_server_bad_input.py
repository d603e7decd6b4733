"""Bad input never crashes the server: the sender gets ZooKeeper's answer, others go on.

Each case sends the bad bytes over a raw connection to our server and to Apache
ZooKeeper 3.8, checks that both answer the same way (an error code, or a closed
connection), and that a well-behaved kazoo client on the same server is still served.
"""

from collections.abc import Iterator

import pytest
from kazoo.client import KazooClient

from zk import lab
from zk.jute.codec import Reader
from zk.jute.records import ACL, CheckVersionRequest, CreateRequest, CreateResponse, GetDataRequest, Id, SetDataRequest
from zk.lab.raw import RawConnection
from zk.protocol.constants import OpCode
from zk.protocol.errors import Code

KINDS = ["ours", "reference"]
OPEN = [ACL(31, Id("world", "anyone"))]
MAX_BUFFER = 0xFFFFF


@pytest.fixture(scope="module", params=KINDS)
def server(request: pytest.FixtureRequest) -> Iterator[lab.SyncServer]:
    if request.param == "reference" and not lab.reference_available():
        pytest.skip(lab.reference_missing_reason())
    with lab.start_server_sync(kind=request.param) as s:
        yield s


@pytest.fixture(scope="module")
def bystander(server: lab.SyncServer) -> Iterator[KazooClient]:
    """A well-behaved client that must keep being served through every case."""
    client = KazooClient(server.connect_string, timeout=10)
    client.start(timeout=10)
    yield client
    client.stop()
    client.close()


def raw(server: lab.SyncServer) -> RawConnection:
    host, port = server.connect_string.rsplit(":", 1)
    return RawConnection(host, int(port))


def still_served(bystander: KazooClient, server: lab.SyncServer) -> None:
    assert bystander.connected
    bystander.create("/bystander-", b"ok", sequence=True, ephemeral=True)
    assert server.four_letter_word("ruok") == "imok"


def test_length_over_jute_maxbuffer_closes_the_connection(server: lab.SyncServer, bystander: KazooClient) -> None:
    with raw(server) as c:
        c.send_bytes((MAX_BUFFER + 1).to_bytes(4, "big"))
        assert c.is_closed_by_server()
    still_served(bystander, server)
    assert "Len error" in server.process.log_path.read_text(), "the server logs whose bytes were bad"


def test_negative_length_closes_the_connection(server: lab.SyncServer, bystander: KazooClient) -> None:
    with raw(server) as c:
        c.connect()
        c.send_bytes((-5).to_bytes(4, "big", signed=True))
        assert c.is_closed_by_server()
    still_served(bystander, server)


def test_garbage_connect_request_closes_the_connection(server: lab.SyncServer, bystander: KazooClient) -> None:
    with raw(server) as c:
        c.send_frame(b"\x00\x01\x02")
        assert c.is_closed_by_server()
    still_served(bystander, server)


def test_truncated_frame_waits_without_blocking_others(server: lab.SyncServer, bystander: KazooClient) -> None:
    with raw(server) as c:
        c.connect()
        c.send_bytes((100).to_bytes(4, "big") + b"\x00" * 10)  # 90 bytes never come
        still_served(bystander, server)
        assert not c.is_closed_by_server()


def test_unknown_opcode_is_unimplemented_then_closed(server: lab.SyncServer, bystander: KazooClient) -> None:
    with raw(server) as c:
        c.connect()
        c.send_frame((1).to_bytes(4, "big") + (999).to_bytes(4, "big"))
        header, _ = c.recv_reply()
        assert (header.xid, header.err) == (1, Code.UNIMPLEMENTED)
        assert c.is_closed_by_server()
    still_served(bystander, server)


def test_check_alone_is_unimplemented_then_closed(server: lab.SyncServer, bystander: KazooClient) -> None:
    """`check` is only valid inside a multi: ZOOKEEPER-2623 made Request.isValid refuse it
    (UNIMPLEMENTED, then close). Debian's 3.8.0 predates that fix and never answers a lone
    check at all, so this case is checked on our server only."""
    if server.process.kind == "reference":
        pytest.skip("ZooKeeper 3.8.0 predates ZOOKEEPER-2623 and never answers a lone check")
    with raw(server) as c:
        c.connect()
        c.request(1, OpCode.check, CheckVersionRequest("/zookeeper", -1))
        header, _ = c.recv_reply()
        assert (header.xid, header.err) == (1, Code.UNIMPLEMENTED)
        assert c.is_closed_by_server()
    still_served(bystander, server)


def test_body_that_does_not_decode_is_a_marshalling_error(server: lab.SyncServer, bystander: KazooClient) -> None:
    with raw(server) as c:
        c.connect()
        # a create whose path claims 50 bytes but has 3
        c.send_frame((7).to_bytes(4, "big") + int(OpCode.create).to_bytes(4, "big") + (50).to_bytes(4, "big") + b"/ab")
        header, _ = c.recv_reply()
        assert (header.xid, header.err) == (7, Code.MARSHALLINGERROR)
        c.request(8, OpCode.getData, GetDataRequest("/zookeeper", False))  # the connection still works
        header, _ = c.recv_reply()
        assert (header.xid, header.err) == (8, Code.OK)
    still_served(bystander, server)


# Prep looks the parent up before it validates the whole path (pRequest2TxnCreate), so a
# bad path under a missing parent is NONODE; under an existing one it is BADARGUMENTS.
@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("a/b", Code.NONODE),
        ("noslash", Code.BADARGUMENTS),
        ("/.", Code.BADARGUMENTS),
        ("/..", Code.BADARGUMENTS),
        ("/zookeeper/", Code.BADARGUMENTS),
        ("//", Code.BADARGUMENTS),
        ("/zookeeper/./x", Code.NONODE),
        ("/a\u0000b", Code.BADARGUMENTS),
        ("", Code.BADARGUMENTS),
    ],
)
def test_invalid_path_is_refused(server: lab.SyncServer, bystander: KazooClient, path: str, code: Code) -> None:
    with raw(server) as c:
        c.connect()
        c.request(1, OpCode.create, CreateRequest(path, b"", OPEN, 0))
        header, _ = c.recv_reply()
        assert header.err == code
    still_served(bystander, server)


def test_data_filling_the_frame_is_accepted_and_one_byte_more_closes(
    server: lab.SyncServer, bystander: KazooClient
) -> None:
    path = "/big"
    # RequestHeader (8) + path (4 + 4) + data length (4) + version (4) = 24 bytes around the data
    fits = b"x" * (MAX_BUFFER - 24)
    with raw(server) as c:
        c.connect()
        c.request(1, OpCode.create, CreateRequest(path, b"", OPEN, 0))
        header, body = c.recv_reply()
        assert header.err == Code.OK and CreateResponse.from_bytes(body).path == path
        c.request(2, OpCode.setData, SetDataRequest(path, fits, -1))
        header, _ = c.recv_reply()
        assert header.err == Code.OK
        c.request(3, OpCode.setData, SetDataRequest(path, fits + b"x", -1))
        assert c.is_closed_by_server()
    data, stat = bystander.get(path)
    assert data == fits and stat.dataLength == len(fits)
    still_served(bystander, server)


def test_reply_zxids_agree_for_a_failed_write(server: lab.SyncServer) -> None:
    """A write that fails in Prep still takes a zxid: the reply carries it."""
    with raw(server) as c:
        c.connect()
        c.request(1, OpCode.create, CreateRequest("/no/parent", b"", OPEN, 0))
        failed, _ = c.recv_reply()
        c.request(2, OpCode.create, CreateRequest("/zxid-probe-" + str(failed.zxid), b"", OPEN, 0))
        ok, body = c.recv_reply()
        assert failed.err == Code.NONODE
        assert ok.zxid == failed.zxid + 1
        Reader(body)  # the create's reply decodes


def test_four_letter_word_split_across_packets_is_still_a_command(server: lab.SyncServer) -> None:
    import time

    with raw(server) as c:
        c.send_bytes(b"ru")
        time.sleep(0.05)
        c.send_bytes(b"ok")
        assert c.sock.recv(16) == b"imok"
