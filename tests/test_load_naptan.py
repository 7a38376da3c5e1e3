"""NaPTAN stops: active stops, status by meaning, coordinates, duplicates, report."""

from __future__ import annotations

from pathlib import Path

import pytest
from shapely.geometry import box

from transport_access.errors import FileFormatError, MissingFileError
from transport_access.load.naptan import NAPTAN_COLUMNS, load_naptan
from transport_access.report import DataReport


def test_mini_file_keeps_active_stops_with_coordinates(fixtures: Path) -> None:
    report = DataReport()
    stops = load_naptan(fixtures / "txc" / "naptan_mini.csv", report=report)

    assert list(stops.columns) == NAPTAN_COLUMNS
    assert stops.crs.to_epsg() == 4326
    assert stops["atco_code"].tolist() == ["1200TEST0001", "1200TEST0002", "1200TEST0004"]
    assert stops["name"].tolist() == ["Market Place (opp)", "Church", "Hospital (Stop Hospital)"]
    assert stops["naptan_code"].tolist() == ["dorabcd", "dorabce", "dorabcf"]
    assert set(stops["locality"]) == {"Testbury"}
    assert stops["parent_locality"].isna().all()  # the fixture's ParentLocalityName is empty
    assert set(stops["admin_area"]) == {"077"}
    # The first of the duplicated ATCO codes is kept.
    assert stops.geometry.iloc[0].x == pytest.approx(-2.44)
    # Church has only Easting/Northing: converted from British National Grid.
    church = stops.geometry.iloc[1]
    assert church.x == pytest.approx(-2.43623, abs=1e-4)
    assert church.y == pytest.approx(50.71781, abs=1e-4)

    entry = report.entries[0]
    assert entry.rows_kept == 3
    assert entry.exclusions == {
        "inactive": 1,
        "no coordinates": 1,
        "duplicate ATCO code": 1,
    }


def test_status_found_by_values_when_header_is_short(fixtures: Path, tmp_path: Path) -> None:
    # Drop the last header name: the data rows now have one field more than the header.
    lines = (fixtures / "txc" / "naptan_mini.csv").read_text().splitlines()
    lines[0] = lines[0].rsplit(",", 1)[0]
    path = tmp_path / "120Stops.csv"
    path.write_text("\n".join(lines) + "\n")

    stops = load_naptan(path)

    assert stops["atco_code"].tolist() == ["1200TEST0001", "1200TEST0002", "1200TEST0004"]
    assert stops["name"].iloc[0] == "Market Place (opp)"


def test_no_status_column_is_an_error(fixtures: Path, tmp_path: Path) -> None:
    lines = (fixtures / "txc" / "naptan_mini.csv").read_text().splitlines()
    cut = [line.rsplit(",", 1)[0] for line in lines]
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(cut) + "\n")
    with pytest.raises(FileFormatError, match="bad.csv.*status"):
        load_naptan(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MissingFileError, match="nope.csv"):
        load_naptan(tmp_path / "nope.csv")


def test_area_filter_reports_outside(fixtures: Path) -> None:
    report = DataReport()
    area = box(-2.45, 50.70, -2.43, 50.72)
    stops = load_naptan(fixtures / "txc" / "naptan_mini.csv", area=area, report=report)
    assert stops["atco_code"].tolist() == ["1200TEST0001", "1200TEST0002"]
    assert report.entries[0].exclusions["outside area"] == 1

    wide = load_naptan(fixtures / "txc" / "naptan_mini.csv", area=area, buffer_km=1.0)
    assert len(wide) == 3


@pytest.mark.shared_data
def test_real_dorset_poole_bournemouth(shared_data: Path) -> None:
    folder = shared_data / "dorset" / "naptan"
    report = DataReport()
    stops = load_naptan(
        [folder / "120Stops.csv", folder / "128Stops.csv", folder / "129Stops.csv"],
        report=report,
    )
    kept = {e.dataset: (e.rows_kept, e.exclusions) for e in report.entries}
    assert kept == {
        "NaPTAN stops 120Stops.csv": (3198, {"inactive": 649}),
        "NaPTAN stops 128Stops.csv": (899, {"inactive": 3}),
        "NaPTAN stops 129Stops.csv": (888, {"inactive": 4}),
    }
    assert len(stops) == 3198 + 899 + 888
    assert stops["atco_code"].is_unique
    bounds = stops.total_bounds
    assert -3.0 < bounds[0] and bounds[2] < -1.6 and 50.5 < bounds[1] and bounds[3] < 51.1

    # ParentLocalityName: the suburb Charminster belongs to Bournemouth; the village of the
    # same name near Dorchester, and the towns themselves, have no parent.
    charminster = stops[stops["locality"] == "Charminster"]
    suburb = charminster["atco_code"].str.startswith("129")
    assert (charminster.loc[suburb, "parent_locality"] == "Bournemouth").all()
    assert suburb.sum() == 43 and charminster.loc[~suburb, "parent_locality"].isna().all()
    assert stops["parent_locality"].value_counts().head(4).to_dict() == {
        "Poole": 801, "Bournemouth": 757, "Weymouth": 232, "Christchurch": 216
    }
    assert stops.loc[stops["locality"] == "Poole", "parent_locality"].isna().all()


@pytest.mark.shared_data
def test_real_rail_stations_use_grid_refs_where_lonlat_missing(shared_data: Path) -> None:
    report = DataReport()
    stations = load_naptan(shared_data / "dorset" / "naptan" / "910Stops.csv", report=report)
    assert len(stations) == 2721
    assert report.entries[0].exclusions == {"inactive": 44}
    assert stations.geometry.notna().all() and not stations.geometry.is_empty.any()


@pytest.mark.shared_data
def test_real_area_with_buffer(shared_data: Path) -> None:
    import geopandas as gpd

    lsoas = gpd.read_file(shared_data / "dorset" / "lsoa" / "dorset_bcp_lsoa11_bgc_wgs84.geojson")
    folder = shared_data / "dorset" / "naptan"
    files = [folder / f"{code}Stops.csv" for code in (120, 128, 129, 910)]
    report = DataReport()
    stops = load_naptan(files, area=lsoas, buffer_km=10, report=report)
    assert len(stops) == 5017
    outside = {e.dataset: e.exclusions.get("outside area", 0) for e in report.entries}
    # Nearly every GB rail station is outside Dorset and BCP.
    assert outside["NaPTAN stops 910Stops.csv"] > 2600
    assert len(load_naptan(files, area=lsoas.union_all())) == 5000
