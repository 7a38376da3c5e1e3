"""One interface over the routing engines: travel-time matrices as DataFrames.

The embedded engine (streets by ``scipy.sparse.csgraph``, transit by range-RAPTOR in numba)
runs anywhere; ``engine="r5"`` sends the same request to R5 through r5py where Java and the
R5 jar are available (see :mod:`transport_access.routing.r5`).

Typical use::

    net = build_transport_network(osm="poa_osm.pbf", gtfs=["poa_eptc.zip"])
    ttm = travel_time_matrix(net, cells, cells, modes=["walk", "transit"],
                             date="2019-05-13", departure="07:00", window_min=60)

Semantics (README "Routing semantics"): departing at minute ``d`` of the window, the travel
time is the earliest arrival minus ``d``; walk legs (access, transfer, egress, and a walk-only
trip when transit is among the modes) are each at most ``max_walk_min``; every boarding
needs ``board_slack_s`` at the stop; ``max_rides`` vehicles at most; journeys longer than
``max_time_min`` are unreachable; percentile ``p`` is the nearest-rank value over the
window's minutes, unreachable minutes counting as infinite.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from transport_access._log import get_logger
from transport_access.errors import (
    InvalidValueError,
    NoIDColumnError,
    NonUniqueIDError,
    TransportAccessError,
)
from transport_access.routing._links import Links, minimum

if TYPE_CHECKING:
    from transport_access.network.streets import StreetNetwork
    from transport_access.network.timetable import Timetable
    from transport_access.scenarios.drt import DrtLinks, DrtZone

log = get_logger(__name__)

STREET_MODES = ("walk", "cycle", "car")
TRANSIT_MODES = ("transit",)
ALL_MODES = STREET_MODES + TRANSIT_MODES


@dataclass
class RoutingParameters:
    """Parameters shared by every engine (defaults as in the study file).

    Attributes
    ----------
    walk_speed_kmh, cycle_speed_kmh : float
        Speeds of walk and cycle legs.
    max_walk_min : float
        Longest walk leg (access, transfer, egress, walk-only with transit), minutes.
    board_slack_s : int
        Seconds at the stop before each boarding.
    max_rides : int
        Vehicles boarded at most.
    max_time_min : float
        Longest journey counted, minutes.
    circuity : float
        Network-to-straight-line ratio when there is no street network.
    max_snap_m : float
        Furthest a point may be from the street network.
    """

    walk_speed_kmh: float = 4.8
    cycle_speed_kmh: float = 16.0
    max_walk_min: float = 20.0
    board_slack_s: int = 60
    max_rides: int = 4
    max_time_min: float = 120.0
    circuity: float = 1.3
    max_snap_m: float = 500.0

    @property
    def max_walk_s(self) -> int:
        """Longest walk leg in seconds."""
        return int(round(self.max_walk_min * 60))

    @property
    def max_time_s(self) -> int:
        """Longest journey in seconds."""
        return int(round(self.max_time_min * 60))


@dataclass
class TransportNetwork:
    """Streets and timetables to route on.

    Attributes
    ----------
    streets : StreetNetwork or None
        Walk, cycle and car graphs from OpenStreetMap; ``None`` means the straight-line
        fallback (haversine distance times a circuity factor at the mode's speed).
    feed : gtfs_kit.Feed or None
        The merged timetables (IDs prefixed with each feed's name when several).
    osm_path : str or None
        The OSM extract the streets came from.
    gtfs_paths : list of str
        The timetable files.
    drt_zones : list of DrtZone
        Demand-responsive zones (from scenarios): door-to-door inside a zone and to its hub
        stops, used alongside walking by the transit engine during their service hours.
    """

    streets: StreetNetwork | None = None
    feed: Any = None
    osm_path: str | None = None
    gtfs_paths: list[str] = field(default_factory=list)
    drt_zones: list[DrtZone] = field(default_factory=list)
    _timetables: dict[dt.date, Timetable] = field(default_factory=dict, repr=False)
    _transfers: dict[tuple, Links] = field(default_factory=dict, repr=False)
    _egress: dict[tuple, Links] = field(default_factory=dict, repr=False)

    @property
    def street_model(self) -> str:
        """``"OpenStreetMap streets"`` or a description of the straight-line fallback."""
        return "OpenStreetMap streets" if self.streets is not None else "straight lines"

    def timetable(self, date: dt.date) -> Timetable:
        """Return the routing timetable of a service day (built once, cached on disk)."""
        if self.feed is None:
            raise TransportAccessError(
                "this network has no timetable: build it with gtfs=[...] to route by transit."
            )
        if date not in self._timetables:
            from transport_access.network.timetable import build_timetable

            self._timetables[date] = build_timetable(self.feed, date)
        return self._timetables[date]

    def transfers(self, timetable: Timetable, params: RoutingParameters) -> Links:
        """Stop-to-stop walk links within ``max_walk_min`` (computed once per parameters)."""
        key = (timetable.service_date, params.walk_speed_kmh, params.max_walk_s,
               params.circuity, params.max_snap_m)
        if key not in self._transfers:
            self._transfers[key] = _links(
                self, "walk", timetable.stop_lon, timetable.stop_lat,
                timetable.stop_lon, timetable.stop_lat, params, params.max_walk_s,
            )
        return self._transfers[key]

    def egress(self, timetable: Timetable, lon: np.ndarray, lat: np.ndarray,
               params: RoutingParameters) -> Links:
        """Stop-to-destination walk links within ``max_walk_min``, kept for the last few
        destination sets (origins routed in chunks share their destinations' links)."""
        lon = np.ascontiguousarray(lon, dtype=np.float64)
        lat = np.ascontiguousarray(lat, dtype=np.float64)
        digest = hashlib.sha1(lon.tobytes() + lat.tobytes()).hexdigest()
        key = (timetable.service_date, digest, params.walk_speed_kmh,
               params.max_walk_s, params.circuity, params.max_snap_m)
        if key not in self._egress:
            if len(self._egress) >= 4:
                self._egress.pop(next(iter(self._egress)))
            self._egress[key] = _links(self, "walk", timetable.stop_lon, timetable.stop_lat,
                                       lon, lat, params, params.max_walk_s)
        return self._egress[key]

    def prepare(self, date: dt.date | str | None, params: RoutingParameters,
                destinations: pd.DataFrame | None = None) -> None:
        """Build what every chunk of origins shares (the day's timetable, transfer links,
        egress links to ``destinations``) now, so that a copy sent to cluster workers
        carries them instead of each worker building them again."""
        if self.feed is None or date is None:
            return
        day = dt.date.fromisoformat(date) if isinstance(date, str) else date
        timetable = self.timetable(day)
        self.transfers(timetable, params)
        if destinations is not None:
            self.egress(timetable, destinations["lon"].to_numpy(float),
                        destinations["lat"].to_numpy(float), params)


def build_transport_network(
    *,
    osm: str | os.PathLike[str] | None = None,
    gtfs: Iterable[str | os.PathLike[str]] = (),
    street_modes: Sequence[str] = STREET_MODES,
    car_default_speed_kmh: float = 40.0,
    cache: bool = True,
) -> TransportNetwork:
    """Build (or load from the cache) the streets and read the timetables.

    Parameters
    ----------
    osm : path-like, optional
        An OpenStreetMap ``.osm.pbf`` extract; without it every street leg uses the
        straight-line fallback.
    gtfs : iterable of path-like
        GTFS feeds (zip or folder). Several feeds are merged with their IDs prefixed by the
        file name (``poa_eptc:T1``).
    street_modes : sequence of str
        Street graphs to build: any of ``walk``, ``cycle``, ``car``.
    car_default_speed_kmh : float
        Car speed where OSM gives neither ``maxspeed`` nor a known road class.
    cache : bool
        Read and write the street graphs in the on-disk cache.

    Returns
    -------
    TransportNetwork
    """
    from transport_access.load.gtfs import check_feed, merge_feeds, read_gtfs

    network = TransportNetwork()
    if osm is not None:
        from transport_access.network.streets import build_street_network

        network.streets = build_street_network(
            osm, modes=street_modes, car_default_speed_kmh=car_default_speed_kmh, cache=cache
        )
        network.osm_path = str(osm)
    paths = [Path(p) for p in gtfs]
    if paths:
        names = _feed_names(paths)
        feeds = {name: check_feed(read_gtfs(path, name=name), path=path, name=name)
                 for name, path in zip(names, paths, strict=True)}
        network.feed = feeds[names[0]] if len(feeds) == 1 else merge_feeds(feeds)
        network.gtfs_paths = [str(p) for p in paths]
    return network


def _feed_names(paths: Sequence[Path]) -> list[str]:
    names = [p.name.removesuffix(".zip") for p in paths]
    return [n if names.count(n) == 1 else f"{n}{i}" for i, n in enumerate(names)]


# ------------------------------------------------------------------------------ points


def read_points(path: str | os.PathLike[str], *, what: str = "points") -> pd.DataFrame:
    """Read a point CSV with ``id,lon,lat`` columns (degrees, EPSG:4326), checked.

    Parameters
    ----------
    path : path-like
        The CSV file.
    what : str
        What the points are ("origins", "destinations"), named in errors.

    Returns
    -------
    pandas.DataFrame
        Columns ``id`` (str), ``lon``, ``lat``.
    """
    from transport_access.errors import FileFormatError, MissingFileError

    path = Path(path)
    if not path.is_file():
        raise MissingFileError(path, f"{what} file does not exist.", "Give a CSV with id,lon,lat.")
    try:
        frame = pd.read_csv(path, dtype={"id": str})
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise FileFormatError(path, f"{what} file is not a readable CSV: {error}") from None
    return check_points(frame, what=what, source=str(path))


def check_points(points: Any, *, what: str = "points", source: str = "<table>") -> pd.DataFrame:
    """Validate points given as a DataFrame (``id,lon,lat``) or GeoDataFrame (``id`` + points).

    Parameters
    ----------
    points : pandas.DataFrame or geopandas.GeoDataFrame
        The points.
    what : str
        What they are, named in errors.
    source : str
        Where they came from, named in errors.

    Returns
    -------
    pandas.DataFrame
        Columns ``id`` (str), ``lon``, ``lat`` in degrees.

    Raises
    ------
    NoIDColumnError, NonUniqueIDError, InvalidValueError
        No ``id`` column; repeated IDs; missing IDs, or coordinates missing or out of range.
    """
    columns = list(getattr(points, "columns", []))
    if "id" not in columns:
        raise NoIDColumnError(
            f"{source}: {what} have no 'id' column (columns: {columns}). "
            "Add a unique id column."
        )
    ids = points["id"]
    if ids.isna().any():
        rows = np.flatnonzero(ids.isna().to_numpy())[:10].tolist()
        raise InvalidValueError(source, f"{what}: missing id in rows {rows} (0-based).")
    ids = ids.astype(str)
    repeated = ids[ids.duplicated()].unique().tolist()
    if repeated:
        raise NonUniqueIDError(
            f"{source}: {what} IDs must be unique; repeated: {repeated[:10]}"
            f"{' ...' if len(repeated) > 10 else ''}."
        )
    if "lon" in columns and "lat" in columns:
        lon = pd.to_numeric(points["lon"], errors="coerce").to_numpy(float)
        lat = pd.to_numeric(points["lat"], errors="coerce").to_numpy(float)
    elif hasattr(points, "geometry"):
        geometry = points.geometry
        if points.crs is not None and points.crs.to_epsg() != 4326:
            geometry = geometry.to_crs(4326)
        lon, lat = geometry.x.to_numpy(float), geometry.y.to_numpy(float)
    else:
        raise InvalidValueError(source, f"{what} need lon and lat columns (degrees, EPSG:4326).")
    bad = ~np.isfinite(lon) | ~np.isfinite(lat) | (np.abs(lon) > 180) | (np.abs(lat) > 90)
    if bad.any():
        shown = ids[bad].tolist()[:10]
        raise InvalidValueError(
            source,
            f"{what} {shown} have missing or impossible coordinates.",
            "Give lon and lat in degrees (EPSG:4326), not eastings and northings.",
        )
    return pd.DataFrame({"id": ids.to_numpy(), "lon": lon, "lat": lat})


# ------------------------------------------------------------------------------ times


def parse_departure(departure: Any, date: Any = None) -> tuple[dt.date | None, int]:
    """Return (date, seconds after midnight) from ``"HH:MM"``, a time, a datetime or seconds."""
    if isinstance(departure, dt.datetime):
        return departure.date(), departure.hour * 3600 + departure.minute * 60 + departure.second
    day = dt.date.fromisoformat(date) if isinstance(date, str) else date
    if isinstance(departure, dt.time):
        return day, departure.hour * 3600 + departure.minute * 60 + departure.second
    if isinstance(departure, int | np.integer):
        return day, int(departure)
    text = str(departure)
    try:
        parts = [int(p) for p in text.split(":")]
        if len(parts) not in (2, 3) or not 0 <= parts[1] < 60:
            raise ValueError
    except ValueError:
        raise InvalidValueError("departure", f"{text!r} is not a time (HH:MM).") from None
    return day, parts[0] * 3600 + parts[1] * 60 + (parts[2] if len(parts) == 3 else 0)


def format_hhmm(seconds: np.ndarray) -> np.ndarray:
    """Format seconds after midnight as ``HH:MM`` strings (hours may exceed 23)."""
    seconds = np.asarray(seconds, dtype=np.int64)
    return np.char.add(
        np.char.zfill((seconds // 3600).astype(str), 2),
        np.char.add(":", np.char.zfill(((seconds % 3600) // 60).astype(str), 2)),
    )


# ------------------------------------------------------------------------------ engine


def _check_modes(modes: Iterable[str]) -> frozenset[str]:
    chosen = frozenset(m.strip().lower() for m in modes)
    unknown = chosen - set(ALL_MODES)
    if unknown or not chosen:
        raise InvalidValueError(
            "modes", f"{sorted(unknown) or 'no mode'} given; choose from {list(ALL_MODES)}."
        )
    if "transit" not in chosen and len(chosen) > 1:
        raise InvalidValueError(
            "modes",
            f"{sorted(chosen)}: street modes are routed one at a time; ask for each separately, "
            "or add 'transit' (walking is then used to reach stops).",
        )
    if "transit" in chosen and chosen & {"cycle", "car"}:
        raise InvalidValueError(
            "modes", "cycle or car to reach public transport is not supported; use walk,transit."
        )
    return chosen


def _links(
    network: TransportNetwork,
    mode: str,
    from_lon: np.ndarray,
    from_lat: np.ndarray,
    to_lon: np.ndarray,
    to_lat: np.ndarray,
    params: RoutingParameters,
    max_seconds: float,
) -> Links:
    from transport_access.routing.streets import compute_links

    speed = {"walk": params.walk_speed_kmh, "cycle": params.cycle_speed_kmh}.get(mode)
    return compute_links(
        network.streets, mode, from_lon, from_lat, to_lon, to_lat,
        speed_kmh=speed, max_seconds=max_seconds, max_snap_m=params.max_snap_m,
        circuity=params.circuity,
    )


def _street_seconds(
    network: TransportNetwork, mode: str, o: pd.DataFrame, d: pd.DataFrame,
    params: RoutingParameters,
) -> np.ndarray:
    """(n_origins, n_destinations) seconds by one street mode, NaN beyond max_time."""
    from transport_access.routing.streets import compute_travel_time_matrix

    speed = {"walk": params.walk_speed_kmh, "cycle": params.cycle_speed_kmh}.get(mode)
    return compute_travel_time_matrix(
        network.streets, mode, o, d, speed_kmh=speed, max_seconds=params.max_time_s,
        max_snap_m=params.max_snap_m, circuity=params.circuity,
    )


@dataclass
class _TransitInputs:
    timetable: Timetable
    access: Links
    egress: Links
    transfers: Links
    walk_only: Links
    drt: list[DrtLinks] = field(default_factory=list)

    def with_drt(self, active: Sequence[bool]) -> _TransitInputs:
        """The inputs with the active zones' legs added (the faster of walk and DRT)."""
        zones = [z for z, on in zip(self.drt, active, strict=True) if on]
        if not zones:
            return self
        return _TransitInputs(
            timetable=self.timetable,
            access=minimum(self.access, *(z.access for z in zones)),
            egress=minimum(self.egress, *(z.egress for z in zones)),
            transfers=self.transfers,
            walk_only=minimum(self.walk_only, *(z.door_to_door for z in zones)),
        )

    def windows(self, departure_s: int, window_min: int) -> list[tuple[int, int, tuple]]:
        """Split the window where DRT availability changes: (first minute, length, active)."""
        minutes = departure_s + 60 * np.arange(window_min)
        flags = [tuple(bool(z.available(t)) for z in self.drt) for t in minutes]
        parts, start = [], 0
        for i in range(1, window_min + 1):
            if i == window_min or flags[i] != flags[start]:
                parts.append((start, i - start, flags[start]))
                start = i
        return parts


def _transit_inputs(
    network: TransportNetwork, date: dt.date | None, o: pd.DataFrame, d: pd.DataFrame,
    params: RoutingParameters,
) -> _TransitInputs:
    if date is None:
        raise InvalidValueError("date", "transit routing needs a service date (YYYY-MM-DD).")
    timetable = network.timetable(date)
    walk_s = params.max_walk_s
    o_lon, o_lat = o["lon"].to_numpy(), o["lat"].to_numpy()
    d_lon, d_lat = d["lon"].to_numpy(), d["lat"].to_numpy()
    s_lon, s_lat = timetable.stop_lon, timetable.stop_lat
    inputs = _TransitInputs(
        timetable=timetable,
        access=_links(network, "walk", o_lon, o_lat, s_lon, s_lat, params, walk_s),
        egress=network.egress(timetable, d_lon, d_lat, params),
        transfers=network.transfers(timetable, params),
        walk_only=_links(network, "walk", o_lon, o_lat, d_lon, d_lat, params, walk_s),
    )
    if network.drt_zones:
        from transport_access.scenarios.drt import drt_links

        service_day = dt.date.fromisoformat(str(timetable.service_date))
        for zone in network.drt_zones:
            if not zone.runs_on(service_day):
                log.info("DRT zone %s does not run on %s", zone.name, service_day)
                continue
            inputs.drt.append(drt_links(
                zone, origins=o, destinations=d, stops=timetable, streets=network.streets,
                circuity=params.circuity, max_seconds=params.max_time_s,
            ))
    return inputs


def _departure_record(timetable: Timetable, i: int) -> str:
    """``trip T (route R) at stop S`` for position ``i`` of ``timetable.departure_s``."""
    p = int(np.searchsorted(timetable.pattern_time_ptr, i, side="right") - 1)
    n_trips = int(timetable.pattern_trip_ptr[p + 1] - timetable.pattern_trip_ptr[p])
    position, trip = divmod(i - int(timetable.pattern_time_ptr[p]), n_trips)
    stop = timetable.pattern_stops[timetable.pattern_stop_ptr[p] + position]
    return (f"trip {timetable.trip_ids[timetable.pattern_trip_ptr[p] + trip]} (route "
            f"{timetable.pattern_route_ids[p]}) at stop {timetable.stop_ids[stop]}")


def _warn_if_window_outside_service(timetable: Timetable, first_s: int, last_s: int) -> None:
    departures = timetable.departure_s
    if len(departures) == 0:
        return
    i_latest, i_earliest = int(departures.argmax()), int(departures.argmin())
    latest, earliest = int(departures[i_latest]), int(departures[i_earliest])
    if first_s > latest:
        log.warning(
            "the departure window starts at %s, after the last departure of the timetables on "
            "%s (%s, %s): only walking trips can be found. Choose an earlier window.",
            format_hhmm([first_s])[0], timetable.service_date, format_hhmm([latest])[0],
            _departure_record(timetable, i_latest),
        )
    elif last_s + 7200 < earliest:
        log.warning(
            "the departure window ends at %s, long before the first departure on %s (%s, %s).",
            format_hhmm([last_s])[0], timetable.service_date, format_hhmm([earliest])[0],
            _departure_record(timetable, i_earliest),
        )


def _per_minute_seconds(
    network: TransportNetwork,
    origins: pd.DataFrame,
    destinations: pd.DataFrame,
    modes: frozenset[str],
    date: dt.date | None,
    departure_s: int,
    window_min: int,
    params: RoutingParameters,
    inputs: _TransitInputs | None = None,
) -> Iterable[tuple[np.ndarray, np.ndarray]]:
    """Yield (origin rows, seconds of shape (rows, window_min, n_destinations)), inf = none."""
    if "transit" not in modes:
        (mode,) = modes
        seconds = _street_seconds(network, mode, origins, destinations, params)
        seconds = np.where(np.isnan(seconds), np.inf, seconds).astype(np.float32)
        yield np.arange(len(origins)), np.repeat(seconds[:, None, :], window_min, axis=1)
        return

    from transport_access.routing.transit import iter_transit_travel_times

    if inputs is None:
        inputs = _transit_inputs(network, date, origins, destinations, params)
    _warn_if_window_outside_service(
        inputs.timetable, departure_s, departure_s + 60 * (window_min - 1)
    )
    # DRT legs count for departure minutes within their zone's hours: the window is routed
    # in parts where the set of running zones is constant, then joined minute by minute.
    parts = [
        iter_transit_travel_times(
            part.timetable, access=part.access, egress=part.egress,
            transfers=part.transfers, walk_only=part.walk_only,
            departure_s=departure_s + 60 * first, window_min=length,
            board_slack_s=params.board_slack_s, max_rides=params.max_rides,
            max_time_s=params.max_time_s,
        )
        for first, length, active in inputs.windows(departure_s, window_min)
        for part in [inputs.with_drt(active)]
    ]
    for chunks in zip(*parts, strict=True):
        rows = chunks[0][0]
        yield rows, np.concatenate([times for _, times in chunks], axis=1)


def _percentile_seconds(
    network: TransportNetwork,
    origins: pd.DataFrame,
    destinations: pd.DataFrame,
    modes: frozenset[str],
    date: dt.date | None,
    departure_s: int,
    window_min: int,
    percentiles: Sequence[int],
    params: RoutingParameters,
) -> np.ndarray:
    """(n_origins, n_destinations, n_percentiles) seconds over the window, inf = none."""
    from transport_access.routing.transit import nearest_rank_percentiles, transit_percentiles

    inputs = None
    if "transit" in modes:
        inputs = _transit_inputs(network, date, origins, destinations, params)
        parts = inputs.windows(departure_s, window_min)
        if len(parts) == 1:
            # One set of legs for the whole window: the kernel reduces minutes as it goes.
            part = inputs.with_drt(parts[0][2])
            _warn_if_window_outside_service(
                part.timetable, departure_s, departure_s + 60 * (window_min - 1)
            )
            return transit_percentiles(
                part.timetable, access=part.access, egress=part.egress,
                transfers=part.transfers, walk_only=part.walk_only, departure_s=departure_s,
                window_min=window_min, percentiles=percentiles,
                board_slack_s=params.board_slack_s, max_rides=params.max_rides,
                max_time_s=params.max_time_s,
            ).astype(np.float64)
    result = np.empty((len(origins), len(destinations), len(percentiles)), dtype=np.float64)
    for rows, seconds in _per_minute_seconds(
        network, origins, destinations, modes, date, departure_s, window_min, params, inputs
    ):
        result[rows] = nearest_rank_percentiles(seconds, percentiles, axis=1)
    return result


def _params(overrides: dict[str, Any]) -> RoutingParameters:
    unknown = set(overrides) - set(RoutingParameters.__dataclass_fields__)
    if unknown:
        raise TypeError(f"unknown routing parameters: {sorted(unknown)}")
    return RoutingParameters(**{k: v for k, v in overrides.items() if v is not None})


def travel_time_matrix(
    network: TransportNetwork,
    origins: Any,
    destinations: Any,
    *,
    modes: Iterable[str] = ("walk", "transit"),
    date: dt.date | str | None = None,
    departure: Any = "07:00",
    window_min: int = 60,
    percentiles: Sequence[int] = (50,),
    engine: str = "embedded",
    **parameters: Any,
) -> pd.DataFrame:
    """Travel times from every origin to every destination, summarised over a window.

    Parameters
    ----------
    network : TransportNetwork
        From :func:`build_transport_network`.
    origins, destinations : pandas.DataFrame or geopandas.GeoDataFrame
        Points with a unique ``id`` and ``lon``/``lat`` (degrees) or point geometries.
    modes : iterable of str
        ``["walk", "transit"]`` (public transport with walking), or one of ``walk``,
        ``cycle``, ``car``.
    date : datetime.date or str, optional
        Service day (needed for transit unless ``departure`` is a datetime).
    departure : str, datetime.time, datetime.datetime or int
        Start of the departure window (``"07:00"``; or seconds after midnight).
    window_min : int
        Number of departure minutes: ``departure``, ``departure + 1 min``, ...
    percentiles : sequence of int
        Nearest-rank percentiles over the window's minutes.
    engine : {"embedded", "r5"}
        Routing engine.
    **parameters
        Any field of :class:`RoutingParameters` (``max_walk_min``, ``walk_speed_kmh``,
        ``max_rides``, ``board_slack_s``, ``max_time_min``, ``circuity``, ...).

    Returns
    -------
    pandas.DataFrame
        One row per origin-destination pair: ``from_id``, ``to_id``, and
        ``travel_time_p{p}`` for each percentile, in minutes (float), NaN when unreachable
        within ``max_time_min``.
    """
    params = _params(parameters)
    chosen = _check_modes(modes)
    o = check_points(origins, what="origins")
    d = check_points(destinations, what="destinations")
    day, departure_s = parse_departure(departure, date)
    percentiles = [int(p) for p in percentiles]
    if any(not 1 <= p <= 100 for p in percentiles):
        raise InvalidValueError("percentiles", f"{percentiles}: each must be in 1..100.")
    if window_min < 1:
        raise InvalidValueError("window_min", f"{window_min}: the window needs at least 1 minute.")
    if engine == "r5":
        from transport_access.routing.r5 import r5_travel_time_matrix

        return r5_travel_time_matrix(
            network, o, d, modes=chosen, date=day, departure_s=departure_s,
            window_min=window_min, percentiles=percentiles, params=params,
        )
    if engine != "embedded":
        raise InvalidValueError("engine", f"{engine!r}: choose 'embedded' or 'r5'.")

    result = _percentile_seconds(
        network, o, d, chosen, day, departure_s, window_min, percentiles, params
    )
    result[~np.isfinite(result)] = np.nan
    frame = pd.DataFrame({
        "from_id": np.repeat(o["id"].to_numpy(), len(d)),
        "to_id": np.tile(d["id"].to_numpy(), len(o)),
    })
    for k, p in enumerate(percentiles):
        frame[f"travel_time_p{p}"] = result[:, :, k].reshape(-1) / 60.0
    return frame


def expanded_travel_time_matrix(
    network: TransportNetwork,
    origins: Any,
    destinations: Any,
    *,
    modes: Iterable[str] = ("walk", "transit"),
    date: dt.date | str | None = None,
    departure: Any = "07:00",
    window_min: int = 60,
    **parameters: Any,
) -> pd.DataFrame:
    """Travel time for every departure minute of the window (no summary).

    Parameters
    ----------
    network, origins, destinations, modes, date, departure, window_min, **parameters
        As for :func:`travel_time_matrix`.

    Returns
    -------
    pandas.DataFrame
        ``from_id``, ``to_id``, ``departure_time`` (``HH:MM``), ``travel_time_s`` (whole
        seconds, nullable integer: missing when unreachable within ``max_time_min``), one
        row per pair and minute (``n_origins * n_destinations * window_min`` rows).
    """
    params = _params(parameters)
    chosen = _check_modes(modes)
    o = check_points(origins, what="origins")
    d = check_points(destinations, what="destinations")
    day, departure_s = parse_departure(departure, date)
    minutes = format_hhmm(departure_s + 60 * np.arange(window_min))
    parts = []
    for rows, seconds in _per_minute_seconds(
        network, o, d, chosen, day, departure_s, window_min, params
    ):
        # (rows, minutes, destinations) -> rows x destinations x minutes, pair-major order
        block = np.transpose(seconds, (0, 2, 1))
        n_rows = len(rows)
        values = block.reshape(-1)
        parts.append(pd.DataFrame({
            "from_id": np.repeat(o["id"].to_numpy()[rows], len(d) * window_min),
            "to_id": np.tile(np.repeat(d["id"].to_numpy(), window_min), n_rows),
            "departure_time": np.tile(minutes, n_rows * len(d)),
            "travel_time_s": pd.arrays.IntegerArray(
                np.where(np.isfinite(values), values, 0).astype(np.int64), ~np.isfinite(values)
            ),
        }))
    return pd.concat(parts, ignore_index=True)


def arrive_by_matrix(
    network: TransportNetwork,
    origins: Any,
    destinations: Any,
    *,
    date: dt.date | str | None = None,
    arrive_by: Any = "08:45",
    search_min: int | None = None,
    **parameters: Any,
) -> pd.DataFrame:
    """The latest departure by walk and public transport that still arrives by a time.

    Parameters
    ----------
    network, origins, destinations, date, **parameters
        As for :func:`travel_time_matrix`.
    arrive_by : str or datetime.time or int
        The deadline, e.g. a school bell at ``"08:45"``.
    search_min : int, optional
        Minutes before the deadline searched; ``max_time_min`` by default.

    Returns
    -------
    pandas.DataFrame
        ``from_id``, ``to_id``, ``latest_departure`` (``HH:MM``, missing when no departure
        arrives in time), ``travel_time_min`` of that departure (NaN when none).
    """
    from transport_access.routing.transit import arrive_by as transit_arrive_by

    params = _params(parameters)
    o = check_points(origins, what="origins")
    d = check_points(destinations, what="destinations")
    day, deadline_s = parse_departure(arrive_by, date)
    inputs = _transit_inputs(network, day, o, d, params)
    # DRT zones count when they run in the minute before the deadline (an approximation:
    # arrive-by searches many departure minutes at once with one set of legs).
    inputs = inputs.with_drt([bool(z.available(deadline_s - 60)) for z in inputs.drt])
    result = transit_arrive_by(
        inputs.timetable, access=inputs.access, egress=inputs.egress,
        transfers=inputs.transfers, walk_only=inputs.walk_only, arrive_by_s=deadline_s,
        window_min=search_min, board_slack_s=params.board_slack_s,
        max_rides=params.max_rides, max_time_s=params.max_time_s,
    )
    departure = result.departure_s.reshape(-1)
    travel = result.travel_time_s.reshape(-1)
    found = np.isfinite(departure)
    latest = np.full(len(departure), None, dtype=object)
    latest[found] = format_hhmm(departure[found])
    return pd.DataFrame({
        "from_id": np.repeat(o["id"].to_numpy(), len(d)),
        "to_id": np.tile(d["id"].to_numpy(), len(o)),
        "latest_departure": latest,
        "travel_time_min": np.where(found, travel / 60.0, np.nan),
    })
