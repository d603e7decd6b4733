"""The records of ``zookeeper.jute``: every message and file entry ZooKeeper writes.

One class per jute class, in the order and with the field names of zookeeper.jute (the
camelCase stays, so a reader can hold a record beside its Java twin). Five modules:

- ``org.apache.zookeeper.data``: Id, ACL, Stat and what the server persists.
- ``org.apache.zookeeper.proto``: the client protocol's requests and responses.
- ``org.apache.zookeeper.server.quorum``: the quorum packets between servers.
- ``org.apache.zookeeper.server.persistence``: the file header of logs and snapshots.
- ``org.apache.zookeeper.txn``: transactions, as logged and as proposed.

``tests/jute/test_records_match_zookeeper.py`` checks every field name and type against
the classes in Apache ZooKeeper's own jar.

Mirrors: zookeeper-jute/src/main/resources/zookeeper.jute and the classes jute
generates from it.
"""

from __future__ import annotations

from typing import Annotated

from zk.jute.codec import USTRING, Bool, Buffer, Int, Long, Record, UString, record, vector

DATA = "org.apache.zookeeper.data"
PROTO = "org.apache.zookeeper.proto"
QUORUM = "org.apache.zookeeper.server.quorum"
PERSISTENCE = "org.apache.zookeeper.server.persistence"
TXN = "org.apache.zookeeper.txn"

__all__ = [
    "ACL",
    "DATA",
    "PERSISTENCE",
    "PROTO",
    "QUORUM",
    "TXN",
    "AddWatchRequest",
    "AuthPacket",
    "CheckVersionRequest",
    "CheckVersionTxn",
    "CheckWatchesRequest",
    "ClientInfo",
    "CloseSessionTxn",
    "ConnectRequest",
    "ConnectResponse",
    "Create2Response",
    "CreateContainerTxn",
    "CreateRequest",
    "CreateResponse",
    "CreateSessionTxn",
    "CreateTTLRequest",
    "CreateTTLTxn",
    "CreateTxn",
    "CreateTxnV0",
    "DeleteRequest",
    "DeleteTxn",
    "ErrorResponse",
    "ErrorTxn",
    "ExistsRequest",
    "ExistsResponse",
    "FileHeader",
    "GetACLRequest",
    "GetACLResponse",
    "GetAllChildrenNumberRequest",
    "GetAllChildrenNumberResponse",
    "GetChildren2Request",
    "GetChildren2Response",
    "GetChildrenRequest",
    "GetChildrenResponse",
    "GetDataRequest",
    "GetDataResponse",
    "GetEphemeralsRequest",
    "GetEphemeralsResponse",
    "GetMaxChildrenRequest",
    "GetMaxChildrenResponse",
    "GetSASLRequest",
    "Id",
    "LearnerInfo",
    "MultiHeader",
    "MultiTxn",
    "QuorumAuthPacket",
    "QuorumPacket",
    "ReconfigRequest",
    "RemoveWatchesRequest",
    "ReplyHeader",
    "RequestHeader",
    "SetACLRequest",
    "SetACLResponse",
    "SetACLTxn",
    "SetDataRequest",
    "SetDataResponse",
    "SetDataTxn",
    "SetMaxChildrenRequest",
    "SetMaxChildrenTxn",
    "SetSASLRequest",
    "SetSASLResponse",
    "SetWatches",
    "SetWatches2",
    "Stat",
    "StatPersisted",
    "Strings",
    "SyncRequest",
    "SyncResponse",
    "Txn",
    "TxnDigest",
    "TxnHeader",
    "WatcherEvent",
    "WhoAmIResponse",
]

Strings = Annotated[list[str] | None, vector(USTRING)]


# --- org.apache.zookeeper.data --------------------------------------------------------


@record(DATA)
class Id(Record):
    scheme: UString
    id: UString


@record(DATA)
class ACL(Record):
    perms: Int
    id: Id


@record(DATA)
class Stat(Record):
    czxid: Long
    mzxid: Long
    ctime: Long
    mtime: Long
    version: Int
    cversion: Int
    aversion: Int
    ephemeralOwner: Long
    dataLength: Int
    numChildren: Int
    pzxid: Long


