"""Quotas: StatsTrack strings, the PathTrie, the limit check, and the tree's tracking.

Expected values come from Apache ZooKeeper 3.8.0's StatsTrack.java, PathTrie.java,
DataTree.java (updateQuotaStat, updateQuotaForPath, setupQuota) and
ZooKeeperServer.checkQuota; the interop tests (tests/interop/test_interop_quota.py)
check the same against a running 3.8.
"""

from __future__ import annotations

import logging

import pytest

from zk.data.acl import OPEN_ACL_UNSAFE
from zk.data.quotas import (
    PathTrie,
    QuotaExceeded,
    StatsTrack,
    check_limits,
    limit_path,
    stat_path,
    trim_quota_path,
)
from zk.data.tree import DataTree, ProcessTxnResult
from zk.jute.codec import Reader, Writer
from zk.jute.records import CreateTxn, DeleteTxn, SetDataTxn, TxnHeader
from zk.protocol.constants import OpCode

# What zkCli's `setquota -n 3 /q` writes (SetQuotaCommand: every field -1, then count).
SETQUOTA_N3 = b"count=3,bytes=-1=;byteHardLimit=-1;countHardLimit=-1"


# --- StatsTrack ------------------------------------------------------------------------


def test_stats_track_formats_count_and_bytes_first_then_the_rest_sorted() -> None:
    # StatsTrack.toString: the stray "=" keeps 3.4.3's parser reading bytes.
    q = StatsTrack()
    q.count, q.bytes, q.count_hard_limit, q.byte_hard_limit = 3, -1, -1, -1
    assert q.to_bytes() == SETQUOTA_N3
    s = StatsTrack()
    s.count, s.bytes = 0, 0
    assert str(s) == "count=0,bytes=0"  # SetQuotaCommand's first stats node data
    assert str(StatsTrack()) == "count=-1,bytes=-1"  # missing keys read as -1


def test_stats_track_parses_what_it_formats_and_both_separators() -> None:
    t = StatsTrack(SETQUOTA_N3)
    assert (t.count, t.bytes, t.count_hard_limit, t.byte_hard_limit) == (3, -1, -1, -1)
    assert StatsTrack(str(t)) == t
    t = StatsTrack("count=4;bytes=5,,countHardLimit=10")
    assert (t.count, t.bytes, t.count_hard_limit) == (4, 5, 10)
    assert StatsTrack("count==7").count == -1  # kv[1] empty: -1
    assert StatsTrack("count=+7=9").count == 7  # Long.parseLong("+7"); the rest ignored
    assert StatsTrack(",,;").stats == {}  # all empty pieces: no pairs
    assert StatsTrack(None).stats == StatsTrack(b"").stats == {}
    assert StatsTrack("mystery=1").get("mystery") == 1
    assert str(StatsTrack("zz=1,count=2,aa=3")) == "count=2,bytes=-1=;aa=3;zz=1"


@pytest.mark.parametrize("text", ["count", "count=", ",count=1", "count=x", "count= 1", "count=9223372036854775808"])
def test_stats_track_refuses_what_java_throws_on(text: str) -> None:
    # ArrayIndexOutOfBounds (no "=value", or a leading separator) or NumberFormatException
    with pytest.raises(ValueError):
        StatsTrack(text)


def test_quota_paths() -> None:
    assert limit_path("/q/a") == "/zookeeper/quota/q/a/zookeeper_limits"
    assert stat_path("/q") == "/zookeeper/quota/q/zookeeper_stats"
    assert trim_quota_path("/zookeeper/quota/q/a") == "/q/a"


# --- PathTrie --------------------------------------------------------------------------


def test_path_trie_finds_the_deepest_quota_above_a_path() -> None:
    trie = PathTrie()
    assert trie.find_max_prefix("/a/b") == "/"
    trie.add_path("/a")
    trie.add_path("/a/b/c")
    assert trie.find_max_prefix("/a") == "/a"
    assert trie.find_max_prefix("/a/b") == "/a"  # /a/b is in the trie but has no quota
    assert trie.find_max_prefix("/a/b/c/d") == "/a/b/c"
    assert trie.find_max_prefix("/ab") == "/"  # components, not string prefixes
    assert trie.find_max_prefix("//a// /b") == "/a"  # blank components are skipped
    assert trie.exists_node("/a/b") and not trie.exists_node("/x")


