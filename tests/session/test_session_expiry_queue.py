"""Unit tests of ExpiryQueue: deadlines rounded up into buckets, polled one bucket a tick.

Rules from org.apache.zookeeper.server.ExpiryQueue (3.8).
"""

from __future__ import annotations

import pytest

from zk.session import ExpiryQueue

TICK = 2000


def test_round_to_next_interval() -> None:
    """ExpiryQueue.roundToNextInterval: strictly after the deadline, on a bucket."""
    q: ExpiryQueue[str] = ExpiryQueue(TICK, now=0)
    assert q.update("s", 5000, now=10_500) == 16_000  # 15_500 -> 16_000
    assert q.update("t", 5000, now=11_000) == 18_000  # 16_000 exactly -> the next one
    assert q.get_next_expiration_time() == TICK  # constructor: roundToNextInterval(now)


def test_update_within_the_same_bucket_returns_none() -> None:
    """ExpiryQueue.update: no change, nothing to update."""
    q: ExpiryQueue[str] = ExpiryQueue(TICK, now=0)
    assert q.update("s", 5000, now=10_500) == 16_000
    assert q.update("s", 5000, now=10_900) is None
    assert q.get_expiry_map() == {16_000: {"s"}}


def test_touched_element_moves_to_a_later_bucket() -> None:
    """ExpiryQueue.update: the element leaves its previous bucket."""
    q: ExpiryQueue[str] = ExpiryQueue(TICK, now=0)
    q.update("s", 5000, now=10_500)
    assert q.update("s", 5000, now=12_500) == 18_000
    assert q.get_expiry_map() == {16_000: set(), 18_000: {"s"}}


def test_poll_before_time_returns_nothing_and_does_not_advance() -> None:
    """ExpiryQueue.poll: now < nextExpirationTime -> empty set."""
    q: ExpiryQueue[str] = ExpiryQueue(TICK, now=0)
    q.update("s", 3000, now=0)  # bucket 4000
    assert q.poll(now=1999) == set()
    assert q.get_next_expiration_time() == 2000
    assert q.get_wait_time(now=1500) == 500


def test_idle_element_expires_in_its_bucket() -> None:
    """ExpiryQueue.poll: each due poll hands over one bucket and advances one interval."""
    q: ExpiryQueue[str] = ExpiryQueue(TICK, now=0)
    q.update("idle", 3000, now=0)  # bucket 4000
    assert q.poll(now=2000) == set()  # bucket 2000: empty, but time advances
    assert q.get_next_expiration_time() == 4000
    assert q.poll(now=3999) == set()
    assert q.poll(now=4000) == {"idle"}
    assert q.get_wait_time(now=4000) == 2000
    assert q.remove("idle") == 4000  # polled elements stay in elemMap until removed
    assert q.remove("idle") is None


def test_touched_element_keeps_living() -> None:
    """A touch before the bucket is due moves the element out of it."""
    q: ExpiryQueue[str] = ExpiryQueue(TICK, now=0)
    q.update("busy", 3000, now=0)
    q.update("idle", 3000, now=0)
    for now in range(0, 20_001, 1000):
        q.update("busy", 3000, now=now)
        due = q.poll(now)
        assert "busy" not in due
        if now == 4000:
            assert due == {"idle"}


def test_after_a_pause_poll_catches_up_one_bucket_at_a_time() -> None:
    """ExpiryQueue.poll advances by one interval per call, whatever ``now`` is."""
    q: ExpiryQueue[str] = ExpiryQueue(TICK, now=0)
    q.update("a", 1000, now=0)  # 2000
    q.update("b", 5000, now=0)  # 6000
    seen = []
    while q.get_wait_time(now=10_000) == 0:
        seen.append(q.poll(now=10_000))
    assert seen == [{"a"}, set(), {"b"}, set(), set()]
    assert q.get_next_expiration_time() == 12_000


def test_dump_text() -> None:
    """ExpiryQueue.dump: "Sets (<buckets>)/(<elements>):" then one block per bucket."""
    q: ExpiryQueue[str] = ExpiryQueue(TICK, now=0)
    q.update("s", 3000, now=0)
    assert q.dump() == "Sets (1)/(1):\n1 expire at 4000:\n\ts\n"


def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError):
        ExpiryQueue(0, now=0)
