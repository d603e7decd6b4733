"""DataTree: Stat effects of each txn, ephemerals, multi, replay, snapshots.

Expected values come from DataTree.java / DataNode.java of 3.8.6 and, for the
transcript test, from running Apache ZooKeeper 3.8.0 with kazoo (see its docstring).
"""

from __future__ import annotations

from zk.data.acl import OPEN_ACL_UNSAFE, READ_ACL_UNSAFE
from zk.data.ephemeral import CONTAINER_EPHEMERAL_OWNER, EphemeralType
from zk.data.tree import DataTree, ProcessTxnResult, WatchTrigger
from zk.jute.codec import Reader, Record, Writer
from zk.jute.records import (
    ACL,
    CheckVersionTxn,
    CloseSessionTxn,
    CreateContainerTxn,
    CreateSessionTxn,
    CreateTTLTxn,
    CreateTxn,
    DeleteTxn,
    ErrorTxn,
    Id,
    MultiTxn,
    SetACLTxn,
    SetDataTxn,
    Stat,
    Txn,
    TxnHeader,
)
from zk.protocol.constants import EventType, OpCode
from zk.protocol.errors import Code
from zk.trace.tracer import MemorySink, Tracer

S1, S2 = 0x100000B0FE00000, 0x100000B0FE00001
DIGEST_ACL = [ACL(perms=31, id=Id(scheme="digest", id="user:tpUq/4Pn5A64fVZyQ0gOJ8ZWqkY="))]


class Log:
    """Feeds txns to a tree with consecutive zxids, like a leader's Prep would."""

    def __init__(self, tree: DataTree | None = None) -> None:
        self.tree = tree or DataTree(extended_types_enabled=True)
        self.zxid = 0

    def apply(self, op: OpCode, txn: Record | None, session: int = S1, time: int = 0) -> ProcessTxnResult:
        self.zxid += 1
        header = TxnHeader(clientId=session, cxid=self.zxid, zxid=self.zxid, time=time or 1000 * self.zxid, type=op)
        return self.tree.process_txn(header, txn)

    def create(
        self, path: str, data: bytes | None = b"", *, session: int = S1, ephemeral: bool = False
    ) -> ProcessTxnResult:
        parent = self.tree.get_node(path[: path.rfind("/")])
        pcv = parent.stat.cversion + 1 if parent is not None else 1
        return self.apply(OpCode.create, CreateTxn(path, data, OPEN_ACL_UNSAFE, ephemeral, pcv), session)


def stat_fields(s: Stat) -> dict[str, int]:
    return {
        "czxid": s.czxid, "mzxid": s.mzxid, "pzxid": s.pzxid, "version": s.version,
        "cversion": s.cversion, "aversion": s.aversion, "owner": s.ephemeralOwner,
        "dl": s.dataLength, "nc": s.numChildren,
    }  # fmt: skip


def test_new_tree_has_the_system_nodes() -> None:
    # DataTree(): root as "" and "/", /zookeeper, /zookeeper/quota, /zookeeper/config.
    # Apache ZooKeeper 3.8.0 fresh: "Node count: 5"; stat / shows cversion -1.
    tree = DataTree()
    assert tree.node_count() == 5
    assert tree.get_node("") is tree.get_node("/")
    assert tree.get_children("/")[0] == ["zookeeper"]
    assert tree.get_children("/zookeeper")[0] == ["config", "quota"]
    assert stat_fields(tree.stat_node("/"))["cversion"] == -1
    assert stat_fields(tree.stat_node("/zookeeper"))["cversion"] == -2
    acl, stat = tree.get_acl("/zookeeper/config")
    assert acl == READ_ACL_UNSAFE and stat.aversion == -1  # addConfigNode: setACL(..., -1)
    assert tree.get_acl("/")[0] == OPEN_ACL_UNSAFE
    assert tree.get_all_children_number("/") == 3
    assert tree.get_all_children_number("/zookeeper") == 2
    assert tree.approximate_data_size() == len("/zookeeper/config/zookeeper/quota/zookeeper/")
    assert DataTree.is_special_path("/zookeeper/quota") and not DataTree.is_special_path("/a")


