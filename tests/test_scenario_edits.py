"""Scenario files and their edits to a timetable, with exact trips and costs.

The synthetic feed in tests/fixtures/scenarios/feed (weekday service WK, Saturday SA):

* route 1: A -> B -> C (5 min, 1 min dwell at B, 6 min; 12 min a trip) departing 07:00,
  07:30, 08:00, 08:30, 09:00, plus A -> C (10 min) at 08:15; back C -> B -> A at 07:15,
  07:45, 08:15, 08:45; a Saturday trip at 10:00;
* route 2: D -> E (untimed) -> A, 20 min, at 07:10 and 08:10;
* route 3: A -> D, 7 min, frequency-based every 20 min 06:00-07:00.

Stops are 0.01 degree apart: A (50.70), B (50.71), C (50.72) on the meridian -2.00.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from transport_access.errors import MissingFileError, ScenarioError
from transport_access.load.gtfs import read_gtfs, service_ids_on
from transport_access.routing.straight_line import haversine_m
from transport_access.scenarios.edits import apply_scenario
from transport_access.scenarios.model import load_scenario, scenario_from_dict

DATE = dt.date(2025, 6, 2)  # a Monday
FEED_DIR = Path(__file__).resolve().parent / "fixtures" / "scenarios" / "feed"
STEP_M = float(haversine_m(-2.0, 50.70, -2.0, 50.71))  # 0.01 degree of latitude


@pytest.fixture(scope="module")
def feed():
    return read_gtfs(FEED_DIR, name="synthetic")


@pytest.fixture(scope="module")
def naptan() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"atco_code": ["1200DOB00001"], "name": ["Naptan Stop"]},
        geometry=[Point(-2.0, 50.69)],
        crs=4326,
    )


def apply(feed, *modifications, **kwargs):
    scenario = scenario_from_dict({"name": "s", "modifications": list(modifications)})
    return apply_scenario(feed, scenario, service_date=kwargs.pop("service_date", DATE), **kwargs)


def times(feed, trip_id: str) -> list[tuple[str, str, str]]:
    rows = feed.stop_times[feed.stop_times["trip_id"] == trip_id].sort_values("stop_sequence")
    return [
        (s, "" if pd.isna(a) else a, "" if pd.isna(d) else d)
        for s, a, d in zip(rows["stop_id"], rows["arrival_time"], rows["departure_time"],
                           strict=True)
    ]


def departures(feed, route_id: str, direction: int) -> list[str]:
    """First departures of the route's trips running on DATE in one direction, sorted."""
    running = service_ids_on(feed, DATE)
    trips = feed.trips[
        (feed.trips["route_id"] == route_id)
        & (feed.trips["direction_id"] == direction)
        & feed.trips["service_id"].isin(running)
    ]
    first = feed.stop_times[
        feed.stop_times["trip_id"].isin(set(trips["trip_id"]))
        & (feed.stop_times["stop_sequence"] == 1)
    ]
    return sorted(first["departure_time"])


ABC = [("STA", "{}:00", "{}:00"), ("STB", "{}", "{}"), ("STC", "{}", "{}")]


# --------------------------------------------------------------------------- change_frequency


def test_change_frequency_replaces_trips_in_period_with_template_copies(feed):
    edited, changes = apply(
        feed,
        {"type": "change_frequency", "routes": ["1"], "from": "07:00", "to": "08:00",
         "headway_min": 20},
    )
    assert departures(edited, "R1", 0) == [
        "07:00:00", "07:20:00", "07:40:00", "08:00:00", "08:15:00", "08:30:00", "09:00:00"
    ]
    assert departures(edited, "R1", 1) == [
        "07:00:00", "07:20:00", "07:40:00", "08:15:00", "08:45:00"
    ]
    assert times(edited, "s:0:R1-0-0700@07:20:00") == [
        ("STA", "07:20:00", "07:20:00"), ("STB", "07:25:00", "07:26:00"),
        ("STC", "07:32:00", "07:32:00"),
    ]
    assert times(edited, "s:0:R1-1-0715@07:40:00") == [
        ("STC", "07:40:00", "07:40:00"), ("STB", "07:45:00", "07:46:00"),
        ("STA", "07:52:00", "07:52:00"),
    ]
    new = edited.trips[edited.trips["trip_id"] == "s:0:R1-1-0715@07:40:00"].iloc[0]
    assert (new["route_id"], new["service_id"], new["direction_id"]) == ("R1", "WK", 1)
    # The Saturday trip is not a trip of the service date: untouched.
    assert "R1-0-SA-1000" in set(edited.trips["trip_id"])

    change = changes.modifications[0]
    assert (change.trips_added, change.trips_removed) == (6, 4)
    assert set(change.removed_trip_ids) == {"R1-0-0700", "R1-0-0730", "R1-1-0715", "R1-1-0745"}
    assert change.vehicle_hours == pytest.approx(2 * 12 / 60)
    assert change.cost_per_day_gbp == pytest.approx(24.0)
    assert change.vehicle_km == pytest.approx(2 * 2 * STEP_M / 1000)


