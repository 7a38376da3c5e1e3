"""The RAPTOR engine against an independent reference, and hand-computed cases.

The reference has two halves, and shares no code with the engine:

- a timetable read straight from the GTFS text (plain pandas on the zip or the tables):
  its own service-day selection from calendar.txt and calendar_dates.txt, its own
  interpolation of empty stop times, its own expansion of frequencies.txt and of the day
  before's trips that run past midnight, one feed after another;
- a plain-Python Dijkstra over (stop, rides so far, just alighted or ready to board) states,
  one departure minute at a time, over those trips as lists of (stop, arrival, departure):
  not the patterns, not the label reuse across minutes, not the trip scan.

The engine side goes through the public path a study takes: GTFS text files read by
``read_gtfs``, joined by ``merge_feeds`` when there are several, ``build_timetable``, then
the RAPTOR search.
"""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
import itertools
import math
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transport_access.errors import NoServiceError
from transport_access.load.gtfs import merge_feeds, read_gtfs
from transport_access.network.timetable import Timetable, build_timetable
from transport_access.routing._links import Links
from transport_access.routing.straight_line import straight_line_links
from transport_access.routing.transit import (
    arrive_by,
    earliest_arrival,
    nearest_rank_percentiles,
    transit_percentiles,
    transit_travel_times,
)

DATE = dt.date(2019, 5, 13)  # a Monday
DAY_S = 86_400
GTFS_TABLES = (
    "stops",
    "routes",
    "trips",
    "stop_times",
    "calendar",
    "calendar_dates",
    "frequencies",
)

Trip = list[tuple[int, int, int]]  # (stop, arrival, departure) in seconds, in visiting order


# --------------------------------------------------------------------------- reference search


def reference_travel_times(
    trips: list[list[tuple[int, int, int]]],
    *,
    access: dict[int, list[tuple[int, int]]],
    egress: dict[int, list[tuple[int, int]]],
    transfers: dict[int, list[tuple[int, int]]],
    walk_only: dict[int, list[tuple[int, int]]],
    origins: list[int],
    n_destinations: int,
    departures: list[int],
    board_slack_s: int,
    max_rides: int,
    max_time_s: int,
) -> np.ndarray:
    """Per-minute travel times by Dijkstra on (kind, stop, rides) states; inf if unreachable."""
    # Per stop, every (departure, trip, position) of a vehicle there, by departure.
    events: dict[int, list[tuple[int, int, int]]] = {}
    for t, trip in enumerate(trips):
        for pos, (stop, _, departure) in enumerate(trip):
            events.setdefault(stop, []).append((departure, t, pos))
    for stop_events in events.values():
        stop_events.sort()
    event_times = {stop: [e[0] for e in evs] for stop, evs in events.items()}
    out = np.full((len(origins), len(departures), n_destinations), np.inf)
    for row, origin in enumerate(origins):
        for m, depart in enumerate(departures):
            best = _reference_one(
                trips,
                events,
                event_times,
                origin,
                depart,
                access=access,
                egress=egress,
                transfers=transfers,
                walk_only=walk_only,
                n_destinations=n_destinations,
                board_slack_s=board_slack_s,
                max_rides=max_rides,
                max_time_s=max_time_s,
            )
            for dest in range(n_destinations):
                travel = best[dest] - depart
                out[row, m, dest] = travel if travel <= max_time_s else math.inf
    return out


def _reference_one(
    trips: list[list[tuple[int, int, int]]],
    events: dict[int, list[tuple[int, int, int]]],
    event_times: dict[int, list[int]],
    origin: int,
    depart: int,
    *,
    access: dict[int, list[tuple[int, int]]],
    egress: dict[int, list[tuple[int, int]]],
    transfers: dict[int, list[tuple[int, int]]],
    walk_only: dict[int, list[tuple[int, int]]],
    n_destinations: int,
    board_slack_s: int,
    max_rides: int,
    max_time_s: int,
) -> list[float]:
    """Earliest arrival at each destination leaving ``origin`` at ``depart``."""
    best = [math.inf] * n_destinations
    for dest, secs in walk_only.get(origin, []):
        best[dest] = min(best[dest], depart + secs)
    # A state is (kind, stop, rides): kind 0 = ready to board, 1 = just alighted. Being
    # somewhere no later with no more rides dominates, so each (kind, stop) remembers the
    # fewest rides it was settled with.
    fewest: dict[tuple[int, int], int] = {}
    queued: dict[tuple[int, int, int], int] = {}
    heap: list[tuple[int, int, int, int]] = []

    def push(time: int, kind: int, stop: int, rides: int) -> None:
        if time > depart + max_time_s or fewest.get((kind, stop), rides + 1) <= rides:
            return
        if queued.get((kind, stop, rides), math.inf) <= time:
            return
        queued[(kind, stop, rides)] = time
        heapq.heappush(heap, (time, kind, stop, rides))

    for stop, secs in access.get(origin, []):
        push(depart + secs, 0, stop, 0)
    boarded: dict[tuple[int, int], int] = {}
    while heap:
        time, kind, stop, rides = heapq.heappop(heap)
        if fewest.get((kind, stop), rides + 1) <= rides:
            continue
        fewest[(kind, stop)] = rides
        if kind == 1:
            for dest, secs in egress.get(stop, []):
                best[dest] = min(best[dest], time + secs)
            if rides < max_rides:
                push(time, 0, stop, rides)
                for other, secs in transfers.get(stop, []):
                    push(time + secs, 0, other, rides)
            continue
        if rides == max_rides:
            continue
        first = bisect.bisect_left(event_times.get(stop, []), time + board_slack_s)
        for _, t, pos in events.get(stop, [])[first:]:
            # Boarding the same vehicle earlier on with no more rides dominates.
            if any(boarded.get((t, r), len(trips[t])) <= pos for r in range(rides + 2)):
                continue
            boarded[(t, rides + 1)] = pos
            for later in trips[t][pos + 1 :]:
                push(later[1], 1, later[0], rides + 1)
    return best


