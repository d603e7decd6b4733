"""QuorumPeer: one ensemble member's life, LOOKING → LEADING / FOLLOWING / OBSERVING.

    start: read currentEpoch / acceptedEpoch, open the client port (4lw only until
           broadcast lands), bind the election port
    loop:  LOOKING   → FastLeaderElection until a round ends
           LEADING   → lead         (stand-in: stay while a quorum of voters is reachable)
           FOLLOWING → follow       (stand-in: stay while the leader is reachable)
           OBSERVING → observe      (the same)
           and back to LOOKING when that ends.

Until atomic broadcast lands (chapter 11) a leader does not sync followers and no data
flows: the client port answers four-letter words (``srvr`` says "not currently
serving", as ZooKeeper does for a peer that does not serve) and closes client sessions.
The stand-in for "the leader is gone" is the election connection: a follower whose
election connection to its leader is down for ``LEADER_LOST_MS``, or whose leader sends
it a LOOKING notification, goes back to LOOKING; a leader that reaches fewer than a
quorum of voters for ``syncLimit`` ticks does the same. ZooKeeper learns both from the
quorum port's connections (Follower.followLeader, Leader.lead's ping loop).

The state changes are logged as ZooKeeper logs them (a line ``LOOKING``, ``LEADING``,
...), which is how zk.lab reads any peer's state, ours or the reference's.

Mirrors: org.apache.zookeeper.server.quorum.QuorumPeer (start, loadDataBase's epoch
files, startLeaderElection, run, getCurrentEpoch/getAcceptedEpoch).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path

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
    decode_notification,
    encode_notification,
)
from zk.election.messages import ElectionWireError
from zk.jute.records import ConnectRequest
from zk.server import ServerCnxn, ZooKeeperServer
from zk.server.config import ServerConfig
from zk.startup.config import ConfigException, QuorumPeerConfig
from zk.trace import NULL_TRACER, Tracer

__all__ = [
    "ACCEPTED_EPOCH_FILENAME",
    "CURRENT_EPOCH_FILENAME",
    "LEADER_LOST_MS",
    "QuorumPeer",
    "QuorumPeerServer",
    "quorum_verifier",
    "read_epochs",
]

log = logging.getLogger(__name__)

CURRENT_EPOCH_FILENAME = "currentEpoch"
ACCEPTED_EPOCH_FILENAME = "acceptedEpoch"

LEADER_LOST_MS = 300
"""How long a follower tolerates having no election connection to its leader (stand-in)."""

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
            last zxid, or an accepted epoch below the current one.
    """
    epoch_of_zxid = last_processed_zxid >> 32  # zxid = epoch << 32 | counter
    current = _read_long(snap_dir / CURRENT_EPOCH_FILENAME)
    if current is None:
        current = epoch_of_zxid
        log.info("%s not found! Creating with a reasonable default of %d.", CURRENT_EPOCH_FILENAME, current)
        _write_long(snap_dir / CURRENT_EPOCH_FILENAME, current)
    if epoch_of_zxid > current:
        raise ConfigException(f"The current epoch, {current}, is older than the last zxid, {last_processed_zxid:#x}")
    accepted = _read_long(snap_dir / ACCEPTED_EPOCH_FILENAME)
    if accepted is None:
        accepted = epoch_of_zxid
        log.info("%s not found! Creating with a reasonable default of %d.", ACCEPTED_EPOCH_FILENAME, accepted)
        _write_long(snap_dir / ACCEPTED_EPOCH_FILENAME, accepted)
    if accepted < current:
        raise ConfigException(f"The accepted epoch, {accepted} is less than the current epoch, {current}")
    return current, accepted


