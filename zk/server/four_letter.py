"""The four-letter words: ``ruok``, ``srvr``, ``stat``, ``mntr`` and the rest.

A connection's first four bytes are read as a packet length, unless they spell a known
command: then the connection is no client session, the server writes the command's text
and closes. A word that is *not* a command is therefore a length: "xyzw" is 0x78797a77
bytes, over jute.maxbuffer, and the connection is closed as a bad frame with no reply.
ZooKeeper even lists telnet's "interrupt process" sequence (``ff f4 ff fd``) as a word.

Only words in ``4lw.commands.whitelist`` run; any other known word is answered with
``<word> is not executed because it is not in the whitelist.``. ``srvr`` always runs
(zkServer.sh depends on it). Every command but ``ruok``, ``envi``, ``gtmk``, ``stmk`` and
``isro`` answers "This ZooKeeper instance is not currently serving requests" while the
server does not serve.

Output formats are ZooKeeper 3.8's, byte for byte where the values are ours to compute.
Where we differ, on purpose:

* ``envi``: the ``java.*`` lines become their Python equivalents at the same place
  (see ``JAVA_EQUIVALENTS``): ``python.version`` instead of ``java.version``,
  ``python.implementation`` for ``java.vendor``, ``python.home`` (``sys.prefix``) for
  ``java.home``, ``python.path`` (``sys.path``) for ``java.class.path`` and
  ``python.tempdir`` for ``java.io.tmpdir``. ``java.library.path`` and
  ``java.compiler`` have none and are left out. ``os.memory.*`` describe the JVM heap in
  Java; a Python process has no heap limit, so ``os.memory.free`` is the machine's free
  memory, ``os.memory.max`` its physical memory and ``os.memory.total`` the resident
  size of this process.
* ``conf``: ``dataDir`` and ``dataLogDir`` are ``<dir>/version-2`` as in ZooKeeper (the
  folder FileTxnSnapLog keeps its files in); their sizes count what is there.
  ``secureClientPort=-1`` (no TLS), ``clientPortListenBacklog=-1`` (we use the default
  backlog), ``serverId=0`` (standalone).
* ``dump``'s "Connections" part is ZooKeeper's connection expiry queue (NIO closes a
  connection idle for its session timeout, 10 s without a session). We keep no such
  queue; the section is built on demand from each connection's last answered request
  (or its accept time) and timeout, bucketed as NIOServerCnxnFactory buckets them.
* ``gtmk``/``stmk`` read and set ZooTrace's text trace mask (306 by default). We keep
  the value and echo it; it filters nothing, since our trace events are not ZooTrace.
* ``mntr`` prints only what we measure. Left out: every ServerMetrics metric (counters
  such as ``zk_watch_bytes``, ``zk_throttled_ops``, ``zk_proposal_count``, and the
  ``avg/min/max/cnt/sum`` and ``p50``..``p999`` summaries such as ``zk_readlatency``,
  ``zk_fsynctime``), because we record none of them; ``zk_last/min/max_client_response_size``
  (response sizes are not recorded); ``zk_connection_drop_probability`` (there is no
  connection throttle, BlueThrottle); ``zk_auth_failed_count`` (not counted);
  ``zk_outstanding_tls_handshake``, ``zk_non_mtls_remote_conn_count`` and
  ``zk_non_mtls_local_conn_count`` (no TLS); and ``zk_open_file_descriptor_count`` /
  ``zk_max_file_descriptor_count`` where there is no /proc. The keys we print come in
  the order 3.8 prints them (``MNTR_ORDER``); an ensemble member adds the quorum keys
  (``MNTR_QUORUM_KEYS``: ``zk_peer_state``, ``zk_learners``, ``zk_synced_followers``, ...).

Mirrors: org.apache.zookeeper.server.command.FourLetterCommands, CommandExecutor and
the command classes (RuokCommand, StatCommand, ConsCommand, DumpCommand, ...), with
NIOServerCnxn.checkFourLetterWord, ServerCnxn.dumpConnectionInfo,
ZooKeeperServer.dumpConf and org.apache.zookeeper.Environment.
"""

