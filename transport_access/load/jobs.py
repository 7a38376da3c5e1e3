"""Jobs: Business Register and Employment Survey (BRES) counts from nomis, by small area.

Two nomis CSV layouts are read:

* the **API / bulk layout** (``.../dataset/NM_189_1.data.csv?...``): one observation per
  row, with ``GEOGRAPHY_CODE``, ``GEOGRAPHY_TYPE``, ``DATE`` (or ``DATE_NAME``),
  ``INDUSTRY_NAME``, ``EMPLOYMENT_STATUS_NAME``, ``MEASURE_NAME``, ``MEASURES_NAME``,
  ``OBS_VALUE``, ``OBS_STATUS`` and ``OBS_CONF``. When a file holds several dates,
  industries, employment statuses or measures, the loader keeps the latest date, the total
  industry ("Total..."), the status "Employment" (employees plus working owners; else
  "Employees"), the measure "Count" and the measures "Value", and reports the rest;
* the **web download layout** (nomisweb "Download data" as CSV): a few quoted metadata lines
  (title, ``"Date","2023"``, ...), then a header whose first cell names the geography
  ("2011 super output area - lower layer"), an optional ``mnemonic`` code column and the
  count column, then one row per zone, then footnotes.

BRES counts are rounded by nomis; cells it suppresses (blank, ``*``, ``!``, ``-``, or
``OBS_CONF`` true) are kept with ``jobs`` NaN and ``suppressed`` True, and counted in the
report.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from transport_access._log import get_logger
from transport_access.errors import (
    FileFormatError,
    InvalidValueError,
    MissingColumnError,
    OutsideStudyAreaError,
)
from transport_access.load._columns import find_column, to_number
from transport_access.load.lsoa import (
    _check_exists,
    _few,
    _nonzero,
    read_csv_checked,
    sniff_text_file,
)
from transport_access.report import DataReport

log = get_logger(__name__)

PathLike = str | os.PathLike[str]

ZONE_TYPES = ("lsoa2011", "lsoa2021", "wz2011")
JOBS_COLUMNS = ["zone_code", "zone_type", "jobs", "suppressed"]

_GSS = re.compile(r"\b([EWSN]\d{8})\b")
_TRUE = {"t", "true", "1", "y", "yes"}


def load_jobs_optional(
    path: PathLike | None,
    *,
    zones: PathLike | Iterable[str] | None = None,
    lookup: PathLike | None = None,
    report: DataReport | None = None,
) -> pd.DataFrame | None:
    """Load jobs when a file is configured; otherwise say plainly that job measures are skipped.

    Parameters
    ----------
    path : path-like or None
        The nomis BRES CSV (study key ``data.jobs``), or None.
    zones : iterable of str or path-like, optional
        As for :func:`load_jobs`.
    lookup : path-like, optional
        As for :func:`load_jobs`.
    report : DataReport, optional
        As for :func:`load_jobs`.

    Returns
    -------
    pandas.DataFrame or None
        The :func:`load_jobs` table, or None when ``path`` is None.
    """
    if path is None:
        log.info("No jobs file configured (data.jobs): job accessibility measures will be skipped")
        return None
    return load_jobs(path, zones=zones, lookup=lookup, report=report)


def load_jobs(
    path: PathLike,
    *,
    zones: PathLike | Iterable[str] | None = None,
    lookup: PathLike | None = None,
    report: DataReport | None = None,
) -> pd.DataFrame:
    """Load BRES job counts per LSOA or workplace zone from a nomis CSV.

    Parameters
    ----------
    path : path-like
        nomis CSV in the API/bulk layout or the web download layout (module docstring).
    zones : iterable of str or path-like, optional
        The study's zone codes (for example ``lsoas["lsoa_code"]``): rows for other zones
        are left out and counted, study zones absent from the file are logged. A path here
        is taken as ``lookup`` (earlier form of this argument).
    lookup : path-like, optional
        A CSV about the zones, read by header:

        * with a workplace-zone code column (``wz11cd``) and an LSOA code column
          (``lsoa11cd`` or ``lsoa21cd``): workplace-zone jobs are summed to LSOAs (the
          result's zone type becomes ``lsoa2011``/``lsoa2021``); zones missing from the
          lookup are reported;
        * with a zone code column and coordinates (``X``/``Y``, ``LONG``/``LAT`` in degrees,
          or British National Grid metres): ``lon`` and ``lat`` columns (EPSG:4326) are
          added, so zones can be destinations in their own right.
    report : DataReport, optional
        Receives one ``"jobs"`` entry.

    Returns
    -------
    pandas.DataFrame
        One row per zone, sorted by ``zone_code``. Columns: ``zone_code`` (str, GSS code),
        ``zone_type`` (str, one of :data:`ZONE_TYPES`), ``jobs`` (float, BRES employment
        count as rounded by nomis; NaN when suppressed), ``suppressed`` (bool); plus ``lon``
        and ``lat`` (float, degrees, EPSG:4326; NaN when not in ``lookup``) when ``lookup``
        has coordinates. ``attrs["date"]`` holds the BRES year.

    Raises
    ------
    MissingFileError, FileFormatError, MissingColumnError
        Absent file, unknown layout, or a required column missing.
    InvalidValueError
        A zone appears more than once after the filters, or negative counts.
    OutsideStudyAreaError
        ``zones`` is given and no row of the file is for one of them (another area, or LSOA
        2011 codes against a 2021 study).
    """
    path = _check_exists(path, "jobs (nomis BRES)")
    sniff_text_file(path, "jobs (nomis BRES CSV)")
    lines = _head_lines(path)
    exclusions: dict[str, int] = {}
    if any("GEOGRAPHY_CODE" in line or "OBS_VALUE" in line for line in lines[:1]):
        jobs, date = _read_api_layout(path, exclusions)
    else:
        jobs, date = _read_web_layout(path, exclusions)

    dup = jobs["zone_code"].duplicated(keep=False)
    if dup.any():
        raise InvalidValueError(
            path,
            f"zone(s) {_few(jobs.loc[dup, 'zone_code'].unique())} appear more than once after "
            "keeping one date, industry total, employment status and measure.",
            "Download one value per zone (one date, total industry, one employment status).",
        )
    negative = jobs["jobs"] < 0
    if negative.any():
        raise InvalidValueError(
            path,
            f"negative job counts for {_few(jobs.loc[negative, 'zone_code'])}.",
            "Check the OBS_VALUE / count column.",
        )

    if isinstance(zones, str | os.PathLike):
        lookup, zones = zones, None
    if lookup is not None:
        jobs = _apply_zones(jobs, lookup, exclusions)
    n_absent = 0
    if zones is not None:
        jobs, n_absent = _keep_study_zones(jobs, zones, path, exclusions)

    jobs = jobs.sort_values("zone_code", ignore_index=True)
    jobs.attrs["date"] = date
    n_suppressed = int(jobs["suppressed"].sum())
    if n_suppressed:
        log.warning(
            "%s: %d zone(s) have suppressed job counts (kept with jobs = NaN): %s",
            path, n_suppressed, _few(jobs.loc[jobs["suppressed"], "zone_code"]),
        )
    types = jobs["zone_type"].value_counts()
    detail = (
        f"BRES {date or 'date unknown'}; "
        + ", ".join(f"{t} {int(n)}" for t, n in types.items())
        + f"; {jobs['jobs'].sum():,.0f} jobs; {n_suppressed} suppressed (kept, jobs NaN)"
    )
    if n_absent:
        detail += f"; {n_absent} study zones without a jobs row"
    if report is not None:
        report.add("jobs", Path(path).name, len(jobs), _nonzero(exclusions), detail)
    return jobs


# ---------------------------------------------------------------------------------------
# Layouts


def _head_lines(path: Path, n: int = 40) -> list[str]:
    opener = gzip.open if path.read_bytes()[:2] == b"\x1f\x8b" else open
    with opener(path, "rt", encoding="utf-8-sig", errors="replace") as handle:
        return [line for _, line in zip(range(n), handle, strict=False)]


def _zone_type(geography_type: str, code: str) -> str | None:
    text = geography_type.lower()
    if "workplace zone" in text:
        return "wz2011"
    if "lower layer" in text or "lsoa" in text:
        return "lsoa2021" if "2021" in text else "lsoa2011"
    if text:
        return None
    if code[:3] in ("E33", "W35"):
        return "wz2011"
    if code[:3] in ("E01", "W01"):
        return "lsoa2011"
    return None


def _keep_one(
    frame: pd.DataFrame,
    column: str | None,
    preferred: list[str],
    label: str,
    exclusions: dict[str, int],
    *,
    path: Path,
    prefix: bool = False,
) -> pd.DataFrame:
    """Keep the first preferred value of ``column`` present in the file; report the others."""
    if column is None:
        return frame
    values = frame[column].str.strip()
    present = list(dict.fromkeys(values))
    if len(present) <= 1:
        return frame
    lowered = {v.lower(): v for v in present}
    choice = None
    for want in preferred:
        if prefix:
            choice = next((v for v in present if v.lower().startswith(want)), None)
        else:
            choice = lowered.get(want)
        if choice is not None:
            break
    if choice is None:
        raise InvalidValueError(
            path,
            f"{column} has several values {present[:6]} and none is {preferred}.",
            f"Download one {label} only.",
        )
    keep = values == choice
    exclusions[f"other {label} (kept {choice!r})"] = int((~keep).sum())
    return frame[keep]


def _read_api_layout(path: Path, exclusions: dict[str, int]) -> tuple[pd.DataFrame, str]:
    raw = read_csv_checked(path, what="nomis BRES CSV")
    cols = raw.columns
    code = find_column(cols, "geography code", path=path, what="GEOGRAPHY_CODE")
    value = find_column(cols, "obs value", path=path, what="OBS_VALUE")
    gtype = find_column(cols, "geography type", exclude=("typecode",), path=path,
                        what="GEOGRAPHY_TYPE", required=False)
    date = next((c for c in ("DATE_NAME", "DATE", "DATE_CODE") if c in cols), None)

    def optional(name: str) -> str | None:
        return name if name in cols else None

    frame = raw
    if date is not None:
        latest = max(frame[date].str.strip())
        keep = frame[date].str.strip() == latest
        exclusions[f"other dates (kept {latest})"] = int((~keep).sum())
        frame = frame[keep]
    frame = _keep_one(frame, optional("INDUSTRY_NAME"), ["total", "all"], "industries",
                      exclusions, path=path, prefix=True)
    frame = _keep_one(frame, optional("EMPLOYMENT_STATUS_NAME"), ["employment", "employees"],
                      "employment statuses", exclusions, path=path)
    frame = _keep_one(frame, optional("MEASURE_NAME"), ["count"], "measures", exclusions,
                      path=path)
    frame = _keep_one(frame, optional("MEASURES_NAME"), ["value"], "value kinds", exclusions,
                      path=path)

    codes = frame[code].str.strip()
    types = frame[gtype].str.strip() if gtype else pd.Series("", index=frame.index)
    zone_type = [_zone_type(t, c) for t, c in zip(types, codes, strict=True)]
    jobs = pd.DataFrame(
        {"zone_code": codes, "zone_type": zone_type, "jobs": to_number(frame[value])}
    )
    conf = frame["OBS_CONF"].str.strip().str.lower().isin(_TRUE) if "OBS_CONF" in cols else False
    jobs["suppressed"] = jobs["jobs"].isna() | conf
    jobs.loc[jobs["suppressed"], "jobs"] = np.nan
    jobs = _drop_other_geographies(jobs, path, exclusions)
    return jobs, latest if date is not None else ""


def _read_web_layout(path: Path, exclusions: dict[str, int]) -> tuple[pd.DataFrame, str]:
    opener = gzip.open if path.read_bytes()[:2] == b"\x1f\x8b" else open
    with opener(path, "rt", encoding="utf-8-sig", errors="replace") as handle:
        rows = list(csv.reader(io.StringIO(handle.read())))
    header_at = next(
        (
            i for i, row in enumerate(rows)
            if row and re.search(r"super output area|workplace zone|lsoa", row[0], re.I)
        ),
        None,
    )
    if header_at is None:
        raise FileFormatError(
            path,
            "is neither the nomis API CSV layout (no GEOGRAPHY_CODE or OBS_VALUE column) nor "
            "a nomis web download (no header row naming 'super output area' or 'workplace "
            "zone').",
            "Download BRES from nomis as CSV by LSOA or workplace zone.",
        )
    meta = {row[0].strip().lower(): row[1].strip() for row in rows[:header_at] if len(row) >= 2}
    date = meta.get("date", "")
    header = [h.strip() for h in rows[header_at]]
    zone_type = _zone_type(header[0], "")
    mnemonic = next((i for i, h in enumerate(header) if h.lower() == "mnemonic"), None)
    value_at = next(
        (i for i, h in enumerate(header) if h.lower() in ("total", "employment", "employees",
                                                          "count", "value")),
        len(header) - 1,
    )
    records = []
    for row in rows[header_at + 1:]:
        if len(row) < len(header) or not any(cell.strip() for cell in row):
            break  # a blank line or a footnote ends the table
        cell = row[mnemonic] if mnemonic is not None else row[0]
        match = _GSS.search(cell)
        if match is None:
            exclusions["rows without a zone code"] = exclusions.get("rows without a zone code",
                                                                    0) + 1
            continue
        records.append((match.group(1), row[value_at].strip()))
    if not records:
        raise MissingColumnError(
            path,
            f"the table under header {header} has no zone codes (looked in "
            f"{'the mnemonic column' if mnemonic is not None else 'the first column'}).",
            "In nomis, tick 'mnemonic' (codes) for the geography before downloading.",
        )
    jobs = pd.DataFrame(records, columns=["zone_code", "raw"])
    jobs["zone_type"] = [zone_type or _zone_type("", c) for c in jobs["zone_code"]]
    jobs["jobs"] = to_number(jobs.pop("raw"))
    jobs["suppressed"] = jobs["jobs"].isna()
    jobs = _drop_other_geographies(jobs[JOBS_COLUMNS], path, exclusions)
    return jobs, date


def _drop_other_geographies(
    jobs: pd.DataFrame, path: Path, exclusions: dict[str, int]
) -> pd.DataFrame:
    other = jobs["zone_type"].isna()
    if other.all():
        raise FileFormatError(
            path,
            f"holds no LSOA or workplace-zone rows (codes such as {_few(jobs['zone_code'], 3)}).",
            "Download BRES by '2011 super output area - lower layer' or workplace zone.",
        )
    exclusions["not an LSOA or workplace zone (e.g. totals)"] = int(other.sum())
    return jobs[~other][JOBS_COLUMNS].reset_index(drop=True)


# ---------------------------------------------------------------------------------------
# Zones: the study's zones, workplace zone -> LSOA lookup, or zone locations


def _keep_study_zones(
    jobs: pd.DataFrame, zones: Iterable[str], path: Path, exclusions: dict[str, int]
) -> tuple[pd.DataFrame, int]:
    wanted = {str(z) for z in zones}
    inside = jobs["zone_code"].isin(wanted)
    if wanted and not inside.any():
        types = sorted(set(jobs["zone_type"]))
        raise OutsideStudyAreaError(
            path,
            f"none of its {len(jobs):,} zones ({', '.join(types)}) is one of the study's "
            f"{len(wanted):,} zones (e.g. {_few(sorted(wanted), 3)}).",
            "Download BRES for the study's local authorities and LSOA vintage, or give a "
            "workplace zone lookup (lookup=...).",
        )
    exclusions["outside the study zones"] = int((~inside).sum())
    missing = sorted(wanted - set(jobs["zone_code"]))
    if missing:
        log.warning(
            "%s: %d study zone(s) have no jobs row (they count as no jobs): %s",
            path, len(missing), _few(missing),
        )
    return jobs[inside], len(missing)


def _apply_zones(jobs: pd.DataFrame, zones: PathLike, exclusions: dict[str, int]) -> pd.DataFrame:
    raw = read_csv_checked(zones, what="zone lookup or centroids")
    lower = {c.lower(): c for c in raw.columns}
    wz_col = next((lower[c] for c in ("wz11cd", "wz_code", "wzcd") if c in lower), None)
    wz_col = wz_col or find_column(raw.columns, "workplace zone & code", "wz & cd", path=zones,
                                   what="workplace zone code", required=False)
    lsoa_col = next(
        (lower[c] for c in ("lsoa11cd", "lsoa21cd", "lsoa_code", "lsoa11_code", "lsoa21_code")
         if c in lower),
        None,
    )
    lon_col = next((lower[c] for c in ("long", "lon", "longitude", "x") if c in lower), None)
    lat_col = next((lower[c] for c in ("lat", "latitude", "y") if c in lower), None)

    if wz_col is not None and lsoa_col is not None:
        return _workplace_zones_to_lsoa(jobs, raw, wz_col, lsoa_col, zones, exclusions)

    code_col = wz_col or lsoa_col
    if code_col is None or lon_col is None or lat_col is None:
        raise MissingColumnError(
            zones,
            "needs a workplace-zone code and an LSOA code column (a lookup), or a zone code "
            f"and X/Y or LONG/LAT columns (centroids); found {list(raw.columns)[:12]}.",
            "Use the ONS workplace zone to LSOA lookup or workplace zone centroids.",
        )
    if lon_col.lower() == "x" and "long" in lower and "lat" in lower:
        lon_col, lat_col = lower["long"], lower["lat"]
    where = pd.DataFrame(
        {"zone_code": raw[code_col].str.strip(), "lon": to_number(raw[lon_col]),
         "lat": to_number(raw[lat_col])}
    ).drop_duplicates("zone_code")
    if (where["lon"].abs() > 180).mean() > 0.5:
        from pyproj import Transformer

        to_wgs84 = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
        where["lon"], where["lat"] = to_wgs84.transform(where["lon"].to_numpy(),
                                                        where["lat"].to_numpy())
    jobs = jobs.merge(where, on="zone_code", how="left")
    unplaced = jobs["lon"].isna()
    if unplaced.any():
        log.warning(
            "%s: %d zone(s) with jobs have no location (kept, lon/lat NaN): %s",
            zones, int(unplaced.sum()), _few(jobs.loc[unplaced, "zone_code"]),
        )
    return jobs


def _workplace_zones_to_lsoa(
    jobs: pd.DataFrame,
    raw: pd.DataFrame,
    wz_col: str,
    lsoa_col: str,
    zones: PathLike,
    exclusions: dict[str, int],
) -> pd.DataFrame:
    lookup = raw[[wz_col, lsoa_col]].apply(lambda s: s.str.strip())
    lookup.columns = ["zone_code", "lsoa_code"]
    if lookup["zone_code"].duplicated().any():
        raise InvalidValueError(
            zones,
            f"workplace zone(s) {_few(lookup.loc[lookup['zone_code'].duplicated(), 'zone_code'])}"
            f" map to more than one LSOA in column {lsoa_col!r}.",
            "Each workplace zone lies in one LSOA in the ONS lookup; use it unchanged.",
        )
    target = "lsoa2021" if "21" in lsoa_col else "lsoa2011"
    is_wz = jobs["zone_type"] == "wz2011"
    wz = jobs[is_wz].merge(lookup, on="zone_code", how="left")
    unmatched = wz["lsoa_code"].isna()
    if unmatched.any():
        log.warning(
            "%s: %d workplace zone(s) are not in the lookup and are left out: %s",
            zones, int(unmatched.sum()), _few(wz.loc[unmatched, "zone_code"]),
        )
    exclusions["workplace zones not in the lookup"] = int(unmatched.sum())
    wz = wz[~unmatched]
    summed = wz.groupby("lsoa_code").agg(
        jobs=("jobs", lambda s: s.sum(min_count=1)), suppressed=("suppressed", "any")
    )
    summed = summed.reset_index().rename(columns={"lsoa_code": "zone_code"})
    summed["zone_type"] = target
    log.info("summed %d workplace zones into %d LSOAs", len(wz), len(summed))
    out = pd.concat([jobs[~is_wz], summed[JOBS_COLUMNS]], ignore_index=True)
    dup = out["zone_code"].duplicated(keep=False)
    if dup.any():
        raise InvalidValueError(
            zones,
            f"LSOA(s) {_few(out.loc[dup, 'zone_code'].unique())} have jobs both directly and "
            "from workplace zones.",
            "Give jobs by LSOA or by workplace zone, not both.",
        )
    return out
