"""Helpers for the recipes' tests: unique paths, waiting, a proxy to cut a connection,
and expiring a session on purpose."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

from zk.client import ZooKeeper
from zk.protocol.constants import KeeperState
from zk.watch.events import WatchedEvent

__all__ = ["eventually", "expire_session", "unique"]


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


class StateLog:
    """A default watcher that records KeeperStates."""

    def __init__(self) -> None:
        self.states: list[KeeperState] = []

    def __call__(self, event: WatchedEvent) -> None:
        self.states.append(event.state)
