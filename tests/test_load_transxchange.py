"""TransXChange to GTFS through transx2gtfs: offline, stops from NaPTAN, cached, summarised."""

from __future__ import annotations

import datetime as dt
import urllib.request
import zipfile
from pathlib import Path

import pytest

from transport_access.config import TimetableSource
from transport_access.errors import FileFormatError, MissingFileError
from transport_access.load.gtfs import busiest_weekday, load_timetables, trips_on
from transport_access.load.naptan import load_naptan
from transport_access.load.transxchange import (
    SERVICE_COLUMNS,
    convert_transxchange,
    england_bank_holidays,
    transxchange_services,
)
from transport_access.report import DataReport

TNDS_MISSING_STOPS = [
    "1200BOB20141",
    "1200BOB20142",
    "1200BOB20143",
    "1280POA11619",
    "1280POA11621",
    "1290BOB20418",
    "1290BOB20419",
    "1290DOB21158",
]


@pytest.fixture()
def txc(fixtures: Path) -> Path:
    return fixtures / "txc" / "test_service.xml"


@pytest.fixture()
def naptan(fixtures: Path):
    return load_naptan(fixtures / "txc" / "naptan_mini.csv")


@pytest.fixture()
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to download (NaPTAN, bank holidays) fails the test loudly."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"network access attempted: {args[:1]}")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(urllib.request, "urlretrieve", refuse)


def test_convert_synthetic_offline(txc: Path, naptan, offline: None, tmp_path: Path) -> None:
    report = DataReport()
    feed = convert_transxchange(txc, naptan=naptan, out=tmp_path / "t.zip", report=report)

    # Only the feed is written there (transx2gtfs's scratch database is removed).
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.zip"]
    assert len(feed.trips) == 3
    assert sorted(feed.trips["service_id"].unique()) == [
        "99-T1-_-y10-1_20240101_20240131_MondayToFriday",
        "99-T1-_-y10-1_20240101_20240131_Saturday",
    ]
    first = feed.stop_times[feed.stop_times["trip_id"] == "JPS_1_MondayToFriday_0700"]
    # The stop missing from NaPTAN (sequence 3) is left out; the trip keeps the others.
    assert first["stop_id"].tolist() == ["1200TEST0001", "1200TEST0002", "1200TEST0004"]
    assert first["stop_sequence"].tolist() == [1, 2, 4]
    assert first["departure_time"].tolist() == ["07:00:00", "07:05:00", "07:15:00"]
    # Stop positions and names come from the NaPTAN table given.
    assert feed.stops.set_index("stop_id").loc["1200TEST0001", "stop_name"] == (
        "Market Place (opp)"
    )
    assert trips_on(feed, dt.date(2024, 1, 3)) == 2
    assert busiest_weekday(feed) == dt.date(2024, 1, 1)

    entry = report.entries[0]
    assert entry.rows_kept == 3
    assert "1200GONE0003" in entry.detail
    assert "3 stop times left out of 3 trips" in entry.detail


def test_conversion_is_cached(txc: Path, naptan, monkeypatch: pytest.MonkeyPatch) -> None:
    first = convert_transxchange(txc, naptan=naptan)

    import transx2gtfs.converter

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("converted again instead of using the cache")

    monkeypatch.setattr(transx2gtfs.converter, "convert", refuse)
    second = convert_transxchange(txc, naptan=naptan)
    assert second.trips["trip_id"].tolist() == first.trips["trip_id"].tolist()


def test_zip_input_and_naptan_path(txc: Path, fixtures: Path, tmp_path: Path) -> None:
    archive = tmp_path / "txc.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.write(txc, txc.name)
    feed = convert_transxchange(archive, naptan=fixtures / "txc" / "naptan_mini.csv")
    assert len(feed.trips) == 3


