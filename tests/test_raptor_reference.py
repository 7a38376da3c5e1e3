"""The RAPTOR engine against an independent reference search, and hand-computed cases.

The reference below is a plain-Python Dijkstra over (stop, rides so far, just alighted or
ready to board) states, one departure minute at a time, reading the trips as lists of
(stop, arrival, departure). It shares no code with the engine: not the patterns, not the
label reuse across minutes, not the trip scan.
"""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transport_access.network.timetable import build_timetable
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


# --------------------------------------------------------------------------- reference


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


# --------------------------------------------------------------------------- helpers


def feed_from_trips(
    n_stops: int, trips: list[list[tuple[int, int, int]]], routes: list[str] | None = None
) -> SimpleNamespace:
    """A minimal GTFS feed (all trips running on DATE) from (stop, arrival, departure) lists."""

    def hms(seconds: int) -> str:
        return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"

    rows = [
        {
            "trip_id": f"t{t}",
            "arrival_time": hms(a),
            "departure_time": hms(d),
            "stop_id": f"s{s}",
            "stop_sequence": pos + 1,
        }
        for t, trip in enumerate(trips)
        for pos, (s, a, d) in enumerate(trip)
    ]
    return SimpleNamespace(
        stops=pd.DataFrame(
            {
                "stop_id": [f"s{i}" for i in range(n_stops)],
                "stop_lon": -51.2 + 0.001 * np.arange(n_stops),
                "stop_lat": np.full(n_stops, -30.0),
            }
        ),
        trips=pd.DataFrame(
            {
                "trip_id": [f"t{t}" for t in range(len(trips))],
                "route_id": routes or ["r"] * len(trips),
                "service_id": ["wk"] * len(trips),
            }
        ),
        stop_times=pd.DataFrame(rows),
        calendar=pd.DataFrame(
            {
                "service_id": ["wk"],
                "monday": [1],
                "tuesday": [1],
                "wednesday": [1],
                "thursday": [1],
                "friday": [1],
                "saturday": [0],
                "sunday": [0],
                "start_date": ["20190101"],
                "end_date": ["20191231"],
            }
        ),
        calendar_dates=None,
        frequencies=None,
    )


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


def engine_and_reference(case: dict) -> tuple[np.ndarray, np.ndarray]:
    n_stops, n_o, n_d = case["n_stops"], case["n_origins"], case["n_destinations"]
    timetable = build_timetable(feed_from_trips(n_stops, case["trips"]), DATE, cache=False)
    params = dict(
        board_slack_s=case["slack"], max_rides=case["max_rides"], max_time_s=case["max_time"]
    )
    engine = transit_travel_times(
        timetable,
        access=links_from_dict(n_o, n_stops, case["access"]),
        egress=links_from_dict(n_stops, n_d, case["egress"]),
        transfers=links_from_dict(n_stops, n_stops, case["transfers"]),
        walk_only=links_from_dict(n_o, n_d, case["walk_only"]),
        departure_s=case["departure"],
        window_min=case["window"],
        **params,
    )
    reference = reference_travel_times(
        case["trips"],
        access=dedupe(case["access"]),
        egress=dedupe(case["egress"]),
        transfers=dedupe(case["transfers"]),
        walk_only=dedupe(case["walk_only"]),
        origins=list(range(n_o)),
        n_destinations=n_d,
        departures=[case["departure"] + 60 * i for i in range(case["window"])],
        **params,
    )
    return engine, reference


# --------------------------------------------------------------------------- random feeds


