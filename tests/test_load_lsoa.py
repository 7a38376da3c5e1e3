"""LSOA loader: IMD 2019 ranks and domains, population, centroids, 2021 through the lookup,
IoD 2025 on LSOA 2021 codes without it."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import shapely

from transport_access.errors import (
    ConfigError,
    EmptyStudyAreaError,
    FileFormatError,
    InvalidValueError,
    MissingColumnError,
    MissingFileError,
    OutsideStudyAreaError,
)
from transport_access.load.lsoa import load_lsoa_boundaries, load_lsoas, study_area_polygon
from transport_access.report import DataReport

# ---------------------------------------------------------------------------------------
# Small synthetic inputs in the official layouts (values invented for the tests)

FILE1_HEADER = [
    "LSOA code (2011)",
    "LSOA name (2011)",
    "Local Authority District code (2019)",
    "Local Authority District name (2019)",
    "Index of Multiple Deprivation (IMD) Rank",
    "Index of Multiple Deprivation (IMD) Decile",
]
# code, name, LAD, LAD name, rank, decile, population, lon, lat
LSOAS_2011 = [
    ("E01000101", "Alpha 001A", "E06000058", "Bournemouth, Christchurch and Poole", "1,500", 1,
     "1,200", -1.90, 50.72),
    ("E01000102", "Alpha 001B", "E06000058", "Bournemouth, Christchurch and Poole", "20,000", 7,
     "1,600", -1.88, 50.73),
    ("E01000103", "Beta 001A", "E06000059", "Dorset", "9,000", 3, "1,000", -2.43, 50.71),
    ("E01000104", "Beta 001B", "E06000059", "Dorset", "31,000", 10, "3,000", -2.44, 50.72),
    ("E01000105", "Gamma 001A", "E07000001", "Elsewhere", "100", 1, "1,500", -1.00, 52.00),
]
# 2011 -> 2021: 101 unchanged, 102 split into two, 103 + 104 merged
LOOKUP = [
    ("Alpha 001A", "E01000101", "U", "BCP 001A", "E01000101", "BCP", "E06000058"),
    ("Alpha 001B", "E01000102", "S", "BCP 001C", "E01090001", "BCP", "E06000058"),
    ("Alpha 001B", "E01000102", "S", "BCP 001D", "E01090002", "BCP", "E06000058"),
    ("Beta 001A", "E01000103", "M", "Dorset 001C", "E01090003", "Dorset", "E06000059"),
    ("Beta 001B", "E01000104", "M", "Dorset 001C", "E01090003", "Dorset", "E06000059"),
]
CENSUS = [("E01000101", 1250.0), ("E01090001", 800.0), ("E01090002", 900.0),
          ("E01090003", 4100.0)]


def _write(path: Path, header: list[str], rows: list[tuple | list]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def mini(tmp_path: Path) -> dict[str, Path]:
    """Synthetic File 1, File 6, centroids, lookup and census files."""
    files = {
        "imd_ranks": _write(tmp_path / "file1.csv", FILE1_HEADER, [r[:6] for r in LSOAS_2011]),
        "imd_population": _write(
            tmp_path / "file6.csv",
            FILE1_HEADER[:4] + ["Total population: mid 2015 (excluding prisoners)"],
            [r[:4] + (r[6],) for r in LSOAS_2011],
        ),
        "centroids": _write(
            tmp_path / "centroids.csv",
            ["X", "Y", "objectid", "lsoa11cd", "lsoa11nm"],
            [(r[7], r[8], i, r[0], r[1]) for i, r in enumerate(LSOAS_2011)],
        ),
        "lookup_2011_2021": _write(
            tmp_path / "lookup.csv",
            ["lsoa11_name", "lsoa11_code", "change_code", "lsoa21_name", "lsoa21_code",
             "ltla22_name", "ltla22_code"],
            LOOKUP,
        ),
        "census_population": _write(
            tmp_path / "census.csv", ["lsoa21_code", "lsoa21_name", "total"],
            [(c, "x", p) for c, p in CENSUS],
        ),
    }
    return files


# ---------------------------------------------------------------------------------------
# Synthetic data: exact values


def test_2011_selects_the_local_authorities_and_joins_population(mini):
    report = DataReport()
    lsoas = load_lsoas(
        centroids=mini["centroids"],
        imd_ranks=mini["imd_ranks"],
        imd_population=mini["imd_population"],
        local_authorities=["E06000058", "E06000059"],
        report=report,
    )
    assert list(lsoas["lsoa_code"]) == ["E01000101", "E01000102", "E01000103", "E01000104"]
    assert list(lsoas.columns[:8]) == [
        "lsoa_code", "lsoa_name", "lad_code", "lad_name", "population", "imd_rank",
        "imd_decile", "imd_quintile",
    ]
    assert list(lsoas["imd_rank"]) == [1500, 20000, 9000, 31000]
    assert list(lsoas["imd_decile"]) == [1, 7, 3, 10]
    assert list(lsoas["imd_quintile"]) == [1, 4, 2, 5]
    assert list(lsoas["population"]) == [1200.0, 1600.0, 1000.0, 3000.0]
    assert lsoas.crs.to_epsg() == 4326
    assert lsoas.geometry.iloc[2].x == pytest.approx(-2.43)
    assert lsoas.geometry.iloc[2].y == pytest.approx(50.71)
    entry = report.entries[0]
    assert (entry.dataset, entry.rows_kept, entry.rows_excluded) == ("lsoas", 4, 0)
    assert "Dorset: 2" in entry.detail


def test_2021_split_copies_and_merge_takes_the_most_deprived_parent(mini):
    lsoas = load_lsoas(**mini, local_authorities=["E06000058", "E06000059"], vintage=2021)
    by_code = lsoas.set_index("lsoa_code")
    assert list(by_code.index) == ["E01000101", "E01090001", "E01090002", "E01090003"]
    # split: both parts copy Alpha 001B's IMD and take its centroid
    for part in ("E01090001", "E01090002"):
        assert by_code.loc[part, "imd_rank"] == 20000
        assert by_code.loc[part, "imd_decile"] == 7
        assert by_code.loc[part, "imd_lsoa11_code"] == "E01000102"
        assert by_code.loc[part, "geometry"].x == pytest.approx(-1.88)
    # merge of rank 9,000 (decile 3) and rank 31,000 (decile 10): the most deprived wins
    merged = by_code.loc["E01090003"]
    assert (merged["imd_rank"], merged["imd_decile"], merged["imd_quintile"]) == (9000, 3, 2)
    assert merged["imd_lsoa11_code"] == "E01000103"
    assert merged["lsoa_change"] == "M"
    # centroid: mid-2015 population-weighted mean of the parents (1,000 and 3,000 people)
    assert merged["geometry"].x == pytest.approx((-2.43 * 1000 + -2.44 * 3000) / 4000)
    assert merged["geometry"].y == pytest.approx((50.71 * 1000 + 50.72 * 3000) / 4000)
    assert list(lsoas["population"]) == [1250.0, 800.0, 900.0, 4100.0]
    assert list(lsoas["centroid_from_2011"]) == [False, True, True, True]
    assert list(lsoas["lad_code"]) == ["E06000058"] * 3 + ["E06000059"]


def test_2021_with_ons_2021_centroids_uses_them_directly(mini, tmp_path):
    centroids21 = _write(
        tmp_path / "c21.csv", ["FID", "LSOA21CD", "x", "y"],
        [(1, "E01000101", -1.901, 50.721), (2, "E01090001", -1.881, 50.731),
         (3, "E01090002", -1.882, 50.732), (4, "E01090003", -2.435, 50.715)],
    )
    files = dict(mini, centroids=centroids21)
    lsoas = load_lsoas(**files, local_authorities=["E06000058", "E06000059"], vintage=2021)
    assert not lsoas["centroid_from_2011"].any()
    assert [round(p.x, 3) for p in lsoas.geometry] == [-1.901, -1.881, -1.882, -2.435]


def test_2011_centroids_for_a_2011_study_must_not_be_2021(mini, tmp_path):
    centroids21 = _write(tmp_path / "c21.csv", ["lsoa21cd", "x", "y"],
                         [("E01000103", -2.43, 50.71)])
    with pytest.raises(FileFormatError, match="LSOA 2021 codes"):
        load_lsoas(centroids=centroids21, imd_ranks=mini["imd_ranks"],
                   local_authorities=["E06000059"])


def test_2021_needs_the_lookup(mini):
    with pytest.raises(ConfigError, match="lookup"):
        load_lsoas(
            centroids=mini["centroids"], imd_ranks=mini["imd_ranks"],
            local_authorities=["E06000059"], vintage=2021,
        )


def test_centroids_in_british_national_grid_are_converted(mini, tmp_path):
    bng = _write(
        tmp_path / "centroids_bng.csv", ["lsoa11cd", "x", "y"],
        [("E01000103", 369000, 90500), ("E01000104", 368000, 91000)],
    )
    lsoas = load_lsoas(
        centroids=bng, imd_ranks=mini["imd_ranks"], local_authorities=["E06000059"]
    )
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(27700, 4326, always_xy=True).transform(369000, 90500)
    assert lsoas.geometry.iloc[0].x == pytest.approx(lon)
    assert lsoas.geometry.iloc[0].y == pytest.approx(lat)
    assert (round(lon, 2), round(lat, 2)) == (-2.44, 50.71)  # Dorchester


def test_missing_centroid_is_reported_not_silently_dropped(mini, tmp_path):
    partial = _write(tmp_path / "c.csv", ["lsoa11cd", "X", "Y"], [("E01000103", -2.43, 50.71)])
    report = DataReport()
    lsoas = load_lsoas(
        centroids=partial, imd_ranks=mini["imd_ranks"], local_authorities=["E06000059"],
        report=report,
    )
    assert list(lsoas["lsoa_code"]) == ["E01000103"]
    assert report.entries[0].exclusions["without a centroid"] == 1


# ---------------------------------------------------------------------------------------
# IoD 2025: LSOA 2021 codes, joined without the lookup

# File 7 layout with the official IoD 2025 headers; values invented. E01090001-E01090003 are
# LSOA 2021 codes that did not exist in 2011 (the split parts and the merge of LOOKUP).
IOD2025_FILE7 = Path(__file__).parent / "fixtures" / "imd" / "iod2025_file7_mini.csv"
IOD2025_RANKS = {"E01000101": 2500, "E01090001": 5000, "E01090002": 30000, "E01090003": 15000}


@pytest.fixture
def centroids21(tmp_path: Path) -> Path:
    return _write(
        tmp_path / "c21.csv", ["FID", "LSOA21CD", "x", "y"],
        [(1, "E01000101", -1.901, 50.721), (2, "E01090001", -1.881, 50.731),
         (3, "E01090002", -1.882, 50.732), (4, "E01090003", -2.435, 50.715)],
    )


def _iod2025(mini: dict[str, Path], centroids: Path, **changes) -> dict:
    files = dict(mini, imd_ranks=IOD2025_FILE7, centroids=centroids)
    del files["imd_population"]  # the 2019 File 6 has LSOA 2011 codes
    return {**files, "local_authorities": ["E06000058", "E06000059"], "vintage": 2021,
            **changes}


def test_iod2025_new_2021_codes_keep_their_own_values(mini, centroids21):
    report = DataReport()
    lsoas = load_lsoas(**_iod2025(mini, centroids21), imd_domains=IOD2025_FILE7,
                       imd_edition=2025, report=report)
    by_code = lsoas.set_index("lsoa_code")
    # Through the 2011 lookup, the split parts would copy one parent and the merge would
    # take its most deprived parent; IoD 2025 gives each LSOA 2021 its own rank.
    assert by_code["imd_rank"].to_dict() == IOD2025_RANKS
    assert by_code["imd_decile"].to_dict() == {
        "E01000101": 1, "E01090001": 2, "E01090002": 9, "E01090003": 5
    }
    assert by_code.loc["E01090002", "income_rank"] == 30100
    assert by_code.loc["E01090002", "living_environment_decile"] == 10
    assert lsoas["imd_rank"].dtype == "int64"
    assert lsoas["imd_lsoa11_code"].isna().all()
    assert list(lsoas["lsoa_change"]) == ["U", "S", "S", "M"]
    assert list(lsoas["population"]) == [1250.0, 800.0, 900.0, 4100.0]  # Census 2021
    assert not lsoas["centroid_from_2011"].any()
    assert lsoas.attrs["imd_edition"] == 2025
    entry = report.entries[0]
    assert (entry.rows_kept, entry.rows_excluded) == (4, 0)
    assert "IoD 2025" in entry.detail


def test_iod2025_is_detected_from_its_header(mini, centroids21):
    lsoas = load_lsoas(**_iod2025(mini, centroids21))
    assert lsoas.attrs["imd_edition"] == 2025
    assert lsoas.set_index("lsoa_code")["imd_rank"].to_dict() == IOD2025_RANKS


def test_iod2025_is_detected_from_codes_when_the_header_names_no_year(
    mini, centroids21, tmp_path
):
    lines = IOD2025_FILE7.read_text().splitlines()
    lines[0] = lines[0].replace("LSOA code (2021)", "LSOA code").replace(
        "LSOA name (2021)", "LSOA name")
    bare = tmp_path / "bare.csv"
    bare.write_text("\n".join(lines) + "\n")
    lsoas = load_lsoas(**_iod2025(mini, centroids21, imd_ranks=bare))
    assert lsoas.attrs["imd_edition"] == 2025
    assert lsoas.set_index("lsoa_code")["imd_rank"].to_dict() == IOD2025_RANKS


def test_iod2025_lsoa_missing_from_the_file_is_counted_and_named(
    mini, centroids21, tmp_path, caplog
):
    lines = IOD2025_FILE7.read_text().splitlines()
    gap = tmp_path / "gap.csv"
    gap.write_text("\n".join(line for line in lines if "E01090002" not in line) + "\n")
    report = DataReport()
    with caplog.at_level("WARNING", logger="transport_access"):
        lsoas = load_lsoas(**_iod2025(mini, centroids21, imd_ranks=gap), report=report)
    # E01090002's 2011 parent (E01000102) must not lend it a value: it is left out, counted.
    assert list(lsoas["lsoa_code"]) == ["E01000101", "E01090001", "E01090003"]
    assert report.entries[0].exclusions == {
        "without an IoD 2025 value (not in the IMD file)": 1
    }
    assert "E01090002" in caplog.text


def test_iod2025_file_with_a_2011_only_code_is_an_error(mini, centroids21, tmp_path):
    lines = IOD2025_FILE7.read_text().splitlines()
    stale = lines[2].replace("E01090001", "E01000102")  # a 2011 code, split in 2021
    bad = tmp_path / "stale.csv"
    bad.write_text("\n".join([*lines, stale]) + "\n")
    with pytest.raises(InvalidValueError, match=r"stale.csv.*mixes.*E01000102"):
        load_lsoas(**_iod2025(mini, centroids21, imd_ranks=bad))
    only_old = tmp_path / "only_old.csv"
    only_old.write_text("\n".join([lines[0], lines[1], stale]) + "\n")
    with pytest.raises(InvalidValueError, match=r"contradictory.*LSOA code \(2021\).*E01000102"):
        load_lsoas(**_iod2025(mini, centroids21, imd_ranks=only_old))


def test_edition_disagreeing_with_the_file_is_an_error(mini, centroids21):
    with pytest.raises(InvalidValueError, match=r"imd.edition is 2019.*LSOA code \(2021\)"):
        load_lsoas(**_iod2025(mini, centroids21), imd_edition=2019)
    with pytest.raises(InvalidValueError, match=r"file1.csv.*imd.edition is 2025"):
        load_lsoas(**mini, local_authorities=["E06000058"], vintage=2021, imd_edition=2025)
    with pytest.raises(ConfigError, match="imd.edition"):
        load_lsoas(**_iod2025(mini, centroids21), imd_edition=2021)


def test_iod2025_with_a_2019_population_file_or_for_a_2011_study_is_an_error(mini, centroids21):
    with pytest.raises(InvalidValueError, match=r"file6.csv.*LSOA 2011 codes"):
        load_lsoas(**_iod2025(mini, centroids21), imd_population=mini["imd_population"])
    with pytest.raises(ConfigError, match="lsoa_vintage: 2021"):
        load_lsoas(centroids=mini["centroids"], imd_ranks=IOD2025_FILE7,
                   local_authorities=["E06000059"])


def test_iod2025_without_the_lookup_selects_by_its_own_districts(mini, centroids21):
    lsoas = load_lsoas(
        centroids=centroids21, imd_ranks=IOD2025_FILE7, imd_population=IOD2025_FILE7,
        local_authorities=["E06000058", "E06000059"], vintage=2021,
    )
    assert lsoas.set_index("lsoa_code")["imd_rank"].to_dict() == IOD2025_RANKS
    assert lsoas["lsoa_change"].isna().all()
    assert list(lsoas["population"]) == [1310.0, 820.0, 905.0, 4150.0]  # mid-2022
    with pytest.raises(FileFormatError, match="LSOA 2011 codes.*lookup"):
        load_lsoas(centroids=mini["centroids"], imd_ranks=IOD2025_FILE7,
                   local_authorities=["E06000059"], vintage=2021)


# ---------------------------------------------------------------------------------------
# Bad input


def test_missing_file_names_the_path(mini, tmp_path):
    gone = tmp_path / "nope.csv"
    with pytest.raises(MissingFileError, match="nope.csv"):
        load_lsoas(centroids=mini["centroids"], imd_ranks=gone, local_authorities=["E06000059"])


def test_geojson_given_as_imd_file_is_a_format_error(mini, tmp_path):
    geojson = tmp_path / "imd.geojson"
    geojson.write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(FileFormatError, match="GeoJSON"):
        load_lsoas(centroids=mini["centroids"], imd_ranks=geojson, local_authorities=["E06000059"])


def test_renamed_column_names_the_column_sought_the_file_and_what_was_found(mini, tmp_path):
    header = FILE1_HEADER[:4] + ["Score", FILE1_HEADER[5]]
    bad = _write(tmp_path / "file1_renamed.csv", header, [r[:6] for r in LSOAS_2011])
    with pytest.raises(MissingColumnError) as err:
        load_lsoas(centroids=mini["centroids"], imd_ranks=bad, local_authorities=["E06000059"])
    message = str(err.value)
    assert "file1_renamed.csv" in message
    assert "IMD rank" in message
    assert "'Score'" in message


def test_unknown_local_authority_lists_close_matches(mini):
    with pytest.raises(EmptyStudyAreaError) as err:
        load_lsoas(
            centroids=mini["centroids"], imd_ranks=mini["imd_ranks"],
            local_authorities=["E06000095"],
        )
    message = str(err.value)
    assert "E06000095" in message
    assert "E06000059 (Dorset)" in message


def test_a_local_authority_name_instead_of_a_code_is_matched_by_name(mini):
    with pytest.raises(EmptyStudyAreaError, match=r"E06000059 \(Dorset\)"):
        load_lsoas(
            centroids=mini["centroids"], imd_ranks=mini["imd_ranks"],
            local_authorities=["Dorset"],
        )


def test_duplicate_lsoa_codes_are_an_error(mini, tmp_path):
    rows = [r[:6] for r in LSOAS_2011] + [LSOAS_2011[2][:6]]
    bad = _write(tmp_path / "dup.csv", FILE1_HEADER, rows)
    with pytest.raises(InvalidValueError, match=r"E01000103.*line"):
        load_lsoas(centroids=mini["centroids"], imd_ranks=bad, local_authorities=["E06000059"])


def test_decile_out_of_range_is_an_error(mini, tmp_path):
    rows = [r[:6] for r in LSOAS_2011]
    rows[0] = rows[0][:5] + (11,)
    bad = _write(tmp_path / "decile.csv", FILE1_HEADER, rows)
    with pytest.raises(InvalidValueError, match="Decile"):
        load_lsoas(centroids=mini["centroids"], imd_ranks=bad, local_authorities=["E06000058"])


def test_swapped_centroid_columns_are_detected(mini, tmp_path):
    swapped = _write(
        tmp_path / "swapped.csv", ["lsoa11cd", "X", "Y"],
        [(r[0], r[8], r[7]) for r in LSOAS_2011],
    )
    with pytest.raises(OutsideStudyAreaError, match="swapped"):
        load_lsoas(centroids=swapped, imd_ranks=mini["imd_ranks"], local_authorities=["E06000059"])


# ---------------------------------------------------------------------------------------
# Boundaries and the study area polygon


def test_study_area_from_centroids_is_a_buffered_hull(mini):
    lsoas = load_lsoas(
        centroids=mini["centroids"], imd_ranks=mini["imd_ranks"],
        local_authorities=["E06000058", "E06000059"],
    )
    area = study_area_polygon(lsoas, buffer_km=2)
    assert area.geom_type == "Polygon"
    assert all(area.contains(p) for p in lsoas.geometry)
    # 2 km beyond the westernmost centroid (-2.44) is inside, 4 km is not
    assert area.contains(shapely.Point(-2.44 - 0.024, 50.72))
    assert not area.contains(shapely.Point(-2.44 - 0.056, 50.72))


def test_boundaries_recognise_upper_case_code_and_reproject(tmp_path):
    import geopandas as gpd

    squares = gpd.GeoDataFrame(
        {"LSOA11CD": ["E01000103", "E01000104"]},
        geometry=[shapely.box(369000, 90000, 370000, 91000), shapely.box(370000, 90000,
                                                                        371000, 91000)],
        crs="EPSG:27700",
    )
    path = tmp_path / "b.gpkg"
    squares.to_file(path)
    report = DataReport()
    bounds = load_lsoa_boundaries(path, codes=["E01000103", "E01000999"], report=report)
    assert list(bounds["lsoa_code"]) == ["E01000103"]
    assert bounds.crs.to_epsg() == 4326
    assert report.entries[0].exclusions == {
        "not in the study area": 1, "study LSOAs without a boundary (not in the file)": 1
    }
    area = study_area_polygon(bounds)
    assert area.contains(shapely.Point(-2.433, 50.713))
    assert not area.contains(shapely.Point(-2.42, 50.713))  # the square left out


def test_boundaries_with_duplicate_codes_are_an_error(tmp_path):
    import geopandas as gpd

    dup = gpd.GeoDataFrame(
        {"lsoa21cd": ["E01000103", "E01000103"]},
        geometry=[shapely.box(0, 50, 0.1, 50.1), shapely.box(0.1, 50, 0.2, 50.1)],
        crs="EPSG:4326",
    )
    path = tmp_path / "dup.geojson"
    dup.to_file(path)
    with pytest.raises(InvalidValueError, match="E01000103"):
        load_lsoa_boundaries(path)


# ---------------------------------------------------------------------------------------
# Real data (../shared/data)


def _real(shared_data: Path) -> dict[str, Path]:
    d = shared_data / "dorset"
    return {
        "centroids": d / "lsoa" / (
            "Lower_Layer_Super_Output_Areas_December_2011_Population_Weighted_Centroids.csv"
        ),
        "imd_ranks": d / "imd" / "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz",
        "imd_domains": d / "imd" / "File_2_-_IoD2019_Domains_of_Deprivation.csv.gz",
        "imd_population": d / "imd" / "File_6_-_IoD2019_Population_Denominators.csv.gz",
        "census_population": d / "lsoa" / "dorset_bcp_lsoa21_census2021_pop_by_age6.csv",
        "lookup_2011_2021": d / "lsoa" / "dorset_bcp_lookup_lsoa11_lsoa21.csv",
    }


@pytest.mark.shared_data
def test_real_dorset_and_bcp_2011(shared_data):
    report = DataReport()
    lsoas = load_lsoas(
        **_real(shared_data), local_authorities=["E06000059", "E06000058"], report=report
    )
    assert len(lsoas) == 452
    assert lsoas["lad_code"].value_counts().to_dict() == {"E06000058": 233, "E06000059": 219}
    assert lsoas["population"].notna().all() and lsoas["imd_decile"].notna().all()
    assert lsoas["population"].sum() == 761_630
    assert lsoas["imd_decile"].between(1, 10).all()
    for domain in ("income", "employment", "education", "health", "crime", "barriers",
                   "living_environment"):
        assert lsoas[f"{domain}_decile"].between(1, 10).all()
    first = lsoas.set_index("lsoa_code").loc["E01015272"]
    assert (first["lsoa_name"], first["imd_rank"], first["imd_decile"]) == (
        "Bournemouth 016A", 23287, 8
    )
    assert (first["income_rank"], first["population"]) == (23299, 1808.0)

    bounds = load_lsoa_boundaries(
        shared_data / "dorset" / "lsoa" / "dorset_bcp_lsoa11_bgc_wgs84.geojson",
        codes=lsoas["lsoa_code"],
    )
    assert len(bounds) == 452
    area = study_area_polygon(bounds)
    # population-weighted centroids lie in their LSOA, so all in the union
    assert lsoas.geometry.within(area.buffer(1e-6)).all()
    assert report.entries[0].rows_kept == 452


@pytest.mark.shared_data
def test_real_dorset_and_bcp_2021_through_the_lookup(shared_data):
    files = _real(shared_data)
    lsoas = load_lsoas(**files, local_authorities=["E06000059", "E06000058"], vintage=2021)
    assert len(lsoas) == 463
    assert lsoas["lad_code"].value_counts().to_dict() == {"E06000058": 240, "E06000059": 223}
    assert lsoas["population"].sum() == 779_804
    assert lsoas["imd_decile"].notna().all()
    assert int(lsoas["centroid_from_2011"].sum()) == 25  # 24 split parts + 1 merge
    merged = lsoas.set_index("lsoa_code").loc["E01034378"]  # Dorset 009D = 006E + 006F
    import pandas as pd

    file1 = pd.read_csv(files["imd_ranks"], thousands=",").set_index("LSOA code (2011)")
    parent_ranks = file1.loc[["E01033154", "E01033159"], "Index of Multiple Deprivation (IMD) Rank"]
    assert merged["imd_rank"] == parent_ranks.min()
    assert merged["imd_lsoa11_code"] == parent_ranks.idxmin()
