"""Launch Apache ZooKeeper 3.8, the reference server, from Debian's `zookeeper` package.

The lab runs the real thing beside ours so an experiment can be repeated on both and
compared. This module writes a zoo.cfg as /work/shared/reference-zk/start-standalone.sh
does (every four-letter word on, AdminServer off, loopback only, no per-IP connection cap)
and builds the java command line: QuorumPeerMain, which runs standalone for a config
without ``server.N`` lines and joins an ensemble otherwise.

JVM flags aim at a quick start on a small machine: a 256 MB heap, the serial collector,
the C1 compiler only, class-data sharing; and ``zookeeper.extendedTypesEnabled`` on by
default, so TTL nodes work and can be compared with ours.

Mirrors: org.apache.zookeeper.server.quorum.QuorumPeerMain as bin/zkServer.sh starts it;
no Java class of ours.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from zk.lab.config import CfgValue, QuorumMember, ServerLayout, merge_config, write_myid, write_zoo_cfg
from zk.lab.ports import LOOPBACK
from zk.lab.process import ServerProcess

__all__ = [
    "DEFAULT_JVM_FLAGS",
    "EXTENDED_TYPES_FLAG",
    "JAVA_LIB",
    "MAIN_CLASS",
    "java_executable",
    "reference_available",
    "reference_command",
    "reference_config",
    "reference_missing_reason",
    "reference_process",
]

JAVA_LIB = Path("/usr/share/java")
"""Where Debian installs the jars."""

_ZOOKEEPER_JAR = "zookeeper.jar"
# zookeeper.jar's manifest Class-Path pulls in jute, netty and metrics; slf4j-simple is
# the log binding, without which the Debian server logs nothing.
_SLF4J_SIMPLE_JAR = "slf4j-simple.jar"

MAIN_CLASS = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
"""The entry point zkServer.sh runs, standalone or quorum alike."""

DEFAULT_JVM_FLAGS: tuple[str, ...] = (
    "-Xmx256m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Xshare:auto",
    "-XX:-UsePerfData",
)
"""Small heap and fast start-up; the lab's servers hold toy data."""

EXTENDED_TYPES_FLAG = "-Dzookeeper.extendedTypesEnabled=true"
"""Turns on TTL nodes (CreateMode.PERSISTENT_WITH_TTL, PERSISTENT_SEQUENTIAL_WITH_TTL)."""


def java_executable() -> str | None:
    """The `java` to run: ``$JAVA_HOME/bin/java`` if set, else the one on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("java")


def reference_missing_reason(java_lib: Path = JAVA_LIB) -> str | None:
    """Why the reference cannot run here, or None if it can (for pytest skip reasons)."""
    prefix = "Apache ZooKeeper 3.8 reference not available"
    if java_executable() is None:
        return f"{prefix}: no `java` on PATH (apt-get install default-jre-headless)"
    for jar, package in ((_ZOOKEEPER_JAR, "zookeeper"), (_SLF4J_SIMPLE_JAR, "libslf4j-java")):
        if not (java_lib / jar).is_file():
            return f"{prefix}: {java_lib / jar} missing (apt-get install {package})"
    return None


def reference_available(java_lib: Path = JAVA_LIB) -> bool:
    """Whether java and the Apache ZooKeeper jars are installed."""
    return reference_missing_reason(java_lib) is None


def reference_config(
    data_dir: Path,
    port: int,
    *,
    host: str = LOOPBACK,
    overrides: Mapping[str, CfgValue] | None = None,
) -> dict[str, CfgValue]:
    """The zoo.cfg entries for one reference server, `overrides` applied last."""
    defaults: dict[str, CfgValue] = {
        "tickTime": 2000,
        "initLimit": 10,
        "syncLimit": 5,
        "dataDir": str(data_dir),
        "clientPortAddress": host,
        "clientPort": port,
        "maxClientCnxns": 0,
        "forceSync": "yes",
        "4lw.commands.whitelist": "*",
        "admin.enableServer": "false",
        "autopurge.purgeInterval": 0,
    }
    return merge_config(defaults, overrides or {})


def reference_command(
    config_path: Path,
    *,
    log_dir: Path,
    jvm_flags: Sequence[str] = (),
    extended_types: bool = True,
    log_level: str = "info",
    java_lib: Path = JAVA_LIB,
) -> list[str]:
    """The java command line that runs QuorumPeerMain on `config_path`.

    Args:
        config_path: The zoo.cfg.
        log_dir: Value of ``zookeeper.log.dir``.
        jvm_flags: Extra flags, after the defaults (so they win).
        extended_types: Add [EXTENDED_TYPES_FLAG][zk.lab.reference.EXTENDED_TYPES_FLAG].
        log_level: slf4j-simple's level (``trace``, ``debug``, ``info``, ``warn``).
        java_lib: Folder holding the jars.
    """
    java = java_executable()
    if java is None:
        raise FileNotFoundError(reference_missing_reason(java_lib))
    classpath = f"{java_lib / _ZOOKEEPER_JAR}:{java_lib / _SLF4J_SIMPLE_JAR}"
    flags = [*DEFAULT_JVM_FLAGS]
    if extended_types:
        flags.append(EXTENDED_TYPES_FLAG)
    flags += [
        f"-Dorg.slf4j.simpleLogger.defaultLogLevel={log_level}",
        "-Dorg.slf4j.simpleLogger.showDateTime=true",
        "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd HH:mm:ss.SSS",
        f"-Dzookeeper.log.dir={log_dir}",
        *jvm_flags,
    ]
    return [java, *flags, "-cp", classpath, MAIN_CLASS, str(config_path)]


def reference_process(
    root: Path,
    name: str,
    port: int,
    *,
    host: str = LOOPBACK,
    config: Mapping[str, CfgValue] | None = None,
    members: Sequence[QuorumMember] = (),
    myid: int | None = None,
    jvm_flags: Sequence[str] = (),
    extended_types: bool = True,
) -> ServerProcess:
    """Lay out one reference server under `root` and return its (unstarted) handle.

    Args:
        root: The lab folder; the server's files go to ``root/name/``.
        name: Its label, e.g. ``"s1"``.
        port: Its client port.
        host: Its client address.
        config: Extra or overriding zoo.cfg keys.
        members: The ensemble's ``server.N`` lines; empty for standalone.
        myid: This server's N in `members` (required with members).
        jvm_flags: Extra JVM flags.
        extended_types: Enable TTL nodes.
    """
    if bool(members) != (myid is not None):
        raise ValueError("myid and members go together: both for an ensemble member, neither standalone")
    layout = ServerLayout.under(root, name)
    write_zoo_cfg(layout.config_path, reference_config(layout.data_dir, port, host=host, overrides=config), members)
    if myid is not None:
        write_myid(layout.data_dir, myid)
    argv = reference_command(
        layout.config_path, log_dir=layout.home, jvm_flags=jvm_flags, extended_types=extended_types
    )
    return ServerProcess(
        name=name,
        kind="reference",
        host=host,
        port=port,
        data_dir=layout.data_dir,
        config_path=layout.config_path,
        log_path=layout.log_path,
        argv=argv,
        myid=myid,
        cwd=layout.home,
    )
