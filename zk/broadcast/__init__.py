"""zk.broadcast: atomic broadcast, ZAB's two modes on ZooKeeper's quorum wire format.

Chapter 11 of the book. The quorum port's packets (``packets``); the Leader, with its
epoch negotiation and its proposal/ACK/commit bookkeeping (``leader``); one
LearnerHandler per learner with its FIFO send queue (``learner_handler``); the
Follower and Observer (``learner``); and the ZooKeeperServers each runs
(``servers``). The sync step between discovery and broadcast is zk.sync's (chapter 12),
handed in by the QuorumPeer.

Mirrors: org.apache.zookeeper.server.quorum.Leader, LearnerHandler, Learner, Follower,
Observer, LeaderZooKeeperServer, FollowerZooKeeperServer, ObserverZooKeeperServer,
LearnerSessionTracker, QuorumPacket.
"""

from zk.broadcast.leader import Leader, LeaderTimeout, LearnerSyncRequest, Proposal, SyncFollower
from zk.broadcast.learner import Follower, Learner, Observer, SyncWithLeader, request_from_txn
from zk.broadcast.learner_handler import LearnerHandler, SyncLimitCheck
from zk.broadcast.packets import PacketType, QuorumWireError, StateSummary, packet, packet_to_string, read_packet
from zk.broadcast.peer import QuorumPeerView
from zk.broadcast.servers import (
    FollowerZooKeeperServer,
    LeaderZooKeeperServer,
    LearnerSessionTracker,
    ObserverZooKeeperServer,
)

__all__ = [
    "Follower",
    "FollowerZooKeeperServer",
    "Leader",
    "LeaderTimeout",
    "LeaderZooKeeperServer",
    "Learner",
    "LearnerHandler",
    "LearnerSessionTracker",
    "LearnerSyncRequest",
    "Observer",
    "ObserverZooKeeperServer",
    "PacketType",
    "Proposal",
    "QuorumPeerView",
    "QuorumWireError",
    "StateSummary",
    "SyncFollower",
    "SyncLimitCheck",
    "SyncWithLeader",
    "packet",
    "packet_to_string",
    "read_packet",
    "request_from_txn",
]