def test_path_trie_delete_keeps_the_nodes_below() -> None:
    trie = PathTrie()
    trie.add_path("/a")
    trie.add_path("/a/b")
    trie.delete_path("/a")
    assert trie.find_max_prefix("/a/b/x") == "/a/b"
    assert trie.find_max_prefix("/a/x") == "/"
    trie.delete_path("/a/b")
    assert not trie.exists_node("/a/b") and trie.exists_node("/a")  # a leaf goes, its parent stays
    trie.delete_path("/nothing")  # ignored
    with pytest.raises(ValueError):
        trie.add_path("")
    trie.add_path("/z")
    trie.clear()
    assert trie.find_max_prefix("/z") == "/"


# --- check_limits (ZooKeeperServer.checkQuota) -------------------------------------------


def _limits(**kv: int) -> StatsTrack:
    return StatsTrack(",".join(f"{k}={v}" for k, v in kv.items()))


def test_check_limits_soft_is_a_warning_and_hard_a_failure() -> None:
    now = _limits(count=3, bytes=10)
    soft = check_limits("/q", _limits(count=3), now, 0, 1)
    assert soft == [QuotaExceeded("Quota exceeded: /q [current count=4, softCountLimit=3]", hard=False)]
    hard = check_limits("/q", _limits(countHardLimit=3), now, 0, 1)
    assert hard == [QuotaExceeded("Quota exceeded: /q [current count=4, hardCountLimit=3]", hard=True)]
    assert check_limits("/q", _limits(count=4), now, 0, 1) == []  # equal to the limit is fine
    # the hard limit replaces the soft one of its dimension
    assert check_limits("/q", _limits(count=1, countHardLimit=9), now, 0, 1) == []


def test_check_limits_looks_only_at_what_the_write_changes_and_stops_at_hard() -> None:
    now = _limits(count=5, bytes=20)
    assert check_limits("/q", _limits(count=1, bytes=1), now, 0, 0) == []
    both = check_limits("/q", _limits(count=1, byteHardLimit=1), now, 3, 1)
    assert [(p.message, p.hard) for p in both] == [
        ("Quota exceeded: /q [current count=6, softCountLimit=1]", False),
        ("Quota exceeded: /q [current bytes=23, hardByteLimit=1]", True),
    ]
    first_hard = check_limits("/q", _limits(countHardLimit=1, byteHardLimit=1), now, 3, 1)
    assert [p.hard for p in first_hard] == [True]  # Java throws before the bytes check
    # a write that shrinks but stays over a hard limit still fails, as in Java
    assert check_limits("/q", _limits(byteHardLimit=10), now, -2, 0)[0].hard


# --- the tree keeps the stats -------------------------------------------------------------


class Log:
    def __init__(self, tree: DataTree | None = None) -> None:
        self.tree = tree or DataTree()
        self.zxid = 0

    def apply(self, op: OpCode, txn: object) -> ProcessTxnResult:
        self.zxid += 1
        header = TxnHeader(clientId=1, cxid=self.zxid, zxid=self.zxid, time=1000 * self.zxid, type=op)
        return self.tree.process_txn(header, txn)  # type: ignore[arg-type]

    def create(self, path: str, data: bytes | None = b"") -> ProcessTxnResult:
        parent = self.tree.get_node(path[: path.rfind("/")])
        assert parent is not None, path
        return self.apply(OpCode.create, CreateTxn(path, data, OPEN_ACL_UNSAFE, False, parent.stat.cversion + 1))

    def set(self, path: str, data: bytes | None) -> ProcessTxnResult:
        node = self.tree.get_node(path)
        assert node is not None
        return self.apply(OpCode.setData, SetDataTxn(path, data, node.stat.version + 1))

    def delete(self, path: str) -> ProcessTxnResult:
        return self.apply(OpCode.delete, DeleteTxn(path))

    def set_quota(self, path: str, limits: bytes = SETQUOTA_N3) -> None:
        """What zkCli's setquota sends: the parents, the limits, then the stats."""
        parts = path.strip("/").split("/")
        for i in range(len(parts)):
            p = "/zookeeper/quota/" + "/".join(parts[: i + 1])
            if self.tree.get_node(p) is None:
                self.create(p, None)
        self.create(limit_path(path), limits)
        self.create(stat_path(path), b"count=0,bytes=0")

    def stats(self, path: str) -> bytes | None:
        node = self.tree.get_node(stat_path(path))
        assert node is not None
        return node.data


def test_the_stats_node_counts_the_subtree_from_the_moment_it_is_created() -> None:
    log = Log()
    log.create("/q", b"abc")
    log.create("/q/a", b"hello")
    log.set_quota("/q")
    assert log.stats("/q") == b"count=2,bytes=8"  # updateQuotaForPath, over the client's data
    log.create("/q/b")
    log.create("/q/a/x", b"1")
    assert log.stats("/q") == b"count=4,bytes=9"
    log.set("/q/a", b"hi")
    assert log.stats("/q") == b"count=4,bytes=6"
    log.set("/q/a", None)
    assert log.stats("/q") == b"count=4,bytes=4"
    log.delete("/q/a/x")
    log.delete("/q/b")
    assert log.stats("/q") == b"count=2,bytes=3"
    log.create("/other")  # outside the quota
    assert log.stats("/q") == b"count=2,bytes=3"


