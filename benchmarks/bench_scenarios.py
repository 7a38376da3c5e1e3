"""Benchmark: the Dorset scenarios run, baseline routing time against each scenario's rerun.

Loads the Dorset study (``configs/dorset.yaml``), routes the baseline transit access once
and then each of the study's scenarios (Portland link, West Dorset DRT, route 24
withdrawn) on a network that shares the baseline's streets and rebuilds only the timetable
arrays. Prints the baseline routing time, each scenario's rerun time (timetable rebuild +
routing + scoring) and its ratio to the baseline; the goal is a ratio of at most 2.

Run from the project root::

    .venv/bin/python benchmarks/bench_scenarios.py                  # 07:00-10:00 window
    .venv/bin/python benchmarks/bench_scenarios.py --window-min 30  # a quick look

By default the on-disk cache is a fresh temporary folder, so timetables are really built
(reading the TransXChange and CIF timetables then takes about a minute, reported apart);
``--keep-cache`` uses ``$TRANSPORT_ACCESS_CACHE``. The baseline is never read from the
cache here. Data come from ``$TRANSPORT_ACCESS_DATA`` (default ``../shared/data``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TRANSPORT_ACCESS_DATA", ROOT.parent / "shared" / "data"))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures; return the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window-min", type=int, default=None,
                        help="use the first N minutes of the 07:00-10:00 window")
    parser.add_argument("--data-root", default=str(DATA))
    parser.add_argument("--no-return-journeys", action="store_true",
                        help="skip the arrive-by and return-journey searches")
    parser.add_argument("--keep-cache", action="store_true",
                        help="use $TRANSPORT_ACCESS_CACHE instead of a fresh folder")
    args = parser.parse_args(argv)
    if not args.keep_cache:
        os.environ["TRANSPORT_ACCESS_CACHE"] = tempfile.mkdtemp(prefix="bench-scenarios-")

    from transport_access.config import load_study
    from transport_access.routing.transit import warm_up_kernels
    from transport_access.scenarios.run import run_scenarios
    from transport_access.study_data import load_study_data

    started = time.perf_counter()
    data = load_study_data(load_study(ROOT / "configs" / "dorset.yaml",
                                      data_root=args.data_root))
    load_s = time.perf_counter() - started
    compile_s = warm_up_kernels()

    started = time.perf_counter()
    run = run_scenarios(data, window_min=args.window_min, cache=False,
                        return_journeys=not args.no_return_journeys)
    total_s = time.perf_counter() - started

    timings = run.timings_s
    baseline_s = timings["baseline"]
    window = run.parameters["departure_window"]
    lines = [
        "scenarios benchmark: Dorset and BCP, transit, "
        f"{len(run.baseline.lsoas)} LSOAs, service day {run.parameters['service_date']}",
        f"  window                {window['start']} + {window['minutes_used']} min, "
        f"return journeys {'off' if args.no_return_journeys else 'on'}, "
        f"{run.parameters['street_model']}",
        f"  load study data       {load_s:.2f} s",
        f"  numba compile         {compile_s:.2f} s",
        f"  streets               {timings['streets']:.2f} s (built once, shared)",
        f"  baseline routing      {baseline_s:.2f} s",
    ]
    worst = 0.0
    for name in run.results:
        ratio = timings[name] / baseline_s if baseline_s else float("nan")
        worst = max(worst, ratio)
        lines.append(f"  {name:<21} {timings[name]:.2f} s  ({ratio:.2f} x baseline)")
    lines += [
        f"  whole run             {total_s:.2f} s",
        f"  worst ratio           {worst:.2f} (goal <= 2)",
        "  ranking               " + ", ".join(run.ranking["scenario"]),
    ]
    print("\n".join(lines))
    return 0 if worst <= 2.0 else 1


if __name__ == "__main__":
    sys.exit(main())
