"""The deprivation lens: who has poor access, and do they live in the most deprived places?

Everything here reads the long access table of :mod:`transport_access.access.run`
(``lsoa_code``, ``destination``, ``mode``, ``measure``, ``value``) together with the LSOA
table (``lsoa_code``, ``population``, ``imd_rank``, ``imd_decile``, ``imd_quintile``,
``lad_name``, optionally ``rural_urban``), and weights every LSOA by its residents.

Definitions (the tests hold the functions to them):

* **Population-weighted mean** over LSOAs with a value; LSOAs without one (for times: no
  destination reachable) are left out of the mean and counted in ``n_missing`` and
  ``population_missing``.
* **Population-weighted median**: the smallest value at which the cumulative population
  (values sorted ascending) reaches half the total.
* **Quintile gap**: ``difference = mean(Q1) - mean(Q5)`` and ``ratio = mean(Q1) / mean(Q5)``,
  with Q1 the most deprived fifth of England (IMD quintile 1) and Q5 the least deprived. For a
  travel time a positive difference (ratio above 1) means the most deprived wait longer.
* **Concentration index** (Wagstaff, van Doorslaer and Paci 1991; O'Donnell et al. 2008) of
  a measure ``h`` over deprivation: LSOAs are ordered from most to least deprived (IMD rank
  1 first) and each gets its population-weighted fractional rank
  ``R_i = (sum of w_j ranked before i + w_i / 2) / W`` (ties share their mean rank); then
  ``CI = 2 * sum_i w_i (h_i - mu)(R_i - 1/2) / (W * mu)``, with ``mu`` the weighted mean.
  CI lies in (-1, 1). **Negative: the measure is concentrated among the more deprived.**
  For a "higher is better" measure (opportunities, reliability) negative favours the
  deprived; for a "lower is better" measure (minutes to the nearest) negative means the
  more deprived face *longer* times, i.e. disadvantage concentrated among them.
* **Access deserts**: residents of IMD deciles 1-2 (the most deprived fifth of England) in
  LSOAs whose minutes to the nearest destination exceed a threshold, or which reach none.

Rural/urban class: with the ONS Rural Urban Classification file (2011 or 2021, by LSOA) it is
taken from there; offline, without it, a **population-density proxy** is used: residents
per km² of the LSOA boundary (areas in EPSG:27700), ``rural (density proxy)`` below
:data:`DEFAULT_RURAL_DENSITY_PER_KM2` and ``urban (density proxy)`` at or above it. The proxy
is not the official classification (which is based on settlement form, not density) and is
labelled as such in every output.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from transport_access._log import get_logger
from transport_access.errors import InvalidValueError, MissingColumnError

log = get_logger(__name__)

#: Residents per km² below which the proxy calls an LSOA rural.
DEFAULT_RURAL_DENSITY_PER_KM2 = 1000.0
#: The IMD deciles whose residents count in "access deserts" (most deprived fifth).
DESERT_DECILES = (1, 2)
LONG_COLUMNS = ["lsoa_code", "destination", "mode", "measure", "value"]
#: Clock times (minutes after midnight): not a quantity, so no concentration index.
CLOCK_MEASURES = ("morning_departure_min", "arrival_min", "latest_return_min")
_KEYS = ["destination", "mode", "measure"]


# ------------------------------------------------------------------------------ statistics


def weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    """Weighted mean over finite values (NaN when there are none or weights sum to 0)."""
    v, w = _finite(values, weights)
    total = w.sum()
    return float((v * w).sum() / total) if total > 0 else float("nan")


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """The smallest value at which the cumulative weight reaches half the total.

    Parameters
    ----------
    values, weights : numpy.ndarray, shape (n,)
        Values (NaN ignored) and their non-negative weights (residents).

    Returns
    -------
    float
        NaN when no value has weight.
    """
    v, w = _finite(values, weights)
    if w.sum() <= 0:
        return float("nan")
    order = np.argsort(v, kind="stable")
    cumulative = np.cumsum(w[order])
    return float(v[order][np.searchsorted(cumulative, 0.5 * cumulative[-1] - 1e-9)])


def _finite(values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    v = np.asarray(values, dtype=np.float64)
    w = np.nan_to_num(np.asarray(weights, dtype=np.float64))
    keep = np.isfinite(v)
    return v[keep], w[keep]


def fractional_rank(imd_rank: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Population-weighted fractional rank from most deprived (near 0) to least (near 1).

    Parameters
    ----------
    imd_rank : numpy.ndarray, shape (n,)
        IMD rank (1 = most deprived in England).
    weights : numpy.ndarray, shape (n,)
        Residents.

    Returns
    -------
    numpy.ndarray of float64, shape (n,)
        ``(weight ranked before + own weight / 2) / total``; tied ranks share their mean.
    """
    rank = np.asarray(imd_rank, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    total = w.sum()
    order = np.argsort(rank, kind="stable")
    before = np.concatenate([[0.0], np.cumsum(w[order])[:-1]])
    frac = np.empty(len(rank))
    frac[order] = (before + w[order] / 2.0) / total
    # Tied LSOAs get the weighted mean of their fractional ranks (one group, one rank).
    tied = pd.Series(frac * w).groupby(rank).transform("sum") / pd.Series(w).groupby(
        rank).transform("sum")
    return np.where(np.isfinite(tied.to_numpy()), tied.to_numpy(), frac)


def concentration_index(
    values: np.ndarray, imd_rank: np.ndarray, weights: np.ndarray
) -> float:
    """Population-weighted concentration index of a measure over deprivation.

    Parameters
    ----------
    values : numpy.ndarray, shape (n,)
        The measure per LSOA; NaN values are left out (with their residents).
    imd_rank : numpy.ndarray, shape (n,)
        IMD rank, 1 = most deprived.
    weights : numpy.ndarray, shape (n,)
        Residents.

    Returns
    -------
    float
        ``2 * sum w (h - mu)(R - 1/2) / (W mu)`` (module docstring); negative when the
        measure is concentrated among the more deprived; NaN when the mean is 0 or there are
        fewer than two LSOAs.
    """
    h = np.asarray(values, dtype=np.float64)
    w = np.nan_to_num(np.asarray(weights, dtype=np.float64))
    keep = np.isfinite(h) & (w > 0)
    h, w, rank = h[keep], w[keep], np.asarray(imd_rank, dtype=np.float64)[keep]
    if len(h) < 2:
        return float("nan")
    total = w.sum()
    mu = (w * h).sum() / total
    if mu == 0:
        return float("nan")
    r = fractional_rank(rank, w)
    return float(2.0 * (w * (h - mu) * (r - 0.5)).sum() / (total * mu))


# ------------------------------------------------------------------------------ tables


def _check_long(access: pd.DataFrame) -> None:
    missing = [c for c in LONG_COLUMNS if c not in access.columns]
    if missing:
        raise MissingColumnError(
            "access table", f"has no column(s) {missing}; expected {LONG_COLUMNS}.",
            "Pass AccessResult.long from run_access.",
        )


def _joined(access: pd.DataFrame, lsoas: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    _check_long(access)
    wanted = ["lsoa_code", "population", *[c for c in columns if c != "population"]]
    missing = [c for c in wanted if c not in lsoas.columns]
    if missing:
        raise MissingColumnError(
            "LSOA table", f"has no column(s) {missing}.",
            "Use StudyData.lsoas (with rural_urban from rural_urban_class when grouping by it).",
        )
    table = pd.DataFrame(lsoas[wanted]).drop_duplicates("lsoa_code")
    joined = access.merge(table, on="lsoa_code", how="left", validate="many_to_one")
    unknown = joined["population"].isna() & joined["lsoa_code"].notna()
    if unknown.any():
        codes = joined.loc[unknown, "lsoa_code"].unique()[:5].tolist()
        raise InvalidValueError(
            "access table", f"{int(unknown.sum())} row(s) have LSOA codes with no population "
            f"in the LSOA table, e.g. {codes}.", "Pass the LSOA table the access run used.",
        )
    return joined


def summarise_by(
    access: pd.DataFrame, lsoas: pd.DataFrame, *, by: str = "imd_decile"
) -> pd.DataFrame:
    """Population-weighted summaries of every measure by a grouping of LSOAs.

    Parameters
    ----------
    access : pandas.DataFrame
        The long table: ``lsoa_code``, ``destination``, ``mode``, ``measure``, ``value``.
    lsoas : pandas.DataFrame
        ``lsoa_code``, ``population`` and the ``by`` column.
    by : str
        ``imd_decile``, ``imd_quintile``, ``rural_urban``, ``lad_name``, ...

    Returns
    -------
    pandas.DataFrame
        One row per destination, mode, measure and group: ``n_lsoas``, ``population``,
        ``n_missing`` and ``population_missing`` (LSOAs without a value, e.g. no
        destination reachable), ``mean`` and ``median`` (population-weighted, over LSOAs
        with a value).
    """
    joined = _joined(access, lsoas, [by])
    rows = []
    for key, group in joined.groupby([*_KEYS, by], sort=True, dropna=False):
        values = group["value"].to_numpy(float)
        weights = group["population"].to_numpy(float)
        missing = ~np.isfinite(values)
        rows.append((*key, len(group), weights.sum(), int(missing.sum()),
                     weights[missing].sum(), weighted_mean(values, weights),
                     weighted_median(values, weights)))
    return pd.DataFrame(rows, columns=[*_KEYS, by, "n_lsoas", "population", "n_missing",
                                       "population_missing", "mean", "median"])


def quintile_gap(access: pd.DataFrame, lsoas: pd.DataFrame) -> pd.DataFrame:
    """The gap between the most (Q1) and least (Q5) deprived IMD quintiles.

    Parameters
    ----------
    access, lsoas : pandas.DataFrame
        As for :func:`summarise_by` (``lsoas`` needs ``imd_quintile``).

    Returns
    -------
    pandas.DataFrame
        One row per destination, mode and measure: ``q1_mean``, ``q5_mean`` (population-
        weighted), ``difference`` (Q1 - Q5) and ``ratio`` (Q1 / Q5; NaN when Q5 is 0 or
        either quintile is absent from the study area).
    """
    summary = summarise_by(access, lsoas, by="imd_quintile")
    # unstack, not pivot_table: only the destination/mode/measure triples that exist
    wide = summary.set_index([*_KEYS, "imd_quintile"])["mean"].unstack("imd_quintile")
    q1 = wide[1] if 1 in wide.columns else pd.Series(np.nan, index=wide.index)
    q5 = wide[5] if 5 in wide.columns else pd.Series(np.nan, index=wide.index)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(q5.to_numpy(float) != 0, q1.to_numpy(float) / q5.to_numpy(float),
                         np.nan)
    return pd.DataFrame({"q1_mean": q1.to_numpy(float), "q5_mean": q5.to_numpy(float),
                         "difference": (q1 - q5).to_numpy(float), "ratio": ratio},
                        index=wide.index).reset_index()


def concentration_indices(access: pd.DataFrame, lsoas: pd.DataFrame) -> pd.DataFrame:
    """The concentration index over IMD rank of every measure (module docstring).

    Parameters
    ----------
    access, lsoas : pandas.DataFrame
        As for :func:`summarise_by` (``lsoas`` needs ``imd_rank``).

    Returns
    -------
    pandas.DataFrame
        ``destination``, ``mode``, ``measure``, ``n_lsoas`` (with a value),
        ``concentration_index`` (negative: concentrated among the more deprived). Clock-time
        measures (:data:`CLOCK_MEASURES`) are left out.
    """
    joined = _joined(access, lsoas, ["imd_rank"])
    joined = joined[~joined["measure"].isin(CLOCK_MEASURES)]
    rows = []
    for key, group in joined.groupby(_KEYS, sort=True):
        values = group["value"].to_numpy(float)
        rows.append((*key, int(np.isfinite(values).sum()), concentration_index(
            values, group["imd_rank"].to_numpy(float), group["population"].to_numpy(float))))
    return pd.DataFrame(rows, columns=[*_KEYS, "n_lsoas", "concentration_index"])


def access_deserts(
    access: pd.DataFrame,
    lsoas: pd.DataFrame,
    *,
    thresholds_min: Mapping[str, Sequence[float]],
    measure: str = "nearest_p50_min",
    deciles: Sequence[int] = DESERT_DECILES,
) -> pd.DataFrame:
    """Residents of the most deprived deciles beyond each threshold of a destination type.

    Parameters
    ----------
    access, lsoas : pandas.DataFrame
        As for :func:`summarise_by` (``lsoas`` needs ``imd_decile``).
    thresholds_min : mapping of str to sequence of float
        Destination name -> thresholds in minutes (e.g. ``{"gp": [30, 60]}``).
    measure : str
        The minutes-to-nearest measure compared with the thresholds; a missing value (no
        destination reachable) is beyond every threshold.
    deciles : sequence of int
        IMD deciles counted (1 = most deprived).

    Returns
    -------
    pandas.DataFrame
        One row per destination, mode and threshold: ``threshold_min``, ``n_lsoas`` and
        ``residents`` (in ``deciles`` and beyond the threshold), ``share_of_deciles``
        (of all residents of those deciles in the study), ``residents_all_deciles`` (anyone
        beyond the threshold).
    """
    joined = _joined(access, lsoas, ["imd_decile"])
    joined = joined[joined["measure"] == measure]
    in_deciles = joined["imd_decile"].isin(list(deciles))
    rows = []
    for (destination, mode), group in joined.groupby(["destination", "mode"], sort=True):
        poor = in_deciles[group.index]
        decile_population = group.loc[poor, "population"].sum()
        for threshold in thresholds_min.get(destination, []):
            values = group["value"].to_numpy(float)
            with np.errstate(invalid="ignore"):
                beyond = ~(values <= threshold)
            chosen = beyond & poor.to_numpy()
            residents = group["population"].to_numpy(float)[chosen].sum()
            rows.append((destination, mode, float(threshold), int(chosen.sum()), residents,
                         residents / decile_population if decile_population > 0 else np.nan,
                         group["population"].to_numpy(float)[beyond].sum()))
    return pd.DataFrame(rows, columns=["destination", "mode", "threshold_min", "n_lsoas",
                                       "residents", "share_of_deciles",
                                       "residents_all_deciles"])


# ------------------------------------------------------------------------------ rural/urban


def rural_urban_class(
    lsoas: pd.DataFrame,
    *,
    boundaries: pd.DataFrame | None = None,
    ruc_path: str | os.PathLike[str] | None = None,
    rural_density_per_km2: float = DEFAULT_RURAL_DENSITY_PER_KM2,
) -> pd.DataFrame:
    """Classify LSOAs as rural or urban: the ONS file when given, else a density proxy.

    Parameters
    ----------
    lsoas : pandas.DataFrame
        ``lsoa_code`` and ``population``.
    boundaries : geopandas.GeoDataFrame, optional
        LSOA polygons with ``lsoa_code`` (for the density proxy).
    ruc_path : path-like, optional
        ONS Rural Urban Classification by LSOA (CSV with an LSOA code column and the class
        name, e.g. ``LSOA11CD``/``RUC11`` or ``LSOA21CD``/``RUC21NM``).
    rural_density_per_km2 : float
        Proxy threshold: below it an LSOA is ``rural (density proxy)``.

    Returns
    -------
    pandas.DataFrame
        ``lsoa_code``, ``rural_urban`` (``rural``/``urban`` from the ONS file, or
        ``rural (density proxy)``/``urban (density proxy)``; ``unknown`` when neither is
        possible), ``ruc_name`` (the ONS class name, or the proxy's rule),
        ``density_per_km2`` (NaN without boundaries), ``rural_urban_source``.
    """
    codes = pd.DataFrame(lsoas)[["lsoa_code", "population"]].copy()
    density = pd.Series(np.nan, index=codes.index)
    if boundaries is not None:
        area_km2 = (boundaries.to_crs(27700).set_index("lsoa_code").geometry.area / 1e6)
        area = codes["lsoa_code"].map(area_km2)
        density = codes["population"].astype(float) / area
    codes["density_per_km2"] = density.to_numpy(float)

    if ruc_path is not None:
        classes = _read_ruc(ruc_path)
        name = codes["lsoa_code"].map(classes)
        rural = name.str.lower().str.contains("rural", na=False)
        codes["rural_urban"] = np.where(name.isna(), "unknown",
                                        np.where(rural, "rural", "urban"))
        codes["ruc_name"] = name.fillna("not in the RUC file")
        codes["rural_urban_source"] = f"ONS Rural Urban Classification ({ruc_path})"
        n_unknown = int(name.isna().sum())
        if n_unknown:
            log.warning("%s: %d LSOA(s) of the study are not in the file; their class is "
                        "'unknown'", ruc_path, n_unknown)
        return codes[["lsoa_code", "rural_urban", "ruc_name", "density_per_km2",
                      "rural_urban_source"]]

    rule = f"residents per km2 below {rural_density_per_km2:g}"
    if boundaries is None:
        log.warning("no Rural Urban Classification file and no LSOA boundaries: rural/urban "
                    "class is 'unknown'")
    else:
        log.info("rural/urban class: no ONS Rural Urban Classification file given, so a "
                 "population-density proxy is used (rural = %s)", rule)
    klass = np.where(np.isnan(codes["density_per_km2"]), "unknown",
                     np.where(codes["density_per_km2"] < rural_density_per_km2,
                              "rural (density proxy)", "urban (density proxy)"))
    codes["rural_urban"] = klass
    codes["ruc_name"] = f"density proxy: rural when {rule}"
    codes["rural_urban_source"] = "population-density proxy from LSOA boundary areas"
    return codes[["lsoa_code", "rural_urban", "ruc_name", "density_per_km2",
                  "rural_urban_source"]]


def _read_ruc(path: str | os.PathLike[str]) -> pd.Series:
    from transport_access.load._columns import find_column
    from transport_access.load.lsoa import read_csv_checked

    table = read_csv_checked(path, what="Rural Urban Classification")
    code = find_column(table.columns, "lsoa11cd", "lsoa21cd", "lsoa & code", path=path,
                       what="LSOA code")
    name = find_column(table.columns, "ruc11nm", "ruc21nm", "ruc11", "ruc21",
                       "rural urban & name", "rural urban & classification",
                       exclude=["cd", "code"], path=path, what="rural-urban class name")
    return table.set_index(code)[name].replace("", np.nan)


# ------------------------------------------------------------------------------ all tables


def equity_tables(
    access: pd.DataFrame,
    lsoas: pd.DataFrame,
    *,
    thresholds_min: Mapping[str, Sequence[float]] | None = None,
    desert_measure: str = "nearest_p50_min",
) -> dict[str, pd.DataFrame]:
    """Every deprivation-lens table at once.

    Parameters
    ----------
    access : pandas.DataFrame
        The long access table.
    lsoas : pandas.DataFrame
        ``lsoa_code``, ``population``, ``imd_rank``, ``imd_decile``, ``imd_quintile``,
        ``lad_name`` and, when present, ``rural_urban``.
    thresholds_min : mapping, optional
        Destination -> thresholds for :func:`access_deserts` (skipped when None).
    desert_measure : str
        Measure compared with the thresholds.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``by_imd_decile``, ``by_imd_quintile``, ``by_local_authority``, ``by_rural_urban``
        (when ``rural_urban`` is a column), ``quintile_gap``, ``concentration``, ``deserts``.
    """
    tables = {
        "by_imd_decile": summarise_by(access, lsoas, by="imd_decile"),
        "by_imd_quintile": summarise_by(access, lsoas, by="imd_quintile"),
        "by_local_authority": summarise_by(access, lsoas, by="lad_name"),
    }
    if "rural_urban" in lsoas.columns:
        tables["by_rural_urban"] = summarise_by(access, lsoas, by="rural_urban")
    tables["quintile_gap"] = quintile_gap(access, lsoas)
    tables["concentration"] = concentration_indices(access, lsoas)
    if thresholds_min:
        tables["deserts"] = access_deserts(access, lsoas, thresholds_min=thresholds_min,
                                           measure=desert_measure)
    return tables
