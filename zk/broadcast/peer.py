"""What the leader and the learners need from their QuorumPeer.

The QuorumPeer (zk.startup, later in the book) owns the epoch files, the election and
the client port; a Leader or a Learner lives for one term inside it. This protocol is
the narrow view they get, so that tests can hand them a fake peer.

Mirrors: the parts of org.apache.zookeeper.server.quorum.QuorumPeer that Leader,
LearnerHandler and Learner call (getAcceptedEpoch/setAcceptedEpoch,
getCurrentEpoch/setCurrentEpoch, tickTime, initLimit, syncLimit, getQuorumVerifier,
updateElectionVote, setZooKeeperServer).
"""

from __future__ import annotations

from typing import Protocol

from zk.election import QuorumVerifier
from zk.server import ZooKeeperServer

__all__ = ["QuorumPeerView"]


class QuorumPeerView(Protocol):
    """The QuorumPeer as a Leader or Learner sees it."""

    my_id: int
    verifier: QuorumVerifier
    tick_time: int
    init_limit: int
    sync_limit: int

    @property
    def max_buffer(self) -> int:
        """jute.maxbuffer plus room for the packet around it."""

    @property
    def current_epoch(self) -> int: ...

    @property
    def accepted_epoch(self) -> int: ...

    def set_current_epoch(self, epoch: int) -> None:
        """Write ``currentEpoch`` (atomically, fsynced) before returning."""

    def set_accepted_epoch(self, epoch: int) -> None:
        """Write ``acceptedEpoch`` (atomically, fsynced) before returning."""

    def quorum_address(self, sid: int) -> tuple[str, int]:
        """``server.<sid>``'s host and quorum port."""

    def quorum_listen_host(self) -> str:
        """Where the leader listens for learners (quorumListenOnAllIPs: 0.0.0.0)."""

    def update_election_vote(self, epoch: int) -> None:
        """Our vote now carries the new epoch (ZOOKEEPER-1732)."""

    def set_serving(self, zks: ZooKeeperServer | None) -> None:
        """Hand the client port to `zks` (None: back to not serving)."""
