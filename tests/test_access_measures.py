"""Accessibility measures on small synthetic tables, with hand-computed answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from transport_access.access import measures as m
from transport_access.errors import InvalidValueError, MissingColumnError

# Three homes, three destinations, minutes (NaN = unreachable):
#          d1    d2    d3
#   a      10    30    50
#   b      45    NaN   20
#   c      NaN   NaN   NaN
TIMES = pd.DataFrame({
    "from_id": ["a"] * 3 + ["b"] * 3 + ["c"] * 3,
    "to_id": ["d1", "d2", "d3"] * 3,
    "travel_time_p50": [10, 30, 50, 45, np.nan, 20, np.nan, np.nan, np.nan],
})
DESTINATIONS = pd.DataFrame({"id": ["d1", "d2", "d3"], "jobs": [100.0, 200.0, np.nan]})


def test_nearest_destination_counts_unreachable(caplog: pytest.LogCaptureFixture) -> None:
    result = m.nearest_destination(TIMES, origins=["a", "b", "c", "z"])
    assert result["nearest_min"].tolist()[:2] == [10.0, 20.0]
    assert result["nearest_min"].isna().tolist() == [False, False, True, True]
    assert result["nearest_to_id"].tolist()[:2] == ["d1", "d3"]
    assert result["nearest_to_id"].isna().tolist() == [False, False, True, True]
    assert "2 of 4 origins reach no destination" in caplog.text


def test_nearest_destination_names_missing_column() -> None:
    with pytest.raises(MissingColumnError, match="travel_time_p50"):
        m.nearest_destination(TIMES.rename(columns={"travel_time_p50": "t"}))


def test_cumulative_counts_and_weights_inclusive_thresholds() -> None:
    counts = m.cumulative_opportunities(TIMES, thresholds_min=[20, 30, 60])
    assert counts.loc["a"].tolist() == [1, 2, 3]
    assert counts.loc["b"].tolist() == [1, 1, 2]
    assert counts.loc["c"].tolist() == [0, 0, 0]
    assert list(counts.columns) == ["within_20_min", "within_30_min", "within_60_min"]
    jobs = m.cumulative_opportunities(
        TIMES, thresholds_min=[30, 45], destinations=DESTINATIONS, weight="jobs"
    )
    # d3 has no job count: it counts 0, not NaN.
    assert jobs.loc["a"].tolist() == [300.0, 300.0]
    assert jobs.loc["b"].tolist() == [0.0, 100.0]


def test_cumulative_weight_needs_every_destination() -> None:
    with pytest.raises(InvalidValueError, match="no 'jobs'"):
        m.cumulative_opportunities(
            TIMES, destinations=DESTINATIONS.iloc[:2], weight="jobs"
        )


def test_gravity_default_half_life_and_weights() -> None:
    assert m.DEFAULT_GRAVITY_BETA_PER_MIN == pytest.approx(math.log(2) / 30)
    assert m.beta_from_half_life(10) == pytest.approx(0.0693147, rel=1e-6)
    # half-life 30: 30 min counts 0.5, 60 min counts 0.25
    beta = m.beta_from_half_life(30)
    g = m.gravity_access(TIMES, beta_per_min=beta)
    assert g["a"] == pytest.approx(2 ** (-1 / 3) + 0.5 + 2 ** (-5 / 3))
    assert g["b"] == pytest.approx(2 ** (-1.5) + 2 ** (-2 / 3))
    assert g["c"] == 0.0
    weighted = m.gravity_access(TIMES, beta_per_min=beta, destinations=DESTINATIONS,
                                weight="jobs")
    assert weighted["a"] == pytest.approx(100 * 2 ** (-1 / 3) + 200 * 0.5)
    with pytest.raises(InvalidValueError):
        m.beta_from_half_life(0)


def test_two_step_floating_catchment_by_hand() -> None:
    # Catchment 30 min. d1 reaches a (pop 100) only -> R1 = 50 / 100 = 0.5.
    # d2 reaches a only -> R2 = 20 / 100 = 0.2. d3 reaches b (pop 300) -> R3 = 60 / 300 = 0.2.
    population = pd.Series({"a": 100.0, "b": 300.0, "c": 50.0})
    capacity = pd.Series({"d1": 50.0, "d2": 20.0, "d3": 60.0})
    access = m.two_step_floating_catchment(
        TIMES, population=population, capacity=capacity, threshold_min=30
    )
    assert access.to_dict() == pytest.approx({"a": 0.7, "b": 0.2, "c": 0.0})
    # Supply is conserved: sum(P_i * A_i) equals the supply of served destinations.
    assert (access * population).sum() == pytest.approx(130.0)
    per_thousand = m.two_step_floating_catchment(
        TIMES, population=population, capacity=capacity, threshold_min=30, per_residents=1000
    )
    assert per_thousand["a"] == pytest.approx(700.0)


def test_two_step_counts_destinations_without_residents(caplog: pytest.LogCaptureFixture) -> None:
    values, unserved = m.two_step_array(
        np.array([[10.0, 90.0]]), np.array([10.0]), np.array([5.0, 5.0]), threshold_min=30
    )
    assert values.tolist() == [0.5]
    assert unserved == 1


def _per_minute() -> pd.DataFrame:
    # Home a, 4 departure minutes; d1 times 25, 40, NaN, 35 min; d2 times 50, 28, 60, NaN.
    # Nearest per minute: 25, 28, 60, 35 -> within 30: 2 of 4; within 60: 4 of 4.
    minutes = ["07:00", "07:01", "07:02", "07:03"]
    d1 = [25 * 60, 40 * 60, None, 35 * 60]
    d2 = [50 * 60, 28 * 60, 60 * 60, None]
    return pd.DataFrame({
        "from_id": ["a"] * 8,
        "to_id": ["d1"] * 4 + ["d2"] * 4,
        "departure_time": minutes * 2,
        "travel_time_s": pd.array(d1 + d2, dtype="Int64"),
    })


def test_reliability_share_of_minutes() -> None:
    result = m.reliability(_per_minute(), thresholds_min=[30, 35, 60], origins=["a", "b"])
    assert result.loc["a"].tolist() == [0.5, 0.75, 1.0]
    assert result.loc["b"].tolist() == [0.0, 0.0, 0.0]
    assert list(result.columns) == ["reliability_30_min", "reliability_35_min",
                                    "reliability_60_min"]


def test_latest_reachable_minute() -> None:
    times = np.array([[np.inf, 100, np.inf, 5, np.inf], [np.inf] * 5, [1, 1, 1, 1, 1.0]])
    clock = 15 * 3600 + 30 * 60 + 60 * np.arange(5)
    latest = m.latest_reachable_minute(times, clock)
    assert latest[0] == 15 * 3600 + 33 * 60
    assert np.isnan(latest[1])
    assert latest[2] == 15 * 3600 + 34 * 60


def test_return_journeys_pick_the_shortest_feasible_destination() -> None:
    # Home h: school s1 on time (leave 08:00, 30 min, arrive 08:30) but no way home in the
    # window; s2 on time (leave 08:10, 25 min -> 08:35) and home from it leaving up to 16:02;
    # s3 arrives 08:50, too late. Home k: no school on time.
    morning = pd.DataFrame({
        "from_id": ["h", "h", "h", "k", "k", "k"],
        "to_id": ["s1", "s2", "s3"] * 2,
        "latest_departure": ["08:00", "08:10", "08:20", None, None, None],
        "travel_time_min": [30.0, 25.0, 30.0, np.nan, np.nan, np.nan],
    })
    afternoon = pd.DataFrame({
        "from_id": ["s2"] * 4 + ["s1"] * 2 + ["s3"],
        "to_id": ["h"] * 7,
        "departure_time": ["15:29", "16:00", "16:02", "18:31", "15:30", "16:00", "17:00"],
        "travel_time_s": pd.array([600, 900, 900, 600, None, None, 300], dtype="Int64"),
    })
    result = m.return_journeys(morning, afternoon, arrive_by="08:45",
                               leave_after_earliest="15:30", leave_after_latest="18:30")
    h = result.loc["h"]
    assert bool(h["feasible"]) is True
    assert h["destination_id"] == "s2"
    assert h["morning_departure_min"] == 8 * 60 + 10
    assert h["arrival_min"] == 8 * 60 + 35
    assert h["latest_return_min"] == 16 * 60 + 2
    assert bool(h["arrive_by_ok"]) and bool(h["return_ok"])
    k = result.loc["k"]
    assert bool(k["feasible"]) is False and pd.isna(k["destination_id"])
    assert np.isnan(k["arrival_min"]) and not bool(k["arrive_by_ok"])


def test_return_legs_reported_one_way_when_no_destination_works_both_ways() -> None:
    # Home 0: on time only at d0 (leave 08:10, 20 min) and d1 (leave 08:00, 30 min: longer);
    # home only from d2 (latest 17:40) and d1 (16:00)... but d1 works both ways, so it is
    # chosen. Home 1: on time only at d0, home only from d2: each leg reports its own best.
    depart = np.array([[8 * 3600 + 600, 8 * 3600, np.nan],
                       [8 * 3600 + 600, np.nan, np.nan]])
    travel = np.array([[1200.0, 1800.0, np.inf], [1200.0, np.inf, np.inf]])
    back = np.array([[np.nan, 16 * 3600, 17 * 3600 + 2400],
                     [np.nan, np.nan, 17 * 3600 + 2400]])
    got = m.return_choice_array(depart, travel, back, arrive_by_s=8 * 3600 + 45 * 60)
    assert got["feasible"].tolist() == [True, False]
    assert got["destination_index"].tolist() == [1, -1]
    assert got["morning_departure_min"].tolist() == [8 * 60, 8 * 60 + 10]
    assert got["arrival_min"].tolist() == [8 * 60 + 30, 8 * 60 + 30]
    assert got["latest_return_min"].tolist() == [16 * 60, 17 * 60 + 40]
    assert got["arrive_by_ok"].tolist() == [True, True]
    assert got["return_ok"].tolist() == [True, True]


# ------------------------------------------------------------------------------ properties


_times = arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 6)),
                elements=st.one_of(st.just(np.nan), st.floats(0, 120)))


@settings(max_examples=60, deadline=None)
@given(_times, st.data())
def test_two_step_shares_out_exactly_the_served_supply(times: np.ndarray, data) -> None:
    n_o, n_d = times.shape
    population = np.array(data.draw(st.lists(st.floats(1, 5000), min_size=n_o, max_size=n_o)))
    capacity = np.array(data.draw(st.lists(st.floats(0, 900), min_size=n_d, max_size=n_d)))
    access, _ = m.two_step_array(times, population, capacity, threshold_min=45)
    served = (times <= 45).any(axis=0)
    assert (population * access).sum() == pytest.approx(capacity[served].sum(), rel=1e-9,
                                                        abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(_times)
def test_nearest_and_cumulative_agree(times: np.ndarray) -> None:
    nearest, where = m.nearest_array(times)
    counts = m.cumulative_array(times, [30, 60, 120])
    for i in range(times.shape[0]):
        reachable = times[i][~np.isnan(times[i])]
        if len(reachable) == 0:
            assert np.isnan(nearest[i]) and where[i] == -1 and counts[i].sum() == 0
        else:
            assert nearest[i] == reachable.min() == times[i, where[i]]
            assert (counts[i, 0] > 0) == (nearest[i] <= 30)
            assert counts[i, 2] == len(reachable)
    # more decay, less access
    assert (m.gravity_array(times, beta_per_min=0.1)
            <= m.gravity_array(times, beta_per_min=0.01) + 1e-12).all()