class QuorumPeerServer(ZooKeeperServer):
    """The client port of a peer that does not serve yet: four-letter words answer,
    sessions are refused. Broadcast (chapter 11) replaces it with the Leader/Follower
    servers.

    Mirrors: what NIOServerCnxn does while QuorumPeer has no running zkServer
    ("ZooKeeperServer not running": the connection is closed).
    """

    def process_connect_request(self, cnxn: ServerCnxn, req: ConnectRequest) -> None:
        log.info("Closing connection from %s: ZooKeeperServer not running", cnxn.remote)
        cnxn.close("ZooKeeperServer not running")

    async def open_client_port(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: ServerCnxn(self, self.tracer),
            self.config.client_port_address,
            self.config.client_port,
            reuse_address=True,
        )
        log.info("client port %s:%d open (four-letter words only)", self.config.client_port_address, self.bound_port)


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
        self.sync_limit = config.sync_limit
        assert config.data_dir is not None
        self.snap_dir = config.data_dir / "version-2"
        self.current_epoch = 0
        self.accepted_epoch = 0
        self.last_logged_zxid = 0  # the database's last zxid, once loaded
        self.state = ServerState.LOOKING
        self.fle: FastLeaderElection | None = None
        self.qcm: QuorumCnxManager | None = None
        self.zks: QuorumPeerServer | None = None
        self._wakeup = asyncio.Event()
        self._lost_leader = False
        self.elections = 0

    def server_state(self) -> str:
        """``Mode:`` / ``zk_server_state``: leader, follower, observer or looking."""
        return _MODE[self.state]

    # --- start-up ------------------------------------------------------------------------

    async def start(self) -> None:
        # loadDataBase: the tree from dataDir (zk.storage), then the epoch files beside it
        self.zks = QuorumPeerServer(self._server_config(), tracer=self.tracer)
        self.last_logged_zxid = self.zks.db.tree.last_processed_zxid
        self.current_epoch, self.accepted_epoch = read_epochs(self.snap_dir, self.last_logged_zxid)
        self.zks.four_letter_words.server_state = self.server_state
        await self.zks.open_client_port()
        sysprops = self.config.system_properties
        min_interval = int(sysprops.get("zookeeper.fastleader.minNotificationInterval", "200"))
        max_interval = int(sysprops.get("zookeeper.fastleader.maxNotificationInterval", "60000"))
        self.fle = FastLeaderElection(
            self.my_id, self.verifier, last_logged_zxid=self.last_logged_zxid, current_epoch=self.current_epoch,
            learner_type=self.learner_type, tracer=self.tracer,
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

    def _server_config(self) -> ServerConfig:
        cfg = self.config.to_server_config()
        cfg.session_tracker_server_id = self.my_id
        return cfg

    async def stop(self) -> None:
        if self.qcm is not None:
            await self.qcm.halt()
        if self.zks is not None:
            await self.zks.stop()

    # --- the loop --------------------------------------------------------------------------

    async def run(self) -> None:
        """QuorumPeer.run: forever LOOKING, then whatever the election decided."""
        await self.start()
        try:
            while True:
                self._set_state(ServerState.LOOKING)
                await self.look_for_leader()
                if self.state == ServerState.LEADING:
                    await self.lead()
                else:
                    await self.follow()
        finally:
            await self.stop()

    def _set_state(self, state: ServerState) -> None:
        if state != self.state or state == ServerState.LOOKING:
            log.info("%s", state.name)
        self.state = state
        if self.tracer.enabled:
            self.tracer.emit("quorum.state", state=state.name)

    async def look_for_leader(self) -> None:
        """Run rounds of FastLeaderElection until one ends."""
        assert self.fle is not None
        self.elections += 1
        self._lost_leader = False
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
        """Stand-in for Leader.lead: lead while a quorum of voters is reachable."""
        assert self.qcm is not None
        missing_since: float | None = None
        limit = self.sync_limit * self.tick_time / 1000
        while True:
            await self._sleep_or_wake(self.tick_time / 2000)
            reachable = {self.my_id} | {sid for sid in self.verifier.voting_members if self.qcm.connected_to(sid)}
            for sid in self.verifier.voting_members:
                if sid != self.my_id:
                    self.qcm.connect_one(sid)
            if self.verifier.contains_quorum(reachable):
                missing_since = None
                continue
            now = time.monotonic()
            missing_since = missing_since or now
            if now - missing_since >= limit:
                log.warning("Only %s reachable: not a quorum for %.1f s, giving up leadership", sorted(reachable),
                            limit)  # fmt: skip
                return

    async def follow(self) -> None:
        """Stand-in for Follower.followLeader / Observer.observeLeader."""
        assert self.qcm is not None and self.fle is not None
        leader = self.fle.current_vote.id
        missing_since: float | None = None
        while not self._lost_leader:
            await self._sleep_or_wake(0.1)
            if self.qcm.connected_to(leader):
                missing_since = None
                continue
            self.qcm.connect_one(leader)
            now = time.monotonic()
            missing_since = missing_since or now
            if (now - missing_since) * 1000 >= LEADER_LOST_MS:
                log.warning("Lost the election connection to leader %d", leader)
                return
        log.warning("Leader %d is LOOKING again", leader)

    async def _sleep_or_wake(self, seconds: float) -> None:
        self._wakeup.clear()
        try:
            async with asyncio.timeout(seconds):
                await self._wakeup.wait()
        except TimeoutError:
            pass

    # --- between the core and the connections ----------------------------------------------

    def _now(self) -> int:
        return time.monotonic_ns() // 1_000_000

    def _on_message(self, sid: int, body: bytes) -> None:
        assert self.fle is not None
        self._carry_out(self.fle.receive(sid, body, self._now()))
        if self.state in (ServerState.FOLLOWING, ServerState.OBSERVING) and sid == self.fle.current_vote.id:
            try:
                n = decode_notification(body, sid)
            except ElectionWireError:
                return
            if n.state == ServerState.LOOKING and n.election_epoch > self.fle.current_vote.election_epoch:
                self._lost_leader = True  # our leader started a new round: it no longer leads
        self._wakeup.set()

    def _carry_out(self, actions: list[SendNotification | ConnectAll | LeaderElected]) -> None:
        assert self.qcm is not None
        for action in actions:
            if isinstance(action, SendNotification):
                self.qcm.to_send(action.to, encode_notification(action.notification))
            elif isinstance(action, ConnectAll):
                self.qcm.connect_all()