def test_change_frequency_template_is_earliest_trip_of_most_frequent_pattern(feed):
    edited, changes = apply(
        feed,
        {"type": "change_frequency", "routes": ["R1"], "from": "08:00", "to": "09:00",
         "headway_min": 30},
    )
    change = changes.modifications[0]
    # Direction 0 has A-B-C at 08:00 and 08:30 and A-C at 08:15: A-B-C wins, 08:00 copied.
    assert set(change.added_trip_ids) == {
        "s:0:R1-0-0800@08:00:00", "s:0:R1-0-0800@08:30:00",
        "s:0:R1-1-0815@08:00:00", "s:0:R1-1-0815@08:30:00",
    }
    assert set(change.removed_trip_ids) == {
        "R1-0-0800", "R1-0-0815", "R1-0-0830", "R1-1-0815", "R1-1-0845"
    }
    assert change.vehicle_hours == pytest.approx((4 * 12 - (4 * 12 + 10)) / 60)
    # A tie (one A-B-C, one A-C) goes to the pattern of the earliest trip.
    _, tie = apply(
        feed,
        {"type": "change_frequency", "routes": ["1"], "from": "08:00", "to": "08:20",
         "headway_min": 10},
    )
    added = tie.modifications[0].added_trip_ids
    assert "s:0:R1-0-0800@08:10:00" in added
    assert not any("R1-0-0815@" in t for t in added)


# --------------------------------------------------------------------------- change_hours


def test_change_hours_extends_at_the_routes_headway(feed):
    edited, changes = apply(
        feed, {"type": "change_hours", "routes": ["1"], "first_departure": "06:30",
               "last_departure": "10:00"},
    )
    # Direction 0: last four departures 08:00, 08:15, 08:30, 09:00 -> median gap 15 min;
    # first four 07:00, 07:30, 08:00, 08:15 -> 30 min. Direction 1: 30 min both ends.
    assert departures(edited, "R1", 0) == [
        "06:30:00", "07:00:00", "07:30:00", "08:00:00", "08:15:00", "08:30:00", "09:00:00",
        "09:15:00", "09:30:00", "09:45:00", "10:00:00",
    ]
    assert departures(edited, "R1", 1) == [
        "06:45:00", "07:15:00", "07:45:00", "08:15:00", "08:45:00", "09:15:00", "09:45:00"
    ]
    assert times(edited, "s:0:R1-0-0900@09:45:00") == [
        ("STA", "09:45:00", "09:45:00"), ("STB", "09:50:00", "09:51:00"),
        ("STC", "09:57:00", "09:57:00"),
    ]
    assert "s:0:R1-0-0700@06:30:00" in set(edited.trips["trip_id"])
    change = changes.modifications[0]
    assert (change.trips_added, change.trips_removed) == (8, 0)
    assert change.vehicle_hours == pytest.approx(8 * 12 / 60)


def test_change_hours_shortens_the_day(feed):
    edited, changes = apply(
        feed, {"type": "change_hours", "routes": ["1"], "first_departure": "07:30",
               "last_departure": "08:00"},
    )
    assert departures(edited, "R1", 0) == ["07:30:00", "08:00:00"]
    assert departures(edited, "R1", 1) == ["07:45:00"]
    change = changes.modifications[0]
    assert set(change.removed_trip_ids) == {
        "R1-0-0700", "R1-0-0815", "R1-0-0830", "R1-0-0900", "R1-1-0715", "R1-1-0815",
        "R1-1-0845",
    }
    assert change.vehicle_hours == pytest.approx(-(6 * 12 + 10) / 60)


