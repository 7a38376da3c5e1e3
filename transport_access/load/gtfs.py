"""GTFS timetables through gtfs-kit: reading, checking, merging feeds, choosing the service day.

The verbs, used the same way as gtfs-kit's own:

- :func:`read_gtfs` reads a GTFS zip or folder, with errors that name the file and table;
- :func:`check_feed` rejects impossible stop times and reports dangling references;
- :func:`busiest_weekday` and :func:`choose_service_day` pick the day to route on;
- :func:`align_service_day` moves one day's trips onto a common date, so that feeds whose
  calendars never overlap (TNDS 2014 buses, 2020 rail) can be routed together;
- :func:`merge_feeds` joins feeds, prefixing every ID with ``"{feed name}:"``;
- :func:`load_timetables` does all of that for the timetables of a study file.

:func:`service_ids_on` is the calendar rule every other part of the package uses.

Times in ``stop_times`` stay GTFS strings (``"25:10:00"`` is 01:10 the next morning); the
helpers here read them as seconds after midnight of the service day.
"""

from __future__ import annotations

import datetime as dt
import os
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from transport_access._log import get_logger
from transport_access.errors import (
    FileFormatError,
    InvalidValueError,
    MissingFileError,
    NoServiceError,
)
from transport_access.report import DataReport

if TYPE_CHECKING:
    import geopandas as gpd
    import gtfs_kit

    from transport_access.config import TimetableSource

log = get_logger(__name__)

_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def service_ids_on(feed: Any, date: dt.date) -> set[str]:
    """Return the service IDs running on ``date`` by ``calendar.txt`` and ``calendar_dates.txt``.

    A service runs when its calendar row covers the date (start and end inclusive) with the
    weekday flag set, unless calendar_dates removes it that day (exception_type 2); calendar_dates
    adds services on a day with exception_type 1.

    Parameters
    ----------
    feed : gtfs_kit.Feed
        Any object with ``calendar`` and ``calendar_dates`` DataFrames (either may be None).
    date : datetime.date
        The service day.

    Returns
    -------
    set of str
    """
    ymd = date.strftime("%Y%m%d")
    running: set[str] = set()
    calendar = getattr(feed, "calendar", None)
    if calendar is not None and len(calendar):
        day = _WEEKDAYS[date.weekday()]
        flag = pd.to_numeric(calendar[day], errors="coerce").fillna(0).astype(int) == 1
        start = calendar["start_date"].astype(str) <= ymd
        end = calendar["end_date"].astype(str) >= ymd
        running = set(calendar.loc[flag & start & end, "service_id"].astype(str))
    dates = getattr(feed, "calendar_dates", None)
    if dates is not None and len(dates):
        today = dates[dates["date"].astype(str) == ymd]
        kind = pd.to_numeric(today["exception_type"], errors="coerce")
        running |= set(today.loc[kind == 1, "service_id"].astype(str))
        running -= set(today.loc[kind == 2, "service_id"].astype(str))
    return running


REPRESENTATIVE_WEEKDAY = "representative_weekday"

#: Tables a feed must have (and calendar.txt or calendar_dates.txt).
REQUIRED_TABLES = ("stops", "routes", "trips", "stop_times")

#: Columns holding IDs, per table: :func:`merge_feeds` prefixes them.
ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "agency": ("agency_id",),
    "routes": ("route_id", "agency_id"),
    "trips": ("route_id", "service_id", "trip_id", "shape_id", "block_id"),
    "stops": ("stop_id", "parent_station", "zone_id", "level_id"),
    "stop_times": ("trip_id", "stop_id"),
    "calendar": ("service_id",),
    "calendar_dates": ("service_id",),
    "shapes": ("shape_id",),
    "frequencies": ("trip_id",),
    "transfers": (
        "from_stop_id",
        "to_stop_id",
        "from_route_id",
        "to_route_id",
        "from_trip_id",
        "to_trip_id",
    ),
    "fare_attributes": ("fare_id", "agency_id"),
    "fare_rules": ("fare_id", "route_id", "origin_id", "destination_id", "contains_id"),
    "attributions": ("attribution_id", "agency_id", "route_id", "trip_id"),
}

#: Service IDs written by :func:`align_service_day`.
ALIGNED_DAY = "aligned_day"
ALIGNED_PREVIOUS_DAY = "aligned_previous_day"
ALIGNED_BOTH_DAYS = "aligned_both_days"

_DAY_S = 24 * 3600


def _ymd(date: dt.date) -> str:
    return date.strftime("%Y%m%d")


