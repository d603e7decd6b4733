"""ReferenceCountedACLCache: indexes, reference counts, purge, serialization."""

from __future__ import annotations

import pytest

from zk.data.acl import OPEN_ACL_UNSAFE, READ_ACL_UNSAFE
from zk.data.acl_cache import OPEN_UNSAFE_ACL_ID, ReferenceCountedACLCache
from zk.jute.codec import Reader, Writer
from zk.jute.records import ACL, Id

A = [ACL(perms=31, id=Id(scheme="digest", id="u:x"))]
B = [ACL(perms=1, id=Id(scheme="ip", id="10.0.0.1")), ACL(perms=31, id=Id(scheme="digest", id="u:x"))]


def test_null_acl_is_the_open_index() -> None:
    # ReferenceCountedACLCache.convertAcls(null) / convertLong(-1)
    cache = ReferenceCountedACLCache()
    assert cache.convert_acls(None) == OPEN_UNSAFE_ACL_ID
    assert cache.convert_long(OPEN_UNSAFE_ACL_ID) == OPEN_ACL_UNSAFE
    assert cache.convert_long(None) is None
    assert cache.size() == 0


def test_same_list_same_index_and_counts() -> None:
    # ReferenceCountedACLCache.convertAcls / addUsage / removeUsage
    cache = ReferenceCountedACLCache()
    a1, a2, b = cache.convert_acls(A), cache.convert_acls(list(A)), cache.convert_acls(B)
    assert a1 == a2 == 1 and b == 2
    assert cache.reference_counter == {1: 2, 2: 1}
    assert cache.convert_acls(list(reversed(B))) == 3  # order matters, as List.equals
    cache.remove_usage(1)
    assert cache.convert_long(1) == A
    cache.remove_usage(1)
    with pytest.raises(KeyError):
        cache.convert_long(1)
    assert cache.convert_acls(A) == 4  # indexes never come back
    cache.remove_usage(99)  # unknown: ignored, as Java does


def test_serialize_then_purge_unused() -> None:
    # serialize / deserialize (counts start at 0) / purgeUnused
    cache = ReferenceCountedACLCache()
    cache.convert_acls(A)
    cache.convert_acls(READ_ACL_UNSAFE)
    w = Writer()
    cache.serialize(w)
    loaded = ReferenceCountedACLCache()
    loaded.deserialize(Reader(w.getvalue()))
    assert loaded.long_key_map == cache.long_key_map and loaded.acl_index == 2
    loaded.add_usage(2)
    loaded.purge_unused()
    assert loaded.long_key_map == {2: READ_ACL_UNSAFE}
    assert loaded.convert_acls(B) == 3
