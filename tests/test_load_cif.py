"""Tests for the ATOC CIF to GTFS conversion: synthetic schedules with exact expected tables,
update transactions, bad input, and the real 2020 rail subset clipped to Dorset + BCP."""

from __future__ import annotations

import datetime as dt
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box

from transport_access.errors import FileFormatError, InvalidValueError, MissingFileError
from transport_access.load.cif import (
    compute_running_dates,
    convert_cif,
    read_cif,
    read_msn,
    write_gtfs_zip,
)
from transport_access.load.gtfs import service_ids_on
from transport_access.report import DataReport


@pytest.fixture(scope="module")
def cif_dir(fixtures: Path) -> Path:
    return fixtures / "cif"


def _sequence(feed, trip_id: str) -> list[tuple[str, str, str]]:
    rows = feed.stop_times[feed.stop_times["trip_id"] == trip_id].sort_values("stop_sequence")
    return list(rows[["stop_id", "arrival_time", "departure_time"]].itertuples(index=False))


def test_read_cif_fields(cif_dir: Path) -> None:
    timetable = read_cif(cif_dir / "mini.mca")
    assert timetable.header["update"] == "F"
    assert timetable.header["user_start"] == dt.date(2020, 3, 2)
    schedules = timetable.schedules.set_index(["train_uid", "stp"])
    assert list(timetable.schedules["stp"]) == ["P", "O", "C", "N", "P", "P", "P", "P"]
    first = schedules.loc[("A00001", "P")]
    assert first["date_from"] == dt.date(2020, 3, 2)
    assert first["date_to"] == dt.date(2020, 3, 27)
    assert first["days_run"] == "1111100"
    assert first["atoc_code"] == "SW"
    assert first["headcode"] == "1W01"
    assert schedules.loc[("F00006", "P"), "bank_holiday"] == "X"
    assert schedules.loc[("D00004", "P"), "train_category"] == "BR"
    calls = timetable.calls[timetable.calls["schedule_id"] == 0]
    assert list(calls["tiploc"]) == [
        "WEYMTH",
        "DRCHJN",
        "DRCHS",
        "WOOL",
        "ZZUNKWN",
        "WARHAM",
        "POOLE",
        "BOMO",
    ]
    wool = calls[calls["tiploc"] == "WOOL"].iloc[0]
    assert (wool["working_arrival"], wool["public_arrival"], wool["activity"]) == (
        "0720H",
        "0721",
        "R",
    )
    assert calls[calls["tiploc"] == "DRCHJN"].iloc[0]["working_pass"] == "0708H"


def test_read_msn_grid_references(cif_dir: Path) -> None:
    stations = read_msn(cif_dir / "mini.msn").set_index("tiploc")
    assert len(stations) == 6
    weymouth = stations.loc["WEYMTH"]
    assert (weymouth["crs"], weymouth["name"]) == ("WEY", "WEYMOUTH")
    assert (weymouth["easting"], weymouth["northing"]) == (367900.0, 79600.0)
    # NaPTAN puts Weymouth station at -2.45422, 50.61531: the grid reference is 100 m.
    assert weymouth["lon"] == pytest.approx(-2.4551, abs=2e-4)
    assert weymouth["lat"] == pytest.approx(50.6152, abs=2e-4)


