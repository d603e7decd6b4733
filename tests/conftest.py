"""Shared pytest configuration. Kept minimal: fixtures live beside the tests that use them."""

from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo_root() -> Path:
    """The checkout's top folder."""
    return ROOT


@pytest.fixture(scope="session", autouse=True)
def no_server_outlives_the_tests() -> Iterator[None]:
    """Every server a test starts is stopped by that test: none is left at the end."""
    from zk.lab import cleanup_lab_processes, running_lab_processes

    yield
    left = running_lab_processes()
    cleanup_lab_processes()
    assert not left, f"lab processes still running after the tests: {left}"
