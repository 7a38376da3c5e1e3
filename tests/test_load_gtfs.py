"""GTFS: reading, checks, merging, service days, alignment and a study's timetables."""

from __future__ import annotations

import datetime as dt
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from transport_access.config import TimetableSource
from transport_access.errors import (
    FileFormatError,
    InvalidValueError,
    MissingFileError,
    NoServiceError,
)
from transport_access.load.gtfs import (
    ALIGNED_BOTH_DAYS,
    ALIGNED_DAY,
    ALIGNED_PREVIOUS_DAY,
    align_service_day,
    busiest_weekday,
    check_feed,
    choose_service_day,
    daily_trip_counts,
    feed_date_range,
    load_timetables,
    merge_feeds,
    read_gtfs,
    service_ids_on,
    time_to_seconds,
    trips_on,
)
from transport_access.report import DataReport


@pytest.fixture()
def mini_dir(fixtures: Path) -> Path:
    return fixtures / "gtfs" / "mini"


@pytest.fixture()
def mini_zip(mini_dir: Path, tmp_path: Path) -> Path:
    path = tmp_path / "mini.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(mini_dir.glob("*.txt")):
            archive.write(file, file.name)
    return path


@pytest.fixture()
def mini(mini_dir: Path):
    return read_gtfs(mini_dir, name="mini")


def _copy_with(mini_dir: Path, tmp_path: Path, stop_times: str) -> Path:
    folder = tmp_path / "feed"
    shutil.copytree(mini_dir, folder)
    (folder / "stop_times.txt").write_text(stop_times)
    return folder


# --------------------------------------------------------------------------- reading


def test_read_zip_and_folder_alike(mini_zip: Path, mini) -> None:
    zipped = read_gtfs(mini_zip, name="mini")
    assert zipped.trips["trip_id"].tolist() == ["T1", "T2", "T3", "T4", "T5", "F1"]
    assert len(zipped.stop_times) == len(mini.stop_times) == 15
    assert zipped.frequencies["headway_secs"].tolist() == [600]
    # Empty times at a non-timepoint stay missing.
    assert mini.stop_times["arrival_time"].isna().sum() == 1


def test_read_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MissingFileError, match="nothing.zip"):
        read_gtfs(tmp_path / "nothing.zip")


def test_read_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "feed.zip"
    path.write_text("stop_id,stop_name\n")
    with pytest.raises(FileFormatError, match="feed.zip: GTFS feed 'x' is not a zip file"):
        read_gtfs(path, name="x")


