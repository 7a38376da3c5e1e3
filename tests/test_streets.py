"""Street networks from OpenStreetMap and street routing (snapping, links, matrices)."""

from __future__ import annotations

import logging
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from scipy.sparse.csgraph import connected_components

from transport_access.errors import FileFormatError, MissingFileError, UnsnappablePointsError
from transport_access.network._osm import KMH_PER_MPH, oneway_for, parse_maxspeed_kmh, usable_by
from transport_access.network.streets import build_street_network
from transport_access.report import DataReport
from transport_access.routing.straight_line import haversine_m, straight_line_links
from transport_access.routing.streets import (
    compute_links,
    compute_travel_time_matrix,
    snap_points,
    street_links,
    street_travel_time_matrix,
)

MPH = KMH_PER_MPH
WALK_MPS = 4.8 / 3.6


# --- maxspeed and tag rules ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "highway", "expected"),
    [
        ("30 mph", None, 30 * MPH),
        ("30mph", None, 30 * MPH),
        ("50", None, 50.0),
        ("50 km/h", None, 50.0),
        ("10 knots", None, 18.52),
        ("20 mph;30 mph", None, 20 * MPH),
        ("national", "primary", 60 * MPH),
        ("national", "motorway", 70 * MPH),
        ("national", "unclassified", None),
        ("GB:nsl_single", "secondary", 60 * MPH),
        ("GB:nsl_dual", "trunk", 70 * MPH),
        ("GB:zone20", None, 20 * MPH),
        ("DE:zone30", None, 30.0),
        ("none", None, None),
        ("signals", None, None),
        ("0", None, None),
        ("fast!", None, None),
        ("", None, None),
        (None, None, None),
        ("garbage;40", None, 40.0),
    ],
)
def test_parse_maxspeed_kmh(value: str | None, highway: str | None, expected: float | None) -> None:
    result = parse_maxspeed_kmh(value, highway=highway)
    if expected is None:
        assert result is None
    else:
        assert result == pytest.approx(expected, abs=1e-9)


def test_mode_rules() -> None:
    assert usable_by("walk", {"highway": "footway"})
    assert not usable_by("walk", {"highway": "motorway"})
    assert not usable_by("walk", {"highway": "tertiary", "foot": "no"})
    assert not usable_by("walk", {"highway": "service", "access": "private"})
    assert usable_by("walk", {"highway": "service", "access": "private", "foot": "yes"})
    assert not usable_by("cycle", {"highway": "footway"})
    assert usable_by("cycle", {"highway": "footway", "bicycle": "designated"})
    assert not usable_by("cycle", {"highway": "path", "bicycle": "no"})
    assert not usable_by("car", {"highway": "residential", "motor_vehicle": "no"})
    assert usable_by("car", {"highway": "residential", "access": "destination"})
    assert not usable_by("car", {"highway": "service", "service": "parking_aisle"})
    assert oneway_for("car", {"oneway": "yes"}) == "yes"
    assert oneway_for("car", {"oneway": "-1"}) == "-1"
    assert oneway_for("car", {"junction": "roundabout"}) == "yes"
    assert oneway_for("car", {"highway": "motorway", "oneway": "no"}) == "no"
    assert oneway_for("cycle", {"oneway": "yes", "oneway:bicycle": "no"}) == "no"
    assert oneway_for("walk", {"oneway": "yes"}) == "no"


# --- a tiny synthetic network with hand-computed answers -------------------------------------

BASE_LON, BASE_LAT, STEP = -2.440, 50.710, 0.001
GRID = {1: (0, 0), 2: (1, 0), 3: (2, 0), 4: (2, 1), 5: (1, 1), 6: (0, 1), 7: (1, 2), 8: (3, 0)}


def _lonlat(node: int) -> tuple[float, float]:
    x, y = GRID[node]
    return BASE_LON + x * STEP, BASE_LAT + y * STEP


def _metres(a: int, b: int) -> float:
    return float(haversine_m(*_lonlat(a), *_lonlat(b)))


