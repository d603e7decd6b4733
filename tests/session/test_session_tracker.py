"""Unit tests of SessionTracker: ids, touches, expiry, owners.

Rules from org.apache.zookeeper.server.SessionTrackerImpl and ZooKeeperServer (3.8).
"""

from __future__ import annotations

import pytest

from zk.protocol.errors import SessionExpiredException, SessionMovedException, UnknownSessionException
from zk.session import CONTAINER_EPHEMERAL_OWNER, SessionTracker
from zk.trace.tracer import MemorySink, Tracer

TICK = 2000


def test_session_id_layout_by_hand() -> None:
    """SessionTrackerImpl.initializeNextSessionId: ((now << 24) >>> 8) | (id << 56).

    now = 0x12_3456_789A keeps its low 40 bits, shifted left by 16; id 1 on top.
    Java prints Long.toHexString of the same expression as 1123456789a0000.
    """
    assert SessionTracker.initialize_next_session_id(1, 0x12_3456_789A) == 0x0112_3456_789A_0000


def test_session_id_drops_high_time_bits_and_can_be_negative() -> None:
    """Java's shifts on a signed long: the time's bits above 40 fall off; id 255 sets the sign.

    Java: ((0xFEDCBA9876543L << 24) >>> 8) | (255L << 56) == -14731774781095936
    (0xffcba98765430000).
    """
    sid = SessionTracker.initialize_next_session_id(255, 0xF_EDCB_A987_6543)
    assert sid == -14731774781095936
    assert sid & (2**64 - 1) == 0xFFCB_A987_6543_0000


def test_session_id_never_container_owner() -> None:
    """initializeNextSessionId: Long.MIN_VALUE (the container marker) becomes MIN_VALUE + 1."""
    assert SessionTracker.initialize_next_session_id(0x80, 0) == CONTAINER_EPHEMERAL_OWNER + 1


def test_standalone_ids_start_with_server_id_1_and_count_up() -> None:
    """ZooKeeperServer.createSessionTrackerServerId = 1; createSession: getAndIncrement."""
    tracker = SessionTracker(server_id=1, tick_time=TICK, now_ms=0x10_0000)
    first = tracker.create_session(30000, now=0x10_0000)
    second = tracker.create_session(30000, now=0x10_0000)
    assert first >> 56 == 1
    assert first == 0x0100_0010_0000_0000
    assert second == first + 1


def test_idle_session_expires_and_touched_one_lives() -> None:
    """SessionTrackerImpl.run/touchSession: expired sessions come back marked closing."""
    tracker = SessionTracker(1, TICK, now_ms=0)
    idle = tracker.create_session(6000, now=0)  # bucket 8000
    busy = tracker.create_session(6000, now=0)
    assert tracker.get_wait_time(now=0) == 2000
    for now in range(0, 8000, 1000):
        assert tracker.touch_session(busy, 6000, now)
        assert tracker.expire(now) == []
    expired = tracker.expire(8000)
    assert [s.session_id for s in expired] == [idle]
    assert expired[0].is_closing
    assert not tracker.touch_session(idle, 6000, 8000)
    assert tracker.touch_session(busy, 6000, 8000)
    assert tracker.is_tracking_session(idle)  # until its closeSession is applied
    tracker.remove_session(idle)
    assert not tracker.is_tracking_session(idle)


def test_expire_catches_up_after_a_pause() -> None:
    """SessionTrackerImpl.run polls without sleeping while getWaitTime() is 0."""
    tracker = SessionTracker(1, TICK, now_ms=0)
    a = tracker.create_session(4000, now=0)  # 6000
    b = tracker.create_session(10000, now=0)  # 12000
    assert {s.session_id for s in tracker.expire(now=60_000)} == {a, b}
    assert tracker.get_wait_time(now=60_000) == 2000


def test_late_track_does_not_revive_an_expired_session() -> None:
    """SessionTrackerTest.testAddSessionAfterSessionExpiry."""
    tracker = SessionTracker(1, TICK, now_ms=0)
    sid = tracker.create_session(4000, now=0)
    owner = object()
    tracker.check_session(sid, owner)
    tracker.expire(now=10_000)
    assert tracker.track_session(sid, 4000, now=10_000) is False
    with pytest.raises(SessionExpiredException):
        tracker.check_session(sid, owner)
    assert not tracker.touch_session(sid, 4000, 10_000)


def test_close_session_removes() -> None:
    """SessionTrackerTest.testCloseSessionRequestAfterSessionExpiry."""
    tracker = SessionTracker(1, TICK, now_ms=0)
    sid = tracker.create_session(4000, now=0)
    tracker.commit_session(sid, 4000)
    tracker.expire(now=10_000)
    tracker.remove_session(sid)
    assert tracker.get_session(sid) is None
    assert tracker.get_session_timeout(sid) is None
    assert tracker.sessions_with_timeouts() == {}


def test_check_session_owner_rules() -> None:
    """SessionTrackerImpl.checkSession: unknown, closing, first owner, moved."""
    tracker = SessionTracker(1, TICK, now_ms=0)
    with pytest.raises(UnknownSessionException):
        tracker.check_session(99, object())
    with pytest.raises(SessionExpiredException):
        tracker.check_global_session(99, object())
    sid = tracker.create_session(4000, now=0)
    first, second = object(), object()
    tracker.check_session(sid, first)
    tracker.check_session(sid, first)
    with pytest.raises(SessionMovedException):
        tracker.check_session(sid, second)
    tracker.set_owner(sid, second)
    tracker.check_session(sid, second)
    tracker.set_session_closing(sid)
    with pytest.raises(SessionExpiredException):
        tracker.check_session(sid, second)
    with pytest.raises(SessionExpiredException):
        tracker.set_owner(sid, first)


def test_commit_and_add_session() -> None:
    """SessionTrackerImpl.commitSession (txn applied) and trackSession (a session from the log)."""
    tracker = SessionTracker(1, TICK, now_ms=0)
    sid = tracker.create_session(4000, now=0)
    assert tracker.get_session_timeout(sid) is None  # tracked, not yet committed
    assert tracker.add_session(sid, 4000, now=500) is True
    assert tracker.add_session(sid, 4000, now=500) is False
    other = 0x0200_0000_0000_0001  # another server's session, met in the log
    assert tracker.add_session(other, 8000, now=1000) is True
    assert tracker.is_tracking_session(other)
    assert tracker.sessions_with_timeouts() == {sid: 4000, other: 8000}
    assert tracker.global_sessions() == {sid, other}
    assert tracker.get_local_session_count() == 0


def test_restored_sessions_are_tracked_from_now() -> None:
    """SessionTrackerImpl constructor: trackSession for each of sessionsWithTimeouts."""
    tracker = SessionTracker(1, TICK, now_ms=100_000, sessions_with_timeouts={7: 4000})
    assert tracker.get_session_expiry_map() == {106_000: {7}}
    assert [s.session_id for s in tracker.expire(106_000)] == [7]


def test_dump_and_trace() -> None:
    sink = MemorySink()
    tracker = SessionTracker(1, TICK, now_ms=0, tracer=Tracer("s1", sink))
    sid = tracker.create_session(4000, now=0)
    assert tracker.dump_sessions() == f"Session Sets (1)/(1):\n1 expire at 6000:\n\t0x{sid:x}\n"
    tracker.expire(6000)
    assert [e["event"] for e in sink.events] == [
        "session.touched",
        "session.created",
        "session.closing",
        "session.expired",
    ]
