"""Baseline versus scenario: who gains access, who loses it, the deprivation gap, the cost.

:func:`score_scenario` compares two access runs made with identical parameters (the
baseline timetable and a scenario's edited one, :func:`transport_access.access.run.run_access`)
and :func:`rank_scenarios` puts the scenarios of a study in order. Only the transit mode is
scored: walking, cycling and driving do not depend on the timetable.

Definitions (the tests hold the functions to them). For each destination type:

* **Minutes to the nearest**: the run's first percentile measure (``nearest_p50_min``: the
  median over the departure window of minutes to the nearest destination). An LSOA reaching
  none within ``max_time_min`` (NaN) is **capped at max_time_min** (120 in the Dorset study)
  for the population-weighted means, and its residents are counted separately
  (``unreachable_baseline`` / ``unreachable_scenario``).
* **Residents with access within t minutes**: residents of LSOAs whose minutes to the
  nearest are ``<= t`` (NaN: no). **Gaining** residents have it in the scenario but not the
  baseline; **losing** residents the reverse. Counted for each threshold of the destination
  type and ``max_time_min`` (reaching one at all), by IMD decile
  (:attr:`ScenarioScore.by_decile`).
* **Main threshold**: the destination type's largest threshold (60 minutes for secondary
  schools and GPs in the Dorset study, 30 for primary schools) unless given.
* **Quintile gap**: population-weighted mean minutes (capped) of IMD quintile 1 (most
  deprived) minus quintile 5 (least deprived); positive = the most deprived wait longer.
  ``gap_change_min`` = scenario gap - baseline gap: negative = the most deprived gain
  relative to the least deprived (the gap narrows while it is positive; where Q1 is already
  faster, it widens in their favour). NaN when the area has no LSOA in Q1 or Q5.

For the scenario as a whole (one row of :func:`rank_scenarios`):

* **Residents gaining access**: residents of LSOAs that newly reach *at least one*
  destination type within its main threshold (each resident counted once, however many
  types they gain); **losing**: LSOAs that no longer reach at least one type; ``net`` =
  gaining - losing. The same for IMD deciles 1-2 (the most deprived fifth of England).
* **Change in mean minutes**: the mean over destination types of the change in the
  population-weighted mean (capped) minutes; per type in :attr:`ScenarioScore.destinations`.
* **Cost per day**: :attr:`ScenarioChanges.cost_per_day_gbp`, GBP a day on the service day
  (a weekday): vehicle-hours x cost per vehicle-hour, negative for a saving.
* **Cost per resident gaining** (``cost_per_resident_gaining_gbp_day``): cost per day / net
  residents gaining, when that net is positive (negative: gains while saving money);
  ``inf`` when the scenario costs money and nobody gains on balance; NaN when it costs
  nothing and nobody gains. For a withdrawal, ``saving_per_resident_losing_gbp_day`` = the
  saving a day / net residents losing access.

Ranking rule (:func:`rank_scenarios`), in three groups, best first:

1. ``no extra cost``: cost per day <= 0, net residents gaining >= 0, nobody losing
   access within any threshold of any destination type (nor within ``max_time_min``) and
   no type's mean minutes rising; ordered by net residents of deciles 1-2 gaining, then
   all residents, then the larger saving.
2. ``costs``: cost per day > 0; ordered by net residents of deciles 1-2 gaining access per
   GBP 1,000 a day, ties by all residents gaining per GBP 1,000 a day.
3. ``saves with losses``: cost per day <= 0 and someone worse off: residents losing
   access within some threshold (``residents_losing_any_threshold``: residents of LSOAs
   that no longer reach some destination type within one of its thresholds or within
   ``max_time_min``), or a type's mean minutes rising; ordered by those of deciles 1-2
   per GBP 1,000 a day saved (fewest first), then all of them per GBP 1,000 a day saved.
   A withdrawal whose losses all escape the main thresholds (a GP no longer within 30
   minutes but still within 60; a college, already beyond 60 minutes, now beyond reach)
   is ranked here, not in group 1.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from transport_access._log import get_logger
from transport_access.errors import InvalidValueError, MissingColumnError

if TYPE_CHECKING:
    from transport_access.access.run import AccessResult
    from transport_access.scenarios.costs import ScenarioChanges

log = get_logger(__name__)

#: The mode a timetable scenario changes.
SCORED_MODE = "transit"
#: IMD deciles counted as "most deprived" in the headline (the most deprived fifth).
DEPRIVED_DECILES = (1, 2)
#: Parameters that must agree between a baseline and a scenario run.
#: (The modes may differ: only transit is compared, so an all-modes baseline will do.)
SAME_PARAMETERS = ("service_date", "departure_window", "routing", "walk_only_max_min",
                   "destinations", "street_model")
LSOA_CHANGE_COLUMNS = ["lsoa_code", "scenario", "destination", "measure", "baseline_value",
                       "scenario_value", "change"]
RANK_GROUPS = ("no extra cost", "costs", "saves with losses")
SCORE_COLUMNS = [
    "rank", "scenario", "rank_group", "cost_per_day_gbp", "vehicle_hours_per_day",
    "vehicle_km_per_day", "trips_added", "trips_removed", "trips_changed",
    "residents_gaining", "residents_losing", "net_residents_gaining",
    "deciles_1_2_gaining", "deciles_1_2_losing", "net_deciles_1_2_gaining",
    "residents_losing_any_threshold", "deciles_1_2_losing_any_threshold", "mean_change_min",
    "gap_change_min", "cost_per_resident_gaining_gbp_day",
    "saving_per_resident_losing_gbp_day", "deciles_1_2_net_gain_per_1000_gbp_day",
    "net_gain_per_1000_gbp_day", "main_thresholds_min",
]


@dataclass
class ScenarioScore:
    """A scenario's effect on transit access, against the baseline.

    Attributes
    ----------
    scenario : str
        The scenario's name.
    summary : dict
        The scenario's row of :func:`rank_scenarios` (columns :data:`SCORE_COLUMNS` but
        ``rank``).
    destinations : pandas.DataFrame
        One row per destination type: ``population``, ``mean_baseline_min``,
        ``mean_scenario_min``, ``mean_change_min`` (capped at ``max_time_min``),
        ``unreachable_baseline``, ``unreachable_scenario`` (residents),
        ``gap_baseline_min``, ``gap_scenario_min``, ``gap_change_min``,
        ``main_threshold_min``, ``residents_gaining``, ``residents_losing``,
        ``deciles_1_2_gaining``, ``deciles_1_2_losing`` (main threshold),
        ``cost_per_resident_gaining_gbp_day`` (the whole cost against this type's gains).
    by_decile : pandas.DataFrame
        ``scenario``, ``destination``, ``threshold_min``, ``imd_decile``, ``population``,
        ``with_access_baseline``, ``with_access_scenario``, ``residents_gaining``,
        ``residents_losing``, ``net_change`` (residents).
    lsoa_changes : pandas.DataFrame
        :data:`LSOA_CHANGE_COLUMNS`: every transit measure of every LSOA, and
        ``reached_within_{t}_min`` (1 when the nearest is within t minutes, else 0);
        ``change`` = scenario - baseline (NaN when either is NaN).
    changes : pandas.DataFrame
        What each modification changed (:meth:`ScenarioChanges.to_frame`).
    """

    scenario: str
    summary: dict[str, Any]
    destinations: pd.DataFrame
    by_decile: pd.DataFrame
    lsoa_changes: pd.DataFrame
    changes: pd.DataFrame = field(default_factory=pd.DataFrame)


# ------------------------------------------------------------------------------ helpers



def _known_sum(values: Any) -> float:
    """Sum of the known (non-NaN) values; NaN when none is known (e.g. DRT vehicle-km)."""
    known = [float(v) for v in values if not np.isnan(v)]
    return float(sum(known)) if known else float("nan")

def _check_same(baseline: AccessResult, scenario: AccessResult, name: str) -> None:
    for key in SAME_PARAMETERS:
        b, s = baseline.parameters.get(key), scenario.parameters.get(key)
        if b != s:
            raise InvalidValueError(
                f"scenario {name!r} access result",
                f"was run with {key} = {s!r} but the baseline with {b!r}.",
                "Run the baseline and the scenario with identical parameters "
                "(run_scenarios does).",
            )
    for result, what in ((baseline, "baseline"), (scenario, f"scenario {name!r}")):
        modes = result.parameters.get("modes")
        if modes is not None and SCORED_MODE not in modes:
            raise InvalidValueError(f"{what} access result", f"has no transit mode ({modes}).",
                                    "Run it with modes including 'transit'.")


def _lsoa_table(lsoas: Any) -> pd.DataFrame:
    wanted = ["lsoa_code", "population", "imd_decile", "imd_quintile"]
    missing = [c for c in wanted if c not in lsoas.columns]
    if missing:
        raise MissingColumnError("LSOA table", f"has no column(s) {missing}.",
                                 "Pass StudyData.lsoas (population and IMD deciles).")
    table = pd.DataFrame(lsoas[wanted]).drop_duplicates("lsoa_code").reset_index(drop=True)
    table["population"] = pd.to_numeric(table["population"], errors="coerce").fillna(0.0)
    return table


def _nearest_measure(result: AccessResult, measures: Iterable[str]) -> str:
    window = result.parameters.get("departure_window") or {}
    percentiles = window.get("percentiles") or []
    if percentiles:
        return f"nearest_p{int(percentiles[0])}_min"
    found = sorted(m for m in set(measures) if m.startswith("nearest_p"))
    if not found:
        raise InvalidValueError("baseline access result", "has no nearest_p{p}_min measure "
                                "for transit.", "Run run_access with the transit mode.")
    return found[0]


def _thresholds(result: AccessResult, destination: str, measures: Iterable[str]) -> list[float]:
    spec = (result.parameters.get("destinations") or {}).get(destination) or {}
    if spec.get("thresholds_min"):
        return sorted(float(t) for t in spec["thresholds_min"])
    found = []
    for m in set(measures):
        if m.startswith("within_") and m.endswith("_min"):
            found.append(float(m[len("within_"):-len("_min")]))
    return sorted(found)


def _values(long: pd.DataFrame, codes: pd.Series, what: str) -> pd.DataFrame:
    """LSOAs x (destination, measure) table of transit values, in the order of ``codes``."""
    transit = long[long["mode"] == SCORED_MODE]
    table = transit.pivot_table(index="lsoa_code", columns=["destination", "measure"],
                                values="value", aggfunc="first", dropna=False)
    missing = sorted(set(codes) - set(table.index))
    if missing and len(table.columns):
        raise InvalidValueError(what, f"has no transit values for {len(missing)} LSOA(s), "
                                f"e.g. {missing[:5]}.", "Score runs over the same LSOAs.")
    return table.reindex(codes.to_numpy())


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    total = weights.sum()
    return float((values * weights).sum() / total) if total > 0 else float("nan")


def _gap(minutes: np.ndarray, population: np.ndarray, quintile: np.ndarray) -> float:
    q1, q5 = quintile == 1, quintile == 5
    if not q1.any() or not q5.any():
        return float("nan")
    return (_weighted_mean(minutes[q1], population[q1])
            - _weighted_mean(minutes[q5], population[q5]))


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("nan")


def cost_per_resident_gaining(cost_per_day_gbp: float, net_residents_gaining: float) -> float:
    """Cost a day per net additional resident with access (module docstring for the rule).

    Parameters
    ----------
    cost_per_day_gbp : float
        GBP a day; negative for a saving.
    net_residents_gaining : float
        Residents gaining minus residents losing access.

    Returns
    -------
    float
        GBP a day per resident; ``inf`` when it costs money and nobody gains on balance;
        NaN when it costs nothing and nobody gains.
    """
    if net_residents_gaining > 0:
        return cost_per_day_gbp / net_residents_gaining
    return math.inf if cost_per_day_gbp > 0 else float("nan")


# ------------------------------------------------------------------------------ scoring


def score_scenario(
    baseline: AccessResult,
    scenario: AccessResult,
    changes: ScenarioChanges,
    lsoas: Any,
    *,
    main_threshold_min: Mapping[str, float] | None = None,
    max_time_min: float | None = None,
) -> ScenarioScore:
    """Score one scenario's transit access against the baseline's.

    Parameters
    ----------
    baseline, scenario : AccessResult
        :func:`transport_access.access.run.run_access` on the baseline network and on the
        scenario's (same study, window, routing parameters and destinations).
    changes : ScenarioChanges
        What the scenario changed and its cost
        (:func:`transport_access.scenarios.edits.apply_scenario`).
    lsoas : pandas.DataFrame
        ``lsoa_code``, ``population`` (residents), ``imd_decile``, ``imd_quintile``
        (``StudyData.lsoas``).
    main_threshold_min : mapping of str to float, optional
        Destination type -> the threshold, minutes, of the headline gains; the type's
        largest threshold otherwise.
    max_time_min : float, optional
        Minutes that "unreachable" counts as in the means; the runs' ``max_time_min`` by
        default.

    Returns
    -------
    ScenarioScore

    Raises
    ------
    InvalidValueError
        The runs differ in a parameter (:data:`SAME_PARAMETERS`) or in their LSOAs.
    MissingColumnError
        ``lsoas`` lacks population or IMD columns.
    """
    name = changes.scenario
    _check_same(baseline, scenario, name)
    table = _lsoa_table(lsoas)
    codes = table["lsoa_code"]
    population = table["population"].to_numpy(float)
    decile = pd.to_numeric(table["imd_decile"], errors="coerce").to_numpy(float)
    quintile = pd.to_numeric(table["imd_quintile"], errors="coerce").to_numpy(float)
    deprived = np.isin(decile, DEPRIVED_DECILES)
    if max_time_min is None:
        max_time_min = float((baseline.parameters.get("routing") or {}).get("max_time_min",
                                                                             120.0))

    before = _values(baseline.long, codes, "baseline access result")
    after = _values(scenario.long, codes, f"scenario {name!r} access result")
    nearest = _nearest_measure(baseline, before.columns.get_level_values("measure"))
    destinations = list(dict.fromkeys(before.columns.get_level_values("destination")))

    rows, decile_rows, lsoa_frames = [], [], []
    gains_any = np.zeros(len(table), dtype=bool)
    losses_any = np.zeros(len(table), dtype=bool)
    losses_any_threshold = np.zeros(len(table), dtype=bool)
    main_used: dict[str, float] = {}
    for destination in destinations:
        measures = list(before[destination].columns)
        if (destination, nearest) not in after.columns:
            raise InvalidValueError(f"scenario {name!r} access result",
                                    f"has no transit {nearest} for {destination}.",
                                    "Run the scenario with the baseline's modes.")
        b = before[(destination, nearest)].to_numpy(float)
        s = after[(destination, nearest)].to_numpy(float)
        b_capped = np.where(np.isnan(b), max_time_min, np.minimum(b, max_time_min))
        s_capped = np.where(np.isnan(s), max_time_min, np.minimum(s, max_time_min))
        thresholds = _thresholds(baseline, destination, measures)
        main = float((main_threshold_min or {}).get(destination, max(thresholds, default=60.0)))
        main_used[destination] = main

        reached = []
        # max_time_min too: becoming unable to reach any destination is a loss of its own.
        for t in sorted(set(thresholds) | {main, float(max_time_min)}):
            has_b = np.nan_to_num(b, nan=np.inf) <= t
            has_s = np.nan_to_num(s, nan=np.inf) <= t
            gain, loss = has_s & ~has_b, has_b & ~has_s
            reached.append((t, has_b, has_s))
            losses_any_threshold |= loss
            if t == main:
                main_gain, main_loss = gain, loss
            for d in sorted(set(decile[~np.isnan(decile)])):
                rows_d = decile == d
                decile_rows.append({
                    "scenario": name, "destination": destination, "threshold_min": t,
                    "imd_decile": int(d), "population": population[rows_d].sum(),
                    "with_access_baseline": population[rows_d & has_b].sum(),
                    "with_access_scenario": population[rows_d & has_s].sum(),
                    "residents_gaining": population[rows_d & gain].sum(),
                    "residents_losing": population[rows_d & loss].sum(),
                })
        gains_any |= main_gain
        losses_any |= main_loss
        net = population[main_gain].sum() - population[main_loss].sum()
        rows.append({
            "scenario": name, "destination": destination, "measure": nearest,
            "population": population.sum(),
            "mean_baseline_min": _weighted_mean(b_capped, population),
            "mean_scenario_min": _weighted_mean(s_capped, population),
            "unreachable_baseline": population[np.isnan(b)].sum(),
            "unreachable_scenario": population[np.isnan(s)].sum(),
            "gap_baseline_min": _gap(b_capped, population, quintile),
            "gap_scenario_min": _gap(s_capped, population, quintile),
            "main_threshold_min": main,
            "residents_gaining": population[main_gain].sum(),
            "residents_losing": population[main_loss].sum(),
            "net_residents_gaining": net,
            "deciles_1_2_gaining": population[main_gain & deprived].sum(),
            "deciles_1_2_losing": population[main_loss & deprived].sum(),
            "cost_per_resident_gaining_gbp_day": cost_per_resident_gaining(
                changes.cost_per_day_gbp, net),
        })

        # Per-LSOA changes: every transit measure, plus the reached-within flags.
        shared = [m for m in measures if (destination, m) in after.columns]
        for m in shared:
            bv = before[(destination, m)].to_numpy(float)
            sv = after[(destination, m)].to_numpy(float)
            lsoa_frames.append(_lsoa_frame(codes, name, destination, m, bv, sv))
        for t, has_b, has_s in reached:
            lsoa_frames.append(_lsoa_frame(codes, name, destination, f"reached_within_{t:g}_min",
                                           has_b.astype(float), has_s.astype(float)))

    per_destination = pd.DataFrame(rows)
    if len(per_destination):
        per_destination.insert(7, "mean_change_min", per_destination["mean_scenario_min"]
                               - per_destination["mean_baseline_min"])
        per_destination.insert(
            per_destination.columns.get_loc("main_threshold_min"), "gap_change_min",
            per_destination["gap_scenario_min"] - per_destination["gap_baseline_min"])
    by_decile = pd.DataFrame(decile_rows)
    if len(by_decile):
        by_decile["net_change"] = by_decile["residents_gaining"] - by_decile["residents_losing"]
    lsoa_changes = (pd.concat(lsoa_frames, ignore_index=True) if lsoa_frames
                    else pd.DataFrame(columns=LSOA_CHANGE_COLUMNS))

    summary = _summary(name, changes, population, deprived, gains_any, losses_any,
                       losses_any_threshold, per_destination, main_used)
    log.info("scenario %s: %+.0f GBP a day; %s residents gain access within the main "
             "threshold, %s lose it (deciles 1-2: +%s / -%s); mean minutes %+.2f, "
             "Q1-Q5 gap %+.2f", name, summary["cost_per_day_gbp"],
             f"{summary['residents_gaining']:,.0f}", f"{summary['residents_losing']:,.0f}",
             f"{summary['deciles_1_2_gaining']:,.0f}", f"{summary['deciles_1_2_losing']:,.0f}",
             summary["mean_change_min"], summary["gap_change_min"])
    return ScenarioScore(scenario=name, summary=summary, destinations=per_destination,
                         by_decile=by_decile, lsoa_changes=lsoa_changes,
                         changes=changes.to_frame())


def _lsoa_frame(codes: pd.Series, scenario: str, destination: str, measure: str,
                before: np.ndarray, after: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"lsoa_code": codes.to_numpy(), "scenario": scenario,
                         "destination": destination, "measure": measure,
                         "baseline_value": before, "scenario_value": after,
                         "change": after - before})


def _summary(
    name: str, changes: ScenarioChanges, population: np.ndarray, deprived: np.ndarray,
    gains: np.ndarray, losses: np.ndarray, losses_any_threshold: np.ndarray,
    per_destination: pd.DataFrame, main: dict[str, float],
) -> dict[str, Any]:
    cost = float(changes.cost_per_day_gbp)
    frame = changes.to_frame()
    gaining, losing = population[gains].sum(), population[losses].sum()
    d_gaining, d_losing = population[gains & deprived].sum(), population[losses & deprived].sum()
    net, d_net = gaining - losing, d_gaining - d_losing
    losing_any = population[losses_any_threshold].sum()
    worse = bool(len(per_destination) and (per_destination["mean_change_min"] > 1e-9).any())
    d_losing_any = population[losses_any_threshold & deprived].sum()
    per_1000 = cost / 1000.0 if cost > 0 else 0.0
    saved_1000 = -cost / 1000.0 if cost < 0 else 0.0
    return {
        "scenario": name,
        "rank_group": (RANK_GROUPS[1] if cost > 0
                       else RANK_GROUPS[0] if net >= 0 and losing_any == 0 and not worse
                       else RANK_GROUPS[2]),
        "cost_per_day_gbp": cost,
        "vehicle_hours_per_day": float(changes.vehicle_hours),
        "vehicle_km_per_day": _known_sum(m.vehicle_km for m in changes.modifications),
        "trips_added": int(frame["trips_added"].sum()) if len(frame) else 0,
        "trips_removed": int(frame["trips_removed"].sum()) if len(frame) else 0,
        "trips_changed": int(frame["trips_changed"].sum()) if len(frame) else 0,
        "residents_gaining": gaining,
        "residents_losing": losing,
        "net_residents_gaining": net,
        "deciles_1_2_gaining": d_gaining,
        "deciles_1_2_losing": d_losing,
        "net_deciles_1_2_gaining": d_net,
        "mean_change_min": (float(per_destination["mean_change_min"].mean())
                            if len(per_destination) else float("nan")),
        "gap_change_min": (float(per_destination["gap_change_min"].mean())
                           if len(per_destination) else float("nan")),
        "cost_per_resident_gaining_gbp_day": cost_per_resident_gaining(cost, net),
        "saving_per_resident_losing_gbp_day": (-cost / -net if cost < 0 and net < 0
                                               else float("nan")),
        "deciles_1_2_net_gain_per_1000_gbp_day": _ratio(d_net, per_1000),
        "net_gain_per_1000_gbp_day": _ratio(net, per_1000),
        "residents_losing_any_threshold": losing_any,
        "deciles_1_2_losing_any_threshold": d_losing_any,
        "deciles_1_2_loss_per_1000_gbp_saved": _ratio(d_losing_any, saved_1000),
        "loss_per_1000_gbp_saved": _ratio(losing_any, saved_1000),
        "main_thresholds_min": "; ".join(f"{d} {t:g}" for d, t in main.items()),
    }


def rank_scenarios(scores: Iterable[ScenarioScore]) -> pd.DataFrame:
    """One row per scenario, best first, by the ranking rule of the module docstring.

    Parameters
    ----------
    scores : iterable of ScenarioScore
        From :func:`score_scenario`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SCORE_COLUMNS`: ``rank`` (1 = best), ``rank_group``, cost per weekday
        (GBP), vehicle-hours and vehicle-km a day, trips added/removed/retimed, residents
        gaining and losing access within the main thresholds (all and IMD deciles 1-2),
        change in mean minutes, change in the Q1-Q5 gap, cost per resident gaining, and the
        ratios the ranking uses (``*_per_1000_gbp_day``: residents per GBP 1,000 a day spent;
        ``*_per_1000_gbp_saved``: residents losing access per GBP 1,000 a day saved).
    """
    table = pd.DataFrame([s.summary for s in scores])
    if table.empty:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    group = table["rank_group"].map({g: i for i, g in enumerate(RANK_GROUPS)})
    # One sort key per group, larger = better, so a single descending sort ranks them all.
    first = np.select(
        [group == 0, group == 1],
        [table["net_deciles_1_2_gaining"], table["deciles_1_2_net_gain_per_1000_gbp_day"]],
        -table["deciles_1_2_loss_per_1000_gbp_saved"].fillna(np.inf))
    second = np.select(
        [group == 0, group == 1],
        [table["net_residents_gaining"], table["net_gain_per_1000_gbp_day"]],
        -table["loss_per_1000_gbp_saved"].fillna(np.inf))
    keys = pd.DataFrame({"group": group, "first": np.nan_to_num(first, nan=-np.inf),
                         "second": np.nan_to_num(second, nan=-np.inf),
                         "cost": table["cost_per_day_gbp"], "scenario": table["scenario"]})
    order = keys.sort_values(["group", "first", "second", "cost", "scenario"],
                             ascending=[True, False, False, True, True]).index
    ranked = table.loc[order].reset_index(drop=True)
    ranked.insert(0, "rank", np.arange(1, len(ranked) + 1))
    extra = [c for c in ranked.columns if c not in SCORE_COLUMNS]
    return ranked[[*SCORE_COLUMNS, *extra]]
