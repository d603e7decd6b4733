"""A standalone server of ours, started once per module as a real process (zk.lab)."""

from collections.abc import Iterator

import pytest
from kazoo.client import KazooClient

from zk import lab


@pytest.fixture(scope="module")
def server() -> Iterator[lab.SyncServer]:
    with lab.start_server_sync(config={"4lw.commands.whitelist": "*"}) as s:
        yield s


@pytest.fixture
def kazoo(server: lab.SyncServer) -> Iterator[KazooClient]:
    client = KazooClient(server.connect_string, timeout=10)
    client.start(timeout=10)
    try:
        yield client
    finally:
        client.stop()
        client.close()