@record(DATA)
class StatPersisted(Record):
    czxid: Long
    mzxid: Long
    ctime: Long
    mtime: Long
    version: Int
    cversion: Int
    aversion: Int
    ephemeralOwner: Long
    pzxid: Long


@record(DATA)
class ClientInfo(Record):
    authScheme: UString
    user: UString


# --- org.apache.zookeeper.proto -------------------------------------------------------


@record(PROTO)
class ConnectRequest(Record):
    protocolVersion: Int
    lastZxidSeen: Long
    timeOut: Int
    sessionId: Long
    passwd: Buffer
    readOnly: Bool


@record(PROTO)
class ConnectResponse(Record):
    protocolVersion: Int
    timeOut: Int
    sessionId: Long
    passwd: Buffer
    readOnly: Bool


@record(PROTO)
class SetWatches(Record):
    relativeZxid: Long
    dataWatches: Strings
    existWatches: Strings
    childWatches: Strings


@record(PROTO)
class SetWatches2(Record):
    relativeZxid: Long
    dataWatches: Strings
    existWatches: Strings
    childWatches: Strings
    persistentWatches: Strings
    persistentRecursiveWatches: Strings


@record(PROTO)
class RequestHeader(Record):
    xid: Int
    type: Int


@record(PROTO)
class MultiHeader(Record):
    type: Int
    done: Bool
    err: Int


@record(PROTO)
class AuthPacket(Record):
    type: Int
    scheme: UString
    auth: Buffer


@record(PROTO)
class ReplyHeader(Record):
    xid: Int
    zxid: Long
    err: Int


@record(PROTO)
class GetDataRequest(Record):
    path: UString
    watch: Bool


@record(PROTO)
class SetDataRequest(Record):
    path: UString
    data: Buffer
    version: Int


@record(PROTO)
class ReconfigRequest(Record):
    joiningServers: UString
    leavingServers: UString
    newMembers: UString
    curConfigId: Long


@record(PROTO)
class SetDataResponse(Record):
    stat: Stat


@record(PROTO)
class GetSASLRequest(Record):
    token: Buffer


@record(PROTO)
class SetSASLRequest(Record):
    token: Buffer


@record(PROTO)
class SetSASLResponse(Record):
    token: Buffer


@record(PROTO)
class CreateRequest(Record):
    path: UString
    data: Buffer
    acl: Annotated[list[ACL] | None, vector(ACL)]
    flags: Int


@record(PROTO)
class CreateTTLRequest(Record):
    path: UString
    data: Buffer
    acl: Annotated[list[ACL] | None, vector(ACL)]
    flags: Int
    ttl: Long


@record(PROTO)
class DeleteRequest(Record):
    path: UString
    version: Int


@record(PROTO)
class GetChildrenRequest(Record):
    path: UString
    watch: Bool


@record(PROTO)
class GetAllChildrenNumberRequest(Record):
    path: UString


@record(PROTO)
class GetChildren2Request(Record):
    path: UString
    watch: Bool


@record(PROTO)
class CheckVersionRequest(Record):
    path: UString
    version: Int


@record(PROTO)
class GetMaxChildrenRequest(Record):
    path: UString


@record(PROTO)
class GetMaxChildrenResponse(Record):
    max: Int


@record(PROTO)
class SetMaxChildrenRequest(Record):
    path: UString
    max: Int


@record(PROTO)
class SyncRequest(Record):
    path: UString


@record(PROTO)
class SyncResponse(Record):
    path: UString


@record(PROTO)
class GetACLRequest(Record):
    path: UString


@record(PROTO)
class SetACLRequest(Record):
    path: UString
    acl: Annotated[list[ACL] | None, vector(ACL)]
    version: Int


@record(PROTO)
class SetACLResponse(Record):
    stat: Stat


@record(PROTO)
class AddWatchRequest(Record):
    path: UString
    mode: Int


@record(PROTO)
class WatcherEvent(Record):
    type: Int
    state: Int
    path: UString


@record(PROTO)
class ErrorResponse(Record):
    err: Int


