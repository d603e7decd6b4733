"""Barrier, double barrier, queue and counters against both servers."""

from __future__ import annotations

import asyncio

from recipes_helpers import unique

from zk.client import ZooKeeper
from zk.recipes import (
    DistributedAtomicLong,
    DistributedBarrier,
    DistributedDoubleBarrier,
    SharedCount,
    SimpleDistributedQueue,
)


async def test_barrier_holds_until_removed(clients: list[ZooKeeper]) -> None:
    path = unique("/barrier")
    barrier = DistributedBarrier(clients[0], path)
    await barrier.set_barrier()
    assert not await DistributedBarrier(clients[1], path).wait_on_barrier(0.3)
    waiting = [asyncio.create_task(DistributedBarrier(zk, path).wait_on_barrier(10)) for zk in clients[1:]]
    await asyncio.sleep(0.2)
    await barrier.remove_barrier()
    assert await asyncio.gather(*waiting) == [True, True, True]


async def test_double_barrier_enters_and_leaves_together(clients: list[ZooKeeper]) -> None:
    path = unique("/double")
    barriers = [DistributedDoubleBarrier(zk, path, 4) for zk in clients]
    early = [asyncio.create_task(b.enter(10)) for b in barriers[:3]]
    await asyncio.sleep(0.3)
    assert not any(t.done() for t in early)  # three of four: nobody is in yet
    assert await barriers[3].enter(10)
    assert await asyncio.gather(*early) == [True, True, True]
    leaving = [asyncio.create_task(b.leave(10)) for b in barriers[1:]]
    await asyncio.sleep(0.3)
    assert not all(t.done() for t in leaving)  # somebody waits for the last member
    assert await barriers[0].leave(10)
    assert await asyncio.gather(*leaving) == [True, True, True]
    assert await clients[0].get_children(path) == []


async def test_queue_delivers_each_item_once_in_order(clients: list[ZooKeeper]) -> None:
    path = unique("/queue")
    producer = SimpleDistributedQueue(clients[0], path)
    taken: list[bytes] = []

    async def consume(zk: ZooKeeper) -> None:
        queue = SimpleDistributedQueue(zk, path)
        while (item := await queue.poll(1.0)) is not None:
            taken.append(item)

    consumers = [asyncio.create_task(consume(zk)) for zk in clients[1:]]
    items = [str(i).encode() for i in range(30)]
    for item in items:
        await producer.offer(item)
    await asyncio.gather(*consumers)
    assert sorted(taken, key=int) == items  # each exactly once
    single = SimpleDistributedQueue(clients[0], path)
    for item in items[:5]:
        await single.offer(item)
    assert await single.peek() == b"0"
    assert [await single.take() for _ in range(5)] == items[:5]  # FIFO for one consumer


async def test_atomic_long_counts_every_increment(clients: list[ZooKeeper]) -> None:
    path = unique("/counter")
    results = await asyncio.gather(*(DistributedAtomicLong(zk, path).increment() for zk in clients for _ in range(10)))
    assert all(r.succeeded for r in results)
    assert await DistributedAtomicLong(clients[0], path).get() == 40
    assert sorted(r.post_value for r in results) == list(range(1, 41))


async def test_shared_count_compare_and_set(clients: list[ZooKeeper]) -> None:
    path = unique("/shared")
    a, b = SharedCount(clients[0], path, 7), SharedCount(clients[1], path, 99)
    await a.start()
    await b.start()  # the node exists: the seed of b is not written
    seen = await a.get_versioned_value()
    assert seen.value == 7
    assert await b.try_set_count(await b.get_versioned_value(), 8)
    assert not await a.try_set_count(seen, 100)  # b wrote since a read: CAS fails
    assert await a.get_count() == 8