@st.composite
def random_case(draw: st.DrawFn) -> dict:
    n_stops = draw(st.integers(2, 5))
    stop = st.integers(0, n_stops - 1)
    # Times on a 30-second grid, so arrivals land exactly on the board-slack boundary often;
    # trips, links and windows squeezed into the same half hour so that journeys with
    # several rides, transfers and overtaking happen in most examples.
    grid = st.integers(0, 8).map(lambda k: 30 * k)
    sequences = draw(st.lists(st.lists(stop, min_size=2, max_size=5), min_size=1, max_size=4))
    trips = []
    for _ in range(draw(st.integers(2, 16))):
        sequence = draw(st.sampled_from(sequences))
        time = draw(st.integers(0, 30)) * 60 + draw(st.sampled_from([0, 30]))
        trip = []
        for pos, s in enumerate(sequence):
            if pos:
                time += draw(grid)  # zero-time hops allowed
            arrival = time
            time += draw(st.sampled_from([0, 0, 30, 60]))
            trip.append((s, arrival, time))
        trips.append(trip)
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
        "n_origins": n_origins,
        "n_destinations": n_destinations,
        "trips": trips,
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


@pytest.fixture(scope="module")
def porto_alegre(shared_data):  # noqa: ANN001, ANN201
    from transport_access.load.gtfs import merge_feeds, read_gtfs

    folder = shared_data / "porto-alegre"
    feed = merge_feeds(
        {name: read_gtfs(folder / f"poa_{name}.zip") for name in ("eptc", "trensurb")}
    )
    timetable = build_timetable(feed, DATE)
    cells = pd.read_csv(folder / "poa_hexgrid.csv")
    walk = dict(speed_kmh=4.8, circuity=1.3, max_seconds=20 * 60)
    stops = (timetable.stop_lon, timetable.stop_lat)
    access = straight_line_links(cells["lon"], cells["lat"], *stops, **walk)
    return SimpleNamespace(
        timetable=timetable,
        access=access,
        egress=access.transpose(),
        transfers=straight_line_links(*stops, *stops, **walk),
        walk_only=straight_line_links(
            cells["lon"], cells["lat"], cells["lon"], cells["lat"], **walk
        ),
    )


def _trips_of(timetable) -> list[list[tuple[int, int, int]]]:  # noqa: ANN001
    trips = []
    for p in range(timetable.n_patterns):
        stops, arrival, departure = timetable.trip_times(p)
        for t in range(arrival.shape[0]):
            trips.append(
                list(zip(stops.tolist(), arrival[t].tolist(), departure[t].tolist(), strict=True))
            )
    return trips


@pytest.mark.slow
@pytest.mark.shared_data
@pytest.mark.parametrize("departure_s, max_rides", [(14 * 3600, 4), (7 * 3600, 3)])
def test_porto_alegre_matches_reference(porto_alegre, departure_s: int, max_rides: int) -> None:  # noqa: ANN001
    net = porto_alegre
    rng = np.random.default_rng(20190513)
    origins = sorted(rng.choice(net.access.n_from, size=3, replace=False).tolist())
    window = 10
    engine = transit_travel_times(
        net.timetable,
        access=net.access,
        egress=net.egress,
        transfers=net.transfers,
        walk_only=net.walk_only,
        departure_s=departure_s,
        window_min=window,
        max_rides=max_rides,
        origins=origins,
    )
    minutes = [0, 4, 9]
    reference = reference_travel_times(
        _trips_of(net.timetable),
        access=dict_from_links(net.access),
        egress=dict_from_links(net.egress),
        transfers=dict_from_links(net.transfers),
        walk_only=dict_from_links(net.walk_only),
        origins=origins,
        n_destinations=net.egress.n_to,
        departures=[departure_s + 60 * m for m in minutes],
        board_slack_s=60,
        max_rides=max_rides,
        max_time_s=7200,
    )
    np.testing.assert_array_equal(engine[:, minutes, :], reference)
    reduced = transit_percentiles(
        net.timetable,
        access=net.access,
        egress=net.egress,
        transfers=net.transfers,
        walk_only=net.walk_only,
        departure_s=departure_s,
        window_min=window,
        percentiles=[10, 50, 90],
        max_rides=max_rides,
        origins=origins,
    )
    np.testing.assert_array_equal(reduced, nearest_rank_percentiles(engine, [10, 50, 90], axis=1))
    # EPTC runs 11:20-17:50 only (the r5r sample), so mornings have the metro alone.
    reachable = np.isfinite(reference).mean()
    assert reachable > (0.5 if departure_s == 14 * 3600 else 0.02)
