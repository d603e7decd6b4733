"""Shared pytest configuration. Kept minimal: fixtures live beside the tests that use them."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo_root() -> Path:
    """The checkout's top folder."""
    return ROOT
