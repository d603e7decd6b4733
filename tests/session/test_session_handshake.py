"""Passwords and timeouts as ZooKeeperServer makes them, checked against real Java.

The expected bytes below were printed by JDK 17 from a throwaway program (not kept in
the repo), compiled with javac and run with java:

    byte[] pw(long id) { Random r = new Random(id ^ 0XB3415C00L);
                         byte[] p = new byte[16]; r.nextBytes(p); return p; }

plus ``new Random(42).nextInt()`` twice and ``new Random(7).nextBytes(new byte[7])``.
"""

from __future__ import annotations

from zk.session import (
    SUPER_SECRET,
    JavaRandom,
    check_password,
    generate_password,
    negotiate_session_timeout,
    session_timeout_bounds,
)


def test_java_random_next_int() -> None:
    """java.util.Random(42): nextInt() twice, as printed by Java."""
    r = JavaRandom(42)
    assert [r.next_int(), r.next_int()] == [-1170105035, 234785527]


def test_java_random_next_bytes_partial_int() -> None:
    """java.util.Random.nextBytes: 7 bytes use two ints, low byte first."""
    assert JavaRandom(7).next_bytes(7) == bytes.fromhex("99170fbb183477")


def test_password_matches_java() -> None:
    """ZooKeeperServer.generatePasswd: new Random(id ^ superSecret).nextBytes(byte[16])."""
    assert SUPER_SECRET == 0xB3415C00
    assert generate_password(42) == bytes.fromhex("c813ee495620c3a68794ef27a239e8a9")
    assert generate_password(0x0100000000000001) == bytes.fromhex("054cc74a37327db215e702e20c73f005")
    # A negative session id (server id >= 128): 0xff00123456780000 as a Java long.
    negative = 0xFF00123456780000 - (1 << 64)
    assert generate_password(negative) == bytes.fromhex("fae18b1fff04a3066806fbaee07225b6")


def test_check_password() -> None:
    """ZooKeeperServer.checkPasswd: sessionId != 0 and the bytes equal."""
    sid = 0x0100000000000001
    assert check_password(sid, generate_password(sid))
    assert not check_password(sid, bytes(16))
    assert not check_password(sid, None)
    assert not check_password(0, generate_password(0))


def test_timeout_bounds_default_to_2_and_20_ticks() -> None:
    """ZooKeeperServer.setMinSessionTimeout / setMaxSessionTimeout: -1 means default."""
    assert session_timeout_bounds(2000) == (4000, 40000)
    assert session_timeout_bounds(2000, 1000, 90000) == (1000, 90000)


def test_negotiate_session_timeout_clamps() -> None:
    """ZooKeeperServer.processConnectRequest: clamp into [min, max]."""
    assert negotiate_session_timeout(10000, 4000, 40000) == 10000
    assert negotiate_session_timeout(100, 4000, 40000) == 4000
    assert negotiate_session_timeout(10**9, 4000, 40000) == 40000
    assert negotiate_session_timeout(100, 5000, 3000) == 3000  # max is applied last
