"""QuorumPeer: one ensemble member's life, LOOKING → LEADING / FOLLOWING / OBSERVING.

    start: load the database (snapshot + log, no snapshot written), read currentEpoch /
           acceptedEpoch, open the client port, bind the election port
    loop:  LOOKING   → FastLeaderElection until a round ends
           LEADING   → Leader.lead            (zk.broadcast; sync by zk.sync)
           FOLLOWING → Follower.follow_leader
           OBSERVING → Observer.observe_leader
           and back to LOOKING when the term ends.

The peer owns what outlives a term: the ZKDatabase, the epoch files, the election and
the client port. Each term gets a new ZooKeeperServer over the same database (a
LeaderZooKeeperServer, FollowerZooKeeperServer or ObserverZooKeeperServer); while
there is none (LOOKING, or syncing) the client port answers four-letter words only
(``srvr`` says "not currently serving") and closes client sessions. When a term ends
its server stops, its clients are disconnected (they reconnect, to this server or
another, with their sessions), and the database is fast-forwarded to its log
(ZOOKEEPER-2845), so that the next election sees what this server really holds.

The state changes are logged as ZooKeeper logs them (a line ``LOOKING``, ``LEADING``,
...), which is how zk.lab reads any peer's state, ours or the reference's.

Mirrors: org.apache.zookeeper.server.quorum.QuorumPeer (start, loadDataBase's epoch
files, startLeaderElection, run, getCurrentEpoch/setCurrentEpoch,
getAcceptedEpoch/setAcceptedEpoch, updateElectionVote, setZooKeeperServer).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path

from zk.broadcast import Follower, Leader, LeaderZooKeeperServer, Learner, Observer
from zk.election import (
    ConnectAll,
    FastLeaderElection,
    LeaderElected,
    QuorumCnxManager,
    QuorumHierarchical,
    QuorumMaj,
    QuorumVerifier,
    SendNotification,
    ServerState,
    encode_notification,
)
from zk.election.vote import Vote
from zk.jute.records import ConnectRequest
from zk.processors import ZKDatabase
from zk.processors.database import MemoryAheadOfDiskError
from zk.server import ServerCnxn, ZooKeeperServer
from zk.server.config import ServerConfig
from zk.startup.config import ConfigException, QuorumPeerConfig
from zk.sync import sync_follower, sync_with_leader
from zk.trace import NULL_TRACER, Tracer

__all__ = [
    "ACCEPTED_EPOCH_FILENAME",
    "CURRENT_EPOCH_FILENAME",
    "QuorumPeer",
    "QuorumPeerServer",
    "quorum_verifier",
    "read_epochs",
]

log = logging.getLogger(__name__)

CURRENT_EPOCH_FILENAME = "currentEpoch"
ACCEPTED_EPOCH_FILENAME = "acceptedEpoch"

_MODE = {
    ServerState.LOOKING: "looking",
    ServerState.LEADING: "leader",
    ServerState.FOLLOWING: "follower",
    ServerState.OBSERVING: "observer",
}


def quorum_verifier(cfg: QuorumPeerConfig) -> QuorumVerifier:
    """QuorumHierarchical if zoo.cfg has ``group.N`` lines, else QuorumMaj."""
    groups: dict[int, list[int]] = {}
    weights: dict[int, int] = {}
    for key, value in cfg.raw.items():
        try:
            if key.startswith("group."):
                groups[int(key[6:])] = [int(s) for s in value.split(":")]
            elif key.startswith("weight."):
                weights[int(key[7:])] = int(value)
        except ValueError:
            raise ConfigException(f"{key}={value!r}: expected numbers") from None
    if groups:
        try:
            return QuorumHierarchical(cfg.servers, groups, weights)
        except ValueError as e:
            raise ConfigException(str(e)) from None
    return QuorumMaj(cfg.servers)


def _read_long(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    try:
        return int(text)
    except ValueError:
        raise ConfigException(f"Found {text} in {path}") from None


def _write_long(path: Path, value: int) -> None:
    """AtomicFileWritingIdiom: write a temporary file, fsync, rename over."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w") as f:
        f.write(str(value))
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


