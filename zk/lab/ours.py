"""Launch our server, ``python -m zk server zoo.cfg``, as a lab process.

Our server reads the same standard zoo.cfg as Apache ZooKeeper, logs to stderr, and when
``ZK_TRACE=<file>`` is set writes JSON-lines trace events there, each tagged with the name
in ``ZK_TRACE_SERVER`` (e.g. ``s1``). It is ready under the same test as the reference:
`ruok` answers `imok` and `srvr` shows a zxid.

Mirrors: no Java class; the counterpart of [zk.lab.reference][] for our implementation.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import zk
from zk.lab.config import CfgValue, QuorumMember, ServerLayout, merge_config, write_myid, write_zoo_cfg
from zk.lab.ports import LOOPBACK
from zk.lab.process import ServerProcess

__all__ = [
    "TRACE_ENV",
    "TRACE_ORIGIN_ENV",
    "TRACE_SERVER_ENV",
    "ours_command",
    "ours_config",
    "ours_process",
]

TRACE_ENV = "ZK_TRACE"
"""Environment variable naming the file our server writes trace events to."""

TRACE_SERVER_ENV = "ZK_TRACE_SERVER"
"""Environment variable naming the server in its trace events."""

TRACE_ORIGIN_ENV = "ZK_TRACE_ORIGIN"
"""Environment variable holding the ``time.monotonic_ns()`` that trace times count from."""


def ours_config(
    data_dir: Path,
    port: int,
    *,
    host: str = LOOPBACK,
    ensemble: bool = False,
    overrides: Mapping[str, CfgValue] | None = None,
) -> dict[str, CfgValue]:
    """The zoo.cfg entries for one of our servers, the same defaults as the reference's.

    Only keys our server is promised to read are written; initLimit and syncLimit only
    for an ensemble.
    """
    defaults: dict[str, CfgValue] = {
        "tickTime": 2000,
        "dataDir": str(data_dir),
        "clientPortAddress": host,
        "clientPort": port,
        "maxClientCnxns": 0,
        "4lw.commands.whitelist": "*",
    }
    if ensemble:
        defaults["initLimit"] = 10
        defaults["syncLimit"] = 5
    return merge_config(defaults, overrides or {})


def ours_command(config_path: Path) -> list[str]:
    """The command line that runs our server on `config_path`, in this interpreter."""
    return [sys.executable, "-m", "zk", "server", str(config_path)]


def _source_root() -> str:
    # The folder holding the zk package, so the child imports this very checkout even
    # when it is not installed into the interpreter.
    return str(Path(zk.__file__).resolve().parent.parent)


def ours_process(
    root: Path,
    name: str,
    port: int,
    *,
    host: str = LOOPBACK,
    config: Mapping[str, CfgValue] | None = None,
    members: Sequence[QuorumMember] = (),
    myid: int | None = None,
    trace: bool = True,
    trace_origin: int | None = None,
    env: Mapping[str, str] | None = None,
) -> ServerProcess:
    """Lay out one of our servers under `root` and return its (unstarted) handle.

    Args:
        root: The lab folder; the server's files go to ``root/name/``.
        name: Its label, also its name in trace events.
        port: Its client port.
        host: Its client address.
        config: Extra or overriding zoo.cfg keys.
        members: The ensemble's ``server.N`` lines; empty for standalone.
        myid: This server's N in `members` (required with members).
        trace: Write trace events to ``root/name/trace.jsonl``.
        trace_origin: A ``time.monotonic_ns()`` value for ``t`` to count from; give every
            server of a lab the same one and their events share one time axis (the
            monotonic clock is system-wide, and it survives restarts).
        env: Extra environment variables.
    """
    if bool(members) != (myid is not None):
        raise ValueError("myid and members go together: both for an ensemble member, neither standalone")
    layout = ServerLayout.under(root, name)
    entries = ours_config(layout.data_dir, port, host=host, ensemble=bool(members), overrides=config)
    write_zoo_cfg(layout.config_path, entries, members)
    if myid is not None:
        write_myid(layout.data_dir, myid)
    pythonpath = os.pathsep.join(p for p in (_source_root(), os.environ.get("PYTHONPATH", "")) if p)
    child_env = {"PYTHONPATH": pythonpath, "PYTHONUNBUFFERED": "1", **(env or {})}
    # An empty ZK_TRACE turns tracing off even if the notebook's own environment sets it.
    child_env[TRACE_ENV] = str(layout.trace_path) if trace else ""
    child_env[TRACE_SERVER_ENV] = name
    if trace_origin is not None:
        child_env[TRACE_ORIGIN_ENV] = str(trace_origin)
    return ServerProcess(
        name=name,
        kind="ours",
        host=host,
        port=port,
        data_dir=layout.data_dir,
        config_path=layout.config_path,
        log_path=layout.log_path,
        argv=ours_command(layout.config_path),
        env=child_env,
        trace_path=layout.trace_path if trace else None,
        myid=myid,
        cwd=layout.home,
    )
