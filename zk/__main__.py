"""The ``zk`` command: ``zk server zoo.cfg``, ``zk ensemble``, ``zk logdump log.1``,
``zk snapdump snapshot.0``.

A thin layer over zk.startup (``server``), zk.lab (``ensemble``: the same zoo.cfg writer
and process handles the notebooks use) and zk.storage (the dumps); see chapter 13.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["DEFAULT_ENSEMBLE_DIR", "main"]

DEFAULT_ENSEMBLE_DIR = Path("/tmp/zk-annotated/ensemble")
"""Where ``zk ensemble`` keeps its servers' folders unless given ``--dir``."""


def _ensemble(root: Path, size: int, base_port: int, tick_time: int, observers: int = 0) -> int:
    """Run `size` local servers of ours as one ensemble until SIGINT or SIGTERM; the
    last `observers` of them observe (``server.N=...:observer`` and ``peerType=observer``).

    Each server ``s<N>`` gets ``<root>/s<N>/zoo.cfg`` (client port ``base_port + N - 1``
    on 127.0.0.1, free quorum and election ports, the same ``server.N`` lines),
    ``<root>/s<N>/data/myid`` and ``<root>/s<N>/server.log``, and runs as
    ``python -m zk server <root>/s<N>/zoo.cfg`` in its own process group. The connect
    string goes to stdout once every server serves; everything else to stderr.
    """
    import asyncio
    import signal

    from zk.lab import ENSEMBLE_READY_TIMEOUT, ServerProcess, ServerStartError
    from zk.lab.config import QuorumMember
    from zk.lab.ours import ours_process
    from zk.lab.ports import LOOPBACK, free_ports, port_is_free

    def say(text: str) -> None:
        print(f"[zk ensemble] {text}", file=sys.stderr, flush=True)

    if not 1 <= size <= 255:
        say(f"--size must be in 1..255, got {size}")
        return 2
    if not 0 <= observers < size:
        say(f"--observers must be in 0..{size - 1} for --size {size}, got {observers}")
        return 2
    client_ports = [base_port + i for i in range(size)]
    if client_ports[0] < 1 or client_ports[-1] > 65535:
        say(f"client ports {client_ports[0]}..{client_ports[-1]} are out of range")
        return 2
    taken = [p for p in client_ports if not port_is_free(p)]
    if taken:
        say(f"client port(s) {', '.join(map(str, taken))} already in use on {LOOPBACK}; "
            "stop what listens there or pick another --base-port")  # fmt: skip
        return 1
    # Quorum and election ports: any free ones, never one of the client ports.
    others = [p for p in free_ports(2 * size + len(client_ports)) if p not in client_ports][: 2 * size]
    members = [
        QuorumMember(
            sid,
            LOOPBACK,
            quorum_port=others[2 * i],
            election_port=others[2 * i + 1],
            client_port=port,
            role="observer" if sid > size - observers else "participant",
        )
        for i, (sid, port) in enumerate(zip(range(1, size + 1), client_ports, strict=True))
    ]
    root = root.resolve()
    servers: list[ServerProcess] = [
        ours_process(
            root,
            f"s{m.sid}",
            m.client_port,
            config={"tickTime": tick_time, **({"peerType": "observer"} if m.role == "observer" else {})},
            members=members,
            myid=m.sid,
            trace=False,
        )
        for m in members
    ]

    async def all_ready() -> bool:
        await asyncio.gather(*(s.wait_ready(ENSEMBLE_READY_TIMEOUT) for s in servers))
        return True

    async def run() -> int:
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        say(f"starting {size} servers under {root}")
        try:
            for s in servers:
                await s.start()
            ready = asyncio.ensure_future(all_ready())
            stop_wait = asyncio.ensure_future(stopping.wait())
            await asyncio.wait({ready, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
            stop_wait.cancel()
            if not ready.done():  # stopped while the ensemble was still starting
                ready.cancel()
                await asyncio.gather(ready, return_exceptions=True)
                return 0
            try:
                ready.result()
            except ServerStartError as e:
                say(f"the ensemble did not start: {e}")
                return 1
            modes = {s.name: await s.mode() for s in servers}
            connect = ",".join(s.connect_string for s in servers)
            print(connect, flush=True)
            say("serving: " + ", ".join(f"{n} {m}" for n, m in modes.items()))
            say(f"logs: {root}/s<N>/server.log; try: zkCli.sh -server {connect}")
            say("Ctrl-C (or SIGTERM) stops every server")
            while not stopping.is_set():
                dead = [s for s in servers if not s.running]
                for s in dead:
                    say(f"{s.name} exited with status {s.returncode}; see {s.log_path}")
                if dead:
                    return 1
                await asyncio.sleep(0.2)
            return 0
        finally:
            say("stopping")
            await asyncio.gather(*(s.stop() for s in servers), return_exceptions=True)
            say("stopped")

    return asyncio.run(run())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="zk", description="ZooKeeper, Annotated")
    sub = parser.add_subparsers(dest="command", required=True)
    server = sub.add_parser("server", help="run a server from a zoo.cfg (QuorumPeerMain)")
    server.add_argument("config", help="path to zoo.cfg")
    ensemble = sub.add_parser(
        "ensemble",
        help="run a local ensemble of our servers until Ctrl-C",
        description="Write zoo.cfg and myid for N local servers on 127.0.0.1, start them as "
        "child processes (python -m zk server <cfg>), print the connect string, and stop "
        "them all on Ctrl-C or SIGTERM.",
    )
    ensemble.add_argument(
        "--dir", type=Path, default=DEFAULT_ENSEMBLE_DIR, help=f"where configs, data, logs go ({DEFAULT_ENSEMBLE_DIR})"
    )
    ensemble.add_argument("--size", type=int, default=3, help="number of servers (default 3)")
    ensemble.add_argument("--base-port", type=int, default=2181,
                          help="client port of server 1; server N listens on base+N-1 (default 2181)")  # fmt: skip
    ensemble.add_argument("--tick-time", type=int, default=2000, help="tickTime in ms (default 2000)")
    ensemble.add_argument("--observers", type=int, default=0,
                          help="how many of the servers (the highest ids) are observers (default 0)")  # fmt: skip
    logdump = sub.add_parser("logdump", help="print a transaction log file (TxnLogToolkit)")
    logdump.add_argument("file")
    logdump.add_argument("--json", action="store_true", help="one JSON object per line")
    snapdump = sub.add_parser("snapdump", help="print a snapshot file (SnapshotFormatter)")
    snapdump.add_argument("file")
    snapdump.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args(argv)
    if args.command in ("logdump", "snapdump"):
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
    if args.command == "ensemble":
        return _ensemble(args.dir, args.size, args.base_port, args.tick_time, args.observers)

    from zk.startup import QuorumPeerMain, configure_logging

    configure_logging()
    if args.command == "server":
        return QuorumPeerMain().initialize_and_run(args.config)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
