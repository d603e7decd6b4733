"""Prep and Final as cores: a real DataTree and SessionTracker, a fake connection.

Each test is one rule of PrepRequestProcessor / FinalRequestProcessor, named after the
Java method that holds it.
"""

from __future__ import annotations

from itertools import count

from chain_helpers import RecordingCnxn

from zk.data import DataTree, ProviderRegistry
from zk.jute.codec import Record
from zk.jute.records import (
    ACL,
    CreateRequest,
    CreateTxn,
    DeleteRequest,
    ErrorTxn,
    GetDataRequest,
    Id,
    MultiTxn,
    SetDataRequest,
)
from zk.processors import FinalRequestProcessor, PrepRequestProcessor, Request, ZKDatabase
from zk.protocol.constants import CreateMode, OpCode
from zk.protocol.errors import Code
from zk.protocol.messages import MultiRequest, MultiResponse
from zk.session import SessionTracker

OPEN = [ACL(31, Id("world", "anyone"))]
NOW = 1_000_000


class Chain:
    """Prep and Final wired by hand: ``prep`` queues, ``final`` drains."""

    def __init__(self) -> None:
        self.db = ZKDatabase(DataTree())
        self.tracker = SessionTracker(1, 2000, NOW)
        registry = ProviderRegistry()
        zxids = count(1)
        self.prep = PrepRequestProcessor(self.db.tree, self.tracker, lambda: next(zxids), lambda: NOW, lambda: NOW,
                                         registry=registry)  # fmt: skip
        self.final = FinalRequestProcessor(self.db, self.prep, self.tracker, registry=registry)
        self.queued: list[Request] = []
        self.session = self.tracker.create_session(30000, NOW)
        self.tracker.commit_session(self.session, 30000)
        self.cnxn = RecordingCnxn(self.session)

    def submit(self, op: int, body: Record | MultiRequest | None, cxid: int = 1) -> Request:
        req = Request(self.session, cxid, op, body, self.cnxn, list(self.cnxn.auth_info))
        self.prep.prep(req)
        self.queued.append(req)
        return req

    def finish(self) -> None:
        for req in self.queued:
            self.final.process_request(req)
        self.queued.clear()
        # Prep computed each txn's digest ahead of time; the tree must reach every one
        assert self.db.tree.digest_mismatches == 0


def create(path: str, mode: CreateMode = CreateMode.PERSISTENT) -> CreateRequest:
    return CreateRequest(path, b"", OPEN, int(mode))


def test_a_write_gets_the_next_zxid_and_a_txn_that_decides_everything() -> None:
    """pRequest2TxnCreate: the txn carries the parent's new cversion."""
    chain = Chain()
    req = chain.submit(OpCode.create, create("/a"))
    assert req.hdr is not None and req.hdr.type == OpCode.create
    assert isinstance(req.txn, CreateTxn)
    assert req.txn.parentCVersion == chain.db.tree.get_node("/").stat.cversion + 1  # type: ignore[union-attr]


def test_prep_sees_changes_final_has_not_applied_yet() -> None:
    """getRecordForPath reads outstandingChanges first: two sequential creates queued in
    one batch get consecutive names, and a create under a queued parent succeeds."""
    chain = Chain()
    chain.submit(OpCode.create, create("/p"))
    a = chain.submit(OpCode.create, create("/p/n-", CreateMode.PERSISTENT_SEQUENTIAL))
    b = chain.submit(OpCode.create, create("/p/n-", CreateMode.PERSISTENT_SEQUENTIAL))
    assert isinstance(a.txn, CreateTxn) and isinstance(b.txn, CreateTxn)
    assert (a.txn.path, b.txn.path) == ("/p/n-0000000000", "/p/n-0000000001")
    chain.finish()
    assert sorted(chain.db.tree.get_children("/p")[0]) == ["n-0000000000", "n-0000000001"]
    assert not chain.prep.outstanding_changes, "Final drops the records it applied"


def test_a_failed_write_is_an_error_txn_that_takes_a_zxid() -> None:
    """pRequest: a KeeperException turns the header into OpCode.error with an ErrorTxn."""
    chain = Chain()
    failed = chain.submit(OpCode.create, create("/missing/child"))
    ok = chain.submit(OpCode.create, create("/x"))
    assert failed.hdr is not None and failed.hdr.type == OpCode.error
    assert failed.txn == ErrorTxn(int(Code.NONODE))
    assert ok.hdr is not None and ok.hdr.zxid == failed.hdr.zxid + 1
    chain.finish()
    header, _ = chain.cnxn.sent[0]  # type: ignore[misc]
    assert header.err == Code.NONODE and header.zxid == failed.hdr.zxid


