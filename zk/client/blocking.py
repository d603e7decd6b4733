"""A blocking ZooKeeper client for scripts and notebooks, over the asyncio one.

The asyncio client runs on its own event loop in a background thread ("zk-client-loop");
each method here hands its coroutine to that loop and waits for the answer. Watchers run
on a third thread, "zk-client-events", one event at a time and in order, which is
exactly Java's EventThread: a watcher may call this client's blocking methods, since
replies arrive on the loop thread, not on the thread the watcher holds::

    from zk.client.blocking import ZooKeeper

    zk = ZooKeeper("127.0.0.1:2181", watcher=print)
    zk.create("/a", b"hi")
    zk.get_data("/a", watch=lambda e: print("changed:", e))
    zk.close()

Mirrors: the synchronous methods of org.apache.zookeeper.ZooKeeper. Works inside a
notebook's running event loop too, since the client's loop is its own.
"""

from __future__ import annotations

import asyncio
import dataclasses
import queue
import threading
from collections.abc import Coroutine, Iterable
from types import TracebackType
from typing import Any, TypeVar

from zk.client.ops import Op, OpResult
from zk.client.states import States
from zk.client.watch_manager import Watcher
from zk.client.zookeeper import ZooKeeper as AsyncZooKeeper
from zk.jute.records import ACL, ClientInfo, Stat
from zk.protocol.constants import AddWatchMode, CreateMode, WatcherType
from zk.watch.events import WatchedEvent

__all__ = ["ZooKeeper"]

_T = TypeVar("_T")
_STOP = object()


@dataclasses.dataclass(frozen=True, slots=True)
class _OnEventThread:
    """A watcher that runs on the event thread. Equal wrappers of one watcher compare
    equal, so remove_watches finds the watcher it was given."""

    watcher: Watcher
    events: queue.Queue[Any] = dataclasses.field(compare=False, hash=False)

    def __call__(self, event: WatchedEvent) -> None:
        self.events.put((self.watcher, event))