def test_change_hours_with_one_departure_needs_a_headway(feed):
    with pytest.raises(ScenarioError, match=r"modifications\[1\] \(change_hours\)\.headway_min"):
        apply(
            feed,
            {"type": "remove_trips", "trip_ids": ["R2-0-0810"]},
            {"type": "change_hours", "routes": ["2"], "last_departure": "10:00"},
        )
    edited, _ = apply(
        feed,
        {"type": "remove_trips", "trip_ids": ["R2-0-0810"]},
        {"type": "change_hours", "routes": ["2"], "last_departure": "09:10",
         "headway_min": 60},
    )
    assert departures(edited, "R2", 0) == ["07:10:00", "08:10:00", "09:10:00"]
    # The untimed stop E stays untimed in copies.
    assert times(edited, "s:1:R2-0-0710@09:10:00") == [
        ("STD", "09:10:00", "09:10:00"), ("STE", "", ""), ("STA", "09:30:00", "09:30:00")
    ]


# --------------------------------------------------------------------------- removals


def test_remove_route_removes_route_trips_and_stop_times(feed):
    edited, changes = apply(feed, {"type": "remove_route", "routes": ["2"]})
    assert "R2" not in set(edited.routes["route_id"])
    assert not edited.trips["route_id"].eq("R2").any()
    assert not edited.stop_times["trip_id"].str.startswith("R2-").any()
    change = changes.modifications[0]
    assert (change.trips_added, change.trips_removed) == (0, 2)
    assert change.vehicle_hours == pytest.approx(-2 * 20 / 60)
    assert change.cost_per_day_gbp == pytest.approx(-40.0)
    # R2 runs on weekdays only (service WK): five days, GBP 200 a week saved.
    assert change.days_per_week == 5 and change.cost_per_week_gbp == pytest.approx(-200.0)
    per_trip_m = haversine_m(-2.01, 50.72, -2.01, 50.71) + haversine_m(-2.01, 50.71, -2.0, 50.70)
    assert change.vehicle_km == pytest.approx(-2 * per_trip_m / 1000)


def test_remove_trips_by_id_and_by_period(feed):
    edited, changes = apply(
        feed,
        {"type": "remove_trips", "trip_ids": ["R1-0-0700"]},
        {"type": "remove_trips", "routes": ["1"], "from": "08:00", "to": "09:00"},
        {"type": "remove_trips", "routes": ["1"], "from": "09:30"},
    )
    by_id, by_period, saturday = changes.modifications
    assert by_id.removed_trip_ids == ["R1-0-0700"]
    assert set(by_period.removed_trip_ids) == {
        "R1-0-0800", "R1-0-0815", "R1-0-0830", "R1-1-0815", "R1-1-0845"
    }
    # The Saturday trip is removed but costs nothing on the (Monday) service date.
    assert saturday.removed_trip_ids == ["R1-0-SA-1000"]
    assert saturday.vehicle_hours == 0.0
    assert departures(edited, "R1", 0) == ["07:30:00", "09:00:00"]


# --------------------------------------------------------------------------- change_speed


def test_change_speed_scales_running_times_and_keeps_dwell(feed):
    edited, changes = apply(
        feed,
        {"type": "change_speed", "routes": ["1"], "factor": 0.5},
        {"type": "change_speed", "routes": ["2"], "factor": 0.5},
    )
    assert times(edited, "R1-0-0700") == [
        ("STA", "07:00:00", "07:00:00"), ("STB", "07:02:30", "07:03:30"),
        ("STC", "07:06:30", "07:06:30"),
    ]
    assert times(edited, "R1-0-0815") == [
        ("STA", "08:15:00", "08:15:00"), ("STC", "08:20:00", "08:20:00")
    ]
    assert times(edited, "R2-0-0710") == [
        ("STD", "07:10:00", "07:10:00"), ("STE", "", ""), ("STA", "07:20:00", "07:20:00")
    ]
    speed1, speed2 = changes.modifications
    assert speed1.trips_changed == 11  # every trip of route 1, the Saturday one too
    # On Monday: nine A-B-C trips 12 -> 6.5 min, one A-C 10 -> 5 min.
    assert speed1.vehicle_hours == pytest.approx(-(9 * 5.5 + 5) / 60)
    assert speed1.vehicle_km == pytest.approx(0.0)
    assert speed2.vehicle_hours == pytest.approx(-2 * 10 / 60)