def _parse_ymd(value: str) -> dt.date:
    return dt.datetime.strptime(str(value), "%Y%m%d").date()


def _parse_time(value: str) -> float:
    try:
        hours, minutes, seconds = value.strip().split(":")
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    except (AttributeError, ValueError):
        return np.nan


def time_to_seconds(times: pd.Series) -> pd.Series:
    """Seconds after midnight of the service day for GTFS times ``"H:MM:SS"`` (NaN if empty).

    Parameters
    ----------
    times : pandas.Series of str
        GTFS times; hours may exceed 23.

    Returns
    -------
    pandas.Series of float
        Same index; NaN where the time is empty or malformed.
    """
    # Feeds repeat few distinct times over many rows: parse each distinct value once.
    codes, uniques = pd.factorize(times, use_na_sentinel=True)
    parsed = np.array([_parse_time(value) for value in uniques] + [np.nan], dtype=float)
    return pd.Series(parsed[codes], index=times.index, dtype=float)


# --------------------------------------------------------------------------- reading


def _zip_tables(path: Path) -> dict[str, str]:
    """Table name -> member name of the GTFS text files in a zip."""
    with zipfile.ZipFile(path) as archive:
        members = [m for m in archive.infolist() if not m.is_dir() and m.file_size]
    return {Path(m.filename).stem: m.filename for m in members if m.filename.endswith(".txt")}


def read_gtfs(path: str | os.PathLike[str], *, name: str | None = None) -> gtfs_kit.Feed:
    """Read a GTFS feed from a zip file or a folder of ``.txt`` files.

    Parameters
    ----------
    path : path-like
        The GTFS zip, or a folder holding ``stops.txt``, ``stop_times.txt``, ...
    name : str, optional
        The feed's short name, used in messages.

    Returns
    -------
    gtfs_kit.Feed
        With ``dist_units`` ``"km"``; tables as gtfs-kit reads them (IDs and times as
        strings, empty stop times as missing values).

    Raises
    ------
    MissingFileError
        ``path`` does not exist.
    FileFormatError
        ``path`` is neither a zip nor a folder, the zip is damaged, the text files sit in a
        subfolder of the zip, a required table (stops, routes, trips, stop_times, and
        calendar or calendar_dates) is missing or empty, or a table cannot be parsed.
    """
    import gtfs_kit as gk

    path = Path(path)
    label = f"GTFS feed {name!r}" if name else "GTFS feed"
    if not path.exists():
        raise MissingFileError(
            path, f"{label} does not exist.", "Check the timetable path in the study file."
        )
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise FileFormatError(
                path,
                f"{label} is not a zip file.",
                "A GTFS feed is a .zip of .txt tables (or a folder of them).",
            )
        try:
            tables = _zip_tables(path)
        except zipfile.BadZipFile as error:
            raise FileFormatError(path, f"{label} is a damaged zip: {error}.") from None
        nested = [t for t, m in tables.items() if "/" in m]
        if nested and not any("/" not in m for m in tables.values()):
            raise FileFormatError(
                path,
                f"{label}: the GTFS tables are inside a folder of the zip "
                f"({tables[nested[0]].rsplit('/', 1)[0]}/).",
                "Zip the .txt files themselves, not the folder holding them.",
            )
    elif path.is_dir():
        tables = {p.stem: p.name for p in path.glob("*.txt") if p.stat().st_size}
    else:
        raise FileFormatError(path, f"{label} is neither a file nor a folder.")

    missing = [f"{t}.txt" for t in REQUIRED_TABLES if t not in tables]
    if "calendar" not in tables and "calendar_dates" not in tables:
        missing.append("calendar.txt or calendar_dates.txt")
    if missing:
        raise FileFormatError(
            path,
            f"{label} has no {', '.join(missing)} (required GTFS tables; found "
            f"{', '.join(sorted(f'{t}.txt' for t in tables)) or 'no .txt tables'}).",
            "Check that this is a complete GTFS feed.",
        )

    try:
        feed = gk.read_feed(path, dist_units="km")
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as error:
        raise FileFormatError(path, f"{label} cannot be read: {error}") from None
    empty = [f"{t}.txt" for t in REQUIRED_TABLES if getattr(feed, t) is None]
    if empty:
        raise FileFormatError(path, f"{label}: {', '.join(empty)} has no rows.")
    log.debug("%s: read %s trips, %s stops", path, len(feed.trips), len(feed.stops))
    return feed


# --------------------------------------------------------------------------- checking


