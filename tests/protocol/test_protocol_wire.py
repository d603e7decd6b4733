"""The client protocol's wire forms, checked against kazoo's own serializer.

kazoo is an independent implementation of the same protocol: where it can write a
request, our records must produce the very same bytes.
"""

from hypothesis import given
from hypothesis import strategies as st
from kazoo.protocol import serialization as kz
from kazoo.security import ACL as KzACL
from kazoo.security import Id as KzId

from zk.jute.codec import Reader, Writer
from zk.jute.records import (
    ACL,
    CheckVersionRequest,
    ConnectRequest,
    ConnectResponse,
    CreateRequest,
    DeleteRequest,
    Id,
    SetDataRequest,
)
from zk.protocol.connect import encode_connect_response, parse_connect_request
from zk.protocol.constants import OpCode
from zk.protocol.framing import FrameDecoder, FrameError, frame
from zk.protocol.messages import MultiRequest, MultiResponse, OpResult


def test_create_request_bytes_equal_kazoos() -> None:
    acl = [KzACL(31, KzId("world", "anyone"))]
    theirs = kz.Create("/app/node", b"data", acl, 3).serialize()
    ours = CreateRequest("/app/node", b"data", [ACL(31, Id("world", "anyone"))], 3).to_bytes()
    assert ours == bytes(theirs)


def test_multi_request_bytes_equal_kazoos() -> None:
    acl = [KzACL(31, KzId("world", "anyone"))]
    theirs = kz.Transaction(
        [kz.Create("/a", b"", acl, 0), kz.Delete("/b", 3), kz.SetData("/c", b"x", -1), kz.CheckVersion("/d", 7)]
    ).serialize()
    ours = MultiRequest(
        [
            (OpCode.create, CreateRequest("/a", b"", [ACL(31, Id("world", "anyone"))], 0)),
            (OpCode.delete, DeleteRequest("/b", 3)),
            (OpCode.setData, SetDataRequest("/c", b"x", -1)),
            (OpCode.check, CheckVersionRequest("/d", 7)),
        ]
    )
    w = Writer()
    ours.encode(w)
    assert w.getvalue() == bytes(theirs)
    assert MultiRequest.decode(Reader(w.getvalue())) == ours


def test_multi_response_round_trips() -> None:
    from zk.jute.records import CreateResponse, ErrorResponse

    rsp = MultiResponse([OpResult(OpCode.create, CreateResponse("/a")), OpResult(OpCode.error, ErrorResponse(-101))])
    assert MultiResponse.decode(Reader(rsp.to_bytes())) == rsp


def test_connect_request_with_and_without_the_read_only_byte() -> None:
    new = ConnectRequest(0, 0, 30000, 0, bytes(16), False).to_bytes()
    old = new[:-1]  # a pre-3.4 client
    assert parse_connect_request(new).is_old_client is False
    parsed_old = parse_connect_request(old)
    assert parsed_old.is_old_client is True and parsed_old.request.timeOut == 30000


def test_connect_response_leaves_the_byte_off_for_old_clients() -> None:
    rsp = ConnectResponse(0, 30000, 0x100, bytes(16), False)
    assert encode_connect_response(rsp, is_old_client=False) == rsp.to_bytes()
    assert encode_connect_response(rsp, is_old_client=True) == rsp.to_bytes()[:-1]


@given(st.lists(st.binary(max_size=40), max_size=10), st.data())
def test_frames_survive_any_split_of_the_stream(payloads: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(frame(p) for p in payloads)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    decoder = FrameDecoder()
    got: list[bytes] = []
    for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        got += decoder.feed(stream[a:b])
    assert got == payloads and decoder.buffered == 0


def test_a_length_over_max_buffer_is_a_frame_error() -> None:
    decoder = FrameDecoder(max_buffer=100)
    try:
        decoder.feed((101).to_bytes(4, "big"))
    except FrameError as e:
        assert "Len error" in str(e)
    else:
        raise AssertionError("expected FrameError")


def test_a_negative_length_is_a_frame_error() -> None:
    decoder = FrameDecoder()
    try:
        decoder.feed(b"\xff\xff\xff\xfe")
    except FrameError:
        pass
    else:
        raise AssertionError("expected FrameError")
