"""The ZooKeeperServers of an ensemble: leader, follower, observer.

Each is the standalone server of chapter 9 with three things swapped: the processor
chain (zk.processors.quorum_chains), the session tracker, and the timers. The leader
keeps the global SessionTracker, the authority on every session of the ensemble, and
runs session expiry and the container manager; a learner's LearnerSessionTracker only
remembers the committed sessions and which of them its clients touched since the last
PING, which it reports in its PING reply. A client reconnecting to a learner is checked
with the leader (REVALIDATE).

All three share the QuorumPeer's ZKDatabase, which outlives the term.

Mirrors: org.apache.zookeeper.server.quorum.LeaderZooKeeperServer,
FollowerZooKeeperServer, ObserverZooKeeperServer, LearnerZooKeeperServer and
LearnerSessionTracker (global sessions only: localSessionsEnabled=false).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from zk.broadcast.leader import Leader, LearnerSyncRequest
from zk.processors import OWNER
from zk.processors.quorum_chains import FollowerChain, LeaderChain, ObserverChain
from zk.protocol.errors import SessionExpiredException
from zk.server import ServerCnxn, ServerConfig, ZooKeeperServer
from zk.session import SessionTracker
from zk.trace import NULL_TRACER, Tracer

if TYPE_CHECKING:
    from zk.broadcast.learner import Learner
    from zk.processors import ZKDatabase

__all__ = [
    "FollowerZooKeeperServer",
    "LeaderZooKeeperServer",
    "LearnerSessionTracker",
    "ObserverZooKeeperServer",
]

log = logging.getLogger(__name__)


class LearnerSessionTracker(SessionTracker):
    """A learner's view of sessions: the committed ones, and a touch table.

    New session ids carry this server's id, so learners never collide; the session is
    tracked by the leader, whose Prep sees the forwarded createSession. Expiry is the
    leader's job: ``expire`` never returns anything here.

    Mirrors: org.apache.zookeeper.server.quorum.LearnerSessionTracker.
    """

    def __init__(self, server_id: int, tick_time: int, now_ms: int, sessions: dict[int, int]) -> None:
        super().__init__(server_id, tick_time, now_ms, sessions)
        self.touch_table: dict[int, int] = {}

    def create_session(self, session_timeout: int, now: int) -> int:
        session_id = self._next_session_id
        self._next_session_id += 1
        return session_id

    def track_session(self, session_id: int, session_timeout: int, now: int) -> bool:
        return False  # the leader tracks global sessions

    def commit_session(self, session_id: int, session_timeout: int) -> bool:
        added = session_id not in self._sessions_with_timeout
        self._sessions_with_timeout[session_id] = session_timeout
        self.touch_table[session_id] = session_timeout
        return added

    def touch_session(self, session_id: int, timeout: int, now: int) -> bool:
        if session_id not in self._sessions_with_timeout:
            return False
        self.touch_table[session_id] = timeout
        return True

    def check_session(self, session_id: int, owner: object) -> None:
        pass  # the leader checks, when the request reaches its Prep

    def remove_session(self, session_id: int) -> None:
        self._sessions_with_timeout.pop(session_id, None)
        self.touch_table.pop(session_id, None)

    def global_sessions(self) -> set[int]:
        return set(self._sessions_with_timeout)

    def snapshot(self) -> dict[int, int]:
        """The sessions touched since the last call (for the PING reply)."""
        touched, self.touch_table = self.touch_table, {}
        return touched


class LeaderZooKeeperServer(ZooKeeperServer):
    """The leader's server: Prep → Proposal → Commit → ToBeApplied → Final.

    Mirrors: org.apache.zookeeper.server.quorum.LeaderZooKeeperServer.
    """

    SNAPSHOT_ON_LOAD = False

    def __init__(self, config: ServerConfig, leader: Leader, db: ZKDatabase, *, tracer: Tracer = NULL_TRACER) -> None:
        self.leader = leader
        super().__init__(config, tracer=tracer, db=db)

    def setup_request_processors(self) -> LeaderChain:
        c = self.config
        leader = self.leader
        return LeaderChain(
            self.prep, self.final, propose=leader.propose,
            process_ack=lambda zxid: leader.process_ack(leader.my_id, zxid),
            process_sync=leader.process_sync, applied=leader.applied,
            is_learner_sync=lambda r: isinstance(r, LearnerSyncRequest),
            global_outstanding_limit=c.global_outstanding_limit, snap_count=c.snap_count,
            take_snapshot=self.take_snapshot, tracer=self.tracer,
        )  # fmt: skip

    def revalidate_session(self, cnxn: ServerCnxn, session_id: int, timeout: int) -> None:
        """A client reconnected to the leader itself: its session is now the leader's own
        (OWNER) until a learner revalidates it. Mirrors LeaderZooKeeperServer.revalidateSession."""
        super().revalidate_session(cnxn, session_id, timeout)
        with contextlib.suppress(SessionExpiredException):  # the revalidation failed
            self.session_tracker.set_owner(session_id, OWNER)

    @property
    def leader_chain(self) -> LeaderChain:
        assert isinstance(self.chain, LeaderChain)
        return self.chain


class _LearnerZooKeeperServer(ZooKeeperServer):
    """What follower and observer servers share. Mirrors: LearnerZooKeeperServer."""

    SNAPSHOT_ON_LOAD = False

    def __init__(self, config: ServerConfig, learner: Learner, db: ZKDatabase, *, tracer: Tracer = NULL_TRACER) -> None:
        self.learner = learner
        super().__init__(config, tracer=tracer, db=db)

    def create_session_tracker(self, sessions: dict[int, int]) -> SessionTracker:
        return LearnerSessionTracker(self.config.session_tracker_server_id, self.config.tick_time, self.now_ms(),
                                     sessions)  # fmt: skip

    def background_tasks(self) -> list[Coroutine[Any, Any, None]]:
        return []  # expiry and containers are the leader's

    def revalidate_session(self, cnxn: ServerCnxn, session_id: int, timeout: int) -> None:
        self.learner.validate_session(cnxn, session_id, timeout)

    def touch_snapshot(self) -> dict[int, int]:
        tracker = self.session_tracker
        return tracker.snapshot() if isinstance(tracker, LearnerSessionTracker) else {}


class FollowerZooKeeperServer(_LearnerZooKeeperServer):
    """FollowerRequest → Commit → Final, with Sync → SendAck. Mirrors:
    org.apache.zookeeper.server.quorum.FollowerZooKeeperServer."""

    def setup_request_processors(self) -> FollowerChain:
        c = self.config
        return FollowerChain(
            self.final, forward=self.learner.request, send_ack=self.learner.send_ack,
            global_outstanding_limit=c.global_outstanding_limit, snap_count=c.snap_count,
            take_snapshot=self.take_snapshot, tracer=self.tracer,
        )  # fmt: skip


class ObserverZooKeeperServer(_LearnerZooKeeperServer):
    """ObserverRequest → Commit → Final; INFORMs are logged and applied. Mirrors:
    org.apache.zookeeper.server.quorum.ObserverZooKeeperServer."""

    def setup_request_processors(self) -> ObserverChain:
        c = self.config
        return ObserverChain(
            self.final, forward=self.learner.request, global_outstanding_limit=c.global_outstanding_limit,
            snap_count=c.snap_count, take_snapshot=self.take_snapshot, tracer=self.tracer,
        )  # fmt: skip


ServerFactory = Callable[["Learner", "ZKDatabase"], _LearnerZooKeeperServer]
