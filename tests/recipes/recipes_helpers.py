"""Helpers for the recipes' tests: unique paths, waiting, a proxy to cut a connection,
and expiring a session on purpose."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable

from zk.client import ZooKeeper
from zk.lab.ports import LOOPBACK, free_port
from zk.protocol.constants import KeeperState
from zk.watch.events import WatchedEvent

__all__ = ["Proxy", "eventually", "expire_session", "unique"]


def unique(prefix: str = "/r") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def eventually(check: Callable[[], bool | Awaitable[bool]], timeout: float = 15.0, what: str = "") -> None:
    """Poll ``check`` until it is true."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.05)


async def expire_session(zk: ZooKeeper, connect: str) -> None:
    """Expire ``zk``'s session the way ZooKeeper's own tests do: open a second client on
    the same session id and password and close it. The server ends the session; ``zk``
    learns it as Expired when it reconnects."""
    other = ZooKeeper(connect, zk.session_timeout, session_id=zk.session_id, session_passwd=zk.session_passwd)
    await other.start(10)
    await other.close()


class Proxy:
    """A TCP proxy; ``drop()`` cuts every connection and refuses new ones until ``restore()``."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server((LOOPBACK, free_port()))
        self.port = self.listener.getsockname()[1]
        self.down = False
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
                self._socks += [conn, upstream]
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def drop(self) -> None:
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


class StateLog:
    """A default watcher that records KeeperStates."""

    def __init__(self) -> None:
        self.states: list[KeeperState] = []

    def __call__(self, event: WatchedEvent) -> None:
        self.states.append(event.state)
