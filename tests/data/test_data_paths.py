"""Path rules (PathUtils.validatePath) and sequential names (PrepRequestProcessor)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zk.data.paths import basename, parent_of, sequential_name, validate_path
from zk.protocol.errors import BadArgumentsException, Code

VALID = ["/", "/a", "/a/b", "/zookeeper/quota", "/a.b", "/...", "/a/..b", "/a/b..", "/ü/ñ", "/a b"]
INVALID = [
    "",
    "a",
    "a/b",
    "/a/",
    "//",
    "/a//b",
    "/.",
    "/..",
    "/a/./b",
    "/a/../b",
    "/a/.",
    "/a\0b",
    "/a\x01",
    "/a\x7f",
    "/a\x9f",
    "/a\ud800",
    "/a\ue000",  # private use area
    "/a\ufff0",
    "/a\U0001f600",  # a surrogate pair in Java's UTF-16
]


@pytest.mark.parametrize("path", VALID)
def test_valid_paths(path: str) -> None:
    # PathUtils.validatePath
    validate_path(path)


@pytest.mark.parametrize("path", INVALID)
def test_invalid_paths(path: str) -> None:
    # PathUtils.validatePath
    with pytest.raises(BadArgumentsException) as info:
        validate_path(path)
    assert info.value.code == Code.BADARGUMENTS


def test_none_is_bad_arguments() -> None:
    with pytest.raises(BadArgumentsException):
        validate_path(None)


def test_sequential_prefix_is_checked_with_a_digit_appended() -> None:
    # PathUtils.validatePath(String, boolean): path + "1"
    validate_path("/app/", is_sequential=True)
    validate_path("/app/lock-", is_sequential=True)
    with pytest.raises(BadArgumentsException):
        validate_path("/app/", is_sequential=False)
    with pytest.raises(BadArgumentsException):
        validate_path("/app//", is_sequential=True)


@given(st.text())
def test_random_strings_only_raise_bad_arguments(path: str) -> None:
    try:
        validate_path(path)
    except BadArgumentsException:
        return
    # Accepted: then it is absolute, and no segment is empty, "." or "..".
    assert path.startswith("/")
    assert path == "/" or all(seg not in ("", ".", "..") for seg in path[1:].split("/"))


@given(st.lists(st.text(alphabet="abc.\0/", min_size=1), max_size=4))
def test_random_segments_only_raise_bad_arguments(segments: list[str]) -> None:
    for seq in (False, True):
        with contextlib.suppress(BadArgumentsException):
            validate_path("/" + "/".join(segments), seq)


def test_parent_and_basename() -> None:
    assert parent_of("/a/b") == "/a"
    assert parent_of("/a") == "/"
    assert basename("/a/b") == "b"
    assert basename("/") == ""


def test_sequential_name_is_ten_digits() -> None:
    # PrepRequestProcessor.pRequest2Txn: String.format("%010d", parentCVersion)
    assert sequential_name("/app/lock-", 0) == "/app/lock-0000000000"
    assert sequential_name("/app/lock-", 42) == "/app/lock-0000000042"
    assert sequential_name("/app/", 2147483647) == "/app/2147483647"
    # After the int wraps, Java's %010d puts the sign inside the ten places.
    assert sequential_name("/app/", -2147483648) == "/app/-2147483648"
    assert sequential_name("/app/", -1) == "/app/-000000001"


@given(st.text(alphabet=st.sampled_from(["/", ".", "a", "\x00", "\x01", "\x7f", "\ud800", "\ufff5", "\U00010000", "é"]),
               max_size=12))  # fmt: skip
def test_the_fast_path_agrees_with_the_char_by_char_walk(path: str) -> None:
    from zk.data.paths import _reason, _reason_char_by_char

    assert _reason(path) == _reason_char_by_char(path)
