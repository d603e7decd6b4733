"""zk.processors: the request processor chain, where requests become transactions.

Chapter 8 of the book: PrepRequestProcessor (checks, zxids, transactions, multi),
SyncRequestProcessor (batches; the log and group commit arrive with zk.storage) and
FinalRequestProcessor (apply and reply), with ZKDatabase joining the DataTree and its
watches.

Mirrors: org.apache.zookeeper.server.PrepRequestProcessor, SyncRequestProcessor,
FinalRequestProcessor, ZKDatabase, Request.
"""

from zk.processors.chain import StandaloneChain, SyncRequestProcessor
from zk.processors.database import ZKDatabase
from zk.processors.final import FinalRequestProcessor
from zk.processors.prep import PrepRequestProcessor
from zk.processors.request import OWNER, ChangeRecord, Request, RequestOwner

__all__ = [
    "OWNER",
    "ChangeRecord",
    "FinalRequestProcessor",
    "PrepRequestProcessor",
    "Request",
    "RequestOwner",
    "StandaloneChain",
    "SyncRequestProcessor",
    "ZKDatabase",
]
