"""Four-letter words, the admin commands a client sends instead of a ConnectRequest.

A four-letter word is four ASCII bytes written on a fresh client connection; the server
answers in plain text and closes the connection, so the reply is everything read until EOF.
The lab uses `ruok` and `srvr` to tell when a server serves, and `srvr`/`mntr` to read its
mode (standalone, leader, follower) the way an operator would.

Mirrors: the client side of org.apache.zookeeper.server.command.FourLetterCommands
(what `echo ruok | nc host port` does); no Java class of the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

__all__ = [
    "MAX_REPLY_BYTES",
    "four_letter_word",
    "four_letter_word_sync",
    "parse_mntr",
    "parse_srvr",
]

MAX_REPLY_BYTES = 16 * 1024 * 1024
"""Largest reply we read; `dump` or `wchp` of a huge tree is cut off with an error."""


def _encode(word: str) -> bytes:
    data = word.encode("ascii")
    if len(data) != 4:
        raise ValueError(f"a four-letter word has 4 ASCII letters, got {word!r}")
    return data


async def four_letter_word(host: str, port: int, word: str, timeout: float = 2.0) -> str:
    """Send a four-letter word and return the server's whole reply.

    Args:
        host: Server address.
        port: The server's client port.
        word: Four ASCII letters, e.g. ``"ruok"``, ``"srvr"``, ``"mntr"``.
        timeout: Seconds for connecting and reading the whole reply.

    Returns:
        The reply text (empty if the server closed without answering, as ZooKeeper does
        for a word that is not in `4lw.commands.whitelist`).

    Raises:
        OSError: The connection was refused or reset.
        TimeoutError: No EOF within `timeout`.
    """
    request = _encode(word)
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(request)
            await writer.drain()
            chunks: list[bytes] = []
            total = 0
            while total <= MAX_REPLY_BYTES:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
        finally:
            writer.close()
            # The peer may already have reset the connection; closing is best effort.
            with contextlib.suppress(OSError):
                await writer.wait_closed()
    if total > MAX_REPLY_BYTES:
        raise OSError(f"{word} reply from {host}:{port} exceeds {MAX_REPLY_BYTES} bytes")
    return b"".join(chunks).decode("utf-8", errors="replace")


def four_letter_word_sync(host: str, port: int, word: str, timeout: float = 2.0) -> str:
    """Blocking twin of [four_letter_word][zk.lab.fourletter.four_letter_word].

    Args:
        host: Server address.
        port: The server's client port.
        word: Four ASCII letters.
        timeout: Seconds for connecting and for each read.

    Returns:
        The reply text.
    """
    request = _encode(word)
    chunks: list[bytes] = []
    total = 0
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(request)
        while total <= MAX_REPLY_BYTES:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    if total > MAX_REPLY_BYTES:
        raise OSError(f"{word} reply from {host}:{port} exceeds {MAX_REPLY_BYTES} bytes")
    return b"".join(chunks).decode("utf-8", errors="replace")


def parse_srvr(reply: str) -> dict[str, str]:
    """Split a `srvr` (or `stat`) reply into its ``Key: value`` lines.

    Example: ``parse_srvr(text)["Mode"]`` is ``"standalone"``, ``"leader"`` or
    ``"follower"``; ``"Zxid"`` is present only once the server serves.
    """
    fields: dict[str, str] = {}
    for line in reply.splitlines():
        key, sep, value = line.partition(":")
        if sep and key and not key.startswith(" "):
            fields.setdefault(key.strip(), value.strip())
    return fields


def parse_mntr(reply: str) -> dict[str, str]:
    """Split a `mntr` reply (``key<TAB>value`` lines) into a dict.

    Example: ``parse_mntr(text)["zk_server_state"]`` is ``"leader"`` on a leader.
    """
    fields: dict[str, str] = {}
    for line in reply.splitlines():
        key, sep, value = line.partition("\t")
        if sep:
            fields[key.strip()] = value.strip()
    return fields