def test_frequency_trips_are_expanded_before_editing(feed):
    edited, changes = apply(feed, {"type": "change_speed", "routes": ["3"], "factor": 2})
    assert not edited.frequencies["trip_id"].eq("R3-freq").any()
    assert sorted(edited.trips.loc[edited.trips["route_id"] == "R3", "trip_id"]) == [
        "R3-freq@06:00:00", "R3-freq@06:20:00", "R3-freq@06:40:00"
    ]
    assert times(edited, "R3-freq@06:20:00") == [
        ("STA", "06:20:00", "06:20:00"), ("STD", "06:34:00", "06:34:00")
    ]
    assert changes.modifications[0].trips_changed == 3
    assert changes.modifications[0].vehicle_hours == pytest.approx(3 * 7 / 60)


# --------------------------------------------------------------------------- add_route


def test_add_route_with_given_running_times(feed, naptan):
    edited, changes = apply(
        feed,
        {"type": "add_route", "short_name": "X9", "operator": "Village Bus",
         "stops": [{"atco": "1200DOB00001"}, {"atco": "STB"},
                   {"name": "Field Gate", "lon": -2.0, "lat": 50.73}],
         "first_departure": "07:00", "last_departure": "08:00", "headway_min": 30,
         "running_times_min": [4, 6.5]},
        stops=naptan,
    )
    route = edited.routes[edited.routes["route_id"] == "s:X9"].iloc[0]
    assert route["route_short_name"] == "X9"
    assert route["agency_id"] == "s:Village_Bus"
    assert "s:Village_Bus" in set(edited.agency["agency_id"])
    new_stops = edited.stops[edited.stops["stop_id"].str.startswith("s:")]
    assert sorted(new_stops["stop_id"]) == ["s:1200DOB00001", "s:Field_Gate"]
    trips = edited.trips[edited.trips["route_id"] == "s:X9"]
    assert sorted(trips["trip_id"]) == sorted(
        f"s:X9:d{d}:{t}:00" for d in (0, 1) for t in ("07:00", "07:30", "08:00")
    )
    assert times(edited, "s:X9:d0:07:30:00") == [
        ("s:1200DOB00001", "07:30:00", "07:30:00"), ("STB", "07:34:00", "07:34:00"),
        ("s:Field_Gate", "07:40:30", "07:40:30"),
    ]
    assert times(edited, "s:X9:d1:07:30:00") == [
        ("s:Field_Gate", "07:30:00", "07:30:00"), ("STB", "07:36:30", "07:36:30"),
        ("s:1200DOB00001", "07:40:30", "07:40:30"),
    ]
    assert service_ids_on(edited, DATE) >= {"s:X9:mon-tue-wed-thu-fri"}
    assert "s:X9:mon-tue-wed-thu-fri" not in service_ids_on(edited, dt.date(2025, 6, 7))

    change = changes.modifications[0]
    assert (change.trips_added, change.trips_removed, change.days_per_week) == (6, 0, 5)
    assert change.vehicle_hours == pytest.approx(6 * 630 / 3600)
    assert change.cost_per_day_gbp == pytest.approx(63.0)
    assert change.cost_per_week_gbp == pytest.approx(315.0)
    assert change.vehicle_km == pytest.approx(6 * 4 * STEP_M / 1000)
    frame = changes.to_frame()
    assert frame.loc[0, "cost_per_week_gbp"] == 315.0


def test_add_route_dwell_and_explicit_departures(feed):
    edited, _ = apply(
        feed,
        {"type": "add_route", "short_name": "X1", "stops": [{"atco": "STA"}, {"atco": "STB"},
                                                             {"atco": "STC"}],
         "departures": ["07:05", "07:50"], "running_times_min": [4, 6], "dwell_s": 60,
         "both_directions": False, "operator": "Synthetic Buses"},
    )
    assert sorted(edited.trips.loc[edited.trips["route_id"] == "s:X1", "trip_id"]) == [
        "s:X1:d0:07:05:00", "s:X1:d0:07:50:00"
    ]
    assert times(edited, "s:X1:d0:07:50:00") == [
        ("STA", "07:50:00", "07:50:00"), ("STB", "07:54:00", "07:55:00"),
        ("STC", "08:01:00", "08:01:00"),
    ]
    # An operator already in the feed is reused.
    assert edited.routes.loc[edited.routes["route_id"] == "s:X1", "agency_id"].iloc[0] == "OP"


