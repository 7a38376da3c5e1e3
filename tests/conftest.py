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


@pytest.fixture(scope="session")
def demo_outputs(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``transport-access demo`` on the Dorset study, run once per test session (~80 s)."""
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("demo")
    env = dict(os.environ, TRANSPORT_ACCESS_CACHE=str(tmp_path_factory.getbasetemp() / "cache"))
    result = subprocess.run(
        [sys.executable, "-m", "transport_access.cli", "demo",
         str(PROJECT_ROOT / "configs" / "dorset.yaml"), "--data-root", str(shared_data),
         "--out", str(out), "-q"],
        capture_output=True, text=True, cwd=PROJECT_ROOT, env=env,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    (out / "stdout.txt").write_text(result.stdout)
    return out