def _edge_set(graph) -> set[tuple[int, int]]:  # noqa: ANN001
    tails = np.repeat(graph.node_osmid, np.diff(graph.indptr))
    return set(zip(tails.tolist(), graph.node_osmid[graph.indices].tolist(), strict=True))


@pytest.fixture(scope="module")
def tiny(fixtures: Path):  # noqa: ANN201
    return build_street_network(fixtures / "tiny_streets.osm", cache=False)


def test_tiny_graph_structure(tiny) -> None:  # noqa: ANN001
    both = {(1, 2), (2, 3), (4, 5)}
    walk = both | {(3, 4), (5, 6), (5, 7)}
    assert _edge_set(tiny["walk"]) == walk | {(b, a) for a, b in walk}
    # Way 102 is drawn 4 -> 3 with oneway=-1: one direction, 3 -> 4. Way 104 has foot=no.
    cycle_car = {(a, b) for a, b in both} | {(b, a) for a, b in both} | {(3, 4), (2, 5), (5, 2)}
    assert _edge_set(tiny["cycle"]) == cycle_car
    assert _edge_set(tiny["car"]) == cycle_car
    # The motorway 3 -> 8 is a one-way dead end, outside the largest SCC.
    assert tiny["car"].stats["nodes_outside_largest_scc"] == 1
    assert sorted(tiny["car"].node_osmid.tolist()) == [1, 2, 3, 4, 5]
    assert sorted(tiny["walk"].node_osmid.tolist()) == [1, 2, 3, 4, 5, 6, 7]


def test_tiny_car_speeds_and_times(tiny) -> None:  # noqa: ANN001
    car = tiny["car"]
    index = {osmid: i for i, osmid in enumerate(car.node_osmid.tolist())}
    tails = np.repeat(np.arange(car.n_nodes), np.diff(car.indptr))
    speed_kmh = {
        (int(car.node_osmid[t]), int(car.node_osmid[h])): length / tt * 3.6
        for t, h, length, tt in zip(tails, car.indices, car.length_m, car.travel_time_s,
                                    strict=True)
    }
    assert speed_kmh[(1, 2)] == pytest.approx(30 * MPH)  # maxspeed=30 mph
    assert speed_kmh[(3, 4)] == pytest.approx(20 * MPH)  # maxspeed=20 mph
    assert speed_kmh[(4, 5)] == pytest.approx(20 * MPH)  # residential default
    assert speed_kmh[(5, 2)] == pytest.approx(60 * MPH)  # tertiary, national limit
    assert len(index) == 5

    def t(a: int, b: int, mph: float) -> float:
        return _metres(a, b) / (mph * MPH / 3.6)

    lon, lat = np.array([_lonlat(n) for n in (1, 3, 4)]).T
    matrix = street_travel_time_matrix(tiny, "car", (lon, lat), (lon, lat))
    # 1 -> 4: via the fast tertiary 2 -> 5 then residential 5 -> 4, not 2 -> 3 -> 4.
    one_to_four = t(1, 2, 30) + t(2, 5, 60) + t(5, 4, 20)
    assert one_to_four < t(1, 2, 30) + t(2, 3, 30) + t(3, 4, 20)
    assert matrix[0, 2] == np.rint(one_to_four)
    # 3 -> 4 may use the one-way; 4 -> 3 must go round by 5 and 2.
    assert matrix[1, 2] == np.rint(t(3, 4, 20))
    assert matrix[2, 1] == np.rint(t(4, 5, 20) + t(5, 2, 60) + t(2, 3, 30))
    assert np.all(np.diag(matrix) == 0)