def test_convert_exact_tables(cif_dir: Path) -> None:
    report = DataReport()
    feed = convert_cif(cif_dir / "mini.mca", report=report)

    trips = feed.trips.set_index("trip_id")
    assert sorted(trips.index) == [
        "A00001_20200302_P",
        "A00001_20200310_O",
        "B00002_20200314_N",
        "C00003_20200302_P",
        "F00006_20200302_P",
    ]
    assert trips.loc["A00001_20200302_P", "route_id"] == "SW:BOMO-WEYMTH"
    assert trips.loc["A00001_20200302_P", "direction_id"] == 1
    assert trips.loc["A00001_20200302_P", "trip_headsign"] == "Bournemouth"
    assert trips.loc["C00003_20200302_P", "direction_id"] == 0
    assert trips.loc["B00002_20200314_N", "route_id"] == "GW:BOMO-POOLE"

    # Permanent: passing point, working-only stop and the unlocated call left out.
    assert _sequence(feed, "A00001_20200302_P") == [
        ("WEYMTH", "07:00:00", "07:00:00"),
        ("DRCHS", "07:10:00", "07:11:00"),
        ("WOOL", "07:21:00", "07:21:00"),
        ("WARHAM", "07:30:00", "07:31:00"),
        ("BOMO", "08:00:00", "08:00:00"),
    ]
    a = feed.stop_times[feed.stop_times["trip_id"] == "A00001_20200302_P"]
    assert list(a["stop_sequence"]) == [1, 2, 3, 4, 5]
    assert list(a["pickup_type"]) == [0, 0, 3, 0, 1]  # request stop at Wool
    assert list(a["drop_off_type"]) == [1, 1, 3, 0, 0]  # Dorchester South: take up only
    assert _sequence(feed, "A00001_20200310_O") == [
        ("WEYMTH", "07:15:00", "07:15:00"),
        ("DRCHS", "07:25:00", "07:26:00"),
        ("POOLE", "08:00:00", "08:01:00"),
        ("BOMO", "08:15:00", "08:15:00"),
    ]
    # Past midnight, and a public call at midnight (public time "0000", stop activity T).
    assert _sequence(feed, "C00003_20200302_P") == [
        ("BOMO", "23:40:00", "23:40:00"),
        ("POOLE", "23:50:00", "23:51:00"),
        ("WARHAM", "24:00:00", "24:00:00"),
        ("WEYMTH", "24:30:00", "24:30:00"),
    ]

    calendar = feed.calendar.set_index("service_id")
    assert trips.loc["A00001_20200302_P", "service_id"] == "20200302-20200327-1111100"
    assert trips.loc["A00001_20200310_O", "service_id"] == "20200310-20200311-0110000"
    assert trips.loc["B00002_20200314_N", "service_id"] == "20200314-20200314-0000010"
    assert trips.loc["C00003_20200302_P", "service_id"] == "20200302-20200327-1111111"
    # Same weekdays and span as A00001's, but without its exceptions: its own service.
    assert trips.loc["F00006_20200302_P", "service_id"] == "20200302-20200327-1111100~2"
    row = calendar.loc["20200302-20200327-1111100"]
    assert [row[d] for d in ("monday", "friday", "saturday", "sunday")] == [1, 1, 0, 0]
    assert (row["start_date"], row["end_date"]) == ("20200302", "20200327")
    dates = feed.calendar_dates.sort_values(["service_id", "date"])
    assert list(dates.itertuples(index=False, name=None)) == [
        ("20200302-20200327-1111100", "20200310", 2),  # overlay
        ("20200302-20200327-1111100", "20200311", 2),  # overlay
        ("20200302-20200327-1111100", "20200319", 2),  # cancellation
    ]
    running = {d: service_ids_on(feed, dt.date(2020, 3, d)) for d in (10, 12, 14, 19)}
    on = {
        d: sorted(feed.trips.loc[feed.trips["service_id"].isin(s), "trip_id"])
        for d, s in running.items()
    }
    assert on[10] == ["A00001_20200310_O", "C00003_20200302_P", "F00006_20200302_P"]
    assert on[12] == ["A00001_20200302_P", "C00003_20200302_P", "F00006_20200302_P"]
    assert on[14] == ["B00002_20200314_N", "C00003_20200302_P"]
    assert on[19] == ["C00003_20200302_P", "F00006_20200302_P"]

    stops = feed.stops.set_index("stop_id")
    assert sorted(stops.index) == ["BOMO", "DRCHS", "POOLE", "WARHAM", "WEYMTH", "WOOL"]
    assert stops.loc["BOMO", "stop_code"] == "BMH"
    assert stops.loc["DRCHS", "stop_name"] == "Dorchester South"
    assert set(feed.routes["route_type"]) == {2}
    assert dict(zip(feed.agency["agency_id"], feed.agency["agency_name"], strict=True)) == {
        "GW": "Great Western Railway",
        "SW": "South Western Railway",
    }

    (entry,) = report.entries
    assert entry.rows_kept == 5
    assert entry.exclusions == {
        "bus schedules (mostly rail replacement)": 1,
        "schedules without two public calls (freight, empty stock)": 1,
    }
    assert "8 schedules read (1 cancellation, 1 new STP, 1 overlay, 5 permanent)" in entry.detail
    assert "1 public calls without coordinates left out (1 locations: ZZUNKWN)" in entry.detail


