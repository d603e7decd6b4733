"""Vote and the total order on votes: the two facts every election decision rests on.

A vote names a leader and what that leader has: ``(id, zxid, peer_epoch)``, plus the
round it was cast in (``election_epoch``) and the voter's state. The order that picks the
winner compares, in turn, the proposed leader's *peer epoch* (the last epoch it
accepted), its *last zxid*, and its *server id*: the candidate with the most recent
history wins, so a new leader holds every proposal a quorum acknowledged.

Mirrors: org.apache.zookeeper.server.quorum.Vote and
FastLeaderElection.totalOrderPredicate.
"""

from __future__ import annotations

import dataclasses

from zk.election.messages import ServerState

__all__ = ["Vote", "total_order_predicate"]


@dataclasses.dataclass(frozen=True, slots=True)
class Vote:
    """One vote. Mirrors: org.apache.zookeeper.server.quorum.Vote."""

    id: int
    zxid: int
    election_epoch: int = -1
    peer_epoch: int = -1
    state: ServerState = ServerState.LOOKING
    version: int = 0

    def matches(self, other: Vote) -> bool:
        """Vote.equals: between LOOKING votes every field but the state counts; once
        either side has settled, the leader (and its epoch, if both carry a version).

        ``==`` stays the dataclass's field-wise equality.
        """
        if self.state == ServerState.LOOKING or other.state == ServerState.LOOKING:
            return (self.id, self.zxid, self.election_epoch, self.peer_epoch) == (
                other.id,
                other.zxid,
                other.election_epoch,
                other.peer_epoch,
            )
        if (self.version > 0) != (other.version > 0):
            return self.id == other.id
        return self.id == other.id and self.peer_epoch == other.peer_epoch

    def __str__(self) -> str:
        return f"({self.id}, {self.zxid & 0xFFFFFFFFFFFFFFFF:x}, {self.peer_epoch & 0xFFFFFFFFFFFFFFFF:x})"


def total_order_predicate(
    new_id: int, new_zxid: int, new_epoch: int, cur_id: int, cur_zxid: int, cur_epoch: int, new_weight: int = 1
) -> bool:
    """Whether the vote for `new_id` beats the current one.

    True if the new candidate has a higher peer epoch; or the same epoch and a higher
    zxid; or the same epoch and zxid and a higher server id. A candidate of weight 0
    (hierarchical quorums) never wins.

    Mirrors: FastLeaderElection.totalOrderPredicate.
    """
    if new_weight == 0:
        return False
    return (new_epoch, new_zxid, new_id) > (cur_epoch, cur_zxid, cur_id)
