"""The public routing API and the `matrix` command, on a hand-made feed with known answers."""

from __future__ import annotations

import json

import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import PROJECT_ROOT
from transport_access.errors import (
    InvalidValueError,
    NoIDColumnError,
    NonUniqueIDError,
    NoServiceError,
)
from transport_access.routing import api
from transport_access.routing.straight_line import haversine_m

# Two stops 2 km apart on one east-west line: walking between them (2 km x 1.3 at 4.8 km/h
# = 32.5 min) is beyond the 20-minute walk limit, so every trip must ride.
A = (-2.4400, 50.7100)
B_LON = A[0] + 2000 / (111_320 * math.cos(math.radians(A[1])))
B = (B_LON, A[1])


def write_line_feed(folder: Path, *, first: str = "07:00", last: str = "09:00",
                    headway_min: int = 10, ride_min: int = 5) -> Path:
    """A GTFS folder: route L from A to B every ``headway_min`` minutes, weekdays of 2024."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "agency.txt").write_text(
        "agency_id,agency_name,agency_url,agency_timezone\nX,Test Buses,https://example.org,"
        "Europe/London\n"
    )
    (folder / "stops.txt").write_text(
        f"stop_id,stop_name,stop_lat,stop_lon\nA,Stop A,{A[1]},{A[0]}\nB,Stop B,{B[1]},{B[0]}\n"
    )
    (folder / "routes.txt").write_text(
        "route_id,agency_id,route_short_name,route_long_name,route_type\nL,X,L,Line,3\n"
    )
    (folder / "calendar.txt").write_text(
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,"
        "end_date\nWK,1,1,1,1,1,0,0,20240101,20241231\n"
    )
    h0, m0 = map(int, first.split(":"))
    h1, m1 = map(int, last.split(":"))
    trips, times = ["route_id,service_id,trip_id"], [
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence"
    ]
    for k, start in enumerate(range(h0 * 60 + m0, h1 * 60 + m1 + 1, headway_min)):
        end = start + ride_min
        trips.append(f"L,WK,t{k}")
        dep, arr = f"{start // 60:02d}:{start % 60:02d}:00", f"{end // 60:02d}:{end % 60:02d}:00"
        times.append(f"t{k},{dep},{dep},A,1")
        times.append(f"t{k},{arr},{arr},B,2")
    (folder / "trips.txt").write_text("\n".join(trips) + "\n")
    (folder / "stop_times.txt").write_text("\n".join(times) + "\n")
    return folder


@pytest.fixture()
def line_network(tmp_path: Path) -> api.TransportNetwork:
    return api.build_transport_network(gtfs=[write_line_feed(tmp_path / "line")])


ORIGIN = pd.DataFrame({"id": ["home"], "lon": [A[0]], "lat": [A[1]]})
DEST = pd.DataFrame({"id": ["school"], "lon": [B[0]], "lat": [B[1]]})


def test_walk_between_stops_is_beyond_the_walk_limit():
    walk_min = haversine_m(A[0], A[1], B[0], B[1]) * 1.3 / (4.8 / 3.6) / 60
    assert 32 < walk_min < 33


def test_expanded_matrix_has_one_time_per_minute(line_network):
    table = api.expanded_travel_time_matrix(
        line_network, ORIGIN, DEST, date="2024-03-04", departure="07:00", window_min=10
    )
    # At 07:00 the 07:00 bus needs the rider at the stop by 06:59 (60 s slack): take 07:10.
    assert table["departure_time"].tolist() == [f"07:{m:02d}" for m in range(10)]
    assert table["travel_time_s"].tolist() == [(15 - m) * 60 for m in range(10)]


def test_percentiles_are_nearest_rank(line_network):
    table = api.travel_time_matrix(
        line_network, ORIGIN, DEST, date="2024-03-04", departure="07:00", window_min=10,
        percentiles=[10, 50, 90, 100],
    )
    row = table.iloc[0]
    assert (row.from_id, row.to_id) == ("home", "school")
    # times 15, 14, ..., 6 minutes; nearest rank index ceil(p/100 * 10) - 1
    assert row.travel_time_p10 == 6
    assert row.travel_time_p50 == 10
    assert row.travel_time_p90 == 14
    assert row.travel_time_p100 == 15


def test_board_slack_and_max_time_change_the_answer(line_network):
    no_slack = api.expanded_travel_time_matrix(
        line_network, ORIGIN, DEST, date="2024-03-04", departure="07:00", window_min=1,
        board_slack_s=0,
    )
    assert no_slack["travel_time_s"].tolist() == [5 * 60]
    short = api.travel_time_matrix(
        line_network, ORIGIN, DEST, date="2024-03-04", departure="07:00", window_min=1,
        max_time_min=10,
    )
    assert np.isnan(short["travel_time_p50"].iloc[0])


def test_unreachable_is_nan_and_walk_only_needs_no_timetable(line_network):
    late = api.travel_time_matrix(
        line_network, ORIGIN, DEST, date="2024-03-04", departure="10:00", window_min=5
    )
    assert np.isnan(late["travel_time_p50"].iloc[0])
    walk = api.travel_time_matrix(line_network, ORIGIN, DEST, modes=["walk"])
    expected_s = round(haversine_m(A[0], A[1], B[0], B[1]) * 1.3 / (4.8 / 3.6))
    assert walk["travel_time_p50"].iloc[0] == pytest.approx(expected_s / 60)


def test_window_after_the_last_departure_warns(line_network, caplog):
    api.travel_time_matrix(
        line_network, ORIGIN, DEST, date="2024-03-04", departure="22:00", window_min=5
    )
    assert "after the last departure" in caplog.text
    # The record is named: the 09:00 trip's call at B (09:05), the day's last departure time.
    assert "(09:05, trip " in caplog.text and "(route L) at stop B" in caplog.text


def test_arrive_by_finds_the_latest_departure(line_network):
    table = api.arrive_by_matrix(
        line_network, ORIGIN, DEST, date="2024-03-04", arrive_by="08:45"
    )
    # The 08:40 bus arrives 08:45; the rider must be at the stop by 08:39.
    assert table["latest_departure"].tolist() == ["08:39"]
    assert table["travel_time_min"].tolist() == [6.0]


def test_a_day_without_service_is_an_error(line_network):
    with pytest.raises(NoServiceError):
        api.travel_time_matrix(
            line_network, ORIGIN, DEST, date="2024-03-09", departure="07:00", window_min=5
        )


@pytest.mark.parametrize(
    ("points", "error", "words"),
    [
        (pd.DataFrame({"lon": [0.0], "lat": [50.0]}), NoIDColumnError, "no 'id' column"),
        (pd.DataFrame({"id": ["a", "a"], "lon": [0.0, 0.1], "lat": [50.0, 50.0]}),
         NonUniqueIDError, "repeated: ['a']"),
        (pd.DataFrame({"id": ["a", None], "lon": [0.0, 0.1], "lat": [50.0, 50.0]}),
         InvalidValueError, "missing id"),
        (pd.DataFrame({"id": ["e"], "lon": [359_000.0], "lat": [107_000.0]}),
         InvalidValueError, "eastings and northings"),
    ],
)
def test_bad_points_are_named(line_network, points, error, words):
    with pytest.raises(error) as info:
        api.travel_time_matrix(line_network, points, DEST, date="2024-03-04")
    assert words in str(info.value)


def test_bad_modes_and_missing_date(line_network):
    with pytest.raises(InvalidValueError, match="choose from"):
        api.travel_time_matrix(line_network, ORIGIN, DEST, modes=["bus"], date="2024-03-04")
    with pytest.raises(InvalidValueError, match="one at a time"):
        api.travel_time_matrix(line_network, ORIGIN, DEST, modes=["walk", "car"])
    with pytest.raises(InvalidValueError, match="service date"):
        api.travel_time_matrix(line_network, ORIGIN, DEST, modes=["walk", "transit"])


def test_r5_engine_explains_what_is_missing(line_network):
    from transport_access.routing.r5 import R5UnavailableError, r5_status

    ok, reason = r5_status()
    if ok:
        pytest.skip("R5 is available here; the comparison test covers it")
    with pytest.raises(R5UnavailableError) as info:
        api.travel_time_matrix(line_network, ORIGIN, DEST, date="2024-03-04", engine="r5")
    assert reason in str(info.value)


def test_r5_agrees_with_the_embedded_engine_where_available(shared_data: Path):
    import os

    from transport_access.routing.r5 import CLASSPATH_ENV, r5_status

    ok, reason = r5_status()
    if not ok:
        pytest.skip(f"R5 unavailable: {reason}")
    if not os.environ.get(CLASSPATH_ENV):
        pytest.skip(f"no R5 jar in {CLASSPATH_ENV}: r5py would download one (needs the internet)")
    poa = shared_data / "porto-alegre"
    network = api.build_transport_network(osm=poa / "poa_osm.pbf", gtfs=[poa / "poa_eptc.zip"])
    cells = pd.read_csv(poa / "poa_hexgrid.csv", dtype={"id": str}).head(20)
    ours = api.travel_time_matrix(network, cells, cells, date="2019-05-13", departure="14:00")
    theirs = api.travel_time_matrix(
        network, cells, cells, date="2019-05-13", departure="14:00", engine="r5"
    )
    both = ours.merge(theirs, on=["from_id", "to_id"], suffixes=("", "_r5")).dropna()
    assert len(both) > 0
    assert (both["travel_time_p50"] - both["travel_time_p50_r5"]).abs().median() < 5


def _pretend_r5(monkeypatch: pytest.MonkeyPatch, *, r5py: bool = True, java: int | None = 21,
                jar: str | None = None) -> None:
    """Make r5_status see r5py, a Java version and a jar path as given, without either."""
    import importlib.util

    from transport_access.routing import r5

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: (object() if r5py else None) if name == "r5py"
                        else find_spec(name, *a))
    monkeypatch.setattr(r5, "_java_major_version",
                        lambda: (java, "/opt/java/bin/java" if java else "no java on PATH"))
    if jar is None:
        monkeypatch.delenv(r5.CLASSPATH_ENV, raising=False)
    else:
        monkeypatch.setenv(r5.CLASSPATH_ENV, jar)


def test_r5_without_a_jar_path_lets_r5py_download_it(monkeypatch, caplog):
    from transport_access.routing.r5 import r5_status

    _pretend_r5(monkeypatch)
    assert r5_status() == (True, "")
    assert "r5py will download it on first use, which needs the internet" in caplog.text


def test_r5_still_needs_r5py_java_21_and_an_existing_jar(monkeypatch, tmp_path: Path):
    from transport_access.routing.r5 import r5_status

    _pretend_r5(monkeypatch, r5py=False)
    assert r5_status() == (False, 'r5py is not installed (pip install "transport-access[r5]")')
    _pretend_r5(monkeypatch, java=17)
    ok, reason = r5_status()
    assert not ok and "Java 17 found at /opt/java/bin/java; R5 needs Java 21" in reason
    _pretend_r5(monkeypatch, java=None)
    ok, reason = r5_status()
    assert not ok and "no Java runtime found" in reason
    _pretend_r5(monkeypatch, jar=str(tmp_path / "r5-all.jar"))
    ok, reason = r5_status()
    assert not ok and "r5-all.jar does not exist" in reason
    (tmp_path / "r5-all.jar").write_bytes(b"")
    assert r5_status() == (True, "")


def test_r5_warns_that_it_keeps_its_own_board_slack(line_network, monkeypatch, caplog):
    from transport_access.routing import r5

    monkeypatch.setattr(r5, "r5_status", lambda: (False, "not here"))
    for slack, warned in [(60, False), (30, True)]:
        caplog.clear()
        with pytest.raises(r5.R5UnavailableError, match="not here"):
            api.travel_time_matrix(line_network, ORIGIN, DEST, date="2024-03-04", engine="r5",
                                   board_slack_s=slack)
        assert ("board slack of 30 s not used by R5" in caplog.text) is warned


def _run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "transport_access.cli", *args],
        capture_output=True, text=True, cwd=PROJECT_ROOT,
    )


def _plain(text: str) -> str:
    """Terminal output without rich's box and line wrapping."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def test_matrix_command_writes_csv_and_parquet(tmp_path: Path):
    feed = write_line_feed(tmp_path / "line")
    ORIGIN.to_csv(tmp_path / "o.csv", index=False)
    DEST.to_csv(tmp_path / "d.csv", index=False)
    common = ["matrix", "--gtfs", str(feed), "--no-streets", "--origins", str(tmp_path / "o.csv"),
              "--destinations", str(tmp_path / "d.csv"), "--date", "2024-03-04",
              "--departure", "07:00", "--window", "10", "-q"]
    result = _run_cli(*common, "--percentiles", "50,90", "--out", str(tmp_path / "m.csv"))
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(tmp_path / "m.csv")
    assert table.columns.tolist() == ["from_id", "to_id", "travel_time_p50", "travel_time_p90"]
    assert table[["travel_time_p50", "travel_time_p90"]].iloc[0].tolist() == [10.0, 14.0]
    # Beside it, what was routed and how: here on straight lines, not streets.
    meta = json.loads((tmp_path / "m.csv.json").read_text())
    assert meta["straight_line_streets"] is True and meta["kind"] == "percentiles"
    assert meta["options"]["percentiles"] == [50, 90] and meta["options"]["circuity"] == 1.3
    assert meta["inputs"]["gtfs"][0]["sha256"] and meta["inputs"]["osm"] is None

    result = _run_cli(*common, "--expanded", "--out", str(tmp_path / "e.parquet"))
    assert result.returncode == 0, result.stderr
    expanded = pd.read_parquet(tmp_path / "e.parquet")
    assert len(expanded) == 10 and expanded["travel_time_s"].iloc[0] == 900


