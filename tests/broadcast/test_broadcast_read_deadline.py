"""ReadDeadline: a quorum connection's read timeout, one timer per quiet period.

Fed by hand (a StreamReader the test writes into), so the timings are the test's own.
"""

from __future__ import annotations

import asyncio

import pytest
from quorum_helpers import enc

from zk.broadcast import PacketType, packet
from zk.broadcast.packets import ReadDeadline

TIMEOUT = 0.2


def _ping() -> bytes:
    return enc(packet(PacketType.PING, 1))


async def test_silence_past_the_timeout_raises_timeout_error() -> None:
    reader = asyncio.StreamReader()
    with pytest.raises(TimeoutError):
        async with ReadDeadline(TIMEOUT) as deadline:
            await deadline.read(reader)


async def test_each_packet_moves_the_deadline() -> None:
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    for i in range(1, 6):  # a packet every half timeout, for two and a half timeouts
        loop.call_later(i * TIMEOUT / 2, reader.feed_data, _ping())
    got = 0
    async with ReadDeadline(TIMEOUT) as deadline:
        while got < 5:
            await deadline.read(reader)
            got += 1
    assert got == 5


async def test_the_deadline_also_ends_a_wait_that_is_not_a_read() -> None:
    """A learner blocked on a drain towards a leader that stopped reading: the silence
    still ends the loop as TimeoutError, not as a cancellation of the whole task."""
    with pytest.raises(TimeoutError):
        async with ReadDeadline(TIMEOUT):
            await asyncio.sleep(10 * TIMEOUT)


async def test_a_cancel_from_outside_stays_a_cancel() -> None:
    async def loop_forever() -> None:
        async with ReadDeadline(10.0) as deadline:
            await deadline.read(asyncio.StreamReader())

    task = asyncio.ensure_future(loop_forever())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
