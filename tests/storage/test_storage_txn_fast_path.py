"""deserialize_txn's fast path for creates reads every entry as the general decoder does.

zk.storage.util decodes create and create2 entries with a few structs and falls back to
the general record decoder on anything it does not expect. Random creates, and damaged
copies of them, must come out the same both ways: the same entry or the same error.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zk.storage.util as util
from zk.jute.codec import JuteError
from zk.jute.records import ACL, CreateTxn, CreateTxnV0, Id, TxnDigest, TxnHeader
from zk.protocol.constants import OpCode
from zk.storage.util import deserialize_txn, marshall_txn_entry

longs = st.integers(-(1 << 63), (1 << 63) - 1)
ints = st.integers(-(1 << 31), (1 << 31) - 1)
ustrings = st.none() | st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
acls = st.none() | st.lists(st.builds(ACL, ints, st.builds(Id, ustrings, ustrings)), max_size=3)
headers = st.builds(TxnHeader, longs, ints, longs, longs, st.sampled_from([OpCode.create, OpCode.create2]))
creates = st.builds(CreateTxn, ustrings, st.none() | st.binary(max_size=16), acls, st.booleans(), ints)
digests = st.none() | st.builds(TxnDigest, ints, longs)


def _decode(entry: bytes, max_buffer: int, *, fast: bool, monkeypatch: pytest.MonkeyPatch) -> Any:
    with monkeypatch.context() as m:
        if not fast:
            m.setattr(util, "_CREATES", ())
        try:
            return deserialize_txn(entry, max_buffer)
        except JuteError as e:
            return type(e), str(e)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=headers, txn=creates, digest=digests, data=st.data())
def test_fast_and_general_decode_agree_on_creates(
    header: TxnHeader, txn: CreateTxn, digest: TxnDigest | None, data: st.DataObject, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = bytearray(marshall_txn_entry(header, txn, digest))
    fast = _decode(bytes(entry), 1 << 20, fast=True, monkeypatch=monkeypatch)
    assert fast == _decode(bytes(entry), 1 << 20, fast=False, monkeypatch=monkeypatch)
    if txn.path is not None:
        assert fast == util.TxnLogEntry(header, txn, digest)
    damage = data.draw(st.sampled_from(["cut", "flip", "drop", "extra", "small buffer"]))
    where = data.draw(st.integers(0, len(entry) - 1))
    max_buffer = 1 << 20
    if damage == "cut":
        del entry[where:]
    elif damage == "flip":
        entry[where] ^= data.draw(st.integers(1, 255))
    elif damage == "drop":
        del entry[where : where + data.draw(st.integers(1, 8))]
    elif damage == "extra":
        entry += data.draw(st.binary(min_size=1, max_size=16))
    else:
        max_buffer = data.draw(st.integers(0, 8))
    assert _decode(bytes(entry), max_buffer, fast=True, monkeypatch=monkeypatch) == _decode(
        bytes(entry), max_buffer, fast=False, monkeypatch=monkeypatch
    )


def test_an_old_create_still_reads_through_the_general_decoder() -> None:
    """CreateTxnV0 has no parentCVersion: the fast path declines it (the digest is too
    short to pass for one) and the general decoder reads it with -1."""
    hdr = TxnHeader(1, 1, 9, 0, OpCode.create)
    entry = hdr.to_bytes() + CreateTxnV0("/old", b"v0", [ACL(31, Id("world", "anyone"))], False).to_bytes()
    assert deserialize_txn(entry, 1 << 20).txn == CreateTxn("/old", b"v0", [ACL(31, Id("world", "anyone"))], False, -1)
