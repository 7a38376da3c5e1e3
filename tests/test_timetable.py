"""The timetable model: interpolation, frequencies, past-midnight trips, FIFO patterns, errors."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from transport_access._cache import cache_dir
from transport_access.errors import InvalidValueError, NoServiceError
from transport_access.network.timetable import Timetable, build_timetable
from transport_access.report import DataReport

MONDAY = dt.date(2019, 5, 13)


def make_feed(
    stops: dict[str, tuple[float, float]],
    stop_times: list[tuple[str, str, str, str]],
    *,
    services: dict[str, str] | None = None,
    frequencies: list[tuple[str, str, str, int]] | None = None,
) -> SimpleNamespace:
    """A GTFS-like feed from (trip_id, stop_id, arrival, departure) rows in sequence order.

    ``services`` maps trip_id to ``"wk"`` (Monday to Friday, the default) or ``"sun"``.
    """
    services = services or {}
    trip_ids = list(dict.fromkeys(row[0] for row in stop_times))
    sequence: dict[str, int] = {}
    rows = []
    for trip_id, stop_id, arrival, departure in stop_times:
        sequence[trip_id] = sequence.get(trip_id, 0) + 1
        rows.append(
            {
                "trip_id": trip_id,
                "arrival_time": arrival or None,
                "departure_time": departure or None,
                "stop_id": stop_id,
                "stop_sequence": sequence[trip_id] * 10,
            }
        )
    week = [1, 1, 1, 1, 1, 0, 0]
    sunday = [0, 0, 0, 0, 0, 0, 1]
    days = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    calendar = pd.DataFrame(
        [
            {
                "service_id": sid,
                **dict(zip(days, flags, strict=True)),
                "start_date": "20190101",
                "end_date": "20191231",
            }
            for sid, flags in (("wk", week), ("sun", sunday))
        ]
    )
    return SimpleNamespace(
        stops=pd.DataFrame(
            {
                "stop_id": list(stops),
                "stop_lon": [xy[0] for xy in stops.values()],
                "stop_lat": [xy[1] for xy in stops.values()],
            }
        ),
        trips=pd.DataFrame(
            {
                "trip_id": trip_ids,
                "route_id": ["r1"] * len(trip_ids),
                "service_id": [services.get(t, "wk") for t in trip_ids],
            }
        ),
        stop_times=pd.DataFrame(rows).astype(
            {"arrival_time": "string", "departure_time": "string"}
        ),
        calendar=calendar,
        calendar_dates=None,
        frequencies=None
        if frequencies is None
        else pd.DataFrame(
            frequencies, columns=["trip_id", "start_time", "end_time", "headway_secs"]
        ),
    )


def times_of(timetable: Timetable, trip_id: str) -> tuple[list[str], list[int], list[int]]:
    """Stop IDs, arrivals and departures of one trip of a timetable."""
    index = int(np.flatnonzero(timetable.trip_ids == trip_id)[0])
    pattern = int(np.searchsorted(timetable.pattern_trip_ptr, index, side="right") - 1)
    stops, arrival, departure = timetable.trip_times(pattern)
    row = index - int(timetable.pattern_trip_ptr[pattern])
    return (
        timetable.stop_ids[stops].tolist(),
        arrival[row].tolist(),
        departure[row].tolist(),
    )


def test_interpolation_on_distance_exact_seconds() -> None:
    # On a meridian, B is a third of the way from A to C: 28,800 + 601 / 3 = 29,000.33 -> 29,000.
    feed = make_feed(
        {"A": (0.0, 0.0), "B": (0.0, 0.01), "C": (0.0, 0.03)},
        [("t", "A", "08:00:00", "08:00:00"), ("t", "B", "", ""), ("t", "C", "08:10:01", "")],
    )
    timetable = build_timetable(feed, MONDAY, cache=False)
    assert times_of(timetable, "t") == (
        ["A", "B", "C"],
        [28_800, 29_000, 29_401],
        [28_800, 29_000, 29_401],
    )


def test_interpolation_by_stop_order_where_distance_is_zero_and_halves_round_up() -> None:
    # X, Y, Z, W share one place: by order, 600 + 10/3 = 603.33 and 606.67. Then Q halfway
    # between 610 and 611 is 610.5, rounded up to 611.
    same = (1.0, 1.0)
    feed = make_feed(
        {"X": same, "Y": same, "Z": same, "W": same, "Q": same, "R": same},
        [
            ("t", "X", "00:10:00", "00:10:00"),
            ("t", "Y", "", ""),
            ("t", "Z", "", ""),
            ("t", "W", "00:10:10", "00:10:10"),
            ("u", "W", "00:10:10", "00:10:10"),
            ("u", "Q", "", ""),
            ("u", "R", "00:10:11", "00:10:11"),
        ],
    )
    timetable = build_timetable(feed, MONDAY, cache=False)
    assert times_of(timetable, "t")[1] == [600, 603, 607, 610]
    assert times_of(timetable, "u")[1] == [610, 611, 611]


def test_interpolation_counts_from_departure_and_keeps_dwell() -> None:
    # A dwells 08:00-08:02; B (halfway on the meridian) interpolates from the departure.
    feed = make_feed(
        {"A": (0.0, 0.0), "B": (0.0, 0.01), "C": (0.0, 0.02)},
        [
            ("t", "A", "08:00:00", "08:02:00"),
            ("t", "B", "", ""),
            ("t", "C", "08:12:00", "08:13:00"),
        ],
    )
    _, arrival, departure = times_of(build_timetable(feed, MONDAY, cache=False), "t")
    assert arrival == [28_800, 29_220, 29_520]
    assert departure == [28_920, 29_220, 29_580]


def test_frequencies_are_expanded_to_departures() -> None:
    feed = make_feed(
        {"A": (0.0, 0.0), "B": (0.0, 0.01), "C": (0.0, 0.02)},
        [
            ("f", "A", "06:00:00", "06:00:00"),
            ("f", "B", "06:05:00", "06:05:30"),
            ("f", "C", "06:11:40", "06:11:40"),
        ],
        frequencies=[("f", "07:00:00", "08:00:00", 1200)],
    )
    timetable = build_timetable(feed, MONDAY, cache=False)
    # 08:00:00 is the end of the period, not a departure; the template time is not one either.
    assert timetable.trip_ids.tolist() == ["f@07:00:00", "f@07:20:00", "f@07:40:00"]
    for start in (25_200, 26_400, 27_600):
        label = f"f@{start // 3600:02d}:{start % 3600 // 60:02d}:00"
        _, arrival, departure = times_of(timetable, label)
        assert arrival == [start, start + 300, start + 700]
        assert departure == [start, start + 330, start + 700]


def test_previous_day_trips_running_past_midnight() -> None:
    feed = make_feed(
        {"A": (0.0, 0.0), "B": (0.0, 0.01)},
        [
            ("late", "A", "23:50:00", "23:50:00"),
            ("late", "B", "24:20:00", "24:20:00"),
            ("evening", "A", "22:00:00", "22:00:00"),
            ("evening", "B", "23:00:00", "23:00:00"),
            ("night", "A", "23:55:00", "23:55:00"),
            ("night", "B", "24:10:00", "24:10:00"),
        ],
        services={"late": "sun", "evening": "sun", "night": "wk"},
    )
    report = DataReport()
    timetable = build_timetable(feed, MONDAY, cache=False, report=report)
    # Sunday's 23:50 trip runs until 00:20 on Monday; Sunday's 22:00 is over by midnight.
    # Monday's own 23:55 keeps its times (after 24:00:00 when it crosses midnight).
    assert sorted(timetable.trip_ids.tolist()) == ["late@-1", "night"]
    assert times_of(timetable, "late@-1")[1] == [-600, 1_200]
    assert times_of(timetable, "night")[1] == [86_100, 87_000]
    assert report.entries[0].rows_kept == 2
    assert report.entries[0].exclusions["trips not running that day"] == 2
    assert "1 trips of the day before still running after midnight" in report.entries[0].detail


def test_overtaking_trips_go_to_separate_patterns() -> None:
    stops = {"A": (0.0, 0.0), "B": (0.0, 0.01), "C": (0.0, 0.02)}
    rows = [
        ("slow", "A", "08:00:00", "08:00:00"),
        ("slow", "B", "08:30:00", "08:30:00"),
        ("slow", "C", "09:00:00", "09:00:00"),
        ("fast", "A", "08:10:00", "08:10:00"),
        ("fast", "B", "08:20:00", "08:20:00"),
        ("fast", "C", "08:30:00", "08:30:00"),
        ("later", "A", "08:20:00", "08:20:00"),
        ("later", "B", "08:40:00", "08:40:00"),
        ("later", "C", "09:10:00", "09:10:00"),
    ]
    timetable = build_timetable(make_feed(stops, rows), MONDAY, cache=False)
    assert timetable.n_patterns == 2
    first = timetable.trip_ids[timetable.pattern_trip_ptr[0] : timetable.pattern_trip_ptr[1]]
    assert first.tolist() == ["slow", "later"]
    assert timetable.trip_ids[2] == "fast"
    # Every stop lists each pattern that visits it, at its position.
    a = int(np.flatnonzero(timetable.stop_ids == "C")[0])
    lo, hi = timetable.stop_pattern_ptr[a], timetable.stop_pattern_ptr[a + 1]
    assert timetable.stop_pattern[lo:hi].tolist() == [0, 1]
    assert timetable.stop_pattern_pos[lo:hi].tolist() == [2, 2]


def test_decreasing_times_name_trip_and_sequence() -> None:
    feed = make_feed(
        {"A": (0.0, 0.0), "B": (0.0, 0.01), "C": (0.0, 0.02)},
        [("bad", "A", "08:00:00", "08:00:00"), ("bad", "B", "", ""), ("bad", "C", "07:59:00", "")],
    )
    with pytest.raises(InvalidValueError, match=r"trip_id 'bad', stop_sequence 30.*decrease"):
        build_timetable(feed, MONDAY, cache=False)


def test_negative_dwell_names_trip_and_sequence() -> None:
    feed = make_feed(
        {"A": (0.0, 0.0), "B": (0.0, 0.01)},
        [("bad", "A", "08:05:00", "08:04:00"), ("bad", "B", "08:10:00", "08:10:00")],
    )
    with pytest.raises(InvalidValueError, match=r"trip_id 'bad', stop_sequence 10.*negative dwell"):
        build_timetable(feed, MONDAY, cache=False)


def test_no_service_names_the_date() -> None:
    feed = make_feed(
        {"A": (0.0, 0.0), "B": (0.0, 0.01)},
        [("t", "A", "08:00:00", "08:00:00"), ("t", "B", "08:10:00", "08:10:00")],
    )
    with pytest.raises(NoServiceError, match="2019-05-18"):
        build_timetable(feed, dt.date(2019, 5, 18), cache=False)


def test_cached_timetable_is_identical() -> None:
    feed = make_feed(
        {"A": (0.0, 0.0), "B": (0.0, 0.01)},
        [("t", "A", "08:00:00", "08:00:00"), ("t", "B", "", "08:10:00")],
    )
    built = build_timetable(feed, MONDAY)
    files = list(cache_dir().glob("timetable-*.npz"))
    assert files
    again = build_timetable(feed, "2019-05-13")
    assert again.service_date == "2019-05-13"
    for name in ("arrival_s", "departure_s", "trip_ids", "stop_ids", "pattern_stops"):
        np.testing.assert_array_equal(getattr(again, name), getattr(built, name))
    other_day = build_timetable(feed, dt.date(2019, 5, 14))
    assert other_day.service_date == "2019-05-14"


@pytest.mark.shared_data
def test_porto_alegre_timetable(shared_data) -> None:  # noqa: ANN001
    import gtfs_kit as gk

    feed = gk.read_feed(shared_data / "porto-alegre" / "poa_eptc.zip", dist_units="km")
    report = DataReport()
    timetable = build_timetable(feed, MONDAY, cache=False, report=report)
    assert (timetable.n_trips, timetable.n_stops) == (2_374, 3_986)
    assert "125271 stop times interpolated" in report.entries[0].detail
    # Timed stop times come through unchanged: T1-2@1#1202 leaves its first stop at 12:02.
    _, arrival, departure = times_of(timetable, "T1-2@1#1202")
    assert departure[0] == 12 * 3600 + 2 * 60
    assert arrival[-1] >= departure[0]
    # Every pattern is FIFO at every stop, and times never decrease along a trip.
    for p in range(timetable.n_patterns):
        _, arrival, departure = timetable.trip_times(p)
        assert (np.diff(departure, axis=0) >= 0).all() and (np.diff(arrival, axis=0) >= 0).all()
        assert (arrival[:, 1:] >= departure[:, :-1]).all() and (departure >= arrival).all()


def test_stop_without_coordinates_is_named() -> None:
    feed = make_feed(
        {"A": (0.0, 0.0), "B": (float("nan"), 0.01)},
        [("t", "A", "08:00:00", "08:00:00"), ("t", "B", "08:10:00", "08:10:00")],
    )
    with pytest.raises(InvalidValueError, match="stop_id 'B', used by trip_id 't'"):
        build_timetable(feed, MONDAY, cache=False)
