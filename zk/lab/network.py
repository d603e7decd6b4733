"""The network between an ensemble's members, made of proxies the lab can cut.

Every member gets its own zoo.cfg. In server X's file its own ``server.X`` line holds its
real ports (it binds them), and every other ``server.Y`` line points at two proxies that
forward X's connections to Y: one for Y's quorum port, one for its election port. Both
kinds of server connect to a peer at the address of that peer's line in their own
configuration (QuorumCnxManager.connectOne, Learner.findLeader), so every byte between X
and Y passes through the pair of proxies X→Y and Y→X, and the processes themselves are
never touched:

    server.1's zoo.cfg                      server.2's zoo.cfg
    server.1=127.0.0.1:Q1:E1   (real)       server.1=127.0.0.1:p(2→1,q):p(2→1,e)
    server.2=127.0.0.1:p(1→2,q):p(1→2,e)    server.2=127.0.0.1:Q2:E2   (real)

One thing needs help. The election's initial message carries the sender's own election
address, and a receiver with the higher id that drops the connection connects back to
that address (QuorumCnxManager.handleConnection in 3.8; ours uses its own view), which
would go around the proxies. The election proxy X→Y therefore rewrites that address to
the one of the proxy Y→X.

`partition()` then cuts, between two groups, every link in both directions: existing
connections are closed and new ones refused, while links inside a group stay up. A TCP
connection carries bytes both ways, so a link is cut as a whole (no one-way partitions).

Mirrors: nothing in ZooKeeper; Jepsen's partition nemesis (partition, isolate a node,
heal), done with proxies instead of iptables so it needs no root.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Sequence
from typing import Literal

from zk.election.messages import ElectionWireError, InitialMessage, encode_initial_message, parse_initial_message
from zk.lab.config import QuorumMember
from zk.lab.ports import LOOPBACK
from zk.lab.proxy import FirstMessageRewrite, Proxy

__all__ = ["Network", "PortKind", "readdress_initial_message"]

PortKind = Literal["quorum", "election"]
"""Which peer port a proxy fronts: the leader's quorum port, or the election port."""


def readdress_initial_message(data: bytes, host: str, port: int) -> bytes | None:
    """`data` with the election address of its initial message replaced by ``host:port``.

    Returns:
        The rewritten bytes (the message, then whatever followed it), `data` unchanged if
        it is no valid initial message or an old one without an address (the server
        refuses or handles it as it would without us), or None while more bytes are needed.
    """
    try:
        parsed = parse_initial_message(data)
    except ElectionWireError:
        return data
    if parsed is None:
        return None
    msg, used = parsed
    if not msg.election_addrs:  # before 3.5.0: the sid alone, and the receiver uses its view
        return data
    readdressed = InitialMessage(msg.sid, ((host, port),), msg.protocol_version)
    return encode_initial_message(readdressed) + data[used:]


class Network:
    """The links between an ensemble's members, each ordered pair through two proxies.

    Attributes:
        members: The real ``server.N`` lines, by sid.
        proxies: The proxy forwarding `x`'s connections to `y`'s port of `kind`, keyed
            by ``(x, y, kind)``.

    Mirrors: no Java class; Jepsen's net and partition nemesis.
    """

    def __init__(self, members: Sequence[QuorumMember]) -> None:
        self.members = {m.sid: m for m in members}
        if len(self.members) != len(members):
            raise ValueError(f"duplicate server ids in {[m.sid for m in members]}")
        self.proxies: dict[tuple[int, int, PortKind], Proxy] = {}
        self._cut: set[frozenset[int]] = set()
        try:
            for x, y in itertools.permutations(self.members, 2):
                target = self.members[y]
                self.proxies[x, y, "quorum"] = Proxy(target.host, target.quorum_port)
                self.proxies[x, y, "election"] = Proxy(
                    target.host, target.election_port, rewrite_first=self._readdress_for(x, y)
                )
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        cut = sorted(tuple(sorted(link)) for link in self._cut)
        return f"<Network of {sorted(self.members)} cut={cut}>"

    def _readdress_for(self, x: int, y: int) -> FirstMessageRewrite:
        def rewrite(data: bytes) -> bytes | None:
            # y must call x back through the proxy y→x (created by the time x connects)
            return readdress_initial_message(data, LOOPBACK, self.proxies[y, x, "election"].port)

        return rewrite

    def view(self, sid: int) -> list[QuorumMember]:
        """The ``server.N`` lines for `sid`'s own zoo.cfg: its own real, the others' the
        proxies that forward its connections to them."""
        lines = []
        for y, member in sorted(self.members.items()):
            if y != sid:
                member = dataclasses.replace(
                    member,
                    host=LOOPBACK,
                    quorum_port=self.proxies[sid, y, "quorum"].port,
                    election_port=self.proxies[sid, y, "election"].port,
                )
            lines.append(member)
        return lines

    def connected(self, x: int, y: int) -> bool:
        """Whether the link between `x` and `y` is up (both directions: one link)."""
        return frozenset((x, y)) not in self._cut

    def partition(self, *groups: Iterable[int]) -> None:
        """Split the members into `groups`: every link between two groups is cut both ways.

        Existing connections are closed and new ones refused; links inside a group are
        up. The call replaces any earlier partition (``partition({1}, {2, 3})`` then
        ``partition({3}, {1, 2})`` leaves 1 and 2 connected).

        Raises:
            ValueError: The groups overlap, name an unknown server, or leave one out.
        """
        sets = [set(g) for g in groups]
        named = [sid for g in sets for sid in g]
        if len(named) != len(set(named)) or set(named) != set(self.members):
            raise ValueError(f"groups {sets} must split the members {sorted(self.members)} without overlap")
        group_of = {sid: i for i, g in enumerate(sets) for sid in g}
        cut = {frozenset(p) for p in itertools.combinations(self.members, 2) if group_of[p[0]] != group_of[p[1]]}
        for x, y in itertools.permutations(self.members, 2):
            down = frozenset((x, y)) in cut
            for kind in ("quorum", "election"):
                proxy = self.proxies[x, y, kind]
                if down:
                    proxy.drop()
                else:
                    proxy.restore()
        self._cut = cut

    def isolate(self, sid: int) -> None:
        """Cut `sid` off from every other member (the others stay connected)."""
        if sid not in self.members:
            raise ValueError(f"no server {sid} in {sorted(self.members)}")
        self.partition({sid}, set(self.members) - {sid})

    def heal(self) -> None:
        """Bring every link up again; servers reconnect on their own."""
        self.partition(self.members)

    def close(self) -> None:
        """Close every proxy (after the servers have stopped)."""
        for proxy in self.proxies.values():
            proxy.close()
