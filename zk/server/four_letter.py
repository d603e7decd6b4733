"""The four-letter words: ``ruok``, ``srvr``, ``stat`` and friends.

A connection whose first four bytes spell a known command is not a client session: the
server writes the command's text output and closes. Only whitelisted commands run
(``4lw.commands.whitelist``); ``srvr`` (used by zkServer.sh) is always allowed, as in
ZooKeeper.

Mirrors: org.apache.zookeeper.server.command.FourLetterCommands and the Command classes
(RuokCommand, StatCommand, ...), with their output formats.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zk.server.cnxn import ServerCnxn
    from zk.server.zookeeper_server import ZooKeeperServer

__all__ = ["VERSION", "FourLetterWords"]

# What `srvr` reports as the version: ZooKeeper's protocol version we speak, and us.
VERSION = "3.8.0-annotated, built on 2026-11-25 00:00 UTC"

_COMMANDS = frozenset(
    {"ruok", "srvr", "stat", "conf", "cons", "crst", "dump", "envi", "gtmk", "stmk", "mntr", "srst"}
    | {"wchc", "wchp", "wchs", "dirs", "isro", "hash"}
)


class FourLetterWords:
    """Runs four-letter words against a server. Mirrors FourLetterCommands."""

    def __init__(self, zks: ZooKeeperServer) -> None:
        self.zks = zks

    def handles(self, first4: bytes) -> bool:
        return len(first4) == 4 and first4.decode("ascii", "replace") in _COMMANDS

    def run(self, word: str, cnxn: ServerCnxn) -> str:
        if word not in self.zks.config.four_letter_word_whitelist and word not in ("srvr",):
            return f"{word} is not executed because it is not in the whitelist.\n"
        method = getattr(self, f"cmd_{word}", None)
        if method is None:
            return f"{word} is not executed because it is not in the whitelist.\n"
        text: str = method(cnxn)
        return text

    def cmd_ruok(self, cnxn: ServerCnxn) -> str:
        return "imok"

    def cmd_isro(self, cnxn: ServerCnxn) -> str:
        return "rw"

    def cmd_srvr(self, cnxn: ServerCnxn) -> str:
        return self._stat(with_clients=False)

    def cmd_stat(self, cnxn: ServerCnxn) -> str:
        return self._stat(with_clients=True)

    def _stat(self, *, with_clients: bool) -> str:
        zks = self.zks
        if not zks.running:
            return "This ZooKeeper instance is not currently serving requests\n"
        s = zks.stats
        lines = [f"Zookeeper version: {VERSION}"]
        if with_clients:
            lines.append("Clients:")
            for c in zks.factory.cnxns:
                lines.append(
                    f" /{c.remote}[{1 if c.initialized else 0}]"
                    f"(queued={max(c.outstanding, 0)},recved={c.packets_received},sent={c.packets_sent})"
                )
                lines.append("")
            lines.append("")
        received = s.closed_received + sum(c.packets_received for c in zks.factory.cnxns)
        sent = s.closed_sent + sum(c.packets_sent for c in zks.factory.cnxns)
        lines += [
            f"Latency min/avg/max: {s.min_latency}/{s.avg_latency:.4f}/{s.max_latency}",
            f"Received: {received}",
            f"Sent: {sent}",
            f"Connections: {len(zks.factory.cnxns)}",
            f"Outstanding: {zks.chain.in_process}",
            f"Zxid: 0x{zks.db.tree.last_processed_zxid:x}",
            "Mode: standalone",
            f"Node count: {zks.db.tree.node_count()}",
        ]
        return "\n".join(lines) + "\n"
