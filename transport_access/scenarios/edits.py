"""Apply a scenario's modifications to a copy of a GTFS feed, and account for their cost.

:func:`apply_scenario` never modifies the baseline feed. IDs of everything it adds (routes,
trips, stops, services, agencies) start with ``"{scenario name}:"`` so they never clash with
the baseline's (whose IDs carry the feed prefix, e.g. ``"tnds:"``).

Rules, per modification type (times are seconds after midnight of the service day; a trip's
*departure* is the departure from its first stop):

* **Routes** are named by route ID (with or without the feed prefix) or by
  ``route_short_name``; every matching route is taken, and all its route IDs form one
  *line* (TransXChange conversions split a line into several route IDs).
* A line's **directions** are its ``direction_id`` values; trips without one are grouped by
  their first and last stop instead.
* ``add_route``: stops are ATCO codes (the feed's own stop when its ID is the code or ends
  with ``":{code}"``, else a new stop from the NaPTAN table given as ``stops=``) or new
  stops at lon/lat. Running times are given, or ``round(car_s x car_time_factor)`` with
  car times on ``streets`` (or the straight-line fallback); the reverse direction uses the
  reverse car times. A new service runs on ``days`` over the feed's date range.
* ``change_frequency``: per line and direction, the trips running on the service date and
  departing in ``[from, to)`` are removed and replaced by copies of a **template trip**
  departing at ``from``, ``from + headway``, ... while before ``to``. The template is the
  earliest-departing trip of the most frequent stop pattern among the removed trips (ties:
  the pattern of the earliest trip), so new trips keep its stops, running times, route,
  service and headsign. A direction with no trip in the period is left as it is (noted).
* ``change_hours``: per line and direction, on the service date. A later
  ``last_departure`` adds copies of the last trip at its headway after it (up to and
  including the new last departure); an earlier one removes the trips departing after it.
  ``first_departure`` likewise at the start of the day, copying the first trip. The
  headway is ``headway_min`` if given, else the median of the last (or first) three gaps
  between distinct departures.
* ``remove_route``: the routes, all their trips (every service), stop times and
  frequencies are removed. ``remove_trips``: the trips named, or the trips of the routes
  (every service) departing in ``[from, to)`` (either end open when not given).
* ``change_speed``: every trip of the routes keeps its departure from the first stop and
  its dwell times; each running time (departure from a timed stop to the arrival at the
  next timed stop) is multiplied by ``factor``; times are rounded to whole seconds.
  Empty (untimed) stop times stay empty.
* ``add_drt_zone``: the feed is unchanged; the zone is returned in
  ``changes.drt_zones`` for :func:`transport_access.scenarios.drt.drt_links`, costed at
  ``vehicles`` x service hours a day.

Frequency-based trips (frequencies.txt) of the lines a modification edits are first
expanded into explicit trips ``"{trip_id}@{HH:MM:SS}"``, as the routing timetable does.
Costs follow :mod:`transport_access.scenarios.costs`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from transport_access._log import get_logger
from transport_access.config import parse_hhmm
from transport_access.errors import ScenarioError
from transport_access.load.gtfs import feed_date_range, service_ids_on, time_to_seconds
from transport_access.scenarios.costs import (
    DEFAULT_COST_PER_VEHICLE_HOUR_GBP,
    ModificationChange,
    ScenarioChanges,
    running_trip_ids,
    trip_vehicle_stats,
)
from transport_access.scenarios.drt import DrtZone
from transport_access.scenarios.model import (
    DAYS,
    AddDrtZone,
    AddRoute,
    ChangeFrequency,
    ChangeHours,
    ChangeSpeed,
    RemoveRoute,
    RemoveTrips,
    Scenario,
)

log = get_logger(__name__)

_WEEKDAY_COLUMNS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_DEFAULT_DWELL_CAR_S = 30


def format_gtfs_time(seconds: Any) -> np.ndarray:
    """GTFS ``"HH:MM:SS"`` strings for seconds after midnight (hours may exceed 23).

    Parameters
    ----------
    seconds : array-like of float
        Whole seconds; NaN gives a missing value.

    Returns
    -------
    numpy.ndarray of object
    """
    values = np.asarray(seconds, dtype=float)
    out = np.empty(values.shape, dtype=object)
    for i, v in np.ndenumerate(values):
        if np.isnan(v):
            out[i] = pd.NA
        else:
            s = int(round(v))
            out[i] = f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_") or "x"


def _append(table: pd.DataFrame | None, rows: pd.DataFrame) -> pd.DataFrame:
    """Rows appended to a GTFS table, keeping the table's columns and dtypes."""
    if table is None or not len(table.columns):
        return rows.reset_index(drop=True)
    columns = list(table.columns) + [c for c in rows.columns if c not in table.columns]
    rows = rows.reindex(columns=columns)
    for column in table.columns:
        try:
            rows[column] = rows[column].astype(table[column].dtype)
        except (TypeError, ValueError):
            pass
    if not len(rows):
        return table
    return pd.concat([table, rows], ignore_index=True)


# --------------------------------------------------------------------------- selections


