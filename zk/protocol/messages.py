"""Requests and responses: which jute record follows the header for each opcode.

After the handshake every client packet is ``RequestHeader(xid, type)`` followed by the
body record of that opcode, and every server packet is ``ReplyHeader(xid, zxid, err)``
followed by the response record (only when ``err`` is 0, and only for opcodes that have
one). The two tables below are the whole client protocol in one place; the docs chapter
renders them.

``multi`` and ``multiRead`` are the exception: their bodies are not jute records but a
run of ``MultiHeader`` + op record pairs, closed by a header with ``done = true``:

    request   (MultiHeader(type, false, -1) op-record)*  MultiHeader(-1, true, -1)
    response  (MultiHeader(type, false, err) result)*    MultiHeader(-1, true, -1)

Mirrors: org.apache.zookeeper.MultiOperationRecord, org.apache.zookeeper.MultiResponse,
and the request/response pairs used by ZooKeeper.java and FinalRequestProcessor.
"""

from __future__ import annotations

import dataclasses

from zk.jute.codec import JuteError, Reader, Record, Writer
from zk.jute.records import (
    AddWatchRequest,
    AuthPacket,
    CheckVersionRequest,
    CheckWatchesRequest,
    Create2Response,
    CreateRequest,
    CreateResponse,
    CreateTTLRequest,
    DeleteRequest,
    ErrorResponse,
    ExistsRequest,
    ExistsResponse,
    GetACLRequest,
    GetACLResponse,
    GetAllChildrenNumberRequest,
    GetAllChildrenNumberResponse,
    GetChildren2Request,
    GetChildren2Response,
    GetChildrenRequest,
    GetChildrenResponse,
    GetDataRequest,
    GetDataResponse,
    GetEphemeralsRequest,
    GetEphemeralsResponse,
    GetSASLRequest,
    MultiHeader,
    ReconfigRequest,
    RemoveWatchesRequest,
    SetACLRequest,
    SetACLResponse,
    SetDataRequest,
    SetDataResponse,
    SetSASLResponse,
    SetWatches,
    SetWatches2,
    SyncRequest,
    SyncResponse,
    WhoAmIResponse,
)
from zk.protocol.constants import OpCode

__all__ = [
    "MULTI_OPS",
    "MULTI_READ_OPS",
    "REQUEST_RECORDS",
    "RESPONSE_RECORDS",
    "MultiRequest",
    "MultiResponse",
    "OpResult",
    "decode_request_body",
]

# opcode -> the record after the RequestHeader (None: the header is the whole request)
REQUEST_RECORDS: dict[OpCode, type[Record] | None] = {
    OpCode.create: CreateRequest,
    OpCode.create2: CreateRequest,
    OpCode.createContainer: CreateRequest,
    OpCode.createTTL: CreateTTLRequest,
    OpCode.delete: DeleteRequest,
    OpCode.deleteContainer: DeleteRequest,
    OpCode.exists: ExistsRequest,
    OpCode.getData: GetDataRequest,
    OpCode.setData: SetDataRequest,
    OpCode.getACL: GetACLRequest,
    OpCode.setACL: SetACLRequest,
    OpCode.getChildren: GetChildrenRequest,
    OpCode.getChildren2: GetChildren2Request,
    OpCode.getAllChildrenNumber: GetAllChildrenNumberRequest,
    OpCode.getEphemerals: GetEphemeralsRequest,
    OpCode.sync: SyncRequest,
    OpCode.check: CheckVersionRequest,
    OpCode.reconfig: ReconfigRequest,
    OpCode.checkWatches: CheckWatchesRequest,
    OpCode.removeWatches: RemoveWatchesRequest,
    OpCode.addWatch: AddWatchRequest,
    OpCode.auth: AuthPacket,
    OpCode.setWatches: SetWatches,
    OpCode.setWatches2: SetWatches2,
    OpCode.sasl: GetSASLRequest,
    OpCode.ping: None,
    OpCode.closeSession: None,
    OpCode.whoAmI: None,
}

