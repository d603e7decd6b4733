"""The file formats as functions over bytes: framing, padding, names, the snapshot layout.

Each test states the rule of FileTxnLog / FileSnap / SnapStream / Util it checks.
"""

from __future__ import annotations

import struct
import zlib

import pytest
from storage_helpers import OPEN, create

from zk.data import DataTree
from zk.jute.codec import Reader, Writer
from zk.jute.records import CloseSessionTxn, CreateTxn, CreateTxnV0, TxnDigest, TxnHeader
from zk.protocol.constants import OpCode
from zk.storage.log_format import (
    FILE_HEADER_SIZE,
    TXNLOG_MAGIC,
    LogScanner,
    calculate_file_size_with_padding,
    encode_file_header,
    frame_txn_entry,
)
from zk.storage.snap_format import (
    SNAP_MAGIC,
    SnapshotError,
    ZxidDigest,
    deserialize_snapshot,
    is_valid_snapshot_tail,
    serialize_snapshot,
)
from zk.storage.util import (
    deserialize_txn,
    get_zxid_from_name,
    make_log_name,
    make_snapshot_name,
    marshall_txn_entry,
    sort_data_dir,
)


def test_magic_numbers_are_the_ascii_of_zklg_and_zksn() -> None:
    """FileTxnLog.TXNLOG_MAGIC = "ZKLG" as a big-endian int; FileSnap.SNAP_MAGIC = "ZKSN"."""
    assert TXNLOG_MAGIC == 0x5A4B4C47 and SNAP_MAGIC == 0x5A4B534E
    assert encode_file_header() == b"ZKLG" + struct.pack(">iq", 2, 0)


def test_file_names_carry_the_zxid_in_lower_case_hex() -> None:
    """Util.makeLogName / makeSnapshotName / getZxidFromName, sortDataDir by zxid."""
    assert make_log_name(0x1F4A3) == "log.1f4a3" and make_snapshot_name(0) == "snapshot.0"
    assert make_snapshot_name(0x10, ".gz") == "snapshot.10.gz"
    assert get_zxid_from_name("log.1f4a3", "log") == 0x1F4A3
    assert get_zxid_from_name("snapshot.10.gz", "snapshot") == 0x10
    assert get_zxid_from_name("log.xyz", "log") == -1 and get_zxid_from_name("log", "log") == -1
    assert get_zxid_from_name("tmp.snapshot.10", "snapshot") == -1
    assert sort_data_dir(["log.10", "log.a", "log.2"], "log", ascending=True) == ["log.2", "log.a", "log.10"]


def test_a_frame_is_crc_length_entry_and_B() -> None:
    """FileTxnLog.append: Adler32 of the entry as a long, the entry as a buffer, 'B'."""
    hdr, txn = create(5, "/a", b"x")
    entry = marshall_txn_entry(hdr, txn)
    frame = frame_txn_entry(entry)
    assert frame[:8] == struct.pack(">q", zlib.adler32(entry))
    assert frame[8:12] == struct.pack(">i", len(entry)) and frame[12:-1] == entry and frame[-1:] == b"B"


def test_padding_grows_the_file_by_prealloc_within_4k_of_its_end() -> None:
    """FilePadding.calculateFileSizeWithPadding."""
    mb = 1024 * 1024
    assert calculate_file_size_with_padding(16, 0, 64 * mb) == 64 * mb
    assert calculate_file_size_with_padding(64 * mb - 5000, 64 * mb, 64 * mb) == 64 * mb
    assert calculate_file_size_with_padding(64 * mb - 100, 64 * mb, 64 * mb) == 128 * mb
    assert calculate_file_size_with_padding(200 * mb, 64 * mb, 64 * mb) == 256 * mb
    assert calculate_file_size_with_padding(100, 0, 0) == 0


def _log(*frames: bytes, zeros: int = 4096) -> bytes:
    return encode_file_header() + b"".join(frames) + bytes(zeros)


def _frames(n: int) -> list[bytes]:
    return [frame_txn_entry(marshall_txn_entry(*create(z, f"/n{z}"))) for z in range(1, n + 1)]


def _scan(data: bytes) -> tuple[list[int], LogScanner]:
    scanner = LogScanner(data, 1 << 20)
    zxids = []
    while (e := scanner.next()) is not None:
        zxids.append(e.header.zxid)
    return zxids, scanner


def test_a_scan_stops_cleanly_at_the_preallocated_zeros() -> None:
    zxids, scanner = _scan(_log(*_frames(3)))
    assert zxids == [1, 2, 3] and scanner.damage is None
    assert scanner.position == FILE_HEADER_SIZE + sum(len(f) for f in _frames(3))


def test_a_torn_last_frame_is_damage_with_nothing_valid_after_it() -> None:
    """A write cut short at the tail: Java calls it EOF ("Last transaction was
    partial"); we report it, and recovery cuts it."""
    frames = _frames(3)
    data = _log(frames[0], frames[1], frames[2][:-7])
    zxids, scanner = _scan(data)
    assert zxids == [1, 2]
    assert scanner.damage is not None and scanner.damage.valid_frame_after is None
    assert scanner.damage.offset == FILE_HEADER_SIZE + len(frames[0]) + len(frames[1])


def test_a_bad_checksum_in_the_middle_is_damage_with_a_valid_frame_after_it() -> None:
    """FileTxnIterator.next: "CRC check failed". The frames after it make it damage in
    the middle, which recovery must not cut away."""
    frames = _frames(3)
    bad = bytearray(frames[1])
    bad[20] ^= 0xFF
    zxids, scanner = _scan(_log(frames[0], bytes(bad), frames[2]))
    assert zxids == [1]
    assert scanner.damage is not None and scanner.damage.reason == "CRC check failed"
    assert scanner.damage.valid_frame_after == FILE_HEADER_SIZE + len(frames[0]) + len(frames[1])