def test_bank_holiday_running(cif_dir: Path) -> None:
    timetable = read_cif(cif_dir / "mini.mca")
    running = compute_running_dates(timetable, bank_holidays={dt.date(2020, 3, 9)})
    schedules = timetable.schedules.set_index("schedule_id").loc[running["schedule_id"]]
    keys = zip(schedules["train_uid"], schedules["stp"], strict=True)
    dates = dict(zip(keys, running["dates"], strict=True))
    assert dt.date(2020, 3, 9) not in dates["F00006", "P"]  # X: not on bank holidays
    assert dt.date(2020, 3, 9) in dates["A00001", "P"]
    assert len(dates["F00006", "P"]) == 19
    assert len(dates["A00001", "P"]) == 20 - 3  # less the overlay's two and the cancelled
    assert dates["A00001", "O"] == (dt.date(2020, 3, 10), dt.date(2020, 3, 11))
    assert ("A00001", "C") not in dates


def test_update_transactions(cif_dir: Path) -> None:
    report = DataReport()
    feed = convert_cif([cif_dir / "mini.mca", cif_dir / "update.mca"], report=report)
    assert sorted(feed.trips["trip_id"]) == [
        "A00001_20200302_P",
        "A00001_20200310_O",
        "B00002_20200314_N",
        "F00006_20200302_P",
        "G00007_20200316_P",
    ]  # C00003 deleted, G00007 new
    assert _sequence(feed, "B00002_20200314_N") == [
        ("BOMO", "10:05:00", "10:05:00"),
        ("POOLE", "10:15:00", "10:15:00"),
    ]  # revised
    assert feed.agency["agency_id"].tolist() == ["GW", "SW", "XC"]
    transactions = [e for e in report.entries if "transactions" in e.dataset]
    assert transactions[0].exclusions == {"delete without original": 1}


