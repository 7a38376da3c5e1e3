"""Isochrones on hand-made streets and timetables with known areas, Porto Alegre, and the batch."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point

from tests.test_routing_api import A, B, write_line_feed
from transport_access.errors import InvalidValueError
from transport_access.network.streets import ModeNetwork, StreetNetwork
from transport_access.publish import isochrones as iso
from transport_access.routing import api
from transport_access.routing.straight_line import EARTH_RADIUS_M, haversine_m

WALK_MPS = 4.8 / 3.6
# A walk street due north along the meridian -2.4 (the local projection's central meridian,
# where projected distances are exact): nodes every 500 m, both directions.
LINE_LON = -2.4
LINE_LAT0 = 50.7
STEP_M = 500.0


def _line_streets(n_nodes: int = 5) -> StreetNetwork:
    lat = LINE_LAT0 + np.degrees(np.arange(n_nodes) * STEP_M / EARTH_RADIUS_M)
    lon = np.full(n_nodes, LINE_LON)
    tails, heads = [], []
    for i in range(n_nodes - 1):
        tails += [i, i + 1]
        heads += [i + 1, i]
    order = np.lexsort((heads, tails))
    tails, heads = np.asarray(tails)[order], np.asarray(heads)[order]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(tails, minlength=n_nodes))])
    length = haversine_m(lon[tails], lat[tails], lon[heads], lat[heads])
    walk = ModeNetwork(
        "walk",
        np.arange(n_nodes, dtype=np.int64),
        lon,
        lat,
        indptr.astype(np.int64),
        heads.astype(np.int32),
        length,
    )
    return StreetNetwork("synthetic", {"walk": walk})


def _cap_area(length_m: float, buffer_m: float) -> float:
    # A segment buffered with 4 segments per quarter circle: a rectangle and a 16-gon.
    return length_m * 2 * buffer_m + 8 * math.sin(math.pi / 8) * buffer_m**2


def _metric(frame: gpd.GeoDataFrame, lon: float, lat: float) -> gpd.GeoSeries:
    return frame.geometry.to_crs(iso._local_crs(lon, lat))


def test_walk_isochrone_on_a_street_line_covers_the_expected_edges() -> None:
    net = api.TransportNetwork(streets=_line_streets())
    origin = pd.DataFrame({"id": ["home"], "lon": [LINE_LON], "lat": [LINE_LAT0]})
    result = iso.compute_isochrones(net, origin, mode="walk", thresholds_min=(15, 30))
    assert result.columns.tolist() == iso.COLUMNS
    assert result["threshold_min"].tolist() == [15.0, 30.0]
    assert set(result["method"]) == {"street network"}
    assert result.crs.to_epsg() == 4326
    # 15 min at 4.8 km/h = 1,200 m: nodes 0, 1, 2 and 40 % of the edge 2 -> 3.
    area = _metric(result, LINE_LON, LINE_LAT0).area.to_numpy()
    assert area[0] == pytest.approx(_cap_area(15 * 60 * WALK_MPS, 75.0), rel=1e-4)
    assert area[1] == pytest.approx(_cap_area(4 * STEP_M, 75.0), rel=1e-4)  # the whole line
    graph = net.streets["walk"]
    inside = [
        result.geometry.iloc[0].contains(Point(x, y))
        for x, y in zip(graph.lon, graph.lat, strict=False)
    ]
    assert inside == [True, True, True, False, False]
    end_lat = LINE_LAT0 + math.degrees(1200.0 / EARTH_RADIUS_M)
    assert result.geometry.iloc[0].contains(Point(LINE_LON, end_lat + math.degrees(70 / 6.371e6)))
    assert not result.geometry.iloc[0].contains(
        Point(LINE_LON, end_lat + math.degrees(80 / EARTH_RADIUS_M))
    )


def test_off_street_origin_snap_leg_and_unsnapped_point(caplog: pytest.LogCaptureFixture) -> None:
    net = api.TransportNetwork(streets=_line_streets())
    # 200 m north of node 4, beyond the last node: 200 m of snap leg, then the line south.
    lat4 = LINE_LAT0 + math.degrees(4 * STEP_M / EARTH_RADIUS_M)
    points = pd.DataFrame(
        {
            "id": ["north", "far"],
            "lon": [LINE_LON, LINE_LON + 0.1],
            "lat": [lat4 + math.degrees(200 / EARTH_RADIUS_M), LINE_LAT0],
        }
    )
    caplog.set_level("WARNING", logger="transport_access")
    result = iso.compute_isochrones(net, points, mode="walk", thresholds_min=(15,))
    area = _metric(result, LINE_LON, LINE_LAT0).area.to_numpy()
    assert area[0] == pytest.approx(_cap_area(15 * 60 * WALK_MPS, 75.0), rel=1e-4)
    assert result.geometry.iloc[1].is_empty
    assert "farther than 500 m" in caplog.text and "far" in caplog.text


def test_straight_line_discs_have_exact_radii(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("WARNING", logger="transport_access")
    points = pd.DataFrame({"id": ["a", "b"], "lon": [-2.44, -1.9], "lat": [50.71, 50.75]})
    result = iso.compute_isochrones(api.TransportNetwork(), points, mode="walk")
    assert len(result) == 8 and set(result["method"]) == {"straight-line estimate"}
    assert "straight-line estimate" in caplog.text
    assert result["window"].isna().all() and result["percentile"].isna().all()
    for row, (pid, threshold) in enumerate(
        zip(result["id"], result["threshold_min"], strict=False)
    ):
        radius_m = threshold * 60 * WALK_MPS / 1.3  # 15 min: 923.1 m
        lon, lat = points.set_index("id").loc[pid, ["lon", "lat"]]
        ring = np.asarray(result.geometry.iloc[row].exterior.coords)
        distances = haversine_m(lon, lat, ring[:, 0], ring[:, 1])
        assert distances == pytest.approx(radius_m, rel=2e-4)
        area = _metric(result.iloc[[row]], lon, lat).area.iloc[0]
        assert area == pytest.approx(math.pi * radius_m**2, rel=2e-3)
    cycle = iso.compute_isochrones(
        api.TransportNetwork(), points.iloc[:1], mode="cycle", thresholds_min=[15]
    )
    ring = np.asarray(cycle.geometry.iloc[0].exterior.coords)
    assert haversine_m(-2.44, 50.71, ring[:, 0], ring[:, 1]) == pytest.approx(
        15 * 60 * 16 / 3.6 / 1.3, rel=2e-4
    )


def test_polygons_are_nested_and_valid() -> None:
    points = pd.DataFrame({"id": ["a"], "lon": [LINE_LON], "lat": [LINE_LAT0 + 0.001]})
    for net in (api.TransportNetwork(), api.TransportNetwork(streets=_line_streets(9))):
        result = iso.compute_isochrones(net, points, mode="walk")
        geoms = result.geometry.to_list()
        assert all(g.is_valid and not g.is_empty for g in geoms)
        for small, large in zip(geoms, geoms[1:], strict=False):
            assert large.buffer(1e-9).contains(small)
            assert large.area > small.area


@pytest.fixture(scope="module")
def line_transit(tmp_path_factory: pytest.TempPathFactory) -> api.TransportNetwork:
    return api.build_transport_network(gtfs=[write_line_feed(tmp_path_factory.mktemp("line"))])


def test_transit_isochrone_reaches_around_the_far_stop(line_transit: api.TransportNetwork) -> None:
    home = pd.DataFrame({"id": ["home"], "lon": [A[0]], "lat": [A[1]]})
    # Departing 07:00-07:09 the bus (every 10 min, 5 min ride, 60 s slack) reaches B in
    # 15, 14, ..., 6 min: the median (nearest rank 5 of 10) is 10 min.
    result = iso.compute_isochrones(
        line_transit,
        home,
        mode="transit",
        thresholds_min=(15, 30),
        date="2024-03-04",
        departure="07:00",
        window_min=10,
    )
    assert result["window"].tolist() == ["07:00-07:10"] * 2
    assert result["percentile"].tolist() == [50, 50]
    assert set(result["method"]) == {"straight-line estimate"}
    walk_r = 15 * 60 * WALK_MPS / 1.3
    at_b_r = (15 - 10) * 60 * WALK_MPS / 1.3  # 307.7 m of walking left at B
    north = math.degrees(1 / EARTH_RADIUS_M)
    fifteen = result.geometry.iloc[0]
    assert fifteen.contains(Point(B[0], B[1] + 290 * north))
    assert not fifteen.contains(Point(B[0], B[1] + 320 * north))
    # B is 2 km away (32.5 min on foot): only the bus reaches it; the midpoint is not reached.
    assert not fifteen.contains(Point((A[0] + B[0]) / 2, A[1]))
    area = _metric(result.iloc[[0]], A[0], A[1]).area.iloc[0]
    assert area == pytest.approx(math.pi * (walk_r**2 + at_b_r**2), rel=2e-3)
    # At 30 min the walk on from B is capped at max_walk_min (20 min), not 20 min + 0.
    thirty = _metric(result.iloc[[1]], A[0], A[1]).area.iloc[0]
    walk30 = 30 * 60 * WALK_MPS / 1.3
    at_b30 = 20 * 60 * WALK_MPS / 1.3
    union = shapely.union(Point(0, 0).buffer(walk30, 256), Point(2000, 0).buffer(at_b30, 256))
    assert thirty == pytest.approx(union.area, rel=3e-3)


def test_transit_on_streets_walks_on_from_the_stop(line_transit: api.TransportNetwork) -> None:
    # Streets: a line north from each stop; A's line does not reach B's.
    streets = _line_streets(3)
    walk = streets["walk"]
    lon = np.concatenate([walk.lon - LINE_LON + A[0], walk.lon - LINE_LON + B[0]])
    lat = np.concatenate([walk.lat - LINE_LAT0 + A[1], walk.lat - LINE_LAT0 + B[1]])
    n = walk.n_nodes
    both = ModeNetwork(
        "walk",
        np.arange(2 * n),
        lon,
        lat,
        np.concatenate([walk.indptr, walk.indptr[1:] + walk.n_edges]),
        np.concatenate([walk.indices, walk.indices + n]).astype(np.int32),
        np.concatenate([walk.length_m, walk.length_m]),
    )
    net = api.TransportNetwork(
        streets=StreetNetwork("two lines", {"walk": both}), feed=line_transit.feed
    )
    home = pd.DataFrame({"id": ["home"], "lon": [A[0]], "lat": [A[1]]})
    result = iso.compute_isochrones(
        net,
        home,
        mode="transit",
        thresholds_min=(15,),
        date="2024-03-04",
        departure="07:00",
        window_min=10,
    )
    assert set(result["method"]) == {"street network"}
    # 5 min left at B: 400 m up B's street (node B+1 at 500 m is not reached).
    north = math.degrees(1 / EARTH_RADIUS_M)
    polygon = result.geometry.iloc[0]
    assert polygon.contains(Point(B[0], B[1] + 390 * north))
    assert not polygon.contains(Point(B[0], B[1] + 490 * north))
    assert polygon.contains(Point(A[0], A[1] + 1000 * north))  # A's street, on foot
    walk_only = iso.compute_isochrones(net, home, mode="walk", thresholds_min=(15,))
    assert not walk_only.geometry.iloc[0].contains(Point(B[0], B[1] + 100 * north))


def test_bad_arguments() -> None:
    net = api.TransportNetwork()
    home = pd.DataFrame({"id": ["home"], "lon": [A[0]], "lat": [A[1]]})
    with pytest.raises(InvalidValueError, match="mode"):
        iso.compute_isochrones(net, home, mode="boat")
    with pytest.raises(InvalidValueError, match="thresholds_min"):
        iso.compute_isochrones(net, home, mode="walk", thresholds_min=(0, 15))
    with pytest.raises(InvalidValueError, match="date"):
        iso.compute_isochrones(net, home, mode="transit")


def test_porto_alegre_walk_and_transit_on_streets(shared_data: Path) -> None:
    poa = shared_data / "porto-alegre"
    net = api.build_transport_network(
        osm=poa / "poa_osm.pbf",
        gtfs=[poa / "poa_eptc.zip", poa / "poa_trensurb.zip"],
        street_modes=("walk",),
    )
    points = pd.DataFrame(
        {"id": ["centro", "bom_fim"], "lon": [-51.2300, -51.2100], "lat": [-30.0320, -30.0330]}
    )
    walk = iso.compute_isochrones(net, points, mode="walk", thresholds_min=(15, 30))
    transit = iso.compute_isochrones(
        net,
        points,
        mode="transit",
        thresholds_min=(15, 30),
        date="2019-05-13",
        departure="14:00",
        window_min=20,
        workers=2,
    )
    for frame in (walk, transit):
        assert set(frame["method"]) == {"street network"}
        assert frame.geometry.is_valid.all() and not frame.geometry.is_empty.any()
    walk_km2 = _metric(walk, -51.22, -30.03).area.to_numpy() / 1e6
    transit_km2 = _metric(transit, -51.22, -30.03).area.to_numpy() / 1e6
    # 15 min on foot is 1.2 km: a street-shaped area well inside the 4.5 km2 disc.
    assert 0.8 < walk_km2[0] < 4.5
    assert np.all(transit_km2 >= walk_km2 * 0.999)
    assert transit_km2[1] > 1.5 * walk_km2[1]  # buses at 14:00 carry riders beyond the walk


def _batch_study(tmp_path: Path) -> SimpleNamespace:
    from transport_access.config import DepartureWindow, DestinationSet, Modes, Routing

    study = SimpleNamespace(
        destinations={
            "secondary": DestinationSet(source="schools", categories=["secondary"]),
            "post16": DestinationSet(source="schools", categories=["further-education"]),
        },
        departure_windows=[DepartureWindow(name="am", start="07:00", end="07:10")],
        modes=Modes(),
        routing=Routing(),
        data=SimpleNamespace(osm=None),
    )
    schools = gpd.GeoDataFrame(
        {
            "urn": ["1", "2", "3"],
            "name": ["Alpha School", "Beta School", "Gamma College"],
            "category": ["secondary", "secondary", "further-education"],
            "pupils": [900.0, 800.0, np.nan],
        },
        geometry=[Point(A), Point(B), Point(B[0], B[1] + 0.01)],
        crs=4326,
    )
    return SimpleNamespace(
        study=study,
        schools=schools,
        gp=None,
        jobs=None,
        lsoas=None,
        service_date=dt.date(2024, 3, 4),
    )


def test_batch_writes_skips_and_recomputes(
    line_transit: api.TransportNetwork, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = _batch_study(tmp_path)
    data.feed = line_transit.feed
    out = tmp_path / "iso"
    caplog.set_level("INFO", logger="transport_access")
    paths = iso.run_isochrones(data, out_dir=out, workers=2)
    names = sorted(p.name for p in paths)
    assert names == sorted(
        f"isochrones_{s}_{m}.{e}"
        for s in ("secondary", "post16")
        for m in ("transit", "walk")
        for e in ("gpkg", "geojson")
    )
    table = gpd.read_file(out / "isochrones_secondary_transit.gpkg")
    assert table["name"].tolist() == ["Alpha School"] * 4 + ["Beta School"] * 4
    assert table["threshold_min"].tolist() == [15.0, 30.0, 45.0, 60.0] * 2
    assert set(table["method"]) == {"straight-line estimate"}
    assert table["window"].iloc[0] == "07:00-07:10"
    sidecar = json.loads((out / "isochrones_secondary_transit.json").read_text())
    assert sidecar["n_destinations"] == 2 and sidecar["window_min"] == 10
    geojson = gpd.read_file(out / "isochrones_post16_walk.geojson")
    assert len(geojson) == 4 and geojson.crs.to_epsg() == 4326

    mtimes = {p: p.stat().st_mtime_ns for p in out.iterdir()}
    caplog.clear()
    again = iso.run_isochrones(data, out_dir=out, workers=2)
    assert sorted(again) == sorted(paths)
    assert {p: p.stat().st_mtime_ns for p in out.iterdir()} == mtimes
    assert caplog.text.count("up to date") == 4 and "computing" not in caplog.text

    # A changed threshold recomputes everything; a changed timetable only transit.
    caplog.clear()
    iso.run_isochrones(data, out_dir=out, workers=1, thresholds_min=(15, 30))
    assert caplog.text.count("computing") == 4
    assert len(gpd.read_file(out / "isochrones_post16_walk.gpkg")) == 2
    caplog.clear()
    feed = data.feed.copy()
    feed.stop_times = feed.stop_times.iloc[:-2]
    data.feed = feed
    iso.run_isochrones(data, out_dir=out, workers=1, thresholds_min=(15, 30))
    assert caplog.text.count("computing") == 2 and caplog.text.count("up to date") == 2
    assert "secondary/transit: computing" in caplog.text
    caplog.clear()
    iso.run_isochrones(
        data,
        out_dir=out,
        workers=1,
        thresholds_min=(15, 30),
        force=True,
        modes=("walk",),
        destination_sets=("post16",),
    )
    assert "post16/walk: computing 1 destinations (forced)" in caplog.text
