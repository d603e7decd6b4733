"""Error codes of the client protocol and the exceptions named after them.

Every reply carries an ``err`` field in its ReplyHeader: 0 for success, otherwise one of
the codes below. Inside the server a failing check raises the matching exception (for
example ``NoNodeException("/a/b")``) and the boundary turns it back into the code, so
the server and the Python client share one table.

Mirrors: org.apache.zookeeper.KeeperException and its Code enum; the messages are those
of KeeperException.getCodeMessage, so our log lines read like the Java server's.
"""

from __future__ import annotations

import enum
from typing import ClassVar

__all__ = [
    "APIErrorException",
    "AuthFailedException",
    "BadArgumentsException",
    "BadVersionException",
    "Code",
    "ConnectionLossException",
    "InvalidACLException",
    "KeeperException",
    "MarshallingErrorException",
    "NoAuthException",
    "NoChildrenForEphemeralsException",
    "NoNodeException",
    "NoWatcherException",
    "NodeExistsException",
    "NotEmptyException",
    "NotReadOnlyException",
    "OperationTimeoutException",
    "QuotaExceededException",
    "ReconfigDisabledException",
    "RuntimeInconsistencyException",
    "SessionExpiredException",
    "SessionMovedException",
    "SystemErrorException",
    "ThrottledOpException",
    "UnimplementedException",
    "UnknownSessionException",
    "exception_for",
]


class Code(enum.IntEnum):
    """KeeperException.Code: the value of ReplyHeader.err."""

    OK = 0
    SYSTEMERROR = -1
    RUNTIMEINCONSISTENCY = -2
    DATAINCONSISTENCY = -3
    CONNECTIONLOSS = -4
    MARSHALLINGERROR = -5
    UNIMPLEMENTED = -6
    OPERATIONTIMEOUT = -7
    BADARGUMENTS = -8
    UNKNOWNSESSION = -12
    NEWCONFIGNOQUORUM = -13
    RECONFIGINPROGRESS = -14
    APIERROR = -100
    NONODE = -101
    NOAUTH = -102
    BADVERSION = -103
    NOCHILDRENFOREPHEMERALS = -108
    NODEEXISTS = -110
    NOTEMPTY = -111
    SESSIONEXPIRED = -112
    INVALIDCALLBACK = -113
    INVALIDACL = -114
    AUTHFAILED = -115
    SESSIONMOVED = -118
    NOTREADONLY = -119
    EPHEMERALONLOCALSESSION = -120
    NOWATCHER = -121
    REQUESTTIMEOUT = -122
    RECONFIGDISABLED = -123
    SESSIONCLOSEDREQUIRESASLAUTH = -124
    QUOTAEXCEEDED = -125
    THROTTLEDOP = -127

    @property
    def message(self) -> str:
        return _MESSAGES.get(self, self.name)


_MESSAGES = {
    Code.OK: "ok",
    Code.SYSTEMERROR: "SystemError",
    Code.RUNTIMEINCONSISTENCY: "RuntimeInconsistency",
    Code.DATAINCONSISTENCY: "DataInconsistency",
    Code.CONNECTIONLOSS: "ConnectionLoss",
    Code.MARSHALLINGERROR: "MarshallingError",
    Code.NEWCONFIGNOQUORUM: "NewConfigNoQuorum",
    Code.RECONFIGINPROGRESS: "ReconfigInProgress",
    Code.UNIMPLEMENTED: "Unimplemented",
    Code.OPERATIONTIMEOUT: "OperationTimeout",
    Code.BADARGUMENTS: "BadArguments",
    Code.APIERROR: "APIError",
    Code.NONODE: "NoNode",
    Code.NOAUTH: "NoAuth",
    Code.BADVERSION: "BadVersion",
    Code.NOCHILDRENFOREPHEMERALS: "NoChildrenForEphemerals",
    Code.NODEEXISTS: "NodeExists",
    Code.INVALIDACL: "InvalidACL",
    Code.AUTHFAILED: "AuthFailed",
    Code.NOTEMPTY: "Directory not empty",
    Code.SESSIONEXPIRED: "Session expired",
    Code.INVALIDCALLBACK: "Invalid callback",
    Code.SESSIONMOVED: "Session moved",
    Code.NOTREADONLY: "Not a read-only call",
    Code.EPHEMERALONLOCALSESSION: "Ephemeral node on local session",
    Code.NOWATCHER: "No such watcher",
    Code.RECONFIGDISABLED: "Reconfig is disabled",
    Code.SESSIONCLOSEDREQUIRESASLAUTH: "Session closed because client failed to authenticate",
    Code.QUOTAEXCEEDED: "Quota has exceeded",
    Code.THROTTLEDOP: "Op throttled due to high load",
}