# --------------------------------------------------------------------------- reference timetable


def read_gtfs_text(path: Path) -> dict[str, pd.DataFrame]:
    """The routing tables of a GTFS zip as text, empty fields as empty strings."""
    with zipfile.ZipFile(path) as archive:
        tables = {}
        for member in archive.namelist():
            if Path(member).suffix == ".txt" and Path(member).stem in GTFS_TABLES:
                with archive.open(member) as handle:
                    frame = pd.read_csv(handle, dtype=str, keep_default_na=False)
                tables[Path(member).stem] = frame.rename(columns=str.strip)
    return tables


def _seconds(text: str) -> int | None:
    """GTFS ``H:MM:SS`` as seconds after midnight of the service day; None when empty."""
    text = text.strip()
    if not text:
        return None
    hours, minutes, seconds = text.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + int(seconds)


def _services_on(tables: Mapping[str, pd.DataFrame], day: dt.date) -> set[str]:
    ymd = day.strftime("%Y%m%d")
    weekday = day.strftime("%A").lower()
    running = set()
    for row in tables.get("calendar", pd.DataFrame()).to_dict("records"):
        if row[weekday].strip() == "1" and row["start_date"] <= ymd <= row["end_date"]:
            running.add(row["service_id"])
    exceptions = tables.get("calendar_dates", pd.DataFrame()).to_dict("records")
    for row in exceptions:
        if row["date"] == ymd and row["exception_type"].strip() == "1":
            running.add(row["service_id"])
    for row in exceptions:
        if row["date"] == ymd and row["exception_type"].strip() == "2":
            running.discard(row["service_id"])
    return running


def _haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    lon1, lat1, lon2, lat2 = map(math.radians, (lon1, lat1, lon2, lat2))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_000.0 * math.asin(math.sqrt(min(h, 1.0)))  # only ratios of it matter


def _filled(
    times: list[tuple[int | None, int | None]], places: list[tuple[float, float]]
) -> list[tuple[int, int]]:
    """Empty stop times interpolated by the README rule, on distance or else on stop order."""
    times = [(d if a is None else a, a if d is None else d) for a, d in times]
    along = [0.0]
    for (lon1, lat1), (lon2, lat2) in itertools.pairwise(places):
        along.append(along[-1] + _haversine_m(lon1, lat1, lon2, lat2))
    timed = [k for k, (a, _) in enumerate(times) if a is not None]
    assert timed[0] == 0 and timed[-1] == len(times) - 1, "a trip's ends need times"
    out = list(times)
    for lo, hi in itertools.pairwise(timed):
        t0, t1 = times[lo][1], times[hi][0]
        span_m = along[hi] - along[lo]
        for k in range(lo + 1, hi):
            fraction = (along[k] - along[lo]) / span_m if span_m > 0 else (k - lo) / (hi - lo)
            second = math.floor(t0 + (t1 - t0) * fraction + 0.5)  # halves up (kept rare)
            out[k] = (second, second)
    return out


def reference_timetable(
    feeds: Mapping[str, Mapping[str, pd.DataFrame]], date: dt.date
) -> SimpleNamespace:
    """Every trip running on ``date`` of every feed, with stops numbered across the feeds.

    Returns ``stops`` (list of (feed name, stop_id)), ``lon``, ``lat`` (arrays over those),
    ``trips`` (list of Trip, times after midnight of ``date``: the day before's trips shifted
    by a day, frequencies.txt trips once per departure) and ``runs_today`` (whether any trip
    of ``date`` itself runs).
    """
    stops: list[tuple[str, str]] = []
    lon: list[float] = []
    lat: list[float] = []
    trips: list[Trip] = []
    runs_today = False
    for name, tables in feeds.items():
        code = {}
        for row in tables["stops"].to_dict("records"):
            code[row["stop_id"]] = len(stops)
            stops.append((name, row["stop_id"]))
            lon.append(float(row["stop_lon"]))
            lat.append(float(row["stop_lat"]))

        today = _services_on(tables, date)
        yesterday = _services_on(tables, date - dt.timedelta(days=1))
        day_shifts = {}
        for row in tables["trips"].to_dict("records"):
            service = row["service_id"]
            shifts = [shift for shift, ids in ((0, today), (-DAY_S, yesterday)) if service in ids]
            if shifts:
                day_shifts[row["trip_id"]] = shifts
        runs_today |= any(0 in shifts for shifts in day_shifts.values())

        # frequencies.txt: departures from start_time every headway_secs, before end_time.
        starts: dict[str, list[int]] = {}
        for row in tables.get("frequencies", pd.DataFrame()).to_dict("records"):
            begin, end = _seconds(row["start_time"]), _seconds(row["end_time"])
            starts.setdefault(row["trip_id"], []).extend(
                range(begin, end, int(row["headway_secs"]))
            )

        stop_times = tables["stop_times"]
        stop_times = stop_times[stop_times["trip_id"].isin(day_shifts)]
        stop_times = stop_times.assign(order=stop_times["stop_sequence"].astype(int))
        for trip_id, rows in stop_times.sort_values(["trip_id", "order"]).groupby("trip_id"):
            codes = [code[s] for s in rows["stop_id"]]
            times = _filled(
                [
                    (_seconds(a), _seconds(d))
                    for a, d in zip(rows["arrival_time"], rows["departure_time"], strict=True)
                ],
                [(lon[c], lat[c]) for c in codes],
            )
            offsets = [s - times[0][1] for s in starts[trip_id]] if trip_id in starts else [0]
            for shift in day_shifts[trip_id]:
                for offset in offsets:
                    trips.append(
                        [
                            (c, a + shift + offset, d + shift + offset)
                            for c, (a, d) in zip(codes, times, strict=True)
                        ]
                    )
    return SimpleNamespace(
        stops=stops, lon=np.array(lon), lat=np.array(lat), trips=trips, runs_today=runs_today
    )