from __future__ import annotations

import dataclasses
import getpass
import os
import platform
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from zk.server.stats import java_double
from zk.session.expiry_queue import ExpiryQueue

if TYPE_CHECKING:
    from zk.server.cnxn import ServerCnxn
    from zk.server.zookeeper_server import ZooKeeperServer

__all__ = [
    "COMMANDS",
    "DEFAULT_TRACE_MASK",
    "JAVA_EQUIVALENTS",
    "MNTR_KEYS",
    "MNTR_ORDER",
    "MNTR_QUORUM_KEYS",
    "SESSIONLESS_CNXN_TIMEOUT",
    "TELNET_CLOSE",
    "VERSION",
    "ZK_NOT_SERVING",
    "FourLetterWords",
]

# What `srvr` reports as the version: ZooKeeper's protocol version we speak, and us.
VERSION = "3.8.0-annotated, built on 2026-11-25 00:00 UTC"

ZK_NOT_SERVING = "This ZooKeeper instance is not currently serving requests"

COMMANDS = frozenset(
    {"ruok", "srvr", "stat", "conf", "cons", "crst", "dump", "envi", "gtmk", "stmk", "mntr", "srst"}
    | {"wchc", "wchp", "wchs", "dirs", "isro", "hash"}
)
"""Every four-letter word of ZooKeeper 3.8 (FourLetterCommands.cmd2String)."""

TELNET_CLOSE = b"\xff\xf4\xff\xfd"
"""telnet's IAC DO IP ("interrupt process"): a known word, named "telnet close",
with no command behind it."""
_TELNET_CLOSE_NAME = "telnet close"
# How the connection hands the word over: ASCII with every non-ASCII byte replaced.
_TELNET_CLOSE_DECODED = TELNET_CLOSE.decode("ascii", "replace")

DEFAULT_TRACE_MASK = 306
"""ZooTrace's default text trace level: CLIENT_REQUEST (2) | SERVER_PACKET (16) |
SESSION (32) | WARNING (256)."""

SESSIONLESS_CNXN_TIMEOUT = 10_000
"""zookeeper.nio.sessionlessCnxnTimeout: the timeout, in ms, of a connection without a
session, and the bucket width of NIO's connection expiry queue."""

JAVA_EQUIVALENTS: dict[str, str | None] = {
    "java.version": "python.version",
    "java.vendor": "python.implementation",
    "java.home": "python.home",
    "java.class.path": "python.path",
    "java.library.path": None,
    "java.io.tmpdir": "python.tempdir",
    "java.compiler": None,
}
"""``envi``: each java.* key of ZooKeeper and the key we print in its place (None: left out)."""

MNTR_ORDER = (
    "version",
    "server_state",
    "peer_state",
    "observer_master_id",
    "ephemerals_count",
    "num_alive_connections",
    "avg_latency",
    "min_proposal_size",
    "outstanding_requests",
    "znode_count",
    "global_sessions",
    "packets_sent",
    "packets_received",
    "max_proposal_size",
    "synced_followers",
    "watch_count",
    "synced_non_voting_followers",
    "synced_observers",
    "min_latency",
    "max_file_descriptor_count",
    "approximate_data_size",
    "open_file_descriptor_count",
    "last_proposal_size",
    "pending_syncs",
    "leader_uptime",
    "local_sessions",
    "uptime",
    "max_latency",
    "learners",
    "quorum_size",
    "digest_mismatches_count",
)
"""Every ``mntr`` key we print (without ``zk_``), in the order 3.8 prints them: version
and state first (ZooKeeperServer.dumpMonitorValues, QuorumZooKeeperServer's
``peer_state``, an observer's ``observer_master_id``), then the gauges in the order of
the metrics provider's hash map."""

MNTR_QUORUM_KEYS = frozenset(
    {
        "peer_state",
        "observer_master_id",
        "min_proposal_size",
        "max_proposal_size",
        "synced_followers",
        "synced_non_voting_followers",
        "synced_observers",
        "last_proposal_size",
        "pending_syncs",
        "leader_uptime",
        "learners",
        "quorum_size",
    }
)
"""The keys only an ensemble member prints (some only its leader, or an observer); they
come from its QuorumPeer, through ``FourLetterWords.quorum_values``."""

