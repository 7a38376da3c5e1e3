"""The package's promises about itself: dependencies in step, cheap import, CLI present."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

import yaml

from tests.conftest import PROJECT_ROOT

# conda-forge names that differ from PyPI names: distributed is dask[distributed] on PyPI,
# and conda-forge packages the osmium bindings (import osmium) as pyosmium.
_CONDA_TO_PYPI = {"distributed": "dask", "pyosmium": "osmium"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_lists_the_same_runtime_dependencies_as_pyproject():
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    pip_names = {_name(r) for r in pyproject["project"]["dependencies"]}

    env = yaml.safe_load((PROJECT_ROOT / "environment.yml").read_text())
    conda_names: set[str] = set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            conda_names |= {_name(r) for r in dep.get("pip", [])}
        elif _name(dep) not in {"python", "pip"}:
            conda_names.add(_CONDA_TO_PYPI.get(_name(dep), _name(dep)))

    # Every renamed conda package is really listed, so a stale entry above cannot hide one.
    listed = {_name(d) for d in env["dependencies"] if isinstance(d, str)}
    assert set(_CONDA_TO_PYPI) <= listed, sorted(set(_CONDA_TO_PYPI) - listed)
    assert conda_names == pip_names, (
        f"only in environment.yml: {sorted(conda_names - pip_names)}; "
        f"only in pyproject.toml: {sorted(pip_names - conda_names)}"
    )


def test_import_is_fast_and_touches_no_heavy_module():
    code = (
        "import sys, time; t = time.perf_counter(); import transport_access, "
        "transport_access.config, transport_access.cli; "
        "print(time.perf_counter() - t); "
        "print(','.join(m for m in ('osmnx', 'numba', 'gtfs_kit', 'r5py', 'jpype', 'requests', "
        "'geopandas', 'transx2gtfs') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT_ROOT
    ).stdout.split("\n")
    seconds, heavy = float(out[0]), out[1]
    assert heavy == "", f"importing the package pulled in {heavy}"
    assert seconds < 1.0, f"import took {seconds:.2f} s"


def test_command_line_entry_point_shows_help():
    result = subprocess.run(
        [sys.executable, "-m", "transport_access.cli", "--help"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )
    assert result.returncode == 0, result.stderr
    for command in ("fetch", "sources", "demo", "data-report"):
        assert command in result.stdout
