"""Znode paths: what a valid path is, and how a sequential node gets its name.

A path is absolute and slash-separated, like a file path, but stricter::

    /                       the root
    /app/locks/lock-0000000007
    ^ must start with '/'   no '//', no trailing '/', no '.' or '..' segments,
                            no NUL, no control or private-use characters

ZooKeeper checks each character as a Java ``char`` (a UTF-16 code unit). A character
outside the Basic Multilingual Plane is two surrogate code units in Java, and surrogates
are refused, so here every code point above U+FFFF is refused too.

Mirrors: org.apache.zookeeper.common.PathUtils, and the sequential suffix of
PrepRequestProcessor.pRequest2Txn (``String.format("%010d", parentCVersion)``).
"""

from __future__ import annotations

import re

from zk.protocol.errors import BadArgumentsException

__all__ = ["basename", "parent_of", "sequential_name", "validate_path"]


def _invalid_char(c: str) -> bool:
    o = ord(c)
    # The same ranges as PathUtils.validatePath; o > 0xFFFF stands for a surrogate pair.
    return 0x0000 < o <= 0x001F or 0x007F <= o <= 0x009F or 0xD800 <= o <= 0xF8FF or 0xFFF0 <= o <= 0xFFFF or o > 0xFFFF


# Anything _reason could object to inside a path: a refused character, an empty segment, a
# "." or ".." segment. A path without any of these is valid (given its first and last
# character), so the common case costs one regex scan instead of a loop in Python.
_SUSPECT = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\uf8ff\ufff0-\U0010ffff]|//|/\\.\\.?(?:/|$)")


def _reason(path: str) -> str | None:
    """Why ``path`` is not a valid znode path, or None if it is (PathUtils.validatePath)."""
    if len(path) > 1 and path[0] == "/" and path[-1] != "/" and _SUSPECT.search(path) is None:
        return None
    return _reason_char_by_char(path)


def _reason_char_by_char(path: str) -> str | None:
    """PathUtils.validatePath's walk, which also says where the path goes wrong."""
    if len(path) == 0:
        return "Path length must be > 0"
    if path[0] != "/":
        return "Path must start with / character"
    if len(path) == 1:
        return None
    if path[-1] == "/":
        return "Path must not end with / character"
    last = "/"
    n = len(path)
    for i in range(1, n):
        c = path[i]
        ends_segment = i + 1 == n or path[i + 1] == "/"
        if c == "\0":
            return f"null character not allowed @{i}"
        if c == "/" and last == "/":
            return f"empty node name specified @{i}"
        if c == "." and last == ".":
            if path[i - 2] == "/" and ends_segment:
                return f"relative paths not allowed @{i}"
        elif c == ".":
            if path[i - 1] == "/" and ends_segment:
                return f"relative paths not allowed @{i}"
        elif _invalid_char(c):
            return f"invalid character @{i}"
        last = c
    return None


def validate_path(path: str | None, is_sequential: bool = False) -> None:
    """Check a path from a client.

    Args:
        path: the path as the client sent it.
        is_sequential: the path is the prefix of a sequential node; it is checked with a
            digit appended, so ``/app/lock-`` and even ``/app/`` are fine.

    Raises:
        BadArgumentsException: the path is not valid (the client's fault). Prep turns
            PathUtils' IllegalArgumentException into this same error code.
    """
    if path is None:
        raise BadArgumentsException(None)
    reason = _reason(path + "1" if is_sequential else path)
    if reason is not None:
        error = BadArgumentsException(path)
        error.add_note(f'Invalid path string "{path}" caused by {reason}')
        raise error


def parent_of(path: str) -> str:
    """The parent's path: ``/a/b`` -> ``/a``, ``/a`` -> ``/``.

    ZooKeeper's tree keys the root as both ``""`` and ``"/"``; this returns ``"/"``,
    the name a client uses (and the name watches on the root are kept under).
    """
    parent = path[: path.rfind("/")]
    return parent or "/"


def basename(path: str) -> str:
    """The last segment: ``/a/b`` -> ``b``; the root's is ``""``."""
    return path[path.rfind("/") + 1 :]


def sequential_name(path: str, parent_cversion: int) -> str:
    """The name of a sequential node: the requested path plus the parent's counter.

    The counter is the parent's *persisted* cversion (the number of children ever
    created under it), zero-padded to ten digits as Java's ``%010d`` does. The counter
    is a signed 32-bit int, so after 2147483647 it wraps and the sign takes one of the
    ten places: ``-000000001``.

    Mirrors: PrepRequestProcessor.pRequest2Txn, case create.
    """
    return f"{path}{parent_cversion:010d}"
