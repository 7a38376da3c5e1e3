"""GP loader: ODS practices and branches, postcode geocoding, selection and bad input."""

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
from transport_access.load.gp import load_gp_practices, normalise_postcode
from transport_access.report import DataReport


def _ods_row(code: str, name: str, postcode: str, *, close: str = "", status: str = "",
             commissioner: str = "", setting: str = "", parent: str = "") -> list[str]:
    row = [""] * 27
    row[0], row[1], row[9], row[10], row[11] = code, name, postcode, "20040401", close
    row[12] = status
    row[14] = parent or commissioner
    row[25] = setting
    return row


def _write_rows(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, quoting=csv.QUOTE_ALL).writerows(rows)
    return path


@pytest.fixture
def ods(tmp_path: Path) -> dict[str, Path]:
    """Synthetic epraccur, ebranchs and a Code-Point Open folder (values invented)."""
    practices = [
        _ods_row("J90001", "HILL SURGERY", "dt1 1aa", status="A", commissioner="11J",
                 setting="4"),
        _ods_row("J90002", "VALE PRACTICE", "BH154JQ", status="A", commissioner="11J",
                 setting="4"),
        _ods_row("J90003", "NEW ESTATE SURGERY", "BH23 2FQ", status="A", commissioner="11J",
                 setting="4"),
        _ods_row("J90004", "OLD SURGERY", "DT1 1AB", close="20200101", status="C",
                 commissioner="11J", setting="4"),
        _ods_row("J90005", "WALK-IN CENTRE", "DT1 1AB", status="A", commissioner="11J",
                 setting="1"),
        _ods_row("K90001", "ELSEWHERE SURGERY", "DT1 1AB", status="A", commissioner="92G",
                 setting="4"),
    ]
    branches = [
        _ods_row("J90001001", "HILL BRANCH", "DT1 1AB", parent="J90001"),
        _ods_row("J90001002", "HILL SAME SITE", "DT1  1AA", parent="J90001"),
        _ods_row("J90002001", "VALE CLOSED BRANCH", "BH15 2HX", close="20190331",
                 parent="J90002"),
        _ods_row("J90004001", "BRANCH OF CLOSED", "DT1 1AD", parent="J90004"),
    ]
    folder = tmp_path / "codepoint"
    folder.mkdir()
    (folder / "Code-Point_Open_Column_Headers.csv").write_text(
        "PC,PQ,EA,NO,CY,RH,LH,CC,DC,WC\nPostcode,Positional_quality_indicator,Eastings,"
        "Northings,Country_code,NHS_regional_HA_code,NHS_HA_code,Admin_county_code,"
        "Admin_district_code,Admin_ward_code\n"
    )
    (folder / "dt.csv").write_text(
        '"DT1 1AA",10,369000,90500,"E92000001","","","","",""\n'
        '"DT1 1AB",10,369800,90700,"E92000001","","","","",""\n'
        '"DT1 1AD",10,369200,90300,"E92000001","","","","",""\n'
    )
    (folder / "bh.csv").write_text(
        '"BH154JQ",10,401000,91000,"E92000001","","","","",""\n'
        '"BH152HX",10,401500,90800,"E92000001","","","","",""\n'
    )
    return {
        "practices": _write_rows(tmp_path / "epraccur.csv", practices),
        "branches": _write_rows(tmp_path / "ebranchs.csv", branches),
        "postcodes": folder,
    }


def test_normalise_postcode():
    raw = pd.Series(["bh15 4jq", "BH154JQ", " BH15   4JQ ", "DT11AA", "", None])
    assert list(normalise_postcode(raw)) == ["BH15 4JQ", "BH15 4JQ", "BH15 4JQ", "DT1 1AA", "",
                                             ""]


def test_commissioner_selection_branches_and_ungeocoded_listed(ods, caplog):
    report = DataReport()
    with caplog.at_level("WARNING"):
        gp = load_gp_practices(
            ods["practices"], postcodes=ods["postcodes"], branches=ods["branches"],
            commissioners=["11J"], report=report,
        )
    assert list(gp["code"]) == ["J90001", "J90001001", "J90002"]
    assert list(gp["kind"]) == ["practice", "branch", "practice"]
    assert list(gp["parent_code"]) == ["J90001", "J90001", "J90002"]
    assert list(gp["postcode"]) == ["DT1 1AA", "DT1 1AB", "BH15 4JQ"]
    assert list(gp["commissioner"]) == ["11J"] * 3
    assert gp.crs.to_epsg() == 4326
    assert list(gp.columns) == ["code", "name", "kind", "parent_code", "postcode",
                                "commissioner", "geometry"]
    entry = report.entries[0]
    assert entry.exclusions == {
        "closed": 1,
        "not a GP practice (prescribing setting other than 4)": 1,
        "other commissioners": 1,
        "branches closed": 1,
        "branches at a postcode their practice already has (same site)": 1,
        "not geocoded (postcode not found)": 1,
    }
    assert "practice J90003 NEW ESTATE SURGERY (BH23 2FQ)" in entry.detail
    assert "2 practices and 1 branch surgeries" in entry.detail
    assert "BH23 2FQ" in caplog.text


