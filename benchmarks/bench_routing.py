"""Benchmark: the whole Porto Alegre matrix through the public API, on streets and without.

All 1,227 H3 cells of ``poa_hexgrid.csv`` to all cells, walk + transit (EPTC buses and the
Trensurb metro) on 2019-05-13, one departure per minute over 60 minutes, p50, as
``transport-access matrix`` runs it: first on the OpenStreetMap streets of ``poa_osm.pbf``,
then with ``--no-streets`` (straight lines x 1.3). Prints, per run: the network build time
the first time and from the cache, the numba warm-up, the routing wall time (links and
kernel), throughput and peak memory.

The sample EPTC feed only has trips between 11:20 and 17:50, so the issue's 07:00 window
routes on the metro alone; the 14:00 window exercises the whole network. Both are printed.

    .venv/bin/python benchmarks/bench_routing.py            # everything
    .venv/bin/python benchmarks/bench_routing.py --quick    # 200 origins
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TRANSPORT_ACCESS_DATA", ROOT.parent / "shared" / "data"))


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 origins only")
    args = parser.parse_args()

    # a fresh cache, so the first build really is the first
    os.environ["TRANSPORT_ACCESS_CACHE"] = tempfile.mkdtemp(prefix="bench-cache-")

    import pandas as pd

    from transport_access.routing import api
    from transport_access.routing.transit import warm_up_kernels

    poa = DATA / "porto-alegre"
    cells = pd.read_csv(poa / "poa_hexgrid.csv", dtype={"id": str})[["id", "lon", "lat"]]
    origins = cells.head(200) if args.quick else cells
    feeds = [poa / "poa_eptc.zip", poa / "poa_trensurb.zip"]
    print(f"Porto Alegre: {len(origins):,} origins x {len(cells):,} destinations, "
          "walk + transit, 2019-05-13, 60 departure minutes, p50")
    print(f"numba warm-up (compile or load from cache): {warm_up_kernels():.1f} s")

    for osm in (poa / "poa_osm.pbf", None):
        label = "OSM streets" if osm else "no streets (straight lines x 1.3)"
        timings = []
        for _attempt in ("first", "cached"):
            started = time.perf_counter()
            network = api.build_transport_network(osm=osm, gtfs=feeds, street_modes=["walk"])
            network.timetable(pd.Timestamp("2019-05-13").date())
            timings.append(time.perf_counter() - started)
        print(f"\n{label}: network build {timings[0]:.1f} s first, {timings[1]:.1f} s from cache")
        for departure in ("07:00", "14:00"):
            started = time.perf_counter()
            table = api.travel_time_matrix(
                network, origins, cells, modes=["walk", "transit"], date="2019-05-13",
                departure=departure, window_min=60, percentiles=[50],
            )
            wall = time.perf_counter() - started
            reached = table["travel_time_p50"].notna().mean()
            rate = len(origins) * 60 / wall
            print(f"  {departure}-{departure[:2]}:59  routing {wall:6.1f} s  "
                  f"{rate:8,.0f} origin-minutes/s  {reached:6.1%} pairs reached  "
                  f"median {table['travel_time_p50'].median():5.1f} min")
    # The whole multimodal build: walk, cycle and car graphs from the PBF plus the timetables.
    os.environ["TRANSPORT_ACCESS_CACHE"] = tempfile.mkdtemp(prefix="bench-cache-")
    timings = []
    for _attempt in ("first", "cached"):
        started = time.perf_counter()
        network = api.build_transport_network(osm=poa / "poa_osm.pbf", gtfs=feeds,
                                              street_modes=["walk", "cycle", "car"])
        network.timetable(pd.Timestamp("2019-05-13").date())
        timings.append(time.perf_counter() - started)
    print(f"\nwalk + cycle + car graphs and timetables: network build {timings[0]:.1f} s first, "
          f"{timings[1]:.1f} s from cache")
    print(f"\npeak memory (RSS): {_peak_rss_gb():.2f} GB")


if __name__ == "__main__":
    main()
