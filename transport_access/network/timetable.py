"""The timetable model for routing: one service day of GTFS as RAPTOR arrays, cached on disk.

:func:`build_timetable` turns a GTFS feed (a ``gtfs_kit.Feed`` or any object with the same
DataFrames) and a service day into a :class:`Timetable` of numpy arrays:

- stops, in feed order, with their coordinates;
- route *patterns*: trips grouped by identical stop sequence, then split so that no trip of
  a pattern overtakes another (at every stop of a pattern, both arrivals and departures are
  sorted in trip order: RAPTOR's earliest-trip scan relies on it);
- arrival and departure times in whole seconds after midnight of the service day. Trips of
  the previous service day are included shifted by -86,400 s when they still run after
  midnight (GTFS times of 24:00:00 and later);
- a stop -> (pattern, position) index.

Stop times left empty in the feed are interpolated linearly on cumulative haversine distance
between the surrounding timed stops (by stop order where that distance is zero) and rounded to
the nearest whole second, half-seconds up; arrival equals departure there. Trips listed in
``frequencies.txt`` are expanded to explicit departures at ``start_time``, ``start_time +
headway_secs``, ... strictly before ``end_time``; their own stop times only give the running
times. ``pickup_type`` and ``drop_off_type`` are not modelled: every stop allows boarding and
alighting.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from transport_access._cache import cache_dir, cache_key
from transport_access._log import get_logger
from transport_access.errors import InvalidValueError, MissingColumnError, NoServiceError
from transport_access.load.gtfs import service_ids_on
from transport_access.report import DataReport

log = get_logger(__name__)

SECONDS_PER_DAY = 86_400
_EARTH_RADIUS_M = 6_371_008.8
# Bump when the layout or the semantics of the arrays change, so old caches are not reused.
_FORMAT_VERSION = 1


@dataclass(frozen=True)
class Timetable:
    """One service day of public transport as flat arrays for the RAPTOR kernels.

    Times are whole seconds after midnight of ``service_date`` (negative for the part of a
    previous day's trip before midnight). ``P`` patterns, ``S`` stops, ``T`` trips.

    Attributes
    ----------
    service_date : str
        The service day, ``YYYY-MM-DD``.
    stop_ids : numpy.ndarray of str, shape (S,)
    stop_lon, stop_lat : numpy.ndarray of float64, shape (S,)
        Stop coordinates in degrees (EPSG:4326).
    pattern_stop_ptr : numpy.ndarray of int64, shape (P + 1,)
        Pattern ``p`` visits ``pattern_stops[pattern_stop_ptr[p]:pattern_stop_ptr[p + 1]]``.
    pattern_stops : numpy.ndarray of int32
        Stop indices of each pattern in visiting order.
    pattern_trip_ptr : numpy.ndarray of int64, shape (P + 1,)
        Pattern ``p`` runs trips ``pattern_trip_ptr[p]:pattern_trip_ptr[p + 1]``, sorted by
        departure (and, being FIFO, by arrival at every stop).
    pattern_time_ptr : numpy.ndarray of int64, shape (P + 1,)
        Start of pattern ``p``'s block in ``arrival_s`` and ``departure_s``. The block is
        stop-major: the time of trip ``t`` (0-based within the pattern) at position ``j`` is at
        ``pattern_time_ptr[p] + j * n_trips_p + t``.
    arrival_s, departure_s : numpy.ndarray of int32
        Arrival and departure times in seconds after midnight.
    pattern_route_ids : numpy.ndarray of str, shape (P,)
    trip_ids : numpy.ndarray of str, shape (T,)
        Trip ID of each trip in pattern order; expanded frequency trips get
        ``"{trip_id}@{HH:MM:SS}"`` and previous-day trips ``"{trip_id}@-1"``.
    stop_pattern_ptr : numpy.ndarray of int64, shape (S + 1,)
        Stop ``s`` is visited at ``stop_pattern_pos[i]`` of pattern ``stop_pattern[i]`` for
        ``i`` in ``stop_pattern_ptr[s]:stop_pattern_ptr[s + 1]`` (once per visit).
    stop_pattern, stop_pattern_pos : numpy.ndarray of int32
    """

    service_date: str
    stop_ids: np.ndarray
    stop_lon: np.ndarray
    stop_lat: np.ndarray
    pattern_stop_ptr: np.ndarray
    pattern_stops: np.ndarray
    pattern_trip_ptr: np.ndarray
    pattern_time_ptr: np.ndarray
    arrival_s: np.ndarray
    departure_s: np.ndarray
    pattern_route_ids: np.ndarray
    trip_ids: np.ndarray
    stop_pattern_ptr: np.ndarray
    stop_pattern: np.ndarray
    stop_pattern_pos: np.ndarray

    @property
    def n_stops(self) -> int:
        """Number of stops."""
        return len(self.stop_ids)

    @property
    def n_patterns(self) -> int:
        """Number of route patterns."""
        return len(self.pattern_stop_ptr) - 1

    @property
    def n_trips(self) -> int:
        """Number of trips (expanded frequency trips and previous-day trips included)."""
        return len(self.trip_ids)

    def trip_times(self, pattern: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return a pattern's stops and its ``(n_trips, n_stops)`` arrival and departure seconds.

        Parameters
        ----------
        pattern : int
            Pattern index.

        Returns
        -------
        stops : numpy.ndarray of int32, shape (n_stops,)
        arrival_s, departure_s : numpy.ndarray of int32, shape (n_trips, n_stops)
        """
        stops = self.pattern_stops[
            self.pattern_stop_ptr[pattern] : self.pattern_stop_ptr[pattern + 1]
        ]
        n_trips = int(self.pattern_trip_ptr[pattern + 1] - self.pattern_trip_ptr[pattern])
        start = int(self.pattern_time_ptr[pattern])
        size = n_trips * len(stops)
        shape = (len(stops), n_trips)
        arrival = self.arrival_s[start : start + size].reshape(shape).T
        departure = self.departure_s[start : start + size].reshape(shape).T
        return stops, arrival, departure

    def save(self, path: str | Path) -> Path:
        """Write the arrays to an ``.npz`` file (no pickles) and return its path."""
        path = Path(path)
        arrays = {f.name: np.asarray(getattr(self, f.name)) for f in fields(self)}
        np.savez(path, **arrays)
        return path if path.suffix == ".npz" else path.with_suffix(path.suffix + ".npz")

    @classmethod
    def load(cls, path: str | Path) -> Timetable:
        """Read a timetable written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as data:
            values = {f.name: data[f.name] for f in fields(cls)}
        values["service_date"] = str(values["service_date"])
        return cls(**values)


def build_timetable(
    feed: Any,
    date: dt.date | str,
    *,
    cache: bool = True,
    report: DataReport | None = None,
) -> Timetable:
    """Build the routing timetable of one service day, from the on-disk cache when possible.

    Parameters
    ----------
    feed : gtfs_kit.Feed
        Or any object with ``stops``, ``trips``, ``stop_times`` and ``calendar`` and/or
        ``calendar_dates`` DataFrames (``frequencies`` optional). Times are GTFS
        ``H:MM:SS`` strings, empty where the feed leaves them out.
    date : datetime.date or str
        The service day (``YYYY-MM-DD``). Trips of the day before that run past midnight
        are included.
    cache : bool
        Read and write the arrays in the cache folder, keyed by the feed's content and the
        date.
    report : DataReport, optional
        Receives the count of trips kept and of trips not running that day.

    Returns
    -------
    Timetable

    Raises
    ------
    NoServiceError
        No trip runs on ``date``.
    InvalidValueError
        Stop times decrease along a trip, a departure precedes its arrival, a trip's first or
        last stop has no time, or a stop time names an unknown stop.
    """
    date = dt.date.fromisoformat(date) if isinstance(date, str) else date
    path = None
    if cache:
        key = cache_key(
            "timetable",
            [],
            {"feed": _feed_digest(feed), "date": date.isoformat(), "version": _FORMAT_VERSION},
        )
        path = cache_dir() / f"{key}.npz"
        if path.exists():
            log.info("timetable for %s read from cache %s", date, path.name)
            return Timetable.load(path)

    timetable = _build(feed, date, report)
    if path is not None:
        timetable.save(path)
    return timetable


def _feed_digest(feed: Any) -> str:
    """Hash the content of the tables the timetable is made of."""
    digest = hashlib.sha256()
    for name in ("stops", "trips", "stop_times", "calendar", "calendar_dates", "frequencies"):
        table = getattr(feed, name, None)
        digest.update(name.encode())
        if table is None:
            continue
        digest.update(",".join(map(str, table.columns)).encode())
        digest.update(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _require(table: pd.DataFrame | None, name: str, columns: list[str]) -> pd.DataFrame:
    if table is None:
        raise MissingColumnError(f"{name}.txt", "the table is missing from the feed.")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise MissingColumnError(f"{name}.txt", f"missing column(s) {missing}.")
    return table


def parse_gtfs_seconds(values: pd.Series, *, table: str, field: str) -> np.ndarray:
    """Parse GTFS ``H:MM:SS`` times to seconds after midnight, NaN where empty.

    Parameters
    ----------
    values : pandas.Series
        Times as strings; hours may exceed 23.
    table, field : str
        Named in the error message.

    Returns
    -------
    numpy.ndarray of float64

    Raises
    ------
    InvalidValueError
        A value is not a time.
    """
    text = values.astype("string").str.strip()
    text = text.mask(text == "")
    parts = text.str.extract(r"^(\d+):([0-5]\d):([0-5]\d)$")
    bad = text.notna() & parts[0].isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InvalidValueError(
            f"{table}.txt",
            f"{field} {text.iloc[row]!r} at data row {row + 1} is not a time (H:MM:SS).",
            "Fix the value or leave it empty.",
        )
    numbers = parts.astype("float64").to_numpy()
    return numbers[:, 0] * 3600 + numbers[:, 1] * 60 + numbers[:, 2]


def _haversine_m(
    lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray
) -> np.ndarray:
    lon1, lat1, lon2, lat2 = (np.radians(a) for a in (lon1, lat1, lon2, lat2))
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * _EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _build(feed: Any, date: dt.date, report: DataReport | None) -> Timetable:
    stops = _require(getattr(feed, "stops", None), "stops", ["stop_id", "stop_lon", "stop_lat"])
    trips = _require(getattr(feed, "trips", None), "trips", ["trip_id", "route_id", "service_id"])
    stop_times = _require(
        getattr(feed, "stop_times", None),
        "stop_times",
        ["trip_id", "stop_id", "stop_sequence", "arrival_time", "departure_time"],
    )

    # Which trips run: today's as they are, yesterday's shifted back one day.
    today = service_ids_on(feed, date)
    yesterday = service_ids_on(feed, date - dt.timedelta(days=1))
    service = trips["service_id"].astype(str)
    runs_today = service.isin(today).to_numpy()
    runs_yesterday = service.isin(yesterday).to_numpy()
    if not runs_today.any():
        raise NoServiceError(
            f"no trip runs on {date.isoformat()} ({date:%A}) by calendar.txt and "
            "calendar_dates.txt; choose a date inside the feed's service period."
        )
    active = trips.loc[runs_today | runs_yesterday, ["trip_id", "route_id"]].astype(str)
    trip_index = pd.Index(active["trip_id"])
    if not trip_index.is_unique:
        dup = trip_index[trip_index.duplicated()][0]
        raise InvalidValueError("trips.txt", f"trip_id {dup!r} appears more than once.")

    stop_ids = stops["stop_id"].astype(str).to_numpy()
    stop_lon = pd.to_numeric(stops["stop_lon"], errors="coerce").to_numpy(dtype=np.float64)
    stop_lat = pd.to_numeric(stops["stop_lat"], errors="coerce").to_numpy(dtype=np.float64)
    stop_index = pd.Index(stop_ids)

    rows = stop_times[stop_times["trip_id"].astype(str).isin(trip_index)]
    trip_code = trip_index.get_indexer(rows["trip_id"].astype(str))
    seq = pd.to_numeric(rows["stop_sequence"], errors="coerce").to_numpy(dtype=np.float64)
    stop_code = stop_index.get_indexer(rows["stop_id"].astype(str))
    if (stop_code < 0).any():
        i = int(np.flatnonzero(stop_code < 0)[0])
        raise InvalidValueError(
            "stop_times.txt",
            f"stop_id {rows['stop_id'].iloc[i]!r} of trip_id {rows['trip_id'].iloc[i]!r} "
            "is not in stops.txt.",
        )
    no_place = np.isnan(stop_lon[stop_code]) | np.isnan(stop_lat[stop_code])
    if no_place.any():
        i = int(np.flatnonzero(no_place)[0])
        raise InvalidValueError(
            "stops.txt",
            f"stop_id {rows['stop_id'].iloc[i]!r}, used by trip_id {rows['trip_id'].iloc[i]!r}, "
            "has no stop_lon/stop_lat.",
            "Give the stop its coordinates.",
        )
    arrival = parse_gtfs_seconds(rows["arrival_time"], table="stop_times", field="arrival_time")
    departure = parse_gtfs_seconds(
        rows["departure_time"], table="stop_times", field="departure_time"
    )
    order = np.lexsort((seq, trip_code))
    trip_code, seq, stop_code = trip_code[order], seq[order], stop_code[order]
    arrival, departure = arrival[order], departure[order]
    arrival = np.where(np.isnan(arrival), departure, arrival)
    departure = np.where(np.isnan(departure), arrival, departure)

    arrival, departure, n_interpolated = _interpolate(
        trip_code, seq, stop_code, arrival, departure, stop_lon, stop_lat, trip_index
    )

    instances, n_frequency = _trip_instances(
        feed, trip_code, departure, runs_today, runs_yesterday, trips, trip_index
    )
    timetable = _patterns(
        date,
        trip_code,
        stop_code,
        arrival,
        departure,
        instances,
        active,
        trip_index,
        stop_ids,
        stop_lon,
        stop_lat,
    )

    n_not_running = int((~runs_today).sum())
    n_no_times = int(len(active) - len(np.unique(trip_code)))
    n_overnight = int(np.char.endswith(timetable.trip_ids.astype(str), "@-1").sum())
    if n_no_times:
        log.warning("timetable %s: %d running trips have no stop times; left out", date, n_no_times)
    log.info(
        "timetable %s: %d trips (%d frequency departures, %d from the day before), "
        "%d patterns, %d stops, %d stop times interpolated",
        date,
        timetable.n_trips,
        n_frequency,
        n_overnight,
        timetable.n_patterns,
        timetable.n_stops,
        n_interpolated,
    )
    if report is not None:
        report.add(
            "timetable",
            date.isoformat(),
            timetable.n_trips,
            {"trips not running that day": n_not_running, "trips without stop times": n_no_times},
            detail=f"{timetable.n_patterns} patterns; {n_frequency} frequency departures; "
            f"{n_overnight} trips of the day before still running after midnight; "
            f"{n_interpolated} stop times interpolated",
        )
    return timetable


def _interpolate(
    trip_code: np.ndarray,
    seq: np.ndarray,
    stop_code: np.ndarray,
    arrival: np.ndarray,
    departure: np.ndarray,
    stop_lon: np.ndarray,
    stop_lat: np.ndarray,
    trip_index: pd.Index,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Check the timed stop times of each trip and fill the empty ones (rows sorted by trip)."""
    n = len(trip_code)
    row = np.arange(n)
    first = np.ones(n, dtype=bool)
    first[1:] = trip_code[1:] != trip_code[:-1]
    last = np.ones(n, dtype=bool)
    last[:-1] = first[1:]
    timed = ~np.isnan(departure)

    def where(i: int) -> str:
        return f"trip_id {trip_index[trip_code[i]]!r}, stop_sequence {int(seq[i])}"

    untimed_end = (first | last) & ~timed
    if untimed_end.any():
        i = int(np.flatnonzero(untimed_end)[0])
        raise InvalidValueError(
            "stop_times.txt",
            f"{where(i)}: the first and last stop of a trip need arrival and departure times.",
        )
    dwell_bad = timed & (departure < arrival)
    if dwell_bad.any():
        i = int(np.flatnonzero(dwell_bad)[0])
        raise InvalidValueError(
            "stop_times.txt",
            f"{where(i)}: departure_time is before arrival_time (negative dwell).",
            "Fix the times in the feed.",
        )
    prev_timed = np.maximum.accumulate(np.where(timed, row, -1))
    before = np.empty(n, dtype=np.int64)
    before[0] = -1
    before[1:] = prev_timed[:-1]
    check = timed & ~first
    decreasing = check & (arrival < departure[np.maximum(before, 0)])
    if decreasing.any():
        i = int(np.flatnonzero(decreasing)[0])
        raise InvalidValueError(
            "stop_times.txt",
            f"{where(i)}: arrival_time is earlier than the departure from the previous stop "
            "(times decrease along stop_sequence).",
            "Fix the times or the stop_sequence in the feed.",
        )

    todo = ~timed
    n_interpolated = int(todo.sum())
    if n_interpolated:
        # Cumulative distance along each trip, restarting at every first stop.
        step = np.zeros(n)
        step[1:] = _haversine_m(
            stop_lon[stop_code[:-1]],
            stop_lat[stop_code[:-1]],
            stop_lon[stop_code[1:]],
            stop_lat[stop_code[1:]],
        )
        step[first] = 0.0
        total = np.cumsum(step)
        along = total - np.maximum.accumulate(np.where(first, total, -np.inf))
        next_timed = np.minimum.accumulate(np.where(timed, row, n)[::-1])[::-1]
        i = np.flatnonzero(todo)
        lo, hi = prev_timed[i], next_timed[i]
        span_m = along[hi] - along[lo]
        by_distance = span_m > 0
        fraction = np.where(
            by_distance,
            (along[i] - along[lo]) / np.where(by_distance, span_m, 1.0),
            (i - lo) / (hi - lo),
        )
        t0, t1 = departure[lo], arrival[hi]
        filled = np.floor(t0 + (t1 - t0) * fraction + 0.5)
        arrival = arrival.copy()
        departure = departure.copy()
        arrival[i] = filled
        departure[i] = filled
    return arrival, departure, n_interpolated


def _trip_instances(
    feed: Any,
    trip_code: np.ndarray,
    departure: np.ndarray,
    runs_today: np.ndarray,
    runs_yesterday: np.ndarray,
    trips: pd.DataFrame,
    trip_index: pd.Index,
) -> tuple[list[tuple[int, int, str]], int]:
    """Return (trip code, time shift in seconds, ID suffix) for every departure to model."""
    today = set(trips["trip_id"].astype(str)[runs_today])
    yesterday = set(trips["trip_id"].astype(str)[runs_yesterday])

    first_row = np.flatnonzero(np.r_[True, trip_code[1:] != trip_code[:-1]])
    first_departure = dict(
        zip(trip_code[first_row].tolist(), departure[first_row].tolist(), strict=True)
    )

    starts: dict[int, list[int]] = {}
    frequencies = getattr(feed, "frequencies", None)
    if frequencies is not None and len(frequencies):
        freq = _require(
            frequencies, "frequencies", ["trip_id", "start_time", "end_time", "headway_secs"]
        )
        codes = trip_index.get_indexer(freq["trip_id"].astype(str))
        start = parse_gtfs_seconds(freq["start_time"], table="frequencies", field="start_time")
        end = parse_gtfs_seconds(freq["end_time"], table="frequencies", field="end_time")
        headway = pd.to_numeric(freq["headway_secs"], errors="coerce").to_numpy(dtype=np.float64)
        for k in range(len(freq)):
            if codes[k] < 0:
                continue  # the trip does not run on these days
            if not (headway[k] > 0) or np.isnan(start[k]) or np.isnan(end[k]):
                raise InvalidValueError(
                    "frequencies.txt",
                    f"trip_id {freq['trip_id'].iloc[k]!r}: start_time, end_time and a positive "
                    "headway_secs are required.",
                )
            times = np.arange(start[k], end[k], headway[k]).astype(np.int64)
            starts.setdefault(int(codes[k]), []).extend(times.tolist())

    instances: list[tuple[int, int, str]] = []
    n_frequency = 0
    for code in sorted(first_departure):
        trip_id = trip_index[code]
        days = [(0, "")] if trip_id in today else []
        if trip_id in yesterday:
            days.append((-SECONDS_PER_DAY, "@-1"))
        base = int(first_departure[code])
        for day_shift, day_suffix in days:
            if code in starts:
                for s in sorted(set(starts[code])):
                    label = f"@{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}{day_suffix}"
                    instances.append((code, day_shift + s - base, label))
                    n_frequency += 1
            else:
                instances.append((code, day_shift, day_suffix))
    return instances, n_frequency


def _patterns(
    date: dt.date,
    trip_code: np.ndarray,
    stop_code: np.ndarray,
    arrival: np.ndarray,
    departure: np.ndarray,
    instances: list[tuple[int, int, str]],
    active: pd.DataFrame,
    trip_index: pd.Index,
    stop_ids: np.ndarray,
    stop_lon: np.ndarray,
    stop_lat: np.ndarray,
) -> Timetable:
    """Group trip instances into FIFO patterns and lay out the arrays."""
    bounds = np.flatnonzero(np.r_[True, trip_code[1:] != trip_code[:-1], True])
    rows_of = {
        int(trip_code[bounds[k]]): (int(bounds[k]), int(bounds[k + 1]))
        for k in range(len(bounds) - 1)
    }
    route_of = dict(zip(active["trip_id"], active["route_id"], strict=True))

    # Group by stop sequence (and route, so every pattern has one route ID).
    groups: dict[tuple[str, bytes], list[tuple[np.ndarray, np.ndarray, str]]] = {}
    sequences: dict[tuple[str, bytes], np.ndarray] = {}
    for code, shift, suffix in instances:
        lo, hi = rows_of[code]
        arr = arrival[lo:hi].astype(np.int64) + shift
        dep = departure[lo:hi].astype(np.int64) + shift
        if arr[-1] < 0:
            continue  # a previous day's trip over before midnight
        trip_id = trip_index[code]
        key = (route_of[trip_id], stop_code[lo:hi].astype(np.int32).tobytes())
        sequences[key] = stop_code[lo:hi].astype(np.int32)
        groups.setdefault(key, []).append((arr, dep, trip_id + suffix))

    pattern_stops, pattern_routes, blocks = [], [], []
    for key in sorted(groups):
        members = groups[key]
        deps = np.array([m[1] for m in members])
        arrs = np.array([m[0] for m in members])
        order = np.lexsort(tuple(arrs.T[::-1]) + tuple(deps.T[::-1]))
        chains: list[list[int]] = []
        for t in order:
            for chain in chains:
                tail = chain[-1]
                if (deps[t] >= deps[tail]).all() and (arrs[t] >= arrs[tail]).all():
                    chain.append(t)
                    break
            else:
                chains.append([t])
        for chain in chains:
            pattern_stops.append(sequences[key])
            pattern_routes.append(key[0])
            blocks.append((arrs[chain], deps[chain], [members[t][2] for t in chain]))

    n_patterns = len(blocks)
    stop_lengths = np.array([len(s) for s in pattern_stops], dtype=np.int64)
    trip_counts = np.array([len(b[2]) for b in blocks], dtype=np.int64)
    pattern_stop_ptr = np.r_[0, np.cumsum(stop_lengths)].astype(np.int64)
    pattern_trip_ptr = np.r_[0, np.cumsum(trip_counts)].astype(np.int64)
    pattern_time_ptr = np.r_[0, np.cumsum(stop_lengths * trip_counts)].astype(np.int64)
    flat_stops = (np.concatenate(pattern_stops) if n_patterns else np.zeros(0)).astype(np.int32)
    arrival_s = (
        np.concatenate([b[0].T.ravel() for b in blocks]) if n_patterns else np.zeros(0)
    ).astype(np.int32)
    departure_s = (
        np.concatenate([b[1].T.ravel() for b in blocks]) if n_patterns else np.zeros(0)
    ).astype(np.int32)
    trip_ids = np.array([t for b in blocks for t in b[2]], dtype=str)

    visit_pattern = np.repeat(np.arange(n_patterns, dtype=np.int32), stop_lengths)
    visit_pos = np.arange(len(flat_stops)) - np.repeat(pattern_stop_ptr[:-1], stop_lengths)
    order = np.lexsort((visit_pos, visit_pattern, flat_stops))
    stop_pattern_ptr = np.zeros(len(stop_ids) + 1, dtype=np.int64)
    np.add.at(stop_pattern_ptr, flat_stops.astype(np.int64) + 1, 1)
    stop_pattern_ptr = np.cumsum(stop_pattern_ptr)

    return Timetable(
        service_date=date.isoformat(),
        stop_ids=np.asarray(stop_ids, dtype=str),
        stop_lon=stop_lon,
        stop_lat=stop_lat,
        pattern_stop_ptr=pattern_stop_ptr,
        pattern_stops=flat_stops,
        pattern_trip_ptr=pattern_trip_ptr,
        pattern_time_ptr=pattern_time_ptr,
        arrival_s=arrival_s,
        departure_s=departure_s,
        pattern_route_ids=np.array(pattern_routes, dtype=str),
        trip_ids=trip_ids,
        stop_pattern_ptr=stop_pattern_ptr,
        stop_pattern=visit_pattern[order].astype(np.int32),
        stop_pattern_pos=visit_pos[order].astype(np.int32),
    )
