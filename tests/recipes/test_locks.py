"""Locks against both servers: exclusion, re-entrancy, timeouts, the herd, the traps."""

from __future__ import annotations

import asyncio
import re

import pytest
from recipes_helpers import expire_session, unique

from zk import lab
from zk.client import ZooKeeper
from zk.protocol.errors import SessionExpiredException
from zk.recipes import (
    IllegalMonitorStateError,
    InterProcessMutex,
    InterProcessReadWriteLock,
    InterProcessSemaphoreV2,
    NaiveLock,
)
from zk.recipes.locks import LockInternals

CURATOR_LOCK_NODE = re.compile(r"^_c_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-lock-\d{10}$")


def total_watches(server: lab.SyncServer) -> int:
    # wchs: "N connections watching M paths\nTotal watches:K"
    text = server.four_letter_word("wchs")
    match = re.search(r"Total watches:\s*(\d+)", text)
    assert match, text
    return int(match.group(1))


async def test_mutex_excludes_under_contention(clients: list[ZooKeeper]) -> None:
    path = unique("/lock")
    inside = 0
    counter = 0

    async def worker(zk: ZooKeeper) -> None:
        nonlocal inside, counter
        lock = InterProcessMutex(zk, path)
        for _ in range(5):
            async with lock:
                inside += 1
                assert inside == 1, "two holders at once"
                value = counter
                await asyncio.sleep(0.003)
                counter = value + 1
                inside -= 1

    await asyncio.gather(*(worker(zk) for zk in clients))
    assert counter == 20
    assert await clients[0].get_children(path) == []


async def test_node_layout_is_curators(clients: list[ZooKeeper]) -> None:
    path = unique("/lock")
    lock = InterProcessMutex(clients[0], path, b"me")
    await lock.acquire()
    [child] = await clients[1].get_children(path)
    assert CURATOR_LOCK_NODE.match(child), child
    assert lock.lock_path == f"{path}/{child}"
    data, stat = await clients[1].get_data(lock.lock_path)
    assert data == b"me" and stat.ephemeralOwner == clients[0].session_id
    await lock.release()


async def test_mutex_is_reentrant_per_task(clients: list[ZooKeeper]) -> None:
    path = unique("/lock")
    lock = InterProcessMutex(clients[0], path)
    assert await lock.acquire()
    assert await lock.acquire()
    assert len(await clients[0].get_children(path)) == 1
    await lock.release()
    assert lock.is_acquired_in_this_process()
    await lock.release()
    assert not lock.is_acquired_in_this_process()
    with pytest.raises(IllegalMonitorStateError):
        await lock.release()


async def test_timeout_leaves_no_node_and_no_watch(server: lab.SyncServer, clients: list[ZooKeeper]) -> None:
    path = unique("/lock")
    holder = InterProcessMutex(clients[0], path)
    await holder.acquire()
    waiter = InterProcessMutex(clients[1], path)
    assert not await waiter.acquire(timeout=0.3)
    assert len(await clients[1].get_children(path)) == 1
    assert clients[1].cnxn.watch_manager.watch_lists() == ([], [], [], [], [])
    await holder.release()
    assert await waiter.acquire(timeout=5)
    await waiter.release()


async def test_predecessor_vanishing_before_the_watch_leaves_no_stray_watch(
    server: lab.SyncServer, clients: list[ZooKeeper]
) -> None:
    """The trap: the predecessor goes between getChildren and setting the watch.

    getData on the vanished node fails with NoNode *and sets no watch*; the waiter reads
    the children again and takes the lock. (exists would have left a watch behind: shown
    at the end for contrast.)"""
    path = unique("/lock")
    holder = InterProcessMutex(clients[0], path)
    await holder.acquire()
    raced: list[str] = []

    class Racing(LockInternals):
        async def watch_predecessor(self, previous, watcher):  # type: ignore[no-untyped-def]
            if not raced:
                raced.append(previous)
                await holder.release()  # the predecessor goes now
            await super().watch_predecessor(previous, watcher)

    before = total_watches(server)
    waiter = InterProcessMutex(clients[1], path, internals=Racing(clients[1], path, "lock-"))
    assert await waiter.acquire(timeout=5)
    assert raced, "the race was not staged"
    assert clients[1].cnxn.watch_manager.watch_lists() == ([], [], [], [], [])
    assert total_watches(server) == before
    await waiter.release()

    # The contrast: exists() on the vanished node does leave a watch, on both sides.
    assert await clients[1].exists(raced[0], watch=lambda e: None) is None
    assert raced[0] in clients[1].cnxn.watch_manager.exist_watches
    assert total_watches(server) == before + 1