def test_failed_multi_rolls_back_its_change_records() -> None:
    """rollbackPendingChanges: after a multi fails, the next request must not see the
    nodes the multi would have created."""
    chain = Chain()
    multi = MultiRequest([(OpCode.create, create("/m1")), (OpCode.create, create("/nope/x")),
                          (OpCode.create, create("/m2"))])  # fmt: skip
    req = chain.submit(OpCode.multi, multi)
    assert isinstance(req.txn, MultiTxn) and req.txn.txns is not None
    assert [t.type for t in req.txn.txns] == [OpCode.create, OpCode.error, OpCode.error]
    after = chain.submit(OpCode.create, create("/m1"), cxid=2)
    assert after.hdr is not None and after.hdr.type == OpCode.create, "/m1 was rolled back"
    chain.finish()
    (_, body), _ = chain.cnxn.sent  # type: ignore[misc]
    assert isinstance(body, MultiResponse)
    assert [r.record.err for r in body.results] == [0, Code.NONODE, Code.RUNTIMEINCONSISTENCY]  # type: ignore[union-attr]


def test_delete_sees_a_queued_child() -> None:
    chain = Chain()
    chain.submit(OpCode.create, create("/d"))
    chain.submit(OpCode.create, create("/d/c"))
    req = chain.submit(OpCode.delete, DeleteRequest("/d", -1))
    assert req.txn == ErrorTxn(int(Code.NOTEMPTY))


def test_close_session_deletes_queued_ephemerals_too() -> None:
    """closeSession collects the tree's ephemerals plus outstanding ones."""
    chain = Chain()
    chain.submit(OpCode.create, create("/e1", CreateMode.EPHEMERAL))
    chain.finish()
    chain.submit(OpCode.create, create("/e2", CreateMode.EPHEMERAL))
    close = chain.submit(OpCode.closeSession, None)
    assert close.txn is not None and sorted(close.txn.paths2Delete) == ["/e1", "/e2"]  # type: ignore[attr-defined]
    chain.finish()
    assert chain.db.tree.get_node("/e1") is None and chain.db.tree.get_node("/e2") is None


def test_the_client_sees_the_event_before_the_reply_of_the_write() -> None:
    """FinalRequestProcessor applies the txn (firing watches) before it builds the reply,
    so a watcher that is also the writer gets the notification first."""
    chain = Chain()
    chain.submit(OpCode.create, create("/w"))
    chain.finish()
    chain.cnxn.sent.clear()
    chain.submit(OpCode.getData, GetDataRequest("/w", True))
    chain.submit(OpCode.setData, SetDataRequest("/w", b"1", -1), cxid=2)
    chain.finish()
    kinds = [type(x).__name__ if not isinstance(x, tuple) else f"reply:{x[0].xid}" for x in chain.cnxn.sent]
    assert kinds == ["reply:1", "WatchedEvent", "reply:2"]


def test_reads_check_the_session() -> None:
    """Every request checks its session in Prep (checkSession): an expired one fails."""
    chain = Chain()
    chain.tracker.set_session_closing(chain.session)
    req = chain.submit(OpCode.getData, GetDataRequest("/", False))
    assert req.exception is not None and req.exception.code == Code.SESSIONEXPIRED


def test_an_unexpected_failure_building_a_reply_is_a_marshalling_error() -> None:
    """FinalRequestProcessor catches any exception while it builds a reply and answers
    MARSHALLINGERROR, as Java's does: one bad request must not stop the server."""
    chain = Chain()
    chain.submit(OpCode.getData, DeleteRequest("/", -1))  # a body that is not a GetDataRequest
    chain.finish()
    header, body = chain.cnxn.sent[0]  # type: ignore[misc]
    assert header.err == Code.MARSHALLINGERROR and body is None


def test_prep_knows_the_tree_digest_before_the_tree_changes() -> None:
    """precalculateDigest: a txn's TxnDigest is the digest the tree has once it is
    applied, computed from change records while earlier txns are still queued."""
    chain = Chain()
    reqs = [chain.submit(OpCode.create, create("/d1"), cxid=1), chain.submit(OpCode.create, create("/d1/x"), cxid=2),
            chain.submit(OpCode.setData, SetDataRequest("/d1", b"v", -1), cxid=3),
            chain.submit(OpCode.delete, DeleteRequest("/d1/x", -1), cxid=4)]  # fmt: skip
    digests = []
    for req in reqs:
        chain.final.process_request(req)
        digests.append(chain.db.tree.tree_digest)
    chain.queued.clear()
    assert [r.txn_digest.treeDigest for r in reqs if r.txn_digest] == digests
    assert len(set(digests)) == 4
