"""Bucketed expiry: many deadlines checked by looking at one bucket per tick.

Every session has a deadline, but the server does not keep one timer per session.
Deadlines are rounded *up* to the next multiple of the expiration interval (the
tickTime), so the sessions that expire together share a bucket::

    interval = 2000, now = 10_500, timeout = 5000
    deadline = roundToNextInterval(15_500) = (15_500 // 2000 + 1) * 2000 = 16_000

    expiry_map:  16_000 -> {s1, s3}     elem_map:  s1 -> 16_000
                 18_000 -> {s2}                    s2 -> 18_000   ...

Touching a session moves it to a later bucket. The tracker sleeps until the next
bucket time, then ``poll`` hands over that whole bucket and moves on by one interval.
A session therefore lives at least its timeout and at most one interval longer.

Mirrors: org.apache.zookeeper.server.ExpiryQueue. Java reads the clock
(Time.currentElapsedTime, milliseconds); here ``now`` comes in as an argument, including
to the constructor, which sets the first bucket time from it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

__all__ = ["ExpiryQueue"]

E = TypeVar("E")


class ExpiryQueue(Generic[E]):
    """Elements with deadlines, grouped into buckets ``expiration_interval`` ms apart.

    Args:
        expiration_interval: the bucket width in ms (the server's tickTime).
        now: the current time in ms, from the same clock as every later call.

    Mirrors: org.apache.zookeeper.server.ExpiryQueue.
    """

    def __init__(self, expiration_interval: int, now: int) -> None:
        if expiration_interval <= 0:
            raise ValueError(f"expiration interval must be positive, not {expiration_interval}")
        self.expiration_interval = expiration_interval
        self._elem_map: dict[E, int] = {}
        self._expiry_map: dict[int, dict[E, None]] = {}  # bucket time -> ordered set
        self._next_expiration_time = self._round_to_next_interval(now)

    def _round_to_next_interval(self, time: int) -> int:
        # Strictly after ``time``: a deadline exactly on a bucket goes to the next one.
        return (time // self.expiration_interval + 1) * self.expiration_interval

    def remove(self, elem: E) -> int | None:
        """Forget ``elem``.

        Returns:
            Its expiry time, or None if it was not in the queue.
        """
        expiry_time = self._elem_map.pop(elem, None)
        if expiry_time is not None:
            bucket = self._expiry_map.get(expiry_time)
            if bucket is not None:
                # An emptied bucket stays until poll reaches its time, as in Java.
                bucket.pop(elem, None)
        return expiry_time

    def update(self, elem: E, timeout: int, now: int) -> int | None:
        """Give ``elem`` the deadline ``now + timeout``, rounded up to a bucket.

        Returns:
            The new expiry time, or None if it stayed in the same bucket.
        """
        new_expiry_time = self._round_to_next_interval(now + timeout)
        prev_expiry_time = self._elem_map.get(elem)
        if new_expiry_time == prev_expiry_time:
            return None
        self._expiry_map.setdefault(new_expiry_time, {})[elem] = None
        self._elem_map[elem] = new_expiry_time
        if prev_expiry_time is not None:
            prev = self._expiry_map.get(prev_expiry_time)
            if prev is not None:
                prev.pop(elem, None)
        return new_expiry_time

    def get_wait_time(self, now: int) -> int:
        """Milliseconds until the next bucket is due (0 if it already is)."""
        return self._next_expiration_time - now if now < self._next_expiration_time else 0

    def get_next_expiration_time(self) -> int:
        """The time of the next bucket that ``poll`` will hand over."""
        return self._next_expiration_time

    def poll(self, now: int) -> set[E]:
        """The elements of the next bucket, if its time has come; else nothing.

        A due poll always advances the next bucket time by one interval, even when the
        bucket is empty, so after a long pause the caller polls until
        ``get_wait_time(now)`` is positive again. The elements polled leave the
        bucket map but stay in the element map until ``remove``, as in Java.
        """
        expiration_time = self._next_expiration_time
        if now < expiration_time:
            return set()
        self._next_expiration_time = expiration_time + self.expiration_interval
        bucket = self._expiry_map.pop(expiration_time, None)
        return set(bucket) if bucket is not None else set()

    def get_expiry_map(self) -> Mapping[int, set[E]]:
        """Bucket time -> elements, buckets in time order (a copy)."""
        return {t: set(self._expiry_map[t]) for t in sorted(self._expiry_map)}

    def dump(self, format_time: Callable[[int], str] = str) -> str:
        """The text of ``ExpiryQueue.dump`` (part of the ``dump`` four-letter word).

        Args:
            format_time: renders a bucket time; Java prints it as a wall-clock Date,
                which a core cannot compute, so the server passes its own formatter.
        """
        out = [f"Sets ({len(self._expiry_map)})/({len(self._elem_map)}):\n"]
        for time in sorted(self._expiry_map):
            bucket = self._expiry_map[time]
            out.append(f"{len(bucket)} expire at {format_time(time)}:\n")
            out.extend(f"\t{elem}\n" for elem in bucket)
        return "".join(out)
