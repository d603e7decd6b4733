"""The ``zk`` command: ``zk server zoo.cfg`` (more subcommands arrive with storage).

A thin layer over zk.startup; see chapter 13.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="zk", description="ZooKeeper, Annotated")
    sub = parser.add_subparsers(dest="command", required=True)
    server = sub.add_parser("server", help="run a server from a zoo.cfg (QuorumPeerMain)")
    server.add_argument("config", help="path to zoo.cfg")
    args = parser.parse_args(argv)

    from zk.startup import QuorumPeerMain, configure_logging

    configure_logging()
    if args.command == "server":
        return QuorumPeerMain().initialize_and_run(args.config)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
