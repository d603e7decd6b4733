"""The Request: one client operation on its way down the processor chain.

A Request is born in the server connection when a packet arrives (or inside the server
for internal operations: createSession, closeSession on expiry, deleteContainer), is
filled in by PrepRequestProcessor (the TxnHeader with its zxid, and the txn record, for
writes), passes the sync stage, and is answered by FinalRequestProcessor.

``ChangeRecord`` is Prep's view of a node *after* every transaction it has already
prepared but Final has not yet applied: Prep must check a create against a parent that a
queued create in the same batch already made, for example.

Mirrors: org.apache.zookeeper.server.Request and ZooKeeperServer.ChangeRecord.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

from zk.jute.codec import Record
from zk.jute.records import ACL, Id, ReplyHeader, StatPersisted, TxnDigest, TxnHeader
from zk.protocol.errors import KeeperException
from zk.protocol.messages import MultiRequest, MultiResponse
from zk.storage.util import marshall_txn_entry
from zk.watch.events import Watcher

__all__ = ["OWNER", "ChangeRecord", "Request", "RequestOwner"]

# The owner of requests from this server's own client connections (Java's ServerCnxn.me).
# A standalone server has no other; a leader also sees requests forwarded by learners,
# each owned by its LearnerHandler, and a session belongs to the owner that last
# (re)connected it: a late request through another owner gets SESSIONMOVED.
OWNER = object()


class RequestOwner(Watcher, Protocol):
    """What the chain needs from the connection a request came in on.

    Mirrors: org.apache.zookeeper.server.ServerCnxn (the part the processors call).
    """

    session_id: int
    session_timeout: int
    auth_info: list[Id]

    def send_response(self, header: ReplyHeader, body: Record | MultiResponse | None) -> None:
        """Queue a reply; the connection writes a batch of them at once."""

    def finish_session_init(self, valid: bool) -> None:
        """Answer the ConnectRequest (ZooKeeperServer.finishSessionInit)."""

    def send_close_session(self) -> None:
        """Close the connection once the queued replies are written."""


@dataclasses.dataclass(slots=True, eq=False)
class Request:
    """One operation. ``body`` is the decoded request record (None for ping,
    closeSession, createSession and whoAmI); ``hdr``/``txn`` are set by Prep for writes."""

    session_id: int
    cxid: int
    type: int
    body: Record | MultiRequest | None
    cnxn: RequestOwner | None
    auth_info: list[Id] = dataclasses.field(default_factory=list)
    hdr: TxnHeader | None = None
    txn: Record | None = None
    exception: KeeperException | None = None
    zxid: int = -1
    # createSession's negotiated timeout travels in the request, as in Java's ByteBuffer
    session_timeout: int = 0
    # deleteContainer is internal (ContainerManager): it names its path directly
    path: str | None = None
    # the tree digest after this txn, as Prep computes it; logged with the txn
    txn_digest: TxnDigest | None = None
    create_time: int = 0
    # who sent it for the session (Request.getOwner): OWNER, or a LearnerHandler
    owner: object = OWNER
    # the txn as the log and a PROPOSAL carry it, made once (serialize_data)
    serialized: bytes | None = None

    @property
    def is_write(self) -> bool:
        return self.hdr is not None

    def serialize_data(self) -> bytes:
        """The txn as the log holds it and a PROPOSAL carries it: header, txn, digest.

        Made once and kept: a leader sends these bytes to its followers and logs the
        same; a learner logs the bytes it received. Mirrors Request.getSerializeData.
        """
        if self.serialized is None:
            assert self.hdr is not None, "only a txn is serialized"
            self.serialized = marshall_txn_entry(self.hdr, self.txn, self.txn_digest)
        return self.serialized


@dataclasses.dataclass(slots=True)
class ChangeRecord:
    """A node as it will be once the outstanding transactions are applied.

    ``stat`` is None for a node that an outstanding transaction deletes. ``node_digest``
    and ``tree_digest`` are the node's digest and the whole tree's once this change is
    applied (ZooKeeperServer.PrecalculatedDigest).
    """

    zxid: int
    path: str
    stat: StatPersisted | None
    child_count: int
    acl: list[ACL] | None
    data: bytes | None = None
    node_digest: int = 0
    tree_digest: int = 0

    def duplicate(self, zxid: int) -> ChangeRecord:
        return ChangeRecord(zxid, self.path, self.stat, self.child_count, self.acl, self.data, self.node_digest,
                            self.tree_digest)  # fmt: skip
