"""Fixtures of the storage tests."""

from pathlib import Path

import pytest
from storage_helpers import DataDir


@pytest.fixture
def data_dir(tmp_path: Path) -> DataDir:
    """An empty data directory with small (64 KiB) preallocation."""
    return DataDir(tmp_path / "data", prealloc_size=64 * 1024)
