"""zk.startup: zoo.cfg, myid, and the path from the command line to a serving server.

Chapter 13 of the book: the standalone start-up flow (QuorumPeerMain →
ZooKeeperServerMain) and, once election lands, the QuorumPeer state loop.

Mirrors: org.apache.zookeeper.server.quorum.QuorumPeerMain, QuorumPeerConfig,
org.apache.zookeeper.server.ZooKeeperServerMain, ServerConfig.
"""

from zk.startup.config import ConfigException, QuorumPeerConfig, QuorumServer, parse_properties
from zk.startup.main import QuorumPeerMain, ZooKeeperServerMain, configure_logging

__all__ = [
    "ConfigException",
    "QuorumPeerConfig",
    "QuorumPeerMain",
    "QuorumServer",
    "ZooKeeperServerMain",
    "configure_logging",
    "parse_properties",
]
