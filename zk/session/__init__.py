"""zk.session: session ids, timeouts, passwords and bucketed expiry.

Chapter 6 of the book. :mod:`zk.session.expiry_queue` groups deadlines into buckets one
tick apart; :mod:`zk.session.tracker` keeps the sessions, touches and expires them and
makes their ids; :mod:`zk.session.handshake` negotiates a session's timeout and computes
its password as Java's ``java.util.Random`` does.

Mirrors: org.apache.zookeeper.server.SessionTrackerImpl, ExpiryQueue and the session
parts of ZooKeeperServer.
"""

from zk.session.expiry_queue import ExpiryQueue
from zk.session.handshake import (
    PASSWORD_LENGTH,
    SUPER_SECRET,
    JavaRandom,
    check_password,
    generate_password,
    negotiate_session_timeout,
    session_timeout_bounds,
)
from zk.session.tracker import CONTAINER_EPHEMERAL_OWNER, Session, SessionTracker

__all__ = [
    "CONTAINER_EPHEMERAL_OWNER",
    "PASSWORD_LENGTH",
    "SUPER_SECRET",
    "ExpiryQueue",
    "JavaRandom",
    "Session",
    "SessionTracker",
    "check_password",
    "generate_password",
    "negotiate_session_timeout",
    "session_timeout_bounds",
]
