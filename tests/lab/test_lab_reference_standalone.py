"""A standalone Apache ZooKeeper 3.8 started by the lab, used by real clients.

One JVM serves the whole module (module-scoped fixture): JVM start-up is the slow part.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from kazoo.client import KazooClient

from zk import lab
from zk.lab import (
    four_letter_word_sync,
    parse_mntr,
    parse_srvr,
    reference_available,
    reference_missing_reason,
)

pytestmark = [
    pytest.mark.skipif(not reference_available(), reason=reference_missing_reason() or ""),
    pytest.mark.asyncio(loop_scope="module"),
]

ZKCLI = "/usr/share/zookeeper/bin/zkCli.sh"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def ref() -> AsyncIterator[lab.ServerProcess]:
    """One Apache ZooKeeper for the module; fsync off, nothing here depends on it."""
    async with lab.reference(forceSync="no") as s:
        yield s


def kazoo_client(connect_string: str) -> KazooClient:
    client = KazooClient(hosts=connect_string, timeout=10)
    client.start(timeout=10)
    return client


async def test_four_letter_words(ref: lab.ServerProcess) -> None:
    assert await ref.four_letter_word("ruok") == "imok"
    srvr = parse_srvr(await ref.four_letter_word("srvr"))
    assert srvr["Mode"] == "standalone" and srvr["Zookeeper version"].startswith("3.8.")
    mntr = parse_mntr(four_letter_word_sync(ref.host, ref.port, "mntr"))
    assert mntr["zk_server_state"] == "standalone"
    conf = await ref.four_letter_word("conf")
    assert f"clientPort={ref.port}" in conf and f"dataDir={ref.data_dir}" in conf


async def test_kazoo_create_get(ref: lab.ServerProcess) -> None:
    def work() -> bytes:
        client = kazoo_client(ref.connect_string)
        try:
            client.create("/lab/hello", b"world", makepath=True)
            data, stat = client.get("/lab/hello")
            assert stat.version == 0
            return bytes(data)
        finally:
            client.stop()
            client.close()

    # kazoo blocks: keep it off the event loop, as a notebook would.
    assert await asyncio.to_thread(work) == b"world"


@pytest.mark.skipif(not os.path.exists(ZKCLI), reason=f"{ZKCLI} not installed (apt-get install zookeeper)")
async def test_ttl_nodes_are_enabled(ref: lab.ServerProcess) -> None:
    # kazoo has no TTL create; the Java CLI does (`create -t`), and the server refuses it
    # with "Unimplemented" unless zookeeper.extendedTypesEnabled is on.
    cli = [ZKCLI, "-server", ref.connect_string, "create", "-t", "60000", "/lab-ttl", "x"]
    result = await asyncio.to_thread(subprocess.run, cli, capture_output=True, text=True, timeout=60)
    assert "Created /lab-ttl" in result.stdout + result.stderr, result.stdout + result.stderr


async def test_kill_and_restart_keep_port_and_data() -> None:
    # Its own server (not the module's): the restart gives it a new pid, and a crash
    # should not leak into the other tests.
    async with lab.reference() as s:

        def write() -> None:
            client = kazoo_client(s.connect_string)
            try:
                client.create("/lab/durable", b"1", makepath=True)
            finally:
                client.stop()
                client.close()

        def read() -> bytes:
            client = kazoo_client(s.connect_string)
            try:
                return bytes(client.get("/lab/durable")[0])
            finally:
                client.stop()
                client.close()

        await asyncio.to_thread(write)
        port, pid = s.port, s.pid
        assert await s.kill() == -9
        assert pid not in lab.running_lab_processes()
        await s.restart()
        assert s.port == port and s.pid != pid and s.pid in lab.running_lab_processes()
        # forceSync=yes: the reply came after the fsync, so a crash cannot lose the node.
        assert await asyncio.to_thread(read) == b"1"


async def test_blocking_wrapper_from_inside_a_running_loop() -> None:
    # As in a notebook cell: a loop runs, so the wrapper drives its own in a helper thread.
    handle = lab.start_server_sync("reference")
    try:
        assert handle.four_letter_word("ruok") == "imok"
        assert handle.pid in lab.running_lab_processes()
    finally:
        handle.stop()
    assert handle.pid not in lab.running_lab_processes()
    assert not handle.root.exists()


async def test_a_failing_body_still_stops_the_server_and_keep_keeps_the_folder() -> None:
    class Boom(Exception):
        pass

    seen: list[lab.ServerProcess] = []
    with pytest.raises(Boom):
        async with lab.reference(keep=True) as s:
            seen.append(s)
            raise Boom
    s = seen[0]
    try:
        assert not s.running and s.pid not in lab.running_lab_processes()
        assert " INFO " in s.log_path.read_text()  # the JVM's log outlives the server
    finally:
        shutil.rmtree(s.data_dir.parent.parent)