MNTR_KEYS = tuple(k for k in MNTR_ORDER if k not in MNTR_QUORUM_KEYS)
"""The keys a standalone server prints, in 3.8's order."""

_MASK64 = (1 << 64) - 1
_OP_READ, _OP_WRITE = 1, 4  # java.nio.channels.SelectionKey


def _hex(value: int) -> str:
    """Long.toHexString: a long's two's-complement bits, so -1 is ffffffffffffffff."""
    return f"{value & _MASK64:x}"


def _dir_size(path: Path) -> int:
    """ZooKeeperServer.getDirSize: file sizes summed recursively; 0 if it is missing."""
    if path.is_dir():
        return sum(_dir_size(child) for child in path.iterdir())
    try:
        return path.stat().st_size
    except OSError:
        return 0  # File.length() of a missing file


@dataclasses.dataclass(frozen=True, slots=True)
class _CnxnEntry:
    """A connection as NIOServerCnxn.toString prints it in ``dump``."""

    remote: str
    session_id: int

    def __str__(self) -> str:
        return f"ip: /{self.remote} sessionId: 0x{_hex(self.session_id)}"


class FourLetterWords:
    """Runs four-letter words against a server.

    Mirrors: org.apache.zookeeper.server.command.FourLetterCommands and CommandExecutor.
    """

    def __init__(self, zks: ZooKeeperServer) -> None:
        self.zks = zks
        # ServerStats.startTime: uptime counts from the server's construction.
        self.started_ms = zks.now_ms()
        self.trace_mask = DEFAULT_TRACE_MASK
        # The ``Mode:`` of srvr/stat and mntr's zk_server_state; an ensemble member's
        # QuorumPeer replaces it with its own (leader, follower, observer, looking).
        self.server_state: Callable[[], str] = lambda: "standalone"
        # mntr's quorum keys (peer_state, learners, synced_followers, pending_syncs, ...),
        # by key without ``zk_``; an ensemble member's QuorumPeer supplies them.
        self.quorum_values: Callable[[], Mapping[str, int | str]] = dict

    def handles(self, first4: bytes) -> bool:
        """Whether the first four bytes of a connection are a word, not a length."""
        if first4 == TELNET_CLOSE:
            # Whitelisted (only "*" does that), it has no command: CommandExecutor says
            # "not mine", and the bytes go on to be read as a (negative) length.
            return not self._all_whitelisted()
        return first4.decode("ascii", "replace") in COMMANDS

    def _all_whitelisted(self) -> bool:
        return self.zks.config.four_letter_word_whitelist.issuperset(COMMANDS)

    def run(self, word: str, cnxn: ServerCnxn, rest: bytes = b"") -> str:
        """The reply to ``word`` (NIOServerCnxn.checkFourLetterWord); the caller writes it
        and closes. ``rest`` is what followed the word in the same read (``stmk``'s mask).
        """
        # The word is one packet received (packetReceived(4)), on the server and the
        # connection, before the command runs: `stat` counts itself.
        cnxn.packets_received += 1
        self.zks.stats.packets_received += 1
        if word == _TELNET_CLOSE_DECODED:
            word = _TELNET_CLOSE_NAME
        # ZOOKEEPER-2693: a word is refused unless whitelisted; srvr always runs.
        if word not in self.zks.config.four_letter_word_whitelist and word != "srvr":
            reply = f"{word} is not executed because it is not in the whitelist.\n"
        elif word == "stmk":
            reply = self._stmk(rest)
            if not reply:
                return ""  # the read of the mask failed: Java closes, sending nothing
        else:
            command: Callable[[ServerCnxn], str] | None = getattr(self, f"cmd_{word}", None)
            if command is None:
                return ""  # not reached: handles() refuses words without a command
            reply = command(cnxn)
        # The reply is one packet sent (sendBufferSync), counted after it was composed:
        # `stat` shows its own connection with sent=0.
        cnxn.packets_sent += 1
        self.zks.stats.packets_sent += 1
        return reply

    # --- the commands that answer whether or not the server serves ----------------------

    def cmd_ruok(self, cnxn: ServerCnxn) -> str:
        """RuokCommand: the port is open (not: the server serves; ask ``srvr`` for that)."""
        return "imok"

    def cmd_isro(self, cnxn: ServerCnxn) -> str:
        """IsroCommand: ``rw``; ``ro`` only on a read-only server (an ensemble's)."""
        return "rw" if self.zks.running else "null"

    def cmd_gtmk(self, cnxn: ServerCnxn) -> str:
        """TraceMaskCommand: the trace mask in decimal."""
        return str(self.trace_mask)

    def _stmk(self, rest: bytes) -> str:
        """SetTraceMaskCommand: the 8 bytes after the word are the new mask (a long).

        ZooKeeper reads them with one non-blocking read; when they have not arrived the
        read fails and the connection closes without a reply, as here.
        """
        if len(rest) < 8:
            return ""
        self.trace_mask = int.from_bytes(rest[:8], "big", signed=True)
        return str(self.trace_mask)

    def cmd_envi(self, cnxn: ServerCnxn) -> str:
        """EnvCommand: ``Environment:`` and ``key=value`` lines (Environment.list)."""
        return "Environment:\n" + "".join(f"{k}={v}\n" for k, v in _environment())

    # --- the commands that need a serving server -----------------------------------------

    def cmd_srvr(self, cnxn: ServerCnxn) -> str:
        return self._stat(cnxn, with_clients=False)

    def cmd_stat(self, cnxn: ServerCnxn) -> str:
        return self._stat(cnxn, with_clients=True)

    def _stat(self, cnxn: ServerCnxn, *, with_clients: bool) -> str:
        """StatCommand: the version, (``stat``) the clients, then ServerStats.toString."""
        zks = self.zks
        if not zks.running:
            return ZK_NOT_SERVING + "\n"
        out = [f"Zookeeper version: {VERSION}\n"]
        if with_clients:
            out.append("Clients:\n")
            out.extend(self._connection_info(c, cnxn, brief=True) + "\n" for c in zks.factory.cnxns)
            out.append("\n")
        s = zks.stats
        out += [
            s.latency_line() + "\n",
            f"Received: {s.packets_received}\n",
            f"Sent: {s.packets_sent}\n",
            f"Connections: {len(zks.factory.cnxns)}\n",
            f"Outstanding: {zks.chain.in_process}\n",
            f"Zxid: 0x{_hex(zks.db.tree.last_processed_zxid)}\n",
            f"Mode: {_server_state(zks)}\n",
            f"Node count: {zks.db.tree.node_count()}\n",
        ]
        return "".join(out)

    def cmd_cons(self, cnxn: ServerCnxn) -> str:
        """ConsCommand: every connection in full, then a blank line."""
        if not self.zks.running:
            return ZK_NOT_SERVING + "\n"
        return "".join(self._connection_info(c, cnxn, brief=False) + "\n" for c in self.zks.factory.cnxns) + "\n"

    def _connection_info(self, c: ServerCnxn, current: ServerCnxn, *, brief: bool) -> str:
        """One connection as ServerCnxn.dumpConnectionInfo prints it::

        /127.0.0.1:50934[1](queued=0,recved=4,sent=4,sid=0x100000f8c0b0000,lop=GETD,
            est=1795595925540,to=10000,lcxid=0x3,lzxid=0x4,lresp=1019036,llat=1,
            minlat=0,avglat=3,maxlat=5)

        ``[1]`` is the selector interest (1 read, 4 write, 0 for the connection running
        this word). ``est`` is wall-clock ms, ``lresp`` elapsed-clock ms, as in Java.
        """
        text = (
            f" /{c.remote}[{_interest_ops(c, current):x}](queued={max(c.outstanding, 0)},"
            f"recved={c.packets_received},sent={c.packets_sent}"
        )
        if not brief and c.session_id != 0:
            st = c.cnxn_stats
            est = self.zks.wall_ms() - self.zks.now_ms() + c.established_ms  # Time.elapsedTimeToDate
            text += f",sid=0x{_hex(c.session_id)},lop={st.last_op},est={est},to={c.session_timeout}"
            if st.last_cxid >= 0:
                text += f",lcxid=0x{_hex(st.last_cxid)}"
            text += (
                f",lzxid=0x{_hex(st.last_zxid)},lresp={st.last_response_time},llat={st.last_latency}"
                f",minlat={st.min_latency},avglat={st.avg_latency},maxlat={st.max_latency}"
            )
        return text + ")"

    def cmd_crst(self, cnxn: ServerCnxn) -> str:
        """CnxnStatResetCommand: every connection's counters (ServerCnxn.resetStats)."""
        if not self.zks.running:
            return ZK_NOT_SERVING + "\n"
        for c in self.zks.factory.cnxns:
            c.packets_received = c.packets_sent = 0
            c.cnxn_stats.reset()
        return "Connection stats reset.\n"

    def cmd_srst(self, cnxn: ServerCnxn) -> str:
        """StatResetCommand: the server's latency and packet counters."""
        if not self.zks.running:
            return ZK_NOT_SERVING + "\n"
        self.zks.stats.reset()
        return "Server stats reset.\n"

    def cmd_conf(self, cnxn: ServerCnxn) -> str:
        """ConfCommand: ZooKeeperServer.dumpConf, in its order."""
        zks = self.zks
        if not zks.running:
            return ZK_NOT_SERVING + "\n"
        cfg = zks.config
        snap_dir, log_dir = _snap_dir(zks), _log_dir(zks)
        pairs = [
            ("clientPort", zks.bound_port),
            ("secureClientPort", -1),
            ("dataDir", snap_dir),
            # Java sizes the log dir as dataDirSize and the snap dir as dataLogSize (the
            # getters are crossed); with one dataDir, as here by default, it is the same.
            ("dataDirSize", _dir_size(Path(log_dir))),
            ("dataLogDir", log_dir),
            ("dataLogSize", _dir_size(Path(snap_dir))),
            ("tickTime", cfg.tick_time),
            ("maxClientCnxns", cfg.max_client_cnxns),
            ("minSessionTimeout", cfg.effective_min_session_timeout),
            ("maxSessionTimeout", cfg.effective_max_session_timeout),
            ("clientPortListenBacklog", -1),
            ("serverId", 0),
        ]
        return "".join(f"{k}={v}\n" for k, v in pairs)

    def cmd_dirs(self, cnxn: ServerCnxn) -> str:
        """DirsCommand (the same crossed getters as ``conf``)."""
        if not self.zks.running:
            return ZK_NOT_SERVING + "\n"
        return (
            f"datadir_size: {_dir_size(Path(_log_dir(self.zks)))}\n"
            f"logdir_size: {_dir_size(Path(_snap_dir(self.zks)))}\n"
        )

    def cmd_dump(self, cnxn: ServerCnxn) -> str:
        """DumpCommand: sessions by expiry bucket, ephemerals by session, connections."""
        zks = self.zks
        if not zks.running:
            return ZK_NOT_SERVING + "\n"
        tree = zks.db.tree
        out = ["SessionTracker dump:\n", zks.session_tracker.dump_sessions(self._format_elapsed)]
        out.append("ephemeral nodes dump:\n")
        sessions = tree.get_sessions()
        out.append(f"Sessions with Ephemerals ({len(sessions)}):\n")
        for sid in sessions:
            out.append(f"0x{_hex(sid)}:\n")
            out.extend(f"\t{path}\n" for path in sorted(tree.get_ephemerals(sid)))
        out.append("Connections dump:\n")
        out.append("Connections " + self._connection_expiry_queue().dump(self._format_elapsed))
        return "".join(out)

    def _connection_expiry_queue(self) -> ExpiryQueue[_CnxnEntry]:
        """NIOServerCnxnFactory's cnxnExpiryQueue, rebuilt from what each connection did
        last: touched when it was accepted and on every answered request, for its session
        timeout (10 s without a session), in buckets of 10 s."""
        now = self.zks.now_ms()
        queue: ExpiryQueue[_CnxnEntry] = ExpiryQueue(SESSIONLESS_CNXN_TIMEOUT, now)
        for c in self.zks.factory.cnxns:
            touched = max(c.established_ms, c.cnxn_stats.touched_ms)
            timeout = c.session_timeout if c.session_timeout > 0 else SESSIONLESS_CNXN_TIMEOUT
            queue.update(_CnxnEntry(c.remote, c.session_id), timeout, touched)
        return queue

    def _format_elapsed(self, elapsed_ms: int) -> str:
        """Time.elapsedTimeToDate printed as java.util.Date: ``Wed Nov 25 08:38:56 UTC 2026``."""
        wall_ms = self.zks.wall_ms() + elapsed_ms - self.zks.now_ms()
        return time.strftime("%a %b %d %H:%M:%S %Z %Y", time.localtime(wall_ms / 1000))

    def cmd_wchs(self, cnxn: ServerCnxn) -> str:
        """WatchCommand: the data watches' summary (child watches are not counted)."""
        if not self.zks.running:
            return ZK_NOT_SERVING + "\n"
        return self.zks.db.watches.dump_watches_summary() + "\n"

    def cmd_wchc(self, cnxn: ServerCnxn) -> str:
        """WatchCommand: data watches by session, then a blank line."""
        if not self.zks.running:
            return ZK_NOT_SERVING + "\n"
        return self.zks.db.watches.dump_watches(by_path=False) + "\n"

    def cmd_wchp(self, cnxn: ServerCnxn) -> str:
        """WatchCommand: data watches by path, then a blank line."""
        if not self.zks.running:
            return ZK_NOT_SERVING + "\n"
        return self.zks.db.watches.dump_watches(by_path=True) + "\n"

    def cmd_hash(self, cnxn: ServerCnxn) -> str:
        """DigestCommand: the tree digest at every 128th zxid, ``<zxid hex>: <digest>``."""
        if not self.zks.running:
            return ZK_NOT_SERVING
        return "".join(f"{zxid:x}: {digest}\n" for zxid, digest in self.zks.db.tree.digest_log)

    def cmd_mntr(self, cnxn: ServerCnxn) -> str:
        """MonitorCommand: ``zk_<key>\\t<value>`` lines; integers as integers, other
        numbers as Java doubles."""
        if not self.zks.running:
            return ZK_NOT_SERVING + "\n"
        values = self.monitor_values()
        lines = []
        for key in MNTR_ORDER:
            if key in values:
                value = values[key]
                text = java_double(value) if isinstance(value, float) else str(value)
                lines.append(f"zk_{key}\t{text}\n")
        return "".join(lines)

    def monitor_values(self) -> dict[str, int | float | str]:
        """What ``mntr`` prints, by key (without ``zk_``); only the values we measure."""
        zks = self.zks
        s = zks.stats
        values: dict[str, int | float | str] = {
            "version": VERSION,
            "server_state": _server_state(zks),
            "ephemerals_count": zks.db.tree.ephemerals_count(),
            "num_alive_connections": len(zks.factory.cnxns),
            "avg_latency": s.avg_latency,
            "outstanding_requests": zks.chain.in_process,
            "znode_count": zks.db.tree.node_count(),
            "global_sessions": len(zks.session_tracker.sessions_with_timeouts()),
            "packets_sent": s.packets_sent,
            "packets_received": s.packets_received,
            "watch_count": zks.db.watches.get_watch_count(),
            "min_latency": s.min_latency,
            "approximate_data_size": zks.db.tree.approximate_data_size(),
            "local_sessions": zks.session_tracker.get_local_session_count(),
            "uptime": zks.now_ms() - self.started_ms,
            "max_latency": s.max_latency,
            # ServerMetrics.DIGEST_MISMATCHES_COUNT: txns and snapshots whose digest the tree disagreed with
            "digest_mismatches_count": zks.db.tree.digest_mismatches,
        }
        values.update(_file_descriptors())
        values.update(self.quorum_values())
        return values


