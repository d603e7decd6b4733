"""Start-up: from ``zk server zoo.cfg`` to a server serving clients.

The path mirrors ZooKeeper's own, so that the chapter can follow both side by side:

    QuorumPeerMain.main(args)
      └─ initialize_and_run: parse zoo.cfg (QuorumPeerConfig)
           ├─ one server (no server.N lines) → ZooKeeperServerMain.run_from_config
           │     └─ ZooKeeperServer: ZKDatabase, SessionTracker, the processor chain,
           │        then the client port (ServerCnxnFactory)
           └─ an ensemble → run_from_config: QuorumPeer (zk.startup.quorum_peer), its
                 election port, its LOOKING → LEADING / FOLLOWING / OBSERVING loop

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


def _shut_down(sig: signal.Signals, task: asyncio.Task[None]) -> None:
    """SIGTERM or SIGINT: cancel the server's task. Whatever the task is doing must let
    the CancelledError through (tests/startup/test_startup_shutdown.py): a server
    still running after the lab's grace period is killed, which is a crash."""
    log.info("Received %s, shutting down", sig.name)
    task.cancel()


class ZooKeeperServerMain:
    """Runs one standalone server until it is told to stop. Mirrors ZooKeeperServerMain."""

    def __init__(self) -> None:
        self.server: ZooKeeperServer | None = None

    async def run_from_config(self, config: ServerConfig, tracer: Tracer) -> None:
        self.server = ZooKeeperServer(config, tracer=tracer)
        loop = asyncio.get_running_loop()
        serving = loop.create_task(self.server.serve_forever(), name="zookeeper-server")
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, _shut_down, sig, serving)
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
            return self.run_from_config(config)
        log.info("Either no config or no quorum defined in config, running in standalone mode")
        tracer = Tracer.from_env()
        try:
            asyncio.run(ZooKeeperServerMain().run_from_config(config.to_server_config(), tracer))
        except (DatadirException, LogCorruptError) as e:  # zk.storage refused the data directory
            log.error("Unable to load database on disk: %s", e)
            return 1
        return 0

    def run_from_config(self, config: QuorumPeerConfig) -> int:
        """Run a QuorumPeer until SIGTERM or SIGINT. Mirrors QuorumPeerMain.runFromConfig."""
        from zk.startup.quorum_peer import QuorumPeer

        tracer = Tracer.from_env()
        log.info("Starting quorum peer, myid=%d", config.server_id)

        async def main() -> None:
            peer = QuorumPeer(config, tracer=tracer)
            loop = asyncio.get_running_loop()
            running = loop.create_task(peer.run(), name="quorum-peer")
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, _shut_down, sig, running)
            try:
                await running
            except asyncio.CancelledError:
                log.info("shutting down")
            finally:
                tracer.close()

        try:
            asyncio.run(main())
        except ConfigException as e:
            # a bad election config, or epoch files that do not agree (read as the peer
            # starts, as QuorumPeer.loadDataBase reads them)
            log.error("Unable to start the quorum peer, exiting abnormally: %s", e)
            return 2
        return 0
