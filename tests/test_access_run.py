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
    # The 08:40 bus arrives 08:45 and needs the rider at A by 08:39. No bus comes back, but
    # walking home (32.5 min) is possible at any minute of 15:30-18:30.
    assert home["arrive_by_ok"] == 1.0
    assert home["morning_departure_min"] == 8 * 60 + 39
    assert home["arrival_min"] == 8 * 60 + 45
    assert home["latest_return_min"] == 18 * 60 + 30
    assert (home["return_ok"], home["return_feasible"]) == (1.0, 1.0)
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


def test_bad_modes_and_empty_sets(line_network: api.TransportNetwork,
                                  caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(InvalidValueError, match="bus"):
        ar.compute_access(HOMES, [SCHOOL], network=line_network, modes=["bus"])
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
        # Transit may always walk instead, so it is never slower than walking.
        both = transit.index[walk.notna()]
        assert (transit[both] <= walk[both] + 1e-9).all()
        assert (values.loc[kind, "transit", "within_60_min"]
                >= values.loc[kind, "walk", "within_60_min"]).all()
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