def test_zeros_followed_by_data_are_damage_not_the_end() -> None:
    frames = _frames(2)
    zxids, scanner = _scan(_log(frames[0], bytes(100), frames[1]))
    assert zxids == [1] and scanner.damage is not None and scanner.damage.valid_frame_after is not None


def test_txn_entries_decode_with_and_without_digest() -> None:
    """SerializeUtils.deserializeTxn: the TxnDigest after the record is optional."""
    hdr, txn = create(7, "/d", b"data")
    plain = deserialize_txn(marshall_txn_entry(hdr, txn), 1 << 20)
    assert plain.header == hdr and plain.txn == txn and plain.digest is None
    digested = deserialize_txn(marshall_txn_entry(hdr, txn, TxnDigest(2, 12345)), 1 << 20)
    assert digested.txn == txn and digested.digest == TxnDigest(2, 12345)


def test_an_old_create_without_parent_cversion_reads_as_minus_one() -> None:
    """SerializeUtils.deserializeTxn: a CreateTxnV0 becomes a CreateTxn with -1."""
    hdr = TxnHeader(1, 1, 9, 0, OpCode.create)
    entry = hdr.to_bytes() + CreateTxnV0("/old", b"v0", OPEN, False).to_bytes()
    assert deserialize_txn(entry, 1 << 20).txn == CreateTxn("/old", b"v0", OPEN, False, -1)


def test_a_close_session_larger_than_jute_maxbuffer_reads_back() -> None:
    """ZOOKEEPER-2101/-3496/-4306: a CloseSessionTxn listing many ephemerals may exceed
    jute.maxbuffer; a server must be able to read back every txn it logged, so the
    log reader bounds a frame by the file, not by jute.maxbuffer."""
    paths = [f"/ephemerals/{'x' * 200}-{i:06d}" for i in range(6000)]  # ~1.3 MB
    frame = frame_txn_entry(marshall_txn_entry(TxnHeader(1, 0, 1, 0, OpCode.closeSession), CloseSessionTxn(paths)))
    assert len(frame) > 0xFFFFF
    zxids, scanner = _scan(_log(frame))
    assert zxids == [1] and scanner.damage is None


def _sample_tree() -> DataTree:
    tree = DataTree()
    for z, path in enumerate(["/a", "/a/b", "/c", "/a/b/d"], start=1):
        hdr, txn = create(z, path, path.encode())
        tree.process_txn(hdr, txn)
    tree.process_txn(*create(5, "/e", b"eph", ephemeral=True))
    return tree


def test_a_quiet_tree_serializes_as_datatree_serialize_does() -> None:
    """The sliced walk writes exactly the bytes DataTree.serialize writes."""
    tree = _sample_tree()
    sessions = {0x1000001: 30000}
    stream = b"".join(serialize_snapshot(tree, sessions, slice_nodes=2))
    w = Writer()
    tree.serialize(w)
    body = stream[16 + 4 + 12 :]
    assert body.startswith(w.getvalue())


def test_a_snapshot_round_trips_with_its_sessions_and_seal() -> None:
    """FileSnap.serialize / deserialize, SnapStream.sealStream / checkSealIntegrity."""
    tree = _sample_tree()
    stream = b"".join(serialize_snapshot(tree, {0x1000001: 30000}))
    assert is_valid_snapshot_tail(len(stream), stream[-5:])
    loaded = DataTree()
    info = deserialize_snapshot(stream, loaded)
    assert info.sessions == {0x1000001: 30000}
    assert tree.last_processed_zxid_digest is not None
    zxid, digest = tree.last_processed_zxid_digest
    assert info.digest == ZxidDigest(zxid, 2, digest), "3.8 always writes the digest at the last zxid"
    assert {p: (n.data, n.stat) for p, n in loaded.nodes.items()} == {
        p: (n.data, n.stat) for p, n in tree.nodes.items()
    }
    assert loaded.get_ephemerals(0x1000001) == {"/e"}


def test_a_snapshot_with_a_digest_has_a_second_seal() -> None:
    """FileSnap.serialize: ZxidDigest after the first seal, then another seal."""
    stream = b"".join(serialize_snapshot(_sample_tree(), {}, digest=ZxidDigest(5, 2, 999)))
    info = deserialize_snapshot(stream, DataTree())
    assert info.digest == ZxidDigest(5, 2, 999)


@pytest.mark.parametrize("where", [40, -30, -10])
def test_a_flipped_byte_anywhere_fails_the_seal(where: int) -> None:
    stream = bytearray(b"".join(serialize_snapshot(_sample_tree(), {1: 2})))
    stream[where] ^= 0x01
    with pytest.raises(SnapshotError):
        deserialize_snapshot(bytes(stream), DataTree())


def test_a_snapshot_cut_short_is_not_even_a_candidate() -> None:
    """SnapStream.isValidCheckedStream: it must end in the seal's "/"."""
    stream = b"".join(serialize_snapshot(_sample_tree(), {}))
    assert not is_valid_snapshot_tail(len(stream) - 3, stream[:-3][-5:])
    assert not is_valid_snapshot_tail(9, stream[-5:])


def test_jute_reader_sees_the_snapshot_header_first() -> None:
    stream = b"".join(serialize_snapshot(DataTree(), {}))
    r = Reader(stream)
    assert (r.read_int(), r.read_int(), r.read_long()) == (SNAP_MAGIC, 2, -1)