def test_tiny_walk_links_and_speed(tiny) -> None:  # noqa: ANN001
    lon, lat = np.array([_lonlat(n) for n in (1, 6, 7)]).T
    links = street_links(tiny, "walk", lon[:1], lat[:1], lon, lat, max_seconds=3600)
    # No walking on the private service road 6-1 or the foot=no tertiary 5-2.
    to_six = _metres(1, 2) + _metres(2, 3) + _metres(3, 4) + _metres(4, 5) + _metres(5, 6)
    to_seven = to_six - _metres(5, 6) + _metres(5, 7)
    expected = np.rint(np.array([0.0, to_six, to_seven]) / WALK_MPS)
    assert links.to_dense()[0].tolist() == expected.tolist()

    faster = street_links(tiny, "walk", lon[:1], lat[:1], lon, lat, speed_kmh=9.6,
                          max_seconds=3600)
    assert faster.to_dense()[0].tolist() == np.rint(np.array([0.0, to_six, to_seven])
                                                     / (9.6 / 3.6)).tolist()

    # The cut-off keeps 6 (about 295 s) and leaves out 7 (about 322 s).
    bounded = street_links(tiny, "walk", lon[:1], lat[:1], lon, lat, max_seconds=300)
    assert bounded.indices.tolist() == [0, 1]


def test_tiny_snapping(tiny, caplog: pytest.LogCaptureFixture) -> None:  # noqa: ANN001
    lon6, lat6 = _lonlat(6)
    lon = np.array([lon6, lon6 + 0.2])
    lat = np.array([lat6 + 0.0001, lat6])
    with caplog.at_level(logging.WARNING):
        walk = snap_points(tiny, "walk", lon, lat, ids=["near", "far away"])
    assert walk.ok.tolist() == [True, False]
    assert tiny["walk"].node_osmid[walk.node[0]] == 6
    assert walk.distance_m[0] == pytest.approx(haversine_m(lon6, lat6, lon6, lat6 + 0.0001))
    assert walk.node[1] == -1 and walk.distance_m[1] > 10_000
    assert "1 of 2 points" in caplog.text and "far away" in caplog.text

    # Node 6 is not drivable: the car snap goes to node 5 and is walked.
    car = snap_points(tiny, "car", lon[:1], lat[:1])
    assert tiny["car"].node_osmid[car.node[0]] == 5
    snap_m = float(haversine_m(lon[0], lat[0], *_lonlat(5)))
    assert car.distance_m[0] == pytest.approx(snap_m)
    lon2, lat2 = _lonlat(2)
    to_two = (np.array([lon2]), np.array([lat2]))
    matrix = street_travel_time_matrix(tiny, "car", (lon, lat), to_two)
    expected = snap_m / WALK_MPS + _metres(5, 2) / (60 * MPH / 3.6)
    assert matrix[0, 0] == np.rint(expected)
    assert np.isnan(matrix[1, 0])

    with pytest.raises(ValueError, match="pass speed_kmh=None"):
        street_links(tiny, "car", lon, lat, lon, lat, speed_kmh=30, max_seconds=60)
    with pytest.raises(UnsnappablePointsError, match="none of the 1 points"):
        snap_points(tiny, "walk", lon[1:], lat[1:])


def test_pbf_equals_xml(tiny, fixtures: Path, tmp_path: Path) -> None:  # noqa: ANN001
    import osmium

    pbf = tmp_path / "tiny.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        for obj in osmium.FileProcessor(str(fixtures / "tiny_streets.osm")):
            writer.add(obj)
    from_pbf = build_street_network(pbf, cache=False)
    for mode in ("walk", "cycle", "car"):
        assert np.array_equal(from_pbf[mode].indptr, tiny[mode].indptr)
        assert np.array_equal(from_pbf[mode].indices, tiny[mode].indices)
        assert np.allclose(from_pbf[mode].length_m, tiny[mode].length_m, rtol=0, atol=1e-6)


def test_fallback_without_network() -> None:
    lon = np.array([-2.44, -2.43])
    lat = np.array([50.71, 50.71])
    links = compute_links(None, "walk", lon, lat, lon, lat, max_seconds=3600)
    direct = straight_line_links(lon, lat, lon, lat, speed_kmh=4.8, circuity=1.3,
                                 max_seconds=3600)
    assert np.array_equal(links.to_dense(), direct.to_dense())
    matrix = compute_travel_time_matrix(None, "car", (lon, lat), (lon, lat))
    metres = float(haversine_m(lon[0], lat[0], lon[1], lat[1]))
    assert matrix[0, 1] == np.rint(metres * 1.3 / (40 / 3.6))


# --- bad input ---------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MissingFileError, match="nowhere.osm.pbf"):
        build_street_network(tmp_path / "nowhere.osm.pbf")