def test_add_route_running_times_from_straight_line_car_times(feed):
    edited, changes = apply(
        feed,
        {"type": "add_route", "short_name": "S", "stops": [{"atco": "STA"}, {"atco": "STB"},
                                                            {"atco": "STC"}],
         "days": ["sat"], "departures": ["10:00"], "both_directions": False},
    )
    # Car time: haversine x 1.3 at 40 km/h, whole seconds (130 s); bus: x 1.2 -> 156 s;
    # dwell 30 s at B by default.
    car_s = round(STEP_M * 1.3 / (40 / 3.6))
    assert car_s == 130
    assert times(edited, "s:S:d0:10:00:00") == [
        ("STA", "10:00:00", "10:00:00"), ("STB", "10:02:36", "10:03:06"),
        ("STC", "10:05:42", "10:05:42"),
    ]
    change = changes.modifications[0]
    assert change.days_per_week == 1
    assert "does not run on the service date" in change.note
    assert change.vehicle_hours == pytest.approx(342 / 3600)


def test_add_route_running_times_from_car_times_on_streets(feed, fixtures):
    from tests.test_streets import MPH, _lonlat, _metres
    from transport_access.network.streets import build_street_network

    streets = build_street_network(fixtures / "tiny_streets.osm", cache=False)
    stops = [{"name": f"Node {n}", "lon": _lonlat(n)[0], "lat": _lonlat(n)[1]} for n in (1, 3, 4)]
    edited, _ = apply(
        feed,
        {"type": "add_route", "short_name": "T", "stops": stops, "days": ["mon"],
         "departures": ["10:00"], "both_directions": True},
        streets=streets,
    )

    def car_s(*legs: tuple[int, int, float]) -> float:
        # Whole seconds of car time on the graph, then x 1.2 for the bus, whole seconds.
        return float(np.rint(np.rint(sum(_metres(a, b) / (mph * MPH / 3.6)
                                         for a, b, mph in legs)) * 1.2))

    # Out 1 -> 3 -> 4 by 1-2-3 (30 mph) and the one-way 3 -> 4 (20 mph); back 4 -> 3 must go
    # round by 5 and the national-limit tertiary 5 -> 2; dwell 30 s at the middle stop.
    out = [car_s((1, 2, 30), (2, 3, 30)), car_s((3, 4, 20))]
    back = [car_s((4, 5, 20), (5, 2, 60), (2, 3, 30)), car_s((3, 2, 30), (2, 1, 30))]
    trips = edited.trips[edited.trips["route_id"].astype(str).str.contains("T")]
    for direction, runs in ((0, out), (1, back)):
        trip_id = trips.loc[trips["direction_id"] == direction, "trip_id"].iloc[0]
        rows = edited.stop_times[edited.stop_times["trip_id"] == trip_id]
        seconds = [sum(int(p) * f for p, f in zip(t.split(":"), (3600, 60, 1), strict=True))
                   for t in rows["arrival_time"]]
        start = 10 * 3600
        assert seconds == [start, start + runs[0], start + runs[0] + 30 + runs[1]]
    assert back[0] > out[1]  # the one-way shows


def test_baseline_feed_is_never_modified(feed, naptan):
    before = {t: getattr(feed, t).copy() for t in ("routes", "trips", "stop_times", "stops",
                                                    "calendar", "frequencies", "agency")}
    apply(
        feed,
        {"type": "remove_route", "routes": ["2"]},
        {"type": "change_speed", "routes": ["1", "3"], "factor": 0.8},
        {"type": "change_frequency", "routes": ["1"], "from": "07:00", "to": "09:00",
         "headway_min": 10},
        {"type": "add_route", "short_name": "X9", "stops": [{"atco": "1200DOB00001"},
                                                             {"atco": "STC"}],
         "first_departure": "07:00", "last_departure": "08:00", "headway_min": 30},
        stops=naptan,
    )
    for table, frame in before.items():
        pd.testing.assert_frame_equal(getattr(feed, table), frame)