def test_services_summary(txc: Path, naptan) -> None:
    feed = convert_transxchange(txc, naptan=naptan)
    services = transxchange_services(txc, feed, day=dt.date(2024, 1, 6))
    assert list(services.columns) == SERVICE_COLUMNS
    assert services.iloc[0].to_dict() == {
        "file": "test_service.xml",
        "service_code": "99-T1-_-y10-1",
        "line_name": "T1",
        "operator": "Test Buses",
        "start_date": "2024-01-01",
        "end_date": "2024-01-31",
        "vehicle_journeys": 3,
        "trips": 3,
        "trips_on_day": 1,
    }


def test_missing_input(naptan, tmp_path: Path) -> None:
    with pytest.raises(MissingFileError, match="absent.xml"):
        convert_transxchange(tmp_path / "absent.xml", naptan=naptan)


def test_not_xml(naptan, tmp_path: Path) -> None:
    path = tmp_path / "timetable.xml"
    path.write_text("this is not xml")
    with pytest.raises(FileFormatError, match="timetable.xml.*not valid XML"):
        convert_transxchange(path, naptan=naptan)


def test_bank_holidays_cover_2014() -> None:
    holidays = england_bank_holidays()
    assert dt.date(2014, 5, 26) in holidays
    assert dt.date(2015, 12, 28) in holidays
    assert dt.date(2024, 12, 25) in holidays


def test_load_timetables_with_transxchange(txc: Path, naptan) -> None:
    sources = [TimetableSource(name="test", format="transxchange", path=str(txc))]
    report = DataReport()
    feed, date, summary = load_timetables(sources, resolve=Path, naptan=naptan, report=report)
    # 1 January is a bank holiday: never a representative weekday.
    assert date == dt.date(2024, 1, 2)
    assert summary[["name", "service_day", "trips", "routes", "stops"]].to_dict("list") == {
        "name": ["test"],
        "service_day": ["2024-01-02"],
        "trips": [2],
        "routes": [1],
        "stops": [3],
    }
    assert set(feed.trips["trip_id"]) == {
        "test:JPS_1_MondayToFriday_0700",
        "test:JPS_1_MondayToFriday_0800",
    }
    service = [e for e in report.entries if e.dataset == "timetable test: service T1"]
    assert service[0].rows_kept == 2
    assert service[0].exclusions == {"trips on other days": 1}


def test_load_timetables_transxchange_needs_naptan(txc: Path) -> None:
    sources = [TimetableSource(name="test", format="transxchange", path=str(txc))]
    with pytest.raises(ValueError, match="NaPTAN"):
        load_timetables(sources, resolve=Path)


@pytest.mark.shared_data
@pytest.mark.slow
def test_real_tnds_five_services(shared_data: Path, offline: None) -> None:
    folder = shared_data / "dorset"
    stops = load_naptan([folder / "naptan" / f"{area}Stops.csv" for area in (120, 128, 129)])
    report = DataReport()
    sources = [TimetableSource(name="tnds", format="transxchange", path="tnds")]
    feed, date, summary = load_timetables(
        sources, resolve=lambda p: folder / p, naptan=stops, report=report
    )

    conversion = report.entries[0]
    assert conversion.dataset == "TransXChange tnds"
    assert conversion.rows_kept == 1973
    for code in TNDS_MISSING_STOPS:
        assert code in conversion.detail

    services = {
        e.dataset.rsplit(" ", 1)[1]: (e.area, e.rows_kept, e.rows_excluded)
        for e in report.entries
        if e.dataset.startswith("timetable tnds: service")
    }
    # (chosen day, trips that day, other trips); 1X runs on Sundays and holidays only.
    assert services == {
        "1X": ("service day none (no weekday service)", 0, 136),
        "20": ("service day 2014-12-15", 22, 154),
        "24": ("service day 2014-12-15", 24, 198),
        "16": ("service day 2014-12-15", 84, 638),
        "M1": ("service day 2014-05-27", 235, 482),
    }
    assert date == dt.date(2014, 12, 15)
    assert summary["trips"].tolist() == [365]
    assert trips_on(feed, date) == 365
