"""A TCP proxy in front of one server port: a fault that touches the network only.

``drop()`` closes every forwarded connection and refuses new ones until ``restore()``:
to the connecting side it is a network failure, while the server keeps running (and,
past the session timeout, expires the session of a client it no longer hears from).
Tests and notebooks put one between a client and its server to show reconnects,
setWatches and session expiry; [zk.lab.network][] puts one on every link between the
members of an ensemble to partition it.

A proxy may rewrite the first message of each connection (`rewrite_first`): the
election port's initial message names the sender's own address, which the network
replaces by the address of the proxy back to it.

Mirrors: nothing in ZooKeeper; the lab's network fault, as Jepsen's or Maelstrom's.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable

from zk.lab.ports import LOOPBACK, free_port

__all__ = ["CONNECT_TIMEOUT", "FirstMessageRewrite", "Proxy"]

CONNECT_TIMEOUT = 5.0
"""Seconds the proxy keeps trying to connect to its target before dropping the connection."""

FirstMessageRewrite = Callable[[bytes], bytes | None]
"""Given the bytes a connecting side sent so far, the bytes to forward in their place once
they hold its whole first message, or None while more are needed. It must return within
a bounded number of bytes (garbage is returned unchanged: the server refuses it)."""

_CHUNK = 65536
_RETRY_INTERVAL = 0.05


class Proxy:
    """Forwards loopback connections to ``host:port``; ``connect_string`` is the proxy's.

    Each accepted connection gets a connection to the target and two pumps, one per
    direction; when either side closes, both are closed.

    Attributes:
        target: ``(host, port)`` the proxy forwards to.
        port: The proxy's own port on loopback.
        down: Whether it drops connections (between `drop()` and `restore()`).
        accepted: How many connections it has forwarded so far.
    """

    def __init__(self, host: str, port: int, *, rewrite_first: FirstMessageRewrite | None = None) -> None:
        self.target = (host, port)
        # free_port, not port 0: it never returns a port handed to a server not yet bound
        self.listener = socket.create_server((LOOPBACK, free_port()))
        self.port: int = self.listener.getsockname()[1]
        self.down = False
        self.accepted = 0
        self.rewrite_first = rewrite_first
        self._lock = threading.Lock()
        self._socks: set[socket.socket] = set()
        threading.Thread(target=self._accept, daemon=True, name=f"proxy-{self.port}-accept").start()

    def __repr__(self) -> str:
        state = "down" if self.down else "up"
        return f"<Proxy {self.connect_string} -> {self.target[0]}:{self.target[1]} {state}>"

    @property
    def connect_string(self) -> str:
        """``host:port`` to connect to instead of the target."""
        return f"{LOOPBACK}:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return  # closed
            with self._lock:
                if self.down:
                    conn.close()
                    continue
                self._socks.add(conn)  # from now on drop() cuts it, even while we connect
            threading.Thread(target=self._serve, args=(conn,), daemon=True, name="proxy-conn").start()

    def _connect_upstream(self, conn: socket.socket) -> socket.socket | None:
        """A connection to the target, tried again until CONNECT_TIMEOUT while it refuses.

        The proxy has accepted `conn` already, so a refusal cannot reach the connecting
        side as one; closing at once would look like a peer that accepted and hung up. A
        learner told of a leader that does not listen yet would take that for a failed
        leader and go back to election (with a real network its connect is refused and
        it retries: Learner.connectToLeader), so we hold the connection silent until the
        target listens, as retransmitted SYNs would.
        """
        deadline = time.monotonic() + CONNECT_TIMEOUT
        while conn in self._socks:  # not dropped meanwhile
            try:
                upstream = socket.create_connection(self.target, timeout=CONNECT_TIMEOUT)
            except OSError:
                if time.monotonic() >= deadline:
                    return None
                time.sleep(_RETRY_INTERVAL)
                continue
            upstream.settimeout(None)
            return upstream
        return None

    def _serve(self, conn: socket.socket) -> None:
        upstream = self._connect_upstream(conn)
        with self._lock:
            # drop() may have run while we connected: its snapshot missed this upstream
            if upstream is None or conn not in self._socks:
                self._socks.discard(conn)
                conn.close()
                if upstream is not None:
                    upstream.close()
                return
            self.accepted += 1
            self._socks.add(upstream)
        back = threading.Thread(target=self._pump, args=(upstream, conn), daemon=True, name="proxy-pump")
        back.start()
        self._pump(conn, upstream, self.rewrite_first)
        back.join()
        with self._lock:
            self._socks.difference_update((conn, upstream))
        conn.close()
        upstream.close()

    def _pump(self, src: socket.socket, dst: socket.socket, rewrite: FirstMessageRewrite | None = None) -> None:
        with contextlib.suppress(OSError):
            if rewrite is not None:
                first = b""
                while (out := rewrite(first)) is None:
                    data = src.recv(_CHUNK)
                    if not data:
                        break
                    first += data
                else:
                    dst.sendall(out)
            while data := src.recv(_CHUNK):
                dst.sendall(data)
        # one side is gone: end the other direction too, as a cut cable would
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def drop(self) -> None:
        """Cut every connection and refuse new ones (accepted, then closed at once)."""
        with self._lock:
            self.down = True
            socks, self._socks = self._socks, set()
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def restore(self) -> None:
        """Forward new connections again (the cut ones stay cut)."""
        self.down = False

    def close(self) -> None:
        """Drop everything and stop listening."""
        self.drop()
        # shutdown wakes the thread blocked in accept(); close alone would not on Linux
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
