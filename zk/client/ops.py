"""The operations of a multi, and their results.

``multi`` sends several writes that succeed or fail together; ``multiRead`` several
reads answered together (each may fail on its own). Each operation is an :class:`Op`,
built with the class methods below, and each answer an :class:`OpResult` subclass::

    await zk.multi([Op.create("/a", b""), Op.set_data("/b", b"x", version=3)])
    -> [CreateResult(path='/a', stat=None), SetDataResult(stat=Stat(...))]

A failed multi raises the exception of its first failed op; ``exc.results`` holds every
result, ErrorResult(err=0) for the ops that would have succeeded and
ErrorResult(RUNTIMEINCONSISTENCY) for those after the failure.

Mirrors: org.apache.zookeeper.Op, org.apache.zookeeper.OpResult, org.apache.zookeeper.
Transaction and MultiOperationRecord.
"""

from __future__ import annotations

import dataclasses

from zk.client.host_provider import prepend_chroot, strip_chroot
from zk.data.acl import OPEN_ACL_UNSAFE
from zk.data.paths import validate_path
from zk.jute.codec import Record
from zk.jute.records import (
    ACL,
    CheckVersionRequest,
    Create2Response,
    CreateRequest,
    CreateResponse,
    CreateTTLRequest,
    DeleteRequest,
    ErrorResponse,
    GetChildrenRequest,
    GetChildrenResponse,
    GetDataRequest,
    GetDataResponse,
    SetDataRequest,
    SetDataResponse,
    Stat,
)
from zk.protocol.constants import CreateMode, OpCode
from zk.protocol.messages import MULTI_READ_OPS, MultiRequest, MultiResponse

__all__ = [
    "CheckResult",
    "CreateResult",
    "DeleteResult",
    "ErrorResult",
    "GetChildrenResult",
    "GetDataResult",
    "Op",
    "OpResult",
    "SetDataResult",
    "create_opcode",
    "make_multi_request",
    "op_results",
]


def create_opcode(mode: CreateMode, with_stat: bool) -> OpCode:
    """The opcode of a create (ZooKeeper.setCreateHeader): TTL modes need createTTL,
    containers createContainer; with a Stat wanted, create2; else create."""
    if mode.is_ttl:
        return OpCode.createTTL
    if mode.is_container:
        return OpCode.createContainer
    return OpCode.create2 if with_stat else OpCode.create


@dataclasses.dataclass(frozen=True, slots=True)
class Op:
    """One operation of a multi or multiRead: its opcode and request record (client path).

    Mirrors: org.apache.zookeeper.Op.
    """

    type: OpCode
    request: Record
    path: str

    @classmethod
    def create(
        cls,
        path: str,
        data: bytes = b"",
        acl: list[ACL] | None = None,
        mode: CreateMode = CreateMode.PERSISTENT,
        ttl: int = -1,
    ) -> Op:
        validate_path(path, mode.is_sequential)
        acl = OPEN_ACL_UNSAFE if acl is None else acl
        op = create_opcode(mode, with_stat=False)
        if op is OpCode.createTTL:
            return cls(op, CreateTTLRequest(path, data, acl, int(mode), ttl), path)
        return cls(op, CreateRequest(path, data, acl, int(mode)), path)

    @classmethod
    def delete(cls, path: str, version: int = -1) -> Op:
        validate_path(path)
        return cls(OpCode.delete, DeleteRequest(path, version), path)

    @classmethod
    def set_data(cls, path: str, data: bytes, version: int = -1) -> Op:
        validate_path(path)
        return cls(OpCode.setData, SetDataRequest(path, data, version), path)

    @classmethod
    def check(cls, path: str, version: int) -> Op:
        validate_path(path)
        return cls(OpCode.check, CheckVersionRequest(path, version), path)

    @classmethod
    def get_data(cls, path: str) -> Op:
        validate_path(path)
        return cls(OpCode.getData, GetDataRequest(path, False), path)

    @classmethod
    def get_children(cls, path: str) -> Op:
        validate_path(path)
        return cls(OpCode.getChildren, GetChildrenRequest(path, False), path)

    def with_chroot(self, chroot: str | None) -> Op:
        """The same op with the server's path (Op.withChroot)."""
        if chroot is None:
            return self
        return dataclasses.replace(
            self,
            request=dataclasses.replace(self.request, path=prepend_chroot(chroot, self.path)),  # type: ignore[type-var]
        )


@dataclasses.dataclass(frozen=True, slots=True)
class OpResult:
    """The result of one op. Mirrors org.apache.zookeeper.OpResult."""


@dataclasses.dataclass(frozen=True, slots=True)
class CreateResult(OpResult):
    path: str
    stat: Stat | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class DeleteResult(OpResult):
    pass


@dataclasses.dataclass(frozen=True, slots=True)
class SetDataResult(OpResult):
    stat: Stat


@dataclasses.dataclass(frozen=True, slots=True)
class CheckResult(OpResult):
    pass


@dataclasses.dataclass(frozen=True, slots=True)
class GetDataResult(OpResult):
    data: bytes | None
    stat: Stat


@dataclasses.dataclass(frozen=True, slots=True)
class GetChildrenResult(OpResult):
    children: list[str]


@dataclasses.dataclass(frozen=True, slots=True)
class ErrorResult(OpResult):
    err: int


def make_multi_request(ops: list[Op], chroot: str | None) -> tuple[OpCode, MultiRequest]:
    """The opcode (multi or multiRead) and body of a list of ops; mixing reads and writes
    is the caller's error (ValueError)."""
    reads = [op.type in MULTI_READ_OPS for op in ops]
    if any(reads) and not all(reads):
        raise ValueError("a multi holds only writes (create, delete, setData, check) or only reads")
    opcode = OpCode.multiRead if ops and all(reads) else OpCode.multi
    return opcode, MultiRequest([(int(op.type), op.with_chroot(chroot).request) for op in ops])


def op_results(response: MultiResponse, chroot: str | None) -> list[OpResult]:
    """The results of a multi's reply, with the chroot taken off created paths."""
    out: list[OpResult] = []
    for res in response.results:
        rec = res.record
        if isinstance(rec, Create2Response):
            out.append(CreateResult(strip_chroot(chroot, rec.path or ""), rec.stat))
        elif isinstance(rec, CreateResponse):
            out.append(CreateResult(strip_chroot(chroot, rec.path or "")))
        elif isinstance(rec, SetDataResponse):
            out.append(SetDataResult(rec.stat))
        elif isinstance(rec, GetDataResponse):
            out.append(GetDataResult(rec.data, rec.stat))
        elif isinstance(rec, GetChildrenResponse):
            out.append(GetChildrenResult(list(rec.children or [])))
        elif isinstance(rec, ErrorResponse):
            out.append(ErrorResult(rec.err))
        elif res.type == OpCode.delete:
            out.append(DeleteResult())
        elif res.type == OpCode.check:
            out.append(CheckResult())
        else:
            raise ValueError(f"unexpected result type {res.type} in a MultiResponse")
    return out