@record(PROTO)
class CreateResponse(Record):
    path: UString


@record(PROTO)
class Create2Response(Record):
    path: UString
    stat: Stat


@record(PROTO)
class ExistsRequest(Record):
    path: UString
    watch: Bool


@record(PROTO)
class ExistsResponse(Record):
    stat: Stat


@record(PROTO)
class GetDataResponse(Record):
    data: Buffer
    stat: Stat


@record(PROTO)
class GetChildrenResponse(Record):
    children: Strings


@record(PROTO)
class GetAllChildrenNumberResponse(Record):
    totalNumber: Int


@record(PROTO)
class GetChildren2Response(Record):
    children: Strings
    stat: Stat


@record(PROTO)
class GetACLResponse(Record):
    acl: Annotated[list[ACL] | None, vector(ACL)]
    stat: Stat


@record(PROTO)
class CheckWatchesRequest(Record):
    path: UString
    type: Int


@record(PROTO)
class RemoveWatchesRequest(Record):
    path: UString
    type: Int


@record(PROTO)
class GetEphemeralsRequest(Record):
    prefixPath: UString


@record(PROTO)
class GetEphemeralsResponse(Record):
    ephemerals: Strings


@record(PROTO)
class WhoAmIResponse(Record):
    clientInfo: Annotated[list[ClientInfo] | None, vector(ClientInfo)]


# --- org.apache.zookeeper.server.quorum -----------------------------------------------


@record(QUORUM)
class LearnerInfo(Record):
    serverid: Long
    protocolVersion: Int
    configVersion: Long


@record(QUORUM)
class QuorumPacket(Record):
    type: Int
    zxid: Long
    data: Buffer
    authinfo: Annotated[list[Id] | None, vector(Id)]


@record(QUORUM)
class QuorumAuthPacket(Record):
    magic: Long
    status: Int
    token: Buffer


# --- org.apache.zookeeper.server.persistence ------------------------------------------


@record(PERSISTENCE)
class FileHeader(Record):
    magic: Int
    version: Int
    dbid: Long


# --- org.apache.zookeeper.txn ---------------------------------------------------------


@record(TXN)
class TxnDigest(Record):
    version: Int
    treeDigest: Long


@record(TXN)
class TxnHeader(Record):
    clientId: Long
    cxid: Int
    zxid: Long
    time: Long
    type: Int


@record(TXN)
class CreateTxnV0(Record):
    path: UString
    data: Buffer
    acl: Annotated[list[ACL] | None, vector(ACL)]
    ephemeral: Bool


@record(TXN)
class CreateTxn(Record):
    path: UString
    data: Buffer
    acl: Annotated[list[ACL] | None, vector(ACL)]
    ephemeral: Bool
    parentCVersion: Int


@record(TXN)
class CreateTTLTxn(Record):
    path: UString
    data: Buffer
    acl: Annotated[list[ACL] | None, vector(ACL)]
    parentCVersion: Int
    ttl: Long


@record(TXN)
class CreateContainerTxn(Record):
    path: UString
    data: Buffer
    acl: Annotated[list[ACL] | None, vector(ACL)]
    parentCVersion: Int


@record(TXN)
class DeleteTxn(Record):
    path: UString


@record(TXN)
class SetDataTxn(Record):
    path: UString
    data: Buffer
    version: Int


@record(TXN)
class CheckVersionTxn(Record):
    path: UString
    version: Int


@record(TXN)
class SetACLTxn(Record):
    path: UString
    acl: Annotated[list[ACL] | None, vector(ACL)]
    version: Int


@record(TXN)
class SetMaxChildrenTxn(Record):
    path: UString
    max: Int


@record(TXN)
class CreateSessionTxn(Record):
    timeOut: Int


@record(TXN)
class CloseSessionTxn(Record):
    paths2Delete: Strings


@record(TXN)
class ErrorTxn(Record):
    err: Int


@record(TXN)
class Txn(Record):
    type: Int
    data: Buffer


@record(TXN)
class MultiTxn(Record):
    txns: Annotated[list[Txn] | None, vector(Txn)]
