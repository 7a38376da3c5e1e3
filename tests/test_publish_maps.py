"""Static maps: classes and legends, the no-access class, difference maps centred on zero,
town labels from NaPTAN localities, the batch of study maps; a Dorset smoke test."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from transport_access.errors import MissingColumnError
from transport_access.publish import _style as st
from transport_access.publish.maps import (
    derive_town_labels,
    plot_difference_map,
    plot_travel_time_map,
    write_study_maps,
)

# ------------------------------------------------------------------------------ synthetic

CODES = [f"E0100000{i}" for i in range(6)]
#: Minutes to the nearest GP: LSOA 4 reaches none within 120 min by either mode.
GP_TRANSIT = [5.0, 25.0, 50.0, 100.0, np.nan, 12.0]
GP_WALK = [5.0, 40.0, 80.0, np.nan, np.nan, 30.0]
SECONDARY_TRANSIT = [14.0, 31.0, 61.0, 119.0, np.nan, 45.0]
DECILES = [1, 2, 5, 7, 9, 10]


def synthetic_boundaries():
    """Six 1.4 km squares in a row near Dorchester (EPSG:4326)."""
    import geopandas as gpd
    from shapely.geometry import box

    squares = [box(-2.47 + 0.02 * i, 50.70, -2.45 + 0.02 * i, 50.7125) for i in range(6)]
    return gpd.GeoDataFrame({"lsoa_code": CODES}, geometry=squares, crs="EPSG:4326")


def synthetic_result():
    """A small AccessResult with boundaries, equity tables, notes and attribution."""
    import geopandas as gpd

    from transport_access.access.equity import equity_tables
    from transport_access.access.run import AccessResult

    boundaries = synthetic_boundaries()
    centroids = boundaries.to_crs(27700).centroid.to_crs(4326)
    lsoas = gpd.GeoDataFrame({
        "lsoa_code": CODES, "lsoa_name": [f"Testshire 00{i}A" for i in range(6)],
        "lad_code": "E06000059", "lad_name": "Dorset",
        "population": [1500.0, 1600.0, 1700.0, 1800.0, 1900.0, 2000.0],
        "imd_rank": [1000, 5000, 15000, 21000, 27000, 32000], "imd_decile": DECILES,
        "imd_quintile": [(d + 1) // 2 for d in DECILES],
    }, geometry=centroids, crs="EPSG:4326")
    rows = []
    for destination, mode, values in (("gp", "transit", GP_TRANSIT), ("gp", "walk", GP_WALK),
                                      ("secondary", "transit", SECONDARY_TRANSIT)):
        for code, value in zip(CODES, values, strict=True):
            rows.append((code, destination, mode, "nearest_p50_min", value))
    long = pd.DataFrame(rows, columns=["lsoa_code", "destination", "mode", "measure", "value"])
    equity = equity_tables(long, pd.DataFrame(lsoas),
                           thresholds_min={"gp": [30.0, 60.0], "secondary": [30.0, 60.0]})
    return AccessResult(
        long=long, wide=pd.DataFrame({"lsoa_code": CODES}), lsoas=lsoas, boundaries=boundaries,
        equity=equity,
        parameters={"area": "Testshire", "service_date": "2026-03-10",
                    "departure_window": {"name": "am", "start": "07:00", "end": "10:00",
                                         "percentiles": [50]},
                    "routing": {"max_time_min": 120.0},
                    "street_model": "straight lines x 1.3"},
        inputs=["/data/lsoas.csv"],
        notes=["No OpenStreetMap street network: walk, cycle and car legs are straight lines "
               "x 1.3 at the mode's speed (car 40 km/h)."],
        attribution="Contains public sector information licensed under the Open Government "
                    "Licence v3.0.",
    )


def synthetic_stops() -> pd.DataFrame:
    """Stops of three towns: Bigtown (neighbourhood localities with a parent), Smallton,
    and Nearby 2 km from Bigtown (too close to label)."""
    rows = []
    for i in range(5):
        rows.append(("Northend", "Bigtown", -2.40 + 0.001 * i, 50.706))
    for i in range(4):
        rows.append(("Southend", "Bigtown", -2.40 + 0.001 * i, 50.704))
    for i in range(6):
        rows.append(("Nearby", "", -2.372 + 0.001 * i, 50.706))
    for i in range(3):
        rows.append(("Smallton", None, -2.20 + 0.001 * i, 50.80))
    return pd.DataFrame(rows, columns=["locality", "parent_locality", "lon", "lat"])


# ------------------------------------------------------------------------------ classes


def test_minute_classes_have_fixed_edges_and_a_no_access_class() -> None:
    classes = st.classify_minutes([3.0, 15.0, 15.1, 59.0, 90.0, 120.0, np.nan],
                                  max_time_min=120.0)
    assert classes.breaks == (15.0, 30.0, 45.0, 60.0, 90.0, 120.0)
    assert classes.codes.tolist() == [0, 0, 1, 3, 4, 5, -1]
    assert classes.labels == ("up to 15 min", "15-30 min", "30-45 min", "45-60 min",
                              "60-90 min", "90-120 min")
    assert classes.missing_label == "no access within 120 min"
    assert classes.colour_of(-1) == st.NO_ACCESS_COLOUR
    assert st.NO_ACCESS_COLOUR not in classes.colours
    # A shorter cut-off drops the classes beyond it.
    short = st.classify_minutes([10.0, 59.0], max_time_min=60.0)
    assert short.labels[-1] == "45-60 min" and short.missing_label == "no access within 60 min"


def test_count_classes_are_rounded_quantiles_whose_labels_match_the_codes() -> None:
    values = np.arange(1, 101, dtype=float) * 123.0  # 123 .. 12,300
    classes = st.classify_counts(values, k=4, unit="jobs")
    # Quartiles 3,167.25 / 6,211.5 / 9,255.75 rounded to two significant figures.
    assert classes.breaks == (3200.0, 6200.0, 9300.0, 12300.0)
    assert classes.labels == ("up to 3,200 jobs", "3,200 to 6,200 jobs",
                              "6,200 to 9,300 jobs", "9,300 to 12,300 jobs")
    for code, value in zip(classes.codes, values, strict=True):
        upper = classes.breaks[code]
        lower = classes.breaks[code - 1] if code else -np.inf
        assert lower < value <= upper
    natural = st.classify_counts([1, 1, 2, 2, 50, 51, 52, 400, 410], k=3,
                                 scheme="natural_breaks")
    assert natural.codes.tolist() == [0, 0, 0, 0, 1, 1, 1, 2, 2]
    with pytest.raises(ValueError, match="scheme"):
        st.classify_counts([1.0], scheme="equal")


def test_difference_classes_are_symmetric_and_centred_on_zero() -> None:
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    classes = st.classify_change([-18.0, -3.0, 0.2, 0.0, 4.0, 12.0, np.nan])
    edges = np.array(classes.breaks)
    assert classes.breaks == (-10.0, -5.0, -0.5, 0.5, 5.0, 10.0, 20.0)
    # Symmetric about zero apart from the open-ended outer classes.
    assert np.allclose(edges[:3], -edges[3:6][::-1])
    assert classes.codes.tolist() == [0, 2, 3, 3, 4, 6, -1]
    assert classes.labels[3] == "no change (within 0.5 min)"
    assert classes.labels[0] == "10 min or more faster"
    assert classes.labels[-1] == "over 10 min slower"
    assert classes.colours[3] == to_hex(colormaps["PuOr"](0.5))  # the neutral centre
    # Faster (improvement) is purple: PuOr's high end; slower is orange.
    purple, orange = colormaps["PuOr"](0.95), colormaps["PuOr"](0.05)
    assert classes.colours[0] == to_hex(purple) and classes.colours[-1] == to_hex(orange)
    # For opportunities a gain is positive, and still purple.
    more = st.classify_change([-100.0, 100.0], unit="jobs", lower_is_better=False)
    assert more.labels[-1].endswith("more") and more.colours[-1] == to_hex(purple)


def test_gaining_or_losing_all_access_has_classes_of_its_own() -> None:
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    change = np.array([-3.0, 0.0, np.nan, np.nan, 6.0, np.nan])
    gained = np.array([False, False, True, False, False, False])
    lost = np.array([False, False, False, True, False, False])
    classes = st.classify_change(change, gained=gained, lost=lost, max_time_min=120)
    # The minute classes are fitted to -3..6 only, not stretched by the reach changes.
    assert classes.breaks == (-np.inf, -5.0, -2.5, -0.5, 0.5, 2.5, 5.0, 10.0, np.inf)
    assert classes.codes.tolist() == [2, 4, 0, 8, 7, -1]
    assert classes.labels[0] == "now within 120 min (none before)"
    assert classes.labels[-1] == "no longer within 120 min"
    assert classes.labels[4] == "no change (within 0.5 min)"
    assert classes.colours[0] == to_hex(colormaps["PuOr"](1.0))
    assert classes.colours[-1] == to_hex(colormaps["PuOr"](0.0))
    assert classes.hatch_of(0) == ".." and classes.hatch_of(4) == "" and classes.hatch_of(-1) == ""
    with pytest.raises(ValueError, match="both gain and lose"):
        st.classify_change(change, gained=gained, lost=gained)


def test_window_phrase_and_plain_names() -> None:
    assert st.window_phrase({"departure_window": {"start": "07:00", "end": "10:00"},
                             "service_date": "2026-03-10"}) == "weekday 07:00-10:00"
    assert st.window_phrase({"departure_window": {"start": "09:00", "end": "12:00"},
                             "service_date": "2026-03-14"}) == "Saturday 09:00-12:00"
    assert st.destination_name("gp") == "GP surgery"
    assert st.mode_phrase("transit") == "by public transport"
    assert st.nice_number(23_000) == 20_000 and st.nice_number(3.6) == 5.0


def test_classes_come_from_mapclassify(monkeypatch: pytest.MonkeyPatch) -> None:
    """Edges from mapclassify's Quantiles, FisherJenks or NaturalBreaks; every class code
    from mapclassify.UserDefined (fixed minute and change edges, and rounded count edges)."""
    import mapclassify

    calls: list[str] = []
    for name in ("Quantiles", "FisherJenks", "NaturalBreaks", "UserDefined"):
        original = getattr(mapclassify, name)

        def spy(*args, _original=original, _name=name, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(mapclassify, name, spy)
    minutes = [3.0, 15.0, 15.1, 59.0, 90.0, 120.0, np.nan]
    classes = st.classify_minutes(minutes)
    expected = mapclassify.UserDefined(np.array(minutes[:-1]), bins=list(classes.breaks)).yb
    assert classes.codes[:-1].tolist() == expected.tolist() and calls[0] == "UserDefined"

    values = np.arange(1, 101, dtype=float) * 123.0
    calls.clear()
    st.classify_counts(values, k=4)
    assert calls == ["Quantiles", "UserDefined"]
    calls.clear()
    jenks = st.classify_counts([1, 1, 2, 2, 50, 51, 52, 400, 410], k=3, scheme="fisher_jenks")
    assert calls == ["FisherJenks", "UserDefined"]
    assert jenks.codes.tolist() == [0, 0, 0, 0, 1, 1, 1, 2, 2]
    calls.clear()
    st.classify_change([-18.0, -3.0, 0.2, 4.0, 12.0])
    st.classify_time_saved([0.0, 7.0, 70.0])
    assert calls == ["UserDefined", "UserDefined"]


def test_counts_of_zero_get_their_own_class_and_small_counts_exact_labels() -> None:
    # GP surgeries within 30 min: whole numbers, many LSOAs with none.
    surgeries = np.array([0, 0, 0, 1, 1, 2, 2, 3, 4, 5, 6, 8, 14, np.nan], dtype=float)
    classes = st.classify_counts(surgeries, k=4, zero_label="none within 30 min")
    assert classes.labels[0] == "none within 30 min" and classes.breaks[0] == 0.0
    assert classes.codes[:3].tolist() == [0, 0, 0] and classes.codes[-1] == -1
    assert (classes.codes[3:-1] > 0).all()
    # Exact integer ranges that tile 1..14 with no gap or overlap, e.g. "1", "2-3", "4-5".
    covered = []
    for label in classes.labels[1:]:
        low, _, high = label.partition("-")
        covered += list(range(int(low), int(high or low) + 1))
    assert covered == list(range(1, 15))
    for value, code in zip(surgeries[:-1], classes.codes[:-1], strict=True):
        assert (classes.breaks[code - 1] if code else -1) < value <= classes.breaks[code]
    # Large counts keep rounded edges; the first class after "none" starts at 1.
    pupils = st.classify_counts([0.0, 0.0, 812.0, 2490.0, 5650.0, 7880.0, 10825.0], k=3,
                                unit="pupils", zero_label="none within 60 min")
    assert pupils.labels[0] == "none within 60 min"
    assert pupils.labels[1].startswith("1 to ") and pupils.labels[-1].endswith("10,825 pupils")
    # Without zero_label zeros share the lowest class, as before.
    assert st.classify_counts(surgeries, k=4).labels[0].startswith("0-")


# ------------------------------------------------------------------------------ towns


def test_town_labels_use_parent_localities_and_keep_apart() -> None:
    towns = derive_town_labels(synthetic_stops(), n_towns=5, min_separation_km=3.0)
    # Bigtown: 9 stops through its neighbourhoods; Nearby (6 stops, 2 km away) is skipped.
    assert towns["name"].tolist() == ["Bigtown", "Smallton"]
    assert towns["n_stops"].tolist() == [9, 3]
    assert towns.loc[0, "lat"] == pytest.approx(50.706)  # median of its stops
    # Without the parent column each neighbourhood competes on its own.
    plain = derive_town_labels(synthetic_stops().drop(columns="parent_locality"),
                               n_towns=5, min_separation_km=0.1)
    assert plain["name"].tolist() == ["Nearby", "Northend", "Southend", "Smallton"]
    assert len(derive_town_labels(synthetic_stops(), n_towns=1)) == 1


def test_town_labels_accept_geometry_and_name_missing_columns() -> None:
    import geopandas as gpd

    stops = synthetic_stops()
    points = gpd.GeoDataFrame(stops[["locality"]],
                              geometry=gpd.points_from_xy(stops["lon"], stops["lat"]),
                              crs="EPSG:4326").to_crs(27700)
    towns = derive_town_labels(points, min_separation_km=3.0)
    assert towns["name"].tolist()[0] == "Nearby"
    with pytest.raises(MissingColumnError, match="locality"):
        derive_town_labels(stops.drop(columns="locality"))


def test_town_labels_climb_parents_to_the_town_and_sit_at_its_centre() -> None:
    rows = [("Springbourne", "Boscombe", -1.860, 50.730)] * 3      # a suburb of a suburb
    rows += [("Boscombe", "Bigtown", -1.850, 50.730)] * 2
    rows += [("Charminster", "Bigtown", -1.870, 50.735)] * 4       # Bigtown's suburb ...
    rows += [("Bigtown", None, -1.880, 50.720)]                    # ... and its centre
    rows += [("Charminster", None, -2.450, 50.730)] * 2            # a village of that name
    rows += [("Westfield", "Charminster", -2.452, 50.731)] * 2     # part of the village
    stops = pd.DataFrame(rows, columns=["locality", "parent_locality", "lon", "lat"])
    towns = derive_town_labels(stops, min_separation_km=1.0).set_index("name")
    assert towns["n_stops"].to_dict() == {"Bigtown": 10, "Charminster": 4}
    assert tuple(towns.loc["Bigtown", ["lon", "lat"]]) == (-1.880, 50.720)
    assert tuple(towns.loc["Charminster", ["lon", "lat"]]) == (-2.450, 50.730)


def test_dorset_town_labels_are_the_towns_at_their_centres(shared_data: Path) -> None:
    """Real NaPTAN of the Dorset study: stops count for their parent town."""
    from transport_access.config import load_study
    from transport_access.load.naptan import load_naptan

    study = load_study(Path(__file__).resolve().parents[1] / "configs" / "dorset.yaml",
                       data_root=shared_data)
    stops = load_naptan([study.resolve(path) for path in study.data.naptan])
    towns = derive_town_labels(stops, n_towns=20).set_index("name")
    assert {"Bournemouth", "Poole", "Weymouth", "Dorchester", "Christchurch"} <= set(towns.index)
    assert list(derive_town_labels(stops)["name"][:4]) == [
        "Poole", "Bournemouth", "Weymouth", "Christchurch"
    ]

    def km_from(name: str, lon: float, lat: float) -> float:
        dx = (towns.loc[name, "lon"] - lon) * 111.2 * np.cos(np.radians(lat))
        return float(np.hypot(dx, (towns.loc[name, "lat"] - lat) * 111.2))

    # Bournemouth is labelled at its centre (the Square), where Charminster, one of its
    # suburbs, used to be; the village Charminster is too close to Dorchester for a label.
    assert km_from("Bournemouth", -1.879, 50.720) < 1.0
    assert km_from("Dorchester", -2.437, 50.715) < 1.5
    assert [name for name in towns.index if km_from(name, -1.879, 50.720) < 3.0] == [
        "Bournemouth"
    ]
    assert "Charminster" not in towns.index


# ------------------------------------------------------------------------------ maps


def _svg_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_travel_time_map_writes_png_and_svg_with_legend(tmp_path: Path) -> None:
    import matplotlib.image as mpimg

    boundaries = synthetic_boundaries()
    values = pd.Series(GP_TRANSIT, index=CODES)
    paths = plot_travel_time_map(
        boundaries, values, tmp_path / "gp", title="Minutes to the nearest GP surgery",
        imd_decile=pd.Series(DECILES, index=CODES), notes=["Note: straight lines."],
        attribution="Contains OS data")
    assert [p.name for p in paths] == ["gp.png", "gp.svg"]
    image = mpimg.imread(paths[0])
    assert image.shape[0] > 1000 and image.shape[1] > 1500
    svg = _svg_text(paths[1])
    for text in ("Minutes to the nearest GP surgery", "up to 15 min", "90-120 min",
                 "no access within 120 min", "20% most deprived in England",
                 "Note: straight lines.", "Contains OS data", ">N<", "km"):
        assert text in svg, text


def test_difference_map_labels_and_colours(tmp_path: Path) -> None:
    change = pd.Series([-12.0, -1.0, 0.0, 0.0, np.nan, 7.0], index=CODES)
    (png,) = plot_difference_map(synthetic_boundaries(), change, tmp_path / "diff",
                                 title="Change", formats=("svg",))
    svg = _svg_text(png)
    assert "no change (within 0.5 min)" in svg and "faster" in svg and "slower" in svg
    classes = st.classify_change(change.to_numpy())
    # Every class colour actually used is painted (fill colours appear in the SVG).
    for code in set(classes.codes.tolist()) - {-1}:
        assert classes.colours[code] in svg.lower()


def test_write_study_maps_writes_the_set(tmp_path: Path) -> None:
    result = synthetic_result()
    changes = pd.DataFrame({"lsoa_code": CODES, "scenario": "new route 5",
                            "destination": "gp", "measure": "nearest_p50_min",
                            "baseline": GP_TRANSIT,
                            "change": [-3.0, 0.0, 0.0, 8.0, np.nan, 0.0]})
    started = time.perf_counter()
    paths = write_study_maps(result, tmp_path, scenario_changes=changes,
                             stops=synthetic_stops(), formats=("png", "svg"))
    elapsed = time.perf_counter() - started
    names = [p.name for p in paths]
    assert names == [
        "gp_transit.png", "gp_transit.svg", "secondary_transit.png", "secondary_transit.svg",
        "gp_walk_vs_transit.png", "gp_walk_vs_transit.svg", "deprivation_deciles.png",
        "deprivation_deciles.svg", "scenario_new_route_5_gp.png",
        "scenario_new_route_5_gp.svg"]
    assert all(p.stat().st_size > 10_000 for p in paths)
    gp = _svg_text(tmp_path / "gp_transit.svg")
    assert "Minutes to the nearest GP surgery by public transport, weekday 07:00-10:00" in gp
    # 1,900 of 10,500 residents have no access and 1,800 (LSOA 3: 100 min) need over an hour.
    assert "35% of residents need over an hour, including the 1,900 residents (18.1%) with no " \
        "access within 120 min" in gp
    assert "straight lines" in gp and "Open Government" in gp
    assert "Bigtown" in gp  # town label inside the study area; Smallton is outside it
    assert "Smallton" not in gp
    walk = _svg_text(tmp_path / "gp_walk_vs_transit.svg")
    assert "no time saved" in walk and "over 60 min saved" in walk
    deprivation = _svg_text(tmp_path / "deprivation_deciles.svg")
    assert "1 (most deprived)" in deprivation and "no IMD decile" not in deprivation
    scenario = _svg_text(tmp_path / "scenario_new_route_5_gp.svg")
    assert "Scenario 'new route 5'" in scenario and "no change (within 0.5 min)" in scenario
    # LSOA 0 (1,500 residents) is 3 min faster, LSOA 3 (1,800) 8 min slower.
    assert "1,500 residents faster, 1,800 slower" in scenario
    assert "5 min or more faster" in scenario
    assert elapsed < 30


def test_scenario_map_shows_lsoas_gaining_and_losing_access(tmp_path: Path) -> None:
    result = synthetic_result()
    before = [5.0, 25.0, 50.0, 100.0, np.nan, 12.0]
    after = [4.0, 25.0, np.nan, 100.0, 40.0, 12.0]  # LSOA 2 loses, LSOA 4 gains
    changes = pd.DataFrame({"lsoa_code": CODES, "scenario": "swap", "destination": "gp",
                            "measure": "nearest_p50_min", "baseline_value": before,
                            "scenario_value": after,
                            "change": np.subtract(after, before)})
    write_study_maps(result, tmp_path, scenario_changes=changes, formats=("svg",))
    svg = _svg_text(tmp_path / "scenario_swap_gp.svg")
    assert "now within 120 min (none before)" in svg and "no longer within 120 min" in svg
    # LSOA 4 (1,900) gains, LSOA 2 (1,700) loses; the 1-minute saving keeps a small scale.
    assert "1,900 newly within 120 min, 1,700 no longer" in svg
    assert "1,500 residents faster, 0 slower" in svg
    assert "2 min or more faster" in svg


def test_write_study_maps_errors_name_the_problem(tmp_path: Path) -> None:
    result = synthetic_result()
    bad = pd.DataFrame({"lsoa_code": CODES, "scenario": "x", "measure": "nearest_p50_min",
                        "change": 0.0})
    with pytest.raises(MissingColumnError, match="destination"):
        write_study_maps(result, tmp_path, scenario_changes=bad, formats=("png",))
    result.boundaries = None
    with pytest.raises(MissingColumnError, match="boundaries"):
        write_study_maps(result, tmp_path)


def _coverage():
    from types import SimpleNamespace

    from transport_access.publish.coverage import compute_timetable_coverage

    timetables = pd.DataFrame({
        "name": ["tnds", "rail"], "format": ["transxchange", "cif"], "mode": ["bus", "rail"],
        "service_day": ["2014-12-15, 2014-05-27", "2020-03-20"], "trips": [365, 22],
        "routes": [20, 17], "stops": [420, 49]})
    feed = SimpleNamespace(
        routes=pd.DataFrame({"route_id": ["tnds:a", "tnds:b", "tnds:c", "tnds:d", "rail:x"],
                             "route_short_name": ["M1", "16", "1X", "16", "SW"]}),
        trips=pd.DataFrame({"route_id": ["tnds:a", "tnds:b", "tnds:d", "rail:x"]}),
        stop_times=pd.DataFrame({"stop_id": ["tnds:1200A", "tnds:1200B", "tnds:1200A",
                                             "rail:9100WEY"]}))
    stops = pd.DataFrame({"atco_code": ["1200A", "1200B", "1200C", "1200D"]})
    return compute_timetable_coverage(timetables, feed=feed, stops=stops,
                                      service_date="2014-12-15")


def test_timetable_coverage_is_computed_from_the_loaded_timetables() -> None:
    coverage = _coverage()
    tnds, rail = coverage.feeds
    assert tnds.lines == ("16", "M1") and tnds.lines_not_running == ("1X",)
    assert tnds.years == "2014" and rail.years == "2020" and coverage.trips == 387
    assert (coverage.stops_served, coverage.stops_in_area) == (2, 4)
    note = coverage.report_note()
    for text in ("2 feeds with 387 trips", "Monday 15 December 2014", "lines 16 and M1",
                 "line 1X has no trip that day", "from 2014-12-15 and 2014-05-27",
                 "rail (CIF, 2020): 22 trains", "2 of the area's 4 NaPTAN stops (50%",
                 "show as having no public-transport access"):
        assert text in note, text
    assert coverage.map_line() == (
        "Timetables: tnds (bus, TransXChange, 2014): lines 16 and M1, 365 trips; "
        "rail (CIF, 2020): 22 trains. Areas they miss show no public-transport access.")


def test_opportunity_maps_and_the_timetables_line(tmp_path: Path) -> None:
    """GP surgeries within the first threshold and secondary school places within the last
    are mapped from the access table, with a class for none; every map that uses the
    timetables names them, and the deprivation map does not."""
    result = synthetic_result()
    extra = []
    for code, gp30, gp60, pupils in zip(CODES, [0, 1, 3, 0, 0, 7], [2, 4, 6, 1, 0, 9],
                                        [0, 900, 2500, 5600, 0, 8000], strict=True):
        extra += [(code, "gp", "transit", "within_30_min", gp30),
                  (code, "gp", "transit", "within_60_min", gp60),
                  (code, "secondary", "transit", "pupils_within_60_min", pupils),
                  (code, "secondary", "transit", "pupils_within_30_min", pupils / 2)]
    result.long = pd.concat([result.long, pd.DataFrame(extra, columns=result.long.columns)],
                            ignore_index=True)
    paths = write_study_maps(result, tmp_path, timetables=_coverage(), formats=("svg",))
    names = [p.name for p in paths]
    assert "gp_transit_opportunities.svg" in names
    assert "secondary_transit_opportunities.svg" in names
    gp = _svg_text(tmp_path / "gp_transit_opportunities.svg")
    assert "GP surgeries within 30 minutes by public transport, weekday 07:00-10:00" in gp
    assert "none within 30 min" in gp and "no data" not in gp
    # LSOAs 0, 3 and 4 (1,500 + 1,800 + 1,900 of 10,500 residents) reach none.
    assert "5,200 residents (49.5%) have none within 30 min" in gp
    school = _svg_text(tmp_path / "secondary_transit_opportunities.svg")
    assert "Secondary school places within 60 minutes" in school and "pupils" in school
    line = "Timetables: tnds (bus, TransXChange, 2014)"
    for name in ("gp_transit", "gp_transit_opportunities", "gp_walk_vs_transit",
                 "secondary_transit"):
        assert line in _svg_text(tmp_path / f"{name}.svg"), name
    assert line not in _svg_text(tmp_path / "deprivation_deciles.svg")


# ------------------------------------------------------------------------------ Dorset


def test_dorset_maps_from_real_boundaries_and_stops(shared_data: Path, tmp_path: Path) -> None:
    """Real LSOAs, IMD and NaPTAN: straight-line walking minutes to the nearest railway
    station, mapped with real town labels."""
    from transport_access.config import load_study
    from transport_access.load.naptan import load_naptan
    from transport_access.study_data import load_study_data

    study = load_study(Path(__file__).resolve().parents[1] / "configs" / "dorset.yaml",
                       data_root=shared_data)
    data = load_study_data(study, only_area=True)
    naptan = shared_data / "dorset" / "naptan"
    stops = load_naptan([naptan / f"{a}Stops.csv" for a in (120, 128, 129)], area=data.area)
    stations = load_naptan(naptan / "910Stops.csv", area=data.area, buffer_km=5)
    stations = stations[stations["stop_type"] == "RLY"].to_crs(27700)
    homes = data.lsoas.to_crs(27700)
    distance_m = homes.geometry.apply(lambda p: stations.distance(p).min())
    minutes = (distance_m * 1.3 / (4.8 * 1000 / 60)).where(lambda m: m <= 120)
    values = pd.Series(minutes.to_numpy(), index=data.lsoas["lsoa_code"])

    towns = derive_town_labels(stops, area=data.area)
    assert len(towns) == 10
    assert {"Poole", "Dorchester"} <= set(towns["name"])
    paths = plot_travel_time_map(
        data.boundaries, values, tmp_path / "dorset_station_walk",
        title="Minutes on foot to the nearest railway station (straight-line estimate)",
        imd_decile=data.lsoas.set_index("lsoa_code")["imd_decile"], towns=towns,
        notes=["Straight-line walking at 4.8 km/h x 1.3."], formats=("png", "svg"))
    svg = _svg_text(paths[1])
    assert len(data.boundaries) == 452
    assert "Poole" in svg and "no access within 120 min" in svg
    assert re.search(r"\d+ km", svg)
    assert paths[0].stat().st_size > 100_000
