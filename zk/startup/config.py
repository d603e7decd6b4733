"""zoo.cfg: reading a real ZooKeeper configuration file.

A zoo.cfg is a Java properties file. Known keys set fields; ``server.N`` lines name the
ensemble's members; every other key becomes the system property ``zookeeper.<key>``,
which is how settings such as ``extendedTypesEnabled`` or
``DigestAuthenticationProvider.superDigest`` reach the server. We keep those in
``system_properties`` and read the ones we support from there.

Mirrors: org.apache.zookeeper.server.quorum.QuorumPeerConfig (parse, parseProperties)
and org.apache.zookeeper.server.ServerConfig.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from zk.election.quorum import QuorumServer
from zk.server.config import ServerConfig

__all__ = ["ConfigException", "QuorumPeerConfig", "QuorumServer", "parse_properties"]


class ConfigException(ValueError):
    """The configuration is wrong: the operator's fault, reported before anything starts."""


@dataclasses.dataclass(slots=True)
class QuorumPeerConfig:
    """A parsed zoo.cfg. Mirrors QuorumPeerConfig."""

    path: Path | None = None
    tick_time: int = 2000
    init_limit: int = 10
    sync_limit: int = 5
    data_dir: Path | None = None
    data_log_dir: Path | None = None
    client_port: int | None = None
    client_port_address: str | None = None
    max_client_cnxns: int = 60
    min_session_timeout: int = -1
    max_session_timeout: int = -1
    servers: dict[int, QuorumServer] = dataclasses.field(default_factory=dict)
    server_id: int = -1
    snap_retain_count: int = 3
    purge_interval: int = 0
    system_properties: dict[str, str] = dataclasses.field(default_factory=dict)
    raw: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def is_distributed(self) -> bool:
        """More than one server: run a QuorumPeer, else a standalone server."""
        return len(self.servers) > 1

    @classmethod
    def parse(cls, path: str | Path) -> QuorumPeerConfig:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigException(f"Error processing {path}: {e}") from e
        cfg = cls.from_properties(parse_properties(text))
        cfg.path = path
        if cfg.is_distributed:
            cfg.server_id = cfg._read_myid()
        return cfg

    @classmethod
    def from_properties(cls, props: dict[str, str]) -> QuorumPeerConfig:
        cfg = cls(raw=dict(props))
        for key, value in props.items():
            if key == "dataDir":
                cfg.data_dir = Path(value)
            elif key == "dataLogDir":
                cfg.data_log_dir = Path(value)
            elif key == "clientPort":
                cfg.client_port = _int(key, value)
            elif key == "clientPortAddress":
                cfg.client_port_address = value
            elif key == "tickTime":
                cfg.tick_time = _int(key, value)
            elif key == "initLimit":
                cfg.init_limit = _int(key, value)
            elif key == "syncLimit":
                cfg.sync_limit = _int(key, value)
            elif key == "maxClientCnxns":
                cfg.max_client_cnxns = _int(key, value)
            elif key == "minSessionTimeout":
                cfg.min_session_timeout = _int(key, value)
            elif key == "maxSessionTimeout":
                cfg.max_session_timeout = _int(key, value)
            elif key == "autopurge.snapRetainCount":
                cfg.snap_retain_count = _int(key, value)
            elif key == "autopurge.purgeInterval":
                cfg.purge_interval = _int(key, value)
            elif m := re.fullmatch(r"server\.(\d+)", key):
                sid = int(m.group(1))
                try:
                    cfg.servers[sid] = QuorumServer.parse(sid, value)
                except ValueError as e:
                    raise ConfigException(f"server.{sid}: {e}") from e
            else:
                key = key if key.startswith("zookeeper.") else "zookeeper." + key
                cfg.system_properties[key] = value
        if cfg.data_dir is None:
            raise ConfigException("dataDir is not set")
        if cfg.tick_time <= 0:
            raise ConfigException("tickTime is not set")
        if cfg.client_port is None and not cfg.servers:
            raise ConfigException("clientPort is not set")
        if 0 < cfg.max_session_timeout < cfg.min_session_timeout:
            raise ConfigException("minSessionTimeout must not be larger than maxSessionTimeout")
        return cfg

    def _read_myid(self) -> int:
        assert self.data_dir is not None
        myid = self.data_dir / "myid"
        try:
            return int(myid.read_text().strip())
        except (OSError, ValueError) as e:
            raise ConfigException(f"{myid} file is missing or not a number: {e}") from e

    def to_server_config(self) -> ServerConfig:
        """The standalone server's settings (ServerConfig.readFrom)."""
        props = self.system_properties
        whitelist = props.get("zookeeper.4lw.commands.whitelist", "srvr")
        words = frozenset(w.strip() for w in whitelist.split(",") if w.strip())
        if "*" in words:
            words = frozenset({"ruok", "srvr", "stat", "conf", "cons", "crst", "dump", "envi", "gtmk", "stmk"}
                              | {"mntr", "srst", "wchc", "wchp", "wchs", "dirs", "isro", "hash"})  # fmt: skip
        words |= {"srvr"}  # zkServer.sh depends on it, so ZooKeeper always allows it
        return ServerConfig(
            client_port=self.client_port if self.client_port is not None else 2181,
            client_port_address=self.client_port_address or "0.0.0.0",
            data_dir=self.data_dir,
            data_log_dir=self.data_log_dir or self.data_dir,
            tick_time=self.tick_time,
            min_session_timeout=self.min_session_timeout,
            max_session_timeout=self.max_session_timeout,
            max_client_cnxns=self.max_client_cnxns,
            jute_max_buffer=_int("jute.maxbuffer", props.get("zookeeper.jute.maxbuffer", str(0xFFFFF))),
            global_outstanding_limit=_int(
                "globalOutstandingLimit", props.get("zookeeper.globalOutstandingLimit", "1000")
            ),
            four_letter_word_whitelist=words,
            super_digest=props.get("zookeeper.DigestAuthenticationProvider.superDigest"),
            extended_types_enabled=props.get("zookeeper.extendedTypesEnabled", "false").lower() == "true",
            # Java reads it into a static of ZooKeeperServer; a field here says the same
            enforce_quota=props.get("zookeeper.enforceQuota", "false").lower() == "true",
            container_check_interval_ms=_int(
                "znode.container.checkIntervalMs",
                props.get("zookeeper.znode.container.checkIntervalMs", "60000"),
            ),
            container_max_per_minute=_int(
                "znode.container.maxPerMinute", props.get("zookeeper.znode.container.maxPerMinute", "10000")
            ),
            snap_count=max(_int("snapCount", props.get("zookeeper.snapCount", "100000")), 2),
            prealloc_size=_int("preAllocSize", props.get("zookeeper.preAllocSize", "65536")) * 1024,
            force_sync=props.get("zookeeper.forceSync", "yes") != "no",
            trust_empty_snapshot=props.get("zookeeper.snapshot.trust.empty", "false").lower() == "true",
            snap_retain_count=max(self.snap_retain_count, 3),
            purge_interval=self.purge_interval,
            raw=dict(self.raw),
        )


def parse_properties(text: str) -> dict[str, str]:
    """A small reader for Java .properties as zoo.cfg uses them: ``key=value`` or
    ``key: value`` lines, ``#`` and ``!`` comments, trailing ``\\`` continuations."""
    props: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        line = line.strip()
        while line.endswith("\\"):
            line = line[:-1] + next(lines, "").strip()
        if not line or line[0] in "#!":
            continue
        m = re.match(r"([^=:\s]+)\s*[=:\s]\s*(.*)", line)
        if m is None:
            props[line] = ""
        else:
            props[m.group(1)] = m.group(2).strip()
    return props


def _int(key: str, value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise ConfigException(f"{key} must be a number, got {value!r}") from None