def test_edited_feed_builds_a_routing_timetable(feed, naptan):
    timetable = pytest.importorskip("transport_access.network.timetable")
    edited, _ = apply(
        feed,
        {"type": "add_route", "short_name": "X9", "stops": [{"atco": "1200DOB00001"},
                                                             {"atco": "STC"}],
         "first_departure": "07:00", "last_departure": "08:00", "headway_min": 30},
        {"type": "remove_route", "routes": ["2"]},
        stops=naptan,
    )
    built = timetable.build_timetable(edited, DATE, cache=False)
    ids = set(built.trip_ids)
    assert {f"s:X9:d{d}:{t}:00" for d in (0, 1) for t in ("07:00", "07:30", "08:00")} <= ids
    assert not any(str(t).startswith("R2-") for t in ids)
    assert "s:1200DOB00001" in set(built.stop_ids)


# --------------------------------------------------------------------------- bad scenarios


@pytest.mark.parametrize(
    ("modification", "message"),
    [
        ({"type": "remove_route", "routes": ["1"], "colour": "red"},
         r"modifications\[0\] \(remove_route\)\.colour: unknown key"),
        ({"type": "withdraw", "routes": ["1"]}, r"modifications\[0\] \(withdraw\): unknown type"),
        ({"type": "change_frequency", "routes": ["1"], "from": "07:00", "to": "08:00",
          "headway_min": 0},
         r"modifications\[0\] \(change_frequency\)\.headway_min: Input should be greater than 0"),
        ({"type": "change_frequency", "routes": ["1"], "from": "09:00", "to": "08:00",
          "headway_min": 10}, r"from 09:00 must be before to 08:00"),
        ({"type": "add_route", "short_name": "X", "stops": [{"atco": "A"}, {"atco": "B"}],
          "first_departure": "09:00", "last_departure": "07:00", "headway_min": -5},
         r"\(add_route\)\.headway_min: Input should be greater than 0"),
        ({"type": "add_route", "short_name": "X", "stops": [{"atco": "A"}, {"atco": "B"}],
          "first_departure": "09:00", "last_departure": "07:00", "headway_min": 5},
         r"\(add_route\): first_departure 09:00 is after last_departure 07:00"),
        ({"type": "add_route", "short_name": "X", "stops": [{"atco": "A"}, {"atco": "B"}],
          "departures": ["07:00"], "running_times_min": [3, 4]},
         r"running_times_min has 2 values; 2 stops need 1"),
        ({"type": "add_route", "short_name": "X", "stops": [{"atco": "A"}, {"lon": 1, "lat": 2}],
          "departures": ["07:00"]}, r"stops\.1: .*needs a name"),
        ({"type": "change_speed", "routes": ["1"]},
         r"\(change_speed\)\.factor: required key is missing"),
        ({"type": "add_drt_zone", "name": "z", "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]]},
         r"\(add_drt_zone\): polygon is not closed"),
        ({"type": "add_drt_zone", "name": "z",
          "polygon": [[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]},
         r"polygon is not a valid area: Self-intersection"),
        ({"type": "add_drt_zone", "name": "z", "polygon": [[0, 0], [1, 1], [0, 0]]},
         r"polygon has 3 points"),
        ({"type": "add_drt_zone", "name": "z", "polygon": [[0, 0], [1, 0], [1, 1], [0, 0]],
          "start": "19:00", "end": "07:00"}, r"end 07:00 must be after start 19:00"),
    ],
)
def test_invalid_scenarios_are_named_precisely(modification, message):
    with pytest.raises(ScenarioError, match=message):
        scenario_from_dict({"name": "bad", "modifications": [modification]}, source="bad.yaml")


def test_scenario_file_errors_name_the_file(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text(
        "name: typo\nmodifications:\n  - type: remove_route\n    route: [1]\n", encoding="utf-8"
    )
    with pytest.raises(ScenarioError) as error:
        load_scenario(path)
    text = str(error.value)
    assert str(path) in text
    assert "modifications[0] (remove_route).route: unknown key" in text
    assert "modifications[0] (remove_route).routes: required key is missing" in text

    path.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_scenario(path)
    with pytest.raises(MissingFileError):
        load_scenario(tmp_path / "nothing.yaml")
    path.write_text(
        "name: z\nmodifications:\n  - {type: add_drt_zone, name: z, geojson: nowhere.geojson}\n",
        encoding="utf-8",
    )
    with pytest.raises(MissingFileError, match=r"modifications\[0\] \(add_drt_zone\)\.geojson"):
        load_scenario(path)


def test_unknown_route_trip_and_atco_code_are_named(feed, naptan):
    with pytest.raises(ScenarioError) as error:
        apply(feed, {"type": "change_speed", "routes": ["1"], "factor": 0.9},
              {"type": "remove_route", "routes": ["99"]})
    assert "modifications[1] (remove_route).routes: unknown route '99'" in str(error.value)
    assert "Short names in the feed: 1, 2, 3" in str(error.value)

    with pytest.raises(ScenarioError, match=r"\(remove_trips\)\.trip_ids: unknown trip 'nope'"):
        apply(feed, {"type": "remove_trips", "trip_ids": ["nope"]})

    with pytest.raises(ScenarioError, match=r"\(add_route\)\.stops\[1\]: unknown ATCO code "
                                            r"'1200NOPE'"):
        apply(feed, {"type": "add_route", "short_name": "X",
                     "stops": [{"atco": "STA"}, {"atco": "1200NOPE"}], "departures": ["07:00"]},
              stops=naptan)
    with pytest.raises(ScenarioError, match=r"\(add_drt_zone\)\.hubs\[0\]: unknown ATCO code"):
        apply(feed, {"type": "add_drt_zone", "name": "z", "hubs": ["1200NOPE"],
                     "polygon": [[0, 0], [1, 0], [1, 1], [0, 0]]}, stops=naptan)


# --------------------------------------------------------------------------- Dorset examples


@pytest.fixture(scope="module")
def dorset(shared_data):
    from transport_access.config import load_study
    from transport_access.study_data import load_study_data

    root = Path(__file__).resolve().parents[1]
    return load_study_data(load_study(root / "configs" / "dorset.yaml", data_root=shared_data))


def _dorset_scenario(dorset, name):
    root = Path(__file__).resolve().parents[1]
    scenario = load_scenario(root / "configs" / "scenarios" / f"{name}.yaml")
    return apply_scenario(
        dorset.feed, scenario, stops=dorset.stops, service_date=dorset.service_date,
        cost_per_vehicle_hour_gbp=dorset.study.cost_per_vehicle_hour_gbp,
    )


def test_dorset_new_portland_weymouth_dorchester_link(dorset):
    edited, changes = _dorset_scenario(dorset, "portland_weymouth_dorchester")
    change = changes.modifications[0]
    # 07:00 to 19:00 every 30 min is 25 departures each way.
    assert (change.trips_added, change.trips_removed, change.days_per_week) == (50, 0, 5)
    # Seven real NaPTAN stops, all active (kept by load_naptan), new in the 2014 BCP feed.
    new_stops = edited.stops[edited.stops["stop_id"].str.startswith("portland_link:")]
    assert len(new_stops) == 7
    assert set(new_stops["stop_id"].str.split(":").str[1]) <= set(dorset.stops["atco_code"])
    # About 19 km a trip (stop-to-stop straight lines), just under an hour on the road.
    assert change.vehicle_km / 50 == pytest.approx(19.97, abs=0.05)
    assert 45 < change.vehicle_hours * 60 / 50 < 60
    assert change.cost_per_day_gbp == pytest.approx(change.vehicle_hours * 60)
    assert len(edited.trips) == len(dorset.feed.trips) + 50


def test_dorset_withdrawal_of_route_24(dorset):
    edited, changes = _dorset_scenario(dorset, "withdraw_route_24")
    change = changes.modifications[0]
    assert change.trips_removed == 24
    assert not edited.routes["route_short_name"].eq("24").any()
    assert change.vehicle_hours == pytest.approx(-34.606, abs=0.001)
    assert change.cost_per_day_gbp == pytest.approx(-2076.4, abs=0.1)
    # The TNDS feed is aligned to the routing day: its other days are not in the timetable.
    assert change.days_per_week is None and change.cost_per_week_gbp is None
    assert "weekly cost not estimated" in change.note


def test_dorset_drt_zone(dorset):
    from transport_access.scenarios.drt import drt_links

    edited, changes = _dorset_scenario(dorset, "west_dorset_drt")
    assert len(edited.trips) == len(dorset.feed.trips)
    (zone,) = changes.drt_zones
    assert zone.hub_atco == ("1200DOB20266", "1200DOZ04776")
    assert zone.hub_stop_ids == (None, None)  # no bus at Bridport or Dorchester offline
    change = changes.modifications[0]
    assert change.vehicle_hours == 24.0
    assert change.cost_per_day_gbp == 1440.0
    assert change.cost_per_week_gbp == 7200.0
    # Bridport's bus station has no service offline; Dorchester South has its trains.
    assert "hub 1200DOB20266" in change.note and "1200DOZ04776" not in change.note
    links = drt_links(zone, origins=dorset.lsoas, destinations=dorset.schools,
                      stops=edited.stops)
    inside = zone.contains(dorset.lsoas.geometry.x, dorset.lsoas.geometry.y)
    assert inside.sum() == 5
    assert links.door_to_door.n_links == inside.sum() * 7
    assert np.all(links.door_to_door.seconds >= 20 * 60)
    # Dorchester South railway station lies within 250 m of the Dorchester hub bus stop, so
    # each of the 5 neighbourhoods in the zone can be driven there to change to a train.
    hubs = set(links.access.indices)
    assert [edited.stops["stop_id"].iloc[h] for h in hubs] == ["rail:DRCHS"]
    assert links.access.n_links == inside.sum()


def test_dorset_study_scenarios_applied_together(dorset):
    import dataclasses

    from transport_access.scenarios.edits import apply_study_scenarios

    files = ["scenarios/portland_weymouth_dorchester.yaml", "scenarios/west_dorset_drt.yaml",
             "scenarios/withdraw_route_24.yaml"]
    study = dorset.study.model_copy(update={"scenarios": files})
    results = apply_study_scenarios(dataclasses.replace(dorset, study=study))
    assert list(results) == ["portland_link", "west_dorset_drt", "withdraw_24"]
    costs = {name: changes.cost_per_day_gbp for name, (_, changes) in results.items()}
    assert costs["west_dorset_drt"] == 1440.0
    assert costs["withdraw_24"] == pytest.approx(-2076.4, abs=0.1)
    assert costs["portland_link"] > 0

    twice = dorset.study.model_copy(update={"scenarios": [files[2], files[2]]})
    with pytest.raises(ScenarioError, match="already the name of another scenario"):
        apply_study_scenarios(dataclasses.replace(dorset, study=twice))


def test_change_hours_past_midnight_writes_gtfs_hours_over_24(feed):
    edited, changes = apply(
        feed, {"type": "change_hours", "routes": ["2"], "last_departure": "25:10"}
    )
    # Route 2 runs hourly (07:10, 08:10): 17 more trips, 09:10 to 25:10.
    assert departures(edited, "R2", 0)[-1] == "25:10:00"
    assert len(departures(edited, "R2", 0)) == 19
    assert times(edited, "s:0:R2-0-0810@25:10:00")[-1] == ("STA", "25:30:00", "25:30:00")
    assert changes.modifications[0].vehicle_hours == pytest.approx(17 * 20 / 60)


def test_change_speed_keeps_departure_after_a_dwell_at_the_first_stop(feed):
    dwelling = feed.copy()
    first = (dwelling.stop_times["trip_id"] == "R1-0-0700") & (
        dwelling.stop_times["stop_sequence"] == 1
    )
    dwelling.stop_times.loc[first, "arrival_time"] = "06:58:00"
    edited, _ = apply(dwelling, {"type": "change_speed", "routes": ["1"], "factor": 2})
    assert times(edited, "R1-0-0700") == [
        ("STA", "06:58:00", "07:00:00"), ("STB", "07:10:00", "07:11:00"),
        ("STC", "07:23:00", "07:23:00"),
    ]


def test_unquoted_yaml_times_are_read_as_written(tmp_path):
    path = tmp_path / "unquoted.yaml"
    path.write_text(
        "name: u\nmodifications:\n  - type: change_frequency\n    routes: ['1']\n"
        "    from: 07:00\n    to: 19:00\n    headway_min: 15\n"
        "  - {type: change_hours, routes: ['1'], last_departure: 25:10}\n",
        encoding="utf-8",
    )
    frequency, hours = load_scenario(path).modifications
    assert (frequency.start, frequency.end) == ("07:00", "19:00")
    assert hours.last_departure == "25:10"