def check_feed(
    feed: gtfs_kit.Feed,
    *,
    path: str | os.PathLike[str],
    name: str | None = None,
    report: DataReport | None = None,
) -> gtfs_kit.Feed:
    """Check stop times and references; return the feed without dangling rows.

    Impossible times are errors, because no routing result built on them can be right and
    the fix belongs in the feed: a departure before the arrival at the same stop (negative
    dwell), or a time earlier than the previous stop's along ``stop_sequence``. Empty
    times (allowed at non-timepoints) are skipped in these checks. References to unknown
    stops or trips are not fatal: those stop_times rows are left out, counted in the
    report and logged, and trips without any stop time are left out too.

    Parameters
    ----------
    feed : gtfs_kit.Feed
        The feed to check; it is not modified.
    path : path-like
        The feed's file, named in errors.
    name : str, optional
        The feed's short name, for the report.
    report : DataReport, optional
        Receives an entry when rows are left out.

    Returns
    -------
    gtfs_kit.Feed
        A copy without stop_times rows at unknown stops or of unknown trips (the feed
        itself when nothing was left out).

    Raises
    ------
    InvalidValueError
        Naming the trip_id and stop_sequence of the first negative dwell or time going
        backwards, and how many trips have the problem.
    """
    label = name or Path(path).name
    stop_times = feed.stop_times.sort_values(["trip_id", "stop_sequence"], kind="stable")
    arrival = time_to_seconds(stop_times["arrival_time"])
    departure = time_to_seconds(stop_times["departure_time"])

    negative = (departure < arrival).to_numpy()
    if negative.any():
        rows = stop_times[negative]
        first = rows.iloc[0]
        raise InvalidValueError(
            path,
            f"stop_times.txt: trip_id {first['trip_id']!r} at stop_sequence "
            f"{first['stop_sequence']} departs ({first['departure_time']}) before it arrives "
            f"({first['arrival_time']}); {rows['trip_id'].nunique()} trip(s) have a negative "
            "dwell.",
            "Fix the feed (departure_time must not be earlier than arrival_time).",
        )

    # Every timed value must be no earlier than the last timed value before it on the trip.
    time_in = arrival.fillna(departure)
    time_out = departure.fillna(arrival)
    last_out = time_out.groupby(stop_times["trip_id"].to_numpy()).ffill()
    previous_out = last_out.groupby(stop_times["trip_id"].to_numpy()).shift(1)
    backwards = (time_in < previous_out).to_numpy()
    if backwards.any():
        rows = stop_times[backwards]
        first = rows.iloc[0]
        raise InvalidValueError(
            path,
            f"stop_times.txt: trip_id {first['trip_id']!r} at stop_sequence "
            f"{first['stop_sequence']} is timed {first['arrival_time']}, earlier than the stop "
            f"before it (stop times out of order along stop_sequence); "
            f"{rows['trip_id'].nunique()} trip(s) have times going backwards.",
            "Fix the feed: times must not decrease along stop_sequence.",
        )

    unknown_stop = ~feed.stop_times["stop_id"].isin(set(feed.stops["stop_id"]))
    unknown_trip = ~feed.stop_times["trip_id"].isin(set(feed.trips["trip_id"]))
    timed_trips = set(feed.stop_times.loc[~(unknown_stop | unknown_trip), "trip_id"])
    untimed = ~feed.trips["trip_id"].isin(timed_trips)
    exclusions = {
        "stop_times rows at unknown stops": int(unknown_stop.sum()),
        "stop_times rows of unknown trips": int((unknown_trip & ~unknown_stop).sum()),
        "trips without stop times": int(untimed.sum()),
    }
    if not any(exclusions.values()):
        return feed

    for why, count in exclusions.items():
        if count:
            log.warning("%s (%s): %d %s left out", label, path, count, why)
    if unknown_stop.any():
        codes = sorted(feed.stop_times.loc[unknown_stop, "stop_id"].astype(str).unique())
        log.warning("%s: unknown stop_ids: %s", label, ", ".join(codes[:20]))
    checked = feed.copy()
    checked.stop_times = feed.stop_times[~(unknown_stop | unknown_trip).to_numpy()]
    checked.trips = feed.trips[~untimed.to_numpy()]
    if checked.frequencies is not None:
        checked.frequencies = checked.frequencies[
            checked.frequencies["trip_id"].isin(set(checked.trips["trip_id"]))
        ]
    if report is not None:
        report.add(
            f"timetable {label}: references",
            "whole feed",
            len(checked.stop_times),
            exclusions,
            detail=f"{len(checked.trips):,} trips kept",
        )
    return checked


