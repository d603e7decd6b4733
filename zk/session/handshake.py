"""What the server decides when a client connects: the timeout and the password.

A ConnectRequest asks for a session timeout; the server clamps it into
``[minSessionTimeout, maxSessionTimeout]`` (by default 2 and 20 ticks) and answers with
the result, which both sides then use.

The password in a ConnectResponse is not stored anywhere. It is recomputed from the
session id whenever needed: java.util.Random seeded with ``sessionId ^ superSecret``,
sixteen bytes of ``nextBytes``. A client that reconnects with session id and password
proves it was told them, and any server of the ensemble can check it. To give the
same bytes as Java we carry java.util.Random's generator over exactly::

    seed   = (seed ^ 0x5DEECE66D) & (2**48 - 1)             setSeed's scramble
    next   : seed = (seed * 0x5DEECE66D + 0xB) & (2**48 - 1)
             return seed >> (48 - bits), as a signed 32-bit int
    nextBytes: one nextInt() per 4 bytes, low byte first

Mirrors: ZooKeeperServer.generatePasswd, checkPasswd, the timeout clamp of
processConnectRequest and setMin/MaxSessionTimeout; java.util.Random (setSeed, next,
nextInt, nextBytes).
"""

from __future__ import annotations

__all__ = [
    "PASSWORD_LENGTH",
    "SUPER_SECRET",
    "JavaRandom",
    "check_password",
    "generate_password",
    "negotiate_session_timeout",
    "session_timeout_bounds",
]

SUPER_SECRET = 0xB3415C00
"""ZooKeeperServer.superSecret: mixed into the password seed."""

PASSWORD_LENGTH = 16

_MULTIPLIER = 0x5DEECE66D
_ADDEND = 0xB
_MASK48 = (1 << 48) - 1


class JavaRandom:
    """java.util.Random, bit for bit: a 48-bit linear congruential generator.

    Args:
        seed: a Java long (any Python int; only its low 48 bits matter).

    Mirrors: java.util.Random.
    """

    def __init__(self, seed: int) -> None:
        self._seed = (seed ^ _MULTIPLIER) & _MASK48

    def next(self, bits: int) -> int:
        """The next ``bits`` (1 to 32) random bits, as Java's ``(int)`` makes them."""
        self._seed = (self._seed * _MULTIPLIER + _ADDEND) & _MASK48
        value = self._seed >> (48 - bits)
        return value - (1 << 32) if value >= 1 << 31 else value

    def next_int(self) -> int:
        """A uniformly random signed 32-bit int (``nextInt()``)."""
        return self.next(32)

    def next_bytes(self, length: int) -> bytes:
        """``length`` random bytes (``nextBytes``): each int gives 4, low byte first."""
        out = bytearray()
        while len(out) < length:
            rnd = self.next_int()
            for _ in range(min(length - len(out), 4)):
                out.append(rnd & 0xFF)
                rnd >>= 8
        return bytes(out)


def generate_password(session_id: int) -> bytes:
    """The 16-byte password of a session (ZooKeeperServer.generatePasswd)."""
    return JavaRandom(session_id ^ SUPER_SECRET).next_bytes(PASSWORD_LENGTH)


def check_password(session_id: int, passwd: bytes | None) -> bool:
    """Whether a reconnecting client knows its session's password.

    Session id 0 means "new session" and never checks (ZooKeeperServer.checkPasswd).
    """
    return session_id != 0 and passwd is not None and passwd == generate_password(session_id)


def session_timeout_bounds(
    tick_time: int, min_session_timeout: int = -1, max_session_timeout: int = -1
) -> tuple[int, int]:
    """The configured bounds, -1 meaning the defaults 2 * tickTime and 20 * tickTime.

    Mirrors: ZooKeeperServer.setMinSessionTimeout / setMaxSessionTimeout.
    """
    low = tick_time * 2 if min_session_timeout == -1 else min_session_timeout
    high = tick_time * 20 if max_session_timeout == -1 else max_session_timeout
    return low, high


def negotiate_session_timeout(requested: int, min_session_timeout: int, max_session_timeout: int) -> int:
    """The timeout a session gets: the requested one clamped into [min, max].

    The lower bound is applied first, so if a misconfiguration makes min > max, max wins,
    as in Java.

    Mirrors: the clamp in ZooKeeperServer.processConnectRequest.
    """
    timeout = requested
    if timeout < min_session_timeout:
        timeout = min_session_timeout
    if timeout > max_session_timeout:
        timeout = max_session_timeout
    return timeout
