"""The demand-responsive transport (DRT, dial-a-ride) time model, as links for routing.

A DRT zone is a polygon served by ``vehicles`` minibuses on some ``days`` between
``start`` and ``end``. A rider books, waits ``wait_s`` (the booking/waiting time) and is
driven at car speed slowed by ``detour_factor`` (the vehicle picks up and drops off
others). Every DRT leg therefore takes::

    seconds = round(car_s x detour_factor) + wait_s

where ``car_s`` is the car time in whole seconds on the street graph
(:func:`transport_access.routing.streets.compute_travel_time_matrix`), or without one the
straight-line fallback: haversine x ``circuity`` (1.3) at the car speed (40 km/h unless
``car_speed_kmh`` says otherwise), rounded to whole seconds.

:func:`drt_links` gives three sets of :class:`~transport_access.routing._links.Links`:

* ``door_to_door``: origin in the zone -> destination in the zone;
* ``access``: origin in the zone -> hub stop (a rider changes to a bus or train there);
* ``egress``: hub stop -> destination in the zone.

Points on the zone's boundary count as inside. Hubs may lie outside the zone (a zone feeds
the nearest town's bus station).

**Service hours (the contract with the routing engine).** A DRT leg is available when it
*starts* (the rider is ready at the origin, or arrives at the hub for egress) at a time
``t`` with ``start_s <= t < end_s`` on a day the zone runs (:meth:`DrtZone.runs_on`). The
engine combines the links with its walk links by the element-wise minimum per pair (a
rider may choose) only for departure minutes where :meth:`DrtLinks.available` is true, and
splits its departure windows at ``start_s`` and ``end_s``. For egress the engine should test
the time the rider reaches the hub; an engine that cannot may test the departure minute
instead, which overstates DRT egress just before ``end_s``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from transport_access._log import get_logger
from transport_access.routing._links import Links

log = get_logger(__name__)

_DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: Timetable stops this close to a hub (metres) are hubs too: riders change there.
HUB_RADIUS_M = 250.0


@dataclass(frozen=True)
class DrtZone:
    """A demand-responsive zone, ready for :func:`drt_links`.

    Attributes
    ----------
    name : str
        Zone ID (unique within a scenario).
    area : shapely Polygon or MultiPolygon
        The zone, lon/lat (EPSG:4326).
    days : tuple of str
        Days it runs (``"mon"`` ... ``"sun"``).
    start_s, end_s : int
        Service hours, seconds after midnight: legs start at ``start_s <= t < end_s``.
    wait_s : int
        Booking/waiting time added to every leg, seconds.
    detour_factor : float
        Drive time = car time x this.
    vehicles : int
        Vehicles in service over the hours (for costs).
    hub_atco : tuple of str
        ATCO codes of the hub stops, as in the scenario file.
    hub_stop_ids : tuple of str
        The hubs' stop IDs in the timetable (``None`` where a hub is not a stop of the
        timetable: riders can be taken there but cannot change to a service).
    hub_lon, hub_lat : tuple of float
        Hub positions, degrees.
    """

    name: str
    area: Any
    days: tuple[str, ...]
    start_s: int
    end_s: int
    wait_s: int
    detour_factor: float
    vehicles: int
    hub_atco: tuple[str, ...] = ()
    hub_stop_ids: tuple[str | None, ...] = ()
    hub_lon: tuple[float, ...] = ()
    hub_lat: tuple[float, ...] = ()

    @property
    def service_hours(self) -> float:
        """Hours of service a day (``end_s - start_s``)."""
        return (self.end_s - self.start_s) / 3600.0

    @property
    def vehicle_hours_per_day(self) -> float:
        """``vehicles`` x service hours: the vehicle-hours a day the zone costs."""
        return self.vehicles * self.service_hours

    def runs_on(self, date: dt.date) -> bool:
        """Whether the zone runs on ``date`` (by weekday)."""
        return _DAY_KEYS[date.weekday()] in self.days

    def available(self, start_time_s: Any) -> np.ndarray:
        """Whether a DRT leg starting at ``start_time_s`` (seconds after midnight) may run.

        Parameters
        ----------
        start_time_s : array-like of int
            Times at which legs would start.

        Returns
        -------
        numpy.ndarray of bool
            ``start_s <= t < end_s``, same shape.
        """
        t = np.asarray(start_time_s)
        return (t >= self.start_s) & (t < self.end_s)

    def contains(self, lon: Any, lat: Any) -> np.ndarray:
        """Boolean mask of the points inside the zone (boundary included)."""
        import shapely

        return shapely.intersects_xy(
            self.area, np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        )


@dataclass(frozen=True)
class DrtLinks:
    """DRT legs of one zone between a study's points, in whole seconds.

    Attributes
    ----------
    zone : DrtZone
    door_to_door : Links
        Origins -> destinations, both in the zone, ``(n_origins, n_destinations)``.
    access : Links
        Origins in the zone -> hub stops, ``(n_origins, n_stops)``.
    egress : Links
        Hub stops -> destinations in the zone, ``(n_stops, n_destinations)``.
    start_s, end_s : int
        The zone's service hours (see the module's contract).
    """

    zone: DrtZone
    door_to_door: Links
    access: Links
    egress: Links
    start_s: int
    end_s: int

    def available(self, start_time_s: Any) -> np.ndarray:
        """Whether legs starting at these times may run (``start_s <= t < end_s``)."""
        return self.zone.available(start_time_s)


def _points(points: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(points, tuple) and len(points) == 2:
        return np.asarray(points[0], float), np.asarray(points[1], float)
    for lon_name, lat_name in (("lon", "lat"), ("stop_lon", "stop_lat")):
        if hasattr(points, lon_name) and hasattr(points, lat_name):
            lon, lat = getattr(points, lon_name), getattr(points, lat_name)
            if not callable(lon):
                return np.asarray(lon, float), np.asarray(lat, float)
    geometry = getattr(points, "geometry", None)
    if geometry is not None:
        if getattr(points, "crs", None) is not None and points.crs.to_epsg() != 4326:
            geometry = geometry.to_crs(4326)
        return geometry.x.to_numpy(float), geometry.y.to_numpy(float)
    raise TypeError(
        f"{what}: give a (lon, lat) pair of arrays, a table with lon/lat (or stop_lon/stop_lat) "
        "columns, point geometries, or a Timetable"
    )


def _stop_ids(stops: Any) -> np.ndarray | None:
    for name in ("stop_ids", "stop_id"):
        values = getattr(stops, name, None)
        if values is not None and not callable(values):
            return np.asarray(values).astype(str)
    return None


def _drive_seconds(
    streets: Any,
    from_lon: np.ndarray,
    from_lat: np.ndarray,
    to_lon: np.ndarray,
    to_lat: np.ndarray,
    *,
    zone: DrtZone,
    circuity: float,
    car_speed_kmh: float | None,
) -> np.ndarray:
    """``round(car_s x detour) + wait_s`` for all pairs; NaN where the car cannot go."""
    from transport_access.routing.streets import compute_travel_time_matrix

    if not len(from_lon) or not len(to_lon):
        return np.empty((len(from_lon), len(to_lon)))
    car_s = compute_travel_time_matrix(
        streets, "car", (from_lon, from_lat), (to_lon, to_lat),
        speed_kmh=car_speed_kmh, circuity=circuity,
    )
    return np.rint(car_s * zone.detour_factor) + zone.wait_s


def _to_links(
    seconds: np.ndarray, rows: np.ndarray, cols: np.ndarray, n_from: int, n_to: int,
    max_seconds: float | None,
) -> Links:
    ok = np.isfinite(seconds)
    if max_seconds is not None:
        ok &= seconds <= max_seconds
    r, c = np.nonzero(ok)
    return Links.from_pairs(n_from, n_to, rows[r], cols[c], seconds[r, c])


def drt_links(
    zone: DrtZone,
    *,
    origins: Any,
    destinations: Any,
    stops: Any,
    streets: Any = None,
    circuity: float = 1.3,
    car_speed_kmh: float | None = None,
    max_seconds: float | None = None,
) -> DrtLinks:
    """DRT legs of a zone between origins, destinations and hub stops.

    Parameters
    ----------
    zone : DrtZone
        From :func:`transport_access.scenarios.edits.apply_scenario` (``changes.drt_zones``).
    origins, destinations : DataFrame, GeoDataFrame or (lon, lat) pair
        Points in degrees (``lon``/``lat`` columns or point geometries); row order is the
        index used in the links.
    stops : Timetable, DataFrame or (lon, lat) pair
        The routing engine's stops in its own order: a
        :class:`~transport_access.network.timetable.Timetable` (``stop_ids``, ``stop_lon``,
        ``stop_lat``) or a table with ``stop_id`` and ``stop_lon``/``stop_lat`` (or
        ``lon``/``lat``). Hubs are the stops whose ID is one of ``zone.hub_stop_ids``, or
        ends with ``":{ATCO code}"`` of a hub, and any stop within :data:`HUB_RADIUS_M` of a
        hub (a station beside the named bus stop).
    streets : StreetNetwork, optional
        Street graph for car times; ``None`` uses the straight-line fallback.
    circuity : float
        Fallback network-to-straight-line ratio.
    car_speed_kmh : float, optional
        Fallback car speed (40 km/h when not given).
    max_seconds : float, optional
        Leave out legs longer than this (wait included).

    Returns
    -------
    DrtLinks
        Whole seconds, ``round(car_s x detour_factor) + wait_s`` per leg.
    """
    o_lon, o_lat = _points(origins, "origins")
    d_lon, d_lat = _points(destinations, "destinations")
    s_lon, s_lat = _points(stops, "stops")
    o_in = np.flatnonzero(zone.contains(o_lon, o_lat))
    d_in = np.flatnonzero(zone.contains(d_lon, d_lat))

    ids = _stop_ids(stops)
    hub_rows = np.array([], dtype=np.int64)
    if ids is not None and (zone.hub_stop_ids or zone.hub_atco):
        wanted = {h for h in zone.hub_stop_ids if h}
        suffixes = tuple(f":{code}" for code in zone.hub_atco)
        is_hub = np.array([i in wanted or i in zone.hub_atco or i.endswith(suffixes) for i in ids],
                          dtype=bool) if suffixes or wanted else np.zeros(len(ids), bool)
        hub_rows = np.flatnonzero(is_hub)
    if zone.hub_lon and len(s_lon):
        # A hub is a place to change: stops of any feed within HUB_RADIUS_M of it count too
        # (a railway station's TIPLOC stop beside the bus stop named in the scenario).
        from transport_access.routing.straight_line import haversine_m

        near = np.zeros(len(s_lon), dtype=bool)
        for h_lon, h_lat in zip(zone.hub_lon, zone.hub_lat, strict=True):
            near |= haversine_m(s_lon, s_lat, h_lon, h_lat) <= HUB_RADIUS_M
        hub_rows = np.union1d(hub_rows, np.flatnonzero(near))
    if zone.hub_atco and not len(hub_rows):
        log.warning("DRT zone %s: none of its hubs (%s) is a stop of the timetable; riders "
                    "cannot change to a service there", zone.name, ", ".join(zone.hub_atco))

    kwargs = {"zone": zone, "circuity": circuity, "car_speed_kmh": car_speed_kmh}
    door = _drive_seconds(streets, o_lon[o_in], o_lat[o_in], d_lon[d_in], d_lat[d_in], **kwargs)
    access = _drive_seconds(
        streets, o_lon[o_in], o_lat[o_in], s_lon[hub_rows], s_lat[hub_rows], **kwargs
    )
    egress = _drive_seconds(
        streets, s_lon[hub_rows], s_lat[hub_rows], d_lon[d_in], d_lat[d_in], **kwargs
    )
    links = DrtLinks(
        zone=zone,
        door_to_door=_to_links(door, o_in, d_in, len(o_lon), len(d_lon), max_seconds),
        access=_to_links(access, o_in, hub_rows, len(o_lon), len(s_lon), max_seconds),
        egress=_to_links(egress, hub_rows, d_in, len(s_lon), len(d_lon), max_seconds),
        start_s=zone.start_s,
        end_s=zone.end_s,
    )
    log.info(
        "DRT zone %s: %d origins and %d destinations inside, %d hub stops; %d door-to-door, "
        "%d access, %d egress links",
        zone.name, len(o_in), len(d_in), len(hub_rows), links.door_to_door.n_links,
        links.access.n_links, links.egress.n_links,
    )
    return links
