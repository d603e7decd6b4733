"""Leader election: LeaderLatch (hold leadership until you leave) and LeaderSelector
(leadership as a turn: a callback runs, and leadership ends when it returns).

**LeaderLatch** is the lock recipe with a different ending. Each participant creates
``<path>/_c_<uuid>-latch-NNNNNNNNNN`` (ephemeral sequential, data = its id); the lowest
sequence is the leader; every other participant watches its predecessor with getData.
Leadership lasts until :meth:`LeaderLatch.close`, or until the connection says otherwise:

    SUSPENDED    leadership is dropped at once (we cannot know if the node still exists)
    RECONNECTED  the latch *resets*: deletes its node and queues again with a new one
    LOST         leadership is dropped; with our client the session is gone for good

That is Curator 5's default (the "standard" ConnectionStateErrorPolicy). Dropping on
SUSPENDED is what makes "at most one leader" hold: a partitioned leader stops leading
before its session can expire on the server (after the session timeout) and another
participant takes over.

**LeaderSelector** runs ``take_leadership`` while it holds an InterProcessMutex on the
path (node ``_c_<uuid>-lock-NNNNNNNNNN``, data = its id). Leadership ends when the callback
returns; with ``auto_requeue`` the selector queues again. On SUSPENDED or LOST the callback
is cancelled (Curator's LeaderSelectorListenerAdapter throws CancelLeadershipException,
which interrupts the leader's thread).

Mirrors: org.apache.curator.framework.recipes.leader.LeaderLatch, LeaderSelector,
LeaderSelectorListenerAdapter, Participant.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from zk.client import ZooKeeper
from zk.protocol.constants import EventType
from zk.protocol.errors import KeeperException, NoNodeException, SessionExpiredException
from zk.recipes.connection import ConnectionState, ConnectionStateManager, retrying
from zk.recipes.locks import InterProcessMutex, LockInternals
from zk.recipes.nodes import create_protected, guaranteed_delete, join, node_name, sort_children
from zk.watch.events import WatchedEvent

__all__ = ["LeaderLatch", "LeaderSelector", "Participant"]

log = logging.getLogger(__name__)

LATCH_NAME = "latch-"


@dataclass(frozen=True, slots=True)
class Participant:
    """One contender: its id (the node's data) and whether it leads.

    Mirrors: org.apache.curator.framework.recipes.leader.Participant.
    """

    id: str
    is_leader: bool


async def _participants(zk: ZooKeeper, path: str, lock_name: str) -> list[Participant]:
    # LeaderSelector.getParticipants: the first node in lock order leads.
    try:
        children = sort_children(await retrying(zk, lambda: zk.get_children(path)), lock_name)
    except NoNodeException:
        return []
    result: list[Participant] = []
    for child in children:
        try:
            data, _ = await retrying(zk, zk.get_data, join(path, child))
        except NoNodeException:
            continue
        result.append(Participant(data.decode(), not result))
    return result


class LeaderLatch:
    """Participate in an election until closed; :meth:`has_leadership` says who won.

    ``listeners`` get ``True`` on becoming leader and ``False`` on losing it
    (LeaderLatchListener.isLeader / notLeader), on the client's event task.

    Mirrors: org.apache.curator.framework.recipes.leader.LeaderLatch.
    """

    class State(enum.Enum):
        LATENT = "LATENT"
        STARTED = "STARTED"
        CLOSED = "CLOSED"

    def __init__(self, zk: ZooKeeper, path: str, id: str = "") -> None:
        self.zk = zk
        self.path = path
        self.id = id
        self.state = LeaderLatch.State.LATENT
        self.our_path: str | None = None
        self.listeners: list[Callable[[bool], Awaitable[None] | None]] = []
        self.lost = False  # the session expired: the latch cannot lead again
        self._leader = False
        self._changed = asyncio.Event()
        self._work: asyncio.Task[None] | None = None
        self._pending = False  # a check or reset is wanted; the work task runs them one at a time
        self._reset_wanted = False

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Join the election (returns once our node exists; leadership may come later)."""
        if self.state is not LeaderLatch.State.LATENT:
            raise RuntimeError("Cannot be started more than once")
        self.state = LeaderLatch.State.STARTED
        ConnectionStateManager.of(self.zk).add_listener(self._state_changed)
        await self._reset()
        self._schedule(reset=False)

    async def close(self) -> None:
        """Leave the election: delete our node, give up leadership (``CloseMode.SILENT``)."""
        if self.state is not LeaderLatch.State.STARTED:
            return
        self.state = LeaderLatch.State.CLOSED
        ConnectionStateManager.of(self.zk).remove_listener(self._state_changed)
        if self._work is not None:
            self._work.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._work
        # Stop leading first, then leave: never a moment with two leaders. (Curator
        # deletes the node first and then calls notLeader.)
        await self._set_leadership(False)
        path, self.our_path = self.our_path, None
        if path is not None and self.zk.state.is_alive():
            await guaranteed_delete(self.zk, path)

    async def __aenter__(self) -> LeaderLatch:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- what the application asks -----------------------------------------------------------------

    def has_leadership(self) -> bool:
        return self.state is LeaderLatch.State.STARTED and self._leader

    async def await_leadership(self, timeout: float | None = None) -> bool:
        """Wait until we lead (``LeaderLatch.await``); False on timeout.

        Raises:
            SessionExpiredException: the session expired; this latch cannot lead again.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.has_leadership():
            if self.lost:
                raise SessionExpiredException(self.path)
            if self.state is not LeaderLatch.State.STARTED:
                raise RuntimeError(f"latch is {self.state.name}")
            self._changed.clear()
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)
        return True

    async def get_participants(self) -> list[Participant]:
        return await _participants(self.zk, self.path, LATCH_NAME)

    async def get_leader(self) -> Participant | None:
        participants = await self.get_participants()
        return participants[0] if participants else None

    # -- the election ------------------------------------------------------------------------------

    async def _set_leadership(self, leader: bool) -> None:
        old, self._leader = self._leader, leader
        self._changed.set()
        if old == leader:
            return
        for listener in list(self.listeners):
            try:
                result = listener(leader)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("leader latch listener failed")

    async def _reset(self) -> None:
        """Drop leadership, delete our node, queue again with a new one (``reset``)."""
        await self._set_leadership(False)
        old, self.our_path = self.our_path, None
        if old is not None:
            await guaranteed_delete(self.zk, old)
        self.our_path = await create_protected(self.zk, self.path, LATCH_NAME, self.id.encode())
        if self.state is not LeaderLatch.State.STARTED:  # closed while we created it
            await guaranteed_delete(self.zk, self.our_path)

    def _schedule(self, reset: bool) -> None:
        """Ask the work task for a leadership check (or a reset). Watchers and listeners
        only call this: the work itself awaits replies and must not hold the event task."""
        self._pending = True
        self._reset_wanted |= reset
        if self._work is None or self._work.done():
            self._work = asyncio.get_running_loop().create_task(self._run(), name=f"latch {self.path}")

    async def _run(self) -> None:
        while self._pending and self.state is LeaderLatch.State.STARTED and not self.lost:
            self._pending = False
            reset, self._reset_wanted = self._reset_wanted, False
            try:
                if reset or self.our_path is None:
                    await self._reset()
                await self._check_leadership()
            except SessionExpiredException:
                await self._session_lost()
            except KeeperException as e:
                # ConnectionLoss after retries: the next RECONNECTED schedules a reset.
                log.info("leader latch %s: %s; waiting for the connection", self.path, e)

    async def _check_leadership(self) -> None:
        """checkLeadership: lead if ours sorts first, else watch the node before ours."""
        children = sort_children(await retrying(self.zk, lambda: self.zk.get_children(self.path)), LATCH_NAME)
        ours = node_name(self.our_path) if self.our_path else None
        if ours not in children:
            log.info("latch node %s is gone; resetting", self.our_path)
            self._schedule(reset=True)
            return
        index = children.index(ours)
        if index == 0:
            await self._set_leadership(True)
            return
        previous = join(self.path, children[index - 1])

        def watcher(event: WatchedEvent) -> None:
            if event.type is EventType.NodeDeleted and self.state is LeaderLatch.State.STARTED:
                self._schedule(reset=False)

        try:
            await retrying(self.zk, lambda: self.zk.get_data(previous, watch=watcher))
        except NoNodeException:
            self._schedule(reset=False)  # it left between getChildren and getData: look again

    async def _session_lost(self) -> None:
        self.lost = True
        self.our_path = None
        await self._set_leadership(False)

    async def _state_changed(self, state: ConnectionState) -> None:
        if self.state is not LeaderLatch.State.STARTED:
            return
        if state is ConnectionState.SUSPENDED:
            await self._set_leadership(False)
        elif state is ConnectionState.RECONNECTED:
            self._schedule(reset=True)
        elif state is ConnectionState.LOST:
            await self._session_lost()


TakeLeadership = Callable[["LeaderSelector"], Coroutine[Any, Any, None]]


class LeaderSelector:
    """Run ``take_leadership(selector)`` whenever this participant wins; leadership ends
    when it returns (or is cancelled on SUSPENDED/LOST).

    Mirrors: org.apache.curator.framework.recipes.leader.LeaderSelector with a
    LeaderSelectorListenerAdapter (cancel on SUSPENDED and LOST).
    """

    def __init__(self, zk: ZooKeeper, path: str, take_leadership: TakeLeadership, id: str = "") -> None:
        self.zk = zk
        self.path = path
        self.id = id
        self.take_leadership = take_leadership
        self.auto_requeue = False
        self.mutex = InterProcessMutex(zk, path, id.encode(), internals=LockInternals(zk, path, "lock-"))
        self.leaderships = 0  # how many times take_leadership was called
        self._task: asyncio.Task[None] | None = None
        self._leader_task: asyncio.Task[None] | None = None
        self._closed = False
        self._requeue = asyncio.Event()

    def start(self) -> None:
        """Queue for leadership once (or for ever, with :attr:`auto_requeue`)."""
        if self._task is not None:
            raise RuntimeError("Cannot be started more than once")
        ConnectionStateManager.of(self.zk).add_listener(self._state_changed)
        self._requeue.set()
        self._task = asyncio.get_running_loop().create_task(self._loop(), name=f"selector {self.path}")

    def requeue(self) -> None:
        """Queue again after leadership ended (when not auto-requeueing)."""
        self._requeue.set()

    def has_leadership(self) -> bool:
        return self._leader_task is not None and not self._leader_task.done()

    def interrupt_leadership(self) -> None:
        """Cancel a running take_leadership (``interruptLeadership``)."""
        if self._leader_task is not None:
            self._leader_task.cancel()

    async def _loop(self) -> None:
        while not self._closed:
            await self._requeue.wait()
            self._requeue.clear()
            try:
                await self.mutex.acquire()
            except SessionExpiredException:
                return
            except KeeperException as e:
                log.info("selector %s could not queue: %s", self.path, e)
                await asyncio.sleep(0.1)
                self._requeue.set()
                continue
            try:
                self.leaderships += 1
                self._leader_task = asyncio.get_running_loop().create_task(
                    self.take_leadership(self), name=f"leader {self.path}"
                )
                with contextlib.suppress(asyncio.CancelledError):
                    await self._leader_task
            except Exception:
                log.exception("take_leadership failed")
            finally:
                self._leader_task = None
                if self.mutex.is_owned_by_current_task():
                    # Shielded: close() may cancel this task right here, and a release cut
                    # short would leave our lock node behind until the session ends.
                    with contextlib.suppress(KeeperException):
                        await asyncio.shield(self.mutex.release())
            if self.auto_requeue:
                self._requeue.set()

    def _state_changed(self, state: ConnectionState) -> None:
        if state in (ConnectionState.SUSPENDED, ConnectionState.LOST):
            self.interrupt_leadership()

    async def get_participants(self) -> list[Participant]:
        return await _participants(self.zk, self.path, "lock-")

    async def get_leader(self) -> Participant | None:
        participants = await self.get_participants()
        return participants[0] if participants else None

    async def close(self) -> None:
        self._closed = True
        ConnectionStateManager.of(self.zk).remove_listener(self._state_changed)
        self.interrupt_leadership()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        # A node still queued (acquire was cancelled) is removed by acquire's cleanup.

    async def __aenter__(self) -> LeaderSelector:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
