"""Servers for the client's tests: ours and Apache ZooKeeper 3.8, as real processes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from zk import lab

KINDS = ["ours", "reference"]


def skip_without_reference(kind: str) -> None:
    if kind == "reference" and not lab.reference_available():
        pytest.skip(lab.reference_missing_reason() or "no reference server")


@pytest.fixture(scope="module", params=KINDS)
def server(request: pytest.FixtureRequest) -> Iterator[lab.SyncServer]:
    """One server of each kind per module, shared by the module's tests."""
    skip_without_reference(request.param)
    with lab.start_server_sync(request.param, tickTime=500, extendedTypesEnabled="true") as s:
        yield s
