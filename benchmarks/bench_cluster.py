"""Benchmark: the Porto Alegre matrix on a local Dask cluster of one and two workers.

All 1,227 H3 cells of ``poa_hexgrid.csv`` to all cells, walk + transit (EPTC buses and the
Trensurb metro) on 2019-05-13, 14:00-14:59 (60 departure minutes; the sample bus feed runs
11:20-17:50 only), p50, on the OpenStreetMap walk network: first in one process (numba on
every core), then through ``transport_access.cluster.distributed_matrix`` on
``local:1`` and ``local:2`` (one numba thread per worker, so one worker is one core),
writing Parquet parts. Prints
wall times, the speed-up from one to two workers, the measured cost per origin, and the
England-wide estimate the README quotes. The results of every run are checked equal.

    .venv/bin/python benchmarks/bench_cluster.py
    .venv/bin/python benchmarks/bench_cluster.py --window 20   # quicker
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TRANSPORT_ACCESS_DATA", ROOT.parent / "shared" / "data"))

#: LSOAs in England (2021) and the departure minutes of a JTS-like 07:00-10:00 window.
ENGLAND_LSOAS = 33_755
WINDOW_JTS_MIN = 180


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=int, default=60, help="departure minutes")
    args = parser.parse_args()

    import pandas as pd

    from transport_access import cluster
    from transport_access.routing import api
    from transport_access.routing.transit import warm_up_kernels

    poa = DATA / "porto-alegre"
    cells = pd.read_csv(poa / "poa_hexgrid.csv", dtype={"id": str})[["id", "lon", "lat"]]
    network = api.build_transport_network(osm=poa / "poa_osm.pbf", street_modes=("walk",),
                                          gtfs=[poa / "poa_eptc.zip", poa / "poa_trensurb.zip"])
    options = {"modes": ["walk", "transit"], "date": "2019-05-13", "departure": "14:00",
               "window_min": args.window, "percentiles": [50]}
    n = len(cells)
    origin_minutes = n * args.window
    print(f"Porto Alegre: {n:,} origins x {n:,} destinations, walk + transit on OSM streets, "
          f"2019-05-13 14:00, {args.window} departure minutes, p50; {os.cpu_count()} cores")
    print(f"numba warm-up: {warm_up_kernels():.1f} s")

    network.timetable(pd.Timestamp(options["date"]).date())
    started = time.perf_counter()
    single = api.travel_time_matrix(network, cells, cells, **options)
    one_process = time.perf_counter() - started
    print(f"  one process (numba on all cores) {one_process:7.1f} s")

    walls = {}
    for workers in (1, 2):
        t0 = time.perf_counter()
        with cluster.connect(f"local:{workers}", numba_threads=1) as client:
            startup = time.perf_counter() - t0
            with tempfile.TemporaryDirectory() as folder:
                t1 = time.perf_counter()
                parts = cluster.distributed_matrix(network, cells, cells, scheduler=client,
                                                   out=Path(folder) / "ttm.parquet", **options)
                walls[workers] = time.perf_counter() - t1
                together = pd.read_parquet(parts.folder).reset_index(drop=True)
        same = together.equals(single)
        print(f"  local:{workers}  {walls[workers]:7.1f} s  ({len(parts.parts)} chunks, "
              f"cluster start {startup:.1f} s, equal to one process: {same})")
        if not same:
            raise SystemExit("distributed result differs from the single-process result")

    speed_up = walls[1] / walls[2]
    per_origin = walls[1] / n  # one worker = one core
    per_origin_minute_ms = 1000 * walls[1] / origin_minutes
    print(f"speed-up from 1 to 2 workers: {speed_up:.2f}x (parallel efficiency "
          f"{speed_up / 2:.0%})")
    print(f"cost per origin: {per_origin * 1000:.1f} ms of one core for {args.window} minutes "
          f"x {n:,} destinations ({per_origin_minute_ms:.2f} ms per origin-minute)")

    core_hours = ENGLAND_LSOAS * WINDOW_JTS_MIN * per_origin_minute_ms / 1000 / 3600
    print(f"England estimate at this cost: {ENGLAND_LSOAS:,} LSOAs x {WINDOW_JTS_MIN} minutes "
          f"= {core_hours:.1f} core-hours per mode and destination set "
          f"({core_hours * 10:.0f} core-hours if a denser network costs 10x per origin);")
    for cores in (16, 64, 256):
        hours = core_hours * 10 / cores
        print(f"  on {cores:>3} worker cores: {hours * 60:6.0f} min at 10x the Porto Alegre "
              f"cost, {core_hours / cores * 60:5.1f} min at 1x")


if __name__ == "__main__":
    main()
