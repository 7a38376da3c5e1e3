"""Street routing: snapping points to the graph, bounded multi-source shortest paths.

Semantics (the tests hold these functions to them):

* A point is snapped to the nearest graph node of the mode (great-circle distance, found
  with a KD-tree on unit-sphere coordinates, where chord order equals great-circle order).
  Points farther than ``max_snap_m`` are not routed: they are named in a warning and their
  results are NaN (matrices) or absent (links). If no point snaps,
  :class:`~transport_access.errors.UnsnappablePointsError` is raised.
* The straight snap distance is covered at the *snap speed*: the mode's speed for walk and
  cycle, and the walk speed (4.8 km/h unless ``snap_speed_kmh`` says otherwise) for car,
  because the leg between a door and the nearest drivable node is walked (to or from the
  parked car), not driven at road speed.
* A trip's time is snap leg + shortest network time + snap leg, summed in floating point
  and rounded once to whole seconds. Two points snapped to the same node are joined by
  their two snap legs (no direct shortcut).
* Walk and cycle network times are edge length over ``speed_kmh`` (defaults from
  :class:`transport_access.config.Modes`: 4.8 and 16 km/h); car times are the stored
  per-edge times from ``maxspeed`` and road-class defaults.

Searches run ``scipy.sparse.csgraph.dijkstra`` from the unique snapped source nodes, a chunk
at a time so that the ``(chunk, n_nodes)`` distance array stays within about 200 MB, and
with ``limit`` set to the time budget left after the source's snap leg.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from transport_access._log import get_logger
from transport_access._progress import track
from transport_access.errors import UnsnappablePointsError
from transport_access.routing._links import Links
from transport_access.routing.straight_line import (
    haversine_m,
    straight_line_links,
    straight_line_seconds,
)

if TYPE_CHECKING:
    from transport_access.network.streets import ModeNetwork, StreetNetwork

log = get_logger(__name__)

DEFAULT_SPEED_KMH = {"walk": 4.8, "cycle": 16.0}
#: Car speed used by the straight-line fallback, km/h (the study file's car default).
FALLBACK_CAR_SPEED_KMH = 40.0
_DISTANCES_BUDGET = 25_000_000  # float64 cells of one chunk's distance array (~200 MB)
_MAX_CHUNK = 200
_IDS_IN_WARNING = 20
_WARNED: set[tuple] = set()


@dataclass(frozen=True)
class SnapResult:
    """Where points landed on a mode's graph.

    Attributes
    ----------
    node : numpy.ndarray of int64, shape (n_points,)
        Node index in the mode's network; -1 where the point did not snap.
    distance_m : numpy.ndarray of float64, shape (n_points,)
        Great-circle distance from the point to its nearest node, metres (also filled for
        points beyond the limit).
    ok : numpy.ndarray of bool, shape (n_points,)
        Whether the point is within ``max_snap_m`` of the graph.
    """

    node: np.ndarray
    distance_m: np.ndarray
    ok: np.ndarray

    @property
    def n_unsnapped(self) -> int:
        """Points farther than the snap limit."""
        return int((~self.ok).sum())


def _mode_network(network: StreetNetwork | ModeNetwork, mode: str) -> ModeNetwork:
    if hasattr(network, "modes"):
        return network[mode]
    if network.mode != mode:
        raise ValueError(f"got the {network.mode} network for mode {mode!r}")
    return network


def snap_points(
    network: StreetNetwork | ModeNetwork,
    mode: str,
    lon: np.ndarray,
    lat: np.ndarray,
    *,
    max_snap_m: float = 500.0,
    ids: Sequence[Any] | None = None,
    what: str = "points",
) -> SnapResult:
    """Snap points to the nearest node of ``mode``'s street graph.

    Parameters
    ----------
    network : StreetNetwork or ModeNetwork
    mode : str
        ``"walk"``, ``"cycle"`` or ``"car"``.
    lon, lat : numpy.ndarray, shape (n_points,)
        Coordinates in degrees (EPSG:4326).
    max_snap_m : float
        Farthest a point may be from a node, metres.
    ids : sequence, optional
        Point IDs named in the warning about unsnapped points; positions by default.
    what : str
        What the points are ("origins", "stops"...), for messages.

    Returns
    -------
    SnapResult

    Raises
    ------
    UnsnappablePointsError
        There are points but none is within ``max_snap_m`` of the graph.
    """
    from transport_access.routing.straight_line import _unit_xyz

    graph = _mode_network(network, mode)
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    if lon.shape != lat.shape or lon.ndim != 1:
        raise ValueError(f"lon and lat must be 1-D and of one length: {lon.shape}, {lat.shape}")
    n = len(lon)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return SnapResult(empty, np.zeros(0), np.zeros(0, dtype=bool))

    valid = np.isfinite(lon) & np.isfinite(lat)
    node = np.full(n, -1, dtype=np.int64)
    distance_m = np.full(n, np.inf)
    if valid.any():
        _, nearest = graph.kdtree.query(_unit_xyz(lon[valid], lat[valid]))
        node[valid] = nearest
        distance_m[valid] = haversine_m(
            lon[valid], lat[valid], graph.lon[nearest], graph.lat[nearest]
        )
    ok = distance_m <= max_snap_m
    node[~ok] = -1

    if not ok.any():
        raise UnsnappablePointsError(
            f"none of the {n:,} {what} is within {max_snap_m:g} m of the {mode} street network "
            f"(nearest is {np.nanmin(distance_m):,.0f} m away). Check that the OSM extract "
            "covers them and that coordinates are lon/lat degrees (EPSG:4326), or raise "
            "modes.max_snap_m."
        )
    if not ok.all():
        bad = np.flatnonzero(~ok)
        shown = bad[:_IDS_IN_WARNING]
        names = [ids[i] for i in shown] if ids is not None else shown.tolist()
        more = f" and {len(bad) - _IDS_IN_WARNING:,} more" if len(bad) > _IDS_IN_WARNING else ""
        message = (
            f"{len(bad)} of {n} {what} are farther than {max_snap_m:g} m from the {mode} street "
            f"network and are treated as unreachable: {names}{more}"
        )
        # The same points (stops, say) are snapped for access, egress and transfers: warn once
        # per graph and set of points, then only in the debug log.
        key = (id(graph), n, hash(bad.tobytes()), max_snap_m)
        if key in _WARNED:
            log.debug(message)
        else:
            _WARNED.add(key)
            log.warning(message)
    return SnapResult(node, distance_m, ok)


def _speeds(mode: str, speed_kmh: float | None, snap_speed_kmh: float | None) -> tuple:
    if mode == "car":
        if speed_kmh is not None:
            raise ValueError(
                "car times come from OSM maxspeed and road-class defaults; pass speed_kmh=None"
            )
        return None, snap_speed_kmh or DEFAULT_SPEED_KMH["walk"]
    speed = speed_kmh or DEFAULT_SPEED_KMH[mode]
    return speed, snap_speed_kmh or speed


def _iter_blocks(
    graph: ModeNetwork,
    source: SnapResult,
    target: SnapResult,
    *,
    speed_kmh: float | None,
    snap_speed_kmh: float,
    max_seconds: float,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Yield ``(source points, target points, seconds)`` blocks; seconds unrounded."""
    from scipy.sparse.csgraph import dijkstra

    csgraph = graph.csgraph(graph.edge_seconds(speed_kmh))
    snap_mps = snap_speed_kmh / 3.6
    src_points = np.flatnonzero(source.ok)
    dst_points = np.flatnonzero(target.ok)
    src_snap_s = source.distance_m[src_points] / snap_mps
    dst_snap_s = target.distance_m[dst_points] / snap_mps
    dst_nodes = target.node[dst_points]

    # Sources sharing a node share a search: run one per node, with the smallest snap leg.
    nodes, inverse = np.unique(source.node[src_points], return_inverse=True)
    chunk = max(1, min(_MAX_CHUNK, _DISTANCES_BUDGET // max(graph.n_nodes, 1)))
    starts = range(0, len(nodes), chunk)
    for start in track(starts, total=len(starts), description=f"{graph.mode} searches"):
        block_nodes = nodes[start:start + chunk]
        in_block = (inverse >= start) & (inverse < start + len(block_nodes))
        limit = max_seconds - src_snap_s[in_block].min() if np.isfinite(max_seconds) else np.inf
        if limit < 0:
            continue
        network_s = dijkstra(csgraph, directed=True, indices=block_nodes, limit=limit)
        rows = inverse[in_block] - start
        seconds = src_snap_s[in_block, None] + network_s[:, dst_nodes][rows] + dst_snap_s[None, :]
        yield src_points[in_block], dst_points, seconds


def street_links(
    network: StreetNetwork | ModeNetwork,
    mode: str,
    from_lon: np.ndarray,
    from_lat: np.ndarray,
    to_lon: np.ndarray,
    to_lat: np.ndarray,
    *,
    speed_kmh: float | None = None,
    max_seconds: float,
    max_snap_m: float = 500.0,
    snap_speed_kmh: float | None = None,
    from_ids: Sequence[Any] | None = None,
    to_ids: Sequence[Any] | None = None,
) -> Links:
    """Street travel times from every ``from`` point to the ``to`` points within a cut-off.

    Used for access (origin -> stop), egress (stop -> destination), transfers (stop ->
    stop) and walk-only trips.

    Parameters
    ----------
    network : StreetNetwork or ModeNetwork
    mode : str
        ``"walk"``, ``"cycle"`` or ``"car"``.
    from_lon, from_lat : numpy.ndarray, shape (n_from,)
        Sources, degrees (EPSG:4326).
    to_lon, to_lat : numpy.ndarray, shape (n_to,)
        Targets, degrees.
    speed_kmh : float, optional
        Walk or cycle speed (defaults 4.8 and 16 km/h); must be ``None`` for car.
    max_seconds : float
        Cut-off: links whose rounded time exceeds it are left out.
    max_snap_m : float
        Farthest a point may be from the street network, metres.
    snap_speed_kmh : float, optional
        Speed on the snap legs; the mode's speed for walk and cycle, 4.8 km/h for car.
    from_ids, to_ids : sequence, optional
        IDs for the warning about points that do not snap.

    Returns
    -------
    Links
        ``n_from`` rows over ``n_to`` targets, whole seconds. Unsnapped points have no links.
    """
    graph = _mode_network(network, mode)
    speed, snap_speed = _speeds(mode, speed_kmh, snap_speed_kmh)
    source = snap_points(graph, mode, from_lon, from_lat, max_snap_m=max_snap_m, ids=from_ids,
                         what="sources")
    target = snap_points(graph, mode, to_lon, to_lat, max_snap_m=max_snap_m, ids=to_ids,
                         what="targets")
    src_parts, dst_parts, sec_parts = [], [], []
    for src_points, dst_points, seconds in _iter_blocks(
        graph, source, target, speed_kmh=speed, snap_speed_kmh=snap_speed, max_seconds=max_seconds
    ):
        rounded = np.rint(seconds)
        rows, cols = np.nonzero(rounded <= max_seconds)
        src_parts.append(src_points[rows])
        dst_parts.append(dst_points[cols])
        sec_parts.append(rounded[rows, cols])
    if src_parts:
        src, dst, secs = (np.concatenate(p) for p in (src_parts, dst_parts, sec_parts))
    else:
        src = dst = secs = np.zeros(0, dtype=np.int64)
    return Links.from_pairs(len(source.node), len(target.node), src, dst, secs)


def street_travel_time_matrix(
    network: StreetNetwork | ModeNetwork,
    mode: str,
    origins: Any,
    destinations: Any,
    *,
    speed_kmh: float | None = None,
    max_seconds: float | None = None,
    max_snap_m: float = 500.0,
    snap_speed_kmh: float | None = None,
) -> np.ndarray:
    """Dense street travel-time matrix (walk, cycle or car).

    Parameters
    ----------
    network : StreetNetwork or ModeNetwork
    mode : str
        ``"walk"``, ``"cycle"`` or ``"car"``.
    origins, destinations : DataFrame or (lon, lat) pair
        A (Geo)DataFrame with ``lon`` and ``lat`` columns (or point geometries in
        EPSG:4326) and an optional ``id`` column named in warnings; or a pair of arrays.
    speed_kmh : float, optional
        Walk or cycle speed; must be ``None`` for car.
    max_seconds : float, optional
        Cut-off; times above it are NaN. ``None`` searches the whole graph.
    max_snap_m : float
        Farthest a point may be from the street network, metres.
    snap_speed_kmh : float, optional
        Speed on the snap legs (see the module notes).

    Returns
    -------
    numpy.ndarray of float64, shape (n_origins, n_destinations)
        Seconds, rounded to whole seconds; NaN where unreachable or unsnapped.
    """
    graph = _mode_network(network, mode)
    speed, snap_speed = _speeds(mode, speed_kmh, snap_speed_kmh)
    o_lon, o_lat, o_ids = _coordinates(origins)
    d_lon, d_lat, d_ids = _coordinates(destinations)
    source = snap_points(graph, mode, o_lon, o_lat, max_snap_m=max_snap_m, ids=o_ids,
                         what="origins")
    target = snap_points(graph, mode, d_lon, d_lat, max_snap_m=max_snap_m, ids=d_ids,
                         what="destinations")
    limit = np.inf if max_seconds is None else float(max_seconds)
    out = np.full((len(o_lon), len(d_lon)), np.nan)
    for src_points, dst_points, seconds in _iter_blocks(
        graph, source, target, speed_kmh=speed, snap_speed_kmh=snap_speed, max_seconds=limit
    ):
        rounded = np.rint(seconds)
        rounded[~(rounded <= limit)] = np.nan
        out[np.ix_(src_points, dst_points)] = rounded
    return out


def _coordinates(points: Any) -> tuple[np.ndarray, np.ndarray, list | None]:
    if isinstance(points, tuple) and len(points) == 2:
        return np.asarray(points[0], float), np.asarray(points[1], float), None
    columns = getattr(points, "columns", None)
    if columns is None:
        raise TypeError("points must be a DataFrame with lon/lat columns or a (lon, lat) pair")
    ids = points["id"].tolist() if "id" in columns else None
    if "lon" in columns and "lat" in columns:
        return points["lon"].to_numpy(float), points["lat"].to_numpy(float), ids
    if hasattr(points, "geometry"):
        geometry = points.geometry
        if points.crs is not None and points.crs.to_epsg() != 4326:
            geometry = geometry.to_crs(4326)
        return geometry.x.to_numpy(float), geometry.y.to_numpy(float), ids
    raise TypeError("points need lon and lat columns, or point geometries")


def compute_links(
    network: StreetNetwork | None,
    mode: str,
    from_lon: np.ndarray,
    from_lat: np.ndarray,
    to_lon: np.ndarray,
    to_lat: np.ndarray,
    *,
    speed_kmh: float | None = None,
    max_seconds: float,
    max_snap_m: float = 500.0,
    circuity: float = 1.3,
) -> Links:
    """Street links when a network is given, else the straight-line fallback.

    Parameters
    ----------
    network : StreetNetwork or None
        ``None`` uses :func:`transport_access.routing.straight_line.straight_line_links`
        (haversine distance times ``circuity`` at the mode's speed), and logs that it does.
    mode, from_lon, from_lat, to_lon, to_lat, speed_kmh, max_seconds, max_snap_m
        As in :func:`street_links`.
    circuity : float
        Network-to-straight-line ratio of the fallback.

    Returns
    -------
    Links
    """
    if network is not None:
        return street_links(
            network, mode, from_lon, from_lat, to_lon, to_lat,
            speed_kmh=speed_kmh, max_seconds=max_seconds, max_snap_m=max_snap_m,
        )
    speed = _fallback_speed(mode, speed_kmh)
    log.info("no street network: %s links use straight lines x %.2f at %g km/h",
             mode, circuity, speed)
    return straight_line_links(
        from_lon, from_lat, to_lon, to_lat,
        speed_kmh=speed, circuity=circuity, max_seconds=max_seconds,
    )


def compute_travel_time_matrix(
    network: StreetNetwork | None,
    mode: str,
    origins: Any,
    destinations: Any,
    *,
    speed_kmh: float | None = None,
    max_seconds: float | None = None,
    max_snap_m: float = 500.0,
    circuity: float = 1.3,
) -> np.ndarray:
    """Street travel-time matrix when a network is given, else the straight-line fallback.

    Parameters
    ----------
    network : StreetNetwork or None
        ``None`` uses haversine distance times ``circuity`` at the mode's speed (car:
        ``speed_kmh`` or 40 km/h), and logs that it does.
    mode, origins, destinations, speed_kmh, max_seconds, max_snap_m
        As in :func:`street_travel_time_matrix`.
    circuity : float
        Network-to-straight-line ratio of the fallback.

    Returns
    -------
    numpy.ndarray of float64, shape (n_origins, n_destinations)
        Whole seconds, NaN where unreachable.
    """
    if network is not None:
        return street_travel_time_matrix(
            network, mode, origins, destinations,
            speed_kmh=speed_kmh, max_seconds=max_seconds, max_snap_m=max_snap_m,
        )
    speed = _fallback_speed(mode, speed_kmh)
    log.info("no street network: %s matrix uses straight lines x %.2f at %g km/h",
             mode, circuity, speed)
    o_lon, o_lat, _ = _coordinates(origins)
    d_lon, d_lat, _ = _coordinates(destinations)
    distance = haversine_m(o_lon[:, None], o_lat[:, None], d_lon[None, :], d_lat[None, :])
    seconds = straight_line_seconds(distance, speed_kmh=speed, circuity=circuity).astype(float)
    if max_seconds is not None:
        seconds[seconds > max_seconds] = np.nan
    return seconds


def _fallback_speed(mode: str, speed_kmh: float | None) -> float:
    if speed_kmh:
        return float(speed_kmh)
    return FALLBACK_CAR_SPEED_KMH if mode == "car" else DEFAULT_SPEED_KMH[mode]
