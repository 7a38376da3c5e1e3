"""The scenarios run: every scenario of a study against one baseline, scored and ranked.

:func:`run_scenarios` is what ``transport-access scenarios CONFIG`` calls::

    from transport_access.config import load_study
    from transport_access.study_data import load_study_data
    from transport_access.scenarios.run import run_scenarios, write_scenario_outputs

    data = load_study_data(load_study("configs/dorset.yaml", data_root="../shared/data"))
    run = run_scenarios(data)
    write_scenario_outputs(run, "outputs/scenarios")

How it works. The street network (OSM graphs, or the straight-line fallback) is built once.
The baseline transit access (:func:`transport_access.access.run.run_access` on the study's
timetables) is computed once, and kept in the on-disk cache
(:mod:`transport_access._cache`) keyed by the feed's content, the LSOAs, the destinations,
the street model and every run parameter: a second run on the same inputs reads it back.
Each scenario (:func:`transport_access.scenarios.edits.apply_study_scenarios`) then gets a
network that shares the baseline's streets and differs only in its timetable (rebuilt from
the edited feed) and its demand-responsive zones, and is routed with identical parameters
and scored by :func:`transport_access.scenarios.score.score_scenario`.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from transport_access._log import get_logger

if TYPE_CHECKING:
    from transport_access.access.run import AccessResult
    from transport_access.network.streets import StreetNetwork
    from transport_access.scenarios.score import ScenarioScore
    from transport_access.study_data import StudyData

log = get_logger(__name__)

#: Bump when the cached baseline's layout or meaning changes.
_BASELINE_FORMAT = 1
OUTPUT_FILES = {
    "scores": "scenario_scores.csv",
    "by_destination": "scenario_scores_by_destination.csv",
    "by_imd_decile": "scenario_gains_by_imd_decile.csv",
    "changes": "scenario_changes.csv",
    "lsoa_csv": "scenario_lsoa_changes.csv",
    "lsoa_parquet": "scenario_lsoa_changes.parquet",
    "metadata": "scenario_metadata.json",
}


@dataclass
class ScenarioRun:
    """Every scenario of a study, scored against the baseline.

    Attributes
    ----------
    baseline : AccessResult
        Transit access on the study's timetables.
    results : dict of str to AccessResult
        Scenario name -> transit access on its edited timetables.
    scores : dict of str to ScenarioScore
        Scenario name -> :func:`transport_access.scenarios.score.score_scenario` output.
    ranking : pandas.DataFrame
        :func:`transport_access.scenarios.score.rank_scenarios`: one row per scenario.
    changes : pandas.DataFrame
        One row per modification of every scenario (trips, vehicle-hours and -km, cost).
    timings_s : dict of str to float
        ``baseline`` (routing seconds; 0 when read from the cache), ``streets`` and one
        entry per scenario (timetable rebuild and routing), seconds.
    baseline_from_cache : bool
        True when the baseline was read from the on-disk cache.
    parameters : dict
        The access run's parameters (window, routing, destinations...).
    """

    baseline: AccessResult
    results: dict[str, AccessResult] = field(default_factory=dict)
    scores: dict[str, ScenarioScore] = field(default_factory=dict)
    ranking: pd.DataFrame = field(default_factory=pd.DataFrame)
    changes: pd.DataFrame = field(default_factory=pd.DataFrame)
    timings_s: dict[str, float] = field(default_factory=dict)
    baseline_from_cache: bool = False
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def lsoa_changes(self) -> pd.DataFrame:
        """Per-LSOA changes of every scenario (:data:`score.LSOA_CHANGE_COLUMNS`)."""
        return _concat([s.lsoa_changes for s in self.scores.values()])

    @property
    def by_destination(self) -> pd.DataFrame:
        """One row per scenario and destination type (:attr:`ScenarioScore.destinations`)."""
        return _concat([s.destinations for s in self.scores.values()])

    @property
    def by_imd_decile(self) -> pd.DataFrame:
        """Residents gaining and losing access by threshold and IMD decile, every scenario."""
        return _concat([s.by_decile for s in self.scores.values()])


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


# ------------------------------------------------------------------------------ baseline cache


def _frame_digest(frame: Any) -> str:
    table = pd.DataFrame(frame).drop(columns="geometry", errors="ignore")
    return hashlib.sha256(
        pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes()).hexdigest()


def baseline_cache_key(data: StudyData, run_options: dict[str, Any], *,
                       street_model: str) -> str:
    """The cache key of a baseline access run.

    Parameters
    ----------
    data : StudyData
        Its feed, service date, LSOAs and destinations are hashed by content.
    run_options : dict
        The options given to :func:`transport_access.access.run.run_access` (JSON-able).
    street_model : str
        ``"straight lines"`` or the OSM extract's path.

    Returns
    -------
    str
        ``"scenario-baseline-{16 hex digits}"``.
    """
    import transport_access
    from transport_access._cache import cache_key
    from transport_access.access.run import study_destinations, study_routing_parameters
    from transport_access.network.timetable import _feed_digest

    study = data.study
    inputs = []
    if street_model != "straight lines" and Path(street_model).exists():
        inputs.append(street_model)
    params = {
        "format": _BASELINE_FORMAT,
        "version": transport_access.__version__,
        "feed": _feed_digest(data.feed) if data.feed is not None else None,
        "service_date": str(data.service_date),
        "lsoas": _frame_digest(data.lsoas[["lsoa_code", "population"]]),
        "lsoa_points": _frame_digest(data.lsoas.geometry.get_coordinates()),
        "destinations": {s.name: [_frame_digest(s.points), s.weight, s.capacity,
                                  list(s.thresholds_min), s.arrive_by, s.return_window]
                         for s in study_destinations(data)},
        "routing": vars(study_routing_parameters(data)),
        "windows": [w.model_dump() if hasattr(w, "model_dump") else str(w)
                    for w in study.departure_windows],
        "street_model": street_model,
        "options": run_options,
    }
    return cache_key("scenario-baseline", inputs, params)


def _read_cached_baseline(path: Path, data: StudyData) -> AccessResult | None:
    from transport_access.access.run import AccessResult, _wide

    meta_path = path.with_suffix(".json")
    if not path.exists() or not meta_path.exists():
        return None
    try:
        long = pd.read_parquet(path)
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:  # a half-written cache entry: route again
        log.warning("scenarios: cached baseline %s unreadable (%s); routing it again", path,
                    error)
        return None
    return AccessResult(
        long=long, wide=_wide(long, data.lsoas), lsoas=data.lsoas, boundaries=data.boundaries,
        parameters=meta["parameters"], inputs=meta["inputs"],
        destinations=pd.DataFrame(meta["destinations"]),
        notes=[*meta["notes"], f"Baseline read from the cache ({path.name})."],
        attribution=meta["attribution"],
    )


def _write_cached_baseline(path: Path, result: AccessResult) -> None:
    tmp = path.with_suffix(".tmp")
    result.long.to_parquet(tmp, index=False)
    meta = {"parameters": result.parameters, "inputs": result.inputs, "notes": result.notes,
            "attribution": result.attribution,
            "destinations": (result.destinations.to_dict("records")
                             if result.destinations is not None else [])}
    path.with_suffix(".json").write_text(json.dumps(meta, default=str), encoding="utf-8")
    os.replace(tmp, path)


# ------------------------------------------------------------------------------ the run


def run_scenarios(
    data: StudyData,
    *,
    baseline: AccessResult | None = None,
    streets: StreetNetwork | None = None,
    window: str | None = None,
    window_min: int | None = None,
    return_journeys: bool = True,
    walk_only_max_min: float | None = None,
    main_threshold_min: dict[str, float] | None = None,
    cache: bool = True,
    scheduler: Any = None,
    chunk_origins: int | None = None,
) -> ScenarioRun:
    """Apply, route and score every scenario of a study against its baseline.

    Parameters
    ----------
    data : StudyData
        From :func:`transport_access.study_data.load_study_data`; needs timetables and
        ``study.scenarios``.
    baseline : AccessResult, optional
        Access on the baseline timetables when already computed with the same window
        options (e.g. ``make demo``'s all-modes ``run_access(data)``: only its transit rows
        are used); by default read from the cache or computed. Scoring checks that the
        window, routing parameters and destinations agree.
    streets : StreetNetwork, optional
        The street graphs; built (or read from the cache) from the study's OSM extract when
        configured, else the straight-line fallback.
    window : str, optional
        Departure window of the study; the first by default.
    window_min : int, optional
        Use only the first ``window_min`` minutes of the window (quick runs, tests).
    return_journeys : bool
        Also score arrive-by and return-journey measures where the study asks for them.
    walk_only_max_min : float, optional
        Cap on walking all the way within transit (see ``run_access``).
    main_threshold_min : dict of str to float, optional
        Destination type -> headline threshold, minutes (the type's largest by default).
    cache : bool
        Read and write the baseline in the on-disk cache.
    scheduler : str or distributed.Client, optional
        Route the baseline and every scenario on a Dask cluster (``"local:N"``, an address
        or a client), connected once for the whole run; same results.
    chunk_origins : int, optional
        LSOAs per task with ``scheduler``.

    Returns
    -------
    ScenarioRun

    Raises
    ------
    ValueError
        The study has no timetable.
    ScenarioError
        A scenario file is invalid or does not fit the timetable.
    """
    from transport_access._cache import cache_dir
    from transport_access.access.run import run_access, study_walk_only_max_min
    from transport_access.cluster import maybe_connect
    from transport_access.routing.api import TransportNetwork, build_transport_network
    from transport_access.scenarios.edits import apply_study_scenarios
    from transport_access.scenarios.score import rank_scenarios, score_scenario

    study = data.study
    walk_only_max_min = study_walk_only_max_min(study, walk_only_max_min)
    if data.feed is None or data.service_date is None:
        raise ValueError("the study has no timetable for its service day (data.timetables): "
                         "there is nothing for scenarios to change")
    started = time.perf_counter()
    timings: dict[str, float] = {}
    osm_path = str(study.resolve(study.data.osm)) if study.data.osm else None
    if streets is None and osm_path:
        streets = build_transport_network(osm=osm_path).streets
    timings["streets"] = time.perf_counter() - started
    street_model = (osm_path or "OpenStreetMap streets") if streets is not None \
        else "straight lines"
    options = {"modes": ["transit"], "window": window, "window_min": window_min,
               "return_journeys": return_journeys, "walk_only_max_min": walk_only_max_min}

    def network(feed: Any, drt_zones: list[Any]) -> TransportNetwork:
        # Streets shared: only the timetable arrays (and transfer links) are rebuilt.
        return TransportNetwork(streets=streets, feed=feed, osm_path=osm_path,
                                drt_zones=list(drt_zones))

    def access(net: TransportNetwork) -> AccessResult:
        return run_access(data, network=net, modes=["transit"], window=window,
                          window_min=window_min, return_journeys=return_journeys,
                          walk_only_max_min=walk_only_max_min, scheduler=client,
                          chunk_origins=chunk_origins)

    with maybe_connect(scheduler) as client:
        from_cache = False
        if baseline is None:
            path = None
            if cache:
                key = baseline_cache_key(data, options, street_model=street_model)
                path = cache_dir() / f"{key}.parquet"
                baseline = _read_cached_baseline(path, data)
                from_cache = baseline is not None
            if baseline is None:
                t0 = time.perf_counter()
                baseline = access(network(data.feed, []))
                timings["baseline"] = time.perf_counter() - t0
                if path is not None:
                    _write_cached_baseline(path, baseline)
                    log.info("scenarios: baseline routed in %.1f s and cached as %s",
                             timings["baseline"], path.name)
            else:
                timings["baseline"] = 0.0
                log.info("scenarios: baseline read from the cache (%s)", path.name)
        else:
            timings["baseline"] = 0.0
            log.info("scenarios: baseline given; not routed again")

        applied = apply_study_scenarios(data, streets=streets)
        log.info("scenarios: %d to score for %s: %s", len(applied), study.area.name,
                 ", ".join(applied))
        run = ScenarioRun(baseline=baseline, baseline_from_cache=from_cache,
                          parameters=dict(baseline.parameters))
        for name, (feed, changes) in applied.items():
            t0 = time.perf_counter()
            run.results[name] = access(network(feed, changes.drt_zones))
            timings[name] = time.perf_counter() - t0
            run.scores[name] = score_scenario(baseline, run.results[name], changes, data.lsoas,
                                              main_threshold_min=main_threshold_min)
            log.info("scenarios: %s routed in %.1f s", name, timings[name])
        run.ranking = rank_scenarios(run.scores.values())
        run.changes = _concat([s.changes for s in run.scores.values()])
        run.timings_s = timings
        log.info("scenarios for %s done in %.1f s; ranking: %s", study.area.name,
                 time.perf_counter() - started, ", ".join(run.ranking["scenario"]))
        return run


# ------------------------------------------------------------------------------ outputs


def write_scenario_outputs(
    run: ScenarioRun, out_dir: str | os.PathLike[str]
) -> dict[str, Path]:
    """Write the ranked scores, the modifications, per-LSOA changes and the metadata.

    Parameters
    ----------
    run : ScenarioRun
        From :func:`run_scenarios`.
    out_dir : path-like
        Folder; created if needed.

    Returns
    -------
    dict of str to pathlib.Path
        ``scores`` (``scenario_scores.csv``: ranked, one row per scenario),
        ``by_destination`` (``scenario_scores_by_destination.csv``), ``by_imd_decile``
        (``scenario_gains_by_imd_decile.csv``), ``changes`` (``scenario_changes.csv``: one
        row per modification: trips, vehicle-hours and -km a day, cost),
        ``lsoa_csv`` and ``lsoa_parquet`` (``scenario_lsoa_changes``: per LSOA, scenario,
        destination and measure, baseline, scenario and change; the CSV also carries LSOA
        name, local authority, population and IMD decile), ``metadata``
        (``scenario_metadata.json``: parameters, ranking rule, timings, attribution).
    """
    import transport_access
    from transport_access.scenarios import score

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    tables = {"scores": run.ranking, "by_destination": run.by_destination,
              "by_imd_decile": run.by_imd_decile, "changes": run.changes}
    for key, table in tables.items():
        written[key] = out / OUTPUT_FILES[key]
        table.to_csv(written[key], index=False)

    lsoa = run.lsoa_changes
    written["lsoa_parquet"] = out / OUTPUT_FILES["lsoa_parquet"]
    lsoa.to_parquet(written["lsoa_parquet"], index=False)
    attributes = [c for c in ("lsoa_name", "lad_name", "population", "imd_decile")
                  if c in run.baseline.lsoas.columns]
    if len(lsoa) and attributes:
        lsoa = lsoa.merge(pd.DataFrame(run.baseline.lsoas[["lsoa_code", *attributes]]),
                          on="lsoa_code", how="left")
        lsoa = lsoa[["lsoa_code", *attributes,
                     *[c for c in score.LSOA_CHANGE_COLUMNS if c != "lsoa_code"]]]
    written["lsoa_csv"] = out / OUTPUT_FILES["lsoa_csv"]
    lsoa.to_csv(written["lsoa_csv"], index=False)

    metadata = {
        "package": "transport-access",
        "version": transport_access.__version__,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "parameters": run.parameters,
        "baseline_from_cache": run.baseline_from_cache,
        "timings_s": {k: round(v, 2) for k, v in run.timings_s.items()},
        "definitions_and_ranking_rule": score.__doc__,
        "notes": run.baseline.notes,
        "attribution": run.baseline.attribution,
        "files": {key: path.name for key, path in written.items()},
    }
    written["metadata"] = out / OUTPUT_FILES["metadata"]
    written["metadata"].write_text(json.dumps(metadata, indent=2, default=str),
                                   encoding="utf-8")
    log.info("scenario outputs written to %s: %s", out,
             ", ".join(p.name for p in written.values()))
    return written