def test_area_selection_and_ons_postcode_directory(ods, tmp_path):
    onspd = tmp_path / "onspd.csv"
    onspd.write_text(
        "pcd,pcds,doterm,oseast1m,osnrth1m,lat,long\n"
        "DT1 1AA,DT1 1AA,,369000,90500,50.71,-2.44\n"
        "DT1 1AB,DT1 1AB,,369800,90700,50.71,-2.43\n"
        "BH154JQ,BH15 4JQ,,401000,91000,50.72,-1.99\n"
        "BH232FQ,BH23 2FQ,,415000,93000,50.74,-1.79\n"
    )
    dorchester = shapely.box(-2.46, 50.70, -2.41, 50.73)
    report = DataReport()
    gp = load_gp_practices(ods["practices"], postcodes=onspd, area=dorchester, buffer_km=1,
                           report=report)
    assert list(gp["code"]) == ["J90001", "K90001"]
    assert report.entries[0].exclusions["outside the study area + 1 km"] == 2


def test_onspd_with_lat_long_only(ods, tmp_path):
    onspd = tmp_path / "onspd_latlong.csv"
    onspd.write_text("pcds,lat,long\nDT1 1AA,50.7133,-2.4404\nBH15 4JQ,99.999999,0.000000\n")
    gp = load_gp_practices(ods["practices"], postcodes=onspd, commissioners=["11J"])
    assert list(gp["code"]) == ["J90001"]
    assert gp.geometry.iloc[0].x == pytest.approx(-2.4404, abs=1e-6)


# ---------------------------------------------------------------------------------------
# Bad input


def test_missing_practices_file(ods, tmp_path):
    with pytest.raises(MissingFileError, match="epraccur_2024.csv"):
        load_gp_practices(tmp_path / "epraccur_2024.csv", postcodes=ods["postcodes"],
                          commissioners=["11J"])


def test_missing_postcode_folder(ods, tmp_path):
    with pytest.raises(MissingFileError, match="codepoint_gone"):
        load_gp_practices(ods["practices"], postcodes=tmp_path / "codepoint_gone",
                          commissioners=["11J"])


def test_file_with_too_few_columns(ods, tmp_path):
    short = tmp_path / "short.csv"
    short.write_text('"J90001","HILL SURGERY","DT1 1AA"\n')
    with pytest.raises(FileFormatError, match=r"short.csv.*3 columns"):
        load_gp_practices(short, postcodes=ods["postcodes"], commissioners=["11J"])


def test_file_with_a_header_row_is_not_the_ods_layout(ods, tmp_path):
    headed = tmp_path / "headed.csv"
    rows = [[f"Column {i}" for i in range(27)]] + [
        _ods_row(f"practice {i}", "x", "DT1 1AA") for i in range(3)
    ]
    _write_rows(headed, rows)
    with pytest.raises(FileFormatError, match="ODS codes"):
        load_gp_practices(headed, postcodes=ods["postcodes"], commissioners=["11J"])


def test_geojson_given_as_practices(ods, tmp_path):
    path = tmp_path / "epraccur.csv"
    path.write_text('{"type": "FeatureCollection"}')
    with pytest.raises(FileFormatError, match="GeoJSON"):
        load_gp_practices(path, postcodes=ods["postcodes"], commissioners=["11J"])


def test_unknown_commissioner_lists_the_codes_found(ods):
    with pytest.raises(OutsideStudyAreaError, match=r"11X.*11J"):
        load_gp_practices(ods["practices"], postcodes=ods["postcodes"], commissioners=["11X"])


def test_postcode_directory_without_coordinates(ods, tmp_path):
    bad = tmp_path / "pcd.csv"
    bad.write_text("pcds,ward\nDT1 1AA,E05000001\n")
    with pytest.raises(MissingColumnError, match="oseast1m"):
        load_gp_practices(ods["practices"], postcodes=bad, commissioners=["11J"])


def test_practices_outside_the_area(ods):
    plymouth = shapely.box(-4.2, 50.3, -4.1, 50.4)
    with pytest.raises(OutsideStudyAreaError, match="none of the"):
        load_gp_practices(ods["practices"], postcodes=ods["postcodes"], area=plymouth,
                          buffer_km=1)


# ---------------------------------------------------------------------------------------
# Real data


@pytest.mark.shared_data
def test_real_nhs_dorset_practices(shared_data):
    gp_dir = shared_data / "dorset" / "gp"
    report = DataReport()
    gp = load_gp_practices(
        gp_dir / "epraccur.csv", postcodes=gp_dir / "codepoint_open_2014",
        branches=gp_dir / "ebranchs.csv", commissioners=["11J"], report=report,
    )
    assert gp["kind"].value_counts().to_dict() == {"practice": 69, "branch": 45}
    assert gp["code"].is_unique
    entry = report.entries[0]
    assert entry.exclusions["not geocoded (postcode not found)"] == 1
    assert "J81646 GROVE SURGERY (BH23 2FQ)" in entry.detail
    assert entry.exclusions["branches at a postcode their practice already has (same site)"] == 3
    # 70 active NHS Dorset practices: 69 placed, 1 listed
    assert (gp["kind"] == "practice").sum() + 1 == 70
    minx, miny, maxx, maxy = gp.total_bounds
    assert -3.1 < minx and maxx < -1.5 and 50.5 < miny and maxy < 51.2
