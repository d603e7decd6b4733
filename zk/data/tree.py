"""The DataTree: every znode in memory, and how a transaction changes it.

The tree is a flat map from path to DataNode; each node also keeps the names of its
children. The root is there twice, as ``""`` and ``"/"`` (so that ``/a``'s parent,
``path[:path.rfind('/')]``, is always a key), and a new tree holds ``/zookeeper``,
``/zookeeper/quota`` and ``/zookeeper/config`` (whose ACL, world:anyone:r, keeps
clients from writing the ensemble's membership by hand; ZOOKEEPER-2014)::

    nodes = { "": root, "/": root, "/zookeeper": ..., "/zookeeper/quota": ...,
              "/zookeeper/config": ..., "/app": ..., "/app/lock-0000000003": ... }

Writes arrive only as transactions, already checked and numbered by the leader's
PrepRequestProcessor, and ``process_txn`` applies them in zxid order. Applying one is a
pure function of the tree and the txn, which is what lets every server of an ensemble,
and a restarting server replaying its log, end up with the same tree. It is also
idempotent the way ZooKeeper's is: a create of a node that exists answers NODEEXISTS, a
delete of a missing node NONODE, with no exception, because a fuzzy snapshot may already
hold some of the transactions that follow it.

Versions are compare-and-set counters: ``version`` counts setData, ``aversion`` setACL,
``cversion`` the children ever created (a client sees creates plus deletes; see
:mod:`zk.data.node`). Prep checks a request's expected version against them and writes
the new value into the txn; the tree only stores what the txn says.

Watches: Java's tree calls its watch managers directly. zk.watch comes after zk.data in
this book, so instead each result lists the watches it must trigger (``watch_events``),
in Java's order, and the processors fire them.

Quotas: a client sets one by creating ``/zookeeper/quota/<path>/zookeeper_limits`` and
``.../zookeeper_stats`` (see :mod:`zk.data.quotas`). The tree keeps the quota'd paths in
a PathTrie and, as nodes are created, deleted and written under them, rewrites the stats
node's data in place: not a transaction, so its Stat (mzxid, version) never moves, and
not part of the digest, which leaves out all of ``/zookeeper/``. A snapshot's tree
recounts every quota when it is loaded (``setupQuota``). Enforcement is Prep's.

Mirrors: org.apache.zookeeper.server.DataTree. We differ where noted: children and
ephemerals listed sorted rather than in hash order, a damaged multi is refused whole
before it changes anything (Java applies its sub-txns until the bad one and logs the
rest away), and quota stats that do not parse are logged and left alone (Java's
exception stops the server).
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import logging
from typing import NamedTuple

from zk.data.acl import READ_ACL_UNSAFE
from zk.data.acl_cache import OPEN_UNSAFE_ACL_ID, ReferenceCountedACLCache
from zk.data.digest import DIGEST_VERSION, NodeHashMap
from zk.data.ephemeral import CONTAINER_EPHEMERAL_OWNER, EphemeralType
from zk.data.node import DataNode, create_stat
from zk.data.quotas import LIMIT_NODE, QUOTA_ZOOKEEPER, STAT_NODE, PathTrie, StatsTrack, stat_path, trim_quota_path
from zk.data.snapshot_nodes import decode_nodes
from zk.jute.codec import Reader, Record, Writer
from zk.jute.records import (
    ACL,
    CheckVersionTxn,
    CloseSessionTxn,
    CreateContainerTxn,
    CreateTTLTxn,
    CreateTxn,
    DeleteTxn,
    ErrorTxn,
    MultiTxn,
    SetACLTxn,
    SetDataTxn,
    Stat,
    StatPersisted,
    TxnDigest,
    TxnHeader,
)
from zk.protocol.constants import EventType, OpCode, op_name
from zk.protocol.errors import Code, KeeperException, NodeExistsException, NoNodeException
from zk.trace.tracer import NULL_TRACER, Tracer

log = logging.getLogger(__name__)

DIGEST_LOG_INTERVAL = 128  # DataTree.DIGEST_LOG_INTERVAL
DIGEST_LOG_LIMIT = 1024  # DataTree.DIGEST_LOG_LIMIT

__all__ = [
    "CONFIG_NODE",
    "PROC_ZOOKEEPER",
    "QUOTA_ZOOKEEPER",
    "DataTree",
    "ProcessTxnResult",
    "WatchTrigger",
]

PROC_ZOOKEEPER = "/zookeeper"
CONFIG_NODE = "/zookeeper/config"

_EMPTY_STAT = StatPersisted(0, 0, 0, 0, 0, 0, 0, 0, 0)

# The record inside each Txn of a MultiTxn, by the Txn's type (DataTree.processTxn).
_SUB_TXN_RECORDS: dict[int, type[Record]] = {
    OpCode.create: CreateTxn,
    OpCode.create2: CreateTxn,
    OpCode.createTTL: CreateTTLTxn,
    OpCode.createContainer: CreateContainerTxn,
    OpCode.delete: DeleteTxn,
    OpCode.deleteContainer: DeleteTxn,
    OpCode.setData: SetDataTxn,
    OpCode.error: ErrorTxn,
    OpCode.check: CheckVersionTxn,
}


class WatchTrigger(NamedTuple):
    """A watch the processors must trigger: ``triggerWatch(path, type, acl)``.

    ``acl`` is the ACL of the node the event is about; since ZooKeeper 3.8.4
    (ZOOKEEPER-4799) a connection only receives the event if that ACL lets it READ.
    NodeDeleted fires the data watches and then the child watches of ``path``, a
    watcher in both getting it once.
    """

    path: str
    type: EventType
    acl: list[ACL] | None


@dataclasses.dataclass(slots=True, eq=False)
class ProcessTxnResult:
    """What applying one txn did. ``watch_events`` of the top-level result holds every
    trigger of the txn, those of a multi's sub-txns included; a sub-result's list stays
    empty. Mirrors: DataTree.ProcessTxnResult."""

    client_id: int
    cxid: int
    zxid: int
    type: int
    err: Code = Code.OK
    path: str | None = None
    stat: Stat | None = None
    multi_result: list[ProcessTxnResult] | None = None
    watch_events: list[WatchTrigger] = dataclasses.field(default_factory=list)


def _node_size(path: str, data: bytes | None) -> int:
    # Java counts the path in UTF-16 chars (DataTree.getNodeSize).
    return len(path.encode("utf-16-le")) // 2 + (0 if data is None else len(data))


class DataTree:
    """The znodes of one server.

    Args:
        extended_types_enabled: ``zookeeper.extendedTypesEnabled`` (TTL nodes); must
            match what Prep allows.
        tracer: receives ``data.*`` events.

    Mirrors: org.apache.zookeeper.server.DataTree.
    """

    def __init__(self, *, extended_types_enabled: bool = False, tracer: Tracer = NULL_TRACER) -> None:
        self.extended_types_enabled = extended_types_enabled
        self.tracer = tracer
        self.nodes = NodeHashMap()
        self.acl_cache = ReferenceCountedACLCache()
        self.last_processed_zxid = 0
        # The digest at the last zxid applied, which the next snapshot records
        # (DataTree.lastProcessedZxidDigest); None until a txn is applied.
        self.last_processed_zxid_digest: tuple[int, int] | None = None
        # A loaded snapshot's (zxid, digest): checked when replay reaches that zxid, the
        # first moment a fuzzy snapshot's tree is whole (digestFromLoadedSnapshot).
        self.digest_from_loaded_snapshot: tuple[int, int] | None = None
        self.digest_mismatches = 0
        # every DIGEST_LOG_INTERVAL-th zxid's digest, the newest DIGEST_LOG_LIMIT (`hash`)
        self.digest_log: collections.deque[tuple[int, int]] = collections.deque(maxlen=DIGEST_LOG_LIMIT)
        self._ephemerals: dict[int, set[str]] = {}
        self._containers: set[str] = set()
        self._ttls: set[str] = set()
        # The paths with a quota (a zookeeper_limits node), for get_max_prefix_with_quota.
        self.p_trie = PathTrie()
        # Bytes the stats nodes grew by as the tree rewrote them: Java's running
        # nodeDataSize never counts those writes, so approximate_data_size leaves them out.
        self._quota_size_drift = 0
        root = DataNode(b"", OPEN_UNSAFE_ACL_ID, _EMPTY_STAT)
        self.nodes.put("", root)
        self.nodes.put_without_digest("/", root)
        root.children.add("zookeeper")
        proc = DataNode(b"", OPEN_UNSAFE_ACL_ID, _EMPTY_STAT)
        self.nodes.put(PROC_ZOOKEEPER, proc)
        proc.children.add("quota")
        self.nodes.put(QUOTA_ZOOKEEPER, DataNode(b"", OPEN_UNSAFE_ACL_ID, _EMPTY_STAT))
        self.add_config_node()

    def add_config_node(self) -> None:
        """Create ``/zookeeper/config``, world-readable only (ZOOKEEPER-2014). Its
        aversion ends up -1, as in ZooKeeper. Mirrors: DataTree.addConfigNode."""
        self.nodes[PROC_ZOOKEEPER].children.add("config")
        self.nodes.put(CONFIG_NODE, DataNode(b"", OPEN_UNSAFE_ACL_ID, _EMPTY_STAT))
        self.set_acl(CONFIG_NODE, READ_ACL_UNSAFE, -1)

    @staticmethod
    def is_special_path(path: str) -> bool:
        """Is this one of the nodes the server owns (no client may create or delete
        it)? Mirrors: DataTree.isSpecialPath."""
        return path in ("/", PROC_ZOOKEEPER, QUOTA_ZOOKEEPER, CONFIG_NODE)

    # --- reads ------------------------------------------------------------------------

    def get_node(self, path: str) -> DataNode | None:
        return self.nodes.get(path)

    def _node(self, path: str) -> DataNode:
        node = self.nodes.get(path)
        if node is None:
            raise NoNodeException(path)
        return node

    def copy_stat(self, node: DataNode) -> Stat:
        """The Stat a client sees (DataNode.copyStat with this tree's extended types)."""
        return node.copy_stat(self.extended_types_enabled)

    def stat_node(self, path: str) -> Stat:
        """Raises NoNodeException. Mirrors: DataTree.statNode."""
        return self.copy_stat(self._node(path))

    def get_data(self, path: str) -> tuple[bytes | None, Stat]:
        """Raises NoNodeException. Mirrors: DataTree.getData."""
        node = self._node(path)
        return node.data, self.copy_stat(node)

    def get_children(self, path: str) -> tuple[list[str], Stat]:
        """The children's names, sorted. Raises NoNodeException."""
        node = self._node(path)
        return sorted(node.children), self.copy_stat(node)

    def get_acl(self, path: str) -> tuple[list[ACL], Stat]:
        """Raises NoNodeException. Mirrors: DataTree.getACL."""
        node = self._node(path)
        return self.acl_for_node(node), self.copy_stat(node)

    def acl_for_node(self, node: DataNode) -> list[ACL]:
        """Mirrors: ZKDatabase.aclForNode / DataTree.getACL(DataNode)."""
        acl = self.acl_cache.convert_long(node.acl)
        assert acl is not None
        return acl

    def get_all_children_number(self, path: str) -> int:
        """Every node below ``path``. Mirrors: DataTree.getAllChildrenNumber."""
        if path == "/":
            return len(self.nodes) - 2  # not the root's two keys
        prefix = path + "/"
        return sum(1 for p in self.nodes if p.startswith(prefix))

    def get_ephemerals(self, session_id: int) -> set[str]:
        """A copy of the session's ephemeral paths."""
        return set(self._ephemerals.get(session_id, ()))

    def get_ephemerals_by_prefix(self, session_id: int, prefix_path: str | None) -> list[str]:
        """getEphemerals: the session's ephemerals starting with ``prefix_path`` (all of
        them for None, blank or "/"), sorted. Mirrors: FinalRequestProcessor."""
        paths = self._ephemerals.get(session_id, set())
        if prefix_path is None or prefix_path.strip() in ("", "/"):
            return sorted(paths)
        return sorted(p for p in paths if p.startswith(prefix_path))

    def get_sessions(self) -> list[int]:
        """Sessions that own ephemerals."""
        return sorted(self._ephemerals)

    def get_containers(self) -> set[str]:
        return set(self._containers)

    def get_ttls(self) -> set[str]:
        return set(self._ttls)

    def node_count(self) -> int:
        """``zk_znode_count``: the keys of the map, the root counted twice, as Java."""
        return len(self.nodes)

    def ephemerals_count(self) -> int:
        return sum(len(paths) for paths in self._ephemerals.values())

    def approximate_data_size(self) -> int:
        """Paths plus data, in bytes, as Java's running ``nodeDataSize`` counts them
        (which misses the tree's own writes to quota stats nodes).
        Mirrors: DataTree.approximateDataSize and nodeDataSize."""
        return sum(_node_size(p, n.data) for p, n in self.nodes.items()) - self._quota_size_drift

    # --- writes -----------------------------------------------------------------------

    def create_node(
        self,
        path: str,
        data: bytes | None,
        acl: list[ACL] | None,
        ephemeral_owner: int,
        parent_cversion: int,
        zxid: int,
        time: int,
        events: list[WatchTrigger] | None = None,
    ) -> Stat:
        """Add a node; returns its Stat. ``parent_cversion`` -1 means "one more".

        Raises:
            NoNodeException: no parent. NodeExistsException: the node exists (its ACL
                index is replaced all the same, as Java does).

        Mirrors: DataTree.createNode.
        """
        slash = path.rfind("/")
        parent_name, child_name = path[:slash], path[slash + 1 :]
        parent = self.nodes.get(parent_name)
        if parent is None:
            raise NoNodeException(path)
        parent_acl = self.acl_for_node(parent)
        # The ACL is counted before the existence check, as in Java (a fuzzy snapshot
        # may lack the ACL of a node it holds).
        acl_index = self.acl_cache.convert_acls(acl)
        existing = self.nodes.get(path)
        if existing is not None:
            existing.acl = acl_index
            raise NodeExistsException(path)
        self.nodes.pre_change(parent_name, parent)
        if parent_cversion == -1:
            parent_cversion = parent.stat.cversion + 1
        # Replaying a create that a fuzzy snapshot already saw deleted must not move
        # the parent's cversion and pzxid back.
        if parent_cversion > parent.stat.cversion:
            parent.stat = parent.stat.replace(cversion=parent_cversion, pzxid=zxid)
        child = DataNode(data, acl_index, create_stat(zxid, time, ephemeral_owner))
        parent.children.add(child_name)
        self.nodes.post_change(parent_name, parent)
        self.nodes.put(path, child)
        kind = EphemeralType.get(ephemeral_owner, self.extended_types_enabled)
        if kind is EphemeralType.CONTAINER:
            self._containers.add(path)
        elif kind is EphemeralType.TTL:
            self._ttls.add(path)
        elif ephemeral_owner != 0:
            self._ephemerals.setdefault(ephemeral_owner, set()).add(path)
        if parent_name.startswith(QUOTA_ZOOKEEPER):  # a prefix test, as Java's
            quota_of = trim_quota_path(parent_name)
            # Java's pTrie.addPath("") throws (after the node is in); we skip it: no
            # quota is kept on the root anyway.
            if child_name == LIMIT_NODE and quota_of:
                self.p_trie.add_path(quota_of)
            if child_name == STAT_NODE:
                self._update_quota_for_path(quota_of)
        prefix = self.get_max_prefix_with_quota(path)
        if prefix is not None:
            self.update_quota_stat(prefix, 0 if data is None else len(data), 1)
        if self.tracer.enabled:
            self.tracer.emit("data.node.created", path=path, zxid=zxid, kind=kind.value)
        if events is not None:
            events.append(WatchTrigger(path, EventType.NodeCreated, acl))
            events.append(WatchTrigger(parent_name or "/", EventType.NodeChildrenChanged, parent_acl))
        return self.copy_stat(child)

    def delete_node(self, path: str, zxid: int, events: list[WatchTrigger] | None = None) -> None:
        """Remove a node (Prep has checked it has no children).

        Raises:
            NoNodeException: no such node, or no parent. The parent's pzxid moves even
                when the child is already gone, as Java's does.

        Mirrors: DataTree.deleteNode.
        """
        slash = path.rfind("/")
        parent_name, child_name = path[:slash], path[slash + 1 :]
        parent = self.nodes.get(parent_name)
        if parent is None:
            raise NoNodeException(path)
        self.nodes.pre_change(parent_name, parent)
        parent.children.discard(child_name)
        # Never move pzxid back: a replayed create may have set a higher one.
        if zxid > parent.stat.pzxid:
            parent.stat = parent.stat.replace(pzxid=zxid)
        self.nodes.post_change(parent_name, parent)
        node = self.nodes.remove(path)
        if node is None:
            raise NoNodeException(path)
        acl = self.acl_for_node(node)
        self.acl_cache.remove_usage(node.acl)
        owner = node.stat.ephemeralOwner
        kind = EphemeralType.get(owner, self.extended_types_enabled)
        if kind is EphemeralType.CONTAINER:
            self._containers.discard(path)
        elif kind is EphemeralType.TTL:
            self._ttls.discard(path)
        elif owner != 0 and owner in self._ephemerals:
            self._ephemerals[owner].discard(path)
        # Java tests "/zookeeper" here, "/zookeeper/quota" in createNode.
        if parent_name.startswith(PROC_ZOOKEEPER) and child_name == LIMIT_NODE and trim_quota_path(parent_name):
            self.p_trie.delete_path(trim_quota_path(parent_name))
        prefix = self.get_max_prefix_with_quota(path)
        if prefix is not None:
            self.update_quota_stat(prefix, -(0 if node.data is None else len(node.data)), -1)
        if self.tracer.enabled:
            self.tracer.emit("data.node.deleted", path=path, zxid=zxid)
        if events is not None:
            events.append(WatchTrigger(path, EventType.NodeDeleted, acl))
            events.append(WatchTrigger(parent_name or "/", EventType.NodeChildrenChanged, self.acl_for_node(parent)))

    def set_data(
        self,
        path: str,
        data: bytes | None,
        version: int,
        zxid: int,
        time: int,
        events: list[WatchTrigger] | None = None,
    ) -> Stat:
        """Replace a node's data; ``version`` is the new version, computed by Prep.

        Raises NoNodeException. Mirrors: DataTree.setData.
        """
        node = self._node(path)
        last_data = node.data
        self.nodes.pre_change(path, node)
        node.data = data
        node.stat = node.stat.replace(mtime=time, mzxid=zxid, version=version)
        self.nodes.post_change(path, node)
        prefix = self.get_max_prefix_with_quota(path)
        if prefix is not None:  # even when the size is the same: the stats are rewritten
            self.update_quota_stat(prefix, len(data or b"") - len(last_data or b""), 0)
        if self.tracer.enabled:
            self.tracer.emit("data.node.changed", path=path, zxid=zxid, version=version)
        if events is not None:
            events.append(WatchTrigger(path, EventType.NodeDataChanged, self.acl_for_node(node)))
        return self.copy_stat(node)

    def set_acl(self, path: str, acl: list[ACL] | None, version: int) -> Stat:
        """Replace a node's ACL; ``version`` is the new aversion. No watch fires, and
        mzxid does not move. Raises NoNodeException. Mirrors: DataTree.setACL."""
        node = self._node(path)
        self.acl_cache.remove_usage(node.acl)
        self.nodes.pre_change(path, node)
        node.stat = node.stat.replace(aversion=version)
        node.acl = self.acl_cache.convert_acls(acl)
        self.nodes.post_change(path, node)
        return self.copy_stat(node)

    def set_cversion_pzxid(self, path: str, new_cversion: int, zxid: int) -> None:
        """Raise a node's cversion (and set pzxid), never lower it.

        Raises NoNodeException. Mirrors: DataTree.setCversionPzxid.
        """
        if path.endswith("/"):
            path = path[:-1]
        node = self._node(path)
        if new_cversion == -1:
            new_cversion = node.stat.cversion + 1
        if new_cversion > node.stat.cversion:
            self.nodes.pre_change(path, node)
            node.stat = node.stat.replace(cversion=new_cversion, pzxid=zxid)
            self.nodes.post_change(path, node)

    def kill_session(
        self,
        session_id: int,
        zxid: int,
        paths_in_txn: list[str] | None = None,
        events: list[WatchTrigger] | None = None,
    ) -> None:
        """Delete a closed session's ephemerals: those the CloseSessionTxn lists, then
        any the tree still knows of. Missing nodes are skipped.

        Mirrors: DataTree.killSession and deleteNodes.
        """
        local = self._ephemerals.pop(session_id, None)
        if self.tracer.enabled:
            self.tracer.emit("data.session.killed", session=session_id, zxid=zxid)
        if paths_in_txn is not None:
            self._delete_nodes(zxid, paths_in_txn, events)
        if local is not None:
            # Java warns about these leftovers (paths the txn did not list); we log
            # nothing here and simply delete them too.
            local.difference_update(paths_in_txn or ())
            self._delete_nodes(zxid, sorted(local), events)

    def _delete_nodes(self, zxid: int, paths: list[str], events: list[WatchTrigger] | None) -> None:
        for path in paths:
            # Already gone: Java logs "Ignoring NoNodeException" and goes on.
            with contextlib.suppress(NoNodeException):
                self.delete_node(path, zxid, events)

    # --- quotas -----------------------------------------------------------------------

    def get_max_prefix_with_quota(self, path: str) -> str | None:
        """The quota ``path`` counts against: the deepest quota'd path at or above it, or
        None (never the root). Mirrors: DataTree.getMaxPrefixWithQuota."""
        prefix = self.p_trie.find_max_prefix(path)
        return None if prefix in ("/", "") else prefix

    def update_quota_stat(self, prefix: str, bytes_diff: int, count_diff: int) -> None:
        """Add to the count and bytes of ``prefix``'s stats node, in place (no txn, no
        Stat change). Mirrors: DataTree.updateQuotaStat.

        We differ on stats data that does not parse (a client wrote it): Java's
        exception escapes the txn and stops the server; we log it and leave the node.
        """
        path = stat_path(prefix)
        node = self.nodes.get(path)
        if node is None:  # a limits node without its stats node (yet)
            log.error("Missing node for stat %s", path)
            return
        try:
            if node.data is None:  # Java: a NullPointerException
                raise ValueError("null data")
            stats = StatsTrack(node.data)
        except ValueError as e:
            log.error("Cannot update the quota stats of %s, its data %r does not parse: %s", prefix, node.data, e)
            return
        stats.count += count_diff
        stats.bytes += bytes_diff
        self._write_quota_stats(prefix, path, node, stats)

    def _update_quota_for_path(self, path: str) -> None:
        """Count the subtree of ``path`` (itself included) into its stats node.
        Mirrors: DataTree.updateQuotaForPath and getCounts."""
        count = size = 0
        stack = [path]
        while stack:  # Java recurses; a deep tree must not exhaust Python's stack
            at = stack.pop()
            node = self.nodes.get(at)
            if node is None:
                continue
            count += 1
            size += 0 if node.data is None else len(node.data)
            stack.extend(f"{at}/{c}" for c in node.children)
        stats = StatsTrack()
        stats.bytes, stats.count = size, count
        target = stat_path(path)
        node = self.nodes.get(target)
        if node is None:
            log.warning("Missing quota stat node %s", target)
            return
        self._write_quota_stats(path, target, node, stats)

    def _write_quota_stats(self, prefix: str, path: str, node: DataNode, stats: StatsTrack) -> None:
        # Under /zookeeper/, so the digest does not change (NodeHashMap skips those).
        new = stats.to_bytes()
        self._quota_size_drift += len(new) - (0 if node.data is None else len(node.data))
        node.data = new
        if self.tracer.enabled:
            self.tracer.emit("data.quota.updated", path=prefix, count=stats.count, bytes=stats.bytes)

    def _setup_quota(self) -> None:
        """After a snapshot is loaded: every leaf ``zookeeper_limits`` under
        ``/zookeeper/quota`` puts its path in the trie, with its stats recounted.
        Mirrors: DataTree.setupQuota and traverseNode."""
        end = "/" + LIMIT_NODE
        stack = [QUOTA_ZOOKEEPER] if QUOTA_ZOOKEEPER in self.nodes else []
        while stack:
            path = stack.pop()
            node = self.nodes[path]
            if node.children:
                stack.extend(f"{path}/{c}" for c in sorted(node.children, reverse=True))
            elif path.endswith(end):
                real = path[len(QUOTA_ZOOKEEPER) : path.index(end)]
                self._update_quota_for_path(real)
                if real:  # Java's addPath("") throws, failing the load
                    self.p_trie.add_path(real)

    # --- transactions -----------------------------------------------------------------

    @property
    def tree_digest(self) -> int:
        """The digest of the whole tree (see zk.data.digest)."""
        return self.nodes.digest

    def process_txn(self, header: TxnHeader, txn: Record | None, digest: TxnDigest | None = None) -> ProcessTxnResult:
        """Apply one logged transaction. Errors of the txn become ``result.err``.

        ``digest`` is the tree digest Prep computed for after this txn; a different
        digest after applying it means Prep and the tree disagree, and is logged
        (DataTree.compareDigest).

        Raises:
            ValueError: a multi holds a sub-txn that cannot be decoded or is of a type a
                multi cannot hold (a damaged log); nothing is applied.

        Mirrors: DataTree.processTxn.
        """
        rc = self._process_txn(header, txn, [], is_sub_txn=False)
        self._check_digests(rc.zxid, digest)
        if self.tracer.enabled:
            self.tracer.emit(
                "data.txn.applied", zxid=rc.zxid, session=rc.client_id, cxid=rc.cxid,
                op=op_name(rc.type), path=rc.path, err=rc.err.name,
            )  # fmt: skip
        return rc

    def _check_digests(self, zxid: int, digest: TxnDigest | None) -> None:
        now = self.tree_digest
        if digest is not None and digest.version == DIGEST_VERSION and digest.treeDigest != now:
            self.digest_mismatches += 1
            log.error("Digest mismatch at zxid 0x%x: the txn says %d, the tree has %d", zxid, digest.treeDigest, now)
        if self.digest_from_loaded_snapshot is None:  # DataTree.logZxidDigest
            self.last_processed_zxid_digest = (zxid, now)
            if zxid % DIGEST_LOG_INTERVAL == 0:
                self.digest_log.append((zxid, now))
        else:
            self.compare_snapshot_digests(zxid)

    def compare_snapshot_digests(self, zxid: int) -> None:
        """Once replay reaches the zxid a loaded snapshot recorded its digest at, the
        tree must have that digest. Mirrors: DataTree.compareSnapshotDigests."""
        loaded = self.digest_from_loaded_snapshot
        if loaded is None:
            return
        if zxid == loaded[0]:
            if loaded[1] != self.tree_digest:
                self.digest_mismatches += 1
                log.error("The snapshot's digest at zxid 0x%x is %d, the tree has %d", zxid, loaded[1],
                          self.tree_digest)  # fmt: skip
            self.digest_from_loaded_snapshot = None
        elif zxid > loaded[0]:  # the snapshot's zxid never came: nothing to compare
            log.warning("The txn 0x%x of the snapshot's digest was not replayed", loaded[0])
            self.digest_from_loaded_snapshot = None

    def _process_txn(
        self, header: TxnHeader, txn: Record | None, events: list[WatchTrigger], *, is_sub_txn: bool
    ) -> ProcessTxnResult:
        rc = ProcessTxnResult(client_id=header.clientId, cxid=header.cxid, zxid=header.zxid, type=header.type)
        if not is_sub_txn:
            rc.watch_events = events
        zxid, time, op = header.zxid, header.time, header.type
        try:
            if op in (OpCode.create, OpCode.create2):
                assert isinstance(txn, CreateTxn), txn
                rc.path = _path(txn.path)
                owner = header.clientId if txn.ephemeral else 0
                stat = self.create_node(rc.path, txn.data, txn.acl, owner, txn.parentCVersion, zxid, time, events)
                rc.stat = stat if op == OpCode.create2 else None
            elif op == OpCode.createTTL:
                assert isinstance(txn, CreateTTLTxn), txn
                rc.path = _path(txn.path)
                owner = EphemeralType.TTL.to_ephemeral_owner(txn.ttl)
                rc.stat = self.create_node(rc.path, txn.data, txn.acl, owner, txn.parentCVersion, zxid, time, events)
            elif op == OpCode.createContainer:
                assert isinstance(txn, CreateContainerTxn), txn
                rc.path = _path(txn.path)
                owner = CONTAINER_EPHEMERAL_OWNER
                rc.stat = self.create_node(rc.path, txn.data, txn.acl, owner, txn.parentCVersion, zxid, time, events)
            elif op in (OpCode.delete, OpCode.deleteContainer):
                assert isinstance(txn, DeleteTxn), txn
                rc.path = _path(txn.path)
                self.delete_node(rc.path, zxid, events)
            elif op in (OpCode.setData, OpCode.reconfig):
                assert isinstance(txn, SetDataTxn), txn
                rc.path = _path(txn.path)
                rc.stat = self.set_data(rc.path, txn.data, txn.version, zxid, time, events)
            elif op == OpCode.setACL:
                assert isinstance(txn, SetACLTxn), txn
                rc.path = _path(txn.path)
                rc.stat = self.set_acl(rc.path, txn.acl, txn.version)
            elif op == OpCode.closeSession:
                paths = txn.paths2Delete if isinstance(txn, CloseSessionTxn) else None
                self.kill_session(header.clientId, zxid, paths, events)
            elif op == OpCode.error:
                assert isinstance(txn, ErrorTxn), txn
                rc.err = Code(txn.err)
            elif op == OpCode.check:
                assert isinstance(txn, CheckVersionTxn), txn
                rc.path = txn.path
            elif op == OpCode.multi:
                assert isinstance(txn, MultiTxn), txn
                self._process_multi(header, txn, rc, events)
            # createSession and anything else change nothing in the tree.
        except KeeperException as e:
            rc.err = e.code
        if op == OpCode.create and rc.err == Code.NODEEXISTS:
            # The node was deleted and created again by another session after a fuzzy
            # snapshot saved its parent: bring the parent's cversion and pzxid up.
            assert isinstance(txn, CreateTxn) and rc.path is not None
            try:
                self.set_cversion_pzxid(rc.path[: rc.path.rfind("/")], txn.parentCVersion, zxid)
            except NoNodeException as e:
                rc.err = e.code
        # Only after the whole txn (a whole multi) is applied, so that a snapshot never
        # claims a zxid whose changes it holds only in part.
        if not is_sub_txn and rc.zxid > self.last_processed_zxid:
            self.last_processed_zxid = rc.zxid
        return rc

    def _process_multi(
        self, header: TxnHeader, txn: MultiTxn, rc: ProcessTxnResult, events: list[WatchTrigger]
    ) -> None:
        subs = [(sub.type, _decode_sub_txn(header, sub.type, sub.data)) for sub in txn.txns or []]
        failed = any(t == OpCode.error for t, _ in subs)
        post_failed = False
        rc.multi_result = []
        for sub_type, record in subs:
            post_failed = post_failed or sub_type == OpCode.error
            if failed and sub_type != OpCode.error:
                # A failed multi is logged as all ErrorTxn; should a sub-txn not be,
                # it must not apply: OK before the failure, RUNTIMEINCONSISTENCY after.
                code = Code.RUNTIMEINCONSISTENCY if post_failed else Code.OK
                sub_type, record = OpCode.error, ErrorTxn(err=int(code))
            sub_header = header.replace(type=sub_type)
            sub_rc = self._process_txn(sub_header, record, events, is_sub_txn=True)
            rc.multi_result.append(sub_rc)
            if sub_rc.err != Code.OK and rc.err == Code.OK:
                rc.err = sub_rc.err

    # --- snapshots --------------------------------------------------------------------

    def serialize(self, w: Writer) -> None:
        """Write the ACL cache and every node, parents first, then the ``/`` marker.

        Mirrors: DataTree.serialize (children in sorted order; Java's are hash order).
        """
        self.acl_cache.serialize(w)
        stack = [""]
        while stack:
            path = stack.pop()
            node = self.nodes[path]
            w.write_ustring(path)
            w.write_buffer(node.data)
            w.write_long(node.acl)
            node.stat.encode(w)
            stack.extend(f"{path}/{c}" for c in sorted(node.children, reverse=True))
        w.write_ustring("/")

    def deserialize(self, r: Reader) -> None:
        """Replace the whole tree with a snapshot's.

        The nodes go through :func:`~zk.data.snapshot_nodes.decode_nodes` first, which
        takes every plainly well-formed one in a single pass; this method's own loop,
        the general reader, takes whatever it left (the ``/`` that ends the nodes, and
        anything odd, on which it raises).

        Raises:
            ValueError: a node's parent is missing (a damaged snapshot).

        Mirrors: DataTree.deserialize, quotas recounted by setupQuota.
        """
        self.acl_cache.deserialize(r)
        self.nodes.clear()
        self._ephemerals.clear()
        self._containers.clear()
        self._ttls.clear()
        fast = decode_nodes(r.data, r.offset, r.max_buffer)
        self.nodes.adopt(fast.nodes, fast.digest)
        for index, count in fast.acl_usage.items():
            self.acl_cache.add_usage(index, count)
        for owned, owner in fast.owners:
            self._add_owned(owned, owner)
        r.offset = fast.offset
        read_ustring, read_buffer, read_long = r.read_ustring, r.read_buffer, r.read_long
        path = read_ustring()
        while path != "/":
            if path is None:
                raise ValueError("Invalid Datatree, a null path")
            node = DataNode(read_buffer(), read_long(), StatPersisted.decode(r))
            self.nodes.put(path, node)
            self.acl_cache.add_usage(node.acl)
            slash = path.rfind("/")
            if slash != -1:
                parent = self.nodes.get(path[:slash])
                if parent is None:
                    raise ValueError(f"Invalid Datatree, unable to find parent {path[:slash]} of path {path}")
                parent.children.add(path[slash + 1 :])
                if node.stat.ephemeralOwner != 0:
                    self._add_owned(path, node.stat.ephemeralOwner)
            path = read_ustring()
        if "" not in self.nodes:
            raise ValueError("Invalid Datatree, no root node")
        self.nodes.put_without_digest("/", self.nodes[""])
        self.p_trie.clear()
        self._quota_size_drift = 0
        self._setup_quota()
        self.acl_cache.purge_unused()

    def _add_owned(self, path: str, owner: int) -> None:
        """Index a loaded node whose ephemeralOwner is not 0: container, TTL node, or
        a session's ephemeral."""
        kind = EphemeralType.get(owner, self.extended_types_enabled)
        if kind is EphemeralType.CONTAINER:
            self._containers.add(path)
        elif kind is EphemeralType.TTL:
            self._ttls.add(path)
        else:
            self._ephemerals.setdefault(owner, set()).add(path)


def _path(path: str | None) -> str:
    if path is None:
        raise ValueError("a txn without a path")
    return path


def _decode_sub_txn(header: TxnHeader, sub_type: int, data: bytes | None) -> Record:
    cls = _SUB_TXN_RECORDS.get(sub_type)
    if cls is None:
        raise ValueError(f"Invalid type of op: {sub_type} in multi txn 0x{header.zxid:x}")
    try:
        # Like Java's byteBuffer2Record: read one record, ignore any bytes after it.
        record = cls.decode(Reader(data or b""))
        if isinstance(record, ErrorTxn):
            Code(record.err)
    except ValueError as e:  # JuteError is a ValueError, and so is an unknown Code
        raise ValueError(f"multi txn 0x{header.zxid:x}: bad sub-txn of type {sub_type}: {e}") from e
    return record