# --------------------------------------------------------------------------- feeds and links

# Fixed, irregular stop places, so that interpolation on distance meets no exact half-second
# ties other than by symmetry; stops 1 and 2 share a place, so spans of no distance happen.
STOP_PLACES = [
    (-51.2 + 0.01 * x, -30.0 + 0.01 * y)
    for x, y in np.random.default_rng(5).random((5, 2)).tolist()
]
STOP_PLACES[2] = STOP_PLACES[1]
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WORKING_DAYS = {"monday": "1", "tuesday": "1", "wednesday": "1", "thursday": "1", "friday": "1"}


def _hms(seconds: int | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def gtfs_tables(n_stops: int, trips: list[dict], services: list[dict]) -> dict[str, pd.DataFrame]:
    """GTFS text tables of one feed.

    ``trips`` are dicts with ``service``, ``route``, ``stop_times`` (list of (stop, arrival or
    None, departure or None) in GTFS seconds) and optional ``frequencies`` (list of (start, end,
    headway)) and ``reverse`` (write the stop times backwards). ``services`` are dicts with
    ``service_id``, ``calendar`` (weekday flags and start/end dates, or None) and ``dates``
    (YYYYMMDD -> exception_type).
    """
    tables = {
        "stops": pd.DataFrame(
            {
                "stop_id": [f"s{i}" for i in range(n_stops)],
                "stop_lat": [repr(STOP_PLACES[i][1]) for i in range(n_stops)],
                "stop_lon": [repr(STOP_PLACES[i][0]) for i in range(n_stops)],
            }
        ),
        "routes": pd.DataFrame(
            {"route_id": sorted({t["route"] for t in trips}), "route_type": "3"}
        ),
        "trips": pd.DataFrame(
            {
                "route_id": [t["route"] for t in trips],
                "service_id": [t["service"] for t in trips],
                "trip_id": [f"t{k}" for k in range(len(trips))],
            }
        ),
    }
    rows, frequencies = [], []
    for k, trip in enumerate(trips):
        trip_rows = [
            {
                "trip_id": f"t{k}",
                "arrival_time": _hms(a),
                "departure_time": _hms(d),
                "stop_id": f"s{s}",
                "stop_sequence": str(5 * pos + 1),
            }
            for pos, (s, a, d) in enumerate(trip["stop_times"])
        ]
        rows += trip_rows[::-1] if trip.get("reverse") else trip_rows
        frequencies += [
            {"trip_id": f"t{k}", "start_time": _hms(b), "end_time": _hms(e), "headway_secs": str(h)}
            for b, e, h in trip.get("frequencies", [])
        ]
    tables["stop_times"] = pd.DataFrame(rows)
    calendar = [
        {"service_id": s["service_id"], **dict.fromkeys(WEEKDAYS, "0"), **s["calendar"]}
        for s in services
        if s["calendar"] is not None
    ]
    dates = [
        {"service_id": s["service_id"], "date": ymd, "exception_type": str(kind)}
        for s in services
        for ymd, kind in s["dates"].items()
    ]
    if not calendar and not dates:
        # A feed needs one of the two tables: a day far from the one routed.
        dates = [
            {"service_id": services[0]["service_id"], "date": "20190601", "exception_type": "1"}
        ]
    for name, records in [
        ("calendar", calendar),
        ("calendar_dates", dates),
        ("frequencies", frequencies),
    ]:
        if records:
            tables[name] = pd.DataFrame(records)
    return tables


def tables_from_trips(n_stops: int, trips: list[Trip]) -> dict[str, pd.DataFrame]:
    """One feed, every trip running on weekdays of 2019, from (stop, arrival, departure) lists."""
    service = {
        "service_id": "wk",
        "calendar": {**WORKING_DAYS, "start_date": "20190101", "end_date": "20191231"},
        "dates": {},
    }
    return gtfs_tables(
        n_stops, [{"service": "wk", "route": "r", "stop_times": trip} for trip in trips], [service]
    )


def feed_from_trips(n_stops: int, trips: list[Trip]) -> SimpleNamespace:
    """The feed object build_timetable takes, straight from :func:`tables_from_trips`."""
    return SimpleNamespace(
        calendar_dates=None, frequencies=None, **tables_from_trips(n_stops, trips)
    )


def engine_timetable(
    feeds: Mapping[str, Mapping[str, pd.DataFrame]],
) -> tuple[Timetable, Callable[[str, str], int]]:
    """The engine's timetable of the feeds written as GTFS text, and its stop index of
    (feed name, stop_id)."""
    with tempfile.TemporaryDirectory() as tmp:
        read = {}
        for name, tables in feeds.items():
            folder = Path(tmp) / name
            folder.mkdir()
            for table, frame in tables.items():
                frame.to_csv(folder / f"{table}.txt", index=False)
            read[name] = read_gtfs(folder, name=name)
    merged = len(read) > 1
    feed = merge_feeds(read) if merged else next(iter(read.values()))
    timetable = build_timetable(feed, DATE, cache=False)
    index = {stop_id: i for i, stop_id in enumerate(timetable.stop_ids.tolist())}
    return timetable, lambda name, stop_id: index[f"{name}:{stop_id}" if merged else stop_id]


def engine_trips(timetable: Timetable) -> list[Trip]:
    """Every trip of the timetable, from its public per-pattern view."""
    trips = []
    for p in range(timetable.n_patterns):
        stops, arrival, departure = timetable.trip_times(p)
        for t in range(arrival.shape[0]):
            trips.append(
                list(zip(stops.tolist(), arrival[t].tolist(), departure[t].tolist(), strict=True))
            )
    return trips


def assert_same_trips(
    timetable: Timetable, stop_of: Callable[[str, str], int], reference: SimpleNamespace
) -> None:
    """The engine runs exactly the reference's trips (those still running at midnight)."""
    to_engine = [stop_of(name, stop_id) for name, stop_id in reference.stops]
    expected = sorted(
        tuple((to_engine[s], a, d) for s, a, d in trip)
        for trip in reference.trips
        if trip[-1][1] >= 0
    )
    got = sorted(tuple(trip) for trip in engine_trips(timetable))
    assert len(got) == len(expected)
    assert got == expected


def links_from_dict(n_from: int, n_to: int, pairs: dict[int, list[tuple[int, int]]]) -> Links:
    src = [i for i, row in pairs.items() for _ in row]
    dst = [j for row in pairs.values() for j, _ in row]
    secs = [s for row in pairs.values() for _, s in row]
    return Links.from_pairs(
        n_from,
        n_to,
        np.array(src, dtype=np.int64),
        np.array(dst, dtype=np.int64),
        np.array(secs, dtype=np.float64),
    )


def dict_from_links(links: Links) -> dict[int, list[tuple[int, int]]]:
    return {
        i: [
            (int(j), int(s))
            for j, s in zip(
                links.indices[links.indptr[i] : links.indptr[i + 1]],
                links.seconds[links.indptr[i] : links.indptr[i + 1]],
                strict=True,
            )
        ]
        for i in range(links.n_from)
    }


def dedupe(pairs: dict[int, list[tuple[int, int]]]) -> dict[int, list[tuple[int, int]]]:
    """Keep the shortest time per (source, target), as Links.from_pairs does."""
    out: dict[int, dict[int, int]] = {}
    for i, row in pairs.items():
        for j, s in row:
            out.setdefault(i, {})
            out[i][j] = min(out[i].get(j, s), s)
    return {i: sorted(row.items()) for i, row in out.items()}


def _renumber(
    pairs: dict[int, list[tuple[int, int]]],
    *,
    rows: Callable[[int], int] = int,
    cols: Callable[[int], int] = int,
) -> dict[int, list[tuple[int, int]]]:
    out: dict[int, list[tuple[int, int]]] = {}
    for i, row in pairs.items():
        out.setdefault(rows(i), []).extend((cols(j), s) for j, s in row)
    return out


def engine_and_reference(case: dict) -> tuple[np.ndarray, np.ndarray]:
    """Travel times by the engine and by the reference for a case on numbered stop places.

    ``case["feeds"]`` (feed name -> GTFS tables whose stop ``s{i}`` stands at place ``i``), or
    ``case["trips"]`` for one feed of trips on weekdays. Links join places; where several
    feeds serve one place their stops are joined by 0-second transfers.
    """
    n_o, n_d = case["n_origins"], case["n_destinations"]
    feeds = case.get("feeds") or {"f0": tables_from_trips(case["n_stops"], case["trips"])}
    reference = reference_timetable(feeds, DATE)
    timetable, stop_of = engine_timetable(feeds)
    assert_same_trips(timetable, stop_of, reference)

    place = [int(stop_id[1:]) for _, stop_id in reference.stops]
    stops_at: dict[int, list[int]] = {}
    for k, p in enumerate(place):
        stops_at.setdefault(p, []).append(k)
    access = {o: [(k, s) for p, s in row for k in stops_at[p]] for o, row in case["access"].items()}
    egress = {k: case["egress"].get(p, []) for k, p in enumerate(place)}
    transfers = {
        k: [(m, s) for q, s in case["transfers"].get(p, []) for m in stops_at[q]]
        + [(m, 0) for m in stops_at[p] if m != k]
        for k, p in enumerate(place)
    }
    to_engine = [stop_of(name, stop_id) for name, stop_id in reference.stops]
    on_engine = to_engine.__getitem__
    n_stops = timetable.n_stops
    params = dict(
        board_slack_s=case["slack"], max_rides=case["max_rides"], max_time_s=case["max_time"]
    )
    engine = transit_travel_times(
        timetable,
        access=links_from_dict(n_o, n_stops, _renumber(access, cols=on_engine)),
        egress=links_from_dict(n_stops, n_d, _renumber(egress, rows=on_engine)),
        transfers=links_from_dict(
            n_stops, n_stops, _renumber(transfers, rows=on_engine, cols=on_engine)
        ),
        walk_only=links_from_dict(n_o, n_d, case["walk_only"]),
        departure_s=case["departure"],
        window_min=case["window"],
        **params,
    )
    expected = reference_travel_times(
        reference.trips,
        access=dedupe(access),
        egress=dedupe(egress),
        transfers=dedupe(transfers),
        walk_only=dedupe(case["walk_only"]),
        origins=list(range(n_o)),
        n_destinations=n_d,
        departures=[case["departure"] + 60 * i for i in range(case["window"])],
        **params,
    )
    return engine, expected


# --------------------------------------------------------------------------- random feeds


@st.composite
def random_service(draw: st.DrawFn, service_id: str, *, plain: bool) -> dict:
    """A service by calendar.txt and/or calendar_dates.txt around DATE and the day before.

    A ``plain`` service is in calendar.txt on every weekday of 2019 (and maybe Sundays); the
    others may end or start on either day, and any may be added or removed on either day.
    """
    calendar = None
    if plain or draw(st.integers(0, 3)):
        calendar = {
            "monday": "1" if plain else draw(st.sampled_from("11110")),
            "sunday": draw(st.sampled_from("01")),
            "start_date": "20190101"
            if plain
            else draw(st.sampled_from(["20190101"] * 4 + ["20190513", "20190514"])),
            "end_date": "20191231"
            if plain
            else draw(st.sampled_from(["20191231"] * 4 + ["20190512", "20190513"])),
        }
    kinds = st.sampled_from([0, 0, 0, 0, 1, 2])
    dates = {ymd: kind for ymd in ("20190512", "20190513") if (kind := draw(kinds))}
    return {"service_id": service_id, "calendar": calendar, "dates": dates}


@st.composite
def random_case(draw: st.DrawFn) -> dict:
    n_stops = draw(st.integers(2, 5))
    n_feeds = draw(st.sampled_from([1, 1, 2, 3]))
    stop = st.integers(0, n_stops - 1)
    # Times on a 30-second grid, so arrivals land exactly on the board-slack boundary often;
    # trips, links and windows squeezed into the same half hour so that journeys with
    # several rides, transfers and overtaking happen in most examples.
    grid = st.integers(0, 8).map(lambda k: 30 * k)
    sequences = draw(st.lists(st.lists(stop, min_size=2, max_size=5), min_size=1, max_size=4))
    services = [
        [draw(random_service(f"c{k}", plain=k == 0)) for k in range(draw(st.integers(1, 3)))]
        for _ in range(n_feeds)
    ]
    trips: list[list[dict]] = [[] for _ in range(n_feeds)]
    for _ in range(draw(st.integers(2, 16))):
        feed = draw(st.integers(0, n_feeds - 1))
        route = draw(st.integers(0, len(sequences) - 1))
        # Negative times are trips of the day before, still running after midnight.
        time = draw(st.integers(-10, 30)) * 60 + draw(st.sampled_from([0, 30]))
        stop_times = []
        for pos, s in enumerate(sequences[route]):
            if pos:
                time += draw(grid)  # zero-time hops allowed
            arrival = time
            time += draw(st.sampled_from([0, 0, 30, 60]))
            stop_times.append([s, arrival, time])

        # Empty stop times, where their timed neighbours are whole minutes apart: then no
        # interpolated time is a half-second tie that float noise could round either way.
        empty = [
            0 < pos < len(stop_times) - 1 and draw(st.integers(0, 2)) == 0
            for pos in range(len(stop_times))
        ]
        pos = 1
        while pos < len(stop_times) - 1:
            if not empty[pos]:
                pos += 1
                continue
            end = pos
            while empty[end]:
                end += 1
            if (stop_times[end][1] - stop_times[pos - 1][2]) % 60 == 0:
                for row in stop_times[pos:end]:
                    row[1] = row[2] = None
            pos = end

        frequencies = []
        if draw(st.integers(0, 3)) == 0:
            begin = draw(st.integers(-10, 25)) * 60 + draw(st.sampled_from([0, 30]))
            for _ in range(draw(st.integers(1, 2))):
                headway = draw(st.sampled_from([60, 90, 120, 300]))
                end = begin + headway * draw(st.integers(0, 4)) + draw(st.sampled_from([0, 0, 30]))
                frequencies.append((begin, end, headway))
                begin = end
        # GTFS times count from the service day's midnight: a trip of the day before is
        # written after 24:00:00 (and may run on both days).
        earliest = min([stop_times[0][1]] + [b for b, _, _ in frequencies])
        day = DAY_S if earliest < 0 or draw(st.integers(0, 3)) == 0 else 0
        trips[feed].append(
            {
                "service": draw(st.sampled_from(services[feed]))["service_id"],
                "route": f"r{route}",
                "stop_times": [
                    (s, None if a is None else a + day, None if d is None else d + day)
                    for s, a, d in stop_times
                ],
                "frequencies": [(b + day, e + day, h) for b, e, h in frequencies],
                "reverse": draw(st.booleans()),
            }
        )
    feeds = {
        f"f{k}": gtfs_tables(n_stops, trips[k], services[k]) for k in range(n_feeds) if trips[k]
    }
    n_origins = draw(st.integers(1, 3))
    n_destinations = draw(st.integers(1, 3))

    def links(n_from: int, n_to: int, max_s: int, at_least: int = 0) -> dict:
        item = st.tuples(
            st.integers(0, n_from - 1),
            st.integers(0, n_to - 1),
            st.integers(0, max_s // 30).map(lambda k: 30 * k),
        )
        pairs = draw(st.lists(item, min_size=at_least, max_size=3 * max(n_from, n_to)))
        out: dict[int, list[tuple[int, int]]] = {}
        for i, j, s in pairs:
            out.setdefault(i, []).append((j, s))
        return out

    return {
        "n_stops": n_stops,
        "feeds": feeds,
        "n_origins": n_origins,
        "n_destinations": n_destinations,
        "access": links(n_origins, n_stops, 300, n_origins),
        "egress": links(n_stops, n_destinations, 300, n_destinations),
        "transfers": links(n_stops, n_stops, 180),
        "walk_only": links(n_origins, n_destinations, 2400),
        "departure": draw(st.integers(0, 15)) * 60,
        "window": draw(st.integers(1, 12)),
        "slack": draw(st.sampled_from([0, 30, 60, 90])),
        "max_rides": draw(st.integers(1, 3)),
        "max_time": draw(st.sampled_from([300, 900, 1800, 3600, 3600])),
    }


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_case())
def test_engine_matches_reference_on_random_feeds(case: dict) -> None:
    if not reference_timetable(case["feeds"], DATE).runs_today:
        with pytest.raises(NoServiceError):
            engine_timetable(case["feeds"])
        return
    engine, reference = engine_and_reference(case)
    np.testing.assert_array_equal(engine, reference)


# --------------------------------------------------------------------------- hand-computed


def _line_case(**overrides: object) -> dict:
    """Origin 0 walks 60 s to stop 0; a trip leaves stop 0 at 08:02:00 and reaches stop 1 at
    08:10:00; stop 1 is 120 s from destination 0. Departures from 08:00."""
    case = {
        "n_stops": 2,
        "n_origins": 1,
        "n_destinations": 1,
        "trips": [[(0, 29_000 - 0, 29_000 + 120 - 0), (1, 29_400 + 200, 29_400 + 200)]],
        "access": {0: [(0, 60)]},
        "egress": {1: [(0, 120)]},
        "transfers": {},
        "walk_only": {},
        "departure": 28_800 + 0,
        "window": 3,
        "slack": 60,
        "max_rides": 4,
        "max_time": 7200,
    }
    case.update(overrides)
    return case


def test_board_slack_boundary_is_inclusive() -> None:
    # The trip leaves stop 0 at 29,120 s (08:05:20). Departing 08:00 + 60 s walk arrives
    # 28,860; the rider must be there by 29,060: fine. Access of 260 s arrives 29,060 exactly
    # at the slack boundary (departure 08:00): boards. 261 s: misses.
    trip = [[(0, 29_120, 29_120), (1, 29_600, 29_600)]]
    for access_s, expected in [(260, 29_600 + 120 - 28_800), (261, np.inf)]:
        engine, reference = engine_and_reference(
            _line_case(trips=trip, access={0: [(0, access_s)]}, window=1)
        )
        assert engine[0, 0, 0] == expected
        assert reference[0, 0, 0] == expected


def test_travel_time_includes_the_wait_at_the_origin() -> None:
    trip = [[(0, 29_120, 29_120), (1, 29_600, 29_600)]]
    engine, _ = engine_and_reference(_line_case(trips=trip, window=3))
    # Arrival 29,720 for departures 08:00, 08:01, 08:02 (28,800 + 60 m).
    assert engine[0, :, 0].tolist() == [920.0, 860.0, 800.0]


def test_max_rides_counts_vehicles() -> None:
    trips = [
        [(0, 29_000, 29_000), (1, 29_300, 29_300)],
        [(1, 29_400, 29_400), (2, 29_700, 29_700)],
    ]
    base = dict(trips=trips, n_stops=3, egress={2: [(0, 0)]}, window=1, access={0: [(0, 0)]})
    one, _ = engine_and_reference(_line_case(max_rides=1, **base))
    two, _ = engine_and_reference(_line_case(max_rides=2, **base))
    assert np.isinf(one[0, 0, 0])
    assert two[0, 0, 0] == 29_700 - 28_800


def test_walk_legs_are_not_chained() -> None:
    # Access reaches stop 2 only; a transfer link 2 -> 0 would need a second walk leg.
    trips = [[(0, 29_000, 29_000), (1, 29_300, 29_300)]]
    case = _line_case(
        trips=trips,
        n_stops=3,
        access={0: [(2, 0)]},
        transfers={2: [(0, 0)]},
        egress={1: [(0, 0)]},
        window=1,
    )
    engine, reference = engine_and_reference(case)
    assert np.isinf(engine[0, 0, 0]) and np.isinf(reference[0, 0, 0])


def test_max_time_is_inclusive() -> None:
    trips = [[(0, 28_800, 28_800), (1, 28_800 + 3_600, 28_800 + 3_600)]]
    for limit, expected in [(3_600, 3_600.0), (3_599, np.inf)]:
        engine, _ = engine_and_reference(
            _line_case(
                trips=trips,
                access={0: [(0, 0)]},
                egress={1: [(0, 0)]},
                window=1,
                slack=0,
                max_time=limit,
            )
        )
        assert engine[0, 0, 0] == expected


def test_walking_all_the_way_when_faster() -> None:
    trips = [[(0, 29_000, 29_000), (1, 29_300, 29_300)]]
    engine, _ = engine_and_reference(
        _line_case(
            trips=trips,
            walk_only={0: [(0, 400)]},
            access={0: [(0, 0)]},
            egress={1: [(0, 0)]},
            window=2,
        )
    )
    # 08:00: ride arrives 29,300 = 500 s, walk 400 s. 08:01: walk 400 s (ride 440 s).
    assert engine[0, :, 0].tolist() == [400.0, 400.0]


def test_overtaking_trips_are_both_used() -> None:
    # The express leaves later and arrives earlier: the FIFO split must keep it reachable.
    trips = [
        [(0, 28_900, 28_900), (1, 30_000, 30_000)],
        [(0, 29_000, 29_000), (1, 29_500, 29_500)],
    ]
    engine, reference = engine_and_reference(
        _line_case(trips=trips, access={0: [(0, 0)]}, egress={1: [(0, 0)]}, window=3, slack=0)
    )
    np.testing.assert_array_equal(engine, reference)
    assert engine[0, 0, 0] == 29_500 - 28_800


def test_nearest_rank_percentiles() -> None:
    times = np.array([[50.0, 10.0, np.inf, 30.0, 20.0]])  # sorted 10 20 30 50 inf
    got = nearest_rank_percentiles(times, [1, 20, 21, 50, 80, 81, 100], axis=1)
    assert got.tolist() == [[10.0, 10.0, 20.0, 30.0, 50.0, np.inf, np.inf]]
    sixty = np.arange(60, dtype=float)[None, :]
    assert nearest_rank_percentiles(sixty, [50], axis=1).tolist() == [[29.0]]


def test_percentiles_reducer_matches_full_matrix() -> None:
    case = _line_case(
        trips=[
            [(0, 29_120 + 60 * k, 29_120 + 60 * k), (1, 29_600 + 60 * k, 29_600 + 60 * k)]
            for k in range(0, 10, 3)
        ],
        window=10,
    )
    timetable = build_timetable(feed_from_trips(2, case["trips"]), DATE, cache=False)
    kw = dict(
        access=links_from_dict(1, 2, case["access"]),
        egress=links_from_dict(2, 1, case["egress"]),
        transfers=links_from_dict(2, 2, {}),
        departure_s=28_800,
        window_min=10,
    )
    full = transit_travel_times(timetable, **kw)
    reduced = transit_percentiles(timetable, percentiles=[25, 50, 100], chunk_origins=1, **kw)
    np.testing.assert_array_equal(reduced, nearest_rank_percentiles(full, [25, 50, 100], axis=1))


def test_arrive_by_and_return_journey() -> None:
    # Buses leave stop 0 at 08:05, 08:15, 08:25 and take 10 min; walk 60 s + 120 s.
    trips = [
        [(0, 29_100 + 600 * k, 29_100 + 600 * k), (1, 29_700 + 600 * k, 29_700 + 600 * k)]
        for k in range(3)
    ]
    case = _line_case(trips=trips)
    timetable = build_timetable(feed_from_trips(2, trips), DATE, cache=False)
    kw = dict(
        access=links_from_dict(1, 2, case["access"]),
        egress=links_from_dict(2, 1, case["egress"]),
        transfers=links_from_dict(2, 2, {}),
    )
    # Bell at 08:27:00 = 30,420: the 08:15 bus (29,700) arrives 08:25 + 2 min walk = 30,420.
    # The latest departure boarding it is 29,580 (08:13): 60 s walk and 60 s slack.
    result = arrive_by(timetable, arrive_by_s=30_420, window_min=60, **kw)
    assert result.departure_s[0, 0] == 29_580
    assert result.travel_time_s[0, 0] == 30_420 - 29_580
    # One second earlier only the 08:05 bus will do: arrival 29,820, boarded by leaving at
    # 28,980 at the latest; the searched minutes are 30,419 - 60 k, so 28,979.
    early = arrive_by(timetable, arrive_by_s=30_419, window_min=60, **kw)
    assert early.departure_s[0, 0] == 28_979
    assert early.travel_time_s[0, 0] == 29_820 - 28_979
    # Leaving at 30,120 catches the 08:25 bus: 31,020. Leaving at 30,181 misses it.
    arrival = earliest_arrival(timetable, departure_s=30_120, **kw)
    assert arrival[0, 0] == 30_900 + 120
    assert np.isinf(earliest_arrival(timetable, departure_s=30_181, **kw)[0, 0])


def test_links_are_checked() -> None:
    trips = [[(0, 29_000, 29_000), (1, 29_300, 29_300)]]
    timetable = build_timetable(feed_from_trips(2, trips), DATE, cache=False)
    good = links_from_dict(1, 2, {0: [(0, 0)]})
    egress = links_from_dict(2, 1, {1: [(0, 0)]})
    transfers = links_from_dict(2, 2, {})
    kw = dict(departure_s=28_800, window_min=1)
    with pytest.raises(ValueError, match="egress links start from 1 stops"):
        transit_travel_times(
            timetable, access=good, egress=good.transpose().transpose(), transfers=transfers, **kw
        )
    negative = Links(good.indptr, good.indices, np.array([-5], dtype=np.int32), 2)
    with pytest.raises(ValueError, match="access links have negative travel times"):
        transit_travel_times(timetable, access=negative, egress=egress, transfers=transfers, **kw)


# --------------------------------------------------------------------------- Porto Alegre

PORTO_ALEGRE_FEEDS = ("eptc", "trensurb")
HOLIDAY = dt.date(2019, 5, 1)  # Labour Day: calendar_dates.txt removes much EPTC service
WALK = dict(speed_kmh=4.8, circuity=1.3, max_seconds=20 * 60)


@pytest.fixture(scope="module")
def porto_alegre(shared_data):  # noqa: ANN001, ANN201
    """date -> the engine's timetable and links, and the reference's own, both cached."""
    folder = shared_data / "porto-alegre"
    zips = {name: folder / f"poa_{name}.zip" for name in PORTO_ALEGRE_FEEDS}
    feed = merge_feeds({name: read_gtfs(path) for name, path in zips.items()})
    text = {name: read_gtfs_text(path) for name, path in zips.items()}
    cells = pd.read_csv(folder / "poa_hexgrid.csv")
    walk_only = straight_line_links(cells["lon"], cells["lat"], cells["lon"], cells["lat"], **WALK)

    def links(lon: np.ndarray, lat: np.ndarray) -> SimpleNamespace:
        access = straight_line_links(cells["lon"], cells["lat"], lon, lat, **WALK)
        return SimpleNamespace(
            access=access,
            egress=access.transpose(),
            transfers=straight_line_links(lon, lat, lon, lat, **WALK),
            walk_only=walk_only,
        )

    networks: dict[dt.date, SimpleNamespace] = {}

    def network(date: dt.date) -> SimpleNamespace:
        if date not in networks:
            timetable = build_timetable(feed, date)
            reference = reference_timetable(text, date)
            networks[date] = SimpleNamespace(
                timetable=timetable,
                links=links(timetable.stop_lon, timetable.stop_lat),
                reference=reference,
                reference_links=links(reference.lon, reference.lat),
            )
        return networks[date]

    return network


@pytest.mark.slow
@pytest.mark.shared_data
@pytest.mark.parametrize("date", [DATE, HOLIDAY])
def test_porto_alegre_timetable_matches_reference(porto_alegre, date: dt.date) -> None:  # noqa: ANN001
    net = porto_alegre(date)
    index = {stop_id: i for i, stop_id in enumerate(net.timetable.stop_ids.tolist())}
    assert_same_trips(
        net.timetable, lambda name, stop_id: index[f"{name}:{stop_id}"], net.reference
    )
    # All 2,374 EPTC trips run on the Monday; the holiday's calendar_dates.txt removes most.
    n_eptc = sum(trip_id.startswith("eptc:") for trip_id in net.timetable.trip_ids.tolist())
    assert n_eptc == 2374 if date == DATE else 0 < n_eptc < 2374 / 2


@pytest.mark.slow
@pytest.mark.shared_data
@pytest.mark.parametrize(
    "date, departure_s, max_rides",
    [(DATE, 14 * 3600, 4), (DATE, 7 * 3600, 3), (HOLIDAY, 14 * 3600, 3)],
)
def test_porto_alegre_matches_reference(
    porto_alegre,
    date: dt.date,
    departure_s: int,
    max_rides: int,  # noqa: ANN001
) -> None:
    net = porto_alegre(date)
    rng = np.random.default_rng(20190513)
    origins = sorted(rng.choice(net.links.access.n_from, size=3, replace=False).tolist())
    window = 10
    search = dict(departure_s=departure_s, window_min=window, max_rides=max_rides, origins=origins)
    engine = transit_travel_times(net.timetable, **vars(net.links), **search)
    minutes = [0, 4, 9]
    ref_links = {name: dict_from_links(links) for name, links in vars(net.reference_links).items()}
    reference = reference_travel_times(
        net.reference.trips,
        **ref_links,
        origins=origins,
        n_destinations=net.reference_links.egress.n_to,
        departures=[departure_s + 60 * m for m in minutes],
        board_slack_s=60,
        max_rides=max_rides,
        max_time_s=7200,
    )
    np.testing.assert_array_equal(engine[:, minutes, :], reference)
    reduced = transit_percentiles(
        net.timetable, **vars(net.links), percentiles=[10, 50, 90], **search
    )
    np.testing.assert_array_equal(reduced, nearest_rank_percentiles(engine, [10, 50, 90], axis=1))
    # EPTC runs 11:20-17:50 only (the r5r sample), so mornings have the metro alone.
    reachable = np.isfinite(reference).mean()
    assert reachable > (0.02 if departure_s == 7 * 3600 else 0.3)
