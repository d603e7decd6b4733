"""The ``zk`` command: ``zk server zoo.cfg``, ``zk logdump log.1``, ``zk snapdump snapshot.0``.

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
    logdump = sub.add_parser("logdump", help="print a transaction log file (TxnLogToolkit)")
    logdump.add_argument("file")
    logdump.add_argument("--json", action="store_true", help="one JSON object per line")
    snapdump = sub.add_parser("snapdump", help="print a snapshot file (SnapshotFormatter)")
    snapdump.add_argument("file")
    snapdump.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args(argv)
    if args.command in ("logdump", "snapdump"):
        from pathlib import Path

        from zk.storage.formatter import dump_log, dump_snapshot
        from zk.storage.snap_format import SnapshotError

        try:
            dump = dump_log if args.command == "logdump" else dump_snapshot
            for line in dump(Path(args.file), as_json=args.json):
                print(line)
        except (OSError, SnapshotError) as e:
            print(f"{args.file}: {e}", file=sys.stderr)
            return 1
        return 0

    from zk.startup import QuorumPeerMain, configure_logging

    configure_logging()
    if args.command == "server":
        return QuorumPeerMain().initialize_and_run(args.config)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
