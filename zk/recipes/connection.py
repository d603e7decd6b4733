"""Connection states as Curator reports them, and the retry rules recipes live by.

A ZooKeeper client tells its watchers about the connection in KeeperState events. Curator
folds them into five *connection states*, the only ones its recipes listen to::

    KeeperState event        Curator ConnectionState   what a recipe should assume
    SyncConnected (first)    CONNECTED                 the session is new
    Disconnected             SUSPENDED                 maybe still ours, maybe not: stop
                                                       acting as leader / lock holder
    SyncConnected (again)    RECONNECTED               the session survived; watches are
                                                       back, but changes may have been missed
    ConnectedReadOnly        READ_ONLY
    Expired                  LOST                      the session and its ephemerals are gone

:class:`ConnectionStateManager` makes that translation for one :class:`~zk.client.ZooKeeper`
and calls its listeners in order. Curator's manager owns the ZooKeeper handle and sets its
own default watcher; ours attaches itself behind the client's default watcher, once per
client, so every recipe on one client shares it.

The second job of this module is Curator's RetryLoop. ConnectionLoss means "maybe": the
request may or may not have been applied. An idempotent read or delete can simply be sent
again once the client is connected; a create of a sequential node cannot, which is why
recipes create those with *protection* (:mod:`zk.recipes.nodes`).

Mirrors: org.apache.curator.framework.state.ConnectionState, ConnectionStateManager and
org.apache.curator.RetryLoop. Differs: after LOST Curator builds a new ZooKeeper handle and
reports RECONNECTED on the new session; our client is closed for good after Expired
(chapter 14), so LOST is final here and the application makes a new client.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import inspect
import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from zk.client import ZooKeeper
from zk.client.states import States
from zk.protocol.constants import EventType, KeeperState
from zk.protocol.errors import ConnectionLossException, OperationTimeoutException, SessionExpiredException
from zk.watch.events import WatchedEvent

__all__ = [
    "DEFAULT_RETRIES",
    "ConnectionState",
    "ConnectionStateListener",
    "ConnectionStateManager",
    "retrying",
    "wait_connected",
]

log = logging.getLogger(__name__)
_T = TypeVar("_T")

DEFAULT_RETRIES = 5
"""How many times a recipe sends a request again after ConnectionLoss (RetryNTimes(5))."""


class ConnectionState(enum.Enum):
    """Curator's connection states. Mirrors: org.apache.curator.framework.state.ConnectionState."""

    CONNECTED = "CONNECTED"
    SUSPENDED = "SUSPENDED"
    RECONNECTED = "RECONNECTED"
    LOST = "LOST"
    READ_ONLY = "READ_ONLY"

    @property
    def is_connected(self) -> bool:
        """``ConnectionState.isConnected``: CONNECTED, RECONNECTED and READ_ONLY."""
        return self in (ConnectionState.CONNECTED, ConnectionState.RECONNECTED, ConnectionState.READ_ONLY)


ConnectionStateListener = Callable[[ConnectionState], Awaitable[None] | None]
"""Called with each new state, in order, on the client's event task (may be async)."""

_MANAGERS: weakref.WeakKeyDictionary[ZooKeeper, ConnectionStateManager] = weakref.WeakKeyDictionary()