class ZooKeeper:
    """The blocking client. Takes the arguments of :class:`zk.client.zookeeper.ZooKeeper`,
    plus ``timeout``: seconds to wait for the first session (None: forever).

    Mirrors: org.apache.zookeeper.ZooKeeper (the synchronous API).
    """

    def __init__(
        self,
        connect_string: str,
        session_timeout: int = 30_000,
        watcher: Watcher | None = None,
        *,
        timeout: float | None = 30.0,
        **kwargs: Any,
    ) -> None:
        self._events: queue.Queue[Any] = queue.Queue()
        self._event_thread = threading.Thread(target=self._run_events, name="zk-client-events", daemon=True)
        self._event_thread.start()
        self._loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(target=self._loop.run_forever, name="zk-client-loop", daemon=True)
        self._loop_thread.start()
        default = self._wrap(watcher) if watcher is not None else None
        self.aio: AsyncZooKeeper = self._run(self._make(connect_string, session_timeout, default, kwargs))
        try:
            self._run(self.aio.start(timeout))
        except BaseException:
            self.close()
            raise

    @staticmethod
    async def _make(
        connect_string: str, session_timeout: int, watcher: Watcher | None, kwargs: dict[str, Any]
    ) -> AsyncZooKeeper:
        return AsyncZooKeeper(connect_string, session_timeout, watcher, **kwargs)

    def _run(self, coro: Coroutine[Any, Any, _T]) -> _T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def _run_events(self) -> None:
        while True:
            item = self._events.get()
            if item is _STOP:
                return
            watcher, event = item
            try:
                watcher(event)
            except Exception:  # as Java's EventThread: log and go on
                import logging

                logging.getLogger(__name__).exception("Error while calling watcher.")

    def _wrap(self, watch: Any) -> Any:
        if watch is True or watch is False or watch is None:
            return watch
        return _OnEventThread(watch, self._events)

    # -- the session ------------------------------------------------------------------------

    @property
    def state(self) -> States:
        return self.aio.state

    @property
    def session_id(self) -> int:
        return self.aio.session_id

    @property
    def session_passwd(self) -> bytes:
        return self.aio.session_passwd

    @property
    def session_timeout(self) -> int:
        return self.aio.session_timeout

    def wait_connected(self, timeout: float | None = None) -> None:
        self._run(self.aio.wait_connected(timeout))

    def close(self) -> None:
        """Close the session and stop both threads. Safe to call twice."""
        if self._loop.is_closed():
            return
        if hasattr(self, "aio"):
            self._run(self.aio.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._loop_thread.join()
        self._loop.close()
        self._events.put(_STOP)
        if threading.current_thread() is not self._event_thread:
            self._event_thread.join()

    def __enter__(self) -> ZooKeeper:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<blocking {self.aio!r}>"

    # -- the API: each method is the asyncio one, awaited on the client's loop ---------------------

    def create(
        self,
        path: str,
        data: bytes = b"",
        acl: list[ACL] | None = None,
        mode: CreateMode = CreateMode.PERSISTENT,
        *,
        ttl: int = -1,
    ) -> str:
        return self._run(self.aio.create(path, data, acl, mode, ttl=ttl))

    def create2(
        self,
        path: str,
        data: bytes = b"",
        acl: list[ACL] | None = None,
        mode: CreateMode = CreateMode.PERSISTENT,
        *,
        ttl: int = -1,
    ) -> tuple[str, Stat]:
        return self._run(self.aio.create2(path, data, acl, mode, ttl=ttl))

    def delete(self, path: str, version: int = -1) -> None:
        self._run(self.aio.delete(path, version))

    def exists(self, path: str, watch: bool | Watcher = False) -> Stat | None:
        return self._run(self.aio.exists(path, self._wrap(watch)))

    def get_data(self, path: str, watch: bool | Watcher = False) -> tuple[bytes, Stat]:
        return self._run(self.aio.get_data(path, self._wrap(watch)))

    def set_data(self, path: str, data: bytes, version: int = -1) -> Stat:
        return self._run(self.aio.set_data(path, data, version))

    def get_acl(self, path: str) -> tuple[list[ACL], Stat]:
        return self._run(self.aio.get_acl(path))

    def set_acl(self, path: str, acl: list[ACL], version: int = -1) -> Stat:
        return self._run(self.aio.set_acl(path, acl, version))

    def get_children(self, path: str, watch: bool | Watcher = False) -> list[str]:
        return self._run(self.aio.get_children(path, self._wrap(watch)))

    def get_children2(self, path: str, watch: bool | Watcher = False) -> tuple[list[str], Stat]:
        return self._run(self.aio.get_children2(path, self._wrap(watch)))

    def get_all_children_number(self, path: str) -> int:
        return self._run(self.aio.get_all_children_number(path))

    def get_ephemerals(self, prefix_path: str = "/") -> list[str]:
        return self._run(self.aio.get_ephemerals(prefix_path))

    def sync(self, path: str) -> str:
        return self._run(self.aio.sync(path))

    def multi(self, ops: Iterable[Op]) -> list[OpResult]:
        return self._run(self.aio.multi(list(ops)))

    def multi_read(self, ops: Iterable[Op]) -> list[OpResult]:
        return self._run(self.aio.multi_read(list(ops)))

    def add_watch(self, path: str, watcher: Watcher, mode: AddWatchMode) -> None:
        self._run(self.aio.add_watch(path, self._wrap(watcher), mode))

    def remove_watches(self, path: str, watcher: Watcher, watcher_type: WatcherType, local: bool = False) -> None:
        self._run(self.aio.remove_watches(path, self._wrap(watcher), watcher_type, local))

    def remove_all_watches(self, path: str, watcher_type: WatcherType, local: bool = False) -> None:
        self._run(self.aio.remove_all_watches(path, watcher_type, local))

    def add_auth_info(self, scheme: str, auth: bytes) -> None:
        self._run(self.aio.add_auth_info(scheme, auth))

    def who_am_i(self) -> list[ClientInfo]:
        return self._run(self.aio.who_am_i())
