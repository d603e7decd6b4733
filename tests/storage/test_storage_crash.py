"""kill -9 under load: every acknowledged write survives, nothing else appears.

Eight clients create nodes as fast as they can; the server is killed with SIGKILL in
the middle; the log's tail is then torn by hand (half of a frame appended, as a
crash in the middle of a write leaves it). After the restart: every create a client
saw acknowledged is there, every node there is one a client sent, and the log line
says the torn tail was cut.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from kazoo.client import KazooClient
from kazoo.exceptions import KazooException
from kazoo.retry import KazooRetry

from zk import lab
from zk.storage.log_format import frame_txn_entry
from zk.storage.util import marshall_txn_entry

WRITERS = 8


def _writer(connect: str, n: int, stop: threading.Event, attempted: set[str], acked: set[str]) -> None:
    zk = KazooClient(connect, timeout=10, connection_retry=KazooRetry(max_tries=0),
                     command_retry=KazooRetry(max_tries=0))  # fmt: skip
    zk.start(timeout=10)
    try:
        i = 0
        while not stop.is_set():
            path = f"/load/w{n}-{i}"
            attempted.add(path)
            try:
                zk.create(path, b"x" * 32)
            except KazooException:
                return  # the server is gone: this create's fate is unknown
            acked.add(path)
            i += 1
    finally:
        zk.stop()
        zk.close()


def _tear_the_tail(log_dir: Path) -> None:
    newest = max(log_dir.glob("log.*"), key=lambda p: int(p.name.split(".")[1], 16))
    data = newest.read_bytes()
    end = len(data.rstrip(b"\0"))
    from zk.jute.records import CreateTxn, TxnHeader

    frame = frame_txn_entry(marshall_txn_entry(TxnHeader(1, 1, 1 << 40, 0, 1), CreateTxn("/torn", b"", [], False, 1)))
    with open(newest, "r+b") as f:
        f.seek(end)
        f.write(frame[: len(frame) // 2])


async def test_kill_9_under_load_loses_no_acknowledged_write() -> None:
    async with lab.server() as s:
        setup = KazooClient(s.connect_string)
        await asyncio.to_thread(setup.start)
        await asyncio.to_thread(setup.create, "/load")
        await asyncio.to_thread(setup.stop)
        stop = threading.Event()
        attempted: list[set[str]] = [set() for _ in range(WRITERS)]
        acked: list[set[str]] = [set() for _ in range(WRITERS)]
        threads = [
            threading.Thread(target=_writer, args=(s.connect_string, n, stop, attempted[n], acked[n]))
            for n in range(WRITERS)
        ]
        for t in threads:
            t.start()
        await asyncio.sleep(1.5)
        await s.kill()
        stop.set()
        for t in threads:
            await asyncio.to_thread(t.join, 30)
        all_acked = set().union(*acked)
        all_attempted = set().union(*attempted)
        assert len(all_acked) > 50, "the load ran"
        _tear_the_tail(s.data_dir / "version-2")
        await s.start()
        await s.wait_ready()
        check = KazooClient(s.connect_string)
        await asyncio.to_thread(check.start)
        present = {f"/load/{c}" for c in await asyncio.to_thread(check.get_children, "/load")}
        await asyncio.to_thread(check.stop)
        assert all_acked <= present, f"lost acknowledged writes: {sorted(all_acked - present)[:5]}"
        assert present <= all_attempted, f"invented writes: {sorted(present - all_attempted)[:5]}"
        assert "Cutting the torn tail" in s.log_tail(200)