async def test_one_release_wakes_one_waiter_not_the_herd(clients: list[ZooKeeper]) -> None:
    for kind, expected in ((InterProcessMutex, 1), (NaiveLock, len(clients) - 1)):
        path = unique("/herd")
        locks = [kind(zk, path) for zk in clients]
        await locks[0].acquire()
        waiting = [asyncio.create_task(lock.acquire()) for lock in locks[1:]]
        await asyncio.sleep(0.5)  # every waiter is watching now
        await locks[0].release()
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        await asyncio.sleep(0.5)  # let every notification arrive
        woken = sum(lock.notifications for lock in locks)
        assert woken == expected, (kind.__name__, woken)
        # Let the rest go through, one by one.
        for _ in range(len(waiting)):
            holder = next(lock for lock, task in zip(locks[1:], waiting, strict=True) if task.done() and _held(lock))
            await _release_from(holder)
            await asyncio.sleep(0.05)
        await asyncio.gather(*waiting)


def _held(lock: InterProcessMutex | NaiveLock) -> bool:
    return lock.is_acquired_in_this_process() if isinstance(lock, InterProcessMutex) else lock.held


async def _release_from(lock: InterProcessMutex | NaiveLock) -> None:
    await lock.release()  # any task of the process may release


async def test_a_held_lock_notices_its_session_expired(server: lab.SyncServer, clients: list[ZooKeeper]) -> None:
    path = unique("/lock")
    zk = await ZooKeeper(server.connect_string, 4000).start(10)
    lock = InterProcessMutex(zk, path)
    await lock.acquire()
    await expire_session(zk, server.connect_string)
    await asyncio.wait_for(lock.lost.wait(), 15)
    assert not lock.is_acquired_in_this_process()
    other = InterProcessMutex(clients[0], path)
    assert await other.acquire(timeout=10)
    with pytest.raises(SessionExpiredException):
        await InterProcessMutex(zk, path).acquire(timeout=1)
    await other.release()
    await zk.close()


async def test_read_write_lock(clients: list[ZooKeeper]) -> None:
    path = unique("/rw")
    a, b = InterProcessReadWriteLock(clients[0], path), InterProcessReadWriteLock(clients[1], path)
    assert await a.read_lock.acquire(1)
    assert await b.read_lock.acquire(1)  # readers share
    assert not await b.write_lock.acquire(0.3)  # a writer waits for readers
    writer = asyncio.create_task(b.write_lock.acquire(10))
    await asyncio.sleep(0.2)
    late_reader = InterProcessReadWriteLock(clients[2], path)
    assert not await late_reader.read_lock.acquire(0.3)  # a reader queues behind a writer
    await a.read_lock.release()
    await b.read_lock.release()
    assert await writer
    names = await clients[3].get_children(path)
    assert any("__WRIT__" in n for n in names)
    await b.write_lock.release()
    assert await late_reader.read_lock.acquire(5)
    await late_reader.read_lock.release()


async def test_semaphore_gives_at_most_max_leases(clients: list[ZooKeeper]) -> None:
    path = unique("/sem")
    holding = 0
    peak = 0

    async def worker(zk: ZooKeeper) -> None:
        nonlocal holding, peak
        sem = InterProcessSemaphoreV2(zk, path, 2)
        for _ in range(3):
            leases = await sem.acquire(timeout=20)
            assert leases is not None
            holding += 1
            peak = max(peak, holding)
            await asyncio.sleep(0.02)
            holding -= 1
            for lease in leases:
                await lease.close()

    await asyncio.gather(*(worker(zk) for zk in clients))
    assert peak == 2
    assert sorted(await clients[0].get_children(path)) == ["leases", "locks"]
    assert await clients[0].get_children(f"{path}/leases") == []
