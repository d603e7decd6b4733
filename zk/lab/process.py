"""A lab server as an operating-system process: start, wait until it serves, fault, stop.

`ServerProcess` wraps one server, ours (``python -m zk server zoo.cfg``) or Apache
ZooKeeper 3.8 (a JVM running QuorumPeerMain), behind one handle. It is a shell: it owns a
`subprocess.Popen`, a log file and signals, and its async methods only poll and sleep, so
one handle can be used from any event loop (a notebook's, each pytest-asyncio test's) and
from the blocking wrapper.

Every process runs in its own session and process group, so signals reach any helper it
forks and Ctrl-C in a notebook does not hit it; a module-level registry remembers every
live lab process, `atexit` stops whatever is left, and `running_lab_processes()` lets tests
check that nothing outlives them.

Faults are signals: SIGTERM is a clean shutdown (both servers honour it), SIGKILL a crash,
SIGSTOP/SIGCONT a pause, which to its peers looks like a long GC pause or a partition.

Mirrors: no Java class; kazoo's test harness (kazoo.testing.common.ManagedZooKeeper) and
Maelstrom's process nemesis do the same jobs.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal

from zk.lab.fourletter import four_letter_word, parse_srvr
from zk.trace.render import Event, load

__all__ = [
    "DEFAULT_READY_TIMEOUT",
    "DEFAULT_STOP_GRACE",
    "ServerKind",
    "ServerProcess",
    "ServerStartError",
    "cleanup_lab_processes",
    "running_lab_processes",
]

ServerKind = Literal["ours", "reference"]
"""Which implementation a process runs."""

DEFAULT_READY_TIMEOUT = 60.0
"""Seconds `wait_ready` waits, as long as start-standalone.sh (a JVM on 2 cores is slow)."""

DEFAULT_STOP_GRACE = 10.0
"""Seconds between SIGTERM and SIGKILL in `stop`."""

_POLL_INTERVAL = 0.05
# A QuorumPeer state line, ours or the reference's: "... QuorumPeer - LEADING"
_STATE_LINE = re.compile(r" - (LOOKING|LEADING|FOLLOWING|OBSERVING)[ \t]*$", re.MULTILINE)
_LOG_TAIL_BYTES = 64 * 1024

_registry_lock = threading.Lock()
_registry: dict[int, subprocess.Popen[bytes]] = {}


def _register(proc: subprocess.Popen[bytes]) -> None:
    with _registry_lock:
        _registry[proc.pid] = proc


def _prune() -> list[subprocess.Popen[bytes]]:
    """Drop exited processes (reaping them) and return the live ones."""
    with _registry_lock:
        for pid, proc in list(_registry.items()):
            if proc.poll() is not None:
                del _registry[pid]
        return list(_registry.values())


def running_lab_processes() -> list[int]:
    """Return the pids of lab server processes that are still alive, oldest first."""
    return [proc.pid for proc in _prune()]


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    # start_new_session made the server its group's leader: pgid == pid. The group may
    # outlive a reaped leader only through children it forked; ESRCH means nobody is left.
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        if proc.poll() is None:
            proc.send_signal(sig)


def cleanup_lab_processes(grace: float = 2.0, pids: Iterable[int] | None = None) -> list[int]:
    """Stop live lab processes: SIGTERM, then SIGKILL after `grace` seconds. Blocking.

    Registered with `atexit`; tests call it to clean up after a leak before failing.

    Args:
        grace: Seconds between SIGTERM and SIGKILL.
        pids: Only these processes; all lab processes if None.

    Returns:
        The pids that were still running.
    """
    wanted = None if pids is None else set(pids)
    live = [proc for proc in _prune() if wanted is None or proc.pid in wanted]
    for proc in live:
        _signal_group(proc, signal.SIGTERM)
        _signal_group(proc, signal.SIGCONT)  # a paused process only sees SIGTERM when resumed
    deadline = time.monotonic() + grace
    for proc in live:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait()
        _signal_group(proc, signal.SIGKILL)  # helpers left in the group
    _prune()
    return [proc.pid for proc in live]


atexit.register(cleanup_lab_processes)


class ServerStartError(RuntimeError):
    """A lab server exited or did not serve in time; the message ends with its log tail."""


class ServerProcess:
    """Handle on one lab server process, stopped or running.

    The files (zoo.cfg, dataDir, myid) are written by the launcher that builds the handle
    (see [zk.lab.reference][] and [zk.lab.ours][]); the handle starts the command, appends
    its stdout and stderr to `log_path`, and keeps the port and dataDir across restarts.

    Attributes:
        name: Label used in traces and pictures, e.g. ``"s1"``.
        kind: ``"ours"`` or ``"reference"``.
        host: The client address (always loopback in the lab).
        port: The client port.
        data_dir: The server's dataDir.
        config_path: Its zoo.cfg.
        log_path: Where its stdout and stderr go (appended on every start).
        trace_path: Its JSON-lines trace file, or None (Apache ZooKeeper writes none).
        myid: Its server id in an ensemble, or None for a standalone server.
        argv: The command line.

    Mirrors: no Java class; kazoo.testing.common.ManagedZooKeeper, with Maelstrom's
    kill/pause faults added.
    """

    def __init__(
        self,
        *,
        name: str,
        kind: ServerKind,
        host: str,
        port: int,
        data_dir: Path,
        config_path: Path,
        log_path: Path,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        trace_path: Path | None = None,
        myid: int | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.kind: ServerKind = kind
        self.host = host
        self.port = port
        self.data_dir = data_dir
        self.config_path = config_path
        self.log_path = log_path
        self.trace_path = trace_path
        self.myid = myid
        self.argv = list(argv)
        self.env = dict(env or {})
        self.cwd = cwd
        self.starts = 0
        self.paused = False
        # Our ensemble members (and members of a mixed ensemble) cannot serve clients
        # until atomic broadcast lands: for them, "ready" means "the election ended".
        # Judge readiness by the election's log lines instead of `srvr` (an ensemble
        # member that serves no clients; off for every kind since broadcast landed).
        self.ready_when_elected = False
        self._proc: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<ServerProcess {self.name} {self.kind} {self.connect_string} pid={self.pid} {state}>"

    @property
    def connect_string(self) -> str:
        """``host:port``, what a client such as kazoo connects to."""
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The current (or last) process id, None before the first start."""
        return None if self._proc is None else self._proc.pid

    @property
    def returncode(self) -> int | None:
        """The exit status once the process has exited (negative: killed by that signal)."""
        return None if self._proc is None else self._proc.poll()

    @property
    def running(self) -> bool:
        """Whether the process is alive (paused counts as alive)."""
        return self._proc is not None and self._proc.poll() is None

    async def start(self) -> None:
        """Launch the process; it does not wait until it serves (see `wait_ready`).

        Raises:
            RuntimeError: It is already running.
        """
        if self.running:
            raise RuntimeError(f"{self.name} is already running (pid {self.pid})")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        env = {**os.environ, **self.env}
        with self.log_path.open("ab") as log:
            log.write(f"--- zk.lab: start #{self.starts} of {self.name}: {' '.join(self.argv)}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.cwd,
                start_new_session=True,
            )
        self.paused = False
        _register(self._proc)

    async def is_serving(self, timeout: float = 2.0) -> bool:
        """One readiness probe: `ruok` answers `imok` and `srvr` shows a zxid.

        `ruok` answers as soon as the port is open, even while the database still loads;
        `srvr` says "not currently serving" until the server (or ensemble member) serves.
        """
        try:
            if (await four_letter_word(self.host, self.port, "ruok", timeout)).strip() != "imok":
                return False
            return "Zxid:" in await four_letter_word(self.host, self.port, "srvr", timeout)
        except (OSError, TimeoutError):
            return False

    def peer_state(self) -> str | None:
        """An ensemble member's state as its log last reported it since it was started:
        ``LOOKING``, ``LEADING``, ``FOLLOWING`` or ``OBSERVING``; None if not running or
        not said yet.

        Both servers log each state change as a line ending in `` - LEADING`` (QuorumPeer.run);
        this works while a peer does not serve, when `srvr` only says "not currently serving".
        """
        if not self.running:
            return None
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return None
        start = text.rfind("--- zk.lab: start #")
        found = _STATE_LINE.findall(text, max(start, 0))
        return found[-1] if found else None

    async def _elected(self) -> bool:
        if not self.ready_when_elected:
            return False
        try:
            if (await four_letter_word(self.host, self.port, "ruok", 2.0)).strip() != "imok":
                return False
        except (OSError, TimeoutError):
            return False
        return self.peer_state() in ("LEADING", "FOLLOWING", "OBSERVING")

    async def wait_ready(self, timeout: float = DEFAULT_READY_TIMEOUT) -> None:
        """Wait until the server serves (our ensemble members: until their election ended).

        Raises:
            ServerStartError: The process exited, or did not serve within `timeout`.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if not self.running:
                raise ServerStartError(
                    f"{self.name} ({self.kind}) exited with status {self.returncode} before serving; "
                    f"log {self.log_path}:\n{self.log_tail()}"
                )
            if await self.is_serving() or await self._elected():
                return
            if loop.time() >= deadline:
                raise ServerStartError(
                    f"{self.name} ({self.kind}) did not serve on {self.connect_string} within "
                    f"{timeout:g} s; log {self.log_path}:\n{self.log_tail()}"
                )
            await asyncio.sleep(_POLL_INTERVAL * 2)

    async def _wait_exit(self, timeout: float) -> bool:
        proc = self._proc
        if proc is None:
            return True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while proc.poll() is None:
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(_POLL_INTERVAL)
        return True

    async def stop(self, grace: float = DEFAULT_STOP_GRACE) -> int | None:
        """Shut down cleanly: SIGTERM, then SIGKILL if still alive after `grace` seconds.

        Returns:
            The exit status, or None if it was never started.
        """
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            _signal_group(proc, signal.SIGTERM)
            if self.paused:
                _signal_group(proc, signal.SIGCONT)
            try:
                exited = await self._wait_exit(grace)
            except BaseException:
                # Cancelled (Ctrl-C in a notebook): finish the job without awaiting.
                self._kill_now(proc)
                raise
            if not exited:
                self._kill_now(proc)
        self._kill_now(proc)  # sweep helpers left in the group
        self.paused = False
        _prune()
        return proc.returncode

    def _kill_now(self, proc: subprocess.Popen[bytes]) -> None:
        _signal_group(proc, signal.SIGKILL)
        if proc.poll() is None:
            proc.wait()  # SIGKILL cannot be ignored: this returns at once

    async def kill(self) -> int | None:
        """Crash the server: SIGKILL, no shutdown hooks, no final fsync.

        Returns:
            The exit status (``-9``), or None if it was never started.
        """
        proc = self._proc
        if proc is None:
            return None
        self._kill_now(proc)
        self.paused = False
        _prune()
        return proc.returncode

    async def pause(self) -> None:
        """Freeze the process (SIGSTOP): its sockets stay open but nothing answers."""
        if self._proc is None or not self.running:
            raise RuntimeError(f"{self.name} is not running")
        _signal_group(self._proc, signal.SIGSTOP)
        self.paused = True

    async def resume(self) -> None:
        """Thaw a paused process (SIGCONT)."""
        if self._proc is None or not self.running:
            raise RuntimeError(f"{self.name} is not running")
        _signal_group(self._proc, signal.SIGCONT)
        self.paused = False

    async def restart(
        self, *, wait: bool = True, timeout: float = DEFAULT_READY_TIMEOUT, grace: float = DEFAULT_STOP_GRACE
    ) -> None:
        """Stop the server if it runs, start it again on the same port and dataDir.

        Args:
            wait: Also wait until it serves.
            timeout: Seconds for `wait_ready`.
            grace: Seconds for `stop`.
        """
        await self.stop(grace)
        await self.start()
        if wait:
            await self.wait_ready(timeout)

    async def four_letter_word(self, word: str, timeout: float = 2.0) -> str:
        """Send a four-letter word to this server and return its reply."""
        return await four_letter_word(self.host, self.port, word, timeout)

    async def mode(self) -> str | None:
        """The `Mode:` of `srvr` (``standalone``, ``leader``, ``follower``, ``observer``).

        Returns:
            The mode, or None if the server does not serve (yet).
        """
        try:
            reply = await self.four_letter_word("srvr")
        except (OSError, TimeoutError):
            return None
        return parse_srvr(reply).get("Mode")

    def log_tail(self, lines: int = 30) -> str:
        """The last `lines` lines of the server's log."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(0, os.SEEK_END)
                size = log.tell()
                log.seek(max(0, size - _LOG_TAIL_BYTES))
                text = log.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return "(no log yet)"
        return "\n".join(text.splitlines()[-lines:])

    def trace_events(self) -> list[Event]:
        """This server's trace events so far, in time order (none for the reference)."""
        if self.trace_path is None or not self.trace_path.exists():
            return []
        return load(self.trace_path)
