"""QuorumVerifier: which sets of servers make a quorum, and the config string peers swap.

Two rules, as in ZooKeeper:

* ``QuorumMaj``: more than half of the voting members (participants; observers never
  count). Every server weighs 1.
* ``QuorumHierarchical``: servers sit in groups (``group.1=1:2:3``) with weights
  (``weight.1=2``, default 1); a set is a quorum when it holds more than half the
  weight of more than half the groups (groups of weight 0 do not count).

A notification carries the sender's verifier as text (``to_string``): the
``server.N=host:quorumPort:electionPort:role[;clientHost:clientPort]`` lines, then
``version=<hex>``. Peers use its version to spot a newer configuration (dynamic
reconfig, which we do not implement: we compare and log).

Mirrors: org.apache.zookeeper.server.quorum.flexible.QuorumVerifier, QuorumMaj,
QuorumHierarchical, and QuorumPeer.QuorumServer.toString.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

__all__ = ["QuorumHierarchical", "QuorumMaj", "QuorumServerLike", "QuorumVerifier"]


class QuorumServerLike(Protocol):
    """What a verifier reads of a ``server.N`` line (zk.startup's QuorumServer has it)."""

    @property
    def sid(self) -> int: ...
    @property
    def host(self) -> str: ...
    @property
    def quorum_port(self) -> int: ...
    @property
    def election_port(self) -> int: ...
    @property
    def role(self) -> str: ...


def _server_string(s: QuorumServerLike) -> str:
    """QuorumServer.toString, for a server read from a static zoo.cfg: the client
    address, when it came from ``clientPort``, is not part of it."""
    host = f"[{s.host}]" if ":" in s.host else s.host
    text = f"{host}:{s.quorum_port}:{s.election_port}:{s.role}"
    client_port = getattr(s, "client_port", None)
    if client_port is not None:
        client_host = getattr(s, "client_host", None) or "0.0.0.0"
        text += f";{client_host}:{client_port}"
    return text


class QuorumVerifier:
    """The base: members, voters, observers, a version. Subclasses decide quorums."""

    def __init__(self, members: Mapping[int, QuorumServerLike], version: int = 0) -> None:
        self.all_members: dict[int, QuorumServerLike] = dict(members)
        self.voting_members = {sid: s for sid, s in members.items() if s.role == "participant"}
        self.observing_members = {sid: s for sid, s in members.items() if s.role != "participant"}
        self.version = version

    def get_weight(self, sid: int) -> int:
        return 1

    def contains_quorum(self, ack_set: Iterable[int]) -> bool:
        raise NotImplementedError

    def to_string(self) -> str:
        """The config text a notification carries (QuorumMaj.toString's shape)."""
        lines = [f"server.{sid}={_server_string(s)}\n" for sid, s in self.all_members.items()]
        return "".join(lines) + self._extra_lines() + f"version={self.version:x}"

    def _extra_lines(self) -> str:
        return ""


class QuorumMaj(QuorumVerifier):
    """More than half of the voting members. Mirrors: flexible.QuorumMaj."""

    def __init__(self, members: Mapping[int, QuorumServerLike], version: int = 0) -> None:
        super().__init__(members, version)
        self.half = len(self.voting_members) // 2

    def contains_quorum(self, ack_set: Iterable[int]) -> bool:
        # SyncedLearnerTracker adds only voting members' acks; so do we.
        return len({sid for sid in ack_set if sid in self.voting_members}) > self.half


class QuorumHierarchical(QuorumVerifier):
    """Groups and weights. Mirrors: flexible.QuorumHierarchical.

    Raises:
        ValueError: A server in two groups, or a participant in none.
    """

    def __init__(
        self,
        members: Mapping[int, QuorumServerLike],
        groups: Mapping[int, Iterable[int]],
        weights: Mapping[int, int] | None = None,
        version: int = 0,
    ) -> None:
        super().__init__(members, version)
        self.server_group: dict[int, int] = {}
        for gid, sids in groups.items():
            for sid in sids:
                if sid in self.server_group:
                    raise ValueError(f"Server {sid} is in multiple groups")
                self.server_group[sid] = gid
        self.server_weight: dict[int, int] = dict(weights or {})
        for sid in self.voting_members:
            if sid not in self.server_group:
                raise ValueError(f"Server {sid} is not in a group")
            self.server_weight.setdefault(sid, 1)
        self.group_weight: dict[int, int] = {}
        for sid, gid in self.server_group.items():
            self.group_weight[gid] = self.group_weight.get(gid, 0) + self.server_weight.get(sid, 1)
        # groups of weight 0 do not count towards the number of groups
        self.num_groups = sum(1 for w in self.group_weight.values() if w != 0)

    def get_weight(self, sid: int) -> int:
        return self.server_weight.get(sid, 0)

    def contains_quorum(self, ack_set: Iterable[int]) -> bool:
        expansion: dict[int, int] = {}
        for sid in set(ack_set):
            gid = self.server_group.get(sid)
            if gid is not None:
                expansion[gid] = expansion.get(gid, 0) + self.server_weight.get(sid, 1)
        majority_groups = sum(1 for gid, w in expansion.items() if w > self.group_weight[gid] // 2)
        return majority_groups > self.num_groups // 2

    def _extra_lines(self) -> str:
        groups: dict[int, list[int]] = {}
        for sid, gid in self.server_group.items():
            groups.setdefault(gid, []).append(sid)
        text = "".join(f"group.{gid}={':'.join(map(str, sids))}\n" for gid, sids in groups.items())
        return text + "".join(f"weight.{sid}={w}\n" for sid, w in self.server_weight.items())