class ConnectionStateManager:
    """Turns one client's KeeperState events into :class:`ConnectionState` changes.

    Get the one of a client with :meth:`of`; it chains itself behind the client's default
    watcher (which still gets every event first).

    Mirrors: org.apache.curator.framework.state.ConnectionStateManager.
    """

    def __init__(self, zk: ZooKeeper) -> None:
        self.zk = zk
        self.listeners: list[ConnectionStateListener] = []
        self.history: list[ConnectionState] = []  # every state posted, for tests and notebooks
        # A manager made after the first session was established starts CONNECTED.
        self.state: ConnectionState | None = ConnectionState.CONNECTED if zk.state.is_connected() else None
        if zk.state is States.CLOSED and zk.session_id:
            self.state = ConnectionState.LOST
        wm = zk.cnxn.watch_manager
        self._previous = wm.default_watcher
        wm.default_watcher = self._process

    @classmethod
    def of(cls, zk: ZooKeeper) -> ConnectionStateManager:
        """The manager of this client, made on first use."""
        manager = _MANAGERS.get(zk)
        if manager is None:
            manager = _MANAGERS[zk] = cls(zk)
        return manager

    def add_listener(self, listener: ConnectionStateListener) -> None:
        if listener not in self.listeners:
            self.listeners.append(listener)

    def remove_listener(self, listener: ConnectionStateListener) -> None:
        with contextlib.suppress(ValueError):
            self.listeners.remove(listener)

    @staticmethod
    def next_state(current: ConnectionState | None, keeper_state: KeeperState) -> ConnectionState | None:
        """The state a KeeperState event leads to, or None if it changes nothing.

        A pure function: CuratorFrameworkImpl.processStateChanged and
        ConnectionStateManager.addStateChange in one table.
        """
        if keeper_state is KeeperState.SyncConnected:
            if current in (None, ConnectionState.LOST):
                return ConnectionState.CONNECTED
            if current in (ConnectionState.SUSPENDED, ConnectionState.READ_ONLY):
                return ConnectionState.RECONNECTED
            return None  # already connected
        if keeper_state is KeeperState.ConnectedReadOnly:
            return ConnectionState.READ_ONLY
        if keeper_state is KeeperState.Disconnected:
            return ConnectionState.SUSPENDED if current is not None and current.is_connected else None
        if keeper_state is KeeperState.Expired:
            return ConnectionState.LOST if current is not ConnectionState.LOST else None
        return None  # Closed, AuthFailed, SaslAuthenticated: Curator posts nothing for these

    async def _process(self, event: WatchedEvent) -> None:
        if self._previous is not None:
            result = self._previous(event)
            if inspect.isawaitable(result):
                await result
        if event.type is not EventType.NONE:
            return
        new = self.next_state(self.state, event.state)
        if new is None:
            return
        self.state = new
        self.history.append(new)
        for listener in list(self.listeners):
            try:
                result = listener(new)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("connection state listener failed on %s", new.name)


async def wait_connected(zk: ZooKeeper, timeout: float | None = None) -> None:
    """Wait for the client to be connected (``CuratorZookeeperClient.blockUntilConnectedOrTimedOut``).

    ``timeout`` defaults to the session timeout: a client disconnected for longer has
    lost its session on the server anyway.

    Raises:
        SessionExpiredException: the client is closed.
        ConnectionLossException: no connection within the timeout.
    """
    if timeout is None:
        timeout = max(zk.session_timeout, 1000) / 1000.0
    try:
        await zk.wait_connected(timeout)
    except OperationTimeoutException as e:
        raise ConnectionLossException(None) from e


async def retrying(
    zk: ZooKeeper, call: Callable[..., Awaitable[_T]], *args: Any, retries: int = DEFAULT_RETRIES, **kwargs: Any
) -> _T:
    """Run ``call(*args, **kwargs)``; on ConnectionLoss wait for the connection and run it again.

    Only for calls that are safe to repeat (reads, deletes, sets with a version, creates
    of non-sequential nodes that treat NodeExists). SessionExpired is never retried: it
    is final for this client.

    Mirrors: org.apache.curator.RetryLoop.callWithRetry with RetryNTimes.
    """
    attempt = 0
    while True:
        try:
            return await call(*args, **kwargs)
        except ConnectionLossException:
            attempt += 1
            if attempt > retries or not zk.state.is_alive():
                if not zk.state.is_alive():
                    raise SessionExpiredException(None) from None
                raise
            log.debug("connection loss, retry %d of %d", attempt, retries)
            with contextlib.suppress(ConnectionLossException):
                await wait_connected(zk)
            await asyncio.sleep(0)