class KeeperException(Exception):
    """A request failed with a ZooKeeper error code, usually the client's fault.

    ``path`` names the node the failure is about, when there is one; the message reads
    ``KeeperErrorCode = NoNode for /a`` exactly as the Java exception's does.
    """

    code: ClassVar[Code] = Code.SYSTEMERROR

    def __init__(self, path: str | None = None, code: Code | None = None) -> None:
        if code is not None:
            self.code = code  # type: ignore[misc]  # a generic KeeperException for any code
        self.path = path
        text = f"KeeperErrorCode = {self.code.message}"
        super().__init__(text if path is None else f"{text} for {path}")


def _make(name: str, code: Code) -> type[KeeperException]:
    return type(name, (KeeperException,), {"code": code, "__doc__": f"KeeperException for {code.name}."})


SystemErrorException = _make("SystemErrorException", Code.SYSTEMERROR)
ConnectionLossException = _make("ConnectionLossException", Code.CONNECTIONLOSS)
OperationTimeoutException = _make("OperationTimeoutException", Code.OPERATIONTIMEOUT)
RuntimeInconsistencyException = _make("RuntimeInconsistencyException", Code.RUNTIMEINCONSISTENCY)
MarshallingErrorException = _make("MarshallingErrorException", Code.MARSHALLINGERROR)
UnimplementedException = _make("UnimplementedException", Code.UNIMPLEMENTED)
BadArgumentsException = _make("BadArgumentsException", Code.BADARGUMENTS)
UnknownSessionException = _make("UnknownSessionException", Code.UNKNOWNSESSION)
APIErrorException = _make("APIErrorException", Code.APIERROR)
NoNodeException = _make("NoNodeException", Code.NONODE)
NoAuthException = _make("NoAuthException", Code.NOAUTH)
BadVersionException = _make("BadVersionException", Code.BADVERSION)
NoChildrenForEphemeralsException = _make("NoChildrenForEphemeralsException", Code.NOCHILDRENFOREPHEMERALS)
NodeExistsException = _make("NodeExistsException", Code.NODEEXISTS)
NotEmptyException = _make("NotEmptyException", Code.NOTEMPTY)
SessionExpiredException = _make("SessionExpiredException", Code.SESSIONEXPIRED)
InvalidACLException = _make("InvalidACLException", Code.INVALIDACL)
AuthFailedException = _make("AuthFailedException", Code.AUTHFAILED)
SessionMovedException = _make("SessionMovedException", Code.SESSIONMOVED)
NotReadOnlyException = _make("NotReadOnlyException", Code.NOTREADONLY)
NoWatcherException = _make("NoWatcherException", Code.NOWATCHER)
ReconfigDisabledException = _make("ReconfigDisabledException", Code.RECONFIGDISABLED)
QuotaExceededException = _make("QuotaExceededException", Code.QUOTAEXCEEDED)
ThrottledOpException = _make("ThrottledOpException", Code.THROTTLEDOP)

_BY_CODE: dict[Code, type[KeeperException]] = {cls.code: cls for cls in KeeperException.__subclasses__()}


def exception_for(code: int, path: str | None = None) -> KeeperException:
    """The exception for an error code (``KeeperException.create``)."""
    c = Code(code)
    cls = _BY_CODE.get(c)
    return cls(path) if cls is not None else KeeperException(path, c)
