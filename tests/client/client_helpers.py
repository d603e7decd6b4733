"""Small helpers shared by the client's server tests."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable

from zk.protocol.constants import EventType, KeeperState
from zk.watch.events import WatchedEvent

__all__ = ["Events", "unique"]


def unique(prefix: str = "/t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Events:
    """A watcher that records what it receives, and lets a test wait for it."""

    def __init__(self) -> None:
        self.items: list[WatchedEvent] = []
        self._changed = asyncio.Event()

    def __call__(self, event: WatchedEvent) -> None:
        self.items.append(event)
        self._changed.set()

    def states(self) -> list[KeeperState]:
        return [e.state for e in self.items if e.type is EventType.NONE]

    def nodes(self) -> list[tuple[EventType, str | None]]:
        return [(e.type, e.path) for e in self.items if e.type is not EventType.NONE]

    async def wait_for(self, pred: Callable[[Events], bool], timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not pred(self):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out; events so far: {self.items}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    async def wait_state(self, state: KeeperState, count: int = 1, timeout: float = 15.0) -> None:
        await self.wait_for(lambda ev: ev.states().count(state) >= count, timeout)