def read_epochs(snap_dir: Path, last_processed_zxid: int = 0) -> tuple[int, int]:
    """``(currentEpoch, acceptedEpoch)`` from `snap_dir`, created from the last zxid's
    epoch if missing (QuorumPeer.loadDataBase).

    Raises:
        ConfigException: A file that is not a number, a current epoch older than the
            last zxid with no ``currentEpoch.tmp`` to take the newer one from, or an
            accepted epoch below the current one.
    """
    epoch_of_zxid = last_processed_zxid >> 32  # zxid = epoch << 32 | counter
    current = _read_long(snap_dir / CURRENT_EPOCH_FILENAME)
    if current is None:
        current = epoch_of_zxid
        log.info("%s not found! Creating with a reasonable default of %d.", CURRENT_EPOCH_FILENAME, current)
        _write_long(snap_dir / CURRENT_EPOCH_FILENAME, current)
    if epoch_of_zxid > current:
        # A crash between writing currentEpoch.tmp and its rename (ZOOKEEPER-1653): the
        # synced txns are on disk and so is the new epoch, in the temporary file; take it.
        tmp = snap_dir / (CURRENT_EPOCH_FILENAME + ".tmp")
        in_tmp = _read_long(tmp)
        if in_tmp is None:
            raise ConfigException(
                f"The current epoch, {current}, is older than the last zxid, {last_processed_zxid:#x}"
            )
        log.info("%s found. Setting current epoch to %d.", tmp, in_tmp)
        current = in_tmp
        _write_long(snap_dir / CURRENT_EPOCH_FILENAME, current)
    accepted = _read_long(snap_dir / ACCEPTED_EPOCH_FILENAME)
    if accepted is None:
        accepted = epoch_of_zxid
        log.info("%s not found! Creating with a reasonable default of %d.", ACCEPTED_EPOCH_FILENAME, accepted)
        _write_long(snap_dir / ACCEPTED_EPOCH_FILENAME, accepted)
    if accepted < current:
        raise ConfigException(f"The accepted epoch, {accepted} is less than the current epoch, {current}")
    return current, accepted


class QuorumPeerServer(ZooKeeperServer):
    """The client port of a peer that does not serve (LOOKING, or syncing): four-letter
    words answer, sessions are refused. It also loads the database at start-up.

    Mirrors: what NIOServerCnxn does while QuorumPeer has no running zkServer
    ("ZooKeeperServer not running": the connection is closed).
    """

    SNAPSHOT_ON_LOAD = False  # QuorumPeer.loadDataBase writes no snapshot (ZOOKEEPER-1549)

    def process_connect_request(self, cnxn: ServerCnxn, req: ConnectRequest) -> None:
        log.info("Closing connection from %s: ZooKeeperServer not running", cnxn.remote)
        cnxn.close("ZooKeeperServer not running")


