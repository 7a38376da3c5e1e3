"""The access run: a hand-made line feed with known answers, Porto Alegre, and Dorset."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.test_routing_api import A, B, write_line_feed
from transport_access.access import run as ar
from transport_access.errors import InvalidValueError
from transport_access.routing import api
from transport_access.routing.straight_line import haversine_m

WALK_AB_MIN = round(haversine_m(A[0], A[1], B[0], B[1]) * 1.3 / (4.8 / 3.6)) / 60
# 0.3 degrees east of A: 21 km, beyond any walk within 120 minutes, and no stop near.
FAR = (A[0] + 0.3, A[1])
HOMES = pd.DataFrame({"id": ["home", "far"], "lon": [A[0], FAR[0]], "lat": [A[1], FAR[1]],
                      "population": [100.0, 50.0]})
SCHOOL = ar.Destinations(
    "secondary", pd.DataFrame({"id": ["s"], "lon": [B[0]], "lat": [B[1]], "pupils": [200.0]}),
    weight="pupils", capacity="pupils", thresholds_min=(10.0, 30.0), arrive_by="08:45",
    return_window=("15:30", "18:30"),
)


@pytest.fixture(scope="module")
def line_network(tmp_path_factory: pytest.TempPathFactory) -> api.TransportNetwork:
    # Route L from A to B every 10 minutes 07:00-09:00, 5 minutes' ride; nothing comes back.
    folder = write_line_feed(tmp_path_factory.mktemp("feed") / "line")
    return api.build_transport_network(gtfs=[folder])


@pytest.fixture(scope="module")
def line_access(line_network: api.TransportNetwork) -> pd.DataFrame:
    long = ar.compute_access(HOMES, [SCHOOL], network=line_network, date="2024-03-04",
                             departure="07:00", window_min=10, modes=["transit", "walk"])
    return long.set_index(["origin_id", "mode", "measure"])["value"].sort_index()


def test_transit_measures_by_hand(line_access: pd.Series) -> None:
    home = line_access.loc["home", "transit"]
    # Leaving 07:00..07:09 (slack 60 s): 15, 14, ..., 6 minutes; nearest-rank median 10.
    assert home["nearest_p50_min"] == 10.0
    assert home["reliability_10_min"] == 0.5
    assert home["reliability_30_min"] == 1.0
    assert home["within_10_min"] == 1.0 and home["pupils_within_10_min"] == 200.0
    assert home["gravity"] == pytest.approx(200 * 2 ** (-10 / 30))
    # 2SFCA, catchment 10 min: 200 pupils / 100 residents, per 1,000 residents.
    assert home["two_step_fca_10_min"] == pytest.approx(2000.0)


def test_walk_measures_and_the_unreachable_home(line_access: pd.Series) -> None:
    walk = line_access.loc["home", "walk"]
    assert walk["nearest_p50_min"] == pytest.approx(WALK_AB_MIN)
    assert (walk["within_10_min"], walk["within_30_min"]) == (0.0, 0.0)
    far = line_access.loc["far"]
    assert np.isnan(far["transit", "nearest_p50_min"]) and np.isnan(far["walk", "nearest_p50_min"])
    assert far["transit", "reliability_30_min"] == 0.0
    assert far["transit", "gravity"] == 0.0 and far["transit", "within_30_min"] == 0.0


def test_return_journey_by_hand(line_access: pd.Series) -> None:
    home = line_access.loc["home", "transit"]
    # The 08:40 bus arrives 08:45 and needs the rider at A by 08:39. No bus comes back, and
    # walking home (32.5 min) is beyond the 20-minute walk limit: no way home, but the
    # morning leg still reports its times.
    assert home["arrive_by_ok"] == 1.0
    assert home["morning_departure_min"] == 8 * 60 + 39
    assert home["arrival_min"] == 8 * 60 + 45
    assert np.isnan(home["latest_return_min"])
    assert (home["return_ok"], home["return_feasible"]) == (0.0, 0.0)
    far = line_access.loc["far", "transit"]
    assert (far["arrive_by_ok"], far["return_feasible"]) == (0.0, 0.0)
    assert np.isnan(far["arrival_min"])


def test_only_buses_home_count_when_walking_is_too_far(line_network: api.TransportNetwork,
                                                       ) -> None:
    # With a 20-minute cap on the whole journey, walking home (32.5 min) is out, and no bus
    # runs from B to A: arriving works, the return does not.
    params = api.RoutingParameters(max_time_min=20)
    long = ar.compute_access(HOMES.iloc[:1], [SCHOOL], network=line_network,
                             date="2024-03-04", departure="07:00", window_min=10,
                             modes=["transit"], params=params)
    values = long.set_index("measure")["value"]
    assert (values["arrive_by_ok"], values["return_ok"], values["return_feasible"]) == (
        1.0, 0.0, 0.0)


def test_walk_only_cap_for_transit(line_network: api.TransportNetwork) -> None:
    # Allowed to walk 40 minutes all the way (JTS-like), the rider walks home from B
    # (32.5 min) at any minute of 15:30-18:30, though no bus comes back.
    long = ar.compute_access(HOMES.iloc[:1], [SCHOOL], network=line_network,
                             date="2024-03-04", departure="07:00", window_min=10,
                             modes=["transit", "walk"], walk_only_max_min=40)
    values = long.set_index(["mode", "measure"])["value"]
    assert values["transit", "nearest_p50_min"] == 10.0
    assert (values["transit", "return_ok"], values["transit", "return_feasible"]) == (1.0, 1.0)
    assert values["transit", "latest_return_min"] == 18 * 60 + 30
    assert values["walk", "nearest_p50_min"] == pytest.approx(WALK_AB_MIN)


def test_bad_modes_and_empty_sets(line_network: api.TransportNetwork,
                                  caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(InvalidValueError, match="bus"):
        ar.compute_access(HOMES, [SCHOOL], network=line_network, modes=["bus"])
    with pytest.raises(InvalidValueError, match="population"):
        ar.compute_access(HOMES.drop(columns="population"), [SCHOOL], network=line_network,
                          modes=["car"])
    empty = ar.Destinations("gp", pd.DataFrame({"id": [], "lon": [], "lat": []}))
    long = ar.compute_access(HOMES, [empty, SCHOOL], network=line_network, modes=["car"])
    assert set(long["destination"]) == {"secondary"}
    assert "gp: no destinations" in caplog.text


def test_outputs_are_written(line_access: pd.Series, tmp_path: Path, fixtures: Path) -> None:
    import geopandas as gpd
    from shapely.geometry import Point

    from transport_access._cache import file_sha256
    from transport_access.access.equity import equity_tables

    long = line_access.rename("value").reset_index().rename(columns={"origin_id": "lsoa_code"})
    long.insert(1, "destination", "secondary")
    lsoas = gpd.GeoDataFrame({
        "lsoa_code": ["home", "far"], "lsoa_name": ["Home 001A", "Far 001A"],
        "lad_name": ["X", "X"], "population": [100.0, 50.0], "imd_rank": [5, 30000],
        "imd_decile": [1, 10], "imd_quintile": [1, 5]},
        geometry=[Point(A), Point(FAR)], crs=4326)
    source = fixtures / "access" / "ruc_lsoa11_synthetic.csv"
    result = ar.AccessResult(
        long=long, wide=ar._wide(long, lsoas), lsoas=lsoas,
        equity=equity_tables(long, lsoas, thresholds_min={"secondary": [10, 30]}),
        parameters={"modes": ["transit", "walk"]}, inputs=[str(source)], attribution="Test.",
    )
    written = ar.write_access_outputs(result, tmp_path / "out")
    names = {p.name for p in written.values()}
    assert {"access_lsoa.parquet", "access_lsoa.csv", "access_by_imd_decile.csv",
            "access.gpkg", "access_metadata.json"} <= names
    csv = pd.read_csv(written["long_csv"])
    assert list(csv.columns[:3]) == ["lsoa_code", "lsoa_name", "lad_name"]
    assert len(csv) == len(long)
    layer = gpd.read_file(written["gpkg"], layer="access_lsoa")
    assert len(layer) == 2 and "secondary_transit_nearest_p50_min" in layer.columns
    meta = json.loads(written["metadata"].read_text())
    assert meta["inputs"] == [{"path": str(source), "sha256": file_sha256(source)}]
    assert meta["attribution"] == "Test." and meta["version"]


@pytest.mark.slow
def test_porto_alegre_all_cells(shared_data: Path) -> None:
    poa = shared_data / "porto-alegre"
    cells = pd.read_csv(poa / "poa_hexgrid.csv")
    network = api.build_transport_network(gtfs=[poa / "poa_eptc.zip",
                                                poa / "poa_trensurb.zip"])
    sets = [ar.Destinations(kind, cells.loc[cells[kind] > 0, ["id", "lon", "lat", kind]],
                            weight=kind, capacity=kind, thresholds_min=(30.0, 60.0))
            for kind in ("schools", "healthcare", "jobs")]
    # The sample bus feed runs about 11:00-17:00 only: route at 14:00, a 5-minute window.
    long = ar.compute_access(cells[["id", "lon", "lat", "population"]], sets,
                             network=network, date="2019-05-13", departure="14:00",
                             window_min=5, modes=["transit", "walk"])
    assert long["origin_id"].nunique() == 1227
    values = long.set_index(["destination", "mode", "measure", "origin_id"])["value"].sort_index()
    for kind in ("schools", "healthcare", "jobs"):
        transit = values.loc[kind, "transit", "nearest_p50_min"]
        walk = values.loc[kind, "walk", "nearest_p50_min"]
        assert len(transit) == 1227
        # Transit may walk instead up to max_walk_min (20), so it is never slower then.
        both = transit.index[walk <= 20.0]
        assert (transit[both] <= walk[both] + 1e-9).all()
        # Buses reach farther than the 20-minute walk: most cells reach more within 60.
        more = (values.loc[kind, "transit", "within_60_min"]
                > values.loc[kind, "walk", "within_30_min"]).mean()
        assert more > 0.5, (kind, more)
    # A cell with jobs reaches itself at once: 1,004 job cells have nearest 0 minutes.
    assert (values.loc["jobs", "walk", "nearest_p50_min"] == 0).sum() == 1004
    jobs60 = values.loc["jobs", "transit", "jobs_within_60_min"]
    assert jobs60.max() <= cells["jobs"].sum()
    assert jobs60.median() > values.loc["jobs", "walk", "jobs_within_60_min"].median()
    reliability = values.loc["healthcare", "transit", "reliability_30_min"]
    assert ((reliability >= 0) & (reliability <= 1)).all()


@pytest.mark.slow
def test_dorset_run_covers_every_lsoa(shared_data: Path, tmp_path: Path) -> None:
    import geopandas as gpd

    from transport_access.config import load_study
    from transport_access.study_data import load_study_data

    study = load_study(ar.Path(__file__).resolve().parents[1] / "configs" / "dorset.yaml",
                       data_root=shared_data)
    data = load_study_data(study)
    result = ar.run_access(data)
    long = result.long
    assert set(long["destination"]) == {"primary", "secondary", "post16", "gp"}  # no jobs
    assert set(long["mode"]) == {"transit", "walk", "cycle", "car"}
    counts = long.groupby(["destination", "mode", "measure"])["lsoa_code"].nunique()
    assert (counts == 452).all()
    assert "No jobs table: job accessibility is skipped." in result.notes
    car_gp = long[(long["destination"] == "gp") & (long["mode"] == "car")
                  & (long["measure"] == "nearest_p50_min")]
    assert car_gp["value"].notna().all()
    secondary = long[(long["destination"] == "secondary") & (long["mode"] == "transit")]
    assert {"return_feasible", "arrive_by_ok", "latest_return_min"} <= set(secondary["measure"])
    decile = result.equity["by_imd_decile"]
    gp = decile[(decile["destination"] == "gp") & (decile["measure"] == "nearest_p50_min")]
    assert gp.groupby("mode")["population"].sum().round().eq(761630).all()

    written = ar.write_access_outputs(result, tmp_path)
    layer = gpd.read_file(written["gpkg"], layer="access_lsoa")
    assert len(layer) == 452 and layer.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    meta = json.loads(written["metadata"].read_text())
    assert "Open Government Licence" in meta["attribution"]
    assert all(item["sha256"] for item in meta["inputs"])
    assert meta["parameters"]["departure_window"]["minutes_used"] == 180
    assert math.isclose(meta["parameters"]["gravity"]["beta_per_min"], math.log(2) / 30)

    from transport_access.access.jts import compare_jts

    summary, per_lsoa = compare_jts(result, study.resolve(study.data.jts))
    rows = summary.set_index("jts_column")
    assert set(rows.index) == {f"{d}{m}t" for d in ("PS", "SS", "FE", "GP")
                               for m in ("PT", "Cyc", "Car")}
    assert (rows["n_jts"] == 48).all() and (rows["n_ours"] == 48).all()
    assert rows.loc["GPCart", "n_matched"] == 48
    # Straight lines at 40 km/h, one centroid per LSOA: the same order as JTS, roughly.
    assert rows.loc["GPCart", "spearman"] > 0.3
    assert len(per_lsoa) == 48 * 12


# ------------------------------------------------------------------------------ JTS


def _long(destination: str, mode: str, values: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame({"lsoa_code": list(values), "destination": destination, "mode": mode,
                         "measure": "nearest_p50_min", "value": list(values.values())})


def test_compare_jts_by_hand(fixtures: Path, caplog: pytest.LogCaptureFixture) -> None:
    from transport_access.access.jts import compare_jts

    ours = pd.concat([
        _long("gp", "transit", {"E0100000A": 12, "E0100000B": 18, "E0100000C": np.nan,
                                "E0100000D": 50, "E0100000E": 1}),
        _long("gp", "car", {"E0100000A": 6, "E0100000B": 5}),
        _long("gp", "walk", {"E0100000A": 6}),  # JTS has no walk-only column
    ])
    summary, per_lsoa = compare_jts(ours, fixtures / "access" / "jts_synthetic.csv")
    assert "1 value(s) of GPCyct are not numbers" in caplog.text
    rows = summary.set_index("jts_column")
    assert list(rows.index) == ["GPCart", "GPPTt"]
    pt = rows.loc["GPPTt"]
    assert (pt["n_jts"], pt["n_ours"], pt["n_matched"], pt["n_unreachable_ours"],
            pt["n_not_in_ours"]) == (4, 4, 3, 1, 0)
    # differences +2, -2, +10
    assert pt["bias_min"] == pytest.approx(10 / 3)
    assert pt["mae_min"] == pytest.approx(14 / 3)
    assert pt["median_difference_min"] == 2.0
    assert pt["spearman"] == pytest.approx(1.0)
    car = rows.loc["GPCart"]
    assert (car["n_jts"], car["n_matched"], car["n_not_in_ours"]) == (3, 2, 1)
    assert (car["bias_min"], car["mae_min"]) == (0.0, 1.0)
    assert np.isnan(car["spearman"])
    lsoa = per_lsoa.set_index(["jts_column", "lsoa_code"])
    assert lsoa.loc[("GPPTt", "E0100000D"), "difference_min"] == 10.0
    assert np.isnan(lsoa.loc[("GPPTt", "E0100000C"), "ours_min"])


def test_compare_jts_on_the_real_table(shared_data: Path) -> None:
    from transport_access.access.jts import compare_jts, read_jts

    path = shared_data / "dorset" / "jts" / "jts2017_dorset_lsoas.csv"
    jts = read_jts(path)
    assert len(jts) == 48 and {"GPPTt", "SSCyct", "FECart"} <= set(jts.columns)
    shifted = dict(zip(jts["lsoa_code"], jts["GPPTt"] + 2.0, strict=True))
    first = jts["lsoa_code"].iloc[0]
    shifted[first] = np.nan
    reversed_car = dict(zip(jts["lsoa_code"], -jts["SSCart"], strict=True))
    ours = pd.concat([_long("gp", "transit", shifted), _long("secondary", "car", reversed_car)])
    summary, per_lsoa = compare_jts(ours, path)
    gp = summary.set_index("jts_column").loc["GPPTt"]
    assert (gp["n_jts"], gp["n_matched"], gp["n_unreachable_ours"]) == (48, 47, 1)
    assert gp["bias_min"] == pytest.approx(2.0) and gp["mae_min"] == pytest.approx(2.0)
    assert gp["spearman"] == pytest.approx(1.0)
    assert summary.set_index("jts_column").loc["SSCart", "spearman"] == pytest.approx(-1.0)
    assert len(per_lsoa) == 96


def test_compare_jts_errors(fixtures: Path, tmp_path: Path) -> None:
    from transport_access.access.jts import compare_jts
    from transport_access.errors import MissingColumnError, MissingFileError

    ours = _long("gp", "transit", {"E0100000A": 1})
    with pytest.raises(MissingFileError):
        compare_jts(ours, tmp_path / "nope.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("LSOA_code,foo\nE0100000A,1\n")
    with pytest.raises(MissingColumnError, match="JTS travel-time columns"):
        compare_jts(ours, bad)
    with pytest.raises(InvalidValueError, match="nearest_p90_min"):
        compare_jts(ours, fixtures / "access" / "jts_synthetic.csv", measure="nearest_p90_min")


def test_study_destinations_from_loaded_tables(caplog: pytest.LogCaptureFixture) -> None:
    from types import SimpleNamespace

    import geopandas as gpd
    from shapely.geometry import Point

    from transport_access.config import DestinationSet, ReturnJourney

    points = [Point(A), Point(B)]
    schools = gpd.GeoDataFrame({"urn": ["1", "2"], "category": ["primary", "further-education"],
                                "pupils": [210.0, np.nan]}, geometry=points, crs=4326)
    gp = gpd.GeoDataFrame({"code": ["J1"]}, geometry=[Point(B)], crs=4326)
    lsoas = gpd.GeoDataFrame({"lsoa_code": ["E01000001", "E01000002"]}, geometry=points,
                             crs=4326)
    jobs = pd.DataFrame({"zone_code": ["E01000001", "E01000002", "E01999999"],
                         "zone_type": "lsoa2011", "jobs": [40.0, np.nan, 5.0],
                         "suppressed": [False, True, False]})
    study = SimpleNamespace(destinations={
        "primary": DestinationSet(source="schools", categories=["primary"],
                                  thresholds_min=[15, 30]),
        "post16": DestinationSet(source="schools", categories=["further-education"],
                                 return_journey=ReturnJourney(arrive_by="09:00")),
        "gp": DestinationSet(source="gp"),
        "jobs": DestinationSet(source="jobs", thresholds_min=[30, 45, 60]),
    })
    data = SimpleNamespace(study=study, schools=schools, gp=gp, jobs=jobs, lsoas=lsoas)
    caplog.set_level("INFO", logger="transport_access")
    sets = {s.name: s for s in ar.study_destinations(data)}
    assert sets["primary"].weight == "pupils" and sets["primary"].thresholds_min == (15.0, 30.0)
    # FE colleges have no pupil count in GIAS: sites are counted instead.
    assert sets["post16"].weight is None and sets["post16"].capacity is None
    assert sets["post16"].arrive_by == "09:00"
    assert sets["post16"].return_window == ("15:30", "18:30")
    assert sets["gp"].points["id"].tolist() == ["J1"]
    # Jobs by LSOA are placed at the LSOA centroids; the zone outside the study is named.
    job_points = sets["jobs"].points
    assert job_points["id"].tolist() == ["E01000001", "E01000002"]
    assert job_points["lon"].tolist() == [A[0], B[0]]
    assert "1 of 3 job zones have no location" in caplog.text
    no_jobs = SimpleNamespace(**{**vars(data), "jobs": None})
    assert "jobs" not in {s.name for s in ar.study_destinations(no_jobs)}
    assert "job accessibility is skipped" in caplog.text


def test_post16_counts_school_sixth_forms_when_asked(caplog: pytest.LogCaptureFixture) -> None:
    from types import SimpleNamespace

    import geopandas as gpd
    from shapely.geometry import Point

    from transport_access.config import DestinationSet

    schools = gpd.GeoDataFrame(
        {"urn": ["1", "2", "3", "4"],
         "category": ["secondary", "secondary", "further-education", "primary"],
         "pupils": [1100.0, 900.0, np.nan, 200.0],
         "sixth_form": pd.array([True, False, True, False], dtype="boolean")},
        geometry=[Point(A), Point(B), Point(B[0], B[1] + 0.01), Point(A[0], A[1] + 0.01)],
        crs=4326)
    spec = {"post16": DestinationSet(source="schools", categories=["further-education"],
                                     include_sixth_forms=True),
            "colleges": DestinationSet(source="schools", categories=["further-education"])}
    data = SimpleNamespace(study=SimpleNamespace(destinations=spec), schools=schools)
    caplog.set_level("INFO", logger="transport_access")
    sets = {s.name: s for s in ar.study_destinations(data)}
    assert sets["post16"].points["id"].tolist() == ["1", "3"]
    # A school's roll counts every age, not its sixth form: sites are counted.
    assert sets["post16"].weight is None and sets["post16"].capacity is None
    assert sets["colleges"].points["id"].tolist() == ["3"]
    assert "1 schools with a sixth form added" in caplog.text
    # A schools file that cannot say: only the categories, and a warning that says why.
    schools["sixth_form"] = pd.array([pd.NA, pd.NA, True, False], dtype="boolean")
    ar._SIXTH_FORM_WARNED.clear()
    caplog.clear()
    sets = {s.name: s for s in ar.study_destinations(data)}
    assert sets["post16"].points["id"].tolist() == ["3"]
    assert "does not say which of 2 schools have a sixth form" in caplog.text
    caplog.clear()
    ar.study_destinations(data)
    assert "sixth form" not in caplog.text  # said once
