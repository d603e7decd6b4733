"""Fixtures for the lab's tests: nothing a test starts may outlive it.

A function-scoped check fails a test that leaves a new lab process running (after stopping
it, so one leak does not spill into the next test); a module-scoped one checks that
module-scoped servers are gone too once their module ends.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from zk.lab import cleanup_lab_processes, running_lab_processes

__all__ = ["no_lab_process_left_by_module", "no_lab_process_left_by_test"]


@pytest.fixture(autouse=True, scope="module")
def no_lab_process_left_by_module() -> Iterator[None]:
    """Every lab process is gone when a test module ends."""
    yield
    leaked = running_lab_processes()
    if leaked:
        cleanup_lab_processes()
        pytest.fail(f"lab processes still running at the end of the module: {leaked}")


@pytest.fixture(autouse=True)
def no_lab_process_left_by_test() -> Iterator[None]:
    """A test stops every lab process it started (module-scoped servers excepted)."""
    before = set(running_lab_processes())
    yield
    leaked = sorted(set(running_lab_processes()) - before)
    if leaked:
        cleanup_lab_processes(pids=leaked)
        pytest.fail(f"test left lab processes running: {leaked}")