def test_not_a_pbf(tmp_path: Path) -> None:
    bad = tmp_path / "notes.osm.pbf"
    bad.write_text("this is not OpenStreetMap data\n")
    with pytest.raises(FileFormatError, match="notes.osm.pbf.*not an OpenStreetMap PBF"):
        build_street_network(bad)


def test_pbf_without_streets(tmp_path: Path) -> None:
    import osmium
    from osmium.osm import Location, mutable

    pbf = tmp_path / "buildings.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        writer.add_node(mutable.Node(id=1, location=Location(-2.44, 50.71)))
        writer.add_node(mutable.Node(id=2, location=Location(-2.43, 50.71)))
        writer.add_way(mutable.Way(id=1, nodes=[1, 2], tags={"building": "yes"}))
    with pytest.raises(FileFormatError, match="buildings.osm.pbf: has no streets usable by walk"):
        build_street_network(pbf)


def test_mode_without_streets(tmp_path: Path, fixtures: Path) -> None:
    text = (fixtures / "tiny_streets.osm").read_text()
    footways_only = tmp_path / "footways.osm"
    footways_only.write_text(text.replace('v="residential"', 'v="footway"')
                             .replace('v="tertiary"', 'v="footway"')
                             .replace('v="motorway"', 'v="footway"'))
    assert build_street_network(footways_only, modes=["walk"], cache=False)["walk"].n_nodes == 8
    with pytest.raises(FileFormatError, match="no streets usable by car"):
        build_street_network(footways_only, modes=["car"], cache=False)


# --- real extracts -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def porto_alegre(shared_data: Path):  # noqa: ANN201
    # cache=False: module fixtures run before the per-test cache isolation applies.
    return build_street_network(shared_data / "porto-alegre" / "poa_osm.pbf", cache=False)


def _single_scc(graph) -> bool:  # noqa: ANN001
    n, _ = connected_components(graph.csgraph(graph.length_m), directed=True, connection="strong")
    return n == 1


def test_porto_alegre_graphs(porto_alegre) -> None:  # noqa: ANN001
    walk, cycle, car = porto_alegre["walk"], porto_alegre["cycle"], porto_alegre["car"]
    # Observed when written: walk 37,751 nodes / 90,032 edges, cycle 32,729 / 65,321,
    # car 26,238 / 50,664.
    assert 35_000 < walk.n_nodes < 40_000 and 85_000 < walk.n_edges < 95_000
    assert 30_000 < cycle.n_nodes < 35_000
    assert 24_000 < car.n_nodes < 28_000
    assert walk.n_nodes > cycle.n_nodes > car.n_nodes
    for graph in (walk, cycle, car):
        assert _single_scc(graph)
        assert 0 < graph.stats["nodes_outside_largest_scc"] < 0.05 * graph.stats["nodes_in_graph"]
        assert np.all(graph.length_m >= 0)
        assert np.all(np.diff(graph.indptr) >= 0) and graph.indptr[-1] == graph.n_edges
    # Walking is two-way everywhere; driving has one-way streets.
    assert walk.n_edges % 2 == 0
    speeds = car.length_m / car.travel_time_s * 3.6
    assert speeds.min() >= 10 - 1e-9 and speeds.max() <= 130
    assert np.isclose(speeds, 60.0).sum() > 100  # "60" maxspeed tags, km/h


def test_report_counts_dropped_nodes(shared_data: Path) -> None:
    report = DataReport()
    net = build_street_network(shared_data / "osm-samples" / "leeds-its-example.osm.pbf",
                               report=report)
    frame = report.to_frame().set_index("dataset")
    for mode in ("walk", "cycle", "car"):
        row = frame.loc[f"streets {mode}"]
        assert row.rows_kept == net[mode].n_nodes
        assert row.rows_excluded == net[mode].stats["nodes_outside_largest_scc"]
        assert row.rows_kept + row.rows_excluded == net[mode].stats["nodes_in_graph"]
    # Observed: walk 584 nodes (42 dropped), cycle 295 (50), car 122 (193; a tiny clipped
    # extract whose one-way roads run off its edge).
    assert net["walk"].n_nodes == 584 and net["car"].n_nodes == 122
    for mode in ("walk", "cycle", "car"):
        assert _single_scc(net[mode])


