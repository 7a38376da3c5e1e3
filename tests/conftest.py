"""Shared test fixtures: where the shared open data lives, and small synthetic inputs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(
    os.environ.get("TRANSPORT_ACCESS_DATA", PROJECT_ROOT.parent / "shared" / "data")
).resolve()
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared open-data folder; tests using it skip with a reason when it is absent."""
    if not (SHARED_DATA / "dorset").is_dir():
        pytest.skip(f"shared open data not found at {SHARED_DATA} (set TRANSPORT_ACCESS_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def fixtures() -> Path:
    """Folder of small synthetic inputs made for the tests."""
    return FIXTURES


@pytest.fixture(autouse=True)
def _isolated_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keep every test's on-disk cache out of the user's home folder."""
    cache = tmp_path_factory.getbasetemp() / "cache"
    monkeypatch.setenv("TRANSPORT_ACCESS_CACHE", str(cache))
