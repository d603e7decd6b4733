"""The standalone processor chain: Prep → Sync → Final, as asyncio stages.

    connection ──submit──▶ PrepRequestProcessor.prep     (at once, in arrival order)
                                 │ queue
                                 ▼
                     SyncRequestProcessor                 (one batch at a time:
                                 │                         append, one write + fsync)
                                 ▼
                     FinalRequestProcessor.process_request (apply, reply)

Every request, read or write, goes through all three in arrival order, so a client
that writes and then reads sees its write. Prep runs as the request arrives because it
never waits; the sync stage takes *everything* queued at once and handles it as one
batch. That is group commit: the batch's txns are appended to the log, written with one
``write`` and made durable with one ``fdatasync`` in a worker thread, and only then do
they go to Final. While one batch's fsync runs, the next batch gathers in the queue, so
the more clients write at once, the more txns share an fsync.

Ordering rule: **fsync before reply**. No request of a batch reaches Final (which
applies it and answers the client) before ``ZKDatabase.commit`` has returned for that
batch; a client that saw its write acknowledged will find it after a crash.
``tests/storage/test_storage_group_commit.py`` breaks if the order does.

Every ``snapCount / 2 + randRoll`` logged txns (randRoll drawn anew each time from
``[0, snapCount / 2)``, so that servers of an ensemble do not all snapshot at once) the
log rolls to a new file and a fuzzy snapshot starts in the background; while one is
still being written, the next is skipped ("Too busy to snap").

The number of requests in the chain is bounded: when it passes
``global_outstanding_limit`` the server stops reading from connections until Final has
caught up (ZooKeeperServer.shouldThrottle).

Mirrors: org.apache.zookeeper.server.SyncRequestProcessor (run, flush, shouldSnapshot,
resetSnapshotStats) and ZooKeeperServer.setupRequestProcessors for the standalone
chain. Differs: a batch is what queued while the previous fsync ran (Java polls the
queue and flushes when it empties or holds maxBatchSize); reads in a batch wait for its
fsync too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from zk.processors.final import FinalRequestProcessor
from zk.processors.prep import PrepRequestProcessor
from zk.processors.request import Request
from zk.trace import NULL_TRACER, Tracer

__all__ = [
    "DEFAULT_SNAP_COUNT",
    "RequestChain",
    "StandaloneChain",
    "SyncRequestProcessor",
    "cancel_and_wait",
]

log = logging.getLogger(__name__)

DEFAULT_SNAP_COUNT = 100_000  # zookeeper.snapCount


class RequestChain(Protocol):
    """What the server needs from a processor chain: the standalone one here, the
    leader's, follower's and observer's in zk.processors.quorum_chains."""

    in_process: int
    on_throttle_change: Callable[[bool], None]
    on_request_done: Callable[[Request], None]

    @property
    def tasks(self) -> list[asyncio.Task[None]]: ...

    def start(self) -> None: ...

    async def stop(self) -> None: ...

    def submit(self, request: Request) -> None: ...


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel a task and wait until it has stopped.

    The task's own CancelledError is expected and dropped; but if *we* are being
    cancelled while we wait (SIGTERM arriving during a clean-up), that cancellation is
    passed on, never swallowed: otherwise the server would carry on after being told to
    stop (a shutdown hang seen with followers stopped together with their leader).
    """
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise


class SyncRequestProcessor:
    """Logs each batch of txns with one write and one fsync, then hands it to Final.

    Args:
        final: the next stage; its ``db`` (ZKDatabase) holds the log.
        snap_count: ``snapCount``.
        take_snapshot: starts a (fuzzy) snapshot; the server's ``take_snapshot``.
        rand_roll: draws randRoll in ``[0, n)``; tests pass a fixed one.
        next_processor: what gets each request after its fsync; ``final.process_request``
            unless given (an ensemble's AckRequestProcessor or SendAckRequestProcessor).

    Mirrors: org.apache.zookeeper.server.SyncRequestProcessor.
    """

    def __init__(
        self,
        final: FinalRequestProcessor,
        *,
        max_batch: int = 1000,
        snap_count: int = DEFAULT_SNAP_COUNT,
        take_snapshot: Callable[[], Coroutine[Any, Any, object]] | None = None,
        rand_roll: Callable[[int], int] = lambda n: random.randrange(n) if n > 0 else 0,
        next_processor: Callable[[Request], None] | None = None,
        tracer: Tracer = NULL_TRACER,
    ) -> None:
        self.final = final
        self.next_processor = next_processor if next_processor is not None else final.process_request
        self.db = final.db
        self.max_batch = max_batch
        self.snap_count = max(snap_count, 2)
        self.take_snapshot = take_snapshot
        self.rand_roll = rand_roll
        self.tracer = tracer
        self.queued: deque[Request] = deque()
        self._wake = asyncio.Event()
        self.roll = self.rand_roll(self.snap_count // 2)
        self.snapshot_task: asyncio.Task[object] | None = None
        self._commit: asyncio.Future[None] | None = None
        self._snapshot_error: BaseException | None = None

    def process_request(self, request: Request) -> None:
        self.queued.append(request)
        self._wake.set()

    def take_batch(self) -> list[Request]:
        n = min(len(self.queued), self.max_batch)
        return [self.queued.popleft() for _ in range(n)]

    def should_snapshot(self) -> bool:
        """Mirrors: SyncRequestProcessor.shouldSnapshot (the txn count; the size
        limit, snapSizeLimitInKb, is not built)."""
        return self.db.txn_count > self.snap_count // 2 + self.roll

    def reset_snapshot_stats(self) -> None:
        self.roll = self.rand_roll(self.snap_count // 2)

    def append_batch(self, batch: list[Request]) -> tuple[int, bool]:
        """Append the batch's txns to the log (no IO); returns (logged, snapshot due).

        Mirrors: the append step of SyncRequestProcessor.run: after the txn that
        crosses the threshold the log rolls, so the next txn opens a new file.
        """
        logged = 0
        snapshot_due = False
        for request in batch:
            if self.db.append(request):
                logged += 1
                if self.should_snapshot():
                    self.reset_snapshot_stats()
                    self.db.roll_log()
                    snapshot_due = True
        return logged, snapshot_due

    async def run(self, on_done: Callable[[Request], None], on_finished: Callable[[int], None]) -> None:
        """The stage's loop: wait for work, take a batch, log it, fsync, finish it."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.queued:
                if self._snapshot_error is not None:
                    raise self._snapshot_error  # ZooKeeperServer.takeSnapshot exits the server
                batch = self.take_batch()
                logged, snapshot_due = self.append_batch(batch)
                if self.tracer.enabled:
                    self.tracer.emit("sync.batch", size=len(batch), txns=logged)
                if logged:
                    # fsync before reply: the whole batch is durable before Final
                    # sees any of it. A failing disk raises here and takes the server
                    # down (ZOOKEEPER-2247): a server that cannot log must not serve.
                    if self.db.commit_syncs:
                        self._commit = asyncio.ensure_future(asyncio.to_thread(self.db.commit))
                        await asyncio.shield(self._commit)  # stop() waits for it, never cuts it
                    else:
                        # forceSync=no: a write into the page cache, cheaper here than
                        # the hop to a worker thread and back
                        self.db.commit()
                    if self.tracer.enabled:
                        self.tracer.emit("sync.fsync", txns=logged)
                for request in batch:
                    self.next_processor(request)
                    on_done(request)
                on_finished(len(batch))
                if snapshot_due:
                    self._start_snapshot()
                await asyncio.sleep(0)  # let connections write this batch's replies

    def _start_snapshot(self) -> None:
        if self.take_snapshot is None:
            return
        if self.snapshot_task is not None and not self.snapshot_task.done():
            log.warning("Too busy to snap, skipping")
            return
        self.snapshot_task = asyncio.get_running_loop().create_task(self.take_snapshot(), name="snapshot")
        self.snapshot_task.add_done_callback(self._snapshot_done)

    def _snapshot_done(self, task: asyncio.Task[object]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        log.error("Severe unrecoverable error, exiting", exc_info=task.exception())
        self._snapshot_error = task.exception()
        self._wake.set()

    async def stop(self) -> None:
        """After the loop is cancelled: let a running commit finish (its files are
        closed next), abandon a running snapshot (its temporary file goes)."""
        if self._commit is not None and not self._commit.done():
            with contextlib.suppress(Exception):
                await self._commit
        if self.snapshot_task is not None and not self.snapshot_task.done():
            await cancel_and_wait(self.snapshot_task)


class StandaloneChain:
    """Prep, Sync and Final wired together, with the in-process count for throttling."""

    def __init__(
        self,
        prep: PrepRequestProcessor,
        final: FinalRequestProcessor,
        *,
        global_outstanding_limit: int = 1000,
        snap_count: int = DEFAULT_SNAP_COUNT,
        take_snapshot: Callable[[], Coroutine[Any, Any, object]] | None = None,
        tracer: Tracer = NULL_TRACER,
    ) -> None:
        self.prep = prep
        self.final = final
        self.sync = SyncRequestProcessor(final, snap_count=snap_count, take_snapshot=take_snapshot, tracer=tracer)
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
            await cancel_and_wait(self._task)
        await self.sync.stop()

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