# --------------------------------------------------------------------------- service days


def feed_date_range(feed: gtfs_kit.Feed) -> tuple[dt.date, dt.date]:
    """First and last dates covered by the feed's calendar and calendar_dates.

    Parameters
    ----------
    feed : gtfs_kit.Feed

    Returns
    -------
    tuple of datetime.date
        ``(first, last)``, inclusive.

    Raises
    ------
    NoServiceError
        The feed has no calendar rows and no calendar_dates rows.
    """
    dates: list[str] = []
    if feed.calendar is not None and len(feed.calendar):
        dates += [feed.calendar["start_date"].min(), feed.calendar["end_date"].max()]
    if feed.calendar_dates is not None and len(feed.calendar_dates):
        dates += [feed.calendar_dates["date"].min(), feed.calendar_dates["date"].max()]
    if not dates:
        raise NoServiceError("the feed has no calendar.txt or calendar_dates.txt rows")
    return _parse_ymd(min(map(str, dates))), _parse_ymd(max(map(str, dates)))


def trips_on(feed: gtfs_kit.Feed, date: dt.date) -> int:
    """Number of trips (rows of trips.txt, frequency-based trips counted once) on ``date``."""
    running = service_ids_on(feed, date)
    return int(feed.trips["service_id"].astype(str).isin(running).sum())


def daily_trip_counts(feed: gtfs_kit.Feed, first: dt.date, last: dt.date) -> pd.Series:
    """Trips running on each date from ``first`` to ``last``, by the rule of service_ids_on.

    Parameters
    ----------
    feed : gtfs_kit.Feed
    first, last : datetime.date
        Inclusive range.

    Returns
    -------
    pandas.Series of int
        Indexed by ``datetime.date``.
    """
    dates = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    per_service = feed.trips["service_id"].astype(str).value_counts()
    services = list(per_service.index)
    if not services or not dates:
        return pd.Series(0, index=pd.Index(dates, dtype=object), dtype=int)
    position = {sid: k for k, sid in enumerate(services)}
    ymd = np.array([int(_ymd(d)) for d in dates])
    weekday = np.array([d.weekday() for d in dates])
    running = np.zeros((len(services), len(dates)), dtype=bool)

    calendar = feed.calendar
    if calendar is not None and len(calendar):
        rows = calendar[calendar["service_id"].astype(str).isin(position)]
        flags = np.column_stack(
            [pd.to_numeric(rows[d], errors="coerce").fillna(0).to_numpy() == 1 for d in _WEEKDAYS]
        )
        start = pd.to_numeric(rows["start_date"], errors="coerce").to_numpy()
        end = pd.to_numeric(rows["end_date"], errors="coerce").to_numpy()
        for k, sid in enumerate(rows["service_id"].astype(str)):
            running[position[sid]] |= flags[k, weekday] & (start[k] <= ymd) & (ymd <= end[k])

    dates_table = feed.calendar_dates
    if dates_table is not None and len(dates_table):
        column = {int(v): k for k, v in enumerate(ymd)}
        kinds = pd.to_numeric(dates_table["exception_type"], errors="coerce").to_numpy()
        days = pd.to_numeric(dates_table["date"], errors="coerce").to_numpy()
        ids = dates_table["service_id"].astype(str).to_numpy()
        removals = []
        for sid, day, kind in zip(ids, days, kinds, strict=True):
            if sid in position and day in column:
                if kind == 1:
                    running[position[sid], column[day]] = True
                elif kind == 2:
                    removals.append((position[sid], column[day]))
        # Removals win over additions on the same day, as in service_ids_on.
        for row, col in removals:
            running[row, col] = False

    counts = per_service.to_numpy() @ running
    return pd.Series(counts.astype(int), index=pd.Index(dates, dtype=object))


def busiest_weekday(feed: gtfs_kit.Feed, *, exclude: Iterable[dt.date] = ()) -> dt.date:
    """The Monday-to-Friday date with the most trips in the feed's date range.

    Parameters
    ----------
    feed : gtfs_kit.Feed
    exclude : iterable of datetime.date
        Dates never chosen, for example bank holidays (whose special timetables are not
        representative, and which TransXChange conversions can over-count).

    Returns
    -------
    datetime.date
        The earliest such date when several have the same number of trips.

    Raises
    ------
    NoServiceError
        No weekday of the feed's date range (outside ``exclude``) has any trip.
    """
    first, last = feed_date_range(feed)
    counts = daily_trip_counts(feed, first, last)
    skipped = set(exclude)
    weekdays = [d for d in counts.index if d.weekday() < 5 and d not in skipped]
    counts = counts.loc[weekdays]
    if not len(counts) or counts.max() == 0:
        raise NoServiceError(f"no trips run on any weekday between {first} and {last}")
    # idxmax returns the first (earliest) of equal maxima.
    return counts.idxmax()