def _match_routes(feed: Any, names: Iterable[str], scenario: Scenario, index: int) -> list[str]:
    routes = feed.routes
    route_ids = routes["route_id"].astype(str)
    bare = route_ids.str.split(":", n=1).str[-1]
    short = (
        routes["route_short_name"].astype(str)
        if "route_short_name" in routes.columns
        else pd.Series("", index=routes.index)
    )
    matched: list[str] = []
    for name in names:
        hit = (route_ids == name) | (bare == name) | (short == name)
        if not hit.any():
            known = sorted(set(short.dropna()) - {"", "<NA>"})
            raise ScenarioError(
                f"{scenario.where(index, 'routes')}: unknown route {name!r}: no route_id or "
                f"route_short_name is {name!r}. Short names in the feed: "
                f"{', '.join(known[:40])}{', ...' if len(known) > 40 else ''}."
            )
        matched += [r for r in route_ids[hit.to_numpy()] if r not in matched]
    return matched


def _trip_table(feed: Any, trip_ids: set[str]) -> pd.DataFrame:
    """Per trip: route, service, direction key, departure (s) and stop pattern."""
    trips = feed.trips[feed.trips["trip_id"].isin(trip_ids)].copy()
    stop_times = feed.stop_times[feed.stop_times["trip_id"].isin(trip_ids)]
    stop_times = stop_times.sort_values(["trip_id", "stop_sequence"], kind="stable")
    departure = time_to_seconds(stop_times["departure_time"]).fillna(
        time_to_seconds(stop_times["arrival_time"])
    )
    by_trip = pd.DataFrame(
        {"trip_id": stop_times["trip_id"].astype(str).to_numpy(),
         "stop_id": stop_times["stop_id"].astype(str).to_numpy(),
         "departure_s": departure.to_numpy()}
    ).groupby("trip_id", sort=False)
    info = pd.DataFrame(
        {
            "departure_s": by_trip["departure_s"].first(),
            "pattern": by_trip["stop_id"].agg(tuple),
        }
    )
    trips["trip_id"] = trips["trip_id"].astype(str)
    trips = trips.join(info, on="trip_id", how="inner")
    if "direction_id" in trips.columns:
        direction = trips["direction_id"].astype("string")
    else:
        direction = pd.Series(pd.NA, index=trips.index, dtype="string")
    termini = trips["pattern"].map(lambda p: f"{p[0]}>{p[-1]}")
    trips["direction"] = direction.fillna(termini).astype(str)
    return trips


def _running_line_trips(
    feed: Any, route_ids: list[str], service_date: dt.date
) -> pd.DataFrame:
    running = service_ids_on(feed, service_date)
    trips = feed.trips
    keep = trips["route_id"].astype(str).isin(route_ids) & trips["service_id"].astype(
        str
    ).isin(running)
    return _trip_table(feed, set(trips.loc[keep, "trip_id"].astype(str)))