def test_coordinates_precedence_and_area(cif_dir: Path) -> None:
    naptan = gpd.GeoDataFrame(
        {"atco_code": ["9100WEYMTH", "9100POOLE"], "name": ["Weymouth Rail Station", "Poole"]},
        geometry=[Point(-2.454222, 50.615315), Point(-1.983318, 50.719428)],
        crs=4326,
    )
    tiplocs = gpd.GeoDataFrame(
        {"stop_id": ["WEYMTH", "ZZUNKWN"], "stop_name": ["WRONG", "NOWHERE HALT"]},
        geometry=[Point(-2.0, 50.0), Point(-2.16, 50.69)],
        crs=4326,
    )
    feed = convert_cif(cif_dir / "mini.mca", naptan_rail=naptan, tiplocs=tiplocs)
    stops = feed.stops.set_index("stop_id")
    assert (stops.loc["WEYMTH", "stop_lon"], stops.loc["WEYMTH", "stop_lat"]) == (
        -2.454222,
        50.615315,
    )
    assert stops.loc["WEYMTH", "stop_name"] == "Weymouth"
    assert stops.loc["ZZUNKWN", "stop_lon"] == -2.16  # from the TIPLOC points
    assert stops.loc["ZZUNKWN", "stop_name"] == "Nowhere Halt"
    assert stops.loc["WOOL", "stop_lon"] == pytest.approx(-2.2222, abs=1e-3)  # from the MSN

    # Poole and Bournemouth only; 10 km takes in Wareham (8 km) but not Wool (16 km).
    area = box(-1.99, 50.70, -1.85, 50.75)
    report = DataReport()
    clipped = convert_cif(cif_dir / "mini.mca", area=area, buffer_km=10, report=report)
    assert sorted(clipped.trips["trip_id"]) == [
        "A00001_20200302_P",
        "A00001_20200310_O",
        "B00002_20200314_N",
        "C00003_20200302_P",
    ]
    assert [s for s, _, _ in _sequence(clipped, "A00001_20200302_P")] == ["WARHAM", "BOMO"]
    assert [s for s, _, _ in _sequence(clipped, "C00003_20200302_P")] == [
        "BOMO",
        "POOLE",
        "WARHAM",
    ]
    entry = report.entries[-1]
    assert entry.area == "area + 10 km"
    assert entry.exclusions == {
        "schedules of trains with no location in the area (not read)": 1,  # F00006
        "bus schedules (mostly rail replacement)": 1,
        "schedules without two public calls (freight, empty stock)": 1,
    }
    whole = convert_cif(cif_dir / "mini.mca", area=area, buffer_km=None)
    assert len(_sequence(whole, "A00001_20200302_P")) == 5


def test_public_times_over_midnight_and_backwards() -> None:
    from transport_access.load.cif import _public_calls

    # A sleeper: a long gap between public calls, days counted on the working times.
    sleeper = [
        ("LO", "EUSTON", "", "2115", "", "0000", "2115", "TB"),
        ("LI", "WATFDJ", "", "", "2131H", "0000", "0000", ""),
        ("LI", "CREWE", "2330", "2336", "", "0000", "2336", "U"),
        ("LI", "CARLILE", "", "", "0210", "0000", "0000", ""),
        ("LI", "AVIEMOR", "0720H", "0722", "", "0721", "0000", "D"),
        ("LT", "INVNESS", "0840", "", "", "0840", "0000", "TF"),
    ]
    calls, raised = _public_calls(sleeper)
    assert calls == [
        ("EUSTON", 21 * 60 + 15, 21 * 60 + 15, 0, 1),
        ("CREWE", 23 * 60 + 36, 23 * 60 + 36, 0, 1),
        ("AVIEMOR", 31 * 60 + 21, 31 * 60 + 21, 1, 0),
        ("INVNESS", 32 * 60 + 40, 32 * 60 + 40, 1, 0),
    ]
    assert raised == 0
    # A public departure a minute before the public arrival is held at the arrival.
    backwards = [
        ("LO", "A", "", "0950", "", "0000", "0950", "TB"),
        ("LI", "B", "1000", "1000H", "", "1000", "0959", "T"),
        ("LT", "C", "1010", "", "", "1010", "0000", "TF"),
    ]
    calls, raised = _public_calls(backwards)
    assert [c[1:3] for c in calls] == [(590, 590), (600, 600), (610, 610)]
    assert raised == 1


def test_write_gtfs_zip_round_trip(cif_dir: Path, tmp_path: Path) -> None:
    from transport_access.load.gtfs import read_gtfs

    feed = convert_cif(cif_dir / "mini.mca")
    out = write_gtfs_zip(feed, tmp_path / "out" / "rail.zip")
    with zipfile.ZipFile(out) as archive:
        assert {"agency.txt", "stop_times.txt", "calendar_dates.txt"} <= set(archive.namelist())
    back = read_gtfs(out)
    assert len(back.stop_times) == len(feed.stop_times) == 17
    assert "24:30:00" in set(back.stop_times["arrival_time"])