def choose_service_day(
    feed: gtfs_kit.Feed,
    service_day: dt.date | str,
    *,
    path: str | os.PathLike[str],
    name: str,
    exclude: Iterable[dt.date] = (),
) -> dt.date:
    """The date to route a feed on: the given date, or its busiest weekday.

    Parameters
    ----------
    feed : gtfs_kit.Feed
    service_day : datetime.date or "representative_weekday"
        A date the feed must run on, or ``"representative_weekday"`` for
        :func:`busiest_weekday`.
    path : path-like
        The feed's file, named in errors.
    name : str
        The feed's short name, named in errors.
    exclude : iterable of datetime.date
        Dates :func:`busiest_weekday` never picks (an explicit date is taken as given).

    Returns
    -------
    datetime.date

    Raises
    ------
    NoServiceError
        No trip runs on the date; the message names the feed, the date and the feed's date
        range, and suggests ``representative_weekday``.
    ConfigError
        ``service_day`` is neither a date nor ``"representative_weekday"``.
    """
    if isinstance(service_day, str):
        if service_day != REPRESENTATIVE_WEEKDAY:
            from transport_access.errors import ConfigError

            raise ConfigError(
                f"timetable {name!r}: service_day {service_day!r} is neither a date "
                f"(YYYY-MM-DD) nor {REPRESENTATIVE_WEEKDAY!r}"
            )
        try:
            return busiest_weekday(feed, exclude=exclude)
        except NoServiceError as error:
            raise NoServiceError(f"timetable {name!r} ({path}): {error}") from None
    if isinstance(service_day, dt.datetime):
        service_day = service_day.date()
    if trips_on(feed, service_day):
        return service_day
    try:
        first, last = feed_date_range(feed)
        covers = f"the feed runs from {first} to {last}"
    except NoServiceError:
        covers = "the feed has no calendar"
    raise NoServiceError(
        f"timetable {name!r} ({path}): no trips run on {service_day} "
        f"({service_day.strftime('%A')}); {covers}. Set its service_day to a date in that "
        f"range, or to {REPRESENTATIVE_WEEKDAY!r} to take its busiest weekday."
    )


def _runs_past_midnight(feed: gtfs_kit.Feed, trip_ids: set[str]) -> set[str]:
    """Those of ``trip_ids`` with a stop time (or frequency window) at or after 24:00:00."""
    stop_times = feed.stop_times[feed.stop_times["trip_id"].isin(trip_ids)]
    late = (time_to_seconds(stop_times["arrival_time"]).fillna(0).to_numpy() >= _DAY_S) | (
        time_to_seconds(stop_times["departure_time"]).fillna(0).to_numpy() >= _DAY_S
    )
    past = set(stop_times.loc[late, "trip_id"].astype(str))
    if feed.frequencies is not None and len(feed.frequencies):
        frequencies = feed.frequencies[feed.frequencies["trip_id"].isin(trip_ids)]
        # A frequency trip starting before midnight may still be running after it.
        past |= set(frequencies["trip_id"].astype(str))
    return past