def test_transcript_matches_zookeeper_3_8() -> None:
    """The same txns as this kazoo session against Apache ZooKeeper 3.8.0 (fresh server):

    z.create("/a", b"x"); z.create("/a/b"); z2.create("/a/e", ephemeral=True);
    z.create("/a/s-", sequence=True) x2; z.delete("/a/b"); z.create("/a/s-", sequence=True);
    z.set("/a", b"yy"); z.set_acls("/a", digest acl) x2; z2.close()

    The stats asserted below are those ZooKeeper returned (zxid 1 and 4 are the two
    createSession txns).
    """
    log = Log()
    log.apply(OpCode.createSession, CreateSessionTxn(30000), S1)
    assert stat_fields(log.create("/a", b"x").stat or log.tree.stat_node("/a")) == {
        "czxid": 2, "mzxid": 2, "pzxid": 2, "version": 0, "cversion": 0, "aversion": 0,
        "owner": 0, "dl": 1, "nc": 0,
    }  # fmt: skip
    root = stat_fields(log.tree.stat_node("/"))
    assert (root["pzxid"], root["cversion"], root["nc"]) == (2, 0, 2)
    log.create("/a/b")
    assert stat_fields(log.tree.stat_node("/a"))["cversion"] == 1
    log.apply(OpCode.createSession, CreateSessionTxn(30000), S2)
    log.create("/a/e", session=S2, ephemeral=True)
    assert log.tree.stat_node("/a/e").ephemeralOwner == S2
    assert log.tree.stat_node("/a").pzxid == 5
    for expected in ("/a/s-0000000002", "/a/s-0000000003"):
        # Prep names it after the persisted cversion: sequential_name(path, cversion)
        assert f"/a/s-{log.tree.nodes['/a'].stat.cversion:010d}" == expected
        log.create(expected)
    log.apply(OpCode.delete, DeleteTxn("/a/b"))
    assert stat_fields(log.tree.stat_node("/a")) == {
        "czxid": 2, "mzxid": 2, "pzxid": 8, "version": 0, "cversion": 5, "aversion": 0,
        "owner": 0, "dl": 1, "nc": 3,
    }  # fmt: skip
    assert log.tree.nodes["/a"].stat.cversion == 4
    log.create("/a/s-0000000004")
    log.apply(OpCode.setData, SetDataTxn("/a", b"yy", 1))
    log.apply(OpCode.setACL, SetACLTxn("/a", DIGEST_ACL, 1))
    log.apply(OpCode.setACL, SetACLTxn("/a", DIGEST_ACL, 2))
    log.apply(OpCode.closeSession, CloseSessionTxn(["/a/e"]), S2)
    a = log.tree.stat_node("/a")
    assert stat_fields(a) == {
        "czxid": 2, "mzxid": 10, "pzxid": 13, "version": 1, "cversion": 7, "aversion": 2,
        "owner": 0, "dl": 2, "nc": 3,
    }  # fmt: skip
    assert a.ctime == 2000 and a.mtime == 10000  # ctime/mtime = header.time
    assert log.tree.get_node("/a/e") is None
    assert log.tree.last_processed_zxid == 13


def test_create_results_and_watches() -> None:
    # DataTree.processTxn: create answers no stat, create2 does; createNode triggers
    # NodeCreated on the path, then NodeChildrenChanged on the parent ("/" for the root).
    log = Log()
    rc = log.create("/a")
    assert rc.err == Code.OK and rc.path == "/a" and rc.stat is None
    assert rc.watch_events == [
        WatchTrigger("/a", EventType.NodeCreated, OPEN_ACL_UNSAFE),
        WatchTrigger("/", EventType.NodeChildrenChanged, OPEN_ACL_UNSAFE),
    ]
    rc2 = log.apply(OpCode.create2, CreateTxn("/a/b", None, DIGEST_ACL, False, 1))
    assert rc2.stat is not None and rc2.stat.czxid == 2 and rc2.stat.dataLength == 0
    assert log.tree.get_data("/a/b")[0] is None  # a null buffer stays null
    assert [e.type for e in rc2.watch_events] == [EventType.NodeCreated, EventType.NodeChildrenChanged]


