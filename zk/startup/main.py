"""Start-up: from ``zk server zoo.cfg`` to a server serving clients.

The path mirrors ZooKeeper's own, so that the chapter can follow both side by side:

    QuorumPeerMain.main(args)
      └─ initialize_and_run: parse zoo.cfg (QuorumPeerConfig)
           ├─ one server (no server.N lines) → ZooKeeperServerMain.run_from_config
           │     └─ ZooKeeperServer: ZKDatabase, SessionTracker, the processor chain,
           │        then the client port (ServerCnxnFactory)
           └─ an ensemble → QuorumPeer (comes with leader election, issue 4)

Logging goes to stderr; SIGTERM and SIGINT stop the server cleanly.

Mirrors: org.apache.zookeeper.server.quorum.QuorumPeerMain (main, initializeAndRun) and
org.apache.zookeeper.server.ZooKeeperServerMain (main, initializeAndRun, runFromConfig).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from zk.server import ServerConfig, ZooKeeperServer
from zk.startup.config import ConfigException, QuorumPeerConfig
from zk.storage import DatadirException, LogCorruptError
from zk.trace import Tracer

__all__ = ["QuorumPeerMain", "ZooKeeperServerMain", "configure_logging"]

log = logging.getLogger(__name__)


def configure_logging(level: int = logging.INFO) -> None:
    """ZooKeeper's log line shape: time, level, thread (here: logger), message."""
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s [%(name)s] %(levelname)s - %(message)s",
    )


class ZooKeeperServerMain:
    """Runs one standalone server until it is told to stop. Mirrors ZooKeeperServerMain."""

    def __init__(self) -> None:
        self.server: ZooKeeperServer | None = None

    async def run_from_config(self, config: ServerConfig, tracer: Tracer) -> None:
        self.server = ZooKeeperServer(config, tracer=tracer)
        loop = asyncio.get_running_loop()
        serving = loop.create_task(self.server.serve_forever(), name="zookeeper-server")
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, serving.cancel)
        try:
            await serving
        except asyncio.CancelledError:
            log.info("shutting down")
        finally:
            tracer.close()


class QuorumPeerMain:
    """The entry point ``zk server`` runs. Mirrors QuorumPeerMain."""

    def initialize_and_run(self, config_path: str) -> int:
        try:
            config = QuorumPeerConfig.parse(config_path)
        except ConfigException as e:
            log.error("Invalid config, exiting abnormally: %s", e)
            return 2
        if config.is_distributed:
            log.error(
                "zoo.cfg lists %d servers, but this build runs standalone servers only: "
                "leader election and atomic broadcast are not built yet",
                len(config.servers),
            )
            return 2
        log.info("Either no config or no quorum defined in config, running in standalone mode")
        tracer = Tracer.from_env()
        try:
            asyncio.run(ZooKeeperServerMain().run_from_config(config.to_server_config(), tracer))
        except (DatadirException, LogCorruptError) as e:  # zk.storage refused the data directory
            log.error("Unable to load database on disk: %s", e)
            return 1
        return 0
