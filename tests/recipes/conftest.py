"""Servers for the recipes' tests: ours and Apache ZooKeeper 3.8, as real processes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from zk import lab
from zk.client import ZooKeeper

KINDS = ["ours", "reference"]


@pytest.fixture(scope="module", params=KINDS)
def server(request: pytest.FixtureRequest) -> Iterator[lab.SyncServer]:
    """One server of each kind per module, shared by the module's tests."""
    if request.param == "reference" and not lab.reference_available():
        pytest.skip(lab.reference_missing_reason() or "no reference server")
    with lab.start_server_sync(request.param, tickTime=500) as s:
        yield s


@pytest.fixture
async def clients(server: lab.SyncServer) -> AsyncIterator[list[ZooKeeper]]:
    """Four clients on the server (session timeout 4 s), closed after the test."""
    zks = [await ZooKeeper(server.connect_string, 4000).start(10) for _ in range(4)]
    yield zks
    for zk in zks:
        await zk.close()
