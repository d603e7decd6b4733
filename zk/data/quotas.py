"""Quotas: the limit and stat nodes, their StatsTrack strings, and the trie of quota paths.

A quota on ``/app`` is two nodes a client creates (zkCli's ``setquota`` does it)::

    /zookeeper/quota/app/zookeeper_limits   count=3,bytes=-1=;byteHardLimit=-1;countHardLimit=-1
    /zookeeper/quota/app/zookeeper_stats    count=1,bytes=5      <- written by the server

The limits are the client's; the stats are the server's: the number of nodes in the
subtree of ``/app`` (``/app`` itself included) and the bytes of their data. The tree keeps
the quota'd paths in a :class:`PathTrie`, so that a write finds the deepest quota above it
(``findMaxPrefix``), and updates that quota's stat node as nodes come, go and change.

Both node datas are StatsTrack strings: ``key=long`` pairs separated by ``,`` or ``;``.
Count and bytes always come first, separated by ``,``, and newer keys (the hard limits,
3.7+) follow sorted after a stray ``=`` and ``;`` separators, so that the parser of 3.4.3
and older, which splits on ``,`` and then on ``=``, still reads ``bytes`` and skips the
rest::

    count=<n>,bytes=<n>[=;<key>=<n>;<key>=<n>...]      a missing key reads as -1

The soft limits (``count``, ``bytes``) are only logged when passed, and only with
``zookeeper.enforceQuota=true``; the hard limits (``countHardLimit``, ``byteHardLimit``)
make that write fail with QUOTAEXCEEDED. :func:`check_limits` is that decision; Prep
(chapter 8) asks it before a create or a setData becomes a transaction.

Mirrors: org.apache.zookeeper.Quotas, StatsTrack, org.apache.zookeeper.common.PathTrie,
and the decision of ZooKeeperServer.checkQuota.
"""

from __future__ import annotations

import builtins
import dataclasses
import re

__all__ = [
    "LIMIT_NODE",
    "QUOTA_ZOOKEEPER",
    "STAT_NODE",
    "PathTrie",
    "QuotaExceeded",
    "StatsTrack",
    "check_limits",
    "limit_path",
    "quota_path",
    "stat_path",
    "trim_quota_path",
]

QUOTA_ZOOKEEPER = "/zookeeper/quota"  # Quotas.quotaZookeeper
LIMIT_NODE = "zookeeper_limits"  # Quotas.limitNode
STAT_NODE = "zookeeper_stats"  # Quotas.statNode

_LONG_MIN, _LONG_MAX = -(1 << 63), (1 << 63) - 1
_LONG = re.compile(r"[+-]?[0-9]+")  # what Long.parseLong accepts (ASCII digits only here)
_PAIRS_SEPARATOR = re.compile(r"[,;]+")


def quota_path(path: str) -> str:
    """``/zookeeper/quota`` + path. Mirrors: Quotas.quotaPath."""
    return QUOTA_ZOOKEEPER + path


def limit_path(path: str) -> str:
    """The limits node of a quota'd path. Mirrors: Quotas.limitPath."""
    return f"{QUOTA_ZOOKEEPER}{path}/{LIMIT_NODE}"


def stat_path(path: str) -> str:
    """The stats node of a quota'd path. Mirrors: Quotas.statPath."""
    return f"{QUOTA_ZOOKEEPER}{path}/{STAT_NODE}"


def trim_quota_path(path: str) -> str:
    """The real path of a path under ``/zookeeper/quota``: the prefix cut off by length,
    as Java's ``substring`` does, without checking it is there. Mirrors:
    Quotas.trimQuotaPath."""
    return path[len(QUOTA_ZOOKEEPER) :]


def _java_split(text: str, sep: str | re.Pattern[str]) -> list[str]:
    """``String.split``: trailing empty strings dropped (all of them, if all are empty)."""
    parts = sep.split(text) if isinstance(sep, re.Pattern) else text.split(sep)
    while parts and parts[-1] == "":
        parts.pop()
    return parts


def _parse_long(text: str) -> int:
    if _LONG.fullmatch(text) is None or not _LONG_MIN <= int(text) <= _LONG_MAX:
        raise ValueError(f"For input string: {text!r}")  # NumberFormatException
    return int(text)


class _Key:
    """One key of a StatsTrack as an int attribute: -1 while the key is absent."""

    def __init__(self, key: str) -> None:
        self.key = key

    def __get__(self, track: StatsTrack, owner: type | None = None) -> int:
        return track.get(self.key)

    def __set__(self, track: StatsTrack, value: int) -> None:
        track.stats[self.key] = value


class StatsTrack:
    """The ``key=long`` pairs of a limits or stats node.

    Args:
        stat: the node's data; None or empty gives no pairs.

    Raises:
        ValueError: a pair without ``=``, or a value that is not a long (Java throws
            ArrayIndexOutOfBounds or NumberFormatException there).

    Mirrors: org.apache.zookeeper.StatsTrack.
    """

    __slots__ = ("stats",)

    def __init__(self, stat: str | bytes | None = None) -> None:
        if isinstance(stat, bytes):
            stat = stat.decode("utf-8", errors="replace")
        self.stats: dict[str, int] = {}
        for pair in _java_split(stat or "", _PAIRS_SEPARATOR):
            kv = _java_split(pair, "=")
            if len(kv) < 2:
                raise ValueError(f"not a key=value pair: {pair!r}")
            self.stats[kv[0]] = -1 if kv[1] == "" else _parse_long(kv[1])

    def get(self, key: str) -> int:
        """The value of ``key``, -1 if it is not there."""
        return self.stats.get(key, -1)

    count = _Key("count")
    bytes = _Key("bytes")
    count_hard_limit = _Key("countHardLimit")
    byte_hard_limit = _Key("byteHardLimit")

    def __str__(self) -> str:
        """``count=..,bytes=..`` then, if there are other keys, ``=`` and ``;key=value``
        for each, sorted (StatsTrack.toString)."""
        text = f"count={self.count},bytes={self.bytes}"
        others = sorted(k for k in self.stats if k not in ("count", "bytes"))
        if others:
            text += "=" + "".join(f";{k}={self.stats[k]}" for k in others)
        return text

    def to_bytes(self) -> builtins.bytes:  # `bytes` here is the property
        """Mirrors: StatsTrack.getStatsBytes."""
        return str(self).encode("utf-8")

    def __repr__(self) -> str:
        return f"StatsTrack({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StatsTrack) and self.stats == other.stats

    __hash__ = None  # type: ignore[assignment]  # mutable, like Java's (whose hashCode we skip)