def test_matrix_command_reports_bad_input_without_traceback(tmp_path: Path):
    ORIGIN.to_csv(tmp_path / "o.csv", index=False)
    result = _run_cli("matrix", "--no-streets", "--origins", str(tmp_path / "o.csv"),
                      "--destinations", str(tmp_path / "missing.csv"),
                      "--out", str(tmp_path / "m.csv"))
    assert result.returncode == 2
    assert "missing.csv: destinations file does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_matrix_command_refuses_what_the_r5_path_does_not_do(tmp_path: Path):
    ORIGIN.to_csv(tmp_path / "o.csv", index=False)
    common = ["matrix", "--no-streets", "--origins", str(tmp_path / "o.csv"),
              "--destinations", str(tmp_path / "o.csv"), "--out", str(tmp_path / "m.csv"),
              "--engine", "r5"]
    for extra, named in [(["--expanded"], "--expanded"), (["--arrive-by", "09:00"], "--arrive-by"),
                         (["--expanded", "--arrive-by", "09:00"], "--expanded or --arrive-by")]:
        result = _run_cli(*common, *extra)
        assert result.returncode == 2
        message = _plain(result.stderr)
        assert f"--engine r5 does not support {named} " in message
        assert "use --engine embedded" in message
        assert not (tmp_path / "m.csv").exists()
    result = _run_cli(*common[:-1], "r6")
    assert result.returncode == 2 and "--engine 'r6': embedded or r5" in _plain(result.stderr)


