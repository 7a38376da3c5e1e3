"""The Dorset study loads end to end, with the figures the data report must show."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT
from transport_access.config import load_study
from transport_access.study_data import load_study_data


@pytest.fixture(scope="module")
def dorset(shared_data: Path):
    return load_study_data(load_study(PROJECT_ROOT / "configs" / "dorset.yaml",
                                      data_root=shared_data))


def _row(report, dataset: str):
    frame = report.to_frame()
    rows = frame[frame["dataset"] == dataset]
    assert len(rows) == 1, f"no single report row for {dataset!r}: {frame['dataset'].tolist()}"
    return rows.iloc[0]


def test_452_lsoas_with_population_and_imd(dorset):
    lsoas = dorset.lsoas
    assert len(lsoas) == 452
    assert lsoas["lad_code"].value_counts().to_dict() == {"E06000058": 233, "E06000059": 219}
    assert lsoas["population"].notna().all() and (lsoas["population"] > 0).all()
    assert lsoas["imd_decile"].between(1, 10).all()
    assert _row(dorset.report, "lsoas")["rows_kept"] == 452


def test_schools_by_category_with_both_local_fe_colleges(dorset):
    schools = dorset.schools
    fe = set(schools.loc[schools["category"] == "further-education", "name"])
    assert "The Bournemouth and Poole College" in fe
    assert "Weymouth and Kingston Maurward College" in fe
    counts = schools["category"].value_counts()
    assert counts["primary"] > 200 and counts["secondary"] > 40
    detail = _row(dorset.report, "schools")["detail"]
    assert "further-education 3 (The Bournemouth and Poole College, Weymouth and Kingston " \
           "Maurward College, Yeovil College)" in detail


def test_69_of_70_nhs_dorset_practices_geocoded_and_the_70th_listed(dorset):
    practices = dorset.gp[dorset.gp["kind"] == "practice"]
    assert len(practices) == 69
    assert practices.geometry.notna().all()
    row = _row(dorset.report, "gp practices")
    assert "1 not geocoded" in row["reason"]
    assert "J81646" in row["detail"] and "BH23 2FQ" in row["detail"]


def test_active_naptan_stops_of_the_three_areas(dorset):
    kept = {area: _row(dorset.report, f"NaPTAN stops {area}Stops.csv")["rows_kept"]
            for area in ("120", "128", "129")}
    assert kept == {"120": 3198, "128": 899, "129": 888}
    assert len(dorset.stops) == sum(kept.values())


def test_five_transxchange_services_with_trip_counts(dorset):
    frame = dorset.report.to_frame()
    services = frame[frame["dataset"].str.startswith("timetable tnds: service ")]
    trips = dict(zip(services["dataset"].str.rsplit(" ", n=1).str[-1], services["detail"],
                     strict=True))
    assert sorted(trips) == ["16", "1X", "20", "24", "M1"]
    in_file = {k: int(v.split(" trips in file")[0].rsplit(" ", 1)[-1]) for k, v in trips.items()}
    assert in_file == {"1X": 136, "20": 176, "24": 222, "16": 722, "M1": 717}
    assert dorset.feed is not None and len(dorset.feed.trips) > 300


def test_jobs_missing_offline_is_said_plainly(dorset):
    assert dorset.jobs is None
    assert "no jobs file configured" in _row(dorset.report, "jobs")["detail"]
