"""Four-letter-word client, against an in-process fake server (no JVM needed)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from zk.lab import four_letter_word, four_letter_word_sync, free_port, parse_mntr, parse_srvr

SRVR = "Zookeeper version: 3.8.0\nLatency min/avg/max: 0/0.0/0\nZxid: 0x0\nMode: standalone\n"
MNTR = "zk_version\t3.8.0\nzk_server_state\tleader\n"
REPLIES = {b"ruok": b"imok", b"srvr": SRVR.encode(), b"mntr": MNTR.encode(), b"big!": b"x" * 300_000}


@pytest.fixture
async def fake_port() -> AsyncIterator[int]:
    """A server that answers four-letter words as ZooKeeper does: reply, then close."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        word = await reader.readexactly(4)
        writer.write(REPLIES.get(word, b""))  # a word off the whitelist: closed, no reply
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


async def test_async_reply_is_everything_until_eof(fake_port: int) -> None:
    assert await four_letter_word("127.0.0.1", fake_port, "ruok") == "imok"
    assert await four_letter_word("127.0.0.1", fake_port, "nope") == ""
    assert len(await four_letter_word("127.0.0.1", fake_port, "big!")) == 300_000


async def test_sync_matches_async(fake_port: int) -> None:
    srvr = await asyncio.to_thread(four_letter_word_sync, "127.0.0.1", fake_port, "srvr")
    assert srvr == await four_letter_word("127.0.0.1", fake_port, "srvr")


async def test_closed_port_is_an_os_error() -> None:
    with pytest.raises(OSError):
        await four_letter_word("127.0.0.1", free_port(), "ruok")
    with pytest.raises(OSError):
        four_letter_word_sync("127.0.0.1", free_port(), "ruok")


async def test_a_word_has_four_letters() -> None:
    with pytest.raises(ValueError, match="4 ASCII letters"):
        await four_letter_word("127.0.0.1", 1, "stats")


def test_parsers() -> None:
    assert parse_srvr(SRVR)["Mode"] == "standalone"
    assert parse_srvr(SRVR)["Zxid"] == "0x0"
    assert parse_mntr(MNTR) == {"zk_version": "3.8.0", "zk_server_state": "leader"}
