"""Benchmark: walk + transit travel-time matrix of the Porto Alegre H3 cells by range-RAPTOR.

All 1,227 cells of ``poa_hexgrid.csv`` to all cells, EPTC buses + Trensurb metro on
2019-05-13, one departure per minute over a window (07:00-08:00 by default), median
(nearest-rank p50), straight-line walk links (4.8 km/h, circuity 1.3, at most 20 min).
Prints the timetable build time (first build, then from the cache), the numba compile time,
the routing wall time, peak memory and throughput in origin-minutes per second.

Note: the EPTC sample feed only has trips between 11:20 and 17:50, so a morning window routes
on the metro alone; ``--departure 14:00`` exercises the whole network.

Run from the project root::

    .venv/bin/python benchmarks/bench_transit.py --no-streets
    .venv/bin/python benchmarks/bench_transit.py --no-streets --departure 14:00
    .venv/bin/python benchmarks/bench_transit.py --no-streets --origins 200   # a sample

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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TRANSPORT_ACCESS_DATA", ROOT.parent / "shared" / "data"))


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _hhmm_to_s(value: str) -> int:
    hours, minutes = value.split(":")
    return int(hours) * 3600 + int(minutes) * 60


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures; return the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--no-streets",
        action="store_true",
        help="straight-line walk links (the only mode this benchmark runs)",
    )
    parser.add_argument("--departure", default="07:00", help="first departure, HH:MM")
    parser.add_argument("--window-min", type=int, default=60, help="departure minutes")
    parser.add_argument("--percentile", type=float, default=50.0)
    parser.add_argument("--max-rides", type=int, default=4)
    parser.add_argument("--max-time-min", type=int, default=120)
    parser.add_argument("--origins", type=int, default=0, help="route from the first N cells")
    parser.add_argument(
        "--keep-numba-cache",
        action="store_true",
        help="reuse numba's on-disk cache (by default compile afresh)",
    )
    args = parser.parse_args(argv)
    if not args.no_streets:
        parser.error("only --no-streets is supported: street links come from the street layer")

    cache_root = Path(tempfile.mkdtemp(prefix="bench-transit-"))
    os.environ["TRANSPORT_ACCESS_CACHE"] = str(cache_root / "cache")
    if not args.keep_numba_cache:
        os.environ["NUMBA_CACHE_DIR"] = str(cache_root / "numba")

    import numpy as np
    import pandas as pd

    from transport_access.load.gtfs import merge_feeds, read_gtfs
    from transport_access.network.timetable import build_timetable
    from transport_access.routing.straight_line import straight_line_links
    from transport_access.routing.transit import transit_percentiles, warm_up_kernels

    folder = DATA / "porto-alegre"
    started = time.perf_counter()
    feed = merge_feeds(
        {name: read_gtfs(folder / f"poa_{name}.zip", name=name) for name in ("eptc", "trensurb")}
    )
    read_s = time.perf_counter() - started

    started = time.perf_counter()
    timetable = build_timetable(feed, "2019-05-13")
    first_build_s = time.perf_counter() - started
    started = time.perf_counter()
    timetable = build_timetable(feed, "2019-05-13")
    cached_build_s = time.perf_counter() - started

    compile_s = warm_up_kernels()

    cells = pd.read_csv(folder / "poa_hexgrid.csv")
    walk = {"speed_kmh": 4.8, "circuity": 1.3, "max_seconds": 20 * 60}
    started = time.perf_counter()
    stops = (timetable.stop_lon, timetable.stop_lat)
    access = straight_line_links(cells["lon"], cells["lat"], *stops, **walk)
    egress = access.transpose()
    transfers = straight_line_links(*stops, *stops, **walk)
    walk_only = straight_line_links(cells["lon"], cells["lat"], cells["lon"], cells["lat"], **walk)
    links_s = time.perf_counter() - started

    n_origins = args.origins or len(cells)
    started = time.perf_counter()
    median = transit_percentiles(
        timetable,
        access=access,
        egress=egress,
        transfers=transfers,
        walk_only=walk_only,
        departure_s=_hhmm_to_s(args.departure),
        window_min=args.window_min,
        percentiles=[args.percentile],
        max_rides=args.max_rides,
        max_time_s=args.max_time_min * 60,
        origins=np.arange(n_origins),
    )
    routing_s = time.perf_counter() - started

    reachable = np.isfinite(median[..., 0])
    lines = [
        "transit benchmark: Porto Alegre, EPTC + Trensurb, 2019-05-13, straight-line walk",
        f"  cells                 {len(cells):,} destinations, {n_origins:,} origins",
        f"  window                {args.departure} + {args.window_min} min, p{args.percentile:g}, "
        f"max {args.max_rides} rides, {args.max_time_min} min",
        f"  timetable             {timetable.n_trips:,} trips, {timetable.n_patterns:,} patterns, "
        f"{timetable.n_stops:,} stops",
        f"  links                 access {access.n_links:,}, transfers {transfers.n_links:,}, "
        f"walk-only {walk_only.n_links:,} ({links_s:.2f} s)",
        f"  read feeds            {read_s:.2f} s",
        f"  timetable build       {first_build_s:.2f} s first, {cached_build_s:.2f} s cached",
        f"  numba compile         {compile_s:.2f} s"
        + (" (numba cache kept)" if args.keep_numba_cache else ""),
        f"  routing wall time     {routing_s:.2f} s",
        f"  throughput            {n_origins * args.window_min / routing_s:,.0f} origin-minutes/s",
        f"  peak memory (RSS)     {_peak_rss_mb():,.0f} MB",
        f"  reachable pairs (p50) {reachable.mean():.1%}; median of reachable "
        f"{np.median(median[..., 0][reachable]) / 60:.1f} min",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
