"""Framing: how the client protocol cuts a TCP byte stream into packets.

Every packet, in both directions, is a 4-byte big-endian length followed by that many
bytes. The first packet a client sends is a ConnectRequest; every later one is a
RequestHeader followed by the request body.

    +--------+-----------------------------+
    | len:i4 | len bytes of jute records   |
    +--------+-----------------------------+

A length that is negative or over jute.maxbuffer is the peer's fault and ends the
connection: the server cannot know where the next packet starts.

Mirrors: org.apache.zookeeper.server.NIOServerCnxn.readLength (the "Len error" check) and
the framing in ClientCnxnSocketNIO.
"""

from __future__ import annotations

import struct

from zk.jute.codec import DEFAULT_MAX_BUFFER

__all__ = ["FrameDecoder", "FrameError", "frame"]

_LEN = struct.Struct(">i")


class FrameError(ValueError):
    """The peer sent a length prefix that cannot be honoured; close the connection."""


def frame(payload: bytes | bytearray) -> bytes:
    """Prefix a payload with its length."""
    return _LEN.pack(len(payload)) + payload


class FrameDecoder:
    """Collects bytes and hands back whole packets (without their length prefix).

    A pure core: ``feed`` takes what the socket read, returns every packet now complete.
    """

    __slots__ = ("_buf", "max_buffer")

    def __init__(self, max_buffer: int = DEFAULT_MAX_BUFFER) -> None:
        self._buf = bytearray()
        self.max_buffer = max_buffer

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        packets: list[bytes] = []
        start = 0
        buf = self._buf
        while len(buf) - start >= 4:
            (n,) = _LEN.unpack_from(buf, start)
            if n < 0 or n > self.max_buffer:
                raise FrameError(f"Len error. A message of {n} bytes is over jute.maxbuffer={self.max_buffer}")
            if len(buf) - start - 4 < n:
                break
            packets.append(bytes(buf[start + 4 : start + 4 + n]))
            start += 4 + n
        if start:
            del buf[:start]
        return packets