@dataclasses.dataclass(frozen=True, slots=True)
class QuotaExceeded:
    """One limit a write would pass: the warning to log and whether it is hard (the
    write fails with QUOTAEXCEEDED) or soft (it is only logged)."""

    message: str
    hard: bool


def check_limits(prefix: str, limits: StatsTrack, current: StatsTrack, bytes_diff: int,
                 count_diff: int) -> list[QuotaExceeded]:  # fmt: skip
    """The limits a write passes, count first, ending at the first hard one.

    A limit counts only if the write changes its dimension (``count_diff``/``bytes_diff``
    not 0). A hard limit, when set (> -1), replaces the soft one of its dimension; the new
    value must not be *more* than the limit (``count=3`` allows three nodes).

    Mirrors: the second half of ZooKeeperServer.checkQuota(lastPrefix, bytesDiff,
    countDiff, namespace).
    """
    passed: list[QuotaExceeded] = []
    dims = (
        ("count", count_diff, current.count, limits.count, limits.count_hard_limit, "Count"),
        ("bytes", bytes_diff, current.bytes, limits.bytes, limits.byte_hard_limit, "Byte"),
    )
    for name, diff, now, soft, hard, label in dims:
        if diff == 0 or (soft <= -1 and hard <= -1):
            continue
        is_hard = hard > -1
        limit = hard if is_hard else soft
        new = now + diff
        if new > limit:
            kind = "hard" if is_hard else "soft"
            message = f"Quota exceeded: {prefix} [current {name}={new}, {kind}{label}Limit={limit}]"
            passed.append(QuotaExceeded(message, is_hard))
            if is_hard:
                break
    return passed


_TRIMMED = "".join(map(chr, range(33)))  # what Java's String.trim() removes: chars <= ' '


def _components(path: str) -> list[str]:
    # path.split("/") without the parts that Java's trim() leaves empty
    return [p for p in path.split("/") if p.strip(_TRIMMED)]


class _TrieNode:
    __slots__ = ("children", "parent", "prop", "value")

    def __init__(self, parent: _TrieNode | None, value: str) -> None:
        self.parent = parent
        self.value = value
        self.prop = False  # a quota is set on this path
        self.children: dict[str, _TrieNode] = {}


class PathTrie:
    """The paths that have a quota, as a trie of their components.

    ``find_max_prefix("/a/b/c")`` is the deepest quota'd path above or at ``/a/b/c``, or
    ``"/"`` if there is none; this is how a write finds the quota it counts against.

    Mirrors: org.apache.zookeeper.common.PathTrie (without its lock: one thread applies).
    """

    __slots__ = ("_root",)

    def __init__(self) -> None:
        self._root = _TrieNode(None, "/")

    def add_path(self, path: str) -> None:
        """Mark ``path`` as quota'd. Raises ValueError for an empty path."""
        node = self._find(path, create=True)
        assert node is not None, "created on the way"
        node.prop = True

    def delete_path(self, path: str) -> None:
        """Unmark ``path``; its trie node goes if it has no children. Raises ValueError
        for an empty path; an unknown path is ignored."""
        node = self._find(path)
        if node is None:
            return
        parent = node.parent
        if parent is None:  # "/" itself: Java would dereference a null parent
            return
        node.prop = False
        if not node.children:
            del parent.children[node.value]
            node.parent = None

    def exists_node(self, path: str) -> bool:
        """Whether ``path`` is in the trie, quota'd or not. Mirrors: existsNode."""
        return self._find(path) is not None

    def _find(self, path: str, *, create: bool = False) -> _TrieNode | None:
        """The trie node of ``path``: None if it has none, or made (with those above
        it) if `create`. Raises ValueError for an empty path."""
        if not path:
            raise ValueError(f"Invalid path: {path}")
        node = self._root
        for part in _components(path):
            child = node.children.get(part)
            if child is None:
                if not create:
                    return None
                child = node.children[part] = _TrieNode(node, part)
            node = child
        return node

    def find_max_prefix(self, path: str) -> str:
        """The deepest quota'd path that is ``path`` or above it; ``"/"`` if none."""
        if not self._root.children:  # no quota anywhere: every write asks, so answer at once
            return "/"
        node: _TrieNode | None = self._root
        deepest: _TrieNode | None = None
        for part in _components(path):
            assert node is not None
            node = node.children.get(part)
            if node is None:
                break
            if node.prop:
                deepest = node
        if deepest is None:
            return "/"
        parts: list[str] = []
        while deepest is not self._root:
            assert deepest is not None
            parts.append(deepest.value)
            deepest = deepest.parent
        return "/" + "/".join(reversed(parts))

    def clear(self) -> None:
        self._root.children.clear()
