"""Both directions against Apache ZooKeeper 3.8: its tools read our files, our server
serves the tree its files hold. Real processes (zk.lab); three JVM starts in all.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest
from kazoo.client import KazooClient
from kazoo.security import make_digest_acl

from zk import lab
from zk.lab.reference import reference_available

pytestmark = pytest.mark.skipif(not reference_available(), reason="Apache ZooKeeper 3.8 (Debian) is not installed")

JAVA_CP = ":".join(
    f"/usr/share/java/{jar}" for jar in ("zookeeper.jar", "zookeeper-jute.jar", "slf4j-api.jar", "slf4j-simple.jar")
)
QUIET = "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"


def java_tool(cls: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["java", QUIET, "-cp", JAVA_CP, cls, *args], capture_output=True, text=True, timeout=60)


def _write_sample(connect: str) -> KazooClient:
    """Every kind of txn; returns a client left open (its session owns /app/eph)."""
    zk = KazooClient(connect, timeout=10)
    zk.start(timeout=10)
    zk.create("/app", b"root data")
    zk.create("/app/seq-", b"1", sequence=True)
    zk.create("/app/seq-", b"2", sequence=True)
    zk.create("/app/eph", b"mine", ephemeral=True)
    zk.set("/app", b"changed")
    zk.create("/app/gone", b"")
    zk.delete("/app/gone")
    zk.create("/secret", b"s", acl=[make_digest_acl("u", "p", all=True)])
    tx = zk.transaction()
    tx.create("/app/m1", b"a")
    tx.create("/app/m2", b"b")
    tx.commit()
    zk.create("/app/bad", b"")
    tx = zk.transaction()  # a failed multi: logged as error txns
    tx.create("/app/bad", b"")
    tx.create("/app/m3", b"")
    tx.commit()
    return zk


def _read_tree(connect: str) -> dict[str, tuple[bytes, tuple[int, ...]]]:
    zk = KazooClient(connect, timeout=10)
    zk.start(timeout=10)
    try:
        out: dict[str, tuple[bytes, tuple[int, ...]]] = {}
        todo = ["/app"]
        while todo:
            path = todo.pop()
            data, st = zk.get(path)
            out[path] = (data, (st.czxid, st.mzxid, st.pzxid, st.version, st.cversion, st.aversion,
                                st.ephemeralOwner, st.numChildren))  # fmt: skip
            todo.extend(f"{path}/{c}" for c in zk.get_children(path))
        out["/ (children)"] = (b"", tuple(sorted(zk.get_children("/"))))  # type: ignore[arg-type]
        return out
    finally:
        zk.stop()
        zk.close()


async def test_zookeeper_reads_our_log_and_snapshot() -> None:
    """TxnLogToolkit and SnapshotFormatter (Apache ZooKeeper 3.8's own classes) read
    the files our server wrote, every record and every node."""
    async with lab.server() as s:
        zk = await asyncio.to_thread(_write_sample, s.connect_string)
        await asyncio.to_thread(zk.stop)
        await asyncio.to_thread(zk.close)
        await s.restart()  # a clean restart writes a snapshot of everything
        files = sorted((s.data_dir / "version-2").iterdir(), key=lambda p: p.stat().st_mtime)
        logs = [p for p in files if p.name.startswith("log.")]
        snapshot = [p for p in files if p.name.startswith("snapshot.")][-1]
        dump = java_tool("org.apache.zookeeper.server.persistence.TxnLogToolkit", str(logs[0]))
        assert dump.returncode == 0, dump.stderr
        assert "ZooKeeper Transactional Log File with dbid 0 txnlog format version 2" in dump.stdout
        for needle in ("createSession 10000", "create /app/seq-0000000000,1,", "setData /app,changed,1",
                       "delete '/app/gone", "multi create:", "multi error:", "closeSession v{'/app/eph}",
                       "EOF reached after 13 txns"):  # fmt: skip
            assert needle in dump.stdout, (needle, dump.stdout)
        assert "CRC ERROR" not in dump.stdout
        snap = java_tool("org.apache.zookeeper.server.SnapshotFormatter", str(snapshot))
        assert snap.returncode == 0, snap.stderr
        for path in ("/app/seq-0000000001", "/app/m2", "/secret", "/zookeeper/config"):
            assert f"\n{path}\n" in snap.stdout
        assert "/app/eph" not in snap.stdout, "its session was closed"


async def test_our_server_serves_the_tree_zookeeper_wrote(tmp_path: Path) -> None:
    """Apache ZooKeeper 3.8 writes a data directory (snapshot, log with digests, a
    session still open); our server starts on a copy of it and serves the same tree,
    the ephemeral of the live session included."""
    async with lab.reference() as ref:
        zk = await asyncio.to_thread(_write_sample, ref.connect_string)
        expected = await asyncio.to_thread(_read_tree, ref.connect_string)
        await ref.kill()  # the session stays open in the files
        shutil.copytree(ref.data_dir / "version-2", tmp_path / "version-2")
        await asyncio.to_thread(zk.stop)
        await asyncio.to_thread(zk.close)
    async with lab.server(tickTime=2000) as ours:
        await ours.stop()
        shutil.rmtree(ours.data_dir / "version-2", ignore_errors=True)
        shutil.copytree(tmp_path / "version-2", ours.data_dir / "version-2")
        await ours.start()
        await ours.wait_ready()
        served = await asyncio.to_thread(_read_tree, ours.connect_string)
    assert served == expected
    assert "/app/eph" in served
