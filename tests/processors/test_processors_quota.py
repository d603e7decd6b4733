"""Quota enforcement in Prep: ZooKeeperServer.checkQuota, called by
PrepRequestProcessor for create (pRequest2TxnCreate) and setData (pRequest2Txn).

With ``zookeeper.enforceQuota=true`` a write that would pass a hard limit becomes an
error txn with QUOTAEXCEEDED; a soft limit passed is only logged ("Message:Quota
exceeded: ..." at WARN, through a RateLogger). tests/interop/test_interop_quota.py runs
the same against Apache ZooKeeper 3.8.
"""

from __future__ import annotations

import logging
from itertools import count

import pytest
from chain_helpers import RecordingCnxn

from zk.data import DataTree, ProviderRegistry, limit_path, stat_path
from zk.jute.codec import Record
from zk.jute.records import ACL, CreateRequest, ErrorTxn, Id, SetDataRequest
from zk.processors import FinalRequestProcessor, PrepRequestProcessor, Request, ZKDatabase
from zk.processors.prep import RateLogger
from zk.protocol.constants import OpCode
from zk.protocol.errors import Code
from zk.session import SessionTracker

OPEN = [ACL(31, Id("world", "anyone"))]


class Server:
    """Prep and Final over one tree, one session, applying each request at once."""

    def __init__(self, *, enforce: bool) -> None:
        self.db = ZKDatabase(DataTree())
        tracker = SessionTracker(1, 2000, 0)
        registry = ProviderRegistry()
        zxids = count(1)
        self.clock = 0
        self.prep = PrepRequestProcessor(self.db.tree, tracker, lambda: next(zxids), lambda: 0,
                                         lambda: self.clock, registry=registry, enforce_quota=enforce)  # fmt: skip
        self.final = FinalRequestProcessor(self.db, self.prep, tracker, registry=registry)
        self.session = tracker.create_session(30000, 0)
        tracker.commit_session(self.session, 30000)
        self.cnxn = RecordingCnxn(self.session)
        self.cxid = 0

    def submit(self, op: int, body: Record) -> Code:
        self.cxid += 1
        req = Request(self.session, self.cxid, op, body, self.cnxn, list(self.cnxn.auth_info))
        self.prep.prep(req)
        self.final.process_request(req)
        return Code.OK if req.exception is None else req.exception.code

    def create(self, path: str, data: bytes | None = b"") -> Code:
        return self.submit(OpCode.create, CreateRequest(path, data, OPEN, 0))

    def set(self, path: str, data: bytes | None, version: int = -1) -> Code:
        return self.submit(OpCode.setData, SetDataRequest(path, data, version))

    def set_quota(self, path: str, limits: str) -> None:
        assert self.create("/zookeeper/quota" + path, None) == Code.OK
        assert self.create(limit_path(path), limits.encode()) == Code.OK
        assert self.create(stat_path(path), b"count=0,bytes=0") == Code.OK


def test_without_enforce_quota_nothing_is_refused() -> None:
    s = Server(enforce=False)
    s.create("/q")
    s.set_quota("/q", "count=-1,bytes=-1=;byteHardLimit=1;countHardLimit=1")
    assert s.create("/q/a", b"too much") == Code.OK


def test_a_hard_count_limit_refuses_the_create_as_an_error_txn() -> None:
    s = Server(enforce=True)
    s.create("/q")
    s.set_quota("/q", "count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=2")
    assert s.create("/q/a") == Code.OK
    assert s.create("/q/b") == Code.QUOTAEXCEEDED
    assert s.db.tree.get_node("/q/b") is None
    node = s.db.tree.get_node(stat_path("/q"))
    assert node is not None and node.data == b"count=2,bytes=0"


def test_a_hard_byte_limit_refuses_set_data_before_its_version_check() -> None:
    s = Server(enforce=True)
    s.create("/q", b"12345")
    s.set_quota("/q", "count=-1,bytes=-1=;byteHardLimit=8;countHardLimit=-1")
    assert s.set("/q", b"12345678") == Code.OK
    # checkQuota comes before checkAndIncVersion in pRequest2Txn
    assert s.set("/q", b"123456789", version=99) == Code.QUOTAEXCEEDED
    assert s.set("/q", b"", version=99) == Code.BADVERSION
    assert s.create("/q/a") == Code.OK  # no count limit, and no bytes added


def test_a_soft_limit_is_logged_once_per_run(caplog: pytest.LogCaptureFixture) -> None:
    s = Server(enforce=True)
    s.create("/q")
    s.set_quota("/q", "count=1,bytes=-1=;byteHardLimit=-1;countHardLimit=-1")
    with caplog.at_level(logging.WARNING, logger="zk.processors.prep"):
        assert s.create("/q/a") == Code.OK
        assert s.create("/q/b") == Code.OK
    assert [r.getMessage() for r in caplog.records] == [
        "Message:Quota exceeded: /q [current count=2, softCountLimit=1] Value:null",
        "Message:Quota exceeded: /q [current count=3, softCountLimit=1] Value:null",
    ]


def test_limits_that_do_not_parse_are_a_marshalling_error() -> None:
    s = Server(enforce=True)
    s.create("/q")
    s.set_quota("/q", "count=lots")
    assert s.create("/q/a") == Code.MARSHALLINGERROR


def test_prep_checks_the_applied_tree_not_the_outstanding_changes() -> None:
    # Java's checkQuota reads zkDatabase: two creates prepared before either is applied
    # both pass a hard limit of one more node.
    s = Server(enforce=True)
    s.create("/q")
    s.set_quota("/q", "count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=2")
    reqs = []
    for i, path in enumerate(("/q/a", "/q/b")):
        req = Request(s.session, 100 + i, OpCode.create, CreateRequest(path, b"", OPEN, 0), s.cnxn)
        s.prep.prep(req)
        reqs.append(req)
    assert [r.exception for r in reqs] == [None, None]
    assert not any(isinstance(r.txn, ErrorTxn) for r in reqs)


def test_rate_logger_folds_repeats(caplog: pytest.LogCaptureFixture) -> None:
    clock = [0]
    logger = logging.getLogger("test.ratelogger")
    rl = RateLogger(logger, lambda: clock[0])
    with caplog.at_level(logging.WARNING, logger="test.ratelogger"):
        rl.rate_limit_log("a")
        clock[0] = 10
        rl.rate_limit_log("a")
        rl.rate_limit_log("a")
        clock[0] = 200
        rl.rate_limit_log("a")  # the interval has passed: the run so far is flushed
        rl.rate_limit_log("b")
    assert [r.getMessage() for r in caplog.records] == [
        "Message:a Value:null",
        "[3 times] Message: a",
        "Message:b Value:null",
    ]