def _copy_trip(
    feed: Any, template_id: str, departures_s: list[float], new_prefix: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Copies of a trip shifted to depart at ``departures_s``: (trips rows, stop_times rows)."""
    trip_row = feed.trips[feed.trips["trip_id"].astype(str) == template_id]
    times = feed.stop_times[feed.stop_times["trip_id"].astype(str) == template_id]
    times = times.sort_values("stop_sequence", kind="stable")
    arrival = time_to_seconds(times["arrival_time"]).to_numpy()
    departure = time_to_seconds(times["departure_time"]).to_numpy()
    first = departure[0] if not np.isnan(departure[0]) else arrival[0]
    trip_rows, time_rows = [], []
    for start in departures_s:
        new_id = f"{new_prefix}{template_id}@{format_gtfs_time([start])[0]}"
        trip_rows.append(trip_row.assign(trip_id=new_id))
        shift = start - first
        time_rows.append(
            times.assign(
                trip_id=new_id,
                arrival_time=format_gtfs_time(arrival + shift),
                departure_time=format_gtfs_time(departure + shift),
            )
        )
    if not trip_rows:
        return trip_row.iloc[:0], times.iloc[:0]
    return pd.concat(trip_rows, ignore_index=True), pd.concat(time_rows, ignore_index=True)


def _remove_trip_ids(feed: Any, trip_ids: set[str]) -> None:
    feed.trips = feed.trips[~feed.trips["trip_id"].astype(str).isin(trip_ids)].reset_index(
        drop=True
    )
    feed.stop_times = feed.stop_times[
        ~feed.stop_times["trip_id"].astype(str).isin(trip_ids)
    ].reset_index(drop=True)
    if feed.frequencies is not None:
        feed.frequencies = feed.frequencies[
            ~feed.frequencies["trip_id"].astype(str).isin(trip_ids)
        ].reset_index(drop=True)


def _add_trips(feed: Any, trips: list[pd.DataFrame], stop_times: list[pd.DataFrame]) -> None:
    if trips:
        feed.trips = _append(feed.trips, pd.concat(trips, ignore_index=True))
        feed.stop_times = _append(feed.stop_times, pd.concat(stop_times, ignore_index=True))


def _expand_frequencies(feed: Any, route_ids: list[str]) -> None:
    """Replace the frequency-based trips of ``route_ids`` by explicit trips, in place."""
    frequencies = feed.frequencies
    if frequencies is None or not len(frequencies):
        return
    on_routes = set(
        feed.trips.loc[feed.trips["route_id"].astype(str).isin(route_ids), "trip_id"].astype(str)
    )
    rows = frequencies[frequencies["trip_id"].astype(str).isin(on_routes)]
    if not len(rows):
        return
    new_trips, new_times = [], []
    for trip_id, group in rows.groupby(rows["trip_id"].astype(str)):
        starts: list[float] = []
        for _, row in group.iterrows():
            start = time_to_seconds(pd.Series([row["start_time"]])).iloc[0]
            end = time_to_seconds(pd.Series([row["end_time"]])).iloc[0]
            starts += list(np.arange(start, end, float(row["headway_secs"])))
        trips, times = _copy_trip(feed, trip_id, starts, "")
        new_trips.append(trips)
        new_times.append(times)
    expanded = set(rows["trip_id"].astype(str))
    _remove_trip_ids(feed, expanded)
    _add_trips(feed, new_trips, new_times)
    log.info("expanded %d frequency-based trips into explicit trips before editing",
             len(expanded))


# --------------------------------------------------------------------------- modifications


def _change_frequency(
    feed: Any, mod: ChangeFrequency, scenario: Scenario, index: int, service_date: dt.date,
    prefix: str,
) -> tuple[set[str], set[str], set[str], list[str]]:
    start, end = parse_hhmm(mod.start) * 60, parse_hhmm(mod.end) * 60
    headway = mod.headway_min * 60
    removed: set[str] = set()
    new_trips, new_times, notes = [], [], []
    for name in mod.routes:
        line = _match_routes(feed, [name], scenario, index)
        trips = _running_line_trips(feed, line, service_date)
        for direction, group in trips.groupby("direction", sort=True):
            period = group[(group["departure_s"] >= start) & (group["departure_s"] < end)]
            if not len(period):
                notes.append(f"{name} direction {direction}: no trip in {mod.start}-{mod.end}")
                continue
            template = _template(period)
            departures = list(np.arange(start, end, headway))
            trips_rows, times_rows = _copy_trip(feed, template, departures, prefix)
            new_trips.append(trips_rows)
            new_times.append(times_rows)
            removed |= set(period["trip_id"])
    _remove_trip_ids(feed, removed)
    _add_trips(feed, new_trips, new_times)
    added = set(pd.concat(new_trips)["trip_id"]) if new_trips else set()
    return added, removed, set(), notes


def _template(period: pd.DataFrame) -> str:
    """The earliest trip of the most frequent pattern (ties: the earliest trip's pattern)."""
    ordered = period.sort_values(["departure_s", "trip_id"], kind="stable")
    counts = ordered["pattern"].value_counts(sort=False)
    best = counts.max()
    for pattern in ordered["pattern"]:
        if counts[pattern] == best:
            return str(ordered.loc[ordered["pattern"] == pattern, "trip_id"].iloc[0])
    raise AssertionError("unreachable")


def _headway(departures: np.ndarray, at_end: bool, given_min: float | None, where: str) -> float:
    if given_min is not None:
        return given_min * 60
    distinct = np.unique(departures)
    gaps = np.diff(distinct[-4:] if at_end else distinct[:4])
    if not len(gaps):
        raise ScenarioError(
            f"{where}: the direction has a single departure, so its headway is unknown; "
            "give headway_min."
        )
    return float(np.median(gaps))


def _change_hours(
    feed: Any, mod: ChangeHours, scenario: Scenario, index: int, service_date: dt.date,
    prefix: str,
) -> tuple[set[str], set[str], set[str], list[str]]:
    removed: set[str] = set()
    new_trips, new_times, notes = [], [], []
    for name in mod.routes:
        line = _match_routes(feed, [name], scenario, index)
        trips = _running_line_trips(feed, line, service_date)
        if not len(trips):
            notes.append(f"{name}: no trips on {service_date}")
        for direction, group in trips.groupby("direction", sort=True):
            group = group.sort_values(["departure_s", "trip_id"], kind="stable")
            times = group["departure_s"].to_numpy()
            label = f"{scenario.where(index, 'headway_min')} ({name}, direction {direction})"
            if mod.last_departure is not None:
                last = parse_hhmm(mod.last_departure) * 60
                if last < times[-1]:
                    removed |= set(group.loc[group["departure_s"] > last, "trip_id"])
                elif last > times[-1]:
                    step = _headway(times, True, mod.headway_min, label)
                    starts = list(np.arange(times[-1] + step, last + 0.5, step))
                    rows = _copy_trip(feed, str(group["trip_id"].iloc[-1]), starts, prefix)
                    new_trips.append(rows[0])
                    new_times.append(rows[1])
            if mod.first_departure is not None:
                first = parse_hhmm(mod.first_departure) * 60
                if first > times[0]:
                    removed |= set(group.loc[group["departure_s"] < first, "trip_id"])
                elif first < times[0]:
                    step = _headway(times, False, mod.headway_min, label)
                    starts = sorted(np.arange(times[0] - step, first - 0.5, -step))
                    rows = _copy_trip(feed, str(group["trip_id"].iloc[0]), starts, prefix)
                    new_trips.append(rows[0])
                    new_times.append(rows[1])
    _remove_trip_ids(feed, removed)
    _add_trips(feed, new_trips, new_times)
    added = set(pd.concat(new_trips)["trip_id"]) if new_trips else set()
    return added, removed, set(), notes


def _remove_route(
    feed: Any, mod: RemoveRoute, scenario: Scenario, index: int
) -> tuple[set[str], set[str], set[str], list[str]]:
    route_ids = _match_routes(feed, mod.routes, scenario, index)
    removed = set(
        feed.trips.loc[feed.trips["route_id"].astype(str).isin(route_ids), "trip_id"].astype(str)
    )
    _remove_trip_ids(feed, removed)
    feed.routes = feed.routes[~feed.routes["route_id"].astype(str).isin(route_ids)].reset_index(
        drop=True
    )
    return set(), removed, set(), []


def _remove_trips(
    feed: Any, mod: RemoveTrips, scenario: Scenario, index: int
) -> tuple[set[str], set[str], set[str], list[str]]:
    ids = feed.trips["trip_id"].astype(str)
    if mod.trip_ids is not None:
        bare = ids.str.split(":", n=1).str[-1]
        removed: set[str] = set()
        for trip_id in mod.trip_ids:
            hit = (ids == trip_id) | (bare == trip_id)
            if not hit.any():
                raise ScenarioError(
                    f"{scenario.where(index, 'trip_ids')}: unknown trip {trip_id!r}: no "
                    "trip_id of the feed is that (with or without the feed prefix)."
                )
            removed |= set(ids[hit.to_numpy()])
    else:
        route_ids = _match_routes(feed, mod.routes, scenario, index)
        trips = _trip_table(
            feed, set(ids[feed.trips["route_id"].astype(str).isin(route_ids).to_numpy()])
        )
        start = parse_hhmm(mod.start) * 60 if mod.start else -np.inf
        end = parse_hhmm(mod.end) * 60 if mod.end else np.inf
        hit = (trips["departure_s"] >= start) & (trips["departure_s"] < end)
        removed = set(trips.loc[hit, "trip_id"])
    _remove_trip_ids(feed, removed)
    notes = [] if removed else ["no trip matched"]
    return set(), removed, set(), notes


def _change_speed(
    feed: Any, mod: ChangeSpeed, scenario: Scenario, index: int
) -> tuple[set[str], set[str], set[str], list[str]]:
    route_ids = _match_routes(feed, mod.routes, scenario, index)
    trip_ids = set(
        feed.trips.loc[feed.trips["route_id"].astype(str).isin(route_ids), "trip_id"].astype(str)
    )
    stop_times = feed.stop_times
    on = stop_times["trip_id"].astype(str).isin(trip_ids).to_numpy()
    part = stop_times[on].sort_values(["trip_id", "stop_sequence"], kind="stable")
    arrival = time_to_seconds(part["arrival_time"])
    departure = time_to_seconds(part["departure_time"])
    time_in = arrival.fillna(departure)
    time_out = departure.fillna(arrival)
    trip = part["trip_id"].astype(str)

    # Offsets from the first departure are running time plus the dwell before each stop;
    # only the running part is scaled.
    dwell = (time_out - time_in).fillna(0.0)
    dwell_before = dwell.groupby(trip).cumsum() - dwell
    # Anchored on the first stop's arrival, so that a dwell there keeps its departure.
    first = time_in.groupby(trip).transform("first")
    new_in = first + (time_in - first - dwell_before) * mod.factor + dwell_before
    new_out = new_in + dwell
    part = part.assign(
        arrival_time=np.where(arrival.notna(), format_gtfs_time(np.rint(new_in)), pd.NA),
        departure_time=np.where(departure.notna(), format_gtfs_time(np.rint(new_out)), pd.NA),
    )
    part = part.astype({c: stop_times[c].dtype for c in ("arrival_time", "departure_time")})
    feed.stop_times = pd.concat([stop_times[~on], part], ignore_index=True)
    return set(), set(), trip_ids, []


def _find_feed_stop(feed_stops: pd.DataFrame, atco: str) -> str | None:
    ids = feed_stops["stop_id"].astype(str)
    hit = (ids == atco) | ids.str.endswith(f":{atco}")
    return str(ids[hit.to_numpy()].iloc[0]) if hit.any() else None


def _naptan_point(stops: Any, atco: str) -> tuple[str, float, float] | None:
    if stops is None:
        return None
    rows = stops[stops["atco_code"].astype(str) == atco]
    if not len(rows):
        return None
    row = rows.iloc[0]
    if hasattr(row, "geometry") and row.geometry is not None and "lon" not in rows.columns:
        return str(row["name"]), float(row.geometry.x), float(row.geometry.y)
    return str(row["name"]), float(row["lon"]), float(row["lat"])


def _resolve_stop(
    feed: Any, stops: Any, atco: str, scenario: Scenario, where: str, new_stops: list[dict]
) -> tuple[str, float, float]:
    """stop_id, lon, lat of an ATCO code: the feed's stop, or a new stop from NaPTAN."""
    found = _find_feed_stop(feed.stops, atco)
    if found is not None:
        row = feed.stops[feed.stops["stop_id"].astype(str) == found].iloc[0]
        return found, float(row["stop_lon"]), float(row["stop_lat"])
    point = _naptan_point(stops, atco)
    if point is None:
        hint = (
            "Pass the NaPTAN stops (stops=, from load_naptan) to place new stops."
            if stops is None
            else "Check the code in NaPTAN (only active stops of the study area are loaded)."
        )
        raise ScenarioError(
            f"{where}: unknown ATCO code {atco!r}: not a stop of the feed"
            f"{'' if stops is None else ' nor of the NaPTAN stops given'}. {hint}"
        )
    name, lon, lat = point
    stop_id = f"{scenario.name}:{atco}"
    if stop_id not in {s["stop_id"] for s in new_stops}:
        new_stops.append({"stop_id": stop_id, "stop_name": name, "stop_lat": lat, "stop_lon": lon})
    return stop_id, lon, lat


def _add_route(
    feed: Any, mod: AddRoute, scenario: Scenario, index: int, *, stops: Any, streets: Any,
    circuity: float, car_speed_kmh: float | None,
) -> tuple[set[str], set[str], set[str], list[str], float]:
    prefix = f"{scenario.name}:"
    route_id = f"{prefix}{_slug(mod.short_name)}"
    if route_id in set(feed.routes["route_id"].astype(str)):
        raise ScenarioError(
            f"{scenario.where(index, 'short_name')}: {mod.short_name!r} is already a route "
            "of this scenario; give each new route its own short_name."
        )

    new_stops: list[dict] = []
    stop_ids, lons, lats = [], [], []
    for k, ref in enumerate(mod.stops):
        where = scenario.where(index, f"stops[{k}]")
        if ref.atco:
            stop_id, lon, lat = _resolve_stop(feed, stops, ref.atco, scenario, where, new_stops)
        else:
            stop_id, lon, lat = f"{prefix}{_slug(ref.name)}", ref.lon, ref.lat
            known = {s["stop_id"]: s for s in new_stops}
            if stop_id in known and (known[stop_id]["stop_lon"], known[stop_id]["stop_lat"]) != (
                lon, lat
            ):
                stop_id = f"{stop_id}_{index}_{k}"
            if stop_id not in {s["stop_id"] for s in new_stops}:
                new_stops.append(
                    {"stop_id": stop_id, "stop_name": ref.name, "stop_lat": lat, "stop_lon": lon}
                )
        stop_ids.append(stop_id)
        lons.append(lon)
        lats.append(lat)
    existing = set(feed.stops["stop_id"].astype(str))
    fresh = [s for s in new_stops if s["stop_id"] not in existing]
    if fresh:
        feed.stops = _append(feed.stops, pd.DataFrame(fresh))

    n = len(stop_ids)
    if mod.running_times_min is not None:
        forward = np.rint(np.asarray(mod.running_times_min, float) * 60)
        backward = forward[::-1]
        dwell = mod.dwell_s if mod.dwell_s is not None else 0
    else:
        from transport_access.routing.streets import compute_travel_time_matrix

        car = compute_travel_time_matrix(
            streets, "car", (np.array(lons), np.array(lats)), (np.array(lons), np.array(lats)),
            speed_kmh=car_speed_kmh, circuity=circuity,
        )
        forward = np.array([car[i, i + 1] for i in range(n - 1)])
        backward = np.array([car[i + 1, i] for i in range(n - 1)])[::-1]
        if np.isnan(forward).any() or np.isnan(backward).any():
            raise ScenarioError(
                f"{scenario.where(index, 'stops')}: no car route between some consecutive "
                "stops (not on the street graph); give running_times_min."
            )
        forward = np.rint(forward * mod.car_time_factor)
        backward = np.rint(backward * mod.car_time_factor)
        dwell = mod.dwell_s if mod.dwell_s is not None else _DEFAULT_DWELL_CAR_S

    # Agency: the baseline's when the operator's name is already there.
    agency_id = None
    if feed.agency is not None and "agency_name" in feed.agency.columns:
        same = feed.agency[feed.agency["agency_name"].astype(str) == mod.operator]
        if len(same) and "agency_id" in same.columns:
            agency_id = str(same["agency_id"].iloc[0])
    if agency_id is None:
        agency_id = f"{prefix}{_slug(mod.operator)}"
        if feed.agency is None or agency_id not in set(feed.agency["agency_id"].astype(str)):
            timezone = (
                str(feed.agency["agency_timezone"].iloc[0])
                if feed.agency is not None and len(feed.agency)
                else "Europe/London"
            )
            feed.agency = _append(feed.agency, pd.DataFrame([{
                "agency_id": agency_id, "agency_name": mod.operator,
                "agency_url": "https://example.org", "agency_timezone": timezone,
            }]))
    feed.routes = _append(feed.routes, pd.DataFrame([{
        "route_id": route_id, "agency_id": agency_id, "route_short_name": mod.short_name,
        "route_long_name": mod.long_name, "route_type": mod.route_type,
    }]))

    # A calendar row over the feed's dates (and the days asked), so that it runs like the
    # baseline on any date the baseline covers.
    service_id = f"{route_id}:{'-'.join(mod.days)}"
    first, last = feed_date_range(feed)
    calendar_row = {"service_id": service_id, "start_date": first.strftime("%Y%m%d"),
                    "end_date": last.strftime("%Y%m%d")}
    calendar_row |= {col: int(day in mod.days) for col, day in zip(_WEEKDAY_COLUMNS, DAYS,
                                                                    strict=True)}
    feed.calendar = _append(feed.calendar, pd.DataFrame([calendar_row]))

    departures = np.asarray(mod.departure_minutes(), float) * 60
    directions = [(0, stop_ids, forward)]
    if mod.both_directions:
        directions.append((1, stop_ids[::-1], backward))
    trips_rows, times_rows = [], []
    for direction, ids, running in directions:
        offsets_in = np.zeros(n)
        offsets_out = np.zeros(n)
        for i in range(1, n):
            offsets_in[i] = offsets_out[i - 1] + running[i - 1]
            offsets_out[i] = offsets_in[i] + (dwell if i < n - 1 else 0)
        headsign = _stop_name(feed, ids[-1])
        for start in departures:
            trip_id = f"{route_id}:d{direction}:{format_gtfs_time([start])[0]}"
            trips_rows.append({"route_id": route_id, "service_id": service_id,
                               "trip_id": trip_id, "trip_headsign": headsign,
                               "direction_id": direction})
            times_rows.append(pd.DataFrame({
                "trip_id": trip_id,
                "arrival_time": format_gtfs_time(start + offsets_in),
                "departure_time": format_gtfs_time(start + offsets_out),
                "stop_id": ids,
                "stop_sequence": np.arange(1, n + 1),
                "timepoint": 1,
            }))
    _add_trips(feed, [pd.DataFrame(trips_rows)], times_rows)
    added = {row["trip_id"] for row in trips_rows}
    return added, set(), set(), [], float(len(mod.days))


def _stop_name(feed: Any, stop_id: str) -> str:
    names = feed.stops.loc[feed.stops["stop_id"].astype(str) == stop_id, "stop_name"]
    return str(names.iloc[0]) if len(names) else ""


def _drt_zone(
    feed: Any, mod: AddDrtZone, scenario: Scenario, index: int, stops: Any,
    notes: list[str],
) -> DrtZone:
    """The zone of ``mod``; hubs no timetable stop serves are logged and noted in ``notes``."""
    hub_ids, hub_lon, hub_lat = [], [], []
    for k, atco in enumerate(mod.hubs):
        where = scenario.where(index, f"hubs[{k}]")
        found = _find_feed_stop(feed.stops, atco)
        if found is not None:
            row = feed.stops[feed.stops["stop_id"].astype(str) == found].iloc[0]
            hub_ids.append(found)
            hub_lon.append(float(row["stop_lon"]))
            hub_lat.append(float(row["stop_lat"]))
            continue
        point = _naptan_point(stops, atco)
        if point is None:
            raise ScenarioError(
                f"{where}: unknown ATCO code {atco!r}: not a stop of the feed nor of the "
                "NaPTAN stops given (pass stops= from load_naptan)."
            )
        from transport_access.routing.straight_line import haversine_m
        from transport_access.scenarios.drt import HUB_RADIUS_M

        near = haversine_m(
            feed.stops["stop_lon"].to_numpy(float), feed.stops["stop_lat"].to_numpy(float),
            point[1], point[2],
        ) <= HUB_RADIUS_M
        if near.any():
            log.info("%s: hub %s (%s) is served through %d timetable stop(s) within %g m "
                     "(%s)", where, atco, point[0], int(near.sum()), HUB_RADIUS_M,
                     ", ".join(feed.stops.loc[near, "stop_name"].astype(str).head(3)))
        else:
            log.warning("%s: hub %s (%s) is not served by the timetable (no stop within %g m); "
                        "riders can be taken there but cannot change to a service", where, atco,
                        point[0], HUB_RADIUS_M)
            notes.append(f"hub {atco} ({point[0]}) has no timetabled service within "
                         f"{HUB_RADIUS_M:g} m: riders cannot change to a bus or train there")
        hub_ids.append(None)
        hub_lon.append(point[1])
        hub_lat.append(point[2])
    return DrtZone(
        name=f"{scenario.name}:{mod.name}",
        area=scenario.drt_polygon(index),
        days=tuple(mod.days),
        start_s=parse_hhmm(mod.start) * 60,
        end_s=parse_hhmm(mod.end) * 60,
        wait_s=int(round(mod.wait_min * 60)),
        detour_factor=mod.detour_factor,
        vehicles=mod.vehicles,
        hub_atco=tuple(mod.hubs),
        hub_stop_ids=tuple(hub_ids),
        hub_lon=tuple(hub_lon),
        hub_lat=tuple(hub_lat),
    )


def _describe(mod: Any) -> str:
    if isinstance(mod, AddRoute):
        return f"new route {mod.short_name} ({len(mod.stops)} stops, {','.join(mod.days)})"
    if isinstance(mod, AddDrtZone):
        return f"DRT zone {mod.name}, {mod.start}-{mod.end}, {mod.vehicles} vehicle(s)"
    routes = ", ".join(getattr(mod, "routes", None) or [])
    if isinstance(mod, ChangeFrequency):
        return f"{routes}: every {mod.headway_min:g} min {mod.start}-{mod.end}"
    if isinstance(mod, ChangeHours):
        return f"{routes}: first {mod.first_departure or '-'}, last {mod.last_departure or '-'}"
    if isinstance(mod, ChangeSpeed):
        return f"{routes}: running times x {mod.factor:g}"
    if isinstance(mod, RemoveTrips) and mod.trip_ids:
        return f"{len(mod.trip_ids)} trip(s) by ID"
    if isinstance(mod, RemoveTrips):
        return f"{routes}: trips {mod.start or 'start'}-{mod.end or 'end'}"
    return routes


# --------------------------------------------------------------------------- the entry point


def apply_scenario(
    feed: Any,
    scenario: Scenario,
    *,
    stops: Any = None,
    streets: Any = None,
    service_date: dt.date,
    cost_per_vehicle_hour_gbp: float = DEFAULT_COST_PER_VEHICLE_HOUR_GBP,
    circuity: float = 1.3,
    car_speed_kmh: float | None = None,
) -> tuple[Any, ScenarioChanges]:
    """Apply a scenario to a copy of a feed and report what each modification changed.

    Parameters
    ----------
    feed : gtfs_kit.Feed
        The baseline (e.g. ``StudyData.feed``); not modified.
    scenario : Scenario
        From :func:`transport_access.scenarios.model.load_scenario`.
    stops : GeoDataFrame, optional
        NaPTAN stops (:func:`transport_access.load.naptan.load_naptan`), to place ATCO codes
        that are not stops of the feed.
    streets : StreetNetwork, optional
        For car times of new routes and DRT zones; ``None`` uses the straight-line fallback.
    service_date : datetime.date
        The routing day: edits of baseline trips apply to the trips running that day (see
        the module rules) and costs are counted on it.
    cost_per_vehicle_hour_gbp : float
        Operating cost, GBP per vehicle-hour (the study's ``cost_per_vehicle_hour_gbp``).
    circuity : float
        Straight-line fallback ratio for car times.
    car_speed_kmh : float, optional
        Straight-line fallback car speed (40 km/h when not given).

    Returns
    -------
    feed : gtfs_kit.Feed
        The edited copy.
    changes : ScenarioChanges
        One entry per modification (trips added/removed/retimed, vehicle-hours and
        vehicle-km per day, cost), and the DRT zones.

    Raises
    ------
    ScenarioError
        A modification names an unknown route, trip or ATCO code, or a headway cannot be
        worked out; the message names the file, the modification and the key.
    """
    edited = feed.copy()
    changes = ScenarioChanges(scenario.name, service_date, cost_per_vehicle_hour_gbp)
    prefix = f"{scenario.name}:"
    for index, mod in enumerate(scenario.modifications):
        change = ModificationChange(index=index, type=mod.type, what=_describe(mod))
        if isinstance(mod, AddDrtZone):
            notes = []
            zone = _drt_zone(edited, mod, scenario, index, stops, notes)
            changes.drt_zones.append(zone)
            change.vehicle_hours = zone.vehicle_hours_per_day
            # Distance driven depends on bookings, which the model does not simulate.
            change.vehicle_km = float("nan")
            notes.append("vehicle-km not estimated: they depend on bookings")
            change.days_per_week = len(zone.days)
            change.cost_per_day_gbp = change.vehicle_hours * cost_per_vehicle_hour_gbp
            change.note = "; ".join(notes)
            changes.modifications.append(change)
            continue

        if isinstance(mod, (ChangeFrequency, ChangeHours, ChangeSpeed, RemoveTrips)) and getattr(
            mod, "routes", None
        ):
            _expand_frequencies(edited, _match_routes(edited, mod.routes, scenario, index))
        before = edited
        edited = edited.copy()
        notes: list[str] = []
        if isinstance(mod, AddRoute):
            added, removed, changed, notes, days = _add_route(
                edited, mod, scenario, index, stops=stops, streets=streets,
                circuity=circuity, car_speed_kmh=car_speed_kmh,
            )
            change.days_per_week = int(days)
            if DAYS[service_date.weekday()] not in mod.days:
                notes.append(f"does not run on the service date {service_date}")
        elif isinstance(mod, ChangeFrequency):
            added, removed, changed, notes = _change_frequency(
                edited, mod, scenario, index, service_date, f"{prefix}{index}:"
            )
        elif isinstance(mod, ChangeHours):
            added, removed, changed, notes = _change_hours(
                edited, mod, scenario, index, service_date, f"{prefix}{index}:"
            )
        elif isinstance(mod, RemoveRoute):
            added, removed, changed, notes = _remove_route(edited, mod, scenario, index)
        elif isinstance(mod, RemoveTrips):
            added, removed, changed, notes = _remove_trips(edited, mod, scenario, index)
        elif isinstance(mod, ChangeSpeed):
            added, removed, changed, notes = _change_speed(edited, mod, scenario, index)
        else:  # pragma: no cover - the model admits no other type
            raise ScenarioError(f"{scenario.where(index)}: unsupported modification")

        # New routes count one day they run; edits count the trips of the service date.
        if isinstance(mod, AddRoute):
            after_ids, before_ids = added, set()
        else:
            after_ids = running_trip_ids(edited, service_date, added | changed)
            before_ids = running_trip_ids(before, service_date, removed | changed)
        after = trip_vehicle_stats(edited, after_ids)
        prior = trip_vehicle_stats(before, before_ids)
        change.trips_added, change.trips_removed = len(added), len(removed)
        change.trips_changed = len(changed)
        change.vehicle_hours = float(after["vehicle_hours"].sum() - prior["vehicle_hours"].sum())
        change.vehicle_km = float(after["vehicle_km"].sum() - prior["vehicle_km"].sum())
        change.cost_per_day_gbp = change.vehicle_hours * cost_per_vehicle_hour_gbp
        if not isinstance(mod, AddRoute):
            # Edited trips may run on other days than the service date: cost their week,
            # unless the feed was aligned to the routing day (the rest of its week is gone).
            if _on_aligned_days(before, removed | changed):
                notes.append("weekly cost not estimated: the timetable is the chosen service "
                             "day of its feed, aligned to the routing date")
            else:
                days, week_hours = _week_vehicle_hours(before, edited, service_date, added,
                                                       removed, changed)
                change.days_per_week = days
                change.week_cost_gbp = week_hours * cost_per_vehicle_hour_gbp
        change.added_trip_ids = sorted(added)
        change.removed_trip_ids = sorted(removed)
        change.note = "; ".join(notes)
        for note in notes:
            log.warning("%s: %s", scenario.where(index), note)
        changes.modifications.append(change)
        log.info(
            "%s: %s: +%d / -%d trips, %+.2f vehicle-hours and %+.1f vehicle-km a day, "
            "%+.0f GBP a day",
            scenario.where(index), change.what, change.trips_added, change.trips_removed,
            change.vehicle_hours, change.vehicle_km, change.cost_per_day_gbp,
        )
    return edited, changes


def _on_aligned_days(feed: Any, trip_ids: set[str]) -> bool:
    """Whether any of the trips runs on a service made by ``align_service_day``."""
    from transport_access.load.gtfs import ALIGNED_BOTH_DAYS, ALIGNED_DAY, ALIGNED_PREVIOUS_DAY

    trips = feed.trips[feed.trips["trip_id"].astype(str).isin(trip_ids)]
    # Merged feeds prefix every ID with "{feed}:".
    services = trips["service_id"].astype(str).str.rsplit(":", n=1).str[-1]
    return bool(services.isin({ALIGNED_DAY, ALIGNED_PREVIOUS_DAY, ALIGNED_BOTH_DAYS}).any())


def _week_vehicle_hours(
    before: Any, after: Any, service_date: dt.date, added: set[str], removed: set[str],
    changed: set[str],
) -> tuple[int, float]:
    """Days of the service date's week (Monday to Sunday) on which the edit changes any trip,
    and the net vehicle-hours of the whole week."""
    monday = service_date - dt.timedelta(days=service_date.weekday())
    days, hours = 0, 0.0
    for k in range(7):
        day = monday + dt.timedelta(days=k)
        now = running_trip_ids(after, day, added | changed)
        then = running_trip_ids(before, day, removed | changed)
        if not now and not then:
            continue
        days += 1
        hours += float(trip_vehicle_stats(after, now)["vehicle_hours"].sum()
                       - trip_vehicle_stats(before, then)["vehicle_hours"].sum())
    return days, hours


def apply_study_scenarios(
    data: Any, *, streets: Any = None
) -> dict[str, tuple[Any, ScenarioChanges]]:
    """Load and apply every scenario file of a study (``study.scenarios``) to its baseline.

    Parameters
    ----------
    data : StudyData
        From :func:`transport_access.study_data.load_study_data`: its ``feed``,
        ``service_date`` and NaPTAN ``stops`` are used, and from its study the scenario paths
        (relative to the study file), ``cost_per_vehicle_hour_gbp``, ``modes.circuity`` and
        ``modes.car_speed_kmh_default`` (the fallback car speed).
    streets : StreetNetwork, optional
        For car times; ``None`` uses the straight-line fallback.

    Returns
    -------
    dict of str to (gtfs_kit.Feed, ScenarioChanges)
        Scenario name -> its edited feed and changes, in the study's order.

    Raises
    ------
    ScenarioError
        A scenario is invalid or does not fit the feed, or two scenarios share a name.
    ValueError
        The study has no timetable.
    """
    from transport_access.scenarios.model import load_scenario

    study = data.study
    if data.feed is None or data.service_date is None:
        raise ValueError("the study has no timetable (data.timetables): nothing to edit")
    results: dict[str, tuple[Any, ScenarioChanges]] = {}
    for relative in study.scenarios:
        scenario = load_scenario(study.resolve_scenario(relative))
        if scenario.name in results:
            raise ScenarioError(
                f"{scenario.source}: name {scenario.name!r} is already the name of another "
                "scenario of the study; names prefix the IDs they add, so they must differ."
            )
        results[scenario.name] = apply_scenario(
            data.feed, scenario, stops=data.stops, streets=streets,
            service_date=data.service_date,
            cost_per_vehicle_hour_gbp=study.cost_per_vehicle_hour_gbp,
            circuity=study.modes.circuity, car_speed_kmh=study.modes.car_speed_kmh_default,
        )
    return results