# --------------------------------------------------------------------------- bad input


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MissingFileError, match="nothere.zip"):
        convert_cif(tmp_path / "nothere.zip")


def test_not_cif(tmp_path: Path) -> None:
    path = tmp_path / "notes.mca"
    path.write_text("stop_id,stop_name\nA,B\n")
    with pytest.raises(FileFormatError, match=r"notes\.mca: is not a CIF timetable: line 1"):
        read_cif(path)


def test_zip_without_mca(tmp_path: Path) -> None:
    path = tmp_path / "gtfs.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("stops.txt", "stop_id\n")
    with pytest.raises(FileFormatError, match=r"gtfs\.zip: holds no \.mca file"):
        convert_cif(path)


def test_truncated_line(cif_dir: Path, tmp_path: Path) -> None:
    lines = (cif_dir / "mini.mca").read_text().splitlines()
    lines[14] = lines[14][:40]
    path = tmp_path / "cut.mca"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(FileFormatError, match=r"cut\.mca: line 15 \(LI record\) is 40 char"):
        read_cif(path)


def test_bad_days_run(cif_dir: Path, tmp_path: Path) -> None:
    lines = (cif_dir / "mini.mca").read_text().splitlines()
    assert lines[10].startswith("BSNA00001")
    lines[10] = lines[10][:21] + "11x1100" + lines[10][28:]
    path = tmp_path / "days.mca"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InvalidValueError, match=r"days\.mca: line 11: days run '11x1100'"):
        read_cif(path)


def test_bad_input_in_zip_names_member(cif_dir: Path, tmp_path: Path) -> None:
    lines = (cif_dir / "mini.mca").read_text().splitlines()
    path = tmp_path / "timetable.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ttis123.mca", "\n".join(lines[:5] + [lines[5][:70]]) + "\n")
    with pytest.raises(FileFormatError, match=r"timetable\.zip!ttis123\.mca: line 6"):
        read_cif(path)


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def dorset_rail(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[object, DataReport, dict, Path]]:
    # Module fixtures run before the per-test cache isolation: isolate this one too.
    cache = tmp_path_factory.mktemp("cif-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRANSPORT_ACCESS_CACHE", str(cache))
        yield _convert_dorset(shared_data), cache


def _convert_dorset(shared_data: Path) -> tuple[object, DataReport, dict]:
    from transport_access.load.lsoa import load_lsoa_boundaries, study_area_polygon

    dorset = shared_data / "dorset"
    area = study_area_polygon(
        load_lsoa_boundaries(dorset / "lsoa" / "dorset_bcp_lsoa11_bgc_wgs84.geojson")
    )
    inputs = {
        "path": dorset / "rail" / "atoc.zip",
        "naptan_rail": dorset / "naptan" / "910Stops.csv",
        "tiplocs": dorset / "rail" / "tiplocs.gpkg",
        "area": area,
    }
    report = DataReport()
    feed = convert_cif(**inputs, report=report)
    return feed, report, inputs


def _departures(feed, tiploc: str, date: dt.date) -> pd.DataFrame:
    running = service_ids_on(feed, date)
    trips = feed.trips[feed.trips["service_id"].isin(running)]
    first = feed.stop_times[
        (feed.stop_times["stop_sequence"] == 1) & (feed.stop_times["stop_id"] == tiploc)
    ]
    return first.merge(trips, on="trip_id").sort_values("departure_time")


