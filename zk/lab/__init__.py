"""The lab: start real servers, ours or Apache ZooKeeper 3.8, from notebooks and tests.

Every entry point makes a temporary folder, starts processes on free loopback ports,
waits until each one serves, and on the way out stops them all (even when the body
raised) and removes the folder unless ``keep=True``::

    from zk import lab

    async with lab.server() as s:              # one server of ours, traced
        client = KazooClient(s.connect_string) # blocking is fine: s is another process
    async with lab.reference(tickTime=500) as r:   # Apache ZooKeeper 3.8, same zoo.cfg keys
        print(await r.four_letter_word("srvr"))
    async with lab.ensemble(3, kind="reference") as ens:
        leader = await ens.wait_for_leader()
        await leader.kill()                    # crash it; the others elect a new one

Keyword arguments that are not the lab's own become zoo.cfg keys (``tickTime=500``); keys
that are not Python names go in ``config={"4lw.commands.whitelist": "srvr,ruok"}``.
Scripts that are not async use [start_server_sync][zk.lab.start_server_sync].

Mirrors: no Java class; kazoo's test harness (kazoo.testing) and Maelstrom's process
control, as an async API for notebooks (top-level await) and pytest-asyncio.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from zk.lab.config import CfgValue, QuorumMember
from zk.lab.fourletter import four_letter_word, four_letter_word_sync, parse_mntr, parse_srvr
from zk.lab.network import Network
from zk.lab.ours import ours_process
from zk.lab.ports import LOOPBACK, free_port, free_ports
from zk.lab.probe import election_vote
from zk.lab.process import (
    DEFAULT_READY_TIMEOUT,
    ServerKind,
    ServerProcess,
    ServerStartError,
    cleanup_lab_processes,
    running_lab_processes,
)
from zk.lab.reference import reference_available, reference_missing_reason, reference_process
from zk.trace.render import Event, load

__all__ = [
    "ENSEMBLE_READY_TIMEOUT",
    "Ensemble",
    "Network",
    "ServerKind",
    "ServerProcess",
    "ServerStartError",
    "SyncServer",
    "cleanup_lab_processes",
    "election_vote",
    "ensemble",
    "four_letter_word",
    "four_letter_word_sync",
    "free_port",
    "parse_mntr",
    "parse_srvr",
    "reference",
    "reference_available",
    "reference_missing_reason",
    "running_lab_processes",
    "server",
    "start_server_sync",
]

_T = TypeVar("_T")


ENSEMBLE_READY_TIMEOUT = 90.0
"""Seconds an ensemble gets to elect a leader and have every member serve."""


def _check_kind(kind: str | Sequence[str], jvm_flags: Sequence[str]) -> None:
    kinds = [kind] if isinstance(kind, str) else list(kind)
    for k in kinds:
        if k not in ("ours", "reference"):
            raise ValueError(f"kind must be 'ours' or 'reference', got {k!r}")
    if "reference" not in kinds and jvm_flags:
        raise ValueError("jvm_flags only apply to kind='reference'")


def _make_process(
    kind: ServerKind,
    root: Path,
    name: str,
    port: int,
    *,
    config: Mapping[str, CfgValue],
    members: Sequence[QuorumMember] = (),
    myid: int | None = None,
    trace: bool,
    trace_origin: int,
    jvm_flags: Sequence[str],
    extended_types: bool,
) -> ServerProcess:
    if kind == "ours":
        return ours_process(
            root,
            name,
            port,
            config=config,
            members=members,
            myid=myid,
            trace=trace,
            trace_origin=trace_origin,
        )
    return reference_process(
        root,
        name,
        port,
        config=config,
        members=members,
        myid=myid,
        jvm_flags=jvm_flags,
        extended_types=extended_types,
    )


def _standalone_process(
    kind: ServerKind,
    root: Path,
    name: str,
    config: Mapping[str, CfgValue],
    trace: bool,
    jvm_flags: Sequence[str],
    extended_types: bool,
) -> ServerProcess:
    """One standalone server on a free port, its trace timed from now."""
    return _make_process(
        kind, root, name, free_port(), config=config, trace=trace, trace_origin=time.monotonic_ns(),
        jvm_flags=jvm_flags, extended_types=extended_types,
    )  # fmt: skip


def _new_root(parent: Path | None, kind: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"zk-lab-{kind}-", dir=parent))


async def _all_ready(servers: Sequence[ServerProcess], timeout: float) -> None:
    """Wait until every server serves; the first failure cancels the other waits."""
    tasks = [asyncio.ensure_future(s.wait_ready(timeout)) for s in servers]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def _start_all(servers: Sequence[ServerProcess], timeout: float) -> None:
    # Start every process before waiting on any: ensemble members must find each other.
    for s in servers:
        await s.start()
    await _all_ready(servers, timeout)


async def _teardown(root: Path, servers: Sequence[ServerProcess], keep: bool) -> None:
    results = await asyncio.gather(*(s.stop() for s in servers), return_exceptions=True)
    if not keep:
        shutil.rmtree(root, ignore_errors=True)  # gone already is as good as removed
    for result in results:
        if isinstance(result, BaseException):
            raise result


@asynccontextmanager
async def _running(
    lab_root: Path, make: Callable[[Path], list[ServerProcess]], ready_timeout: float, keep: bool
) -> AsyncIterator[list[ServerProcess]]:
    """The life of a lab: lay out the processes `make` returns, start them, yield them
    once all serve, and stop them all and remove `lab_root` (unless `keep`) on the way out,
    even when laying out, starting or the body failed."""
    servers: list[ServerProcess] = []
    try:
        servers += make(lab_root)
        await _start_all(servers, ready_timeout)
        yield servers
    finally:
        await _teardown(lab_root, servers, keep)


@asynccontextmanager
async def server(
    *,
    kind: ServerKind = "ours",
    name: str = "s1",
    trace: bool = True,
    keep: bool = False,
    root: Path | None = None,
    config: Mapping[str, CfgValue] | None = None,
    ready_timeout: float = DEFAULT_READY_TIMEOUT,
    jvm_flags: Sequence[str] = (),
    extended_types: bool = True,
    **cfg: CfgValue,
) -> AsyncIterator[ServerProcess]:
    """Run one standalone server for the body of an ``async with``; yields its handle.

    Args:
        kind: ``"ours"`` (default) or ``"reference"`` (Apache ZooKeeper 3.8).
        name: Its label in traces.
        trace: Ours only: write trace events to ``<folder>/<name>/trace.jsonl``.
        keep: Keep the temporary folder (logs, dataDir, trace) after the block.
        root: Make the temporary folder inside this one instead of the system's.
        config: zoo.cfg keys that are not Python names.
        ready_timeout: Seconds to wait until it serves.
        jvm_flags: Reference only: extra JVM flags.
        extended_types: Reference only: enable TTL nodes.
        **cfg: More zoo.cfg keys, e.g. ``tickTime=500``.
    """
    _check_kind(kind, jvm_flags)

    def make(lab_root: Path) -> list[ServerProcess]:
        return [_standalone_process(kind, lab_root, name, {**(config or {}), **cfg}, trace, jvm_flags, extended_types)]

    async with _running(_new_root(root, kind), make, ready_timeout, keep) as servers:
        yield servers[0]


def reference(
    *,
    name: str = "s1",
    keep: bool = False,
    root: Path | None = None,
    config: Mapping[str, CfgValue] | None = None,
    ready_timeout: float = DEFAULT_READY_TIMEOUT,
    jvm_flags: Sequence[str] = (),
    extended_types: bool = True,
    **cfg: CfgValue,
) -> AbstractAsyncContextManager[ServerProcess]:
    """`server(kind="reference", ...)`: one standalone Apache ZooKeeper 3.8.

    Args:
        name: Its label.
        keep: Keep the temporary folder after the block.
        root: Make the temporary folder inside this one.
        config: zoo.cfg keys that are not Python names.
        ready_timeout: Seconds to wait until it serves.
        jvm_flags: Extra JVM flags, e.g. ``["-Dzookeeper.snapCount=100"]``.
        extended_types: Enable TTL nodes (on by default).
        **cfg: More zoo.cfg keys.
    """
    return server(
        kind="reference",
        name=name,
        trace=False,
        keep=keep,
        root=root,
        config=config,
        ready_timeout=ready_timeout,
        jvm_flags=jvm_flags,
        extended_types=extended_types,
        **cfg,
    )


class Ensemble:
    """The running members of an ensemble, ``server.1`` .. ``server.n``.

    Attributes:
        kind: ``"ours"`` or ``"reference"``.
        root: The lab folder.
        members: The ``server.N`` lines every member's zoo.cfg holds.
        servers: The handles, in myid order (``servers[0]`` is myid 1).
        network: The proxies between the members, if started with ``network=True``
            (`Network.partition`, `Network.isolate`, `Network.heal`); None otherwise.

    Mirrors: no Java class; the ensemble kazoo's harness (kazoo.testing.common) starts.
    """

    def __init__(
        self,
        kind: ServerKind,
        root: Path,
        members: Sequence[QuorumMember],
        servers: Sequence[ServerProcess],
        network: Network | None = None,
    ) -> None:
        self.kind: ServerKind = kind
        self.root = root
        self.members = list(members)
        self.servers = list(servers)
        self.network = network

    def __repr__(self) -> str:
        return f"<Ensemble {self.kind} n={len(self)} {self.connect_string}>"

    def __len__(self) -> int:
        return len(self.servers)

    def __iter__(self) -> Iterator[ServerProcess]:
        return iter(self.servers)

    @property
    def participants(self) -> list[ServerProcess]:
        """The members that vote (and may lead), in myid order."""
        return [s for s, m in zip(self.servers, self.members, strict=True) if m.role == "participant"]

    @property
    def observers(self) -> list[ServerProcess]:
        """The members whose ``server.N`` line says ``observer``, in myid order."""
        return [s for s, m in zip(self.servers, self.members, strict=True) if m.role == "observer"]

    def __getitem__(self, myid: int) -> ServerProcess:
        """The member whose myid is `myid` (1-based, as in ``server.N``)."""
        for s in self.servers:
            if s.myid == myid:
                return s
        raise KeyError(f"no server with myid {myid} in this ensemble of {len(self)}")

    @property
    def connect_string(self) -> str:
        """Every member's ``host:port``, comma separated, as clients take it."""
        return ",".join(s.connect_string for s in self.servers)

    async def wait_ready(self, timeout: float = ENSEMBLE_READY_TIMEOUT) -> None:
        """Wait until every running member serves."""
        await _all_ready([s for s in self.servers if s.running], timeout)

    async def modes(self) -> dict[int, str | None]:
        """Each member's mode by myid (`srvr`'s ``Mode:``); None for a member that does not
        serve (down, electing, or syncing)."""
        found = await asyncio.gather(*(s.mode() for s in self.servers))
        return {s.myid or 0: mode for s, mode in zip(self.servers, found, strict=True)}

    def peer_states(self) -> dict[int, str | None]:
        """Each member's QuorumPeer state as its log last reported it (LOOKING, LEADING,
        FOLLOWING, OBSERVING), ours and the reference's alike; None if not running."""
        return {s.myid or 0: s.peer_state() for s in self.servers}

    async def leaders(self) -> list[ServerProcess]:
        """The members that say they lead (more than one only in a transient split)."""
        modes = await self.modes()
        return [self[myid] for myid, mode in modes.items() if mode == "leader"]

    async def wait_for_leader(self, timeout: float = ENSEMBLE_READY_TIMEOUT) -> ServerProcess:
        """Wait until exactly one member leads and return it.

        Raises:
            TimeoutError: No single leader within `timeout`.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            leaders = await self.leaders()
            if len(leaders) == 1:
                return leaders[0]
            if loop.time() >= deadline:
                raise TimeoutError(f"no single leader within {timeout:g} s: {await self.modes()}")
            await asyncio.sleep(0.1)

    def traces(self) -> list[Event]:
        """Every member's trace events merged in time order (none for the reference).

        The lab gives all members one ``ZK_TRACE_ORIGIN``, so their ``t`` share one axis,
        across restarts too; each event names its ``server``.
        """
        paths = [s.trace_path for s in self.servers if s.trace_path is not None and s.trace_path.exists()]
        return load(paths) if paths else []

    async def stop(self) -> None:
        """Stop every member (the context manager does this on exit)."""
        await asyncio.gather(*(s.stop() for s in self.servers))


@asynccontextmanager
async def ensemble(
    n: int = 3,
    kind: ServerKind | Sequence[ServerKind] = "ours",
    *,
    observers: int = 0,
    network: bool = False,
    trace: bool = True,
    keep: bool = False,
    root: Path | None = None,
    config: Mapping[str, CfgValue] | None = None,
    ready_timeout: float = ENSEMBLE_READY_TIMEOUT,
    jvm_flags: Sequence[str] = (),
    extended_types: bool = True,
    **cfg: CfgValue,
) -> AsyncIterator[Ensemble]:
    """Run an ensemble of `n` servers for the body of an ``async with``.

    Each member ``s<N>`` gets a client, a quorum and an election port, the same
    ``server.N`` lines and a `myid` file; the block starts once all of them serve.
    With ``observers=k`` the last k of the n members are observers: their line ends in
    ``:observer`` and their zoo.cfg says ``peerType=observer`` (``ensemble(4,
    observers=1)`` is three voters and ``server.4``, an observer).

    Args:
        n: Number of members (1..255), observers included.
        kind: ``"ours"`` or ``"reference"``, or one kind per member for a mixed
            ensemble (``["reference", "reference", "ours"]``: myid 3 is ours).
        observers: How many of the n members (the highest ids) observe.
        network: Put every link between two members through proxies
            (`Ensemble.network`), so a test can partition the ensemble and heal it.
        trace: Ours only: each member writes ``<folder>/s<N>/trace.jsonl``.
        keep: Keep the temporary folder after the block.
        root: Make the temporary folder inside this one.
        config: zoo.cfg keys that are not Python names.
        ready_timeout: Seconds for the election and every member to serve.
        jvm_flags: Reference only: extra JVM flags.
        extended_types: Reference only: enable TTL nodes.
        **cfg: More zoo.cfg keys.
    """
    _check_kind(kind, jvm_flags)
    if not 1 <= n <= 255:
        raise ValueError(f"an ensemble has 1..255 members, got {n}")
    kinds: list[ServerKind] = [kind] * n if isinstance(kind, str) else list(kind)
    if len(kinds) != n:
        raise ValueError(f"{len(kinds)} kinds for an ensemble of {n}")
    if not 0 <= observers < n:
        raise ValueError(f"an ensemble of {n} has 0..{n - 1} observers, got {observers}")
    ensemble_kind: ServerKind = kinds[0] if len(set(kinds)) == 1 else "ours"
    origin = time.monotonic_ns()
    ports = free_ports(3 * n)
    members = [
        QuorumMember(
            sid,
            LOOPBACK,
            quorum_port=ports[3 * i + 1],
            election_port=ports[3 * i + 2],
            client_port=ports[3 * i],
            role="observer" if sid > n - observers else "participant",
        )
        for i, sid in enumerate(range(1, n + 1))
    ]
    net = Network(members) if network else None

    def make(lab_root: Path) -> list[ServerProcess]:
        servers = []
        for member, member_kind in zip(members, kinds, strict=True):
            # 3.8 takes the role from the server.N line and only warns on a mismatch;
            # peerType is what its documentation asks observers to say as well
            role_cfg: dict[str, CfgValue] = {"peerType": "observer"} if member.role == "observer" else {}
            servers.append(
                _make_process(
                    member_kind,
                    lab_root,
                    f"s{member.sid}",
                    member.client_port,
                    config={**(config or {}), **cfg, **role_cfg},
                    members=net.view(member.sid) if net is not None else members,
                    myid=member.sid,
                    trace=trace,
                    trace_origin=origin,
                    jvm_flags=jvm_flags if member_kind == "reference" else (),
                    extended_types=extended_types,
                )
            )
        return servers

    lab_root = _new_root(root, kinds[0] if len(set(kinds)) == 1 else "mixed")
    try:
        async with _running(lab_root, make, ready_timeout, keep) as servers:
            yield Ensemble(ensemble_kind, lab_root, members, servers, net)
    finally:
        if net is not None:  # after the servers stopped: no link is cut under a live one
            net.close()


def _run_blocking(make: Callable[[], Awaitable[_T]]) -> _T:
    """Run a coroutine to completion from blocking code, even under a running loop."""

    async def main() -> _T:
        return await make()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    # A loop already runs in this thread (a notebook): run ours in a helper thread.
    box: list[_T] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            box.append(asyncio.run(main()))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=worker, name="zk-lab-sync")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return box[0]


class SyncServer:
    """A standalone server started by blocking code; `stop()` ends it and its folder.

    Attributes:
        process: The [ServerProcess][zk.lab.process.ServerProcess].
        root: The lab folder.
        keep: Whether `stop()` leaves the folder.

    Mirrors: no Java class; kazoo.testing's blocking ManagedZooKeeper.
    """

    def __init__(self, process: ServerProcess, root: Path, keep: bool) -> None:
        self.process = process
        self.root = root
        self.keep = keep
        self._stopped = False

    def __repr__(self) -> str:
        return f"<SyncServer {self.process!r}>"

    def __enter__(self) -> SyncServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def connect_string(self) -> str:
        """``host:port`` for clients."""
        return self.process.connect_string

    @property
    def host(self) -> str:
        """The client address."""
        return self.process.host

    @property
    def port(self) -> int:
        """The client port."""
        return self.process.port

    @property
    def pid(self) -> int | None:
        """The process id."""
        return self.process.pid

    def four_letter_word(self, word: str, timeout: float = 2.0) -> str:
        """Send a four-letter word and return the reply."""
        return four_letter_word_sync(self.host, self.port, word, timeout)

    def stop(self) -> None:
        """Stop the server and remove its folder (unless kept). Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        _run_blocking(lambda: _teardown(self.root, [self.process], self.keep))


def start_server_sync(
    kind: ServerKind = "ours",
    *,
    name: str = "s1",
    trace: bool = True,
    keep: bool = False,
    root: Path | None = None,
    config: Mapping[str, CfgValue] | None = None,
    ready_timeout: float = DEFAULT_READY_TIMEOUT,
    jvm_flags: Sequence[str] = (),
    extended_types: bool = True,
    **cfg: CfgValue,
) -> SyncServer:
    """Start a standalone server from blocking code and return once it serves.

    The arguments are those of [server][zk.lab.server]. Call `.stop()` on the result, or
    use it as a ``with`` block; `atexit` stops it if neither happens.
    """
    _check_kind(kind, jvm_flags)
    lab_root = _new_root(root, kind)
    try:
        s = _standalone_process(kind, lab_root, name, {**(config or {}), **cfg}, trace, jvm_flags, extended_types)
    except BaseException:
        if not keep:
            shutil.rmtree(lab_root, ignore_errors=True)
        raise
    handle = SyncServer(s, lab_root, keep)
    try:
        _run_blocking(lambda: _start_all([s], ready_timeout))
    except BaseException:
        handle.stop()
        raise
    return handle