# opcode -> the record after a successful ReplyHeader (None: the header is the whole reply)
RESPONSE_RECORDS: dict[OpCode, type[Record] | None] = {
    OpCode.create: CreateResponse,
    OpCode.create2: Create2Response,
    OpCode.createContainer: Create2Response,
    OpCode.createTTL: Create2Response,
    OpCode.delete: None,
    OpCode.exists: ExistsResponse,
    OpCode.getData: GetDataResponse,
    OpCode.setData: SetDataResponse,
    OpCode.getACL: GetACLResponse,
    OpCode.setACL: SetACLResponse,
    OpCode.getChildren: GetChildrenResponse,
    OpCode.getChildren2: GetChildren2Response,
    OpCode.getAllChildrenNumber: GetAllChildrenNumberResponse,
    OpCode.getEphemerals: GetEphemeralsResponse,
    OpCode.sync: SyncResponse,
    OpCode.check: None,
    OpCode.reconfig: GetDataResponse,
    OpCode.checkWatches: None,
    OpCode.removeWatches: None,
    OpCode.addWatch: None,
    OpCode.sasl: SetSASLResponse,
    OpCode.ping: None,
    OpCode.closeSession: None,
    OpCode.whoAmI: WhoAmIResponse,
}

# The ops a multi may hold, and a multiRead. Mixing the two kinds is an error.
MULTI_OPS = frozenset(
    {OpCode.create, OpCode.create2, OpCode.createTTL, OpCode.createContainer}
    | {OpCode.delete, OpCode.setData, OpCode.check}
)
MULTI_READ_OPS = frozenset({OpCode.getChildren, OpCode.getData})
_MULTI_REQUEST_RECORDS: dict[int, type[Record]] = {
    OpCode.create: CreateRequest,
    OpCode.create2: CreateRequest,
    OpCode.createContainer: CreateRequest,
    OpCode.createTTL: CreateTTLRequest,
    OpCode.delete: DeleteRequest,
    OpCode.setData: SetDataRequest,
    OpCode.check: CheckVersionRequest,
    OpCode.getChildren: GetChildrenRequest,
    OpCode.getData: GetDataRequest,
}
_MULTI_RESULT_RECORDS: dict[int, type[Record] | None] = {
    OpCode.create: CreateResponse,
    OpCode.create2: Create2Response,
    OpCode.delete: None,
    OpCode.check: None,
    OpCode.setData: SetDataResponse,
    OpCode.getChildren: GetChildrenResponse,
    OpCode.getData: GetDataResponse,
    OpCode.error: ErrorResponse,
}
_DONE = MultiHeader(-1, True, -1)


@dataclasses.dataclass(frozen=True, slots=True)
class MultiRequest:
    """The body of a multi or multiRead: a list of (opcode, request record)."""

    ops: list[tuple[int, Record]]

    def encode(self, w: Writer) -> None:
        for op, rec in self.ops:
            MultiHeader(op, False, -1).encode(w)
            rec.encode(w)
        _DONE.encode(w)

    @classmethod
    def decode(cls, r: Reader) -> MultiRequest:
        ops: list[tuple[int, Record]] = []
        h = MultiHeader.decode(r)
        while not h.done:
            rec_cls = _MULTI_REQUEST_RECORDS.get(h.type)
            if rec_cls is None:
                raise JuteError(f"Invalid type of op {h.type} in a multi")
            ops.append((h.type, rec_cls.decode(r)))
            h = MultiHeader.decode(r)
        return cls(ops)


@dataclasses.dataclass(frozen=True, slots=True)
class OpResult:
    """One result of a multi: its opcode (``OpCode.error`` for a failed op) and record."""

    type: int
    record: Record | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class MultiResponse:
    """The body of a multi's reply."""

    results: list[OpResult]

    def encode(self, w: Writer) -> None:
        for res in self.results:
            err = res.record.err if isinstance(res.record, ErrorResponse) else 0
            MultiHeader(res.type, False, err).encode(w)
            if res.record is not None:
                res.record.encode(w)
        _DONE.encode(w)

    def to_bytes(self) -> bytes:
        w = Writer()
        self.encode(w)
        return w.getvalue()

    @classmethod
    def decode(cls, r: Reader) -> MultiResponse:
        results: list[OpResult] = []
        h = MultiHeader.decode(r)
        while not h.done:
            if h.type not in _MULTI_RESULT_RECORDS:
                raise JuteError(f"Invalid type {h.type} in MultiResponse")
            rec_cls = _MULTI_RESULT_RECORDS[h.type]
            results.append(OpResult(h.type, rec_cls.decode(r) if rec_cls else None))
            h = MultiHeader.decode(r)
        return cls(results)


def decode_request_body(op: int, r: Reader) -> Record | MultiRequest | None:
    """Decode what follows a RequestHeader. Raises JuteError for bad bytes and KeyError
    for an opcode the protocol does not know (the caller answers UNIMPLEMENTED)."""
    if op in (OpCode.multi, OpCode.multiRead):
        return MultiRequest.decode(r)
    try:
        rec_cls = REQUEST_RECORDS[OpCode(op)]
    except ValueError:  # not an opcode at all
        raise KeyError(op) from None
    return rec_cls.decode(r) if rec_cls is not None else None
