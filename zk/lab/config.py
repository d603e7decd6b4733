"""Write the files a lab server starts from: zoo.cfg and myid.

Both kinds of server, ours and Apache ZooKeeper 3.8, read the same standard zoo.cfg, so one
writer serves both: `key=value` lines, and for an ensemble one
``server.N=host:quorumPort:electionPort`` line per member plus a `myid` file in each
member's dataDir holding N.

Mirrors: the files org.apache.zookeeper.server.quorum.QuorumPeerConfig parses; the
layout of /work/shared/reference-zk/start-standalone.sh (kazoo's harness writes the same).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CfgValue",
    "QuorumMember",
    "ServerLayout",
    "merge_config",
    "render_zoo_cfg",
    "write_myid",
    "write_zoo_cfg",
]

CfgValue = str | int | float | bool
"""A zoo.cfg value; booleans are written as ``true``/``false``."""


@dataclass(frozen=True, slots=True)
class QuorumMember:
    """One ``server.N`` line of an ensemble's zoo.cfg.

    Attributes:
        sid: The server id N (its myid), 1..255 so TTL nodes stay usable.
        host: The address its quorum and election ports listen on.
        quorum_port: Where followers connect to the leader.
        election_port: Where leader election connections go.
        client_port: Its client port (not part of the line; kept for connect strings).
        role: ``"participant"`` (votes, may lead) or ``"observer"`` (follows the
            leader's commits, serves clients, never votes).

    Mirrors: org.apache.zookeeper.server.quorum.QuorumPeer.QuorumServer (its static form).
    """

    sid: int
    host: str
    quorum_port: int
    election_port: int
    client_port: int
    role: str = "participant"

    def __post_init__(self) -> None:
        if self.role not in ("participant", "observer"):
            raise ValueError(f"server.{self.sid}: role must be participant or observer, got {self.role!r}")

    def line(self) -> str:
        """The zoo.cfg line, e.g. ``server.1=127.0.0.1:2888:3888`` or, for an observer,
        ``server.4=127.0.0.1:2894:3894:observer``."""
        suffix = ":observer" if self.role == "observer" else ""
        return f"server.{self.sid}={self.host}:{self.quorum_port}:{self.election_port}{suffix}"


def _value(value: CfgValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if "\n" in text or "\r" in text:
        raise ValueError(f"zoo.cfg values are single lines, got {text!r}")
    return text


def render_zoo_cfg(entries: Mapping[str, CfgValue], members: Iterable[QuorumMember] = ()) -> str:
    """Render zoo.cfg text: the entries in order, then the ``server.N`` lines.

    Args:
        entries: Keys and values, e.g. ``{"tickTime": 2000, "clientPort": 2181}``.
        members: The ensemble's members; empty for a standalone server.

    Returns:
        The file's text, one ``key=value`` per line.
    """
    lines = []
    for key, value in entries.items():
        if not key or "=" in key or key != key.strip():
            raise ValueError(f"bad zoo.cfg key {key!r}")
        lines.append(f"{key}={_value(value)}")
    lines.extend(member.line() for member in sorted(members, key=lambda m: m.sid))
    return "\n".join(lines) + "\n"


def write_zoo_cfg(path: Path, entries: Mapping[str, CfgValue], members: Iterable[QuorumMember] = ()) -> Path:
    """Write zoo.cfg to `path` (see [render_zoo_cfg][zk.lab.config.render_zoo_cfg])."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_zoo_cfg(entries, members), encoding="utf-8")
    return path


def write_myid(data_dir: Path, sid: int) -> Path:
    """Write the `myid` file that tells an ensemble member which ``server.N`` it is."""
    # Extended types (TTL nodes) pack the server id into one byte of the session id.
    if not 1 <= sid <= 255:
        raise ValueError(f"server id must be in 1..255, got {sid}")
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "myid"
    path.write_text(f"{sid}\n", encoding="ascii")
    return path


_LAB_OWNED_KEYS = frozenset({"dataDir", "clientPort", "clientPortAddress"})


def merge_config(defaults: Mapping[str, CfgValue], overrides: Mapping[str, CfgValue]) -> dict[str, CfgValue]:
    """Defaults updated by the caller's keys; the keys the lab itself sets are refused.

    Raises:
        ValueError: `overrides` sets dataDir, clientPort or clientPortAddress, or a
            ``server.N`` line (use an ensemble for those).
    """
    for key in overrides:
        if key in _LAB_OWNED_KEYS or key.startswith("server."):
            raise ValueError(f"zoo.cfg key {key!r} is set by the lab, not by the caller")
    return {**defaults, **overrides}


@dataclass(frozen=True, slots=True)
class ServerLayout:
    """Where one lab server's files live, all under ``<root>/<name>/``.

    Attributes:
        home: The server's own folder.
        data_dir: Its dataDir (snapshots, the transaction log, myid).
        config_path: Its zoo.cfg.
        log_path: Its stdout and stderr.
        trace_path: Its JSON-lines trace file (used by our server only).
    """

    home: Path
    data_dir: Path
    config_path: Path
    log_path: Path
    trace_path: Path

    @classmethod
    def under(cls, root: Path, name: str) -> ServerLayout:
        """The layout of server `name` under the lab folder `root`, folders created."""
        home = root / name
        data_dir = home / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        return cls(
            home=home,
            data_dir=data_dir,
            config_path=home / "zoo.cfg",
            log_path=home / "server.log",
            trace_path=home / "trace.jsonl",
        )
