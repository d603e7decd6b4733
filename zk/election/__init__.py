"""zk.election: leader election, wire-compatible with ZooKeeper 3.8.

Chapter 10 of the book. Cores: the election port's codecs (``messages``), ``Vote`` and
the total order on votes, the quorum rules (``QuorumMaj``, ``QuorumHierarchical``) and
``FastLeaderElection``; a seeded simulator runs them on a virtual clock (``sim``). The
shell: ``QuorumCnxManager``, one TCP connection per pair of servers on the election port.

Mirrors: org.apache.zookeeper.server.quorum.FastLeaderElection, QuorumCnxManager, Vote,
flexible.QuorumVerifier / QuorumMaj / QuorumHierarchical.
"""

from zk.election.cnxn_manager import QuorumCnxManager
from zk.election.fle import (
    FINALIZE_WAIT,
    ConnectAll,
    FastLeaderElection,
    LeaderElected,
    SendNotification,
)
from zk.election.messages import (
    PROTOCOL_VERSION_V1,
    ElectionWireError,
    InitialMessage,
    Notification,
    ServerState,
    decode_notification,
    encode_initial_message,
    encode_notification,
    parse_initial_message,
)
from zk.election.quorum import QuorumHierarchical, QuorumMaj, QuorumVerifier
from zk.election.sim import SimMember, SimNetwork
from zk.election.vote import Vote, total_order_predicate

__all__ = [
    "FINALIZE_WAIT",
    "PROTOCOL_VERSION_V1",
    "ConnectAll",
    "ElectionWireError",
    "FastLeaderElection",
    "InitialMessage",
    "LeaderElected",
    "Notification",
    "QuorumCnxManager",
    "QuorumHierarchical",
    "QuorumMaj",
    "QuorumVerifier",
    "SendNotification",
    "ServerState",
    "SimMember",
    "SimNetwork",
    "Vote",
    "decode_notification",
    "encode_initial_message",
    "encode_notification",
    "parse_initial_message",
    "total_order_predicate",
]
