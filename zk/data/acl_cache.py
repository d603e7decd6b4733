"""ReferenceCountedACLCache: each distinct ACL list stored once, named by a long.

Most nodes of a tree share a handful of ACL lists. So a DataNode keeps only a long index
into this cache, and a snapshot writes the cache once, then each node with its index::

    snapshot = | map: int | (index: long, acls: vector<ACL>) * map | nodes ... |

Index -1 is the open ACL (world:anyone:cdrwa), never stored. Every node holding an index
counts as one usage; when the count drops to zero the list is forgotten. Indexes only
grow, so a list that comes back gets a new index.

Mirrors: org.apache.zookeeper.server.ReferenceCountedACLCache.
"""

from __future__ import annotations

from zk.data.acl import OPEN_ACL_UNSAFE
from zk.jute.codec import Reader, Writer
from zk.jute.records import ACL

__all__ = ["OPEN_UNSAFE_ACL_ID", "ReferenceCountedACLCache"]

OPEN_UNSAFE_ACL_ID = -1


class ReferenceCountedACLCache:
    """ACL list <-> long index, with a reference count per index.

    Mirrors: org.apache.zookeeper.server.ReferenceCountedACLCache.
    """

    def __init__(self) -> None:
        self.long_key_map: dict[int, list[ACL]] = {}
        self.acl_key_map: dict[tuple[ACL, ...], int] = {}
        self.reference_counter: dict[int, int] = {}
        self.acl_index = 0

    def convert_acls(self, acls: list[ACL] | None) -> int:
        """The index of an ACL list, adding the list if new; counts one usage."""
        if acls is None:
            return OPEN_UNSAFE_ACL_ID
        key = tuple(acls)  # order matters: Java compares the lists element by element
        index = self.acl_key_map.get(key)
        if index is None:
            self.acl_index += 1
            index = self.acl_index
            self.long_key_map[index] = list(acls)
            self.acl_key_map[key] = index
        self.add_usage(index)
        return index

    def convert_long(self, index: int | None) -> list[ACL] | None:
        """The ACL list of an index.

        Raises:
            KeyError: the index is unknown: the tree and the cache disagree (our bug, or
                a damaged snapshot).
        """
        if index is None:
            return None
        if index == OPEN_UNSAFE_ACL_ID:
            return list(OPEN_ACL_UNSAFE)
        acls = self.long_key_map.get(index)
        if acls is None:
            raise KeyError(f"Failed to fetch acls for {index}")
        return list(acls)

    def add_usage(self, index: int, count: int = 1) -> None:
        """``count`` more nodes hold ``index``. Unknown indexes are ignored, as in Java."""
        if index == OPEN_UNSAFE_ACL_ID or index not in self.long_key_map:
            return
        self.reference_counter[index] = self.reference_counter.get(index, 0) + count

    def remove_usage(self, index: int) -> None:
        """One node less holds ``index``; the list goes when none does."""
        if index == OPEN_UNSAFE_ACL_ID or index not in self.long_key_map:
            return
        count = self.reference_counter.get(index, 0) - 1
        if count <= 0:
            self._forget(index)
        else:
            self.reference_counter[index] = count

    def purge_unused(self) -> None:
        """Forget every list no node holds (after loading a snapshot)."""
        for index in [i for i in self.long_key_map if self.reference_counter.get(i, 0) <= 0]:
            self._forget(index)

    def _forget(self, index: int) -> None:
        self.reference_counter.pop(index, None)
        acls = self.long_key_map.pop(index)
        self.acl_key_map.pop(tuple(acls), None)

    def size(self) -> int:
        """How many distinct lists are stored."""
        return len(self.acl_key_map)

    def serialize(self, w: Writer) -> None:
        """Write the map as a snapshot holds it (in index order; Java's is hash order)."""
        w.write_int(len(self.long_key_map))
        for index in sorted(self.long_key_map):
            w.write_long(index)
            acls = self.long_key_map[index]
            w.write_int(len(acls))
            for acl in acls:
                acl.encode(w)

    def deserialize(self, r: Reader) -> None:
        """Replace the cache with a snapshot's map; every count starts at zero."""
        self.long_key_map.clear()
        self.acl_key_map.clear()
        self.reference_counter.clear()
        for _ in range(r.read_int()):
            index = r.read_long()
            count = r.read_vector_length()
            if count < 0:
                raise ValueError("Incorrent format of InputArchive when deserialize DataTree - missing acls")
            acls = [ACL.decode(r) for _ in range(count)]
            self.acl_index = max(self.acl_index, index)
            self.long_key_map[index] = acls
            self.acl_key_map[tuple(acls)] = index
            self.reference_counter[index] = 0
