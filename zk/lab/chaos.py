"""Faults for an ensemble, and the checks to run once it has healed: a small Jepsen.

The *nemesis* inflicts one fault and undoes it (`inflict`, one of `FAULTS`): a process
crash (SIGKILL), a cut link (the ensemble's `Network`, so the ensemble must have been
started with ``network=True``), a crash of every member at once, or a leader frozen
(SIGSTOP) until the others have elected another, as a long GC pause would. It returns
once every member serves again.

The *checker* reads what the members left on disk, after they have stopped
(`disk_violations`): each data directory restored as a restart would restore it must
give the tree the ensemble served; two logs that hold the same zxid must hold the same
txn there (only the leader of an epoch proposes in it); and each log's zxids must grow.
What the members *serve* is checked by the caller, with a client (every acknowledged
write present, one tree at one zxid everywhere).

Used by tests/broadcast/test_broadcast_chaos.py and notebook 12.

Mirrors: no Java class; Jepsen's nemesis and checker, on the lab's processes.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from pathlib import Path

from zk.data import DataTree
from zk.lab import Ensemble, ServerProcess
from zk.storage import FileTxnSnapLog
from zk.storage.file_txn_log import LogCorruptError, TxnIterator
from zk.storage.util import TxnLogEntry

__all__ = ["FAULTS", "disk_violations", "inflict", "new_leader", "restored_tree", "wait_serving"]

FAULTS = (
    "kill the leader", "kill a learner", "isolate the leader", "isolate a learner", "crash them all",
    "pause the leader",
)  # fmt: skip
"""The faults `inflict` knows, by name."""

SERVE_TIMEOUT = 60.0
"""Seconds for a new leader, and for every member to serve again after a fault."""


async def inflict(ens: Ensemble, name: str, rng: random.Random) -> None:
    """Inflict the fault `name` and undo it; return once every member serves again.

    `rng` picks the learner a learner's fault hits and how long it lasts, so a seeded
    run repeats its choices.

    Raises:
        ValueError: `name` is not one of FAULTS, or the fault needs a network and the
            ensemble has none.
        AssertionError: No new leader, or not every member serving, in time.
    """
    if name not in FAULTS:
        raise ValueError(f"unknown fault {name!r}: one of {FAULTS}")
    network = ens.network
    if network is None and name.startswith("isolate"):
        raise ValueError(f"{name!r} needs lab.ensemble(..., network=True)")
    leader = await ens.wait_for_leader(timeout=SERVE_TIMEOUT)
    learner = rng.choice([s for s in ens if s is not leader])  # a follower or an observer
    if name == "kill the leader":
        await leader.kill()
        await new_leader(ens, leader)
        await leader.start()
    elif name == "kill a learner":
        await learner.kill()
        await asyncio.sleep(rng.uniform(0, 1))
        await learner.start()
    elif name == "isolate the leader":
        assert network is not None
        network.isolate(leader.myid or 0)
        await new_leader(ens, leader)
        network.heal()
    elif name == "isolate a learner":
        assert network is not None
        network.isolate(learner.myid or 0)
        await asyncio.sleep(rng.uniform(0.5, 2))
        network.heal()
    elif name == "crash them all":
        await asyncio.gather(*(s.kill() for s in ens))
        await asyncio.gather(*(s.start() for s in ens))
    else:  # "pause the leader": it wakes up to a world that moved on, still leading in its mind
        await leader.pause()
        await new_leader(ens, leader)
        await leader.resume()
    await wait_serving(ens)


async def new_leader(ens: Ensemble, old: ServerProcess, timeout: float = SERVE_TIMEOUT) -> ServerProcess:
    """Wait until one member other than `old` leads and `old` does not say it leads (a
    crashed or frozen `old` says nothing); return the new leader."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        modes = await ens.modes()
        leaders = [sid for sid, mode in modes.items() if mode == "leader" and sid != old.myid]
        if len(leaders) == 1 and modes.get(old.myid or 0) != "leader":
            return ens[leaders[0]]
        if loop.time() > deadline:
            raise AssertionError(f"no new leader within {timeout:g} s: {modes}")
        await asyncio.sleep(0.1)


async def wait_serving(ens: Ensemble, timeout: float = SERVE_TIMEOUT) -> dict[int, str | None]:
    """Wait until every member serves (``srvr`` shows a mode); return the modes."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while None in (modes := await ens.modes()).values():
        if loop.time() > deadline:
            raise AssertionError(f"not every member serves: {modes}")
        await asyncio.sleep(0.1)
    return modes


def restored_tree(data_dir: Path) -> dict[str, bytes]:
    """The user nodes a restart would load from `data_dir` (path -> data, no
    ``/zookeeper``). Restoring may repair a torn log tail: give it a copy.

    Raises:
        LogCorruptError, DatadirException: What a restart would refuse on.
    """
    tree = FileTxnSnapLog(data_dir).restore(DataTree).tree
    out: dict[str, bytes] = {}
    for path, node in tree.nodes.items():
        if path not in ("", "/") and path != "/zookeeper" and not path.startswith("/zookeeper/"):
            out[path] = node.data or b""
    return out


def disk_violations(data_dirs: Mapping[int, Path], served: Mapping[str, bytes]) -> list[str]:
    """What the members' disks break of the invariants, one line each; empty if none.

    Args:
        data_dirs: Each stopped member's data directory (a copy), by server id.
        served: The tree every member served at the end (path -> data, no ``/zookeeper``).
    """
    found = []
    logs: dict[int, dict[int, TxnLogEntry]] = {}
    for sid, data_dir in sorted(data_dirs.items()):
        entries = list(TxnIterator(data_dir / "version-2", 0))
        zxids = [e.header.zxid for e in entries]
        back = next((i for i in range(1, len(zxids)) if zxids[i] <= zxids[i - 1]), None)
        if back is not None:
            found.append(f"s{sid}'s log goes back: 0x{zxids[back]:x} after 0x{zxids[back - 1]:x}")
        logs[sid] = {e.header.zxid: e for e in entries}
        try:
            restored = restored_tree(data_dir)
        except LogCorruptError as e:
            found.append(f"s{sid}'s disk does not load: {e}")
            continue
        if restored != dict(served):
            missing, extra = sorted(served.keys() - restored.keys()), sorted(restored.keys() - served.keys())
            changed = sorted(p for p in served.keys() & restored.keys() if served[p] != restored[p])
            found.append(f"s{sid}'s disk is not the tree it served: lacks {missing[:5]}, adds {extra[:5]}, "
                         f"changes {changed[:5]}")  # fmt: skip
    members = sorted(logs)
    for i, a in enumerate(members):
        for b in members[i + 1 :]:
            differ = [z for z in sorted(logs[a].keys() & logs[b].keys()) if logs[a][z] != logs[b][z]]
            if differ:
                found.append(f"s{a} and s{b} logged 0x{differ[0]:x} differently")
    return found
