"""Compare our minutes to the nearest destination with the DfT Journey Time Statistics.

The DfT JTS LSOA tables (JTS0501-0508) give, per LSOA, the average minimum travel time to the
nearest primary school (``PS``), secondary school (``SS``), further-education college
(``FE``), GP surgery (``GP``), hospital (``Hosp``), food store (``Food``) and town centre
(``Town``), by public transport/walk (``PT``), cycle (``Cyc``) and car (``Car``), for a
weekday 07:00-10:00 departure window: column ``{type}{mode}t``, e.g. ``GPPTt``. Ours is the
``nearest_p50_min`` measure of :func:`transport_access.access.run.run_access` (our
``transit`` already includes walking all the way, as JTS "PT/walk" does).

The two are not the same computation (JTS averages output-area centroids within each LSOA
and routes on full timetables and streets; we route from one population-weighted centroid),
so the comparison reports agreement, not identity: bias (mean of ours minus JTS), mean
absolute error, Spearman rank correlation and the number of LSOAs matched.

Usage (what ``transport-access compare-jts --jts FILE`` calls)::

    summary, per_lsoa = compare_jts(result.long, "dorset/jts/jts2017_dorset_lsoas.csv")
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from transport_access._log import get_logger
from transport_access.errors import InvalidValueError, MissingColumnError

log = get_logger(__name__)

#: Our destination names (study-file keys) -> JTS destination codes.
JTS_DESTINATIONS = {
    "primary": "PS",
    "secondary": "SS",
    "post16": "FE",
    "further_education": "FE",
    "further-education": "FE",
    "fe": "FE",
    "college": "FE",
    "gp": "GP",
    "hospital": "Hosp",
    "food": "Food",
    "food_store": "Food",
    "town_centre": "Town",
}
#: Our modes -> JTS mode codes.
JTS_MODES = {"transit": "PT", "cycle": "Cyc", "car": "Car"}

SUMMARY_COLUMNS = [
    "destination", "mode", "jts_column", "n_jts", "n_ours", "n_matched",
    "n_unreachable_ours", "n_not_in_ours", "bias_min", "mae_min", "median_difference_min",
    "spearman",
]


def read_jts(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a JTS LSOA table: the LSOA code and every ``{type}{mode}t`` column as minutes.

    Parameters
    ----------
    path : path-like
        CSV with an LSOA code column (``LSOA_code``, ``lsoa11cd``...) and JTS time columns.

    Returns
    -------
    pandas.DataFrame
        ``lsoa_code`` (str) and the JTS time columns (float minutes; blanks and non-numbers
        NaN, counted in a warning).

    Raises
    ------
    MissingFileError, FileFormatError, MissingColumnError
    """
    from transport_access.load._columns import find_column, to_number
    from transport_access.load.lsoa import read_csv_checked

    table = read_csv_checked(path, what="DfT Journey Time Statistics LSOA table")
    code = find_column(table.columns, "lsoa_code", "lsoa11cd", "lsoa21cd", "lsoa & code",
                       path=path, what="LSOA code")
    times = [c for c in table.columns
             if any(c == f"{d}{m}t" for d in set(JTS_DESTINATIONS.values())
                    for m in JTS_MODES.values())]
    if not times:
        raise MissingColumnError(
            path, "has no JTS travel-time columns (e.g. GPPTt, SSCyct, FECart).",
            "Give a JTS LSOA table (JTS0501-0508) or the study's jts extract.",
        )
    out = pd.DataFrame({"lsoa_code": table[code].str.strip()})
    for column in times:
        values = to_number(table[column])
        bad = values.isna() & table[column].str.strip().ne("")
        if bad.any():
            log.warning("%s: %d value(s) of %s are not numbers and are left out", path,
                        int(bad.sum()), column)
        out[column] = values.to_numpy(float)
    return out