def test_set_data_and_delete_watches() -> None:
    # DataTree.setData: NodeDataChanged; deleteNode: NodeDeleted, NodeChildrenChanged(parent)
    log = Log()
    log.create("/a")
    log.apply(OpCode.create, CreateTxn("/a/b", b"", DIGEST_ACL, False, 1))
    rc = log.apply(OpCode.setData, SetDataTxn("/a/b", b"new", 1))
    assert rc.stat is not None and rc.stat.version == 1 and rc.stat.mzxid == 3
    assert rc.watch_events == [WatchTrigger("/a/b", EventType.NodeDataChanged, DIGEST_ACL)]
    rc = log.apply(OpCode.delete, DeleteTxn("/a/b"))
    assert rc.stat is None
    assert rc.watch_events == [
        WatchTrigger("/a/b", EventType.NodeDeleted, DIGEST_ACL),
        WatchTrigger("/a", EventType.NodeChildrenChanged, OPEN_ACL_UNSAFE),
    ]
    rc = log.apply(OpCode.setACL, SetACLTxn("/a", DIGEST_ACL, 1))
    assert rc.watch_events == [] and rc.stat is not None and rc.stat.mzxid == 1


def test_replay_is_idempotent() -> None:
    # DataTree.processTxn: errors are results, not exceptions; a replayed create that
    # finds the node raises the parent's cversion/pzxid (setCversionPzxid) but never
    # lowers them; deleteNode moves pzxid even when the child is gone.
    log = Log()
    log.create("/a")
    header = TxnHeader(S1, 1, 1, 1000, OpCode.create)
    again = log.tree.process_txn(header, CreateTxn("/a", b"", OPEN_ACL_UNSAFE, False, 1))
    assert again.err == Code.NODEEXISTS and again.watch_events == []
    rc = log.apply(OpCode.create, CreateTxn("/a", b"", OPEN_ACL_UNSAFE, False, 5))
    assert rc.err == Code.NODEEXISTS
    assert log.tree.nodes[""].stat.cversion == 5 and log.tree.nodes[""].stat.pzxid == 2
    rc = log.apply(OpCode.delete, DeleteTxn("/missing"))
    assert rc.err == Code.NONODE and log.tree.nodes[""].stat.pzxid == 3
    rc = log.apply(OpCode.create, CreateTxn("/no/parent", b"", OPEN_ACL_UNSAFE, False, 1))
    assert rc.err == Code.NONODE
    rc = log.apply(OpCode.setData, SetDataTxn("/missing", b"", 1))
    assert rc.err == Code.NONODE
    assert log.tree.last_processed_zxid == 5


def test_ephemerals_tracked_per_session_and_killed_without_paths() -> None:
    # DataTree.createNode/deleteNode keep ephemerals per session; closeSession without
    # a CloseSessionTxn (an old log) deletes the tree's own list (killSession).
    log = Log()
    log.create("/app")
    log.create("/app/e1", session=S2, ephemeral=True)
    log.create("/app/e2", session=S2, ephemeral=True)
    log.create("/app/mine", session=S1, ephemeral=True)
    assert log.tree.get_ephemerals(S2) == {"/app/e1", "/app/e2"}
    assert log.tree.ephemerals_count() == 3
    assert log.tree.get_ephemerals_by_prefix(S2, "/app/e2") == ["/app/e2"]
    assert log.tree.get_ephemerals_by_prefix(S2, " / ") == ["/app/e1", "/app/e2"]
    assert log.tree.get_sessions() == sorted([S1, S2])
    rc = log.apply(OpCode.closeSession, None, S2)
    assert rc.err == Code.OK
    assert log.tree.get_children("/app")[0] == ["mine"]
    assert log.tree.get_ephemerals(S2) == set()
    assert [(e.path, e.type) for e in rc.watch_events] == [
        ("/app/e1", EventType.NodeDeleted),
        ("/app", EventType.NodeChildrenChanged),
        ("/app/e2", EventType.NodeDeleted),
        ("/app", EventType.NodeChildrenChanged),
    ]


