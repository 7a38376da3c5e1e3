"""Accessibility for a whole study: route once per mode, reduce to measures, write outputs.

:func:`run_access` is what ``transport-access access CONFIG`` calls::

    from transport_access.config import load_study
    from transport_access.study_data import load_study_data
    from transport_access.access.run import run_access, write_access_outputs

    data = load_study_data(load_study("configs/dorset.yaml", data_root="../shared/data"))
    result = run_access(data)
    write_access_outputs(result, "outputs/access")

How it works. Origins are the LSOA population-weighted centroids. The destination sets of
the study file (schools by category, GP sites, jobs by zone, points) are pooled, so each mode
is routed **once** from every LSOA to every destination:

* **transit** (public transport with walking, or walking all the way when that is faster,
  as in the DfT Journey Time Statistics "PT/walk": the walk-only alternative is not cut at
  ``max_walk_min``, only at ``max_time_min``) for every departure minute of the study's
  window (07:00-10:00: 180 minutes). Each chunk of origins is reduced as it arrives: per
  departure minute the nearest destination of each type, from which the nearest-rank
  percentiles (``nearest_p50_min``) and the reliability shares; and per origin-destination
  pair the window's first percentile (the median), from which cumulative, gravity and 2SFCA
  measures. The per-minute array is never held whole.
* **walk**, **cycle**, **car**: one street matrix each (the straight-line fallback without an
  OSM network); times do not depend on the departure minute.

Measures in the long table (``measure`` column; values are floats):

===========================  ===========================================================
``nearest_p{p}_min``         minutes to the nearest destination, percentile ``p`` of the
                             window's minutes (NaN: none reachable within max_time_min)
``reliability_{t}_min``      transit: share of departure minutes reaching one within t
``within_{t}_min``           destinations within t minutes (pair medians)
``{weight}_within_{t}_min``  opportunities (jobs, pupils) within t minutes
``gravity``                  sum of weight x exp(-beta t); beta = ln 2 / half-life (30 min)
``two_step_fca_{d}_min``     2SFCA supply per 1,000 residents, catchment d minutes (the
                             set's first threshold); supply = pupils, jobs, or 1 per site
``arrive_by_ok``             transit: 1 when some destination is reached by ``arrive_by``
``return_feasible``          transit: 1 when one destination works both ways (below)
``return_ok``                transit: 1 when home is reachable from some destination in
                             the afternoon window
``morning_departure_min``    latest on-time departure from home (minutes after midnight)
``arrival_min``              arrival at the destination on that journey (minutes after
                             midnight)
``latest_return_min``        latest departure home in the afternoon window (minutes after
                             midnight)
===========================  ===========================================================

Return journeys follow :func:`transport_access.access.measures.return_journeys`: an
arrive-by search from the homes, and a forward search from the destinations over the
afternoon window; the destination chosen is the one with the shortest morning journey among
those that work both ways.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from transport_access._log import get_logger
from transport_access.access import measures as am
from transport_access.errors import InvalidValueError

if TYPE_CHECKING:

    from transport_access.routing.api import RoutingParameters, TransportNetwork
    from transport_access.study_data import StudyData

log = get_logger(__name__)

DEFAULT_MODES = ("transit", "walk", "cycle", "car")
#: 2SFCA results are supply per this many residents.
TWO_STEP_PER_RESIDENTS = 1000.0
OUTPUT_FILES = {
    "long_parquet": "access_lsoa.parquet",
    "long_csv": "access_lsoa.csv",
    "by_imd_decile": "access_by_imd_decile.csv",
    "gpkg": "access.gpkg",
    "metadata": "access_metadata.json",
}


@dataclass
class Destinations:
    """One destination type to measure access to.

    Attributes
    ----------
    name : str
        The type, e.g. ``"gp"`` or ``"secondary"`` (the study file's key).
    points : pandas.DataFrame
        ``id`` (unique str), ``lon``, ``lat`` (degrees) and any weight/capacity columns.
    weight : str or None
        Column of opportunities for cumulative and gravity measures (``jobs``, ``pupils``);
        None counts destinations.
    capacity : str or None
        Column of supply for 2SFCA; None gives 1 per destination (GP sites).
    thresholds_min : tuple of float
        Thresholds for cumulative, reliability and "access desert" measures, minutes.
    catchment_min : float or None
        2SFCA catchment, minutes; the first threshold when None.
    arrive_by : str or None
        ``HH:MM``: measure whether residents arrive by this time (transit).
    return_window : tuple of str or None
        ``(leave_after_earliest, leave_after_latest)``, ``HH:MM``: also measure the way home.
    """

    name: str
    points: pd.DataFrame
    weight: str | None = None
    capacity: str | None = None
    thresholds_min: tuple[float, ...] = (30.0, 60.0)
    catchment_min: float | None = None
    arrive_by: str | None = None
    return_window: tuple[str, str] | None = None


@dataclass
class AccessResult:
    """Accessibility of a study's LSOAs.

    Attributes
    ----------
    long : pandas.DataFrame
        ``lsoa_code``, ``destination``, ``mode``, ``measure``, ``value`` (float): one row per
        LSOA, destination type, mode and measure (module docstring for measures and units).
    wide : pandas.DataFrame
        One row per LSOA: its attributes (name, LA, population, IMD, rural/urban) and one
        column ``{destination}_{mode}_{measure}`` per measure.
    lsoas : geopandas.GeoDataFrame
        The LSOAs (centroids) with ``rural_urban`` added.
    boundaries : geopandas.GeoDataFrame or None
        LSOA polygons when the study has them.
    equity : dict of str to pandas.DataFrame
        :func:`transport_access.access.equity.equity_tables` output.
    parameters : dict
        Everything that shaped the result (window, modes, routing, thresholds, decay).
    inputs : list of str
        Data files (absolute paths) the study read.
    destinations : pandas.DataFrame
        One row per destination type: ``destination``, ``n_destinations``, ``weight``,
        ``capacity``, ``thresholds_min``.
    unreachable : pandas.DataFrame
        ``destination``, ``mode``, ``n_lsoas``, ``population``: LSOAs reaching no
        destination of the type within ``max_time_min`` (median minute).
    notes : list of str
        Plain statements about the run (straight-line streets, skipped jobs...).
    attribution : str
        Attribution text the outputs must show (from the sources registry).
    """

    long: pd.DataFrame
    wide: pd.DataFrame
    lsoas: Any
    boundaries: Any = None
    equity: dict[str, pd.DataFrame] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    destinations: pd.DataFrame | None = None
    unreachable: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    attribution: str = ""


# ------------------------------------------------------------------------------ engine


def _pool(sets: Sequence[Destinations]) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Union of every set's points (one row per distinct id and place) and each set's columns."""
    keys, frames = [], []
    for s in sets:
        key = (s.points["id"].astype(str) + "@" + s.points["lon"].round(6).astype(str) + ","
               + s.points["lat"].round(6).astype(str))
        keys.append(key.to_numpy())
        frames.append(pd.DataFrame({"id": key.to_numpy(), "lon": s.points["lon"].to_numpy(float),
                                    "lat": s.points["lat"].to_numpy(float)}))
    union = pd.concat(frames, ignore_index=True).drop_duplicates("id").reset_index(drop=True)
    position = pd.Series(np.arange(len(union)), index=union["id"])
    columns = {s.name: position.loc[k].to_numpy() for s, k in zip(sets, keys, strict=True)}
    return union, columns


def _percentile_names(percentiles: Sequence[int]) -> list[str]:
    return [f"nearest_p{p}_min" for p in percentiles]


class _Collector:
    """Gathers (destination, mode, measure) -> values per origin, into the long table.

    A chunk of origins cannot finish 2SFCA (it pools every origin's residents): it adds the
    measure with ``values=None`` and its catchment mask (origins x destinations, packed
    bits) in ``within``, and :func:`_assemble` computes it over all origins.
    """

    def __init__(self, n_origins: int) -> None:
        self.n = n_origins
        self.items: list[tuple[str, str, str, np.ndarray | None]] = []
        self.within: dict[int, tuple[np.ndarray, int]] = {}

    def add(self, destination: str, mode: str, measure: str, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        if len(values) != self.n:
            raise AssertionError(f"{measure}: {len(values)} values for {self.n} origins")
        self.items.append((destination, mode, measure, values))

    def add_pooled(self, destination: str, mode: str, measure: str, within: np.ndarray) -> None:
        """A measure finished over all origins: keep this chunk's catchment mask."""
        if within.shape[0] != self.n:
            raise AssertionError(f"{measure}: {within.shape[0]} rows for {self.n} origins")
        self.within[len(self.items)] = (np.packbits(within, axis=1), within.shape[1])
        self.items.append((destination, mode, measure, None))

    def frame(self, origin_ids: np.ndarray) -> pd.DataFrame:
        if not self.items:
            return pd.DataFrame(columns=["origin_id", "destination", "mode", "measure", "value"])
        k = len(self.items)
        return pd.DataFrame({
            "origin_id": np.tile(np.asarray(origin_ids), k),
            "destination": np.repeat([i[0] for i in self.items], self.n),
            "mode": np.repeat([i[1] for i in self.items], self.n),
            "measure": np.repeat([i[2] for i in self.items], self.n),
            "value": np.concatenate([i[3] for i in self.items]),
        })


def _transit_window(
    network: TransportNetwork, origins: pd.DataFrame, union: pd.DataFrame,
    columns: dict[str, np.ndarray], sets: Sequence[Destinations], *, date: Any,
    departure_s: int, window_min: int, step_min: int, percentiles: Sequence[int],
    params: RoutingParameters, walk_s: np.ndarray,
) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Route transit over the window, reducing each origin chunk as it comes.

    ``walk_s`` (origins x destinations, seconds, NaN beyond max_time) is the walk-all-the-way
    alternative of any length, taken whenever it is faster than the journey found.
    """
    from transport_access.routing.api import _per_minute_seconds
    from transport_access.routing.transit import nearest_rank_percentiles

    n_o = len(origins)
    pair_s = np.full((n_o, len(union)), np.inf, dtype=np.float32)
    nearest = {s.name: np.full((n_o, len(percentiles)), np.inf) for s in sets}
    share = {s.name: np.zeros((n_o, len(s.thresholds_min))) for s in sets}
    for rows, seconds in _per_minute_seconds(
        network, origins, union, frozenset({"walk", "transit"}), date, departure_s, window_min,
        params,
    ):
        if step_min > 1:
            seconds = seconds[:, ::step_min, :]
        walk = np.where(np.isnan(walk_s[rows]), np.inf, walk_s[rows]).astype(np.float32)
        seconds = np.minimum(seconds, walk[:, None, :])
        pair_s[rows] = nearest_rank_percentiles(seconds, [percentiles[0]], axis=1)[..., 0]
        for s in sets:
            per_minute = seconds[:, :, columns[s.name]].min(axis=2)
            nearest[s.name][rows] = nearest_rank_percentiles(per_minute, percentiles, axis=1)
            share[s.name][rows] = am.reliability_array(per_minute, s.thresholds_min)
    return pair_s, nearest, share


def _return_clock(return_window: tuple[str, str]) -> np.ndarray:
    """Departure minutes home (seconds after midnight), first to last of the window."""
    from transport_access.routing.api import parse_departure

    first_s = parse_departure(return_window[0])[1]
    last_s = parse_departure(return_window[1])[1]
    return first_s + 60 * np.arange((last_s - first_s) // 60 + 1)


def _afternoon_latest(
    network: TransportNetwork, homes: pd.DataFrame, points: pd.DataFrame,
    return_window: tuple[str, str], *, date: Any, params: RoutingParameters,
) -> np.ndarray:
    """Latest departure minute home from each destination in the afternoon window.

    Returns (homes x points) seconds after midnight, NaN when no minute of the window gets
    home within ``max_time``. Each destination's search is its own, so a cluster splits
    this by destination (:func:`_afternoon_chunk`).
    """
    from transport_access.routing.api import _per_minute_seconds

    clock = _return_clock(return_window)
    latest = np.full((len(homes), len(points)), np.nan)
    for rows, seconds in _per_minute_seconds(
        network, points, homes, frozenset({"walk", "transit"}), date, int(clock[0]),
        len(clock), params,
    ):
        latest[:, rows] = am.latest_reachable_minute(seconds, clock, axis=1).T
    return latest


def _return_journeys(
    network: TransportNetwork, origins: pd.DataFrame, s: Destinations, *, date: Any,
    params: RoutingParameters, walk_s: np.ndarray, latest: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Morning arrive-by from homes, afternoon window from the destinations to the homes.

    ``walk_s`` (homes x destinations, seconds, NaN beyond max_time) is walking all the way,
    used both ways (walk times are taken as symmetric) whenever it is the better option.
    ``latest`` is :func:`_afternoon_latest` for these homes when already computed.
    """
    from transport_access.routing.api import _transit_inputs, parse_departure
    from transport_access.routing.transit import arrive_by

    deadline_s = parse_departure(s.arrive_by)[1]
    inputs = _transit_inputs(network, date, origins, s.points, params)
    # Demand-responsive zones count when they run in the minute before the deadline, as in
    # routing.api.arrive_by_matrix.
    inputs = inputs.with_drt([bool(z.available(deadline_s - 60)) for z in inputs.drt])
    morning = arrive_by(
        inputs.timetable, access=inputs.access, egress=inputs.egress,
        transfers=inputs.transfers, walk_only=inputs.walk_only, arrive_by_s=deadline_s,
        board_slack_s=params.board_slack_s, max_rides=params.max_rides,
        max_time_s=params.max_time_s,
    )
    # Walking all the way: leave home at the last whole minute that still arrives in time.
    walk = np.where(np.isnan(walk_s), np.inf, walk_s)
    walk_departure = np.floor((deadline_s - walk) / 60.0) * 60.0
    use_walk = np.isfinite(walk) & ~(morning.departure_s >= walk_departure)
    departure_s = np.where(use_walk, walk_departure, morning.departure_s)
    travel_s = np.where(use_walk, walk, morning.travel_time_s)
    if s.return_window is None:
        latest = np.zeros(departure_s.shape)  # no way home asked for: any counts
    else:
        if latest is None:
            latest = _afternoon_latest(network, origins, s.points, s.return_window, date=date,
                                       params=params)
        latest = np.where(np.isfinite(walk), float(_return_clock(s.return_window)[-1]),
                          latest)
    return am.return_choice_array(departure_s, travel_s, latest, arrive_by_s=deadline_s)


def compute_access(
    origins: pd.DataFrame,
    destinations: Sequence[Destinations],
    *,
    network: TransportNetwork,
    date: Any = None,
    departure: str = "07:00",
    window_min: int = 180,
    step_min: int = 1,
    percentiles: Sequence[int] = (50,),
    modes: Iterable[str] = DEFAULT_MODES,
    params: RoutingParameters | None = None,
    gravity_beta_per_min: float = am.DEFAULT_GRAVITY_BETA_PER_MIN,
    return_journeys: bool = True,
    walk_only_max_min: float | None = None,
    scheduler: Any = None,
    chunk_origins: int | None = None,
) -> pd.DataFrame:
    """Every accessibility measure from a set of origins to destination types.

    Parameters
    ----------
    origins : pandas.DataFrame
        ``id``, ``lon``, ``lat`` (degrees) and ``population`` (residents, for 2SFCA).
    destinations : sequence of Destinations
        The destination types.
    network : TransportNetwork
        Streets (or None for straight lines) and timetables.
    date : datetime.date or str, optional
        Service day; needed for transit.
    departure : str
        First departure minute of the window, ``HH:MM``.
    window_min : int
        Length of the window in minutes (departures ``departure + 0 .. window_min - 1``).
    step_min : int
        Use every ``step_min``-th departure minute of the window.
    percentiles : sequence of int
        Nearest-rank percentiles of the window for ``nearest_p{p}_min``; the first is used
        for the pair times behind cumulative, gravity and 2SFCA measures.
    modes : iterable of str
        Any of ``transit`` (walk + public transport), ``walk``, ``cycle``, ``car``.
    params : RoutingParameters, optional
        Speeds, walk limits, boarding slack, rides and ``max_time_min``.
    gravity_beta_per_min : float
        Gravity decay per minute.
    return_journeys : bool
        Run the arrive-by and return-journey searches of sets that ask for them.
    walk_only_max_min : float, optional
        Longest walk-all-the-way alternative that transit journeys (and return journeys)
        may take, minutes; ``params.max_walk_min`` when None, as every other walk leg
        (``params.max_time_min`` gives DfT JTS "PT/walk" times). The ``walk`` mode itself
        is not cut.
    scheduler : str or distributed.Client, optional
        Run on a Dask cluster (:mod:`transport_access.cluster`): ``"local:N"``, a scheduler
        address, or a client. Origins go to the workers in chunks (the afternoon searches of
        return journeys in chunks of destinations); the result equals the single-process one.
    chunk_origins : int, optional
        Origins per task with ``scheduler``; about eight chunks per worker by default.

    Returns
    -------
    pandas.DataFrame
        Long table: ``origin_id``, ``destination``, ``mode``, ``measure``, ``value``.
    """
    from transport_access.routing.api import (
        ALL_MODES,
        RoutingParameters,
        check_points,
        parse_departure,
    )

    params = params or RoutingParameters()
    modes = [m.strip().lower() for m in modes]
    unknown = sorted(set(modes) - set(ALL_MODES))
    if unknown:
        raise InvalidValueError("modes", f"{unknown}: choose from {list(ALL_MODES)}.")
    if window_min < 1 or step_min < 1:
        raise InvalidValueError("departure window", "window_min and step_min must be >= 1.")
    percentiles = [int(p) for p in percentiles]
    o = check_points(origins, what="origins")
    if "population" not in origins.columns:
        raise InvalidValueError("origins", "have no 'population' column (residents per origin, "
                                "used by 2SFCA).", "Add it (LSOA population).")
    population = pd.to_numeric(origins["population"], errors="coerce").to_numpy(float)
    sets = []
    for s in destinations:
        if len(s.points) == 0:
            log.warning("%s: no destinations; its measures are skipped", s.name)
            continue
        points = check_points(s.points, what=f"{s.name} destinations")
        for column in {s.weight, s.capacity} - {None}:
            points[column] = pd.to_numeric(s.points[column], errors="coerce").to_numpy(float)
        sets.append(replace(s, points=points))
    union, columns = _pool(sets)
    departure_s = parse_departure(departure)[1]
    log.info("access: %d origins; %s (%d distinct places); modes %s", len(o),
             ", ".join(f"{s.name} {len(s.points)}" for s in sets), len(union), ", ".join(modes))

    plan = _AccessPlan(
        sets=sets, union=union, columns=columns, modes=modes, date=date,
        departure_s=departure_s, window_min=window_min, step_min=step_min,
        percentiles=percentiles, params=params, beta=gravity_beta_per_min,
        return_journeys=return_journeys and "transit" in modes,
        walk_only_max_min=walk_only_max_min,
    )
    if scheduler is None:
        latest = {s.name: _afternoon_latest(network, o, s.points, s.return_window, date=date,
                                            params=params)
                  for s in plan.return_sets()}
        parts = [_access_chunk((0, len(o)), 0, network=network, origins=o, plan=plan,
                               latest=latest)]
    else:
        parts = _distributed_chunks(network, o, plan, scheduler=scheduler,
                                    chunk_origins=chunk_origins)
    return _assemble(parts, o["id"].to_numpy(), population, plan)


@dataclass
class _AccessPlan:
    """What every chunk of origins shares: destinations, window, routing parameters."""

    sets: list[Destinations]
    union: pd.DataFrame
    columns: dict[str, np.ndarray]
    modes: list[str]
    date: Any
    departure_s: int
    window_min: int
    step_min: int
    percentiles: list[int]
    params: RoutingParameters
    beta: float
    return_journeys: bool
    walk_only_max_min: float | None

    def return_sets(self) -> list[Destinations]:
        """Sets whose way home is searched (arrive-by and a return window)."""
        if not self.return_journeys:
            return []
        return [s for s in self.sets if s.arrive_by is not None and s.return_window]


def _access_chunk(
    bounds: tuple[int, int], index: int, *, network: Any, origins: pd.DataFrame,
    plan: _AccessPlan, latest: dict[str, np.ndarray],
) -> _Collector:
    """Every measure of the origins ``origins[bounds[0]:bounds[1]]`` (2SFCA as masks)."""
    from transport_access.cluster import resolve_network
    from transport_access.routing.api import _street_seconds

    network = resolve_network(network)
    o = origins.iloc[bounds[0]:bounds[1]].reset_index(drop=True)
    union, columns, params = plan.union, plan.columns, plan.params
    out = _Collector(len(o))
    street_s: dict[str, np.ndarray] = {}
    # Walk first: transit journeys may always walk all the way instead (JTS "PT/walk").
    for mode in sorted(plan.modes, key=lambda m: (m != "walk", m == "transit")):
        started = time.perf_counter()
        if mode == "transit":
            walk_s = _walk_only(street_s, network, o, union, params, plan.walk_only_max_min)
            pair_s, nearest, share = _transit_window(
                network, o, union, columns, plan.sets, date=plan.date,
                departure_s=plan.departure_s, window_min=plan.window_min,
                step_min=plan.step_min, percentiles=plan.percentiles, params=params,
                walk_s=walk_s,
            )
            pair_min = np.where(np.isfinite(pair_s), pair_s / 60.0, np.nan)
        else:
            street_s[mode] = _street_seconds(network, mode, o, union, params)
            pair_min = street_s[mode] / 60.0
            nearest = {s.name: np.repeat(
                am.nearest_array(pair_min[:, columns[s.name]])[0][:, None] * 60.0,
                len(plan.percentiles), axis=1) for s in plan.sets}
            share = None
        for s in plan.sets:
            _add_measures(out, s, mode, pair_min[:, columns[s.name]], nearest[s.name],
                          share[s.name] if share is not None else None, plan.percentiles,
                          plan.beta)
        log.info("access: %s routed and measured in %.1f s", mode, time.perf_counter() - started)

    if plan.return_journeys:
        for s in plan.sets:
            if s.arrive_by is None:
                continue
            started = time.perf_counter()
            walk_s = _walk_only(street_s, network, o, union, params, plan.walk_only_max_min)
            rows = latest[s.name][bounds[0]:bounds[1]] if s.name in latest else None
            result = _return_journeys(network, o, s, date=plan.date, params=params,
                                      walk_s=walk_s[:, columns[s.name]], latest=rows)
            _add_return(out, s, result)
            log.info("access: %s arrive by %s%s in %.1f s", s.name, s.arrive_by,
                     f" and home {s.return_window[0]}-{s.return_window[1]}"
                     if s.return_window else "", time.perf_counter() - started)
    return out


def _afternoon_chunk(
    bounds: tuple[int, int], index: int, *, network: Any, homes: pd.DataFrame,
    points: pd.DataFrame, return_window: tuple[str, str], date: Any,
    params: RoutingParameters,
) -> np.ndarray:
    """:func:`_afternoon_latest` for the destinations ``points[bounds[0]:bounds[1]]``."""
    from transport_access.cluster import resolve_network

    return _afternoon_latest(resolve_network(network), homes,
                             points.iloc[bounds[0]:bounds[1]].reset_index(drop=True),
                             return_window, date=date, params=params)


def _distributed_chunks(
    network: TransportNetwork, o: pd.DataFrame, plan: _AccessPlan, *, scheduler: Any,
    chunk_origins: int | None,
) -> list[_Collector]:
    """The chunks of :func:`compute_access` on a Dask cluster, in origin order."""
    from transport_access import cluster

    if "transit" in plan.modes:
        # Built once here, sent to every worker with the network.
        network.prepare(plan.date, plan.params, plan.union)
    with cluster.connect(scheduler) as client:
        workers = cluster.n_workers(client)
        # One copy per worker for the afternoon searches and the origins alike.
        shared_network = client.scatter(network, broadcast=True, hash=False)
        try:
            latest = {}
            for s in plan.return_sets():
                size = cluster.default_chunk_size(len(s.points), workers)
                blocks = cluster.run_chunks(
                    client, _afternoon_chunk, cluster.chunk_bounds(len(s.points), size),
                    description=f"access {s.name} way home",
                    shared={"network": shared_network, "homes": o, "points": s.points,
                            "return_window": s.return_window, "date": plan.date,
                            "params": plan.params})
                latest[s.name] = np.concatenate(blocks, axis=1)
            size = (chunk_origins if chunk_origins is not None
                    else cluster.default_chunk_size(len(o), workers))
            return cluster.run_chunks(
                client, _access_chunk, cluster.chunk_bounds(len(o), size),
                description="access origins",
                shared={"network": shared_network, "origins": o, "plan": plan,
                        "latest": latest})
        finally:
            client.cancel([shared_network])


def _assemble(parts: Sequence[_Collector], origin_ids: np.ndarray, population: np.ndarray,
              plan: _AccessPlan) -> pd.DataFrame:
    """Join the chunks' measures in origin order; finish 2SFCA over all origins."""
    first = parts[0]
    if any(len(p.items) != len(first.items) for p in parts):
        raise AssertionError("access chunks returned different measures")
    by_name = {s.name: s for s in plan.sets}
    out = _Collector(len(origin_ids))
    for k, (destination, mode, measure, values) in enumerate(first.items):
        if values is not None:
            out.add(destination, mode, measure, np.concatenate([p.items[k][3] for p in parts]))
            continue
        within = np.concatenate([np.unpackbits(p.within[k][0], axis=1,
                                               count=p.within[k][1]).astype(bool)
                                 for p in parts])
        s = by_name[destination]
        capacity = (s.points[s.capacity].to_numpy(float) if s.capacity
                    else np.ones(len(s.points)))
        access, n_unserved = am.two_step_within(within, population, capacity,
                                                per_residents=TWO_STEP_PER_RESIDENTS)
        if n_unserved:
            log.info("2SFCA %s by %s: %d destination(s) have no resident within the "
                     "catchment (%s)", destination, mode, n_unserved, measure)
        out.add(destination, mode, measure, access)
    return out.frame(origin_ids)


def _walk_only(
    street_s: dict[str, np.ndarray], network: TransportNetwork, o: pd.DataFrame,
    union: pd.DataFrame, params: RoutingParameters, cap_min: float | None,
) -> np.ndarray:
    """Walk-all-the-way seconds for transit journeys, cut at ``cap_min`` (``max_walk_min``
    when None)."""
    from transport_access.routing.api import _street_seconds

    if "walk" not in street_s:  # walk is not among the modes: route it for transit only
        street_s["walk"] = _street_seconds(network, "walk", o, union, params)
    walk = street_s["walk"]
    cap_s = (params.max_walk_min if cap_min is None else cap_min) * 60.0
    return np.where(walk <= cap_s, walk, np.nan)


def _add_measures(
    out: _Collector, s: Destinations, mode: str, minutes: np.ndarray, nearest_s: np.ndarray,
    share: np.ndarray | None, percentiles: Sequence[int], beta: float,
) -> None:
    nearest_min = np.where(np.isfinite(nearest_s), nearest_s / 60.0, np.nan)
    for k, name in enumerate(_percentile_names(percentiles)):
        out.add(s.name, mode, name, nearest_min[:, k])
    if share is not None:
        for k, t in enumerate(s.thresholds_min):
            out.add(s.name, mode, f"reliability_{t:g}_min", share[:, k])
    counts = am.cumulative_array(minutes, s.thresholds_min)
    for k, t in enumerate(s.thresholds_min):
        out.add(s.name, mode, f"within_{t:g}_min", counts[:, k])
    weights = s.points[s.weight].to_numpy(float) if s.weight else None
    if weights is not None:
        totals = am.cumulative_array(minutes, s.thresholds_min, weights)
        for k, t in enumerate(s.thresholds_min):
            out.add(s.name, mode, f"{s.weight}_within_{t:g}_min", totals[:, k])
    out.add(s.name, mode, "gravity", am.gravity_array(minutes, beta_per_min=beta,
                                                      weights=weights))
    catchment = s.catchment_min if s.catchment_min is not None else s.thresholds_min[0]
    # 2SFCA shares each destination's supply among all origins: finished by _assemble.
    with np.errstate(invalid="ignore"):
        within = np.asarray(minutes, dtype=np.float64) <= catchment
    out.add_pooled(s.name, mode, f"two_step_fca_{catchment:g}_min", within)


def _add_return(out: _Collector, s: Destinations, result: dict[str, np.ndarray]) -> None:
    out.add(s.name, "transit", "arrive_by_ok", result["arrive_by_ok"].astype(float))
    if s.return_window is not None:
        out.add(s.name, "transit", "return_ok", result["return_ok"].astype(float))
        out.add(s.name, "transit", "return_feasible", result["feasible"].astype(float))
    for name in ("morning_departure_min", "arrival_min"):
        out.add(s.name, "transit", name, result[name])
    if s.return_window is not None:
        out.add(s.name, "transit", "latest_return_min", result["latest_return_min"])


# ------------------------------------------------------------------------------ study


def _lonlat(frame: Any) -> pd.DataFrame:
    geometry = frame.geometry
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        geometry = geometry.to_crs(4326)
    return pd.DataFrame({"lon": geometry.x.to_numpy(float), "lat": geometry.y.to_numpy(float)})


def study_destinations(data: StudyData) -> list[Destinations]:
    """The destination types of a study file, from its loaded tables.

    Parameters
    ----------
    data : StudyData
        From :func:`transport_access.study_data.load_study_data`.

    Returns
    -------
    list of Destinations
        Schools (filtered by category; weight and capacity ``pupils``), GP sites (counted,
        1 per site), jobs by zone (weight and capacity ``jobs``; skipped with a log message
        when there is no jobs table or no zone locations), and points files.
    """
    study = data.study
    sets: list[Destinations] = []
    for name, spec in study.destinations.items():
        common = {
            "thresholds_min": tuple(float(t) for t in spec.thresholds_min),
            "arrive_by": (spec.return_journey.arrive_by if spec.return_journey
                          else spec.arrive_by),
            "return_window": ((spec.return_journey.leave_after_earliest,
                               spec.return_journey.leave_after_latest)
                              if spec.return_journey else None),
        }
        if spec.source == "schools":
            if data.schools is None:
                log.info("%s: no schools file configured; skipped", name)
                continue
            schools = data.schools
            keep = (schools["category"].isin(spec.categories) if spec.categories
                    else pd.Series(True, index=schools.index))
            pupils = schools["pupils"].to_numpy(float)
            if spec.include_sixth_forms:
                sixth = _school_sixth_forms(schools, name)
                keep = keep | sixth
                # A school's roll counts all ages, not its sixth form: count sites.
                pupils = np.full(len(schools), np.nan)
            schools, pupils = schools[keep.to_numpy()], pupils[keep.to_numpy()]
            points = pd.concat([pd.DataFrame({"id": schools["urn"].astype(str).to_numpy(),
                                              "pupils": pupils}),
                                _lonlat(schools)], axis=1)
            n_no_pupils = int(points["pupils"].isna().sum())
            if 0 < n_no_pupils < len(points):
                log.info("%s: %d of %d schools have no pupil count; they count 0 pupils in "
                         "pupil-weighted and 2SFCA measures", name, n_no_pupils, len(points))
            if len(points) and n_no_pupils == len(points):
                # GIAS gives FE colleges no pupil count: count sites instead of pupils.
                log.info("%s: no school has a pupil count; sites are counted instead", name)
                sets.append(Destinations(name, points, **common))
            else:
                sets.append(Destinations(name, points, weight="pupils", capacity="pupils",
                                         **common))
        elif spec.source == "gp":
            if data.gp is None:
                log.info("%s: no GP file configured; skipped", name)
                continue
            points = pd.concat([pd.DataFrame({"id": data.gp["code"].astype(str).to_numpy()}),
                                _lonlat(data.gp)], axis=1)
            sets.append(Destinations(name, points, **common))
        elif spec.source == "jobs":
            points = _job_points(data, name)
            if points is not None:
                sets.append(Destinations(name, points, weight="jobs", capacity="jobs", **common))
        elif spec.source == "points":
            from transport_access.routing.api import read_points

            points = read_points(study.resolve(spec.path), what=f"{name} destinations")
            sets.append(Destinations(name, points, **common))
    return sets


_SIXTH_FORM_WARNED: set[tuple[str, int]] = set()


def _sixth_form_flags(schools: pd.DataFrame) -> pd.Series:
    """The schools' ``sixth_form`` (nullable boolean; all missing when the column is)."""
    if "sixth_form" not in schools.columns:
        return pd.Series(pd.NA, index=schools.index, dtype="boolean")
    return schools["sixth_form"].astype("boolean")


def _school_sixth_forms(schools: pd.DataFrame, name: str) -> pd.Series:
    """Schools with a sixth form (False where the schools file cannot say, with a warning)."""
    flags = _sixth_form_flags(schools)
    unknown = int(flags.isna().sum())
    if unknown:
        # Said once per run: every scenario and isochrone batch asks again.
        if (name, unknown) not in _SIXTH_FORM_WARNED:
            _SIXTH_FORM_WARNED.add((name, unknown))
            log.warning("%s: the schools file does not say which of %d schools have a sixth form "
                        "(no OfficialSixthForm or StatutoryHighAge column); only the "
                        "set's categories are destinations. Use the full GIAS "
                        "edubasealldata file.", name, unknown)
    else:
        log.info("%s: %d schools with a sixth form added", name,
                 int((flags & ~schools["category"].isin(["post-16", "further-education"]))
                     .sum()))
    return flags.fillna(False).astype(bool)


def _job_points(data: StudyData, name: str) -> pd.DataFrame | None:
    jobs = data.jobs
    if jobs is None:
        log.info("%s: no jobs table (data.jobs is not configured, or not available offline); "
                 "job accessibility is skipped", name)
        return None
    if {"lon", "lat"} <= set(jobs.columns):
        located = jobs.dropna(subset=["lon", "lat"])
    else:
        centroids = pd.concat([data.lsoas[["lsoa_code"]].reset_index(drop=True),
                               _lonlat(data.lsoas)], axis=1)
        located = jobs.merge(centroids, left_on="zone_code", right_on="lsoa_code", how="inner")
    if len(located) < len(jobs):
        log.warning("%s: %d of %d job zones have no location and are left out", name,
                    len(jobs) - len(located), len(jobs))
    if located.empty:
        log.info("%s: no job zone could be located; job accessibility is skipped", name)
        return None
    return pd.DataFrame({"id": located["zone_code"].astype(str).to_numpy(),
                         "lon": located["lon"].to_numpy(float),
                         "lat": located["lat"].to_numpy(float),
                         "jobs": located["jobs"].to_numpy(float)})


def study_routing_parameters(data: StudyData) -> RoutingParameters:
    """The routing parameters a study file sets (speeds, walk limit, slack, rides, max time)."""
    from transport_access.routing.api import RoutingParameters

    study = data.study
    return RoutingParameters(
        walk_speed_kmh=study.modes.walk_speed_kmh, cycle_speed_kmh=study.modes.cycle_speed_kmh,
        max_walk_min=study.modes.max_walk_min, board_slack_s=study.routing.board_slack_s,
        max_rides=study.routing.max_rides, max_time_min=float(study.routing.max_time_min),
        circuity=study.modes.circuity, max_snap_m=study.modes.max_snap_m,
    )


def study_walk_only_max_min(study: Any, override: float | None = None) -> float:
    """Minutes a public-transport journey may instead be walked all the way: ``override``,
    else the study's ``routing.walk_only_max_min``, else its ``modes.max_walk_min``."""
    if override is not None:
        return float(override)
    if study.routing.walk_only_max_min is not None:
        return float(study.routing.walk_only_max_min)
    return float(study.modes.max_walk_min)


def study_window(study: Any, window: str | None = None,
                 window_min: int | None = None) -> tuple[Any, int]:
    """A study's departure window by name (the first by default) and the minutes used.

    Parameters
    ----------
    study : Study
        The study file's settings.
    window : str, optional
        Name of one of ``study.departure_windows``.
    window_min : int, optional
        Use only the first ``window_min`` minutes (quick runs).

    Returns
    -------
    window : DepartureWindow
    minutes : int
        Departure minutes routed: the window's length, or ``window_min`` when shorter.

    Raises
    ------
    InvalidValueError
        No departure window has that name; the message lists those there are.
    """
    windows = {w.name: w for w in study.departure_windows}
    if window is not None and window not in windows:
        raise InvalidValueError("window", f"{window!r} is not a departure window of the "
                                f"study; choose from {list(windows)}.")
    chosen = windows[window] if window else study.departure_windows[0]
    length = chosen.length_min if window_min is None else min(int(window_min), chosen.length_min)
    return chosen, length


def study_network(data: StudyData) -> TransportNetwork:
    """The study's network: its OSM streets when configured (else straight lines) and its
    timetables (``data.feed``)."""
    from transport_access.routing.api import TransportNetwork, build_transport_network

    study = data.study
    network = (build_transport_network(osm=study.resolve(study.data.osm)) if study.data.osm
               else TransportNetwork())
    network.feed = data.feed
    return network


def run_access(
    data: StudyData,
    *,
    network: TransportNetwork | None = None,
    modes: Iterable[str] | None = None,
    window: str | None = None,
    window_min: int | None = None,
    gravity_half_life_min: float = am.DEFAULT_GRAVITY_HALF_LIFE_MIN,
    return_journeys: bool = True,
    rural_urban_file: str | os.PathLike[str] | None = None,
    walk_only_max_min: float | None = None,
    scheduler: Any = None,
    chunk_origins: int | None = None,
) -> AccessResult:
    """Accessibility of every LSOA of a study, by mode and destination type, with equity tables.

    Parameters
    ----------
    data : StudyData
        From :func:`transport_access.study_data.load_study_data`.
    network : TransportNetwork, optional
        Streets and timetables; by default the study's timetables (``data.feed``) with the
        study's OSM extract when configured, else straight-line street legs.
    modes : iterable of str, optional
        Modes to measure: ``transit``, ``walk``, ``cycle``, ``car``; the study's
        ``modes.include`` (all four by default) when None.
    window : str, optional
        Name of the study's departure window; the first one by default (07:00-10:00).
    window_min : int, optional
        Use only the first ``window_min`` minutes of the window (quick runs).
    gravity_half_life_min : float
        Minutes at which the gravity weight halves (beta = ln 2 / half-life).
    return_journeys : bool
        Run arrive-by and return-journey searches where the study file asks for them.
    rural_urban_file : path-like, optional
        ONS Rural Urban Classification by LSOA; without it a density proxy is used.
    walk_only_max_min : float, optional
        Cap on walking all the way within transit and return journeys (see
        :func:`compute_access`); the study's ``routing.walk_only_max_min``, else its
        ``modes.max_walk_min``, when None.
    scheduler : str or distributed.Client, optional
        Route on a Dask cluster (``"local:N"``, an address or a client); same results.
    chunk_origins : int, optional
        LSOAs per task with ``scheduler``.

    Returns
    -------
    AccessResult
    """
    from transport_access.access.equity import equity_tables, rural_urban_class

    study = data.study
    started = time.perf_counter()
    notes: list[str] = []
    chosen, length = study_window(study, window, window_min)
    modes = [m.strip().lower() for m in (modes if modes is not None else study.modes.include)]

    if network is None:
        network = study_network(data)
    if network.streets is None:
        notes.append("No OpenStreetMap street network: walk, cycle and car legs are straight "
                     f"lines x {study.modes.circuity:g} at the mode's speed (car 40 km/h).")
    if "transit" in modes and (network.feed is None or data.service_date is None):
        log.warning("access: the study has no timetables for its service day; transit is "
                    "skipped")
        notes.append("No timetables: transit measures are skipped.")
        modes = [m for m in modes if m != "transit"]
    if study.routing.engine != "embedded":
        notes.append("Accessibility uses the embedded engine (the study asks for "
                     f"{study.routing.engine}).")

    params = study_routing_parameters(data)
    sets = study_destinations(data)
    if any(spec.source == "jobs" for spec in study.destinations.values()) and \
            not any(study.destinations[s.name].source == "jobs" for s in sets):
        notes.append("No jobs table: job accessibility is skipped.")
    wants_sixth = [n for n, spec in study.destinations.items()
                   if spec.source == "schools" and spec.include_sixth_forms]
    if wants_sixth and data.schools is not None and \
            _sixth_form_flags(data.schools).isna().any():
        notes.append(f"The schools file does not say which schools have a sixth form: "
                     f"{', '.join(wants_sixth)} counts colleges and 16-19 schools only.")
    lsoas = data.lsoas
    origins = pd.concat([pd.DataFrame({"id": lsoas["lsoa_code"].to_numpy(),
                                       "population": lsoas["population"].to_numpy(float)}),
                         _lonlat(lsoas)], axis=1)
    log.info("access for %s: %d LSOAs, window %s %s-%s (%d minutes used, every %d), "
             "service day %s", study.area.name, len(origins), chosen.name, chosen.start,
             chosen.end, length, chosen.step_min, data.service_date)

    beta = am.beta_from_half_life(gravity_half_life_min)
    walk_only = study_walk_only_max_min(study, walk_only_max_min)
    long = compute_access(
        origins, sets, network=network, date=data.service_date, departure=chosen.start,
        window_min=length, step_min=chosen.step_min, percentiles=chosen.percentiles,
        modes=modes, params=params, gravity_beta_per_min=beta, return_journeys=return_journeys,
        walk_only_max_min=walk_only, scheduler=scheduler, chunk_origins=chunk_origins,
    ).rename(columns={"origin_id": "lsoa_code"})

    classes = rural_urban_class(lsoas, boundaries=data.boundaries, ruc_path=rural_urban_file)
    lsoa_table = lsoas.merge(classes, on="lsoa_code", how="left")
    thresholds = {s.name: list(s.thresholds_min) for s in sets}
    desert = f"nearest_p{chosen.percentiles[0]}_min"
    equity = equity_tables(long, lsoa_table, thresholds_min=thresholds, desert_measure=desert)
    unreachable = _unreachable(long, lsoa_table, desert)
    for row in unreachable.itertuples():
        if row.n_lsoas:
            log.warning("access: %d LSOA(s) (%s residents) reach no %s destination by %s within "
                        "%g min", row.n_lsoas, f"{row.population:,.0f}", row.destination,
                        row.mode, params.max_time_min)

    parameters = {
        "study": str(study.config_path) if study.config_path else None,
        "area": study.area.name,
        "service_date": str(data.service_date) if data.service_date else None,
        "departure_window": {"name": chosen.name, "start": chosen.start, "end": chosen.end,
                             "minutes_used": length, "step_min": chosen.step_min,
                             "percentiles": list(chosen.percentiles)},
        "modes": modes,
        "routing": asdict(params),
        "street_model": network.street_model,
        "walk_only_max_min": walk_only,
        "gravity": {"half_life_min": gravity_half_life_min, "beta_per_min": beta},
        "two_step_fca": {"per_residents": TWO_STEP_PER_RESIDENTS,
                         "catchment": "first threshold of each destination type"},
        "destinations": {s.name: {"n": len(s.points), "weight": s.weight,
                                  "capacity": s.capacity or "1 per destination",
                                  "thresholds_min": list(s.thresholds_min),
                                  "arrive_by": s.arrive_by,
                                  "return_window": list(s.return_window or [])}
                         for s in sets},
        "rural_urban": str(classes["rural_urban_source"].iloc[0]) if len(classes) else None,
        "concentration_index": "population-weighted over IMD rank, most deprived first; "
                               "negative = concentrated among the more deprived",
    }
    from transport_access.sources import study_data_paths

    inputs = [str(study.resolve(p, must_exist=False)) for p in study_data_paths(study)]
    if rural_urban_file:
        inputs.append(str(Path(rural_urban_file).resolve()))
    result = AccessResult(
        long=long, wide=_wide(long, lsoa_table), lsoas=lsoa_table, boundaries=data.boundaries,
        equity=equity, parameters=parameters, inputs=inputs,
        destinations=pd.DataFrame([{"destination": s.name, "n_destinations": len(s.points),
                                    "weight": s.weight, "capacity": s.capacity,
                                    "thresholds_min": list(s.thresholds_min)} for s in sets]),
        unreachable=unreachable, notes=notes,
        attribution=_study_attribution(study, network.street_model),
    )
    log.info("access for %s done in %.1f s: %d rows", study.area.name,
             time.perf_counter() - started, len(long))
    return result


def _unreachable(long: pd.DataFrame, lsoas: pd.DataFrame, measure: str) -> pd.DataFrame:
    nearest = long[long["measure"] == measure].merge(lsoas[["lsoa_code", "population"]],
                                                     on="lsoa_code")
    missing = nearest[nearest["value"].isna()]
    counts = nearest.groupby(["destination", "mode"], sort=False).size().rename("all")
    table = missing.groupby(["destination", "mode"], sort=False).agg(
        n_lsoas=("lsoa_code", "size"), population=("population", "sum"))
    return (table.reindex(counts.index, fill_value=0).reset_index()
            .astype({"n_lsoas": int, "population": float}))


_LSOA_COLUMNS = ["lsoa_code", "lsoa_name", "lad_code", "lad_name", "population", "imd_rank",
                 "imd_decile", "imd_quintile", "rural_urban", "density_per_km2"]


def _wide(long: pd.DataFrame, lsoas: pd.DataFrame) -> pd.DataFrame:
    columns = long["destination"] + "_" + long["mode"] + "_" + long["measure"]
    wide = (long.assign(column=columns)
            .pivot_table(index="lsoa_code", columns="column", values="value", aggfunc="first",
                         dropna=False, sort=False))
    wide.columns.name = None
    attributes = pd.DataFrame(lsoas[[c for c in _LSOA_COLUMNS if c in lsoas.columns]])
    return attributes.merge(wide.reset_index(), on="lsoa_code", how="left")


# ------------------------------------------------------------------------------ outputs


def write_access_outputs(
    result: AccessResult, out_dir: str | os.PathLike[str]
) -> dict[str, Path]:
    """Write the access tables, the GeoPackage and the metadata of a run.

    Parameters
    ----------
    result : AccessResult
        From :func:`run_access`.
    out_dir : path-like
        Folder; created if needed.

    Returns
    -------
    dict of str to pathlib.Path
        ``long_parquet`` (``access_lsoa.parquet``), ``long_csv`` (``access_lsoa.csv``: the
        long table with LSOA name, LA, population, IMD decile/quintile and rural/urban on
        every row, for Power BI), ``by_imd_decile`` (``access_by_imd_decile.csv``), one
        ``access_{table}.csv`` per other equity table, ``gpkg`` (``access.gpkg``, layer
        ``access_lsoa``: LSOA polygons when boundaries exist, else centroids, with the wide
        measures) and ``metadata`` (``access_metadata.json``: inputs with SHA-256,
        parameters, package version, notes, attribution).
    """
    import geopandas as gpd

    import transport_access
    from transport_access._cache import file_sha256

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}

    attributes = [c for c in _LSOA_COLUMNS if c in result.lsoas.columns and c != "lsoa_code"]
    long = result.long.merge(pd.DataFrame(result.lsoas[["lsoa_code", *attributes]]),
                             on="lsoa_code", how="left")
    long = long[["lsoa_code", *attributes, "destination", "mode", "measure", "value"]]
    written["long_parquet"] = out / OUTPUT_FILES["long_parquet"]
    long.to_parquet(written["long_parquet"], index=False)
    written["long_csv"] = out / OUTPUT_FILES["long_csv"]
    long.to_csv(written["long_csv"], index=False)

    for name, table in result.equity.items():
        written[name] = out / (OUTPUT_FILES["by_imd_decile"] if name == "by_imd_decile"
                               else f"access_{name}.csv")
        table.to_csv(written[name], index=False)
    if result.unreachable is not None:
        written["unreachable"] = out / "access_unreachable.csv"
        result.unreachable.to_csv(written["unreachable"], index=False)

    if result.boundaries is not None:
        shapes = result.boundaries[["lsoa_code", "geometry"]]
    else:
        shapes = result.lsoas[["lsoa_code", "geometry"]]
    layer = gpd.GeoDataFrame(shapes.merge(result.wide, on="lsoa_code", how="right"),
                             geometry="geometry", crs=shapes.crs)
    written["gpkg"] = out / OUTPUT_FILES["gpkg"]
    if written["gpkg"].exists():
        written["gpkg"].unlink()
    layer.to_file(written["gpkg"], layer="access_lsoa", driver="GPKG")

    inputs = []
    for path in result.inputs:
        exists = Path(path).exists()
        inputs.append({"path": path, "sha256": file_sha256(path) if exists else None})
    metadata = {
        "package": "transport-access",
        "version": transport_access.__version__,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "inputs": inputs,
        "parameters": result.parameters,
        "notes": result.notes,
        "measures": "see transport_access.access.run (module docstring); times in minutes, "
                    "clock times in minutes after midnight, shares in [0, 1]",
        "attribution": result.attribution,
        "files": {key: path.name for key, path in written.items()},
    }
    written["metadata"] = out / OUTPUT_FILES["metadata"]
    written["metadata"].write_text(json.dumps(metadata, indent=2, default=str),
                                   encoding="utf-8")
    log.info("access outputs written to %s: %s", out, ", ".join(p.name for p in
                                                                 written.values()))
    return written


def _study_attribution(study: Any, street_model: str) -> str:
    from transport_access.sources import attribution, sources_for_study

    text = attribution(sources_for_study(study))
    if street_model == "OpenStreetMap streets":
        text = (text + " Map data (c) OpenStreetMap contributors, ODbL.").strip()
    return text
