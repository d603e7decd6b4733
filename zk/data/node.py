"""DataNode: one znode's data, ACL index, persisted stat and child names.

A node stores a StatPersisted, which is a Stat without the two derived fields: a client's
Stat adds ``dataLength`` and ``numChildren``, and reports ``cversion`` differently::

    StatPersisted  czxid mzxid ctime mtime version cversion aversion ephemeralOwner pzxid
    Stat           czxid mzxid ctime mtime version cversion' aversion ephemeralOwner'
                   dataLength numChildren pzxid

    cversion'       = 2 * cversion - numChildren   (creates + deletes; see copy_stat)
    ephemeralOwner' = the session for an ephemeral, 0 for containers and TTL nodes

Mirrors: org.apache.zookeeper.server.DataNode and DataTree.createStat. A snapshot writes a
node as ``| data: buffer | acl: long | stat: StatPersisted |``, as Java's DataNode record.
"""

from __future__ import annotations

import dataclasses

from zk.data.ephemeral import client_ephemeral_owner
from zk.jute.records import Stat, StatPersisted

__all__ = ["DataNode", "create_stat"]


def create_stat(zxid: int, time: int, ephemeral_owner: int) -> StatPersisted:
    """The stat of a new node: created and modified now, every version 0.

    Mirrors: DataTree.createStat.
    """
    return StatPersisted(
        czxid=zxid, mzxid=zxid, ctime=time, mtime=time, version=0, cversion=0,
        aversion=0, ephemeralOwner=ephemeral_owner, pzxid=zxid,
    )  # fmt: skip


@dataclasses.dataclass(slots=True, eq=False)
class DataNode:
    """One znode: its data, its ACL (an index into the tree's ACL cache) and its stat.

    ``stat`` is a frozen jute StatPersisted, replaced whole on every change; ``data`` is
    None when the client created the node with a null buffer (zkCli's ``get`` then
    prints ``null``).

    Mirrors: org.apache.zookeeper.server.DataNode.
    """

    data: bytes | None
    acl: int
    stat: StatPersisted
    children: set[str] = dataclasses.field(default_factory=set)
    # This node's digest as the tree last counted it (DataNode's cached digest).
    digest: int = 0

    def copy_stat(self, extended_types_enabled: bool = False) -> Stat:
        """The Stat a client sees. Mirrors: DataNode.copyStat.

        The persisted cversion counts the children ever created (that is what Prep
        bumps, and what names sequential children); each missing child was one delete,
        so creates + deletes = ``2 * cversion - numChildren``. A fresh root, whose one
        child /zookeeper was never "created", thus shows cversion -1, as ZooKeeper's does.
        """
        s, n = self.stat, len(self.children)
        return Stat(
            czxid=s.czxid, mzxid=s.mzxid, ctime=s.ctime, mtime=s.mtime, version=s.version,
            cversion=s.cversion * 2 - n, aversion=s.aversion,
            ephemeralOwner=client_ephemeral_owner(s.ephemeralOwner, extended_types_enabled),
            dataLength=0 if self.data is None else len(self.data), numChildren=n, pzxid=s.pzxid,
        )  # fmt: skip
