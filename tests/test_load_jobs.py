"""Jobs loader: nomis BRES API and web layouts, suppression, workplace zones and bad input.

The fixtures in tests/fixtures/jobs/ are synthetic (invented values in the nomis layouts):
no BRES file is available offline.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pytest

from transport_access.errors import (
    FileFormatError,
    InvalidValueError,
    MissingColumnError,
    MissingFileError,
)
from transport_access.load.jobs import load_jobs, load_jobs_optional
from transport_access.report import DataReport


@pytest.fixture
def jobs_dir(fixtures: Path) -> Path:
    return fixtures / "jobs"


def test_api_layout_keeps_latest_date_employment_and_lsoas(jobs_dir):
    report = DataReport()
    jobs = load_jobs(jobs_dir / "bres_api_lsoa2011.csv", report=report)
    assert list(jobs.columns) == ["zone_code", "zone_type", "jobs", "suppressed"]
    assert list(jobs["zone_code"]) == ["E01020398", "E01020399", "E01020400", "E01020401"]
    assert list(jobs["zone_type"]) == ["lsoa2011"] * 4
    assert jobs["jobs"].tolist()[:2] == [150.0, 2250.0]
    assert math.isnan(jobs["jobs"].iloc[2]) and jobs["jobs"].iloc[3] == 35.0
    assert list(jobs["suppressed"]) == [False, False, True, False]
    assert jobs.attrs["date"] == "2022"
    entry = report.entries[0]
    assert entry.exclusions == {
        "other dates (kept 2022)": 8,
        "other employment statuses (kept 'Employment')": 4,
        "not an LSOA or workplace zone (e.g. totals)": 1,
    }
    assert "1 suppressed" in entry.detail and "2,435 jobs" in entry.detail


def test_web_download_layout(jobs_dir):
    jobs = load_jobs(jobs_dir / "bres_web_lsoa2011.csv")
    assert list(jobs["zone_code"]) == ["E01020398", "E01020399", "E01020400"]
    assert jobs["jobs"].tolist()[:2] == [150.0, 2250.0]  # "2,250" parsed
    assert list(jobs["suppressed"]) == [False, False, True]  # "*"
    assert jobs.attrs["date"] == "2023"
    assert set(jobs["zone_type"]) == {"lsoa2011"}


def test_workplace_zones_summed_to_lsoas_through_a_lookup(jobs_dir):
    report = DataReport()
    jobs = load_jobs(
        jobs_dir / "bres_api_wz2011.csv", lookup=jobs_dir / "wz11_to_lsoa11.csv", report=report
    )
    assert jobs[["zone_code", "zone_type", "jobs"]].values.tolist() == [
        ["E01020398", "lsoa2011", 475.0],  # 400 + 75
        ["E01020399", "lsoa2011", 1200.0],
    ]
    assert report.entries[0].exclusions == {"workplace zones not in the lookup": 1}


def test_workplace_zones_kept_with_centroids(jobs_dir):
    # a path given as zones is taken as the lookup (the earlier form of the argument)
    jobs = load_jobs(jobs_dir / "bres_api_wz2011.csv", zones=jobs_dir / "wz11_centroids.csv")
    assert list(jobs["zone_type"]) == ["wz2011"] * 4
    assert list(jobs.columns) == ["zone_code", "zone_type", "jobs", "suppressed", "lon", "lat"]
    # centroids given in British National Grid metres: converted to degrees near Dorchester
    assert jobs["lon"].iloc[0] == pytest.approx(-2.4404, abs=1e-3)
    assert jobs["lat"].iloc[0] == pytest.approx(50.7133, abs=1e-3)
    assert jobs["suppressed"].tolist() == [False, False, False, True]


def test_study_zones_filter_rows_and_log_absent_zones(jobs_dir, caplog):
    import pandas as pd

    report = DataReport()
    study = pd.Series(["E01020398", "E01020400", "E01099999"], name="lsoa_code")
    with caplog.at_level(logging.WARNING, logger="transport_access"):
        jobs = load_jobs(jobs_dir / "bres_api_lsoa2011.csv", zones=study, report=report)
    assert list(jobs["zone_code"]) == ["E01020398", "E01020400"]
    assert report.entries[0].exclusions["outside the study zones"] == 2
    assert "1 study zones without a jobs row" in report.entries[0].detail
    assert "E01099999" in caplog.text


def test_workplace_zones_summed_then_filtered_to_study_lsoas(jobs_dir):
    jobs = load_jobs(
        jobs_dir / "bres_api_wz2011.csv", lookup=jobs_dir / "wz11_to_lsoa11.csv",
        zones=["E01020399"],
    )
    assert jobs[["zone_code", "jobs"]].values.tolist() == [["E01020399", 1200.0]]


def test_study_zones_of_another_vintage_are_an_error(jobs_dir):
    from transport_access.errors import OutsideStudyAreaError

    with pytest.raises(OutsideStudyAreaError, match=r"bres_api_lsoa2011.csv.*lsoa2011"):
        load_jobs(jobs_dir / "bres_api_lsoa2011.csv", zones=["E01034378", "E01034379"])


def test_no_jobs_file_says_measures_are_skipped(caplog):
    with caplog.at_level(logging.INFO, logger="transport_access"):
        assert load_jobs_optional(None) is None
    assert (
        "No jobs file configured (data.jobs): job accessibility measures will be skipped"
        in caplog.text
    )


def test_optional_with_a_path_loads(jobs_dir):
    jobs = load_jobs_optional(jobs_dir / "bres_web_lsoa2011.csv")
    assert len(jobs) == 3


# ---------------------------------------------------------------------------------------
# Bad input


def test_missing_file(tmp_path):
    with pytest.raises(MissingFileError, match="bres.csv"):
        load_jobs(tmp_path / "bres.csv")


def test_geojson_given_as_jobs(tmp_path):
    path = tmp_path / "jobs.csv"
    path.write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(FileFormatError, match="GeoJSON"):
        load_jobs(path)


def test_unknown_csv_layout(tmp_path):
    path = tmp_path / "jobs.csv"
    path.write_text("area,people\nDorset,100\n")
    with pytest.raises(FileFormatError, match="neither the nomis API"):
        load_jobs(path)


def test_missing_obs_value_column_names_it_the_file_and_what_was_found(tmp_path):
    path = tmp_path / "renamed.csv"
    path.write_text(
        "DATE,GEOGRAPHY_CODE,GEOGRAPHY_TYPE,VALUE\n"
        "2023,E01020398,2011 super output areas - lower layer,10\n"
    )
    with pytest.raises(MissingColumnError) as err:
        load_jobs(path)
    message = str(err.value)
    assert "renamed.csv" in message and "OBS_VALUE" in message and "'VALUE'" in message


def test_api_layout_without_geography_code(tmp_path):
    path = tmp_path / "nocode.csv"
    path.write_text("DATE,GEOGRAPHY_NAME,OBS_VALUE\n2023,Dorset 001A,10\n")
    with pytest.raises(MissingColumnError, match=r"nocode.csv.*GEOGRAPHY_CODE"):
        load_jobs(path)


def test_several_industries_without_a_total(tmp_path):
    path = tmp_path / "industries.csv"
    path.write_text(
        "DATE,GEOGRAPHY_CODE,GEOGRAPHY_TYPE,INDUSTRY_NAME,OBS_VALUE\n"
        "2023,E01020398,2011 super output areas - lower layer,Retail,10\n"
        "2023,E01020398,2011 super output areas - lower layer,Health,20\n"
    )
    with pytest.raises(InvalidValueError, match=r"industries.csv.*INDUSTRY_NAME"):
        load_jobs(path)


def test_duplicate_zones_are_an_error(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text(
        "DATE,GEOGRAPHY_CODE,GEOGRAPHY_TYPE,OBS_VALUE\n"
        "2023,E01020398,2011 super output areas - lower layer,10\n"
        "2023,E01020398,2011 super output areas - lower layer,20\n"
    )
    with pytest.raises(InvalidValueError, match="E01020398"):
        load_jobs(path)


def test_lsoa_2021_and_code_prefix_fallback(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text(
        "DATE,GEOGRAPHY_CODE,GEOGRAPHY_TYPE,OBS_VALUE\n"
        "2023,E01034378,2021 super output areas - lower layer,10\n"
    )
    assert load_jobs(path)["zone_type"].tolist() == ["lsoa2021"]
    untyped = tmp_path / "untyped.csv"
    untyped.write_text("DATE,GEOGRAPHY_CODE,OBS_VALUE\n2023,E33012345,5\n2023,E01020398,6\n")
    assert load_jobs(untyped)["zone_type"].tolist() == ["lsoa2011", "wz2011"]


def test_zones_file_without_usable_columns(jobs_dir, tmp_path):
    zones = tmp_path / "zones.csv"
    zones.write_text("name,area_ha\nsomewhere,10\n")
    with pytest.raises(MissingColumnError, match="zones.csv"):
        load_jobs(jobs_dir / "bres_api_wz2011.csv", zones=zones)