@pytest.mark.slow
def test_real_dorset_rail(dorset_rail) -> None:
    (feed, report, _), _ = dorset_rail
    (entry,) = report.entries
    assert entry.rows_kept == len(feed.trips) == 180
    # The file's 20,000 schedules: 435 of trains with a location in Dorset + BCP are read.
    assert entry.exclusions == {
        "schedules of trains with no location in the area (not read)": 19565,
        "bus schedules (mostly rail replacement)": 255,
    }
    assert entry.detail.startswith(
        "435 schedules read (0 cancellation, 308 new STP, 116 overlay, 11 permanent)"
    )
    assert "; 1,398 stop times; 930 calls beyond the 30 km buffer left out" in entry.detail
    assert "without coordinates" not in entry.detail  # NaPTAN, TIPLOCs and MSN place all
    # What load_timetables will do with it: the checks pass with nothing left out.
    from transport_access.load.gtfs import busiest_weekday, check_feed

    assert check_feed(feed, path="atoc.zip") is feed
    assert busiest_weekday(feed) == dt.date(2020, 3, 20)
    assert sorted(feed.agency["agency_id"]) == ["GW", "SW", "XC"]
    assert feed.stops["stop_id"].is_unique
    assert {"WEYMTH", "DRCHS", "DRCHW", "POOLE", "BOMO", "SHERBRN", "GLHM"} <= set(
        feed.stops["stop_id"]
    )

    # Wednesday 18 March 2020: one train leaves Weymouth, the Heart of Wessex line to
    # Gloucester, kept as far as Freshford (the edge of the 30 km buffer).
    weekday = _departures(feed, "WEYMTH", dt.date(2020, 3, 18))
    assert weekday["trip_id"].tolist() == ["Y96036_20200316_O"]
    assert [s for s, _, _ in _sequence(feed, "Y96036_20200316_O")] == [
        "WEYMTH", "UPWEY", "DRCHW", "MDNNWTN", "CHETNOL", "YTMNSTR", "THFORD", "YOVILPM",
        "CCARY", "BRUTON", "FROME", "WSTBRYW", "TRWBRDG", "BRDFDOA", "AVNCLFF", "FRESHFD",
    ]  # fmt: skip
    assert _sequence(feed, "Y96036_20200316_O")[:2] == [
        ("WEYMTH", "14:55:00", "14:55:00"),
        ("UPWEY", "15:00:00", "15:00:00"),  # working 14:59H arrival, public 15:00
    ]

    # Saturday 21 March 2020: 22 departures, mostly Weymouth - Poole.
    saturday = _departures(feed, "WEYMTH", dt.date(2020, 3, 21))
    assert len(saturday) == 22
    assert saturday["departure_time"].iloc[0] == "05:53:00"
    assert [s for s, _, _ in _sequence(feed, "Q20579_20200321_N")] == [
        "WEYMTH", "UPWEY", "DRCHS", "MORETON", "WOOL", "WARHAM", "HOLTONH", "HMWTHY", "POOLE",
    ]  # fmt: skip
    assert _sequence(feed, "Q20579_20200321_N")[-1] == ("POOLE", "06:39:00", "06:39:00")
    assert [s for s, _, _ in _sequence(feed, "W16895_20200321_O")] == [
        "WEYMTH", "UPWEY", "DRCHW", "MDNNWTN", "YOVILPM", "YOVILJN", "SHERBRN", "TMPCMB",
        "GLHM", "TISBURY", "SLSBRY",
    ]  # fmt: skip


@pytest.mark.slow
def test_real_dorset_rail_cached(dorset_rail, monkeypatch: pytest.MonkeyPatch) -> None:
    (feed, report, inputs), cache = dorset_rail
    monkeypatch.setenv("TRANSPORT_ACCESS_CACHE", str(cache))
    assert len(list((cache / "cif").glob("cif-gtfs-*.zip"))) == 1
    again = DataReport()
    start = time.perf_counter()
    cached = convert_cif(**inputs, report=again)
    assert time.perf_counter() - start < 3.0  # read back, not converted again
    assert len(cached.trips) == len(feed.trips)
    pd.testing.assert_frame_equal(
        cached.stop_times.reset_index(drop=True), feed.stop_times.reset_index(drop=True)
    )
    assert again.entries[0].exclusions == report.entries[0].exclusions