def test_matrix_command_says_r5_keeps_its_own_board_slack(tmp_path: Path):
    from transport_access.routing.r5 import r5_status

    if r5_status()[0]:
        pytest.skip("R5 is available here and would run")
    feed = write_line_feed(tmp_path / "line")
    ORIGIN.to_csv(tmp_path / "o.csv", index=False)
    result = _run_cli("matrix", "--gtfs", str(feed), "--no-streets", "--origins",
                      str(tmp_path / "o.csv"), "--destinations", str(tmp_path / "o.csv"),
                      "--date", "2024-03-04", "--out", str(tmp_path / "m.csv"),
                      "--engine", "r5", "--board-slack-s", "90")
    assert result.returncode == 2
    message = _plain(result.stderr + result.stdout)
    assert "board slack of 90 s not used by R5: it boards with its own fixed 60 s" in message
    assert "the R5 engine cannot run here" in message


def test_rail_gtfs_command_clips_to_the_study_area(shared_data: Path, tmp_path: Path):
    import gtfs_kit

    out = tmp_path / "rail.zip"
    result = _run_cli(
        "rail-gtfs", str(shared_data / "dorset" / "rail" / "atoc.zip"), "--area",
        str(PROJECT_ROOT / "configs" / "dorset.yaml"), "--data-root", str(shared_data),
        "--stations", str(shared_data / "dorset" / "naptan" / "910Stops.csv"),
        "--out", str(out), "-q",
    )
    assert result.returncode == 0, result.stderr
    feed = gtfs_kit.read_feed(out, dist_units="km")
    assert len(feed.trips) == 180
    assert "WEYMTH" in set(feed.stops["stop_id"])


