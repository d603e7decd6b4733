"""A TCP proxy between a client and a server: a fault that touches the network only.

``drop()`` closes every forwarded connection and refuses new ones until ``restore()``:
to the client it is a network failure, while the server keeps running (and, past the
session timeout, expires the session of a client it no longer hears from). Tests and
notebooks use it to show reconnects, setWatches and session expiry.

Mirrors: nothing in ZooKeeper; the lab's network fault, as Jepsen's or Maelstrom's.
"""

from __future__ import annotations

import contextlib
import socket
import threading

from zk.lab.ports import LOOPBACK, free_port

__all__ = ["Proxy"]


class Proxy:
    """Forwards loopback connections to ``host:port``; ``connect_string`` is the proxy's."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server((LOOPBACK, free_port()))
        self.port = self.listener.getsockname()[1]
        self.down = False
        self.accepted = 0
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True, name="proxy-accept").start()

    @property
    def connect_string(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            if self.down:
                conn.close()
                continue
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                conn.close()
                continue
            with self._lock:
                self.accepted += 1
                self._socks += [conn, upstream]
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True, name="proxy-pump").start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def drop(self) -> None:
        """Cut every connection and refuse new ones."""
        self.down = True
        with self._lock:
            socks, self._socks = self._socks, []
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def restore(self) -> None:
        self.down = False

    def close(self) -> None:
        self.drop()
        self.listener.close()
