"""The deprivation lens on a 4-LSOA case with known populations, deciles and times."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transport_access.access import equity as eq
from transport_access.errors import InvalidValueError, MissingColumnError

# A and B: most deprived quintile (deciles 1, 2); C and D: least deprived (deciles 9, 10).
LSOAS = pd.DataFrame({
    "lsoa_code": ["E0100000A", "E0100000B", "E0100000C", "E0100000D"],
    "population": [100.0, 300.0, 200.0, 400.0],
    "imd_rank": [10, 20, 30000, 32000],
    "imd_decile": [1, 2, 9, 10],
    "imd_quintile": [1, 1, 5, 5],
    "lad_name": ["X", "X", "Y", "Y"],
})
# Minutes to the nearest GP by transit: D reaches none.
ACCESS = pd.DataFrame({
    "lsoa_code": LSOAS["lsoa_code"],
    "destination": "gp",
    "mode": "transit",
    "measure": "nearest_p50_min",
    "value": [40.0, 20.0, 10.0, np.nan],
})


def test_weighted_median_and_mean() -> None:
    assert eq.weighted_median(np.array([1, 2, 3, 4.0]), np.ones(4)) == 2.0
    assert eq.weighted_median(np.array([40, 20, 10.0]), np.array([100, 300, 1.0])) == 20.0
    assert eq.weighted_median(np.array([5.0, np.nan]), np.array([1.0, 100.0])) == 5.0
    assert eq.weighted_mean(np.array([40, 20, np.nan]), np.array([100, 300, 50.0])) == 25.0
    assert np.isnan(eq.weighted_median(np.array([np.nan]), np.array([1.0])))


def test_summary_by_decile_and_quintile() -> None:
    by_quintile = eq.summarise_by(ACCESS, LSOAS, by="imd_quintile").set_index("imd_quintile")
    q1, q5 = by_quintile.loc[1], by_quintile.loc[5]
    assert (q1["n_lsoas"], q1["population"], q1["mean"], q1["median"]) == (2, 400.0, 25.0, 20.0)
    assert (q5["n_missing"], q5["population_missing"], q5["mean"]) == (1, 400.0, 10.0)
    by_decile = eq.summarise_by(ACCESS, LSOAS, by="imd_decile")
    assert by_decile["imd_decile"].tolist() == [1, 2, 9, 10]
    assert by_decile["mean"].tolist()[:3] == [40.0, 20.0, 10.0]
    by_la = eq.summarise_by(ACCESS, LSOAS, by="lad_name").set_index("lad_name")
    assert by_la.loc["X", "mean"] == 25.0


def test_quintile_gap() -> None:
    # A second destination type with another measure must not add empty combinations.
    other = ACCESS.assign(destination="school", measure="within_30_min", value=[1, 2, 3, 4.0])
    gap = eq.quintile_gap(pd.concat([ACCESS, other]), LSOAS)
    assert gap[["destination", "measure"]].values.tolist() == [
        ["gp", "nearest_p50_min"], ["school", "within_30_min"]]
    row = gap.iloc[0]
    assert (row["q1_mean"], row["q5_mean"], row["difference"], row["ratio"]) == (
        25.0, 10.0, 15.0, 2.5)
    # school: Q1 (100*1 + 300*2)/400 = 1.75; Q5 (200*3 + 400*4)/600 = 11/3
    assert gap.iloc[1]["q1_mean"] == 1.75 and gap.iloc[1]["q5_mean"] == pytest.approx(11 / 3)


def test_clock_times_get_no_concentration_index() -> None:
    clock = ACCESS.assign(measure="arrival_min", value=[500, 510, 520, 530.0])
    table = eq.concentration_indices(pd.concat([ACCESS, clock]), LSOAS)
    assert table["measure"].tolist() == ["nearest_p50_min"]


def test_concentration_index_worked_examples() -> None:
    # Equal weights, h = 4, 3, 2, 1 from most to least deprived:
    # R = 1/8, 3/8, 5/8, 7/8; CI = 2/(n mu) sum(h R) - 1 = 0.2 * 3.75 - 1 = -0.25.
    ci = eq.concentration_index(np.array([4, 3, 2, 1.0]), np.array([1, 2, 3, 4]), np.ones(4))
    assert ci == pytest.approx(-0.25)
    # Reversed order of deprivation flips the sign.
    assert eq.concentration_index(
        np.array([4, 3, 2, 1.0]), np.array([4, 3, 2, 1]), np.ones(4)) == pytest.approx(0.25)
    # Equal values: no concentration.
    assert eq.concentration_index(np.ones(3), np.array([1, 2, 3]), np.ones(3)) == 0.0
    # The 4-LSOA case (D unreachable, left out): weights 100, 300, 200, mu = 20,
    # R = 1/12, 5/12, 10/12; sum w (h - mu)(R - 1/2) = -1500; CI = 2 * -1500 / (600 * 20).
    table = eq.concentration_indices(ACCESS, LSOAS).iloc[0]
    assert table["n_lsoas"] == 3
    assert table["concentration_index"] == pytest.approx(-0.25)


def test_fractional_rank_ties_share_their_rank() -> None:
    ranks = eq.fractional_rank(np.array([1, 1, 2]), np.array([1.0, 1.0, 2.0]))
    assert ranks.tolist() == pytest.approx([0.25, 0.25, 0.75])


def test_access_deserts() -> None:
    deserts = eq.access_deserts(ACCESS, LSOAS, thresholds_min={"gp": [30, 60]})
    at30, at60 = deserts.iloc[0], deserts.iloc[1]
    assert (at30["threshold_min"], at30["n_lsoas"], at30["residents"]) == (30.0, 1, 100.0)
    assert at30["share_of_deciles"] == 0.25
    assert at30["residents_all_deciles"] == 500.0
    assert (at60["n_lsoas"], at60["residents"], at60["residents_all_deciles"]) == (0, 0.0, 400.0)


def test_unknown_lsoa_and_missing_columns_are_named() -> None:
    bad = pd.concat([ACCESS, ACCESS.iloc[:1].assign(lsoa_code="E0199999Z")])
    with pytest.raises(InvalidValueError, match="E0199999Z"):
        eq.summarise_by(bad, LSOAS)
    with pytest.raises(MissingColumnError, match="imd_rank"):
        eq.concentration_indices(ACCESS, LSOAS.drop(columns="imd_rank"))
    with pytest.raises(MissingColumnError, match="measure"):
        eq.summarise_by(ACCESS.drop(columns="measure"), LSOAS)


def _squares() -> object:
    import geopandas as gpd
    from shapely.geometry import box

    # 1 km2, 0.25 km2, 4 km2 and 0.1 km2 squares in British National Grid metres.
    sides = [1000.0, 500.0, 2000.0, 1000.0 / np.sqrt(10)]
    shapes = [box(400000 + 5000 * i, 100000, 400000 + 5000 * i + s, 100000 + s)
              for i, s in enumerate(sides)]
    return gpd.GeoDataFrame({"lsoa_code": LSOAS["lsoa_code"]}, geometry=shapes,
                            crs=27700).to_crs(4326)


def test_rural_urban_density_proxy() -> None:
    classes = eq.rural_urban_class(LSOAS, boundaries=_squares())
    # densities: 100/1, 300/0.25, 200/4, 400/0.1 residents per km2
    assert classes["density_per_km2"].to_numpy() == pytest.approx([100, 1200, 50, 4000],
                                                                  rel=1e-3)
    assert classes["rural_urban"].tolist() == [
        "rural (density proxy)", "urban (density proxy)", "rural (density proxy)",
        "urban (density proxy)"]
    assert classes["rural_urban_source"].iloc[0].startswith("population-density proxy")
    lsoas = LSOAS.merge(classes, on="lsoa_code")
    summary = eq.summarise_by(ACCESS, lsoas, by="rural_urban").set_index("rural_urban")
    assert summary.loc["rural (density proxy)", "mean"] == pytest.approx((4000 + 2000) / 300)


def test_rural_urban_from_ons_file(fixtures) -> None:
    classes = eq.rural_urban_class(LSOAS, ruc_path=fixtures / "access" /
                                   "ruc_lsoa11_synthetic.csv")
    assert classes["rural_urban"].tolist() == ["urban", "rural", "rural", "unknown"]
    assert classes["ruc_name"].tolist()[:2] == ["Urban city and town", "Rural village"]


def test_equity_tables_bundle() -> None:
    tables = eq.equity_tables(ACCESS, LSOAS, thresholds_min={"gp": [30]})
    assert set(tables) == {"by_imd_decile", "by_imd_quintile", "by_local_authority",
                           "quintile_gap", "concentration", "deserts"}


# ------------------------------------------------------------------------------ properties



@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.floats(0.1, 100), st.floats(1, 5000)), min_size=2, max_size=30),
       st.floats(0.1, 50))
def test_concentration_index_is_scale_free_and_bounded(rows, scale: float) -> None:
    values = np.array([r[0] for r in rows])
    weights = np.array([r[1] for r in rows])
    ranks = np.arange(1, len(rows) + 1)
    ci = eq.concentration_index(values, ranks, weights)
    assert -1 < ci < 1
    assert eq.concentration_index(values * scale, ranks, weights) == pytest.approx(ci, abs=1e-9)
    # Reversing the order of deprivation flips the sign.
    assert eq.concentration_index(values, ranks[::-1], weights) == pytest.approx(-ci, abs=1e-9)
