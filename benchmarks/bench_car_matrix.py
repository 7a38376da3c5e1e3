"""Benchmark: all-to-all car travel-time matrix of the Porto Alegre H3 cells.

Compares our path (``street_travel_time_matrix``: chunked multi-source
``scipy.sparse.csgraph.dijkstra``) with networkx ``single_source_dijkstra_path_length`` run
once per origin on the same graph, same snapping and same rounding, and checks that both
give the same matrix. Also times the street network build, first without a cache and then
from the cache.

Run from the project root::

    .venv/bin/python benchmarks/bench_car_matrix.py            # networkx on every origin
    .venv/bin/python benchmarks/bench_car_matrix.py --nx-origins 200   # sample, extrapolated

Data come from ``$TRANSPORT_ACCESS_DATA`` (default ``../shared/data``). Timings depend on
what else runs on the machine; the script prints its own figures only.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TRANSPORT_ACCESS_DATA", ROOT.parent / "shared" / "data"))


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures; return a process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pbf", type=Path, default=DATA / "porto-alegre" / "poa_osm.pbf")
    parser.add_argument("--cells", type=Path, default=DATA / "porto-alegre" / "poa_hexgrid.csv")
    parser.add_argument("--nx-origins", type=int, default=0,
                        help="origins routed with networkx (0 = all); times are extrapolated")
    args = parser.parse_args(argv)

    # A private cache folder, so that the first build really builds.
    os.environ["TRANSPORT_ACCESS_CACHE"] = tempfile.mkdtemp(prefix="ta-bench-cache-")
    from transport_access.network.streets import build_street_network
    from transport_access.routing.streets import snap_points, street_travel_time_matrix

    started = time.perf_counter()
    build_street_network(args.pbf, modes=["car"])
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    network = build_street_network(args.pbf, modes=["car"])
    cached_s = time.perf_counter() - started
    car = network["car"]
    print(f"street network (car) of {args.pbf.name}: {car.n_nodes:,} nodes, "
          f"{car.n_edges:,} edges")
    print(f"  build, first time: {build_s:8.2f} s   from cache: {cached_s:6.3f} s "
          f"(from_cache={network.from_cache['car']})")

    cells = pd.read_csv(args.cells, usecols=["id", "lon", "lat"])
    lon, lat = cells["lon"].to_numpy(float), cells["lat"].to_numpy(float)
    n = len(cells)
    print(f"cells: {n:,} H3 cells from {args.cells.name} -> {n * n:,} origin-destination pairs")

    # Our path, timed from snapping to the dense matrix.
    tracemalloc.start()
    started = time.perf_counter()
    ours = street_travel_time_matrix(network, "car", cells, cells)
    ours_s = time.perf_counter() - started
    _, peak_bytes = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    reached = np.isfinite(ours).mean()
    print(f"scipy csgraph:  {ours_s:8.2f} s   {n * n / ours_s:12,.0f} pairs/s   "
          f"{n / ours_s:8.1f} origins/s   peak traced memory {peak_bytes / 2**20:,.0f} MB   "
          f"({reached:.1%} of pairs reached)")

    # networkx on the same graph, the same snapping and the same rounding.
    weights = car.edge_seconds(None)
    graph = car.to_networkx(weights)
    origin = snap_points(network, "car", lon, lat, ids=cells["id"].tolist(), what="cells")
    snap_s = origin.distance_m / (4.8 / 3.6)
    order = np.flatnonzero(origin.ok)
    if args.nx_origins:
        order = np.random.default_rng(0).choice(order, min(args.nx_origins, len(order)),
                                                replace=False)
    import networkx as nx

    dest_ok = np.flatnonzero(origin.ok)
    baseline = np.full((len(order), n), np.nan)
    started = time.perf_counter()
    for row, i in enumerate(order):
        lengths = nx.single_source_dijkstra_path_length(graph, int(origin.node[i]),
                                                        weight="weight")
        for j in dest_ok:
            network_s = lengths.get(int(origin.node[j]))
            if network_s is not None:
                baseline[row, j] = np.rint(snap_s[i] + network_s + snap_s[j])
    nx_s = time.perf_counter() - started
    per_origin = nx_s / len(order)
    nx_all_s = per_origin * int(origin.ok.sum())
    label = "" if not args.nx_origins else f" ({len(order)} origins, extrapolated)"
    print(f"networkx:       {nx_all_s:8.2f} s   {n * n / nx_all_s:12,.0f} pairs/s   "
          f"{1 / per_origin:8.1f} origins/s{label}")
    print(f"speed-up: {nx_all_s / ours_s:.1f}x (goal >= 20x)")

    same = np.array_equal(ours[order], baseline, equal_nan=True)
    differing = int((~((ours[order] == baseline) | (np.isnan(ours[order])
                                                     & np.isnan(baseline)))).sum())
    print(f"matrices equal: {same} ({differing} differing cells)")
    print(f"peak resident memory of the process: {_peak_rss_mb():,.0f} MB")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