def align_service_day(feed: gtfs_kit.Feed, day: dt.date, target_date: dt.date) -> gtfs_kit.Feed:
    """Keep the trips of ``day`` and make them run on ``target_date`` instead.

    Trips running on ``day`` run on ``target_date``; trips of ``day - 1`` that are still
    running after midnight (a stop time at or after 24:00:00, or any frequency-based trip)
    run on ``target_date - 1``, so that their early-morning part is still on the timetable.
    A trip of both days runs on both dates. Every other trip, and its stop times and
    frequencies, is left out. The calendar is replaced by calendar_dates only, with three
    service IDs: :data:`ALIGNED_DAY`, :data:`ALIGNED_PREVIOUS_DAY` and
    :data:`ALIGNED_BOTH_DAYS`.

    Parameters
    ----------
    feed : gtfs_kit.Feed
        Not modified.
    day : datetime.date
        The feed's own service day (see :func:`choose_service_day`).
    target_date : datetime.date
        The common routing date.

    Returns
    -------
    gtfs_kit.Feed
        A new feed; stops, routes, shapes and agencies unchanged.
    """
    previous = day - dt.timedelta(days=1)
    today_ids = set(
        feed.trips.loc[feed.trips["service_id"].isin(service_ids_on(feed, day)), "trip_id"]
    )
    yesterday_ids = set(
        feed.trips.loc[feed.trips["service_id"].isin(service_ids_on(feed, previous)), "trip_id"]
    )
    yesterday_ids = _runs_past_midnight(feed, yesterday_ids)
    kept = today_ids | yesterday_ids

    trips = feed.trips[feed.trips["trip_id"].isin(kept)].copy()
    in_today = trips["trip_id"].isin(today_ids)
    in_yesterday = trips["trip_id"].isin(yesterday_ids)
    trips["service_id"] = np.where(
        in_today & in_yesterday,
        ALIGNED_BOTH_DAYS,
        np.where(in_today, ALIGNED_DAY, ALIGNED_PREVIOUS_DAY),
    )
    trips["service_id"] = trips["service_id"].astype("string")

    target, target_previous = _ymd(target_date), _ymd(target_date - dt.timedelta(days=1))
    calendar_dates = pd.DataFrame(
        {
            "service_id": [ALIGNED_DAY, ALIGNED_PREVIOUS_DAY, ALIGNED_BOTH_DAYS, ALIGNED_BOTH_DAYS],
            "date": [target, target_previous, target, target_previous],
            "exception_type": [1, 1, 1, 1],
        }
    ).astype({"service_id": "string", "date": "string", "exception_type": "Int32"})
    used = set(trips["service_id"])
    calendar_dates = calendar_dates[calendar_dates["service_id"].isin(used)].reset_index(drop=True)

    aligned = feed.copy()
    aligned.trips = trips.reset_index(drop=True)
    aligned.stop_times = feed.stop_times[feed.stop_times["trip_id"].isin(kept)].reset_index(
        drop=True
    )
    if feed.frequencies is not None:
        aligned.frequencies = feed.frequencies[feed.frequencies["trip_id"].isin(kept)].reset_index(
            drop=True
        )
    aligned.calendar = None
    aligned.calendar_dates = calendar_dates
    log.debug(
        "aligned %s -> %s: %d trips of the day, %d still running from the day before",
        day,
        target_date,
        len(today_ids),
        len(yesterday_ids - today_ids),
    )
    return aligned


# --------------------------------------------------------------------------- merging


def _prefix(series: pd.Series, prefix: str) -> pd.Series:
    text = series.astype("string")
    return (prefix + text).where(text.notna() & (text.str.len() > 0), text)


def merge_feeds(feeds: Mapping[str, gtfs_kit.Feed]) -> gtfs_kit.Feed:
    """Merge feeds into one, prefixing every ID with ``"{name}:"`` so that none clash.

    Prefixed columns are listed in :data:`ID_COLUMNS` (agency, route, trip, service, stop,
    parent station, zone, level, shape, block, fare and attribution IDs). Frequencies,
    calendar, calendar_dates, transfers, shapes and fares are kept when present. An agency
    table without ``agency_id`` gets ``"{name}:agency"`` (and so do its routes);
    feed_info.txt, one row about one feed, is left out.

    Parameters
    ----------
    feeds : mapping of str to gtfs_kit.Feed
        Feed name -> feed; names should be short (they prefix every ID).

    Returns
    -------
    gtfs_kit.Feed
        A new feed in kilometres.

    Raises
    ------
    ValueError
        No feeds were given.
    """
    import gtfs_kit as gk

    if not feeds:
        raise ValueError("merge_feeds needs at least one feed")
    merged: dict[str, list[pd.DataFrame]] = {table: [] for table in ID_COLUMNS}
    for name, feed in feeds.items():
        prefix = f"{name}:"
        if feed.dist_units != "km":
            feed = gk.convert_dist(feed, "km")
        agency = feed.agency
        routes = feed.routes
        if agency is not None and "agency_id" not in agency.columns:
            agency = agency.assign(agency_id="agency")
            if routes is not None and "agency_id" not in routes.columns:
                routes = routes.assign(agency_id="agency")
        tables = {table: getattr(feed, table, None) for table in ID_COLUMNS}
        tables["agency"], tables["routes"] = agency, routes
        for table, frame in tables.items():
            if frame is None:
                continue
            frame = frame.copy()
            for column in ID_COLUMNS[table]:
                if column in frame.columns:
                    frame[column] = _prefix(frame[column], prefix)
            merged[table].append(frame)
        if getattr(feed, "feed_info", None) is not None:
            log.debug("merge_feeds: feed_info.txt of %s left out", name)

    frames = {
        table: pd.concat(parts, ignore_index=True) if parts else None
        for table, parts in merged.items()
    }
    return gk.Feed(dist_units="km", **frames)


