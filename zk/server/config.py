"""ServerConfig: the settings a running ZooKeeperServer reads.

zk.startup fills it from zoo.cfg (QuorumPeerConfig / ServerConfig); tests and the lab
build it directly. Defaults are ZooKeeper's.

Mirrors: org.apache.zookeeper.server.ServerConfig and the settings ZooKeeperServer reads
from system properties (jute.maxbuffer, zookeeper.globalOutstandingLimit,
zookeeper.extendedTypesEnabled, zookeeper.DigestAuthenticationProvider.superDigest,
znode.container.checkIntervalMs, znode.container.maxPerMinute).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from zk.jute.codec import DEFAULT_MAX_BUFFER

__all__ = ["ServerConfig"]


@dataclasses.dataclass(slots=True)
class ServerConfig:
    """Settings of one standalone server."""

    client_port: int = 2181
    client_port_address: str = "0.0.0.0"
    data_dir: Path | None = None
    data_log_dir: Path | None = None
    tick_time: int = 2000
    min_session_timeout: int = -1  # -1: 2 * tick_time
    max_session_timeout: int = -1  # -1: 20 * tick_time
    max_client_cnxns: int = 60  # per IP address; 0 = no limit
    jute_max_buffer: int = DEFAULT_MAX_BUFFER
    global_outstanding_limit: int = 1000
    four_letter_word_whitelist: frozenset[str] = frozenset({"srvr"})
    super_digest: str | None = None  # "super:<base64 sha1>"
    extended_types_enabled: bool = False
    enforce_quota: bool = False  # zookeeper.enforceQuota: hard quota limits refuse writes
    container_check_interval_ms: int = 60_000
    container_max_per_minute: int = 10_000
    # storage (zk.storage): ZooKeeper's system properties of the same names
    snap_count: int = 100_000  # zookeeper.snapCount
    prealloc_size: int = 64 * 1024 * 1024  # zookeeper.preAllocSize (zoo.cfg gives KiB)
    force_sync: bool = True  # zookeeper.forceSync=no turns fsync off (tests, demos)
    trust_empty_snapshot: bool = False  # zookeeper.snapshot.trust.empty
    snap_retain_count: int = 3  # autopurge.snapRetainCount
    purge_interval: int = 0  # autopurge.purgeInterval, hours; 0 = off
    # session ids carry this in their top byte; standalone servers use 1 (ZooKeeperServer)
    session_tracker_server_id: int = 1
    raw: dict[str, str] = dataclasses.field(default_factory=dict)  # every zoo.cfg key, for `conf`

    @property
    def effective_min_session_timeout(self) -> int:
        return self.min_session_timeout if self.min_session_timeout > 0 else 2 * self.tick_time

    @property
    def effective_max_session_timeout(self) -> int:
        return self.max_session_timeout if self.max_session_timeout > 0 else 20 * self.tick_time