def test_drt_zone_reaches_a_stop_beyond_walking_during_its_hours(tmp_path: Path):
    from shapely.geometry import box

    from transport_access.scenarios.drt import DrtZone

    network = api.build_transport_network(gtfs=[write_line_feed(tmp_path / "line")])
    far_lon = A[0] - 3000 / (111_320 * math.cos(math.radians(A[1])))
    origin = pd.DataFrame({"id": ["farm"], "lon": [far_lon], "lat": [A[1]]})
    network.drt_zones = [DrtZone(
        name="vale", area=box(far_lon - 0.01, A[1] - 0.01, A[0] + 0.001, A[1] + 0.01),
        days=("mon", "tue", "wed", "thu", "fri"), start_s=7 * 3600, end_s=8 * 3600,
        wait_s=600, detour_factor=1.5, vehicles=1, hub_atco=("A",), hub_stop_ids=("A",),
        hub_lon=(A[0],), hub_lat=(A[1],),
    )]
    table = api.expanded_travel_time_matrix(
        network, origin, DEST, date="2024-03-04", departure="07:58", window_min=4
    )
    # 3 km by car (x 1.3 at 40 km/h = 351 s) x 1.5 detour + 600 s wait = 1,127 s to stop A
    car_s = round(haversine_m(far_lon, A[1], A[0], A[1]) * 1.3 / (40 / 3.6))
    drt_s = round(car_s * 1.5) + 600
    assert 1120 <= drt_s <= 1130
    times = table["travel_time_s"].tolist()
    # 07:58 + drt_s -> at A by 08:16:47, the 08:20 bus (slack met) arrives 08:25
    assert times[0] == (8 * 60 + 25 - (7 * 60 + 58)) * 60
    assert times[1] == (8 * 60 + 25 - (7 * 60 + 59)) * 60
    # from 08:00 the zone is closed, and the farm is beyond walking distance of A
    assert times[2:] == [pd.NA, pd.NA]
