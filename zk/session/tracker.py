"""Sessions: their ids, their deadlines, and who expires them.

A session outlives its connections. The tracker keeps every live session with its
negotiated timeout, touches it on every request and ping (pushing its deadline into a
later bucket of the ExpiryQueue), and when a bucket's time comes hands its sessions back
to the server as expired. The server then submits a closeSession request for each; only
when that transaction is applied (deleting the session's ephemerals) does the session
leave the tracker through ``remove_session``. In between it is *closing*: touches fail
and requests get SESSIONEXPIRED.

Session ids are unique across servers and restarts without coordination::

    bit 63      56 55                               16 15           0
       | server id |  low 40 bits of now (ms)         |  counter      |

    ((now << 24) >>> 8) | (serverId << 56), then +1 for each new session

A standalone server uses server id 1, so its ids start 0x01...; a server id of 128 or
more makes the ids negative as Java longs.

Mirrors: org.apache.zookeeper.server.SessionTrackerImpl (and its SessionImpl); the
thread's run loop becomes ``expire(now)``, called by the server's timer with the time
in ms (Time.currentElapsedTime), and the SessionExpirer callback becomes its return
value. Local sessions (LearnerSessionTracker) are not here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from zk.protocol.errors import SessionExpiredException, SessionMovedException, UnknownSessionException
from zk.session.expiry_queue import ExpiryQueue
from zk.trace.tracer import NULL_TRACER, Tracer

__all__ = ["CONTAINER_EPHEMERAL_OWNER", "Session", "SessionTracker"]

_MASK64 = (1 << 64) - 1

CONTAINER_EPHEMERAL_OWNER = -(1 << 63)
"""Long.MIN_VALUE: the ephemeralOwner that marks a container node, never a session id
(EphemeralType.CONTAINER_EPHEMERAL_OWNER)."""


def _signed64(value: int) -> int:
    value &= _MASK64
    return value - (1 << 64) if value >> 63 else value


@dataclass(eq=False)
class Session:
    """One session as the tracker sees it. Compared by identity, as Java's SessionImpl.

    ``owner`` is the object (a connection, or a learner) that last sent requests for
    it; None until the first request.

    Mirrors: SessionTrackerImpl.SessionImpl.
    """

    session_id: int
    timeout: int
    is_closing: bool = False
    owner: object | None = None

    def __str__(self) -> str:
        return f"0x{self.session_id & _MASK64:x}"


class SessionTracker:
    """Every global session of a server, with its expiry bucket.

    Args:
        server_id: the top byte of new session ids (1 for a standalone server).
        tick_time: the expiry bucket width in ms.
        now_ms: the current time in ms (sets the first id and the first bucket).
        sessions_with_timeouts: sessions restored from the snapshot and log, tracked
            from ``now_ms`` on, as the Java constructor does.
        tracer: where ``session.*`` events go.

    Mirrors: org.apache.zookeeper.server.SessionTrackerImpl.
    """

    def __init__(
        self,
        server_id: int,
        tick_time: int,
        now_ms: int,
        sessions_with_timeouts: Mapping[int, int] | None = None,
        tracer: Tracer = NULL_TRACER,
    ) -> None:
        self.tracer = tracer
        self._sessions_by_id: dict[int, Session] = {}
        self._session_expiry_queue: ExpiryQueue[Session] = ExpiryQueue(tick_time, now_ms)
        # Committed sessions and their timeouts: what a snapshot stores (ZKDatabase's
        # sessionsWithTimeouts, which Java shares with the tracker).
        self._sessions_with_timeout: dict[int, int] = dict(sessions_with_timeouts or {})
        self._next_session_id = self.initialize_next_session_id(server_id, now_ms)
        for session_id, timeout in self._sessions_with_timeout.items():
            self.track_session(session_id, timeout, now_ms)

    @staticmethod
    def initialize_next_session_id(server_id: int, now_ms: int) -> int:
        """The first session id of a server: its id on top, the time below.

        ``(now << 24) >>> 8`` keeps the low 40 bits of ``now`` and shifts them left by
        16, leaving the top byte for ``server_id`` and the low 16 bits for a counter.

        Mirrors: SessionTrackerImpl.initializeNextSessionId.
        """
        next_sid = ((now_ms << 24) & _MASK64) >> 8  # Java's >>> on a 64-bit long
        next_sid = _signed64(next_sid | (server_id << 56))
        if next_sid == CONTAINER_EPHEMERAL_OWNER:
            next_sid += 1  # unlikely, but that value means "container", not a session
        return next_sid

    # --- creating and applying -------------------------------------------------------

    def create_session(self, session_timeout: int, now: int) -> int:
        """A new session for a ConnectRequest with session id 0: track it, return its id.

        The session is committed later, when its createSession transaction is applied.
        """
        session_id = self._next_session_id
        self._next_session_id = _signed64(session_id + 1)
        self.track_session(session_id, session_timeout, now)
        if self.tracer.enabled:
            self.tracer.emit("session.created", session=session_id, timeout=session_timeout)
        return session_id

    def track_session(self, session_id: int, session_timeout: int, now: int) -> bool:
        """Track ``session_id`` (if new) and give it a deadline ``now + timeout``.

        Returns:
            True if the session was not tracked before.

        Mirrors: SessionTrackerImpl.trackSession.
        """
        session = self._sessions_by_id.get(session_id)
        added = session is None
        if session is None:
            session = Session(session_id, session_timeout)
            self._sessions_by_id[session_id] = session
        self._update_session_expiry(session, session_timeout, now)
        return added

    def commit_session(self, session_id: int, session_timeout: int) -> bool:
        """A createSession transaction was applied: remember the session's timeout.

        Returns:
            True if it was not committed before.

        Mirrors: SessionTrackerImpl.commitSession.
        """
        added = session_id not in self._sessions_with_timeout
        self._sessions_with_timeout[session_id] = session_timeout
        return added

    def add_session(self, session_id: int, session_timeout: int, now: int) -> bool:
        """Apply a createSession transaction: commit it, and track it if not yet tracked.

        The standalone server created and tracked the session itself, so this only
        commits it; a session met first in the log (another server's, or on replay)
        is tracked from ``now`` on. Java splits this between commitSession and
        trackSession; ZooKeeper 3.4 called it addSession.

        Returns:
            True if the session was not committed before.
        """
        if session_id not in self._sessions_by_id:
            self.track_session(session_id, session_timeout, now)
        return self.commit_session(session_id, session_timeout)

    # --- touching, checking ----------------------------------------------------------

    def _update_session_expiry(self, session: Session, timeout: int, now: int) -> None:
        expiry = self._session_expiry_queue.update(session, timeout, now)
        if self.tracer.enabled and expiry is not None:
            self.tracer.emit("session.touched", session=session.session_id, expires=expiry)

    def touch_session(self, session_id: int, timeout: int, now: int) -> bool:
        """Push the session's deadline to ``now + timeout`` (any request, or a ping).

        Returns:
            False if the session is unknown or closing: the server then treats the
            session as gone (Java's MissingSessionException).

        Mirrors: SessionTrackerImpl.touchSession.
        """
        session = self._sessions_by_id.get(session_id)
        if session is None or session.is_closing:
            return False
        self._update_session_expiry(session, timeout, now)
        return True

    def check_session(self, session_id: int, owner: object) -> None:
        """Check that requests for ``session_id`` may proceed from ``owner``.

        The first owner to ask becomes the session's owner.

        Raises:
            UnknownSessionException: no such session.
            SessionExpiredException: the session is closing.
            SessionMovedException: another owner has the session (the client moved to
                another server, and this request came late through the old one).

        Mirrors: SessionTrackerImpl.checkSession.
        """
        session = self._sessions_by_id.get(session_id)
        if session is None:
            raise UnknownSessionException()
        if session.is_closing:
            raise SessionExpiredException()
        if session.owner is None:
            session.owner = owner
        elif session.owner is not owner:
            raise SessionMovedException()

    def check_global_session(self, session_id: int, owner: object) -> None:
        """``check_session`` with an unknown session reported as expired.

        Mirrors: SessionTrackerImpl.checkGlobalSession.
        """
        try:
            self.check_session(session_id, owner)
        except UnknownSessionException:
            raise SessionExpiredException() from None

    def set_owner(self, session_id: int, owner: object) -> None:
        """Make ``owner`` the session's owner (a reconnect through another connection).

        Raises:
            SessionExpiredException: the session is unknown or closing.

        Mirrors: SessionTrackerImpl.setOwner.
        """
        session = self._sessions_by_id.get(session_id)
        if session is None or session.is_closing:
            raise SessionExpiredException()
        session.owner = owner

    # --- closing, expiring -----------------------------------------------------------

    def set_session_closing(self, session_id: int) -> None:
        """Mark the session closing: from now on touches fail. Unknown ids are ignored."""
        session = self._sessions_by_id.get(session_id)
        if session is not None:
            session.is_closing = True
            if self.tracer.enabled:
                self.tracer.emit("session.closing", session=session_id)

    def remove_session(self, session_id: int) -> None:
        """The closeSession transaction was applied: forget the session."""
        session = self._sessions_by_id.pop(session_id, None)
        self._sessions_with_timeout.pop(session_id, None)
        if session is not None:
            self._session_expiry_queue.remove(session)
            if self.tracer.enabled:
                self.tracer.emit("session.removed", session=session_id)

    def expire(self, now: int) -> list[Session]:
        """The sessions whose deadline has passed by ``now``, now marked closing.

        Polls every bucket that is due (several after a long pause, as Java's run loop
        does without sleeping). The server submits a closeSession request for each.

        Mirrors: the loop of SessionTrackerImpl.run and SessionExpirer.expire.
        """
        expired: list[Session] = []
        while self._session_expiry_queue.get_wait_time(now) == 0:
            bucket = self._session_expiry_queue.poll(now)
            for session in sorted(bucket, key=lambda s: s.session_id):
                self.set_session_closing(session.session_id)
                expired.append(session)
                if self.tracer.enabled:
                    self.tracer.emit("session.expired", session=session.session_id, timeout=session.timeout)
        return expired

    def get_wait_time(self, now: int) -> int:
        """Milliseconds until ``expire`` has something to do: when to set the timer."""
        return self._session_expiry_queue.get_wait_time(now)

    # --- reading ---------------------------------------------------------------------

    def get_session(self, session_id: int) -> Session | None:
        """The tracked session, or None."""
        return self._sessions_by_id.get(session_id)

    def get_session_timeout(self, session_id: int) -> int | None:
        """The committed timeout of a session, None if not committed."""
        return self._sessions_with_timeout.get(session_id)

    def is_tracking_session(self, session_id: int) -> bool:
        """Whether the session is tracked (committed or not)."""
        return session_id in self._sessions_by_id

    def sessions_with_timeouts(self) -> dict[int, int]:
        """Committed session id -> timeout: what a snapshot stores (a copy)."""
        return dict(self._sessions_with_timeout)

    def global_sessions(self) -> set[int]:
        """Every tracked session id (mntr's ``zk_global_sessions`` counts them)."""
        return set(self._sessions_by_id)

    def local_sessions(self) -> set[int]:
        """Always empty: this tracker has no local sessions."""
        return set()

    def get_local_session_count(self) -> int:
        """Always 0 (mntr's ``zk_local_sessions``)."""
        return 0

    def get_session_expiry_map(self) -> dict[int, set[int]]:
        """Bucket time -> session ids, in time order (the ``dump`` 4lw, the admin API)."""
        return {t: {s.session_id for s in bucket} for t, bucket in self._session_expiry_queue.get_expiry_map().items()}

    def dump_sessions(self, format_time: Callable[[int], str] = str) -> str:
        """The session part of the ``dump`` four-letter word (``dumpSessions``).

        Args:
            format_time: renders a bucket time (Java prints a wall-clock Date).
        """
        return "Session " + self._session_expiry_queue.dump(format_time)