# --- helpers -------------------------------------------------------------------------


def _server_state(zks: ZooKeeperServer) -> str:
    """ServerStats.getServerState: "standalone", or the QuorumPeer's state."""
    return zks.four_letter_words.server_state()


def _snap_dir(zks: ZooKeeperServer) -> str:
    """FileTxnSnapLog's snapshot folder: ``<dataDir>/version-2``, absolute."""
    data_dir = zks.config.data_dir or Path(".")
    return os.path.abspath(data_dir / "version-2")


def _log_dir(zks: ZooKeeperServer) -> str:
    """FileTxnSnapLog's log folder: ``<dataLogDir>/version-2`` (dataLogDir defaults to dataDir)."""
    log_dir = zks.config.data_log_dir or zks.config.data_dir or Path(".")
    return os.path.abspath(log_dir / "version-2")


def _interest_ops(c: ServerCnxn, current: ServerCnxn) -> int:
    """NIOServerCnxn.getInterestOps: 0 for the connection running the word (ZooKeeper
    takes it off the selector) and for closing ones; else read if reading is not paused
    (throttling, a session being set up), plus write while output waits."""
    if c is current or c.closing or c.transport is None:
        return 0
    ops = _OP_READ if c.transport.is_reading() else 0
    if c.transport.get_write_buffer_size() > 0:
        ops |= _OP_WRITE
    return ops


