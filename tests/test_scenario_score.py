"""Scenario scoring: hand-made access tables, a synthetic study routed end to end, and Dorset."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from tests.test_routing_api import A, B, write_line_feed
from transport_access.access.run import AccessResult
from transport_access.errors import InvalidValueError, MissingColumnError
from transport_access.routing.straight_line import haversine_m
from transport_access.scenarios import score as sc
from transport_access.scenarios.costs import ModificationChange, ScenarioChanges

DAY = dt.date(2024, 3, 4)  # a Monday
PARAMETERS = {
    "service_date": str(DAY), "modes": ["transit"], "walk_only_max_min": 120.0,
    "street_model": "straight lines", "routing": {"max_time_min": 120.0},
    "departure_window": {"name": "am", "percentiles": [50]},
    "destinations": {"secondary": {"thresholds_min": [30.0, 60.0]}},
}
# Four LSOAs: two in the most deprived quintile (deciles 1 and 2), two in the least.
LSOAS = pd.DataFrame({"lsoa_code": ["L1", "L2", "L3", "L4"],
                      "population": [100.0, 200.0, 300.0, 400.0],
                      "imd_decile": [1, 2, 9, 10], "imd_quintile": [1, 1, 5, 5]})
BASELINE_MIN = [np.nan, 70.0, 20.0, 40.0]


def _result(nearest_min: list[float], parameters: dict | None = None) -> AccessResult:
    long = pd.DataFrame({"lsoa_code": LSOAS["lsoa_code"], "destination": "secondary",
                         "mode": "transit", "measure": "nearest_p50_min",
                         "value": nearest_min})
    walk = long.assign(mode="walk", value=99.0)  # not scored: walking has no timetable
    return AccessResult(long=pd.concat([long, walk], ignore_index=True), wide=pd.DataFrame(),
                        lsoas=LSOAS, parameters=parameters or PARAMETERS)


def _changes(name: str, cost_per_day_gbp: float, *, trips_added: int = 0,
             trips_removed: int = 0) -> ScenarioChanges:
    mod = ModificationChange(index=0, type="test", what=name, trips_added=trips_added,
                             trips_removed=trips_removed, vehicle_hours=cost_per_day_gbp / 60,
                             vehicle_km=cost_per_day_gbp / 5, cost_per_day_gbp=cost_per_day_gbp)
    return ScenarioChanges(name, DAY, 60.0, modifications=[mod])


def _score(name: str, scenario_min: list[float], cost: float) -> sc.ScenarioScore:
    return sc.score_scenario(_result(BASELINE_MIN), _result(scenario_min),
                             _changes(name, cost, trips_added=10), LSOAS)


# ------------------------------------------------------------------------------ by hand


def test_gains_losses_means_and_gap_by_hand() -> None:
    # L1 newly reaches a school (unreachable -> 50 min), L2 70 -> 25, L4 40 -> 65.
    score = _score("mixed", [50.0, 25.0, 20.0, 65.0], 1500.0)
    row = score.destinations.set_index("destination").loc["secondary"]
    # Unreachable counts as 120 min: (100x120 + 200x70 + 300x20 + 400x40) / 1000 = 48.
    assert row["mean_baseline_min"] == pytest.approx(48.0)
    assert row["mean_scenario_min"] == pytest.approx(42.0)
    assert row["mean_change_min"] == pytest.approx(-6.0)
    assert (row["unreachable_baseline"], row["unreachable_scenario"]) == (100.0, 0.0)
    # Gap Q1 - Q5: (26000/300 - 22000/700) before, (10000/300 - 32000/700) after.
    assert row["gap_baseline_min"] == pytest.approx(26000 / 300 - 22000 / 700)
    assert row["gap_change_min"] == pytest.approx((10000 / 300 - 32000 / 700)
                                                  - (26000 / 300 - 22000 / 700))
    assert row["main_threshold_min"] == 60.0
    assert (row["residents_gaining"], row["residents_losing"]) == (300.0, 400.0)

    decile = score.by_decile.set_index(["threshold_min", "imd_decile"])
    assert decile.loc[(60.0, 1), "residents_gaining"] == 100.0
    assert decile.loc[(60.0, 2), "residents_gaining"] == 200.0
    assert decile.loc[(60.0, 10), "residents_losing"] == 400.0
    assert decile.loc[(60.0, 10), "net_change"] == -400.0
    # Within 30 minutes only L2 changes (70 -> 25); L4 was never within 30.
    assert decile.loc[30.0, "residents_gaining"].sum() == 200.0
    assert decile.loc[30.0, "residents_losing"].sum() == 0.0
    assert decile.loc[(30.0, 9), "with_access_baseline"] == 300.0
    # Within max_time_min (120): only L1 changes, from no school at all to one.
    assert decile.loc[120.0, "residents_gaining"].sum() == 100.0

    s = score.summary
    assert (s["residents_gaining"], s["residents_losing"], s["net_residents_gaining"]) == \
        (300.0, 400.0, -100.0)
    assert (s["deciles_1_2_gaining"], s["net_deciles_1_2_gaining"]) == (300.0, 300.0)
    # It costs money and nobody gains on balance: infinite cost per resident gaining.
    assert s["cost_per_resident_gaining_gbp_day"] == math.inf
    assert s["deciles_1_2_net_gain_per_1000_gbp_day"] == pytest.approx(200.0)
    assert s["rank_group"] == "costs" and s["trips_added"] == 10


def test_lsoa_changes_for_maps() -> None:
    score = _score("mixed", [50.0, 25.0, 20.0, 65.0], 1500.0)
    table = score.lsoa_changes.set_index(["lsoa_code", "measure"])
    assert list(score.lsoa_changes.columns) == sc.LSOA_CHANGE_COLUMNS
    assert set(score.lsoa_changes["measure"]) == {"nearest_p50_min", "reached_within_30_min",
                                                  "reached_within_60_min",
                                                  "reached_within_120_min"}
    l1 = table.loc[("L1", "nearest_p50_min")]
    assert np.isnan(l1["baseline_value"]) and l1["scenario_value"] == 50.0
    assert np.isnan(l1["change"])  # newly reachable: the reached_within flags show it
    assert table.loc[("L1", "reached_within_60_min"), "change"] == 1.0
    assert table.loc[("L4", "reached_within_60_min"), "change"] == -1.0
    assert table.loc[("L2", "nearest_p50_min"), "change"] == -45.0
    assert (score.lsoa_changes["scenario"] == "mixed").all()


def test_cost_per_resident_rule() -> None:
    assert sc.cost_per_resident_gaining(500.0, 200.0) == 2.5
    assert sc.cost_per_resident_gaining(-100.0, 50.0) == -2.0  # gains while saving
    assert sc.cost_per_resident_gaining(500.0, 0.0) == math.inf
    assert math.isnan(sc.cost_per_resident_gaining(0.0, 0.0))
    assert math.isnan(sc.cost_per_resident_gaining(-300.0, -10.0))


def test_ranking_rule() -> None:
    scores = [
        _score("mixed", [50.0, 25.0, 20.0, 65.0], 1500.0),  # 300 of deciles 1-2 for 1,500
        _score("gain", [np.nan, 55.0, 20.0, 40.0], 500.0),  # 200 of deciles 1-2 for 500
        _score("cut", [np.nan, 70.0, 35.0, 40.0], -300.0),  # L3 loses 30 min, keeps 60
        _score("free", BASELINE_MIN, -100.0),  # saves money, nobody loses anything
        # L2, already beyond 60 min, now reaches no school at all: 200 of deciles 1-2 lose.
        _score("beyond", [np.nan, np.nan, 20.0, 40.0], -1000.0),
    ]
    ranking = sc.rank_scenarios(scores)
    # Group 3 by losses per GBP 1,000 saved, deciles 1-2 first: cut 0 / 0.3, beyond 200 / 1.
    assert ranking["scenario"].tolist() == ["free", "gain", "mixed", "cut", "beyond"]
    assert ranking["rank"].tolist() == [1, 2, 3, 4, 5]
    assert list(ranking.columns[:len(sc.SCORE_COLUMNS)]) == sc.SCORE_COLUMNS
    rows = ranking.set_index("scenario")
    assert rows.loc["gain", "cost_per_resident_gaining_gbp_day"] == 2.5
    assert rows.loc["gain", "deciles_1_2_net_gain_per_1000_gbp_day"] == pytest.approx(400.0)
    # Nobody loses access within the main threshold (60), but 300 lose it within 30.
    cut = rows.loc["cut"]
    assert cut["rank_group"] == "saves with losses" and cut["residents_losing"] == 0.0
    assert cut["residents_losing_any_threshold"] == 300.0
    assert cut["loss_per_1000_gbp_saved"] == pytest.approx(1000.0)
    assert rows.loc["free", "rank_group"] == "no extra cost"
    beyond = rows.loc["beyond"]
    assert beyond["rank_group"] == "saves with losses" and beyond["residents_losing"] == 0.0
    assert beyond["deciles_1_2_losing_any_threshold"] == 200.0
    assert beyond["deciles_1_2_loss_per_1000_gbp_saved"] == pytest.approx(200.0)
    assert sc.rank_scenarios([]).columns.tolist() == sc.SCORE_COLUMNS


def test_runs_must_match_and_lsoas_need_imd() -> None:
    other = {**PARAMETERS, "departure_window": {"name": "am", "percentiles": [50],
                                                "minutes_used": 30}}
    with pytest.raises(InvalidValueError, match="departure_window"):
        sc.score_scenario(_result(BASELINE_MIN), _result(BASELINE_MIN, other),
                          _changes("x", 0.0), LSOAS)
    with pytest.raises(MissingColumnError, match="imd_quintile"):
        sc.score_scenario(_result(BASELINE_MIN), _result(BASELINE_MIN), _changes("x", 0.0),
                          LSOAS.drop(columns="imd_quintile"))
    # An all-modes baseline will do (only transit is scored); one without transit will not.
    all_modes = {**PARAMETERS, "modes": ["transit", "walk", "cycle", "car"]}
    sc.score_scenario(_result(BASELINE_MIN, all_modes), _result(BASELINE_MIN),
                      _changes("x", 0.0), LSOAS)
    with pytest.raises(InvalidValueError, match="no transit mode"):
        sc.score_scenario(_result(BASELINE_MIN, {**PARAMETERS, "modes": ["walk"]}),
                          _result(BASELINE_MIN), _changes("x", 0.0), LSOAS)
    short = _result(BASELINE_MIN)
    short.long = short.long[short.long["lsoa_code"] != "L3"]
    with pytest.raises(InvalidValueError, match="L3"):
        sc.score_scenario(_result(BASELINE_MIN), short, _changes("x", 0.0), LSOAS)


# ------------------------------------------------------------------------------ routed

# School at B. L1 at A: the baseline line A -> B (every 10 min, 5 min) takes 10 min (median
# of 15..6 over 07:00-07:09). L2 33 km north of B reaches nothing within 120 min. L3 5 km
# south of B walks (81 min).
D = (B[0], B[1] + 0.3)
E = (B[0], B[1] - 5000 / 111_320)
WALK_AB_MIN = round(haversine_m(A[0], A[1], B[0], B[1]) * 1.3 / (4.8 / 3.6)) / 60
WALK_EB_MIN = round(haversine_m(E[0], E[1], B[0], B[1]) * 1.3 / (4.8 / 3.6)) / 60
DRT_EB_MIN = (round(round(haversine_m(E[0], E[1], B[0], B[1]) * 1.3 / (40 / 3.6)) * 1.3)
              + 600) / 60
SCENARIOS = {
    "north_link.yaml": {  # 20-minute ride D -> B every 10 minutes 07:00-09:00
        "name": "north_link",
        "modifications": [{
            "type": "add_route", "short_name": "N1",
            "stops": [{"name": "North", "lon": D[0], "lat": D[1]},
                      {"name": "School", "lon": B[0], "lat": B[1]}],
            "first_departure": "07:00", "last_departure": "09:00", "headway_min": 10,
            "running_times_min": [20], "both_directions": False}],
    },
    "south_drt.yaml": {  # dial-a-ride around E and B (not A), 10 minutes' wait
        "name": "south_drt",
        "modifications": [{
            "type": "add_drt_zone", "name": "south",
            "polygon": [[B[0] - 0.01, E[1] - 0.01], [B[0] + 0.01, E[1] - 0.01],
                        [B[0] + 0.01, B[1] + 0.01], [B[0] - 0.01, B[1] + 0.01],
                        [B[0] - 0.01, E[1] - 0.01]],
            "start": "07:00", "end": "19:00", "wait_min": 10, "detour_factor": 1.3,
            "vehicles": 1}],
    },
    "drop_line.yaml": {"name": "drop_line",
                       "modifications": [{"type": "remove_route", "routes": ["L"]}]},
}


@pytest.fixture(scope="module")
def study_data(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    import geopandas as gpd
    import gtfs_kit
    import yaml
    from shapely.geometry import Point

    from transport_access.config import study_from_dict

    folder = tmp_path_factory.mktemp("study")
    for file, scenario in SCENARIOS.items():
        (folder / file).write_text(yaml.safe_dump(scenario))
    study = study_from_dict({
        "area": {"name": "Testshire", "local_authorities": ["E06000059"]},
        "data": {"lsoa": {"centroids": "none.csv"}, "imd": {"ranks": "none.csv"}},
        "departure_windows": [{"name": "am", "start": "07:00", "end": "07:10"}],
        # Walking all the way counts up to 120 minutes (as DfT JTS), not just max_walk_min.
        "routing": {"max_time_min": 120, "walk_only_max_min": 120},
        "destinations": {"secondary": {"source": "schools", "categories": ["secondary"],
                                       "thresholds_min": [15, 30]}},
        "scenarios": list(SCENARIOS),
        "cost_per_vehicle_hour_gbp": 60,
    }, data_root=folder)
    study.config_path = folder / "study.yaml"
    lsoas = gpd.GeoDataFrame(
        {"lsoa_code": ["L1", "L2", "L3"], "lsoa_name": ["At A", "North", "South"],
         "lad_code": "E06000059", "lad_name": "Testshire",
         "population": [1000.0, 500.0, 2000.0], "imd_rank": [100, 5000, 32000],
         "imd_decile": [1, 2, 10], "imd_quintile": [1, 1, 5]},
        geometry=[Point(A), Point(D), Point(E)], crs=4326)
    schools = gpd.GeoDataFrame({"urn": ["S"], "category": ["secondary"], "pupils": [900.0]},
                               geometry=[Point(B)], crs=4326)
    feed = gtfs_kit.read_feed(write_line_feed(folder / "line"), dist_units="km")
    # A second line far away (1 degree east) keeps a service running when L is withdrawn.
    far = feed.stops.assign(stop_id=["FA", "FB"], stop_lon=feed.stops["stop_lon"] + 1.0)
    feed.stops = pd.concat([feed.stops, far], ignore_index=True)
    feed.routes = pd.concat([feed.routes, feed.routes.assign(route_id="F", route_short_name="F")],
                            ignore_index=True)
    feed.trips = pd.concat([feed.trips, feed.trips.head(1).assign(route_id="F", trip_id="f0")],
                           ignore_index=True)
    first = feed.stop_times[feed.stop_times["trip_id"] == "t0"]
    feed.stop_times = pd.concat([feed.stop_times, first.assign(
        trip_id="f0", stop_id=first["stop_id"].map({"A": "FA", "B": "FB"}))], ignore_index=True)
    return SimpleNamespace(study=study, lsoas=lsoas, boundaries=None, schools=schools, gp=None,
                           jobs=None, stops=None, feed=feed, service_date=DAY)


@pytest.fixture(scope="module")
def routed(study_data: SimpleNamespace, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    from transport_access.scenarios.run import run_scenarios

    # Module-scoped, so the per-test cache isolation of conftest does not apply yet.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRANSPORT_ACCESS_CACHE", str(tmp_path_factory.mktemp("cache")))
        first = run_scenarios(study_data, return_journeys=False)
        second = run_scenarios(study_data, return_journeys=False)
    return first, second


def test_synthetic_scenarios_by_hand(routed: tuple) -> None:
    run, _ = routed
    table = run.by_destination.set_index("scenario")
    baseline = run.baseline.long.set_index(["lsoa_code", "measure"])["value"]
    assert baseline[("L1", "nearest_p50_min")] == 10.0
    assert np.isnan(baseline[("L2", "nearest_p50_min")])
    assert baseline[("L3", "nearest_p50_min")] == pytest.approx(WALK_EB_MIN)

    # New route: L2 waits 10..1 min for the 07:10 bus, then rides 20: median 25 min, so it
    # gains access within 30 (not 15) minutes; 13 trips x 20 min x GBP 60 = GBP 260 a day.
    north = run.scores["north_link"]
    assert north.lsoa_changes.set_index(["lsoa_code", "measure"]).loc[
        ("L2", "nearest_p50_min"), "scenario_value"] == 25.0
    decile = north.by_decile.set_index(["threshold_min", "imd_decile"])
    assert decile.loc[(30.0, 2), "residents_gaining"] == 500.0
    assert decile.loc[30.0, "residents_gaining"].sum() == 500.0
    assert decile.loc[15.0, "residents_gaining"].sum() == 0.0
    assert table.loc["north_link", "mean_change_min"] == pytest.approx(500 * (25 - 120) / 3500)
    assert table.loc["north_link", "gap_change_min"] == pytest.approx(500 * (25 - 120) / 1500)
    s = north.summary
    assert s["cost_per_day_gbp"] == pytest.approx(260.0) and s["trips_added"] == 13
    assert s["cost_per_resident_gaining_gbp_day"] == pytest.approx(260.0 / 500)

    # Withdrawal: L1 walks to school instead (32.5 min), losing 15 and 30 minutes; the
    # saving is 13 trips x 5 min x GBP 60 = GBP 65 a day.
    drop = run.scores["drop_line"].summary
    assert drop["cost_per_day_gbp"] == pytest.approx(-65.0) and drop["trips_removed"] == 13
    assert (drop["residents_losing"], drop["deciles_1_2_losing"]) == (1000.0, 1000.0)
    assert drop["net_residents_gaining"] == -1000.0
    assert drop["saving_per_resident_losing_gbp_day"] == pytest.approx(65.0 / 1000)
    assert table.loc["drop_line", "mean_change_min"] == pytest.approx(
        1000 * (WALK_AB_MIN - 10) / 3500)

    # Dial-a-ride: L3 is driven door to door (10 min wait + 1.3 x car time), within 30 min;
    # one vehicle for 12 hours at GBP 60 = GBP 720 a day.
    drt = run.scores["south_drt"]
    assert drt.lsoa_changes.set_index(["lsoa_code", "measure"]).loc[
        ("L3", "nearest_p50_min"), "scenario_value"] == pytest.approx(DRT_EB_MIN)
    assert drt.summary["residents_gaining"] == 2000.0
    assert drt.summary["deciles_1_2_gaining"] == 0.0
    assert drt.summary["cost_per_day_gbp"] == pytest.approx(720.0)
    assert drt.summary["cost_per_resident_gaining_gbp_day"] == pytest.approx(0.36)
    # Only Q5 gets faster, so the Q1 - Q5 gap widens by what L3 saves.
    assert table.loc["south_drt", "gap_change_min"] == pytest.approx(WALK_EB_MIN
                                                                     - DRT_EB_MIN)
    # Ranked: deciles 1-2 per GBP 1,000 (north 500/0.26; DRT none), the cut last.
    assert run.ranking["scenario"].tolist() == ["north_link", "south_drt", "drop_line"]


def test_baseline_is_cached_and_outputs_written(routed: tuple, tmp_path: Path) -> None:
    from transport_access.scenarios.run import OUTPUT_FILES, write_scenario_outputs

    first, second = routed
    assert not first.baseline_from_cache and second.baseline_from_cache
    assert second.timings_s["baseline"] == 0.0
    pd.testing.assert_frame_equal(first.ranking, second.ranking)
    pd.testing.assert_frame_equal(first.lsoa_changes, second.lsoa_changes)

    written = write_scenario_outputs(first, tmp_path)
    assert {p.name for p in written.values()} == set(OUTPUT_FILES.values())
    scores = pd.read_csv(written["scores"])
    assert scores["scenario"].tolist() == ["north_link", "south_drt", "drop_line"]
    changes = pd.read_csv(written["changes"])
    assert changes.set_index("scenario").loc["drop_line", "trips_removed"] == 13
    lsoa = pd.read_parquet(written["lsoa_parquet"])
    assert len(lsoa) == len(first.lsoa_changes) and set(lsoa["scenario"]) == set(SCENARIOS_N)
    csv = pd.read_csv(written["lsoa_csv"])
    assert {"lsoa_name", "imd_decile", "baseline_value", "change"} <= set(csv.columns)
    meta = json.loads(written["metadata"].read_text())
    assert "Ranking rule" in meta["definitions_and_ranking_rule"]


def test_run_access_routes_the_study_modes(study_data: SimpleNamespace) -> None:
    from transport_access.access.run import run_access

    only_walk = SimpleNamespace(**{**vars(study_data),
                                   "study": study_data.study.model_copy(deep=True)})
    only_walk.study.modes.include = ["walk", "car"]
    result = run_access(only_walk, return_journeys=False)
    assert set(result.long["mode"]) == {"walk", "car"}
    assert set(run_access(only_walk, modes=["walk"], return_journeys=False).long["mode"]) == {
        "walk"}


SCENARIOS_N = {"north_link", "south_drt", "drop_line"}


# ------------------------------------------------------------------------------ Dorset


@pytest.mark.slow
@pytest.mark.shared_data
def test_dorset_scenarios(shared_data: Path, tmp_path: Path) -> None:
    from transport_access.config import load_study
    from transport_access.scenarios.run import run_scenarios, write_scenario_outputs
    from transport_access.study_data import load_study_data

    study = load_study(Path(__file__).resolve().parents[1] / "configs" / "dorset.yaml",
                       data_root=shared_data)
    data = load_study_data(study)
    run = run_scenarios(data)  # the whole 07:00-10:00 window, with return journeys
    rows = run.ranking.set_index("scenario")
    assert run.ranking["scenario"].tolist() == ["portland_link", "west_dorset_drt",
                                                "withdraw_24"]
    names = data.lsoas.set_index("lsoa_code")["lsoa_name"]

    def gaining(scenario: str, destination: str, t: int = 60) -> list[str]:
        table = run.scores[scenario].lsoa_changes
        hit = table[(table["destination"] == destination)
                    & (table["measure"] == f"reached_within_{t}_min") & (table["change"] == 1)]
        return sorted(names[hit["lsoa_code"]])

    # P1 every 30 minutes both ways, 25 trips each way: 42.7 vehicle-hours, GBP 2,560 a day.
    # Walking all the way counts up to max_walk_min (20) only. The link brings ten
    # Weymouth, Portland and Upwey (West Dorset 010D) LSOAs within 60 minutes of a post-16
    # college (none is reachable there today), two within 60 of a secondary school and one
    # (001C) within 60 of a GP.
    portland = rows.loc["portland_link"]
    assert portland["trips_added"] == 50 and portland["cost_per_day_gbp"] == pytest.approx(2560)
    assert gaining("portland_link", "post16") == [
        "West Dorset 010D", "Weymouth and Portland 001C", "Weymouth and Portland 001D",
        "Weymouth and Portland 004B", "Weymouth and Portland 006C", "Weymouth and Portland 007A",
        "Weymouth and Portland 007B", "Weymouth and Portland 008D",
        "Weymouth and Portland 008E", "Weymouth and Portland 009A"]
    assert gaining("portland_link", "secondary") == ["Weymouth and Portland 001C",
                                                     "Weymouth and Portland 004B"]
    assert gaining("portland_link", "gp") == ["Weymouth and Portland 001C"]
    assert (portland["residents_gaining"], portland["deciles_1_2_gaining"]) == (16733, 5407)
    assert portland["cost_per_resident_gaining_gbp_day"] == pytest.approx(2560 / 16733)
    assert portland["gap_change_min"] < 0  # the most deprived gain most: the gap narrows

    # DRT: 2 minibuses x 12 hours = 24 vehicle-hours, GBP 1,440 a day. Its hubs have no bus
    # offline, so only door-to-door trips count: three Beaminster-area LSOAs reach the
    # town's GP and secondary school within 60 minutes; none is in deciles 1-2.
    drt = rows.loc["west_dorset_drt"]
    assert drt["cost_per_day_gbp"] == pytest.approx(1440) and drt["vehicle_hours_per_day"] == 24
    assert gaining("west_dorset_drt", "gp") == gaining("west_dorset_drt", "secondary") == [
        "West Dorset 003A", "West Dorset 003D", "West Dorset 007D"]
    assert (drt["residents_gaining"], drt["deciles_1_2_gaining"]) == (5179, 0)

    # Route 24 withdrawn: 24 trips, 34.6 vehicle-hours, a GBP 2,076 saving a day. Residents
    # of Bournemouth and Christchurch who now walk no farther than 20 minutes lose their
    # secondary school or GP within 60 minutes (29,193, 5,664 in deciles 1-2); 29 LSOAs no
    # longer reach any post-16 college within 120 minutes: last, "saves with losses".
    cut = rows.loc["withdraw_24"]
    assert cut["trips_removed"] == 24 and cut["cost_per_day_gbp"] == pytest.approx(-2076.37,
                                                                                  abs=0.01)
    assert cut["rank_group"] == "saves with losses"
    assert (cut["residents_losing"], cut["deciles_1_2_losing"]) == (29193, 5664)
    assert (cut["residents_losing_any_threshold"],
            cut["deciles_1_2_losing_any_threshold"]) == (53648, 9838)
    lost = run.scores["withdraw_24"].lsoa_changes
    lost = lost[(lost["measure"] == "reached_within_120_min") & (lost["change"] == -1)]
    assert lost.loc[lost["destination"] == "post16", "lsoa_code"].nunique() == 29
    assert {n.rsplit(" ", 1)[0] for n in names[lost["lsoa_code"]]} == {"Bournemouth",
                                                                      "Christchurch"}
    assert cut["mean_change_min"] > 0

    written = write_scenario_outputs(run, tmp_path)
    assert len(pd.read_parquet(written["lsoa_parquet"])) == len(run.lsoa_changes)
    assert pd.read_csv(written["scores"])["scenario"].tolist()[0] == "portland_link"