def test_read_missing_stop_times(mini_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "partial.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for file in mini_dir.glob("*.txt"):
            if file.name != "stop_times.txt":
                archive.write(file, file.name)
    with pytest.raises(FileFormatError, match=r"partial.zip: .*has no stop_times.txt"):
        read_gtfs(path)


def test_read_tables_in_a_subfolder(mini_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "nested.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for file in mini_dir.glob("*.txt"):
            archive.write(file, f"mini/{file.name}")
    with pytest.raises(FileFormatError, match="inside a folder of the zip"):
        read_gtfs(path)


# --------------------------------------------------------------------------- checks


def test_time_to_seconds() -> None:
    seconds = time_to_seconds(pd.Series(["08:00:00", "24:10:05", None, "7:05:00"]))
    assert seconds.tolist()[:2] == [28800.0, 87005.0]
    assert pd.isna(seconds.iloc[2])
    assert seconds.iloc[3] == 25500.0


def test_check_passes_clean_feed(mini) -> None:
    assert check_feed(mini, path="mini") is mini


def test_check_negative_dwell(mini_dir: Path, tmp_path: Path) -> None:
    folder = _copy_with(
        mini_dir,
        tmp_path,
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "T1,08:00:00,08:00:00,S1,1\nT1,08:10:00,08:09:00,S2,2\nT1,08:20:00,08:20:00,S3,3\n",
    )
    feed = read_gtfs(folder)
    with pytest.raises(InvalidValueError, match=r"trip_id 'T1' at stop_sequence 2 departs"):
        check_feed(feed, path=folder / "stop_times.txt")


def test_check_times_out_of_order(mini_dir: Path, tmp_path: Path) -> None:
    folder = _copy_with(
        mini_dir,
        tmp_path,
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "T2,09:00:00,09:00:00,S1,1\nT2,,,S2,2\nT2,08:50:00,08:50:00,S3,3\n"
        "T1,08:00:00,08:00:00,S1,1\nT1,08:10:00,08:10:00,S2,2\n",
    )
    feed = read_gtfs(folder)
    with pytest.raises(InvalidValueError, match=r"trip_id 'T2' at stop_sequence 3 .*out of order"):
        check_feed(feed, path=folder)


def test_check_unknown_stops_and_trips_are_reported(mini_dir: Path, tmp_path: Path) -> None:
    folder = _copy_with(
        mini_dir,
        tmp_path,
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "T1,08:00:00,08:00:00,S1,1\nT1,08:10:00,08:10:00,S9,2\nT1,08:20:00,08:20:00,S3,3\n"
        "TX,08:00:00,08:00:00,S1,1\nTX,08:10:00,08:10:00,S2,2\n",
    )
    report = DataReport()
    feed = check_feed(read_gtfs(folder), path=folder, name="mini", report=report)
    assert feed.stop_times["trip_id"].tolist() == ["T1", "T1"]
    assert feed.trips["trip_id"].tolist() == ["T1"]
    assert report.entries[0].exclusions == {
        "stop_times rows at unknown stops": 1,
        "stop_times rows of unknown trips": 2,
        "trips without stop times": 5,
    }


# --------------------------------------------------------------------------- service days


def test_service_ids_and_trips_on(mini) -> None:
    assert service_ids_on(mini, dt.date(2024, 1, 17)) == {"WK", "EX"}
    assert service_ids_on(mini, dt.date(2024, 1, 15)) == set()
    assert trips_on(mini, dt.date(2024, 1, 16)) == 4
    assert trips_on(mini, dt.date(2024, 1, 17)) == 5
    assert trips_on(mini, dt.date(2024, 1, 20)) == 1
    assert feed_date_range(mini) == (dt.date(2024, 1, 1), dt.date(2024, 1, 31))


def test_daily_counts_follow_the_calendar_rule(mini) -> None:
    first, last = dt.date(2023, 12, 30), dt.date(2024, 2, 2)
    counts = daily_trip_counts(mini, first, last)
    expected = [trips_on(mini, day) for day in counts.index]
    assert counts.tolist() == expected
    assert counts[dt.date(2024, 1, 15)] == 0
    assert counts[dt.date(2024, 1, 17)] == 5
    assert counts[dt.date(2024, 2, 1)] == 0


def test_busiest_weekday(mini) -> None:
    assert busiest_weekday(mini) == dt.date(2024, 1, 17)
    # Ties go to the earliest date.
    assert busiest_weekday(mini, exclude=[dt.date(2024, 1, 17)]) == dt.date(2024, 1, 1)


def test_choose_service_day(mini) -> None:
    assert choose_service_day(mini, "representative_weekday", path="p", name="mini") == dt.date(
        2024, 1, 17
    )
    assert choose_service_day(mini, dt.date(2024, 1, 20), path="p", name="mini") == dt.date(
        2024, 1, 20
    )


@pytest.mark.parametrize("day", [dt.date(2024, 1, 15), dt.date(2025, 6, 2)])
def test_choose_service_day_without_service(mini, day: dt.date) -> None:
    with pytest.raises(NoServiceError) as error:
        choose_service_day(mini, day, path="feeds/mini.zip", name="mini")
    message = str(error.value)
    assert "'mini' (feeds/mini.zip)" in message
    assert str(day) in message
    assert "from 2024-01-01 to 2024-01-31" in message
    assert "representative_weekday" in message


def test_align_saturday_keeps_friday_night_trips(mini) -> None:
    target = dt.date(2030, 6, 5)
    aligned = align_service_day(mini, dt.date(2024, 1, 20), target)

    services = dict(zip(aligned.trips["trip_id"], aligned.trips["service_id"], strict=True))
    assert services == {"T3": ALIGNED_DAY, "T5": ALIGNED_PREVIOUS_DAY, "F1": ALIGNED_PREVIOUS_DAY}
    assert aligned.calendar is None
    assert aligned.calendar_dates.to_dict("list") == {
        "service_id": [ALIGNED_DAY, ALIGNED_PREVIOUS_DAY],
        "date": ["20300605", "20300604"],
        "exception_type": [1, 1],
    }
    assert service_ids_on(aligned, target) == {ALIGNED_DAY}
    assert service_ids_on(aligned, dt.date(2030, 6, 4)) == {ALIGNED_PREVIOUS_DAY}
    assert sorted(aligned.stop_times["trip_id"].unique()) == ["F1", "T3", "T5"]
    assert aligned.frequencies["trip_id"].tolist() == ["F1"]
    # The original feed is untouched.
    assert mini.calendar is not None and len(mini.trips) == 6


def test_align_weekday_marks_trips_of_both_days(mini) -> None:
    aligned = align_service_day(mini, dt.date(2024, 1, 17), dt.date(2030, 6, 5))
    services = dict(zip(aligned.trips["trip_id"], aligned.trips["service_id"], strict=True))
    assert services == {
        "T1": ALIGNED_DAY,
        "T2": ALIGNED_DAY,
        "T4": ALIGNED_DAY,
        "T5": ALIGNED_BOTH_DAYS,
        "F1": ALIGNED_BOTH_DAYS,
    }
    assert service_ids_on(aligned, dt.date(2030, 6, 5)) == {ALIGNED_DAY, ALIGNED_BOTH_DAYS}
    assert trips_on(aligned, dt.date(2030, 6, 5)) == 5
    assert trips_on(aligned, dt.date(2030, 6, 4)) == 2


# --------------------------------------------------------------------------- merging


def test_merge_prefixes_every_id(mini) -> None:
    merged = merge_feeds({"a": mini, "b": mini})

    assert len(merged.trips) == 12
    assert merged.trips["trip_id"].tolist()[:2] == ["a:T1", "a:T2"]
    assert merged.trips["trip_id"].tolist()[6:8] == ["b:T1", "b:T2"]
    assert merged.trips["service_id"].tolist()[:4] == ["a:WK", "a:WK", "a:SA", "a:EX"]
    assert merged.trips["block_id"].tolist()[:3] == ["a:B1", "a:B1", pd.NA]
    assert merged.trips["shape_id"].tolist()[0] == "a:SH1"
    assert merged.agency["agency_id"].tolist() == ["a:A1", "b:A1"]
    assert merged.routes["agency_id"].tolist() == ["a:A1", "a:A1", "b:A1", "b:A1"]
    assert merged.stops["stop_id"].tolist()[:5] == ["a:S1", "a:S2", "a:S3", "a:S4", "a:ST"]
    assert merged.stops["parent_station"].tolist()[:3] == [pd.NA, pd.NA, "a:ST"]
    assert merged.stops["zone_id"].tolist()[:3] == ["a:Z1", "a:Z1", "a:Z2"]
    assert set(merged.stop_times["stop_id"]) == {f"{p}:S{i}" for p in "ab" for i in range(1, 5)}
    assert merged.frequencies["trip_id"].tolist() == ["a:F1", "b:F1"]
    assert merged.calendar["service_id"].tolist() == ["a:WK", "a:SA", "b:WK", "b:SA"]
    assert merged.calendar_dates["service_id"].tolist() == ["a:WK", "a:EX", "b:WK", "b:EX"]
    assert merged.transfers[["from_stop_id", "to_stop_id"]].values.tolist() == [
        ["a:S3", "a:ST"],
        ["b:S3", "b:ST"],
    ]
    assert merged.shapes["shape_id"].unique().tolist() == ["a:SH1", "b:SH1"]
    assert service_ids_on(merged, dt.date(2024, 1, 17)) == {"a:WK", "a:EX", "b:WK", "b:EX"}
    # The inputs keep their own IDs.
    assert mini.trips["trip_id"].iloc[0] == "T1"


def test_merge_needs_a_feed() -> None:
    with pytest.raises(ValueError, match="at least one feed"):
        merge_feeds({})


# --------------------------------------------------------------------------- load_timetables


def test_load_timetables_aligns_on_the_explicit_date(mini_dir: Path, mini_zip: Path) -> None:
    sources = [
        TimetableSource(name="town", format="gtfs", path=str(mini_dir)),
        TimetableSource(
            name="copy", format="gtfs", path=str(mini_zip), service_day=dt.date(2024, 1, 20)
        ),
    ]
    report = DataReport()
    feed, date, summary = load_timetables(sources, resolve=Path, report=report)

    assert date == dt.date(2024, 1, 20)
    assert summary.to_dict("list") == {
        "name": ["town", "copy"],
        "format": ["gtfs", "gtfs"],
        "mode": ["bus", "bus"],
        "service_day": ["2024-01-17", "2024-01-20"],
        "trips": [5, 1],
        "routes": [2, 2],
        "stops": [5, 5],
    }
    on_day = {
        t
        for t, s in zip(feed.trips["trip_id"], feed.trips["service_id"], strict=True)
        if s in service_ids_on(feed, date)
    }
    assert on_day == {"town:T1", "town:T2", "town:T4", "town:T5", "town:F1", "copy:T3"}
    assert [e.dataset for e in report.entries] == ["timetable town", "timetable copy"]
    assert report.entries[1].exclusions == {"trips not running on the service day": 5}


def test_load_timetables_no_service(mini_dir: Path) -> None:
    sources = [
        TimetableSource(name="town", format="gtfs", path=str(mini_dir), service_day="2024-01-15")
    ]
    with pytest.raises(NoServiceError, match="'town'.*2024-01-15"):
        load_timetables(sources, resolve=Path)


def test_load_timetables_reads_rail_cif(fixtures: Path) -> None:
    sources = [TimetableSource(name="rail", format="cif", path="mini.mca")]
    feed, day, summary = load_timetables(sources, resolve=lambda p: fixtures / "cif" / p)
    assert summary["format"].tolist() == ["cif"]
    assert summary["trips"].iloc[0] > 0
    assert feed.trips["trip_id"].str.startswith("rail:").all()


# --------------------------------------------------------------------------- real data


@pytest.mark.shared_data
@pytest.mark.slow
def test_porto_alegre_feeds_merged(shared_data: Path) -> None:
    folder = shared_data / "porto-alegre"
    sources = [
        TimetableSource(name="eptc", format="gtfs", path="poa_eptc.zip"),
        TimetableSource(
            name="trensurb",
            format="gtfs",
            path="poa_trensurb.zip",
            service_day=dt.date(2019, 5, 13),
            mode="rail",
        ),
    ]
    feed, date, summary = load_timetables(sources, resolve=lambda p: folder / p)

    assert date == dt.date(2019, 5, 13)
    assert summary[["name", "service_day", "trips", "routes", "stops"]].to_dict("list") == {
        "name": ["eptc", "trensurb"],
        "service_day": ["2019-04-15", "2019-05-13"],
        "trips": [2374, 529],
        "routes": [115, 2],
        "stops": [3986, 24],
    }
    assert trips_on(feed, date) == 2903
    assert feed.trips["trip_id"].is_unique
    assert feed.stops["stop_id"].str.match(r"^(eptc|trensurb):").all()
