"""Scale-out on Dask: chunking rules, a two-worker LocalCluster equal to the single-process
run on Porto Alegre (matrix, access with return journeys, networks by paths), the command
line, and a worker killed in the middle of a run."""

from __future__ import annotations

import json

import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from transport_access import cluster
from transport_access.access import run as ar
from transport_access.routing import api

pytestmark = pytest.mark.shared_data


# ------------------------------------------------------------------------------ rules


def test_chunks_cover_every_origin_once() -> None:
    assert cluster.chunk_bounds(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert cluster.chunk_bounds(0, 4) == []
    assert cluster.default_chunk_size(1227, 2) == 77  # 16 chunks: 8 per worker
    assert cluster.default_chunk_size(3, 2) == 1
    assert cluster.default_chunk_size(10**6, 2) == cluster.MAX_CHUNK_ORIGINS
    with pytest.raises(Exception, match="at least 1"):
        cluster.chunk_bounds(10, 0)


@pytest.mark.parametrize("spec", ["local:0", "local:x", "nonsense"])
def test_bad_scheduler_names_the_fix(spec: str) -> None:
    with pytest.raises(cluster.SchedulerError, match="local:N"), cluster.connect(spec):
        pass


def test_no_scheduler_at_the_address() -> None:
    started = time.perf_counter()
    with pytest.raises(cluster.SchedulerError, match="no Dask scheduler answered"), \
            cluster.connect("tcp://127.0.0.1:1", timeout_s=2):
        pass
    assert time.perf_counter() - started < 30


# ------------------------------------------------------------------------------ Porto Alegre


@pytest.fixture(scope="module")
def poa(shared_data: Path) -> dict:
    folder = shared_data / "porto-alegre"
    cells = pd.read_csv(folder / "poa_hexgrid.csv", dtype={"id": str})
    feeds = [folder / "poa_eptc.zip", folder / "poa_trensurb.zip"]
    return {"folder": folder, "cells": cells, "feeds": feeds,
            "streets": api.build_transport_network(osm=folder / "poa_osm.pbf", gtfs=feeds,
                                                   street_modes=("walk",)),
            "lines": api.build_transport_network(gtfs=feeds)}


@pytest.fixture(scope="module")
def client():
    with cluster.connect("local:2") as connected:
        yield connected


#: The sample bus feed runs about 11:20-17:50 only: route in the afternoon.
WINDOW = {"date": "2019-05-13", "departure": "14:00", "window_min": 10}


def _read_parts(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder).reset_index(drop=True)


@pytest.mark.slow
def test_matrix_on_two_workers_equals_one_process(poa: dict, client, tmp_path: Path) -> None:
    cells = poa["cells"][["id", "lon", "lat"]]
    net = poa["streets"]
    options = {"modes": ["walk", "transit"], "percentiles": [50, 90], **WINDOW}
    single = api.travel_time_matrix(net, cells, cells, **options)
    parts = cluster.distributed_matrix(net, cells, cells, out=tmp_path / "ttm.parquet",
                                       scheduler=client, **options)
    assert len(parts.parts) == 16 and parts.rows == 1227 * 1227
    assert [p.name for p in parts.parts] == [f"part-{i:05d}.parquet" for i in range(16)]
    together = _read_parts(parts.folder)
    pd.testing.assert_frame_equal(together, single, check_exact=True)
    assert together["travel_time_p50"].notna().mean() > 0.5  # a real matrix, not all NaN

    # Per-minute and arrive-by matrices split the same way.
    few = cells.iloc[::40]
    expanded = cluster.distributed_matrix(net, few, few, out=tmp_path / "exp", kind="expanded",
                                          scheduler=client, chunk_origins=7,
                                          modes=["walk", "transit"], **WINDOW)
    pd.testing.assert_frame_equal(
        _read_parts(expanded.folder),
        api.expanded_travel_time_matrix(net, few, few, modes=["walk", "transit"], **WINDOW),
        check_exact=True)
    by = cluster.distributed_matrix(net, few, few, out=tmp_path / "by", kind="arrive_by",
                                    scheduler=client, chunk_origins=9, date="2019-05-13",
                                    arrive_by="15:00")
    pd.testing.assert_frame_equal(
        _read_parts(by.folder),
        api.arrive_by_matrix(net, few, few, date="2019-05-13", arrive_by="15:00"),
        check_exact=True)


@pytest.mark.slow
def test_workers_build_the_network_from_paths(poa: dict, client, tmp_path: Path) -> None:
    cells = poa["cells"][["id", "lon", "lat"]].iloc[::5]
    paths = cluster.NetworkPaths(osm=None, gtfs=tuple(str(f) for f in poa["feeds"]))
    parts = cluster.distributed_matrix(paths, cells, cells, out=tmp_path / "ttm.parquet",
                                       scheduler=client, **WINDOW)
    single = api.travel_time_matrix(poa["lines"], cells, cells, **WINDOW)
    pd.testing.assert_frame_equal(_read_parts(parts.folder), single, check_exact=True)
    # A second run in the same folder replaces the parts instead of adding to them.
    again = cluster.distributed_matrix(paths, cells, cells, out=tmp_path / "ttm.parquet",
                                       scheduler=client, chunk_origins=100, **WINDOW)
    assert sorted(p.name for p in again.folder.glob("part-*")) == [
        "part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    pd.testing.assert_frame_equal(_read_parts(again.folder), single, check_exact=True)


@pytest.mark.slow
def test_access_on_two_workers_equals_one_process(poa: dict, client) -> None:
    cells = poa["cells"]
    sets = [ar.Destinations(kind, cells.loc[cells[kind] > 0, ["id", "lon", "lat", kind]],
                            weight=kind, capacity=kind, thresholds_min=(30.0, 60.0))
            for kind in ("schools", "healthcare", "jobs")]
    # Schools also ask for the way there by 14:30 and home between 15:00 and 15:20.
    sets[0].arrive_by, sets[0].return_window = "14:30", ("15:00", "15:20")
    # A one-hour limit keeps the arrive-by search (limit + 1 departure minutes) short.
    options = {"network": poa["streets"], "date": "2019-05-13", "departure": "14:00",
               "window_min": 5, "modes": ["transit", "walk"],
               "params": api.RoutingParameters(max_time_min=60)}
    origins = cells[["id", "lon", "lat", "population"]]
    single = ar.compute_access(origins, sets, **options)
    spread = ar.compute_access(origins, sets, scheduler=client, chunk_origins=200, **options)
    pd.testing.assert_frame_equal(spread, single, check_exact=True)
    measures = set(single["measure"])
    assert {"two_step_fca_30_min", "return_feasible", "latest_return_min",
            "reliability_30_min"} <= measures
    feasible = single.query("destination == 'schools' and measure == 'return_feasible'")
    assert 0 < feasible["value"].sum() < len(feasible)  # some can, some cannot


# ------------------------------------------------------------------------------ worker loss


@pytest.mark.slow
def test_a_worker_killed_mid_run_loses_nothing_and_writes_nothing_twice(
    poa: dict, tmp_path: Path
) -> None:
    cells = poa["cells"][["id", "lon", "lat"]]
    net = poa["lines"]
    options = {"modes": ["walk", "transit"], "date": "2019-05-13", "departure": "14:00",
               "window_min": 30}
    single = api.travel_time_matrix(net, cells, cells, **options)
    folder = tmp_path / "ttm.parquet"
    n_chunks = len(cluster.chunk_bounds(len(cells), 25))
    outcome: dict = {}
    with cluster.connect("local:2") as connected:
        def run() -> None:
            try:
                outcome["parts"] = cluster.distributed_matrix(
                    net, cells, cells, out=folder, scheduler=connected, chunk_origins=25,
                    **options)
            except BaseException as error:  # noqa: BLE001 - reported below
                outcome["error"] = error

        worker = threading.Thread(target=run)
        worker.start()
        killed = None
        deadline = time.time() + 300
        while worker.is_alive() and killed is None and time.time() < deadline:
            done = len(list(folder.glob("part-*.parquet"))) if folder.exists() else 0
            busy = [w for w, keys in connected.processing().items() if keys]
            if 2 <= done < n_chunks - 5 and busy:
                pids = connected.run(os.getpid)
                killed = pids[busy[0]]
                os.kill(killed, signal.SIGKILL)  # the worker dies in the middle of a chunk
                outcome["done_before_kill"] = done
            time.sleep(0.02)
        worker.join(timeout=600)
        assert killed is not None, "the run ended before a worker could be killed"
        assert "error" not in outcome, outcome.get("error")
        # The nanny started a new worker in the killed one's place.
        assert killed not in connected.run(os.getpid).values()
    parts = outcome["parts"]
    assert outcome["done_before_kill"] < n_chunks
    assert len(parts.parts) == n_chunks == 50
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [p.name for p in parts.parts] + ["_manifest.json"])  # no stray temporary files
    together = _read_parts(folder)
    assert not together.duplicated(["from_id", "to_id"]).any()
    pd.testing.assert_frame_equal(together, single, check_exact=True)


# ------------------------------------------------------------------------------ command line


@pytest.mark.slow
def test_matrix_command_with_a_local_cluster(poa: dict, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from transport_access.cli import app

    points = tmp_path / "cells.csv"
    poa["cells"][["id", "lon", "lat"]].iloc[::10].to_csv(points, index=False)
    args = ["matrix", "--gtfs", str(poa["feeds"][0]), "--gtfs", str(poa["feeds"][1]),
            "--no-streets", "--origins", str(points), "--destinations", str(points),
            "--date", "2019-05-13", "--departure", "14:00", "--window", "10"]
    runner = CliRunner()
    single = runner.invoke(app, [*args, "--out", str(tmp_path / "one.csv"), "-q"])
    assert single.exit_code == 0, single.output
    spread = runner.invoke(app, [*args, "--out", str(tmp_path / "two.csv"), "-q",
                                 "--scheduler", "local:2", "--chunk-origins", "30",
                                 "--network-transfer", "paths"])
    assert spread.exit_code == 0, spread.output
    assert "15,129 rows written" in spread.output and "5 chunks" in spread.output
    assert (tmp_path / "two.csv").read_text() == (tmp_path / "one.csv").read_text()
    assert not (tmp_path / "two.csv.parts").exists()
    assert json.loads((tmp_path / "two.csv.json").read_text())["straight_line_streets"]
    bad = runner.invoke(app, [*args, "--out", str(tmp_path / "x.parquet"), "--scheduler",
                              "local:none"])
    assert bad.exit_code != 0 and "local:N" in str(bad.exception or bad.output)
    assert np.isfinite(pd.read_csv(tmp_path / "two.csv")["travel_time_p50"]).any()


# ------------------------------------------------------------------------------ studies


@pytest.mark.slow
def test_isochrones_on_two_workers_equal_one_process(poa: dict, client) -> None:
    from transport_access.publish.isochrones import compute_isochrones

    points = poa["cells"][["id", "lon", "lat"]].iloc[::150]
    single = compute_isochrones(poa["streets"], points, mode="walk", thresholds_min=(10, 20))
    spread = compute_isochrones(poa["streets"], points, mode="walk", thresholds_min=(10, 20),
                                scheduler=client)
    assert len(single) == 2 * len(points) == 18
    assert spread.geometry.geom_equals_exact(single.geometry, tolerance=0).all()
    pd.testing.assert_frame_equal(spread.drop(columns="geometry"),
                                  single.drop(columns="geometry"))


@pytest.mark.slow
def test_dorset_scenarios_on_two_workers_equal_one_process(shared_data: Path, client) -> None:
    from tests.conftest import PROJECT_ROOT
    from transport_access.config import load_study
    from transport_access.scenarios.run import run_scenarios
    from transport_access.study_data import load_study_data

    data = load_study_data(load_study(PROJECT_ROOT / "configs" / "dorset.yaml",
                                      data_root=shared_data))
    single = run_scenarios(data, window_min=15, cache=False)
    spread = run_scenarios(data, window_min=15, cache=False, scheduler=client,
                           chunk_origins=60)
    pd.testing.assert_frame_equal(spread.ranking, single.ranking, check_exact=True)
    pd.testing.assert_frame_equal(spread.lsoa_changes, single.lsoa_changes, check_exact=True)
    pd.testing.assert_frame_equal(spread.baseline.long, single.baseline.long, check_exact=True)
    assert sorted(single.ranking["scenario"]) == ["portland_link", "west_dorset_drt",
                                                  "withdraw_24"]
    assert single.lsoa_changes["change"].abs().max() > 0  # the scenarios change something
