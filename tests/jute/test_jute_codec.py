"""The jute codec: primitives, null versus empty, and bad bytes as JuteError."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zk.jute.codec import JuteError, Reader, Writer
from zk.jute.records import ACL, CreateRequest, Id, SetWatches, Stat

longs = st.integers(min_value=-(2**63), max_value=2**63 - 1)
ints = st.integers(min_value=-(2**31), max_value=2**31 - 1)


@given(st.builds(Stat, longs, longs, longs, longs, ints, ints, ints, longs, ints, ints, longs))
def test_stat_round_trips_in_68_bytes(stat: Stat) -> None:
    data = stat.to_bytes()
    assert len(data) == 6 * 8 + 5 * 4
    assert Stat.from_bytes(data) == stat


@given(
    st.text(max_size=50) | st.none(),
    st.binary(max_size=100) | st.none(),
    st.lists(st.builds(ACL, ints, st.builds(Id, st.text(max_size=10), st.text(max_size=10))), max_size=4) | st.none(),
    ints,
)
def test_create_request_round_trips(path: str | None, data: bytes | None, acl: list[ACL] | None, flags: int) -> None:
    req = CreateRequest(path, data, acl, flags)
    assert CreateRequest.from_bytes(req.to_bytes()) == req


def test_null_and_empty_are_different_on_the_wire() -> None:
    w = Writer()
    w.write_buffer(None)
    w.write_buffer(b"")
    w.write_ustring(None)
    assert w.getvalue() == bytes.fromhex("ffffffff00000000ffffffff")
    r = Reader(w.getvalue())
    assert (r.read_buffer(), r.read_buffer(), r.read_ustring()) == (None, b"", None)


def test_truncated_record_is_a_jute_error() -> None:
    data = Stat(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11).to_bytes()
    for cut in (0, 1, 8, 67):
        with pytest.raises(JuteError, match="truncated"):
            Stat.from_bytes(data[:cut])


def test_length_over_max_buffer_is_refused_before_reading() -> None:
    w = Writer()
    w.write_int(0x7FFFFFFF)
    with pytest.raises(JuteError, match=r"jute\.maxbuffer"):
        Reader(w.getvalue()).read_buffer()


def test_vector_count_that_cannot_fit_is_refused() -> None:
    # relativeZxid, then a vector claiming 100000 strings in 4 bytes
    data = bytes(8) + (100_000).to_bytes(4, "big")
    with pytest.raises(JuteError):
        SetWatches.from_bytes(data)


def test_trailing_bytes_are_an_error() -> None:
    with pytest.raises(JuteError, match="left over"):
        Stat.from_bytes(Stat(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0).to_bytes() + b"\x00")


def test_invalid_utf8_string_is_a_jute_error() -> None:
    with pytest.raises(JuteError, match="UTF-8"):
        Reader(b"\x00\x00\x00\x01\xff").read_ustring()