def test_close_session_deletes_listed_and_leftover_paths() -> None:
    # DataTree.killSession: the txn's paths2Delete first, then the tree's leftovers;
    # missing paths are skipped (deleteNodes)
    log = Log()
    log.create("/e1", session=S2, ephemeral=True)
    log.create("/e2", session=S2, ephemeral=True)
    rc = log.apply(OpCode.closeSession, CloseSessionTxn(["/e2", "/gone"]), S2)
    assert rc.err == Code.OK
    assert log.tree.get_node("/e1") is None and log.tree.get_node("/e2") is None
    assert [e.path for e in rc.watch_events if e.type == EventType.NodeDeleted] == ["/e2", "/e1"]


def _multi(*txns: tuple[OpCode, Record]) -> MultiTxn:
    return MultiTxn([Txn(int(op), rec.to_bytes()) for op, rec in txns])


def test_multi_applies_every_sub_txn() -> None:
    # DataTree.processTxn, case multi: one result per sub-txn, one zxid for all
    log = Log()
    log.create("/a")
    rc = log.apply(
        OpCode.multi,
        _multi(
            (OpCode.check, CheckVersionTxn("/a", 0)),
            (OpCode.create, CreateTxn("/a/b", b"1", OPEN_ACL_UNSAFE, False, 1)),
            (OpCode.create2, CreateTxn("/a/c", b"1", OPEN_ACL_UNSAFE, False, 2)),
            (OpCode.setData, SetDataTxn("/a", b"x", 1)),
            (OpCode.delete, DeleteTxn("/a/b")),
        ),
    )
    assert rc.err == Code.OK and rc.multi_result is not None
    assert [r.type for r in rc.multi_result] == [OpCode.check, OpCode.create, OpCode.create2, 5, 2]
    assert [r.path for r in rc.multi_result] == ["/a", "/a/b", "/a/c", "/a", "/a/b"]
    assert rc.multi_result[2].stat is not None and rc.multi_result[1].stat is None
    assert all(r.zxid == 2 and r.watch_events == [] for r in rc.multi_result)
    assert len(rc.watch_events) == 2 + 2 + 1 + 2
    assert log.tree.get_children("/a")[0] == ["c"]
    assert log.tree.last_processed_zxid == 2


def test_failed_multi_changes_nothing() -> None:
    # PrepRequestProcessor logs a failed multi as all ErrorTxn: OK before the failing
    # op, its code, RUNTIMEINCONSISTENCY after; the result's err is the first error.
    log = Log()
    log.create("/a")
    before = log.tree.stat_node("/")
    rc = log.apply(
        OpCode.multi,
        _multi(
            (OpCode.error, ErrorTxn(int(Code.OK))),
            (OpCode.error, ErrorTxn(int(Code.NODEEXISTS))),
            (OpCode.error, ErrorTxn(int(Code.RUNTIMEINCONSISTENCY))),
        ),
    )
    assert rc.err == Code.NODEEXISTS and rc.watch_events == []
    assert rc.multi_result is not None
    assert [r.err for r in rc.multi_result] == [Code.OK, Code.NODEEXISTS, Code.RUNTIMEINCONSISTENCY]
    assert log.tree.stat_node("/") == before


def test_multi_mixed_with_an_error_applies_nothing() -> None:
    # DataTree.processTxn: if any sub-txn is an error, the others become ErrorTxn too
    log = Log()
    rc = log.apply(
        OpCode.multi,
        _multi(
            (OpCode.create, CreateTxn("/x", b"", OPEN_ACL_UNSAFE, False, 1)),
            (OpCode.error, ErrorTxn(int(Code.BADVERSION))),
            (OpCode.create, CreateTxn("/y", b"", OPEN_ACL_UNSAFE, False, 2)),
        ),
    )
    assert rc.multi_result is not None
    assert [r.err for r in rc.multi_result] == [Code.OK, Code.BADVERSION, Code.RUNTIMEINCONSISTENCY]
    assert all(r.type == OpCode.error for r in rc.multi_result)
    assert log.tree.get_node("/x") is None and log.tree.get_node("/y") is None


def test_error_txn_and_create_session() -> None:
    log = Log()
    assert log.apply(OpCode.error, ErrorTxn(int(Code.NOAUTH))).err == Code.NOAUTH
    assert log.apply(OpCode.createSession, CreateSessionTxn(4000)).err == Code.OK
    assert log.tree.last_processed_zxid == 2


