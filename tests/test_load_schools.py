"""Schools loader: GIAS classification, open status, coordinates, study area and bad input."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
import shapely

from transport_access.errors import (
    FileFormatError,
    MissingColumnError,
    MissingFileError,
    OutsideStudyAreaError,
)
from transport_access.load.schools import classify_establishment, load_schools
from transport_access.report import DataReport

HEADER = [
    "URN", "LA (code)", "LA (name)", "EstablishmentNumber", "EstablishmentName",
    "TypeOfEstablishment (name)", "EstablishmentTypeGroup (name)", "EstablishmentStatus (name)",
    "PhaseOfEducation (name)", "NumberOfPupils", "PercentageFSM", "Easting", "Northing",
    "LSOA (code)", "ParliamentaryConstituency (code)",
]

# Invented establishments around Dorchester (about 369000 E, 90500 N) and one in Leeds.
ROWS = [
    ("900001", "St Ælfric\u2019s Primary", "Academy converter", "Open", "Primary", "210",
     369000, 90500),
    ("900002", "Downland Academy", "Academy sponsor led", "Open", "Secondary", "1100",
     369500, 91000),
    ("900003", "Valley College", "Further education", "Open", "16 plus", "", 368000, 89500),
    ("900004", "Town Sixth Form", "Academy 16-19 converter", "Open", "16 plus", "600",
     370000, 90000),
    ("900005", "Hill School", "Community special school", "Open", "Not applicable", "80",
     369200, 90700),
    ("900006", "Old Board School", "Community school", "Closed", "Primary", "", 369100, 90600),
    ("900007", "Tiny Tots", "Local authority nursery school", "Open", "Nursery", "40",
     369300, 90300),
    ("900008", "Overseas School", "British schools overseas", "Open", "Not applicable", "", "",
     ""),
    ("900009", "Leeds Primary", "Community school", "Open", "Primary", "300", 430000, 433000),
    ("900010", "Coast Middle", "Foundation school", "Open, but proposed to close",
     "Middle deemed secondary", "350", 368500, 91500),
]


def _gias(path: Path, rows: list[tuple], *, header: list[str] = HEADER, swap: bool = False) -> Path:
    with open(path, "w", newline="", encoding="cp1252") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for urn, name, kind, status, phase, pupils, east, north in rows:
            if swap:
                east, north = north, east
            writer.writerow([urn, "838", "Dorset", "1", name, kind, "x", status, phase, pupils,
                             "", east, north, "E01020398", "E14001203"])
    return path


def _around_dorchester() -> shapely.Geometry:
    """A small box around Dorchester, in degrees (EPSG:4326)."""
    return shapely.box(-2.46, 50.70, -2.41, 50.73)


@pytest.mark.parametrize(
    ("kind", "phase", "category"),
    [
        ("Academy converter", "Primary", "primary"),
        ("Community school", "Middle deemed primary", "primary"),
        ("Academy sponsor led", "Secondary", "secondary"),
        ("Foundation school", "Middle deemed secondary", "secondary"),
        ("Free schools", "All-through", "all-through"),
        ("Further education", "16 plus", "further-education"),
        ("Academy 16-19 converter", "16 plus", "post-16"),
        ("Free schools 16 to 19", "16 plus", "post-16"),
        ("Sixth form centres", "Not applicable", "post-16"),
        ("Community special school", "Not applicable", "special"),
        ("Academy special converter", "Not applicable", "special"),
        ("Other independent special school", "Not applicable", "special"),
        ("Special post 16 institution", "Not applicable", "special"),
        ("Pupil referral unit", "Not applicable", "alternative-provision"),
        ("Academy alternative provision converter", "Not applicable", "alternative-provision"),
        ("Other independent school", "Not applicable", "independent"),
        ("Local authority nursery school", "Nursery", "nursery"),
        ("Online provider", "Secondary", "other"),
        ("Higher education institutions", "Not applicable", "other"),
        ("Welsh establishment", "Not applicable", "other"),
        ("Secure units", "Not applicable", "other"),
        ("British schools overseas", "Not applicable", "other"),
    ],
)
def test_classification(kind, phase, category):
    assert classify_establishment(kind, phase) == category


def test_synthetic_file_is_classified_filtered_and_reported(tmp_path):
    path = _gias(tmp_path / "edubase.csv", ROWS)
    report = DataReport()
    schools = load_schools(path, area=_around_dorchester(), buffer_km=2, report=report)
    assert list(schools["urn"]) == ["900001", "900002", "900003", "900004", "900005", "900007",
                                    "900010"]
    assert list(schools["category"]) == [
        "primary", "secondary", "further-education", "post-16", "special", "nursery",
        "secondary",
    ]
    assert schools.loc[0, "name"] == "St Ælfric\u2019s Primary"  # cp1252 read correctly
    assert schools["pupils"].isna().sum() == 1  # the college: kept, NaN
    assert schools.loc[1, "pupils"] == 1100.0
    assert schools.crs.to_epsg() == 4326
    assert list(schools.columns) == ["urn", "name", "category", "establishment_type", "phase",
                                     "pupils", "la_name", "lsoa_code", "sixth_form",
                                     "geometry"]
    # Without an OfficialSixthForm or StatutoryHighAge column the schools' sixth forms are
    # unknown; colleges and 16-19 schools always teach 16-18 year olds; a nursery never.
    assert schools["sixth_form"].tolist() == [pd.NA, pd.NA, True, True, False, False, pd.NA]
    assert "school sixth forms unknown" in report.entries[0].detail
    entry = report.entries[0]
    assert entry.exclusions == {
        "status Closed": 1,
        "without coordinates": 1,
        "outside the study area + 2 km": 1,
    }
    assert "primary 1, secondary 2" in entry.detail
    assert "1 without a pupil count" in entry.detail


@pytest.mark.parametrize("column, values", [
    ("OfficialSixthForm (name)", {"900002": "Has a sixth form", "900010": "Does not have a "
                                  "sixth form", "900001": "Does not have a sixth form"}),
    ("StatutoryHighAge", {"900002": "18", "900010": "13", "900001": "11"}),
])
def test_school_sixth_forms_from_either_column(tmp_path, column, values):
    header = [*HEADER, column]
    path = tmp_path / "edubase.csv"
    with open(path, "w", newline="", encoding="cp1252") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for urn, name, kind, status, phase, pupils, east, north in ROWS:
            writer.writerow([urn, "838", "Dorset", "1", name, kind, "x", status, phase, pupils,
                             "", east, north, "E01020398", "E14001203", values.get(urn, "")])
    report = DataReport()
    schools = load_schools(path, area=_around_dorchester(), buffer_km=2, report=report)
    flags = dict(zip(schools["urn"], schools["sixth_form"], strict=True))
    assert flags == {"900001": False, "900002": True, "900003": True, "900004": True,
                     "900005": False, "900007": False, "900010": False}
    assert "1 schools with a sixth form" in report.entries[0].detail


def test_without_area_keeps_every_located_school(tmp_path):
    schools = load_schools(_gias(tmp_path / "e.csv", ROWS), area=None)
    assert len(schools) == 8


# ---------------------------------------------------------------------------------------
# Bad input


def test_missing_file(tmp_path):
    with pytest.raises(MissingFileError, match="absent.csv"):
        load_schools(tmp_path / "absent.csv")


def test_geojson_given_as_gias_csv(tmp_path):
    path = tmp_path / "schools.csv"
    path.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    with pytest.raises(FileFormatError, match=r"schools.csv.*GeoJSON"):
        load_schools(path)


def test_zip_given_as_gias_csv(tmp_path):
    import zipfile

    path = tmp_path / "edubase.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("edubase.csv", "URN\n1\n")
    with pytest.raises(FileFormatError, match="ZIP"):
        load_schools(path)


def test_missing_northing_column_names_it_and_what_was_found(tmp_path):
    header = [h if h != "Northing" else "Y" for h in HEADER]
    path = _gias(tmp_path / "renamed.csv", ROWS, header=header)
    with pytest.raises(MissingColumnError) as err:
        load_schools(path)
    message = str(err.value)
    assert "renamed.csv" in message and "Northing" in message and "'URN'" in message


def test_swapped_easting_northing_is_detected(tmp_path):
    path = _gias(tmp_path / "swapped.csv", ROWS, swap=True)
    with pytest.raises(OutsideStudyAreaError, match="swapped"):
        load_schools(path, area=_around_dorchester(), buffer_km=0)


def test_longitude_latitude_in_easting_northing_is_detected(tmp_path):
    rows = [r[:6] + (-2.44, 50.71) for r in ROWS]
    with pytest.raises(OutsideStudyAreaError, match="longitude/latitude"):
        load_schools(_gias(tmp_path / "degrees.csv", rows), area=_around_dorchester())


def test_nothing_in_the_area_names_the_file(tmp_path):
    far = shapely.box(-4.2, 50.3, -4.1, 50.4)  # Plymouth
    with pytest.raises(OutsideStudyAreaError, match=r"elsewhere.csv.*none of the 8"):
        load_schools(_gias(tmp_path / "elsewhere.csv", ROWS), area=far, buffer_km=1)


# ---------------------------------------------------------------------------------------
# Real data


@pytest.mark.shared_data
def test_real_gias_dorset_and_bcp_plus_10_km(shared_data):
    from transport_access.load.lsoa import load_lsoa_boundaries, study_area_polygon

    d = shared_data / "dorset"
    area = study_area_polygon(
        load_lsoa_boundaries(d / "lsoa" / "dorset_bcp_lsoa11_bgc_wgs84.geojson")
    )
    report = DataReport()
    schools = load_schools(
        d / "schools" / "edubase_open_20250524_england_wales_subset.csv.gz",
        area=area, buffer_km=10, report=report,
    )
    assert schools["category"].value_counts().to_dict() == {
        "primary": 287, "secondary": 65, "special": 42, "independent": 31,
        "alternative-provision": 9, "all-through": 4, "further-education": 3, "other": 3,
    }
    colleges = schools[schools["category"] == "further-education"].set_index("urn")["name"]
    assert colleges.to_dict() == {
        "130652": "The Bournemouth and Poole College",
        "130653": "Weymouth and Kingston Maurward College",
        "130805": "Yeovil College",
    }
    assert schools["urn"].is_unique
    assert report.entries[0].exclusions["without coordinates"] == 619