def compare_jts(
    ours: Any,
    jts_path: str | os.PathLike[str],
    *,
    measure: str = "nearest_p50_min",
    destinations: Mapping[str, str] | None = None,
    modes: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Compare our nearest-destination times with a JTS LSOA table.

    Parameters
    ----------
    ours : pandas.DataFrame or AccessResult
        The long access table (``lsoa_code``, ``destination``, ``mode``, ``measure``,
        ``value``), or a result holding it as ``.long``.
    jts_path : path-like
        The JTS LSOA CSV.
    measure : str
        Our measure compared (minutes to the nearest, window median by default).
    destinations : mapping of str to str, optional
        Our destination name -> JTS code (``PS``, ``SS``, ``FE``, ``GP``...); defaults to
        :data:`JTS_DESTINATIONS`.
    modes : mapping of str to str, optional
        Our mode -> JTS code (``PT``, ``Cyc``, ``Car``); defaults to :data:`JTS_MODES`.

    Returns
    -------
    summary : pandas.DataFrame
        One row per destination and mode present in both (:data:`SUMMARY_COLUMNS`):
        ``n_jts`` (LSOAs with a JTS time), ``n_ours`` (of those, in our table),
        ``n_matched`` (both have a time), ``n_unreachable_ours`` (ours has none: no
        destination reachable), ``n_not_in_ours``, ``bias_min`` (mean of ours - JTS),
        ``mae_min``, ``median_difference_min`` and ``spearman`` (rank correlation; NaN below 3
        LSOAs or when either side is constant).
    per_lsoa : pandas.DataFrame
        ``lsoa_code``, ``destination``, ``mode``, ``jts_column``, ``ours_min``, ``jts_min``,
        ``difference_min`` (ours - JTS), for every LSOA of the JTS table and pair compared.
    """
    long = getattr(ours, "long", ours)
    missing = [c for c in ("lsoa_code", "destination", "mode", "measure", "value")
               if c not in long.columns]
    if missing:
        raise MissingColumnError("our access table", f"has no column(s) {missing}.",
                                 "Pass AccessResult.long from run_access.")
    destinations = dict(JTS_DESTINATIONS if destinations is None else destinations)
    modes = dict(JTS_MODES if modes is None else modes)
    jts = read_jts(jts_path)
    selected = long[long["measure"] == measure]
    if selected.empty:
        raise InvalidValueError("our access table", f"has no {measure!r} rows.",
                                "Compare the minutes-to-nearest measure (nearest_p50_min).")

    summaries, rows = [], []
    for (destination, mode), group in selected.groupby(["destination", "mode"], sort=True):
        column = f"{destinations.get(destination, '')}{modes.get(mode, '')}t"
        if destination not in destinations or mode not in modes or column not in jts.columns:
            continue
        reference = jts[["lsoa_code", column]].rename(columns={column: "jts_min"})
        reference = reference[reference["jts_min"].notna()]
        values = group.drop_duplicates("lsoa_code").set_index("lsoa_code")["value"]
        pair = reference.assign(
            ours_min=reference["lsoa_code"].map(values).astype(float),
            in_ours=reference["lsoa_code"].isin(values.index),
        )
        pair["difference_min"] = pair["ours_min"] - pair["jts_min"]
        matched = pair[pair["ours_min"].notna()]
        summaries.append({
            "destination": destination, "mode": mode, "jts_column": column,
            "n_jts": len(pair), "n_ours": int(pair["in_ours"].sum()),
            "n_matched": len(matched),
            "n_unreachable_ours": int((pair["in_ours"] & pair["ours_min"].isna()).sum()),
            "n_not_in_ours": int((~pair["in_ours"]).sum()),
            "bias_min": matched["difference_min"].mean() if len(matched) else np.nan,
            "mae_min": matched["difference_min"].abs().mean() if len(matched) else np.nan,
            "median_difference_min": (matched["difference_min"].median() if len(matched)
                                      else np.nan),
            "spearman": _spearman(matched["ours_min"].to_numpy(float),
                                  matched["jts_min"].to_numpy(float)),
        })
        rows.append(pair.assign(destination=destination, mode=mode, jts_column=column)[
            ["lsoa_code", "destination", "mode", "jts_column", "ours_min", "jts_min",
             "difference_min"]])
    if not summaries:
        log.warning("%s: none of our destination types and modes has a JTS column "
                    "(destinations %s; modes %s)", jts_path,
                    sorted(selected["destination"].unique()), sorted(selected["mode"].unique()))
    summary = pd.DataFrame(summaries, columns=SUMMARY_COLUMNS)
    per_lsoa = (pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=["lsoa_code", "destination", "mode", "jts_column", "ours_min", "jts_min",
                 "difference_min"]))
    for row in summary.itertuples():
        log.info("JTS %s: %d LSOAs matched, bias %+.1f min, MAE %.1f min, Spearman %.2f",
                 row.jts_column, row.n_matched, row.bias_min, row.mae_min, row.spearman)
    return summary, per_lsoa


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank correlation (average ranks for ties); NaN when undefined."""
    if len(x) < 3:
        return float("nan")
    rx = pd.Series(x).rank().to_numpy()
    ry = pd.Series(y).rank().to_numpy()
    if rx.std() == 0 or ry.std() == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def write_jts_comparison(
    summary: pd.DataFrame, per_lsoa: pd.DataFrame, out_dir: str | os.PathLike[str]
) -> dict[str, Any]:
    """Write ``jts_comparison_summary.csv`` and ``jts_comparison_lsoa.csv`` to a folder.

    Parameters
    ----------
    summary, per_lsoa : pandas.DataFrame
        From :func:`compare_jts`.
    out_dir : path-like
        Folder; created if needed.

    Returns
    -------
    dict of str to pathlib.Path
        ``summary`` and ``per_lsoa`` paths.
    """
    from pathlib import Path

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"summary": out / "jts_comparison_summary.csv",
             "per_lsoa": out / "jts_comparison_lsoa.csv"}
    summary.to_csv(paths["summary"], index=False)
    per_lsoa.to_csv(paths["per_lsoa"], index=False)
    return paths