class QuorumPeer:
    """One ensemble member. Mirrors: org.apache.zookeeper.server.quorum.QuorumPeer."""

    def __init__(self, config: QuorumPeerConfig, *, tracer: Tracer = NULL_TRACER) -> None:
        if config.server_id not in config.servers:
            raise ConfigException(f"My id {config.server_id} not in the peer list")
        self.config = config
        self.tracer = tracer
        self.my_id = config.server_id
        self.verifier = quorum_verifier(config)
        me = config.servers[self.my_id]
        self.learner_type = me.role
        self.tick_time = config.tick_time
        self.init_limit = config.init_limit
        self.sync_limit = config.sync_limit
        assert config.data_dir is not None
        self.snap_dir = config.data_dir / "version-2"
        self._current_epoch = 0
        self._accepted_epoch = 0
        self.state = ServerState.LOOKING
        self.fle: FastLeaderElection | None = None
        self.qcm: QuorumCnxManager | None = None
        self.idle: QuorumPeerServer | None = None  # answers while no term's server serves
        self.zks: ZooKeeperServer | None = None  # whoever has the client port now
        self.db: ZKDatabase | None = None
        self._client_port: asyncio.Server | None = None
        self._wakeup = asyncio.Event()
        self.elections = 0
        self.leader: Leader | None = None
        self.learner: Learner | None = None

    def server_state(self) -> str:
        """``Mode:`` / ``zk_server_state``: leader, follower, observer or looking."""
        return _MODE[self.state]

    def monitor_values(self) -> dict[str, int | str]:
        """``mntr``'s quorum keys: ``peer_state`` (getDetailedPeerState; only a serving
        member answers mntr, so always the broadcast phase), ``quorum_size`` (the voters),
        an observer's ``observer_master_id``, and the leader's gauges."""
        values: dict[str, int | str] = {
            "peer_state": f"{self.state.name.lower()} - broadcast",
            "quorum_size": len(self.verifier.voting_members),
        }
        if self.leader is not None:
            values.update(self.leader.monitor_values())
        elif self.state == ServerState.OBSERVING and self.learner is not None:
            values["observer_master_id"] = self.learner.leader_id
        return values

    # --- what the Leader and the Learners see (zk.broadcast.QuorumPeerView) --------------

    @property
    def current_epoch(self) -> int:
        return self._current_epoch

    @property
    def accepted_epoch(self) -> int:
        return self._accepted_epoch

    @property
    def max_buffer(self) -> int:
        assert self.idle is not None
        return self.idle.config.jute_max_buffer + 1024  # ZooKeeper's packetLen allows a little extra

    def set_current_epoch(self, epoch: int) -> None:
        """Write ``currentEpoch`` (atomic rename, fsynced) before the new value counts."""
        _write_long(self.snap_dir / CURRENT_EPOCH_FILENAME, epoch)
        self._current_epoch = epoch

    def set_accepted_epoch(self, epoch: int) -> None:
        """Write ``acceptedEpoch`` (atomic rename, fsynced) before the new value counts."""
        _write_long(self.snap_dir / ACCEPTED_EPOCH_FILENAME, epoch)
        self._accepted_epoch = epoch

    def quorum_address(self, sid: int) -> tuple[str, int]:
        server = self.config.servers[sid]
        return server.host, server.quorum_port

    def quorum_listen_host(self) -> str:
        if self.config.raw.get("quorumListenOnAllIPs", "false").lower() == "true":
            return "0.0.0.0"
        return self.config.servers[self.my_id].host

    def update_election_vote(self, epoch: int) -> None:
        """Our vote carries the new epoch, so that a peer that starts up later sees the
        same vote from everybody (ZOOKEEPER-1732). Mirrors QuorumPeer.updateElectionVote."""
        assert self.fle is not None
        v = self.fle.current_vote
        self.fle.current_vote = Vote(v.id, v.zxid, v.election_epoch, epoch)

    def set_serving(self, zks: ZooKeeperServer | None) -> None:
        """New client connections go to `zks` (None: the idle server). Mirrors
        QuorumPeer.setZooKeeperServer."""
        server = zks if zks is not None else self.idle
        assert server is not None
        server.four_letter_words.server_state = self.server_state
        server.four_letter_words.quorum_values = self.monitor_values
        self.zks = server

    # --- start-up ------------------------------------------------------------------------

    async def start(self) -> None:
        # loadDataBase: the tree from dataDir (zk.storage), then the epoch files beside it
        self.idle = QuorumPeerServer(self._server_config(), tracer=self.tracer)
        self.db = self.idle.db
        self.db.sessions = self.idle.session_tracker.sessions_with_timeouts()
        if self.db.restored is not None and self.db.restored.snapshot is None:
            # a new server: snapshot.0 of the empty tree, so that a log never exists
            # without a snapshot under it (restore refuses that: ZOOKEEPER-2325)
            self.db.take_snapshot(self.db.sessions)
        self._current_epoch, self._accepted_epoch = read_epochs(self.snap_dir, self.db.tree.last_processed_zxid)
        self.set_serving(None)
        await self._open_client_port()
        sysprops = self.config.system_properties
        min_interval = int(sysprops.get("zookeeper.fastleader.minNotificationInterval", "200"))
        max_interval = int(sysprops.get("zookeeper.fastleader.maxNotificationInterval", "60000"))
        self.fle = FastLeaderElection(
            self.my_id, self.verifier, last_logged_zxid=self.db.tree.last_processed_zxid,
            current_epoch=self._current_epoch, learner_type=self.learner_type, tracer=self.tracer,
            min_notification_interval=min_interval, max_notification_interval=max_interval,
        )  # fmt: skip
        listen_all = self.config.raw.get("quorumListenOnAllIPs", "false").lower() == "true"
        self.qcm = QuorumCnxManager(
            self.my_id, self.config.servers, self._on_message,
            listen_host="0.0.0.0" if listen_all else None,
            cnx_timeout=int(sysprops.get("zookeeper.cnxTimeout", "5000")) / 1000,
            bind_retry=int(sysprops.get("zookeeper.electionPortBindRetry", "3")), tracer=self.tracer,
        )  # fmt: skip
        self.qcm.on_disconnect = lambda sid: self._wakeup.set()
        await self.qcm.start()

    async def _open_client_port(self) -> None:
        """One listening socket for the peer's whole life; each connection belongs to
        the server that serves when it arrives (ServerCnxnFactory.setZooKeeperServer)."""
        assert self.idle is not None
        cfg = self.idle.config
        loop = asyncio.get_running_loop()

        def new_cnxn() -> ServerCnxn:
            assert self.zks is not None
            return ServerCnxn(self.zks, self.tracer)

        self._client_port = await loop.create_server(
            new_cnxn, cfg.client_port_address, cfg.client_port, reuse_address=True
        )
        port = self._client_port.sockets[0].getsockname()[1]
        log.info("client port %s:%d open", cfg.client_port_address, port)

    def _server_config(self) -> ServerConfig:
        cfg = self.config.to_server_config()
        cfg.session_tracker_server_id = self.my_id
        return cfg

    async def stop(self) -> None:
        if self.qcm is not None:
            await self.qcm.halt()
        if self._client_port is not None:
            self._client_port.close()
        if self.idle is not None:
            await self.idle.stop()

    # --- the loop --------------------------------------------------------------------------

    async def run(self) -> None:
        """QuorumPeer.run: forever LOOKING, then whatever the election decided."""
        await self.start()
        try:
            while True:
                self._check_not_cancelled()
                self._set_state(ServerState.LOOKING)
                await self.look_for_leader()
                if self.state == ServerState.LEADING:
                    await self.lead()
                elif self.state == ServerState.FOLLOWING:
                    await self.follow(Follower)
                else:
                    await self.follow(Observer)
        finally:
            await self.stop()

    def _check_not_cancelled(self) -> None:
        """Raise the CancelledError of a SIGTERM that something below us swallowed.

        ``Task.cancelling()`` counts the cancel requests nobody has withdrawn; between
        terms it is 0 unless a ``with suppress(CancelledError): await task`` caught ours.
        Without this check such a server goes on LOOKING and exits only on SIGKILL.
        """
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            log.error("A cancel (SIGTERM) was swallowed during the last term; shutting down now (our bug)")
            raise asyncio.CancelledError

    def _set_state(self, state: ServerState) -> None:
        if state != self.state or state == ServerState.LOOKING:
            log.info("%s", state.name)
        self.state = state
        if self.tracer.enabled:
            self.tracer.emit("quorum.state", state=state.name)

    async def look_for_leader(self) -> None:
        """Run rounds of FastLeaderElection until one ends."""
        assert self.fle is not None and self.db is not None
        self.elections += 1
        # the vote carries what this server holds now (getLastLoggedZxid, getCurrentEpoch)
        self.fle.last_logged_zxid = self.db.tree.last_processed_zxid
        self.fle.current_epoch = self._current_epoch
        self._carry_out(self.fle.look_for_leader(self._now()))
        while self.fle.state == ServerState.LOOKING:
            self._wakeup.clear()
            deadline = self.fle.deadline
            timeout = None if deadline is None else max(0.0, (deadline - self._now()) / 1000)
            try:
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancel
                # (SIGTERM) that lands as the event is set
                async with asyncio.timeout(timeout):
                    await self._wakeup.wait()
            except TimeoutError:
                assert self.qcm is not None
                self._carry_out(self.fle.on_timeout(self._now(), self.qcm.have_delivered()))
        self._set_state(self.fle.state)

    async def lead(self) -> None:
        """Leader.lead for one term (zk.broadcast), with zk.sync's plan for each learner."""
        assert self.db is not None
        leader = Leader(self, sync_follower=sync_follower, tracer=self.tracer)
        zks = LeaderZooKeeperServer(self._server_config(), leader, self.db, tracer=self.tracer)
        leader.zks = zks
        self.leader = leader
        try:
            await leader.lead()
        finally:
            self.leader = None
            await self._end_term(zks)

    async def follow(self, kind: type[Follower] | type[Observer]) -> None:
        """Follower.followLeader / Observer.observeLeader for one term."""
        assert self.fle is not None and self.db is not None
        learner = kind(self, self.fle.current_vote.id, self._server_config(), self.db, tracer=self.tracer)
        self.learner = learner
        try:
            await learner.run(sync_with_leader)
        finally:
            self.learner = None
            await self._end_term(learner.zks, reload=learner.sync_mode == "SNAP")

    async def _end_term(self, zks: ZooKeeperServer | None, *, reload: bool = False) -> None:
        """The term is over: stop its server (its sync stage first: ZOOKEEPER-4712),
        disconnect its clients, and bring the tree up to the log (ZOOKEEPER-2845).

        With `reload` (a SNAP sync cut off before its snapshot was written) the tree in
        memory is the leader's snapshot, on no disk: it is dropped and the database
        reloaded from disk, or the next election would vote with a zxid this server
        does not hold and a DIFF from there would skip everything before it
        (ZOOKEEPER-3642; Java's ``zk.shutdown(fullyShutDown)`` clears the database).
        The same reload replaces a tree that is ahead of the disk, where this server
        applied a committed txn its own log write had failed under (ZOOKEEPER-4882).

        The clean-up is shielded: a SIGTERM that lands meanwhile (typically as the whole
        ensemble stops, the leader's goodbye and our own signal in one loop turn) waits
        for it to finish and is then raised here. Unshielded, the cancel reached the
        processor chain's ``stop``, which cancels its sync task and suppresses the
        CancelledError it awaits: ours went with it, and the server went back to
        LOOKING until the lab's SIGKILL. A second cancel cuts the clean-up short.
        """
        clean_up = asyncio.ensure_future(self._clean_up_term(zks, reload=reload))
        try:
            await asyncio.shield(clean_up)
        except asyncio.CancelledError:
            await clean_up
            raise

    async def _clean_up_term(self, zks: ZooKeeperServer | None, *, reload: bool) -> None:
        assert self.db is not None and self.idle is not None
        self.set_serving(None)
        if zks is not None:
            await zks.stop(close_db=False)
            self.db.sessions = zks.session_tracker.sessions_with_timeouts()
        self.db.close()  # drop what was appended but never committed; reopen on the next append
        if reload:
            log.warning("A SNAP sync did not finish: reloading the database from disk (ZOOKEEPER-3642)")
            self.db.sessions = dict(await asyncio.to_thread(self.idle.load_data))
        try:
            last = await asyncio.to_thread(self.db.fast_forward_data_base, dict(self.db.sessions))
        except MemoryAheadOfDiskError as e:
            # Rule (ZOOKEEPER-4882): a tree ahead of the disk (a committed txn whose log
            # write failed here) is dropped, never carried into the next election. What
            # the disk lacks, the next leader sends again. Java's ZooKeeperServer.shutdown
            # clears the database and the next getLastLoggedZxid reloads it.
            log.error("Failed to update memory database, reloading it from disk: %s", e)
            self.db.sessions = dict(await asyncio.to_thread(self.idle.load_data))
            last = self.db.tree.last_processed_zxid
        log.info("Term over: the database is at 0x%x", last)

    # --- between the core and the connections ----------------------------------------------

    def _now(self) -> int:
        return time.monotonic_ns() // 1_000_000

    def _on_message(self, sid: int, body: bytes) -> None:
        assert self.fle is not None
        self._carry_out(self.fle.receive(sid, body, self._now()))
        self._wakeup.set()

    def _carry_out(self, actions: list[SendNotification | ConnectAll | LeaderElected]) -> None:
        assert self.qcm is not None
        for action in actions:
            if isinstance(action, SendNotification):
                self.qcm.to_send(action.to, encode_notification(action.notification))
            elif isinstance(action, ConnectAll):
                self.qcm.connect_all()