# --------------------------------------------------------------------------- a study's timetables

SUMMARY_COLUMNS = ["name", "format", "mode", "service_day", "trips", "routes", "stops"]


def _restrict_trips(feed: gtfs_kit.Feed, keep: np.ndarray) -> gtfs_kit.Feed:
    """A shallow copy with only the trips selected by the boolean array ``keep``."""
    part = feed.copy()
    part.trips = feed.trips[keep]
    return part


def _concat_parts(parts: list[gtfs_kit.Feed]) -> gtfs_kit.Feed:
    """Join aligned parts of one feed (disjoint trips, same stops and routes)."""
    whole = parts[0].copy()
    for table in ("trips", "stop_times", "frequencies", "calendar_dates"):
        frames = [getattr(p, table) for p in parts if getattr(p, table) is not None]
        if frames:
            frame = pd.concat(frames, ignore_index=True)
            if table == "calendar_dates":
                frame = frame.drop_duplicates().reset_index(drop=True)
            setattr(whole, table, frame)
    return whole


def _service_groups(feed: gtfs_kit.Feed, codes: Iterable[str]) -> dict[str, np.ndarray]:
    """TransXChange conversions: trips by ServiceCode (their service_id starts "{code}_")."""
    service_ids = feed.trips["service_id"].astype(str)
    groups = {}
    claimed = np.zeros(len(service_ids), dtype=bool)
    for code in codes:
        keep = service_ids.str.startswith(f"{code}_").to_numpy() & ~claimed
        if keep.any():
            groups[code] = keep
            claimed |= keep
    if not claimed.all():
        groups["other"] = ~claimed
    return groups


