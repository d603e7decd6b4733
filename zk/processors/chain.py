"""The standalone processor chain: Prep → Sync → Final, as asyncio stages.

    connection ──submit──▶ PrepRequestProcessor.prep     (at once, in arrival order)
                                 │ queue
                                 ▼
                     SyncRequestProcessor                 (one batch at a time:
                                 │                         log + one fsync, later)
                                 ▼
                     FinalRequestProcessor.process_request (apply, reply)

Every request, read or write, goes through all three in arrival order, so a client
that writes and then reads sees its write. Prep runs as the request arrives because it
never waits; the sync stage takes *everything* queued at once and handles it as one
batch, which is where group commit will happen when zk.storage lands (one write, one
fsync, then all the replies of the batch). Until then the sync stage only passes the
batch on: nothing is persisted, and the README says so.

The number of requests in the chain is bounded: when it passes
``global_outstanding_limit`` the server stops reading from connections until Final has
caught up (ZooKeeperServer.shouldThrottle).

Mirrors: org.apache.zookeeper.server.SyncRequestProcessor (its batching loop) and
ZooKeeperServer.setupRequestProcessors for the standalone chain.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable

from zk.processors.final import FinalRequestProcessor
from zk.processors.prep import PrepRequestProcessor
from zk.processors.request import Request
from zk.trace import NULL_TRACER, Tracer

__all__ = ["StandaloneChain", "SyncRequestProcessor"]

log = logging.getLogger(__name__)


class SyncRequestProcessor:
    """Takes the queued requests a batch at a time and hands each batch to Final.

    Mirrors: org.apache.zookeeper.server.SyncRequestProcessor. Differs: no log yet
    (zk.storage), so a batch goes straight to Final.
    """

    def __init__(self, final: FinalRequestProcessor, *, max_batch: int = 1000, tracer: Tracer = NULL_TRACER) -> None:
        self.final = final
        self.max_batch = max_batch
        self.tracer = tracer
        self.queued: deque[Request] = deque()
        self._wake = asyncio.Event()

    def process_request(self, request: Request) -> None:
        self.queued.append(request)
        self._wake.set()

    def take_batch(self) -> list[Request]:
        n = min(len(self.queued), self.max_batch)
        return [self.queued.popleft() for _ in range(n)]

    async def run(self, on_done: Callable[[Request], None], on_finished: Callable[[int], None]) -> None:
        """The stage's loop: wait for work, take a batch, finish it."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.queued:
                batch = self.take_batch()
                if self.tracer.enabled:
                    writes = sum(1 for r in batch if r.hdr is not None)
                    self.tracer.emit("sync.batch", size=len(batch), txns=writes)
                for request in batch:
                    self.final.process_request(request)
                    on_done(request)
                on_finished(len(batch))
                await asyncio.sleep(0)  # let connections write this batch's replies


class StandaloneChain:
    """Prep, Sync and Final wired together, with the in-process count for throttling."""

    def __init__(
        self,
        prep: PrepRequestProcessor,
        final: FinalRequestProcessor,
        *,
        global_outstanding_limit: int = 1000,
        tracer: Tracer = NULL_TRACER,
    ) -> None:
        self.prep = prep
        self.final = final
        self.sync = SyncRequestProcessor(final, tracer=tracer)
        self.global_outstanding_limit = global_outstanding_limit
        self.in_process = 0
        self.on_throttle_change: Callable[[bool], None] = lambda throttled: None
        self.on_request_done: Callable[[Request], None] = lambda request: None
        self._task: asyncio.Task[None] | None = None

    @property
    def tasks(self) -> list[asyncio.Task[None]]:
        return [self._task] if self._task is not None else []

    @property
    def should_throttle(self) -> bool:
        return self.in_process > self.global_outstanding_limit

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self.sync.run(lambda r: self.on_request_done(r), self._finished), name="sync"
        )
        self._task.add_done_callback(_crash_loudly)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def submit(self, request: Request) -> None:
        was = self.should_throttle
        self.prep.prep(request)
        self.in_process += 1
        self.sync.process_request(request)
        if not was and self.should_throttle:
            self.on_throttle_change(True)

    def _finished(self, n: int) -> None:
        was = self.should_throttle
        self.in_process -= n
        if was and not self.should_throttle:
            self.on_throttle_change(False)


def _crash_loudly(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.critical("the processor chain died; this is a bug", exc_info=task.exception())