def _file_descriptors() -> dict[str, int | float | str]:
    """OSMXBean's open and maximum file descriptor counts (Linux: /proc and the soft
    RLIMIT_NOFILE); nothing where /proc is missing."""
    try:
        import resource

        open_fds = len(os.listdir("/proc/self/fd"))
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ImportError):
        return {}
    return {"open_file_descriptor_count": open_fds, "max_file_descriptor_count": soft}


def _environment() -> list[tuple[str, str]]:
    """Environment.list, with Python's equivalents in place of the java.* entries."""
    python = {
        "python.version": platform.python_version(),
        "python.implementation": platform.python_implementation(),
        "python.home": sys.prefix,
        "python.path": os.pathsep.join(sys.path),
        "python.tempdir": tempfile.gettempdir(),
    }
    entries = [("zookeeper.version", VERSION), ("host.name", _host_name())]
    for java_key in JAVA_EQUIVALENTS:
        python_key = JAVA_EQUIVALENTS[java_key]
        if python_key is not None:
            entries.append((python_key, python[python_key]))
    entries += [
        ("os.name", platform.system() or "<NA>"),
        ("os.arch", _java_os_arch(platform.machine())),
        ("os.version", platform.release() or "<NA>"),
        ("user.name", _user_name()),
        ("user.home", os.path.expanduser("~")),
        ("user.dir", os.getcwd()),
    ]
    entries += [(f"os.memory.{k}", f"{v // (1024 * 1024)}MB") for k, v in _memory().items()]
    return entries


def _host_name() -> str:
    """InetAddress.getLocalHost().getCanonicalHostName(): the host name, resolved."""
    try:
        return socket.getfqdn(socket.gethostname())
    except OSError:
        return "<NA>"


def _java_os_arch(machine: str) -> str:
    # The JVM names x86-64 "amd64" and 32-bit x86 "x86"; others (aarch64, ...) agree.
    return {"x86_64": "amd64", "i386": "x86", "i686": "x86"}.get(machine, machine or "<NA>")


def _user_name() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "<NA>"


def _memory() -> dict[str, int]:
    """free: the machine's free memory; max: its physical memory; total: this process's
    resident size (Java reports its heap, which a Python process does not have)."""
    found: dict[str, int] = {}
    try:
        page = os.sysconf("SC_PAGE_SIZE")
        found["free"] = os.sysconf("SC_AVPHYS_PAGES") * page
        found["max"] = os.sysconf("SC_PHYS_PAGES") * page
        with open("/proc/self/statm", encoding="ascii") as statm:
            found["total"] = int(statm.read().split()[1]) * page
    except (OSError, ValueError, IndexError):
        pass  # a platform without these: print what we have
    return found