def load_timetables(
    sources: Sequence[TimetableSource],
    *,
    resolve: Callable[[str], Path],
    naptan: gpd.GeoDataFrame | None = None,
    area: Any = None,
    target_date: dt.date | None = None,
    report: DataReport | None = None,
) -> tuple[gtfs_kit.Feed, dt.date, pd.DataFrame]:
    """Read a study's timetables, choose their service days and merge them on one date.

    Each feed is read (GTFS with :func:`read_gtfs`, TransXChange through
    :func:`transport_access.load.transxchange.convert_transxchange`, rail CIF through
    :func:`transport_access.load.cif.convert_cif`), checked with
    :func:`check_feed`, given its service day (:func:`choose_service_day`; England and
    Wales bank holidays are never picked as representative weekdays), moved onto the
    common routing date (:func:`align_service_day`) and merged (:func:`merge_feeds`, IDs
    prefixed with the feed's name).

    The common date is ``target_date`` if given, else the first explicit ``service_day`` of
    the sources, else the first feed's chosen day. A TransXChange input often holds services
    of different periods (the shared TNDS files: four services of Dec 2014 - Jan 2015 and one
    of May - Jun 2014), so each of its services (ServiceCode) gets its own service day.

    Parameters
    ----------
    sources : sequence of TimetableSource
        ``study.data.timetables``.
    resolve : callable
        Maps a configured path to an absolute path (``study.resolve``).
    naptan : GeoDataFrame, optional
        Stops from :func:`transport_access.load.naptan.load_naptan`; required for
        TransXChange sources.
    area : shapely geometry, optional
        The study area (EPSG:4326): rail (CIF) journeys calling inside it are kept, with their
        calls within the source's ``buffer_km`` of it.
    target_date : datetime.date, optional
        The common routing date.
    report : DataReport, optional
        Receives an entry per feed (trips on the day; trips on other days left out), one per
        TransXChange service, and the conversion's and checks' entries.

    Returns
    -------
    feed : gtfs_kit.Feed
        The merged feed; its trips run on ``date`` (or, if still running after midnight,
        on the day before).
    date : datetime.date
        The routing date.
    summary : pandas.DataFrame
        One row per feed, columns :data:`SUMMARY_COLUMNS`: name, format, mode, the chosen
        service day (ISO date; for TransXChange the days of its services joined by ", "),
        trips on that day, routes and stops of the feed.

    Raises
    ------
    NoServiceError
        A feed has no service on its configured day.
    ValueError
        No sources.
    """
    from transport_access.load.transxchange import (
        convert_transxchange,
        england_bank_holidays,
        transxchange_services,
    )

    if not sources:
        raise ValueError("load_timetables needs at least one timetable source")
    holidays = england_bank_holidays()
    read: list[tuple[Any, ...]] = []
    for source in sources:
        path = Path(resolve(source.path))
        if source.format == "gtfs":
            feed = read_gtfs(path, name=source.name)
        elif source.format == "transxchange":
            if naptan is None:
                raise ValueError(
                    f"timetable {source.name!r} is TransXChange: its stops need NaPTAN; "
                    "pass naptan= (configure data.naptan in the study file)"
                )
            feed = convert_transxchange(path, naptan=naptan, report=report)
        else:
            from transport_access.load.cif import convert_cif

            feed = convert_cif(
                path,
                naptan_rail=resolve(source.stations) if source.stations else naptan,
                tiplocs=resolve(source.tiplocs) if source.tiplocs else None,
                area=area,
                buffer_km=source.buffer_km,
                report=report,
            )
        feed = check_feed(feed, path=path, name=source.name, report=report)

        services = None
        if source.format == "transxchange":
            services = transxchange_services(path, feed)
            groups = _service_groups(feed, services["service_code"])
        else:
            groups = {"": np.ones(len(feed.trips), dtype=bool)}
        days: list[tuple[str, np.ndarray, dt.date | None]] = []
        for code, keep in groups.items():
            part = _restrict_trips(feed, keep)
            label = f"{source.name}: service {code}" if code else source.name
            if len(groups) == 1:
                day = choose_service_day(
                    part, source.service_day, path=path, name=label, exclude=holidays
                )
            elif isinstance(source.service_day, dt.date):
                day = source.service_day
            else:
                # One service without weekday trips must not stop the others.
                try:
                    day = busiest_weekday(part, exclude=holidays)
                except NoServiceError as error:
                    log.warning("timetable %s: %s; none of its trips is kept", label, error)
                    day = None
            days.append((code, keep, day))
        read.append((source, path, feed, days, services))

    if target_date is None:
        explicit = [s.service_day for s in sources if isinstance(s.service_day, dt.date)]
        chosen_days = [day for _, _, day in read[0][3] if day is not None]
        target_date = explicit[0] if explicit else chosen_days[0]

    aligned: dict[str, gtfs_kit.Feed] = {}
    rows = []
    for source, path, feed, days, services in read:
        parts = [
            align_service_day(_restrict_trips(feed, keep), day, target_date)
            for _, keep, day in days
            if day is not None
        ]
        moved = _concat_parts(parts) if parts else None
        on_day = 0
        if moved is not None:
            on_day = int(moved.trips["service_id"].isin({ALIGNED_DAY, ALIGNED_BOTH_DAYS}).sum())
        chosen = ", ".join(dict.fromkeys(str(day) for _, _, day in days if day is not None))
        if moved is None or on_day == 0:
            raise NoServiceError(
                f"timetable {source.name!r} ({path}): no trips run on its service day "
                f"{chosen or '(none: no weekday service)'}."
            )
        aligned[source.name] = moved
        rows.append(
            {
                "name": source.name,
                "format": source.format,
                "mode": source.mode,
                "service_day": chosen,
                "trips": on_day,
                "routes": int(feed.routes["route_id"].nunique()),
                "stops": int(feed.stops["stop_id"].nunique()),
            }
        )
        if report is None:
            continue
        report.add(
            f"timetable {source.name}",
            f"service day {chosen} -> {target_date}",
            on_day,
            {"trips not running on the service day": len(feed.trips) - on_day},
            detail=(
                f"{source.format}, {source.mode}; {rows[-1]['routes']:,} routes, "
                f"{rows[-1]['stops']:,} stops; {len(moved.trips) - on_day:,} trips of the "
                "day before kept (running after midnight)"
            ),
        )
        if services is None:
            continue
        for code, keep, day in days:
            on = trips_on(_restrict_trips(feed, keep), day) if day is not None else 0
            line = services[services["service_code"] == code]
            line_name = line["line_name"].iloc[0] if len(line) else code
            operator = line["operator"].iloc[0] if len(line) else ""
            report.add(
                f"timetable {source.name}: service {line_name}",
                f"service day {day or 'none (no weekday service)'}",
                on,
                {"trips on other days": int(keep.sum()) - on},
                detail=f"{operator}; {int(keep.sum()):,} trips in file (ServiceCode {code})",
            )

    merged = merge_feeds(aligned)
    log.info(
        "timetables: %d feed(s) merged on %s, %s trips",
        len(aligned),
        target_date,
        f"{len(merged.trips):,}",
    )
    return merged, target_date, pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
