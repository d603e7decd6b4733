"""QuorumVerifier: which sets of servers make a quorum, and the config string peers swap.

Two rules, as in ZooKeeper:

* ``QuorumMaj``: more than half of the voting members (participants; observers never
  count). Every server weighs 1.
* ``QuorumHierarchical``: servers sit in groups (``group.1=1:2:3``) with weights
  (``weight.1=2``, default 1); a set is a quorum when it holds more than half the
  weight of more than half the groups (groups of weight 0 do not count).

The config string (``to_string``, QuorumVerifier.toString) is what a notification
carries and what NEWLEADER carries; ``config_from_string`` reads it back as a learner
does (QuorumPeer.configFromString). Its shape, with ``\\n`` after every line but the
last::

    server.<sid>=<host>:<quorumPort>:<electionPort>:<participant|observer>[;<clientHost>:<clientPort>]
    ...                                      one per member, java.util.HashMap order
    group.<gid>=<sid>:<sid>...               QuorumHierarchical only, HashMap order
    weight.<sid>=<weight>                    QuorumHierarchical only, HashMap order
    version=<hex, no 0x>                     the last line, no newline after it

Peers use the version to spot a newer configuration (dynamic reconfig, which we do
not implement: we compare and log). A static zoo.cfg has version 0.

Mirrors: org.apache.zookeeper.server.quorum.flexible.QuorumVerifier, QuorumMaj,
QuorumHierarchical, QuorumPeer.QuorumServer (its String constructor and toString),
QuorumPeer.configFromString and QuorumPeerConfig.parseDynamicConfig. Differs: one
address per server (3.8's multiAddress.enabled is off by default, and we have no
switch for it).
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "QuorumHierarchical",
    "QuorumMaj",
    "QuorumServer",
    "QuorumServerLike",
    "QuorumVerifier",
    "config_from_string",
    "java_hash_map_order",
]

log = logging.getLogger(__name__)

_LONG_MASK = 0xFFFF_FFFF_FFFF_FFFF


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


def java_hash_map_order(keys: Iterable[int]) -> list[int]:
    """The order in which a ``java.util.HashMap<Long, ?>`` holding `keys` iterates.

    3.8 keeps members, groups and weights in HashMaps, so toString lists them in bucket
    order: ``Long.hashCode`` (low word xor high word), spread by HashMap.hash (``h ^
    h >>> 16``), masked by the table size (16, doubled whenever the map holds more than
    3/4 of it). Below the table size that is ascending order; sids 5 and 17 in a
    16-bucket table come out 17 (bucket 1), 5. Keys that share a bucket iterate in the
    order they were put, which is the order 3.8's ``Properties`` table (a
    ConcurrentHashMap over every key of the zoo.cfg) handed the lines over. We do not
    model that table and put the smaller key first: 3.8 printed ``server.1`` before
    ``server.17``, but ``server.40`` before ``server.8`` (32 buckets). Only the order
    of lines differs then; no reader of the string depends on it.
    """
    keys = list(keys)
    capacity = 16
    while len(keys) > capacity * 3 // 4:
        capacity *= 2

    def bucket(key: int) -> int:
        u = key & _LONG_MASK
        h = (u ^ (u >> 32)) & 0xFFFF_FFFF
        return (h ^ (h >> 16)) & (capacity - 1)

    return sorted(keys, key=lambda k: (bucket(k), k))


def _host_string(host: str) -> str:
    """InetSocketAddress.getHostString, bracketed as QuorumServer.delimitedHostString.

    A name stays as written; an IPv6 literal comes out as Java's Inet6Address prints
    it (eight groups, no zero compression: ``[::1]`` is ``[0:0:0:0:0:0:0:1]``), and an
    IPv4-mapped one as the IPv4 address Java turns it into.
    """
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    literal, _, scope = bare.partition("%")
    try:
        address = ipaddress.IPv6Address(literal)
    except ValueError:
        return f"[{bare}]" if ":" in bare else bare
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    groups = ":".join(f"{int(g, 16):x}" for g in address.exploded.split(":"))
    return f"[{groups}%{scope}]" if scope else f"[{groups}]"


def _server_string(s: QuorumServerLike) -> str:
    """QuorumServer.toString. A client address is part of it only when the ``server.N``
    line gave one: 3.8 fills in this server's own from ``clientPort`` but marks it
    isClientAddrFromStatic, which toString leaves out."""
    text = f"{_host_string(s.host)}:{s.quorum_port}:{s.election_port}:{s.role}"
    client_port = getattr(s, "client_port", None)
    if client_port is not None:
        client_host = getattr(s, "client_host", None) or "0.0.0.0"  # ``;2181`` listens on all
        text += f";{_host_string(client_host)}:{client_port}"
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
        """The config string a notification and NEWLEADER carry (QuorumMaj.toString)."""
        lines = [f"server.{sid}={_server_string(self.all_members[sid])}\n"
                 for sid in java_hash_map_order(self.all_members)]  # fmt: skip
        # Long.toHexString: the version as an unsigned 64-bit number
        return "".join(lines) + self._extra_lines() + f"version={self.version & _LONG_MASK:x}"

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
        # a group lists its sids in the sid -> gid map's order; the groups follow the gid map's
        groups: dict[int, list[int]] = {}
        for sid in java_hash_map_order(self.server_group):
            groups.setdefault(self.server_group[sid], []).append(sid)
        text = "".join(f"group.{gid}={':'.join(map(str, groups[gid]))}\n" for gid in java_hash_map_order(groups))
        return text + "".join(f"weight.{sid}={self.server_weight[sid]}\n"
                              for sid in java_hash_map_order(self.server_weight))  # fmt: skip


# --- reading a config string: the learner's side of NEWLEADER ------------------------------


@dataclass(frozen=True, slots=True)
class QuorumServer:
    """A ``server.N`` value as 3.8 reads it, from zoo.cfg (zk.startup) or from a config
    string (NEWLEADER, notifications). Mirrors: QuorumPeer.QuorumServer."""

    sid: int
    host: str
    quorum_port: int
    election_port: int
    role: str = "participant"
    client_host: str | None = None
    client_port: int | None = None

    @classmethod
    def parse(cls, sid: int, value: str) -> QuorumServer:
        """``host:port:port[:type][;[clientHost:]clientPort]`` as QuorumServer(long, String)
        reads it: the type trimmed and of any case, ``[v6]`` hosts, Java's split (trailing
        empty parts dropped), ports as Integer.parseInt takes them.

        Raises:
            ValueError: Where 3.8 throws (its message, mostly).
        """
        wrong = (f"{value} does not have the form server_config or server_config;client_config where "
                 "server_config is the pipe separated list of host:port:port or host:port:port:type and "
                 "client_config is port or host:port")  # fmt: skip
        server_client = _java_split(value, ";")
        if len(server_client) > 2:
            raise ValueError(wrong)
        if "|" in server_client[0]:
            raise ValueError(
                f"Multiple address feature is disabled, but multiple addresses were specified for sid {sid}"
            )
        client_host: str | None = None
        client_port: int | None = None
        if len(server_client) == 2:
            client = _host_and_port(server_client[1])
            if len(client) > 2:
                raise ValueError(wrong)
            client_host = client[0] if len(client) == 2 else "0.0.0.0"
            client_port = _port(client[-1])
        parts = _host_and_port(server_client[0])
        if not 3 <= len(parts) <= 4:
            raise ValueError(wrong)
        quorum_port, election_port = _port(parts[1]), _port(parts[2])
        if quorum_port == election_port:
            raise ValueError(f"Client and election port must be different! Please update the configuration "
                             f"file on server.{sid}")  # fmt: skip
        role = "participant"
        if len(parts) == 4:
            role = parts[3].strip().lower()
            if role not in ("participant", "observer"):
                raise ValueError(f"Unrecognised peertype: {parts[3]}")
        return cls(sid, parts[0], quorum_port, election_port, role, client_host, client_port)


def config_from_string(text: str) -> QuorumVerifier:
    """A config string (NEWLEADER's data, a notification's config) as a verifier.

    Tolerates what 3.8 tolerates: any .properties layout (comments, ``:`` or spaces
    for ``=``, continued lines), members in any order, no ``version`` (0). Refuses what
    it refuses: a key other than ``server.N``, ``group*``, ``weight*`` and ``version``,
    a bad number or server line, observers without participants. A single participant
    is logged, not refused (3.8 with standaloneEnabled, its default).

    Raises:
        ValueError: The text is not a config 3.8 would accept: the sender's bad bytes.

    Mirrors QuorumPeer.configFromString, i.e. QuorumPeerConfig.parseDynamicConfig with
    warnings off and configBackwardCompatibilityMode off, then QuorumMaj(Properties) or
    QuorumHierarchical(Properties).
    """
    props = _load_properties(text)
    hierarchical = False
    for key in props:
        if key.startswith(("group", "weight")):
            hierarchical = True
        elif not key.startswith("server.") and key != "version":
            raise ValueError(f"Unrecognised parameter: {key}")
    members: dict[int, QuorumServerLike] = {}
    groups: dict[int, list[int]] = {}
    weights: dict[int, int] = {}
    version = 0
    for key, value in props.items():
        if key.startswith("server."):
            sid = _java_long(key[len("server.") :])
            members[sid] = QuorumServer.parse(sid, value)
        elif key == "version":
            version = _java_long(value, 16)
        elif hierarchical and key.startswith("group"):
            groups[_java_long(key.partition(".")[2] if "." in key else key)] = [
                _java_long(s) for s in _java_split(value, ":")
            ]
        elif hierarchical and key.startswith("weight"):
            weights[_java_long(key.partition(".")[2] if "." in key else key)] = _java_long(value)
    verifier: QuorumVerifier
    if hierarchical:
        grouped = {sid for sids in groups.values() for sid in sids}
        voters = {sid for sid, s in members.items() if s.role == "participant"}
        if missing := sorted(grouped - voters - set(weights)):  # 3.8: a NullPointerException
            raise ValueError(f"Server {missing[0]} is in a group but has no weight")
        verifier = QuorumHierarchical(members, groups, weights, version)
    else:
        verifier = QuorumMaj(members, version)
    if not verifier.voting_members and verifier.observing_members:
        raise ValueError("Observers w/o participants is an invalid configuration")
    if len(verifier.voting_members) == 1:
        log.error("Invalid configuration, only one server specified (ignoring)")
    return verifier


def _java_split(s: str, sep: str) -> list[str]:
    """String.split: trailing empty strings are dropped (but ``""`` splits to ``[""]``)."""
    parts = s.split(sep)
    if len(parts) == 1:
        return parts
    while parts and parts[-1] == "":
        parts.pop()
    return parts


def _host_and_port(s: str) -> list[str]:
    """ConfigUtils.getHostAndPort: ``host:a:b`` or ``[v6host]:a:b`` into its parts."""
    if not s.startswith("["):
        return _java_split(s, ":")
    end = s.find("]")
    if end < 0:
        raise ValueError(f"{s} starts with '[' but has no matching ']:'")
    if end + 2 == len(s):
        raise ValueError(f"{s} doesn't have a port after colon")
    if end + 2 < len(s):  # the character after ']' is skipped unchecked, as in 3.8
        return [s[1:end], *_java_split(s[end + 2 :], ":")]
    return [s.replace("[", "").replace("]", "")]


_JAVA_INT = re.compile(r"[+-]?[0-9]+")
_JAVA_HEX = re.compile(r"[+-]?[0-9a-fA-F]+")


def _java_long(text: str, radix: int = 10) -> int:
    """Long.parseLong: an optional sign and digits, nothing else, within 64 bits."""
    if not (_JAVA_INT if radix == 10 else _JAVA_HEX).fullmatch(text):
        raise ValueError(f'For input string: "{text}"' + (f" under radix {radix}" if radix != 10 else ""))
    value = int(text, radix)
    if not -(1 << 63) <= value < 1 << 63:
        raise ValueError(f'For input string: "{text}"')
    return value


def _port(text: str) -> int:
    """Integer.parseInt, then InetSocketAddress's range check."""
    if not _JAVA_INT.fullmatch(text):
        raise ValueError(f'For input string: "{text}"')
    port = int(text)
    if not 0 <= port <= 0xFFFF:
        raise ValueError(f"port out of range:{port}")
    return port