def test_cache_reuse(shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANSPORT_ACCESS_CACHE", str(tmp_path / "cache"))
    pbf = shared_data / "osm-samples" / "leeds-its-example.osm.pbf"
    first = build_street_network(pbf)
    second = build_street_network(pbf)
    assert first.from_cache == {"walk": False, "cycle": False, "car": False}
    assert second.from_cache == {"walk": True, "cycle": True, "car": True}
    for mode in ("walk", "cycle", "car"):
        for name in ("node_osmid", "lon", "lat", "indptr", "indices", "length_m"):
            assert np.array_equal(getattr(first[mode], name), getattr(second[mode], name))
    assert np.array_equal(first["car"].travel_time_s, second["car"].travel_time_s)
    assert second["walk"].travel_time_s is None
    # A different bounding box is a different build.
    box = build_street_network(pbf, modes=["walk"], bbox=(-1.56, 53.80, -1.54, 53.81))
    assert box.from_cache == {"walk": False}


def _random_points(graph, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    rng = np.random.default_rng(seed)
    pick = rng.choice(graph.n_nodes, n, replace=False)
    # Jitter by up to ~100 m so snap legs are not zero.
    return (graph.lon[pick] + rng.uniform(-0.001, 0.001, n),
            graph.lat[pick] + rng.uniform(-0.001, 0.001, n))


@pytest.mark.parametrize(("mode", "max_seconds"), [("walk", 1200), ("car", 600)])
def test_links_equal_networkx(
    porto_alegre, mode: str, max_seconds: int, monkeypatch: pytest.MonkeyPatch  # noqa: ANN001
) -> None:
    # Small chunks, so that several searches blocks are stitched together.
    monkeypatch.setattr("transport_access.routing.streets._MAX_CHUNK", 3)
    graph = porto_alegre[mode]
    from_lon, from_lat = _random_points(graph, 8, seed=1)
    # Two sources on one node with different snap legs share a search.
    from_lon[7], from_lat[7] = from_lon[0] + 0.00005, from_lat[0]
    to_lon, to_lat = _random_points(graph, 300, seed=2)
    # Some targets near the sources, so that the cut-off matters.
    to_lon[:8], to_lat[:8] = from_lon + 0.003, from_lat + 0.002
    links = street_links(porto_alegre, mode, from_lon, from_lat, to_lon, to_lat,
                         max_seconds=max_seconds)
    got = links.to_dense()

    weights = graph.edge_seconds(None if mode == "car" else 4.8)
    nx_graph = graph.to_networkx(weights)
    src = snap_points(graph, mode, from_lon, from_lat)
    dst = snap_points(graph, mode, to_lon, to_lat)
    assert src.ok.all() and dst.ok.all()
    assert src.node[7] == src.node[0] and src.distance_m[7] != src.distance_m[0]
    src_snap_s = src.distance_m / WALK_MPS
    dst_snap_s = dst.distance_m / WALK_MPS
    expected = np.full_like(got, np.nan)
    for i, node in enumerate(src.node):
        lengths = nx.single_source_dijkstra_path_length(nx_graph, int(node), weight="weight")
        for j, target in enumerate(dst.node):
            if int(target) in lengths:
                total = np.rint(src_snap_s[i] + lengths[int(target)] + dst_snap_s[j])
                if total <= max_seconds:
                    expected[i, j] = total
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    assert np.array_equal(got[~np.isnan(got)], expected[~np.isnan(expected)])
    assert links.n_links > 8  # the check is not vacuous
    assert links.seconds.max() <= max_seconds
    # Unbounded, some pairs take longer than the cut-off: the bound did cut.
    full = street_travel_time_matrix(porto_alegre, mode, (from_lon, from_lat), (to_lon, to_lat))
    assert np.nanmax(full) > max_seconds
    assert np.array_equal(np.where(full <= max_seconds, full, np.nan), got, equal_nan=True)