def test_containers_and_ttl_nodes_are_tracked() -> None:
    # processTxn: createContainer owner CONTAINER_EPHEMERAL_OWNER; createTTL owner
    # EphemeralType.TTL.toEphemeralOwner(ttl); clients see ephemeralOwner 0 for both
    log = Log()
    rc = log.apply(OpCode.createContainer, CreateContainerTxn("/c", b"", OPEN_ACL_UNSAFE, 1))
    assert rc.stat is not None and rc.stat.ephemeralOwner == 0
    assert log.tree.nodes["/c"].stat.ephemeralOwner == CONTAINER_EPHEMERAL_OWNER
    rc = log.apply(OpCode.createTTL, CreateTTLTxn("/t", b"", OPEN_ACL_UNSAFE, 2, 5000))
    assert rc.stat is not None and rc.stat.ephemeralOwner == 0
    owner = log.tree.nodes["/t"].stat.ephemeralOwner
    assert EphemeralType.get(owner, True) is EphemeralType.TTL
    assert EphemeralType.TTL.get_value(owner) == 5000
    assert log.tree.get_containers() == {"/c"} and log.tree.get_ttls() == {"/t"}
    assert log.tree.get_sessions() == []
    log.apply(OpCode.deleteContainer, DeleteTxn("/c"))
    log.apply(OpCode.delete, DeleteTxn("/t"))
    assert log.tree.get_containers() == set() and log.tree.get_ttls() == set()


def test_acl_cache_usage_follows_nodes() -> None:
    # DataTree.createNode/deleteNode/setACL keep ReferenceCountedACLCache's counts
    log = Log()
    assert log.tree.acl_cache.size() == 1  # /zookeeper/config's READ_ACL_UNSAFE
    log.apply(OpCode.create, CreateTxn("/a", b"", DIGEST_ACL, False, 1))
    log.apply(OpCode.create, CreateTxn("/b", b"", DIGEST_ACL, False, 2))
    index = log.tree.nodes["/a"].acl
    assert log.tree.nodes["/b"].acl == index
    assert log.tree.acl_cache.reference_counter[index] == 2
    log.apply(OpCode.delete, DeleteTxn("/a"))
    log.apply(OpCode.setACL, SetACLTxn("/b", OPEN_ACL_UNSAFE, 1))
    assert log.tree.acl_cache.size() == 2  # the open ACL list is now stored too
    assert index not in log.tree.acl_cache.long_key_map


def test_snapshot_round_trip() -> None:
    # DataTree.serialize / deserialize
    log = Log()
    log.create("/a", b"data")
    log.apply(OpCode.create, CreateTxn("/a/b", None, DIGEST_ACL, False, 1))
    log.create("/a/e", session=S2, ephemeral=True)
    log.apply(OpCode.createContainer, CreateContainerTxn("/c", b"", OPEN_ACL_UNSAFE, 3))
    w = Writer()
    log.tree.serialize(w)
    loaded = DataTree(extended_types_enabled=True)
    loaded.deserialize(Reader(w.getvalue()))
    assert loaded.node_count() == log.tree.node_count()
    for path in log.tree.nodes:
        assert loaded.stat_node(path) == log.tree.stat_node(path), path
        assert loaded.get_data(path)[0] == log.tree.get_data(path)[0]
        assert loaded.get_acl(path)[0] == log.tree.get_acl(path)[0]
    assert loaded.get_ephemerals(S2) == {"/a/e"} and loaded.get_containers() == {"/c"}
    w2 = Writer()
    loaded.serialize(w2)
    assert w2.getvalue() == w.getvalue()


def test_trace_events() -> None:
    sink = MemorySink()
    log = Log(DataTree(tracer=Tracer("s1", sink)))
    log.create("/a")
    log.apply(OpCode.delete, DeleteTxn("/a"))
    names = [e["event"] for e in sink.events]
    assert names == ["data.node.created", "data.txn.applied", "data.node.deleted", "data.txn.applied"]
    assert sink.events[1]["op"] == "create" and sink.events[1]["err"] == "OK"