_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def _load_properties(text: str) -> dict[str, str]:
    """java.util.Properties.load: natural lines joined at an odd trailing backslash,
    ``#``/``!`` comments, the key up to the first unescaped ``=``, ``:`` or blank,
    backslash escapes (``\\t``, ``\\uXXXX``, else the character itself); the last of
    equal keys wins. (zk.startup.config.parse_properties reads zoo.cfg, a later chapter.)
    """
    props: dict[str, str] = {}
    lines = iter(re.split(r"\r\n|\r|\n", text))
    for raw in lines:
        line = raw.lstrip(" \t\f")
        if not line or line[0] in "#!":
            continue
        while (len(line) - len(line.rstrip("\\"))) % 2 == 1:
            line = line[:-1] + next(lines, "").lstrip(" \t\f")
        i = 0
        while i < len(line) and line[i] not in "=: \t\f":
            i += 2 if line[i] == "\\" else 1  # an escaped separator belongs to the key
        key, i = line[:i], min(i, len(line))
        while i < len(line) and line[i] in " \t\f":
            i += 1
        if i < len(line) and line[i] in "=:":
            i += 1
        value = line[i:].lstrip(" \t\f")
        props[_unescape(key)] = _unescape(value)
    return props


def _unescape(s: str) -> str:
    def one(m: re.Match[str]) -> str:
        c = m.group(1)
        if c.startswith("u"):
            return chr(int(c[1:], 16))
        return _ESCAPES.get(c, c)

    return re.sub(r"\\(u[0-9a-fA-F]{4}|.)", one, s, flags=re.S)