def test_stats_writes_are_not_transactions() -> None:
    # The stats node keeps the Stat of its create; only its data (and dataLength) moves.
    log = Log()
    log.create("/q")
    log.set_quota("/q")
    before = log.tree.stat_node(stat_path("/q"))
    log.create("/q/a", b"0123456789")
    after = log.tree.stat_node(stat_path("/q"))
    assert (after.mzxid, after.version, after.mtime) == (before.mzxid, before.version, before.mtime)
    assert after.dataLength == len(b"count=2,bytes=10")


def test_the_digest_does_not_see_quotas() -> None:
    # DigestCalculator leaves /zookeeper/ out, so a quota changes no tree digest.
    plain, quota = Log(), Log()
    quota.create("/q")
    quota.set_quota("/q")
    plain.create("/q")
    for log in (plain, quota):
        log.zxid = 100
        log.create("/q/a", b"x")
        log.set("/q/a", b"xyz")
    assert quota.stats("/q") == b"count=2,bytes=3"
    assert plain.tree.tree_digest == quota.tree.tree_digest


def test_the_deepest_quota_counts_and_deleting_limits_ends_a_quota() -> None:
    log = Log()
    log.create("/a")
    log.create("/a/b")
    log.set_quota("/a")
    log.set_quota("/a/b")
    log.create("/a/b/c", b"12")
    assert log.stats("/a/b") == b"count=2,bytes=2"
    assert log.stats("/a") == b"count=2,bytes=0", "only the deepest quota counts a write"
    log.delete(limit_path("/a/b"))
    log.create("/a/b/d")
    assert log.stats("/a") == b"count=3,bytes=0"
    assert log.stats("/a/b") == b"count=2,bytes=2"


def test_a_missing_or_unreadable_stats_node_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    log = Log()
    log.create("/q")
    log.create("/zookeeper/quota/q", None)
    log.create(limit_path("/q"), SETQUOTA_N3)
    with caplog.at_level(logging.ERROR, logger="zk.data.tree"):
        log.create("/q/a")  # no stats node yet
        assert "Missing node for stat /zookeeper/quota/q/zookeeper_stats" in caplog.text
        log.create(stat_path("/q"), None)
        assert log.stats("/q") == b"count=2,bytes=0"
        log.set(stat_path("/q"), b"garbage")  # a client may write anything there
        log.create("/q/b")  # Java's NumberFormatException would stop the server
        assert log.stats("/q") == b"garbage"
        assert "does not parse" in caplog.text


def test_a_loaded_snapshot_recounts_every_quota() -> None:
    # DataTree.deserialize -> setupQuota: the stats are recounted, the trie rebuilt.
    log = Log()
    log.create("/q", b"abc")
    log.set_quota("/q")
    log.create("/q/a", b"1")
    log.set(stat_path("/q"), b"count=99,bytes=99")  # as a fuzzy snapshot might hold it
    w = Writer()
    log.tree.serialize(w)
    loaded = Log(DataTree())
    loaded.tree.deserialize(Reader(w.getvalue()))
    loaded.zxid = log.zxid
    assert loaded.stats("/q") == b"count=2,bytes=4"
    loaded.create("/q/b", b"22")
    assert loaded.stats("/q") == b"count=3,bytes=6"
    log.create("/q/b", b"22")
    assert loaded.tree.tree_digest == log.tree.tree_digest


def test_approximate_data_size_misses_the_trees_own_stats_writes() -> None:
    # Java's nodeDataSize counts the stats node at its create and never sees the tree's
    # rewrites; a loaded snapshot starts again from the true size.
    log = Log()
    log.create("/q")
    log.set_quota("/q")  # "count=0,bytes=0" (15 bytes) becomes "count=1,bytes=0"
    true_size = sum(len(p) + len(n.data or b"") for p, n in log.tree.nodes.items())
    assert log.tree.approximate_data_size() == true_size
    log.create("/q/a", b"0123456789")  # stats: "count=2,bytes=10", one byte more
    true_size = sum(len(p) + len(n.data or b"") for p, n in log.tree.nodes.items())
    assert log.tree.approximate_data_size() == true_size - 1
    w = Writer()
    log.tree.serialize(w)
    loaded = DataTree()
    loaded.deserialize(Reader(w.getvalue()))
    assert loaded.approximate_data_size() == true_size
