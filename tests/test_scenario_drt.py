"""The DRT time model: exact links on a tiny case with the straight-line fallback.

Zone: the square lon -2.05..-1.95, lat 50.65..50.75. Every leg takes
round(car_s x detour) + wait, with car_s = round(haversine x 1.3 / (40 km/h)).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
from shapely.geometry import box

from transport_access.load.gtfs import read_gtfs
from transport_access.routing.straight_line import haversine_m
from transport_access.scenarios.drt import DrtZone, drt_links
from transport_access.scenarios.edits import apply_scenario
from transport_access.scenarios.model import load_scenario

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "scenarios"

ZONE = DrtZone(
    name="s:zone1",
    area=box(-2.05, 50.65, -1.95, 50.75),
    days=("mon", "tue", "wed", "thu", "fri"),
    start_s=7 * 3600,
    end_s=19 * 3600,
    wait_s=600,
    detour_factor=1.5,
    vehicles=3,
    hub_atco=("1200HUB1",),
    hub_stop_ids=("bus:1200HUB1",),
)

ORIGINS = pd.DataFrame({"id": ["in", "out"], "lon": [-2.00, -2.00], "lat": [50.70, 50.80]})
DESTINATIONS = pd.DataFrame({"id": ["d0", "d1", "far"], "lon": [-2.00, -2.01, -1.90],
                             "lat": [50.71, 50.70, 50.70]})
STOPS = pd.DataFrame({"stop_id": ["bus:1200HUB1", "bus:OTHER"], "stop_lon": [-2.00, -2.00],
                      "stop_lat": [50.72, 50.705]})


def leg_s(lon1, lat1, lon2, lat2, *, detour=1.5, wait=600):
    car = round(float(haversine_m(lon1, lat1, lon2, lat2)) * 1.3 / (40 / 3.6))
    return round(car * detour) + wait


def test_links_by_hand():
    links = drt_links(ZONE, origins=ORIGINS, destinations=DESTINATIONS, stops=STOPS)

    # 0.01 degree of latitude is 1,111.95 m: car 130 s, x 1.5 = 195 s, + 600 s wait.
    assert leg_s(-2.00, 50.70, -2.00, 50.71) == 795
    door = links.door_to_door.to_dense()
    assert door.shape == (2, 3)
    assert door[0, 0] == 795
    assert door[0, 1] == leg_s(-2.00, 50.70, -2.01, 50.70) == 723
    assert np.isnan(door[0, 2])  # destination outside the zone
    assert np.isnan(door[1]).all()  # origin outside the zone

    access = links.access.to_dense()
    assert access.shape == (2, 2)
    assert access[0, 0] == leg_s(-2.00, 50.70, -2.00, 50.72) == 990
    assert np.isnan(access[0, 1])  # not a hub
    assert np.isnan(access[1]).all()

    egress = links.egress.to_dense()
    assert egress.shape == (2, 3)
    assert egress[0, 0] == 795  # hub (50.72) to d0 (50.71)
    assert egress[0, 1] == leg_s(-2.00, 50.72, -2.01, 50.70)
    assert np.isnan(egress[0, 2]) and np.isnan(egress[1]).all()
    assert links.door_to_door.seconds.dtype == np.int32


def test_service_hours_days_and_cut_off():
    assert ZONE.available([25_199, 25_200, 68_399, 68_400]).tolist() == [False, True, True, False]
    assert ZONE.runs_on(dt.date(2025, 6, 2)) and not ZONE.runs_on(dt.date(2025, 6, 7))
    assert ZONE.vehicle_hours_per_day == 36.0
    links = drt_links(ZONE, origins=ORIGINS, destinations=DESTINATIONS, stops=STOPS,
                      max_seconds=780)
    door = links.door_to_door.to_dense()
    assert np.isnan(door[0, 0]) and door[0, 1] == 723
    assert links.access.n_links == 0
    assert (links.start_s, links.end_s) == (25_200, 68_400)
    assert links.available(np.array([30_000])).tolist() == [True]


def test_hubs_found_by_atco_suffix_and_timetable_like_stops():
    zone = DrtZone(
        name="z", area=ZONE.area, days=("mon",), start_s=0, end_s=3600, wait_s=0,
        detour_factor=1.0, vehicles=1, hub_atco=("1200HUB1",),
    )

    class TimetableLike:
        stop_ids = np.array(["bus:OTHER", "rail:1200HUB1"])
        stop_lon = np.array([-2.00, -2.00])
        stop_lat = np.array([50.705, 50.72])

    links = drt_links(zone, origins=(np.array([-2.0]), np.array([50.70])),
                      destinations=(np.array([-2.0]), np.array([50.71])), stops=TimetableLike())
    access = links.access.to_dense()
    assert np.isnan(access[0, 0])
    assert access[0, 1] == round(
        float(haversine_m(-2.0, 50.70, -2.0, 50.72)) * 1.3 / (40 / 3.6)
    )


def test_drt_zone_from_scenario_file_with_geojson():
    feed = read_gtfs(FIXTURES / "feed")
    scenario = load_scenario(FIXTURES / "drt_zone.yaml")
    edited, changes = apply_scenario(feed, scenario, service_date=dt.date(2025, 6, 2))
    assert len(edited.trips) == len(feed.trips)
    (zone,) = changes.drt_zones
    assert zone.name == "synth_drt:zone1"
    assert zone.hub_stop_ids == ("STC",)
    assert (zone.start_s, zone.end_s, zone.wait_s, zone.detour_factor, zone.vehicles) == (
        25_200, 68_400, 600, 1.5, 3
    )
    change = changes.modifications[0]
    assert (change.vehicle_hours, change.cost_per_day_gbp, change.days_per_week) == (
        36.0, 2160.0, 5
    )
    assert np.isnan(change.vehicle_km) and "vehicle-km not estimated" in change.note

    links = drt_links(zone, origins=ORIGINS, destinations=DESTINATIONS, stops=edited.stops)
    stop_ids = list(edited.stops["stop_id"])
    access = links.access.to_dense()
    assert access[0, stop_ids.index("STC")] == 990
    assert np.isnan(np.delete(access[0], stop_ids.index("STC"))).all()
