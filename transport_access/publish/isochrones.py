"""Isochrones: the area reachable from a point within 15, 30, 45 and 60 minutes, by mode.

:func:`compute_isochrones` turns travel times into polygons; :func:`run_isochrones` is the
batch job over a study's destinations (``transport-access isochrones CONFIG``)::

    from transport_access.config import load_study
    from transport_access.publish.isochrones import run_isochrones

    paths = run_isochrones(load_study("configs/dorset.yaml", data_root="../shared/data"),
                           out_dir="outputs/isochrones")

How a polygon is made (the tests hold the code to these rules):

* **On streets** (an OpenStreetMap network): the point is snapped to the nearest node of the
  mode's graph (the snap leg is covered at the snap speed: the mode's speed, walking for
  car, as in :mod:`transport_access.routing.streets`); a bounded Dijkstra search gives the
  time at every node. For a threshold ``T`` every directed edge ``u -> v`` whose tail is
  reached at ``t_u < T`` contributes the straight segment from ``u`` towards ``v`` of
  fraction ``min(1, (T - t_u) / edge_seconds)``: whole edges when there is time to walk them,
  partial edges cut at the remaining time. The segments (and the point with its snap leg)
  are buffered by ``buffer_m`` (75 m by default: a street's frontage) and dissolved.
* **Transit** (walk + public transport): RAPTOR gives the travel time from the point to
  every stop for each departure minute of the window; the nearest-rank ``percentile`` over
  the minutes is the time ``t_s`` at stop ``s``. The area is the direct walk area (walking
  all the way, as in the DfT "PT/walk" times, up to the threshold) united with the area
  walked on from each reached stop with the time left, ``T - t_s``, each such walk at most
  ``max_walk_min`` (the engine's egress limit; on streets the limit is applied at nodes, so
  a polygon may reach at most one partial edge beyond it). Per-stop searches run in chunks
  and are reduced to the earliest time at each node. Taking the percentile per stop and
  then the best stop is conservative: a place whose best stop changes from minute to minute
  may be reachable at the percentile yet be left out.
* **Straight-line estimate** (no street network): the area is the union of discs around the
  point (radius ``T x speed / circuity``) and, for transit, around each reached stop (radius
  ``min(T - t_s, max_walk) x walk speed / circuity``), the model the engine itself uses
  without streets. The ``method`` column says ``"straight-line estimate"``.

Geometry is built in a local transverse Mercator projection on a sphere of the radius the
engine's haversine distances use (so a disc of radius ``r`` holds exactly the points the
straight-line engine puts within ``r``; scale error under 0.01 % within 100 km of the
centre), then returned in EPSG:4326. Polygons of one point are nested (each threshold's
polygon is united with the smaller ones') and valid.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from transport_access._log import get_logger
from transport_access._progress import track
from transport_access.errors import InvalidValueError

if TYPE_CHECKING:
    import geopandas as gpd

    from transport_access.config import Study
    from transport_access.network.streets import ModeNetwork
    from transport_access.network.timetable import Timetable
    from transport_access.routing.api import RoutingParameters, TransportNetwork
    from transport_access.study_data import StudyData

log = get_logger(__name__)

ISOCHRONE_MODES = ("walk", "cycle", "car", "transit")
DEFAULT_THRESHOLDS_MIN = (15, 30, 45, 60)
#: Buffer around reachable street segments, metres.
DEFAULT_BUFFER_M = 75.0
METHOD_STREETS = "street network"
METHOD_STRAIGHT_LINE = "straight-line estimate"
#: Bump when the geometry rules change, so that batch outputs are recomputed.
FORMAT_VERSION = 1
COLUMNS = ["id", "mode", "threshold_min", "window", "percentile", "method", "geometry"]

_DISC_QUAD_SEGS = 32
_EDGE_QUAD_SEGS = 4
_DISTANCES_BUDGET = 20_000_000  # float64 cells of one chunk of per-stop searches (~160 MB)
_CAR_SNAP_SPEED_KMH = 4.8


# ------------------------------------------------------------------------------ geometry


@dataclass(frozen=True)
class _Spec:
    """What every point of one request shares (sent once to each worker process)."""

    graph_mode: str | None  # walk/cycle/car graph to search, None = straight lines
    speed_kmh: float | None  # network speed (None for car: stored edge times)
    snap_speed_kmh: float
    circuity: float
    thresholds_s: tuple[float, ...]
    buffer_m: float
    max_snap_m: float
    crs: str


@dataclass(frozen=True)
class _Job:
    """One point and the places it starts walking from.

    ``lon[0], lat[0]`` is the point (offset 0, no cap); the other rows are reached stops
    (offset = transit time to the stop, cap = longest walk from it), all in seconds.
    """

    lon: np.ndarray
    lat: np.ndarray
    offset_s: np.ndarray
    cap_s: np.ndarray


def _local_crs(lon: float, lat: float) -> str:
    """Transverse Mercator on the haversine sphere, centred near (lon, lat)."""
    from transport_access.routing.straight_line import EARTH_RADIUS_M

    # Rounding keeps the CRS stable when a few points change.
    return (f"+proj=tmerc +lat_0={round(lat, 1):.1f} +lon_0={round(lon, 1):.1f} +k=1 "
            f"+x_0=0 +y_0=0 +R={EARTH_RADIUS_M} +units=m +no_defs +type=crs")


def _transformer(crs: str, *, inverse: bool = False) -> Any:
    from pyproj import Transformer

    from transport_access.routing.straight_line import EARTH_RADIUS_M

    # Lon/lat on the sphere are taken as WGS84 lon/lat, as the haversine engine does.
    geographic = f"+proj=longlat +R={EARTH_RADIUS_M} +no_defs +type=crs"
    if inverse:
        return Transformer.from_crs(crs, geographic, always_xy=True)
    return Transformer.from_crs(geographic, crs, always_xy=True)


def _project(crs: str, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = _transformer(crs).transform(np.asarray(lon, float), np.asarray(lat, float))
    return np.asarray(x, float), np.asarray(y, float)


def _to_lonlat(crs: str, geometries: list[Any]) -> np.ndarray:
    import shapely

    inverse = _transformer(crs, inverse=True)

    def transform(xy: np.ndarray) -> np.ndarray:
        lon, lat = inverse.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(np.asarray(geometries, dtype=object), transform)


def _nest(polygons: list[Any]) -> list[Any]:
    """Unite each threshold's polygon with the smaller ones' (nesting despite rounding)."""
    import shapely

    out, previous = [], None
    for polygon in polygons:
        if previous is not None and not previous.is_empty:
            polygon = shapely.union(polygon, previous)
        polygon = shapely.make_valid(polygon) if not polygon.is_valid else polygon
        out.append(polygon)
        previous = polygon
    return out


def _disc_polygons(spec: _Spec, job: _Job, speed_kmh: float) -> list[Any]:
    """Straight-line estimate: union of discs, one list entry per threshold (metric CRS)."""
    import shapely

    x, y = _project(spec.crs, job.lon, job.lat)
    points = shapely.points(x, y)
    mps = speed_kmh / 3.6
    polygons = []
    for threshold_s in spec.thresholds_s:
        walk_s = np.minimum(threshold_s - job.offset_s, job.cap_s)
        keep = walk_s > 0
        radii = walk_s[keep] * mps / spec.circuity
        discs = shapely.buffer(points[keep], radii, quad_segs=_DISC_QUAD_SEGS)
        polygons.append(shapely.union_all(discs) if len(discs) else shapely.Polygon())
    return _nest(polygons)


_GRAPH_CACHE: dict[tuple, Any] = {}


def _graph_arrays(graph: ModeNetwork, speed_kmh: float | None, crs: str) -> tuple:
    """(csgraph, edge seconds, edge tails, node x, node y), kept per graph, speed and CRS."""
    key = (id(graph), speed_kmh, crs)
    if key not in _GRAPH_CACHE:
        if len(_GRAPH_CACHE) > 8:
            _GRAPH_CACHE.clear()
        seconds = graph.edge_seconds(speed_kmh)
        tails = np.repeat(np.arange(graph.n_nodes), np.diff(graph.indptr))
        x, y = _project(crs, graph.lon, graph.lat)
        _GRAPH_CACHE[key] = (graph, graph.csgraph(seconds), seconds, tails, x, y)
    return _GRAPH_CACHE[key][1:]


def _node_seconds(
    graph: ModeNetwork, spec: _Spec, job: _Job, csgraph: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Earliest time at every node from the job's sources; also their snap nodes and legs."""
    from scipy.sparse.csgraph import dijkstra

    from transport_access.routing.straight_line import _unit_xyz, haversine_m

    _, nearest = graph.kdtree.query(_unit_xyz(job.lon, job.lat))
    nearest = np.asarray(nearest, dtype=np.int64)
    snap_m = haversine_m(job.lon, job.lat, graph.lon[nearest], graph.lat[nearest])
    snap_s = snap_m / (spec.snap_speed_kmh / 3.6)
    start_s = job.offset_s + snap_s
    limit_s = np.minimum(max(spec.thresholds_s) - start_s, job.cap_s - snap_s)
    usable = (snap_m <= spec.max_snap_m) & (limit_s >= 0)

    times = np.full(graph.n_nodes, np.inf)
    chosen = np.flatnonzero(usable)
    chunk = max(1, _DISTANCES_BUDGET // max(graph.n_nodes, 1))
    for begin in range(0, len(chosen), chunk):
        rows = chosen[begin:begin + chunk]
        # One search per source; each is cut at its own budget after the shared limit.
        network_s = dijkstra(csgraph, directed=True, indices=nearest[rows],
                             limit=float(limit_s[rows].max()))
        network_s = np.atleast_2d(network_s)
        network_s[network_s > limit_s[rows, None]] = np.inf
        times = np.minimum(times, (start_s[rows, None] + network_s).min(axis=0))
    return times, nearest, np.where(usable, snap_s, np.inf)


def _street_polygons(graph: ModeNetwork, spec: _Spec, job: _Job) -> list[Any]:
    """Buffered reachable street segments, one list entry per threshold (metric CRS)."""
    import shapely

    csgraph, edge_s, tails, node_x, node_y = _graph_arrays(graph, spec.speed_kmh, spec.crs)
    times, nearest, snap_s = _node_seconds(graph, spec, job, csgraph)
    px, py = _project(spec.crs, job.lon[:1], job.lat[:1])
    reached = np.flatnonzero(np.isfinite(times[tails]))
    heads = graph.indices[reached]
    polygons = []
    for threshold_s in spec.thresholds_s:
        tail_s = times[tails[reached]]
        ok = tail_s < threshold_s
        edges, head = reached[ok], heads[ok]
        tail = tails[edges]
        with np.errstate(divide="ignore", invalid="ignore"):
            fraction = np.where(edge_s[edges] > 0,
                                (threshold_s - tail_s[ok]) / edge_s[edges], 1.0)
        fraction = np.clip(fraction, 0.0, 1.0)
        x0, y0 = node_x[tail], node_y[tail]
        x1 = x0 + fraction * (node_x[head] - x0)
        y1 = y0 + fraction * (node_y[head] - y0)
        coords = np.stack([np.column_stack([x0, y0]), np.column_stack([x1, y1])], axis=1)
        parts = list(shapely.linestrings(coords)) if len(coords) else []
        # The point itself, and its snap leg as far as the time allows.
        if np.isfinite(snap_s[0]) and threshold_s > 0:
            leg = min(1.0, threshold_s / snap_s[0]) if snap_s[0] > 0 else 1.0
            nx_, ny_ = node_x[nearest[0]], node_y[nearest[0]]
            parts.append(shapely.linestrings([[px[0], py[0]],
                                              [px[0] + leg * (nx_ - px[0]),
                                               py[0] + leg * (ny_ - py[0])]]))
            parts.append(shapely.points(px[0], py[0]))
        if not parts:
            polygons.append(shapely.Polygon())
            continue
        # Buffer each piece, then one cascaded union: the same area as buffering them all
        # as one collection (to 1e-11 relative on Porto Alegre), a hundred times faster.
        pieces = shapely.buffer(np.asarray(parts, dtype=object), spec.buffer_m,
                                quad_segs=_EDGE_QUAD_SEGS)
        polygons.append(shapely.union_all(pieces))
    return _nest(polygons)


def _polygons(spec: _Spec, job: _Job, graph: ModeNetwork | None) -> list[Any]:
    if graph is None:
        return _disc_polygons(spec, job, spec.speed_kmh or _CAR_SNAP_SPEED_KMH)
    return _street_polygons(graph, spec, job)


# Worker processes of the batch job: the spec and graph arrive once, jobs in chunks.
_WORKER: dict[str, Any] = {}


def _init_worker(spec: _Spec, graph: ModeNetwork | None) -> None:
    _WORKER["spec"], _WORKER["graph"] = spec, graph


def _wkb_polygons(spec: _Spec, graph: ModeNetwork | None, jobs: list[_Job]) -> list[list[bytes]]:
    import shapely

    # WKB keeps the transfer between processes small and exact.
    return [list(shapely.to_wkb(_polygons(spec, job, graph))) for job in jobs]


def _worker_polygons(jobs: list[_Job]) -> list[list[bytes]]:
    return _wkb_polygons(_WORKER["spec"], _WORKER["graph"], jobs)


def _cluster_polygons(jobs: list[_Job], index: int, *, spec: _Spec,
                      graph: ModeNetwork | None) -> list[list[bytes]]:
    return _wkb_polygons(spec, graph, jobs)


def _all_polygons(
    spec: _Spec, jobs: list[_Job], graph: ModeNetwork | None, *, workers: int,
    description: str, client: Any = None,
) -> list[list[Any]]:
    """Polygons of every job, in order, on ``workers`` processes (1: in this process), or on
    a Dask cluster when ``client`` is given (the graph sent once to every worker)."""
    import shapely

    if client is not None:
        from transport_access import cluster

        size = cluster.default_chunk_size(len(jobs), cluster.n_workers(client))
        blocks = cluster.run_chunks(
            client, _cluster_polygons, [jobs[a:b] for a, b in cluster.chunk_bounds(len(jobs),
                                                                                  size)],
            shared={"spec": spec, "graph": graph}, description=description)
        return [list(shapely.from_wkb(blobs)) for block in blocks for blobs in block]
    if workers <= 1 or len(jobs) < 2:
        return [_polygons(spec, job, graph)
                for job in track(jobs, total=len(jobs), description=description)]

    import multiprocessing

    size = max(1, min(8, len(jobs) // (4 * workers)))
    chunks = [jobs[i:i + size] for i in range(0, len(jobs), size)]
    # spawn: the parent has numba threads running, which fork does not copy safely.
    context = multiprocessing.get_context("spawn")
    out: list[list[Any]] = []
    with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                             initializer=_init_worker, initargs=(spec, graph)) as pool:
        for result in track(pool.map(_worker_polygons, chunks), total=len(chunks),
                            description=description):
            out.extend([list(shapely.from_wkb(blobs)) for blobs in result])
    return out


# ------------------------------------------------------------------------------ routing


def _check_thresholds(thresholds_min: Iterable[float]) -> tuple[float, ...]:
    values = sorted({float(t) for t in thresholds_min})
    if not values or values[0] <= 0 or not all(np.isfinite(values)):
        raise InvalidValueError("thresholds_min", f"{list(thresholds_min)}: give positive "
                                "minutes, e.g. 15,30,45,60.")
    return tuple(values)


def _identity_links(n: int) -> Any:
    from transport_access.routing._links import Links

    return Links(np.arange(n + 1, dtype=np.int64), np.arange(n, dtype=np.int32),
                 np.zeros(n, dtype=np.int32), n)


def stop_travel_seconds(
    network: TransportNetwork,
    points: pd.DataFrame,
    *,
    date: dt.date,
    departure_s: int,
    window_min: int,
    percentile: int,
    params: RoutingParameters,
) -> tuple[Timetable, np.ndarray]:
    """Walk + public transport time from each point to every stop, percentile of the window.

    Parameters
    ----------
    network : TransportNetwork
        With a timetable (``feed``); streets or the straight-line fallback for walk legs.
    points : pandas.DataFrame
        ``id``, ``lon``, ``lat`` (degrees), as from
        :func:`transport_access.routing.api.check_points`.
    date : datetime.date
        Service day.
    departure_s : int
        First departure minute of the window, seconds after midnight.
    window_min : int
        Departure minutes in the window.
    percentile : int
        Nearest-rank percentile over the minutes (1..100).
    params : RoutingParameters
        Walk speed and limit, board slack, rides, longest journey.

    Returns
    -------
    timetable : Timetable
        The routed day's timetable (stop coordinates in ``stop_lon``, ``stop_lat``).
    seconds : numpy.ndarray of float64, shape (n_points, n_stops)
        Arrival at each stop by vehicle or transfer walk, minus the departure minute;
        ``inf`` where not reached within ``max_time_min``. Stops reached only by the first
        walk are ``inf`` (the direct walk area covers them).
    """
    from transport_access.routing.api import _links, _warn_if_window_outside_service
    from transport_access.routing.transit import (
        iter_transit_travel_times,
        nearest_rank_percentiles,
    )

    timetable = network.timetable(date)
    n_stops = timetable.n_stops
    access = _links(network, "walk", points["lon"].to_numpy(float),
                    points["lat"].to_numpy(float), timetable.stop_lon, timetable.stop_lat,
                    params, params.max_walk_s)
    _warn_if_window_outside_service(timetable, departure_s, departure_s + 60 * (window_min - 1))
    seconds = np.full((len(points), n_stops), np.inf)
    # Egress from stop i to "destination" i at 0 s: the destinations are the stops.
    for rows, per_minute in iter_transit_travel_times(
        timetable, access=access, egress=_identity_links(n_stops),
        transfers=network.transfers(timetable, params), walk_only=None,
        departure_s=departure_s, window_min=window_min, board_slack_s=params.board_slack_s,
        max_rides=params.max_rides, max_time_s=params.max_time_s,
    ):
        seconds[rows] = nearest_rank_percentiles(per_minute, [percentile], axis=1)[..., 0]
    return timetable, seconds


def _jobs(
    points: pd.DataFrame,
    stop_seconds: np.ndarray | None,
    stop_lon: np.ndarray | None,
    stop_lat: np.ndarray | None,
    *,
    max_threshold_s: float,
    max_walk_s: float,
) -> list[_Job]:
    jobs = []
    lon, lat = points["lon"].to_numpy(float), points["lat"].to_numpy(float)
    for i in range(len(points)):
        if stop_seconds is None:
            jobs.append(_Job(lon[i:i + 1], lat[i:i + 1], np.zeros(1), np.full(1, np.inf)))
            continue
        reached = np.flatnonzero(stop_seconds[i] < max_threshold_s)
        jobs.append(_Job(
            np.concatenate([lon[i:i + 1], stop_lon[reached]]),
            np.concatenate([lat[i:i + 1], stop_lat[reached]]),
            np.concatenate([[0.0], stop_seconds[i, reached]]),
            np.concatenate([[np.inf], np.full(len(reached), float(max_walk_s))]),
        ))
    return jobs


def _spec(network: TransportNetwork, mode: str, thresholds: Sequence[float],
          params: RoutingParameters, buffer_m: float, crs: str) -> _Spec:
    graph_mode = "walk" if mode == "transit" else mode
    speed = {"walk": params.walk_speed_kmh, "cycle": params.cycle_speed_kmh}.get(graph_mode)
    if network.streets is None:
        from transport_access.routing.streets import FALLBACK_CAR_SPEED_KMH

        speed = speed or FALLBACK_CAR_SPEED_KMH
        return _Spec(None, speed, speed, params.circuity, tuple(t * 60 for t in thresholds),
                     buffer_m, params.max_snap_m, crs)
    snap = _CAR_SNAP_SPEED_KMH if graph_mode == "car" else speed
    return _Spec(graph_mode, speed, snap, params.circuity, tuple(t * 60 for t in thresholds),
                 buffer_m, params.max_snap_m, crs)


def _center(network: TransportNetwork, mode: str, points: pd.DataFrame) -> tuple[float, float]:
    if network.streets is not None:
        graph = network.streets["walk" if mode == "transit" else mode]
        lon, lat = graph.lon, graph.lat
    else:
        lon, lat = points["lon"].to_numpy(float), points["lat"].to_numpy(float)
    return (float(lon.min() + lon.max()) / 2, float(lat.min() + lat.max()) / 2)


def _frame(
    points: pd.DataFrame, polygons: list[list[Any]], spec: _Spec, *, mode: str,
    thresholds: Sequence[float], window: str | None, percentile: int | None,
) -> gpd.GeoDataFrame:
    import geopandas as gpd
    import shapely

    method = METHOD_STREETS if spec.graph_mode else METHOD_STRAIGHT_LINE
    n, k = len(points), len(thresholds)
    geometry = [g for per_point in polygons for g in per_point]
    frame = gpd.GeoDataFrame({
        "id": np.repeat(points["id"].to_numpy(), k),
        "mode": mode,
        "threshold_min": np.tile(np.asarray(thresholds, dtype=float), n),
        "window": pd.array([window] * (n * k), dtype="string"),
        "percentile": pd.array([percentile] * (n * k), dtype="Int64"),
        "method": method,
    }, geometry=gpd.GeoSeries(_to_lonlat(spec.crs, geometry), crs=4326), crs=4326)
    invalid = ~frame.geometry.is_valid
    if invalid.any():
        frame.loc[invalid, "geometry"] = shapely.make_valid(frame.geometry[invalid].to_numpy())
    return frame[COLUMNS]


def compute_isochrones(
    network: TransportNetwork,
    points: Any,
    *,
    mode: str,
    thresholds_min: Sequence[float] = DEFAULT_THRESHOLDS_MIN,
    date: dt.date | str | None = None,
    departure: Any = "07:00",
    window_min: int = 60,
    percentile: int = 50,
    params: RoutingParameters | None = None,
    buffer_m: float = DEFAULT_BUFFER_M,
    workers: int = 1,
    scheduler: Any = None,
) -> gpd.GeoDataFrame:
    """Polygons of the area reachable from each point within each threshold.

    Parameters
    ----------
    network : TransportNetwork
        Streets (``None`` streets: the straight-line estimate) and, for transit, timetables.
    points : pandas.DataFrame or geopandas.GeoDataFrame
        Unique ``id`` and ``lon``/``lat`` (degrees) or point geometries; n_points rows.
    mode : {"walk", "cycle", "car", "transit"}
        ``transit`` is walk + public transport (module notes).
    thresholds_min : sequence of float
        Travel-time limits, minutes (sorted and de-duplicated).
    date : datetime.date or str, optional
        Service day; needed for transit.
    departure : str, datetime.time or int
        First departure minute of the window (``"07:00"``, or seconds after midnight).
    window_min : int
        Departure minutes in the window (transit).
    percentile : int
        Nearest-rank percentile over the window's minutes (transit), 1..100.
    params : RoutingParameters, optional
        Speeds, walk limit, slack, rides, longest journey, circuity, snap limit.
    buffer_m : float
        Buffer around reachable street segments, metres (streets only).
    workers : int
        Processes building polygons (routing runs in this process).
    scheduler : str or distributed.Client, optional
        Build the polygons on a Dask cluster instead (``"local:N"``, an address or a
        client); ``workers`` is then ignored. Same polygons.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326, ``n_points * n_thresholds`` rows ordered by point then threshold:
        ``id``, ``mode``, ``threshold_min`` (float), ``window`` (``"HH:MM-HH:MM"`` for transit,
        missing otherwise), ``percentile`` (transit, missing otherwise), ``method``
        (``"street network"`` or ``"straight-line estimate"``), ``geometry`` (Polygon or
        MultiPolygon, valid, nested by threshold; empty when a point is beyond
        ``max_snap_m`` of the streets).
    """
    from transport_access.routing.api import (
        RoutingParameters,
        check_points,
        format_hhmm,
        parse_departure,
    )

    params = params or RoutingParameters()
    mode = str(mode).strip().lower()
    if mode not in ISOCHRONE_MODES:
        raise InvalidValueError("mode", f"{mode!r}: choose one of {list(ISOCHRONE_MODES)}.")
    if not 1 <= int(percentile) <= 100:
        raise InvalidValueError("percentile", f"{percentile}: give a value in 1..100.")
    if int(window_min) < 1:
        raise InvalidValueError("window_min", f"{window_min}: the window needs a minute.")
    thresholds = _check_thresholds(thresholds_min)
    pts = check_points(points, what="isochrone points")
    day, departure_s = parse_departure(departure, date)

    spec = _spec(network, mode, thresholds, params, buffer_m,
                 _local_crs(*_center(network, mode, pts)))
    if spec.graph_mode is None:
        log.warning("no street network: %s isochrones are a straight-line estimate (discs, "
                    "circuity %.2f at %g km/h)", mode, params.circuity, spec.speed_kmh)
    window = percentile_value = None
    stop_seconds = stop_lon = stop_lat = None
    if mode == "transit":
        if day is None:
            raise InvalidValueError("date", "transit isochrones need a service date "
                                    "(YYYY-MM-DD).")
        timetable, stop_seconds = stop_travel_seconds(
            network, pts, date=day, departure_s=departure_s, window_min=int(window_min),
            percentile=int(percentile), params=params)
        stop_lon, stop_lat = timetable.stop_lon, timetable.stop_lat
        first, last = format_hhmm([departure_s, departure_s + 60 * int(window_min)])
        window, percentile_value = f"{first}-{last}", int(percentile)

    jobs = _jobs(pts, stop_seconds, stop_lon, stop_lat, max_threshold_s=max(thresholds) * 60,
                 max_walk_s=params.max_walk_s)
    graph = network.streets[spec.graph_mode] if spec.graph_mode else None
    from transport_access.cluster import maybe_connect

    with maybe_connect(scheduler) as client:
        polygons = _all_polygons(spec, jobs, graph, workers=workers,
                                 description=f"{mode} isochrones", client=client)
    _warn_unsnapped(pts, graph, spec)
    return _frame(pts, polygons, spec, mode=mode, thresholds=thresholds, window=window,
                  percentile=percentile_value)


def _warn_unsnapped(points: pd.DataFrame, graph: ModeNetwork | None, spec: _Spec) -> None:
    if graph is None or points.empty:
        return
    from transport_access.routing.straight_line import _unit_xyz, haversine_m

    lon, lat = points["lon"].to_numpy(float), points["lat"].to_numpy(float)
    _, nearest = graph.kdtree.query(_unit_xyz(lon, lat))
    far = haversine_m(lon, lat, graph.lon[nearest], graph.lat[nearest]) > spec.max_snap_m
    if far.any():
        log.warning("%d of %d isochrone points are farther than %g m from the %s streets; "
                    "their isochrones are empty: %s", int(far.sum()), len(points),
                    spec.max_snap_m, spec.graph_mode, points["id"][far].tolist()[:20])


# ------------------------------------------------------------------------------ batch


def _table_digest(digest: Any, table: Any) -> None:
    if table is None:
        digest.update(b"-")
        return
    digest.update(",".join(map(str, table.columns)).encode())
    digest.update(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())


def _feed_digest(feed: Any) -> str:
    """Hash of the timetable tables routing reads (changes when a timetable changes)."""
    digest = hashlib.sha256()
    for name in ("stops", "routes", "trips", "stop_times", "calendar", "calendar_dates",
                 "frequencies"):
        _table_digest(digest, getattr(feed, name, None))
    return digest.hexdigest()[:16]


def _output_stem(out_dir: Path, destination_set: str, mode: str) -> Path:
    return out_dir / f"isochrones_{destination_set}_{mode}"


def _up_to_date(stem: Path, inputs_hash: str) -> tuple[bool, str]:
    sidecar = stem.with_suffix(".json")
    outputs = [stem.with_suffix(".gpkg"), stem.with_suffix(".geojson")]
    missing = [p.name for p in outputs + [sidecar] if not p.is_file()]
    if missing:
        return False, f"missing {', '.join(missing)}"
    try:
        recorded = json.loads(sidecar.read_text()).get("inputs_hash")
    except (OSError, ValueError):
        return False, f"{sidecar.name} is unreadable"
    if recorded != inputs_hash:
        return False, f"inputs or parameters changed (hash {recorded} -> {inputs_hash})"
    return True, f"inputs hash {inputs_hash} unchanged"


def _write_outputs(frame: gpd.GeoDataFrame, stem: Path, sidecar: dict[str, Any]) -> list[Path]:
    gpkg, geojson = stem.with_suffix(".gpkg"), stem.with_suffix(".geojson")
    for path in (gpkg, geojson):
        if path.exists():
            path.unlink()
    frame.to_file(gpkg, layer=stem.name, driver="GPKG")
    frame.to_file(geojson, driver="GeoJSON")
    # The sidecar goes last: a run stopped half-way leaves no claim of being up to date.
    stem.with_suffix(".json").write_text(json.dumps(sidecar, indent=2, default=str))
    return [gpkg, geojson]


def run_isochrones(
    study: StudyData | Study,
    *,
    destination_sets: Sequence[str] = ("secondary", "post16"),
    modes: Sequence[str] = ("transit", "walk"),
    out_dir: str | os.PathLike[str],
    thresholds_min: Sequence[float] = DEFAULT_THRESHOLDS_MIN,
    window: str | None = None,
    window_min: int | None = None,
    network: TransportNetwork | None = None,
    buffer_m: float = DEFAULT_BUFFER_M,
    workers: int = 2,
    force: bool = False,
    scheduler: Any = None,
) -> list[Path]:
    """Isochrones of every destination of some destination sets, one file pair per set and mode.

    For each set (``secondary``, ``post16``...) and mode it writes
    ``isochrones_{set}_{mode}.gpkg`` and ``.geojson`` (one row per destination and threshold:
    the columns of :func:`compute_isochrones` plus ``destination_set`` and ``name``) and a
    sidecar ``isochrones_{set}_{mode}.json`` with the hash of the inputs (destination points,
    timetable tables, OSM file, service day) and parameters (thresholds, window, percentile,
    routing parameters, buffer, geometry rules' version). A pair whose sidecar hash matches
    is skipped, with a log message; ``force`` recomputes it.

    The isochrones go *from* each destination over the study's departure window: for walking
    this is the area that can reach it; for transit it approximates that area (the timetable
    back is not searched).

    Parameters
    ----------
    study : StudyData or Study
        Loaded study data, or a study file's settings (its data are then loaded).
    destination_sets : sequence of str
        Keys of the study file's ``destinations``.
    modes : sequence of str
        Any of ``transit``, ``walk``, ``cycle``, ``car``.
    out_dir : path-like
        Folder for the outputs (created).
    thresholds_min : sequence of float
        Minutes.
    window : str, optional
        The study's departure window by name; the first by default. Its start and its
        first percentile are used.
    window_min : int, optional
        Departure minutes routed; the whole window by default.
    network : TransportNetwork, optional
        By default the study's OSM streets when configured (straight lines otherwise) and
        its timetables.
    buffer_m : float
        Buffer around reachable street segments, metres.
    workers : int
        Processes building the polygons.
    force : bool
        Recompute even when the outputs are up to date.
    scheduler : str or distributed.Client, optional
        Build the polygons on a Dask cluster (``"local:N"``, an address or a client),
        connected once for the whole batch; ``workers`` is then ignored.

    Returns
    -------
    list of pathlib.Path
        The GeoPackage and GeoJSON files of every set and mode, written or up to date.
    """
    from transport_access.access.run import (
        study_destinations,
        study_network,
        study_routing_parameters,
        study_window,
    )
    from transport_access.config import Study

    if isinstance(study, Study):
        from transport_access.study_data import load_study_data

        data = load_study_data(study)
    else:
        data = study
    cfg = data.study
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    chosen, length = study_window(cfg, window, window_min)
    percentile = int(chosen.percentiles[0])
    thresholds = _check_thresholds(thresholds_min)
    modes = [m.strip().lower() for m in modes]
    for m in modes:
        if m not in ISOCHRONE_MODES:
            raise InvalidValueError("modes", f"{m!r}: choose from {list(ISOCHRONE_MODES)}.")

    sets = {s.name: s for s in study_destinations(data)}
    unknown = [name for name in destination_sets if name not in cfg.destinations]
    if unknown:
        raise InvalidValueError("destination_sets", f"{unknown} are not destinations of the "
                                f"study; choose from {list(cfg.destinations)}.")
    if network is None:
        network = study_network(data)
    params = study_routing_parameters(data)
    osm_hash = None
    if network.osm_path:
        from transport_access._cache import file_sha256

        osm_hash = file_sha256(network.osm_path)[:16]
    feed_hash = _feed_digest(network.feed) if network.feed is not None else None
    names = _school_names(data)

    from transport_access.cluster import maybe_connect

    written: list[Path] = []
    with maybe_connect(scheduler) as client:
        for set_name in destination_sets:
            if set_name not in sets or sets[set_name].points.empty:
                log.warning("isochrones: destination set %s has no destinations; skipped", set_name)
                continue
            points = sets[set_name].points[["id", "lon", "lat"]].reset_index(drop=True)
            for mode in modes:
                stem = _output_stem(out, set_name, mode)
                if mode == "transit" and (network.feed is None or data.service_date is None):
                    log.warning("isochrones %s/%s: the study has no timetables for its service "
                                "day; skipped", set_name, mode)
                    continue
                parameters = {
                    "format_version": FORMAT_VERSION, "destination_set": set_name, "mode": mode,
                    "thresholds_min": list(thresholds), "buffer_m": buffer_m,
                    "routing": asdict(params), "street_model": network.street_model,
                    "osm_sha256": osm_hash,
                }
                if mode == "transit":
                    parameters |= {"departure": chosen.start, "window_min": length,
                                   "percentile": percentile, "service_date": data.service_date,
                                   "timetables": feed_hash}
                inputs_hash = _inputs_hash(points, parameters)
                fresh, why = _up_to_date(stem, inputs_hash)
                if fresh and not force:
                    log.info("isochrones %s/%s up to date (%s): skipped", set_name, mode, why)
                    written += [stem.with_suffix(".gpkg"), stem.with_suffix(".geojson")]
                    continue
                log.info("isochrones %s/%s: computing %d destinations (%s)", set_name, mode,
                         len(points), "forced" if force and fresh else why)
                started = time.perf_counter()
                frame = compute_isochrones(
                    network, points, mode=mode, thresholds_min=thresholds, date=data.service_date,
                    departure=chosen.start, window_min=length, percentile=percentile,
                    params=params, buffer_m=buffer_m, workers=workers, scheduler=client,
                )
                frame.insert(1, "destination_set", set_name)
                frame.insert(2, "name", frame["id"].map(names).astype("string"))
                seconds = time.perf_counter() - started
                sidecar = {**parameters, "inputs_hash": inputs_hash, "n_destinations": len(points),
                           "method": str(frame["method"].iloc[0]) if len(frame) else None,
                           "seconds": round(seconds, 2), "written_utc": dt.datetime.now(dt.UTC)}
                written += _write_outputs(frame, stem, sidecar)
                log.info("isochrones %s/%s: %d polygons in %.1f s (%s) -> %s", set_name, mode,
                         len(frame), seconds, sidecar["method"], stem.with_suffix(".gpkg"))
    return written


def _inputs_hash(points: pd.DataFrame, parameters: dict[str, Any]) -> str:
    digest = hashlib.sha256()
    _table_digest(digest, points[["id", "lon", "lat"]].round({"lon": 7, "lat": 7}))
    digest.update(json.dumps(parameters, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


def _school_names(data: StudyData) -> dict[str, str]:
    schools = getattr(data, "schools", None)
    if schools is None or "name" not in schools.columns:
        return {}
    return dict(zip(schools["urn"].astype(str), schools["name"].astype(str), strict=True))
