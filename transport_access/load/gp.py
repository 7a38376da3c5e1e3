"""GP surgeries: NHS ODS practices (``epraccur.csv``) and branch surgeries (``ebranchs.csv``).

Practices are located by postcode, with OS Code-Point Open (a folder of per-area CSVs) or
the ONS postcode directory (a CSV with a header). The ODS files have no list sizes, so the
number of sites (practice plus branch surgeries) is the capacity proxy: a destination count,
not a measure of appointments.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from transport_access._log import get_logger
from transport_access.errors import FileFormatError, MissingColumnError, OutsideStudyAreaError
from transport_access.load._columns import find_column, to_number
from transport_access.load.lsoa import _check_exists, _few, _nonzero, read_csv_checked
from transport_access.report import DataReport

if TYPE_CHECKING:
    import geopandas as gpd
    from shapely.geometry.base import BaseGeometry

log = get_logger(__name__)

PathLike = str | os.PathLike[str]

# 0-based positions in the headerless ODS files (the ODS documentation counts from 1).
_EPRACCUR = {"code": 0, "name": 1, "postcode": 9, "open": 10, "close": 11, "status": 12,
             "commissioner": 14, "setting": 25}
_EBRANCHS = {"code": 0, "name": 1, "postcode": 9, "open": 10, "close": 11, "parent": 14}
_GP_SETTING = "4"
_STATUS_NAMES = {"A": "active", "C": "closed", "D": "dormant", "P": "proposed"}
_ODS_CODE = re.compile(r"^[A-Z0-9]{3,}$")
_POSTCODE_AREA = re.compile(r"^([A-Z]{1,2})")

OUTPUT_COLUMNS = ["code", "name", "kind", "parent_code", "postcode", "commissioner", "geometry"]


def normalise_postcode(postcodes: pd.Series) -> pd.Series:
    """Return postcodes upper-cased with exactly one space before the inward code.

    ``"bh15 4jq"``, ``"BH154JQ"`` and ``"BH15  4JQ"`` all become ``"BH15 4JQ"``; blanks stay
    empty strings.

    Parameters
    ----------
    postcodes : pandas.Series of str

    Returns
    -------
    pandas.Series of str
    """
    compact = postcodes.fillna("").astype(str).str.upper().str.replace(r"\s+", "", regex=True)
    return compact.where(compact.str.len() < 5, compact.str[:-3] + " " + compact.str[-3:])


def load_gp_practices(
    practices: PathLike,
    *,
    postcodes: PathLike,
    branches: PathLike | None = None,
    commissioners: Sequence[str] = (),
    area: BaseGeometry | None = None,
    buffer_km: float = 10.0,
    report: DataReport | None = None,
) -> gpd.GeoDataFrame:
    """Load active GP practices and their branch surgeries, located by postcode.

    Parameters
    ----------
    practices : path-like
        NHS ODS ``epraccur.csv``: no header, 27 columns; used (1-based) 1 code, 2 name,
        10 postcode, 12 close date, 13 status code ("A" = active), 15 commissioner and
        26 prescribing setting (4 = GP practice).
    postcodes : path-like
        OS Code-Point Open: its folder of per-area CSVs (no header; the column order comes
        from ``Code-Point_Open_Column_Headers.csv`` when present) or one such CSV; or an ONS
        postcode directory CSV with a header (``pcds``/``pcd`` and ``lat``/``long`` or
        ``oseast1m``/``osnrth1m``).
    branches : path-like, optional
        NHS ODS ``ebranchs.csv``: branch code, name, postcode (column 10), close date
        (column 12) and parent practice code (column 15).
    commissioners : sequence of str
        Commissioner codes (for example ``["11J"]`` for NHS Dorset). When given, practices
        are selected by commissioner and ``area`` is not used.
    area : shapely geometry, optional
        Study area in EPSG:4326, used when no commissioner is given.
    buffer_km : float
        Practices up to this distance outside ``area`` are kept, in kilometres.
    report : DataReport, optional
        Receives one ``"gp practices"`` entry; its detail lists every practice or branch
        that could not be geocoded, with its postcode.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per site, CRS EPSG:4326, point geometry at the postcode's location, sorted
        by ``code``. Columns: ``code`` (str, ODS code), ``name`` (str), ``kind``
        ("practice" or "branch"), ``parent_code`` (str, the practice's own code for a
        practice), ``postcode`` (str, normalised), ``commissioner`` (str; a branch takes its
        parent's).

    Raises
    ------
    MissingFileError, FileFormatError, MissingColumnError
        A file is absent or not in the ODS / postcode layout.
    OutsideStudyAreaError
        ``area`` is given and no geocoded practice falls in it.
    ValueError
        Neither ``commissioners`` nor ``area`` is given.

    Notes
    -----
    Sites whose postcode is not in the postcode file cannot be placed: they are left out
    of the table, logged as a warning and listed (code and postcode) in the report detail.
    A branch at its practice's postcode, or repeating another site of the same practice,
    is the same site and is left out (counted in the report). Branches are kept when their
    parent practice is kept and they have no close date in the past.
    """
    import geopandas as gpd

    if not commissioners and area is None:
        raise ValueError("give commissioner codes or a study area to select GP practices")
    today = pd.Timestamp.today().strftime("%Y%m%d")
    exclusions: dict[str, int] = {}

    table = _read_ods(practices, _EPRACCUR, what="NHS ODS GP practices (epraccur.csv)")
    closed_date = (table["close"] != "") & (table["close"] <= today)
    active = (table["status"] == "A") & ~closed_date
    for status, n in table.loc[~active, "status"].value_counts().items():
        exclusions[f"{_STATUS_NAMES.get(status, 'status ' + status)}"] = int(n)
    table = table[active]
    is_gp = table["setting"] == _GP_SETTING
    exclusions["not a GP practice (prescribing setting other than 4)"] = int((~is_gp).sum())
    table = table[is_gp]

    wanted = {str(c).strip().upper() for c in commissioners}
    if wanted:
        chosen = table["commissioner"].str.upper().isin(wanted)
        exclusions["other commissioners"] = int((~chosen).sum())
        if not chosen.any():
            found = table["commissioner"].value_counts().index[:10].tolist()
            raise OutsideStudyAreaError(
                practices,
                f"no active GP practice has commissioner code(s) {sorted(wanted)} "
                f"(column 15; most common codes: {found}).",
                "Check data.gp.commissioners (NHS Dorset is 11J).",
            )
        table = table[chosen]
        selection = f"commissioner {', '.join(sorted(wanted))}"
    else:
        selection = f"study area + {buffer_km:g} km"

    sites = pd.DataFrame(
        {
            "code": table["code"],
            "name": table["name"],
            "kind": "practice",
            "parent_code": table["code"],
            "postcode": normalise_postcode(table["postcode"]),
            "commissioner": table["commissioner"],
        }
    )
    if branches is not None:
        branch_sites, branch_exclusions = _branch_sites(branches, sites, today)
        exclusions.update(branch_exclusions)
        sites = pd.concat([sites, branch_sites], ignore_index=True)

    located = _geocode(sites["postcode"], postcodes)
    sites = sites.join(located, on="postcode")
    unplaced = sites["easting"].isna()
    covered = _covered_areas(postcodes)
    # In area mode, sites in postcode areas the postcode file does not cover are simply
    # outside its reach (thousands nationally): count them without listing each one.
    beyond = unplaced & ~sites["postcode"].str.extract(_POSTCODE_AREA)[0].isin(covered)
    listed = unplaced & ~beyond if not wanted else unplaced
    if not wanted and beyond.any():
        exclusions["postcode area not covered by the postcode file"] = int(beyond.sum())
    ungeocoded = sites[listed]
    if len(ungeocoded):
        for row in ungeocoded.itertuples():
            log.warning(
                "GP %s %s (%s) not geocoded: postcode %r is not in %s",
                row.kind, row.code, row.name, row.postcode, postcodes,
            )
        exclusions["not geocoded (postcode not found)"] = len(ungeocoded)
    sites = sites[~unplaced]

    points = gpd.GeoSeries(
        gpd.points_from_xy(sites["easting"], sites["northing"]), index=sites.index,
        crs="EPSG:27700",
    )
    if not wanted:
        zone = gpd.GeoSeries([area], crs="EPSG:4326").to_crs("EPSG:27700").iloc[0]
        if buffer_km > 0:
            zone = zone.buffer(buffer_km * 1000.0)
        inside = points.within(zone)
        if not inside.any():
            raise OutsideStudyAreaError(
                practices,
                f"none of the {len(sites):,} geocoded GP sites falls within the study area "
                "(+ buffer).",
                "Check the study area, or that the postcode file covers it.",
            )
        exclusions[f"outside the study area + {buffer_km:g} km"] = int((~inside).sum())
        sites, points = sites[inside], points[inside]

    result = gpd.GeoDataFrame(
        sites[OUTPUT_COLUMNS[:-1]], geometry=points.to_crs("EPSG:4326")
    ).sort_values("code", ignore_index=True)

    n_practices = int((result["kind"] == "practice").sum())
    detail = (
        f"{n_practices} practices and {int((result['kind'] == 'branch').sum())} branch "
        "surgeries (sites are the capacity proxy: ODS has no list sizes)"
    )
    if len(ungeocoded):
        detail += "; not geocoded: " + "; ".join(
            f"{r.kind} {r.code} {r.name} ({r.postcode})" for r in ungeocoded.itertuples()
        )
    if report is not None:
        report.add("gp practices", selection, len(result), _nonzero(exclusions), detail)
    return result


def _read_ods(path: PathLike, layout: dict[str, int], *, what: str) -> pd.DataFrame:
    raw = read_csv_checked(path, what=what, header=None, encoding="latin-1")
    needed = max(layout.values()) + 1
    if raw.shape[1] < needed:
        raise FileFormatError(
            path,
            f"has {raw.shape[1]} columns but the ODS layout has 27 (column {needed} is needed).",
            f"Give the {what} file as published by NHS ODS (no header row).",
        )
    codes = raw[layout["code"]].astype(str).str.strip().str.upper()
    looks_like_code = codes.str.match(_ODS_CODE)
    if looks_like_code.mean() < 0.9:
        raise FileFormatError(
            path,
            f"column 1 does not hold ODS codes (first values: {_few(codes.head(3))}); "
            "is there a header row, or is this another file?",
            f"Give the {what} file as published by NHS ODS (no header row).",
        )
    out = pd.DataFrame({key: raw[pos].astype(str).str.strip() for key, pos in layout.items()})
    out["code"] = codes
    out = out[looks_like_code]
    if "status" in out:
        out["status"] = out["status"].str.upper()
    return out


def _branch_sites(
    path: PathLike, practices: pd.DataFrame, today: str
) -> tuple[pd.DataFrame, dict[str, int]]:
    table = _read_ods(path, _EBRANCHS, what="NHS ODS branch surgeries (ebranchs.csv)")
    table["parent"] = table["parent"].str.upper()
    exclusions: dict[str, int] = {}
    of_kept = table["parent"].isin(practices["code"])
    table = table[of_kept]
    closed = (table["close"] != "") & (table["close"] <= today)
    exclusions["branches closed"] = int(closed.sum())
    table = table[~closed]

    parents = practices.set_index("code")
    branch = pd.DataFrame(
        {
            "code": table["code"],
            "name": table["name"],
            "kind": "branch",
            "parent_code": table["parent"],
            "postcode": normalise_postcode(table["postcode"]),
            "commissioner": table["parent"].map(parents["commissioner"]),
        }
    )
    # A branch at a postcode the practice already has is the same site, counted once.
    known = set(zip(practices["code"], practices["postcode"], strict=True))
    same_site = [
        (p, pc) in known or known.add((p, pc))  # type: ignore[func-returns-value]
        for p, pc in zip(branch["parent_code"], branch["postcode"], strict=True)
    ]
    same_site_mask = np.asarray(same_site, dtype=bool)
    exclusions["branches at a postcode their practice already has (same site)"] = int(
        same_site_mask.sum()
    )
    return branch[~same_site_mask], exclusions


# ---------------------------------------------------------------------------------------
# Postcode geocoding


def _geocode(postcodes: pd.Series, source: PathLike) -> pd.DataFrame:
    """Return easting/northing (EPSG:27700, metres) indexed by normalised postcode."""
    wanted = set(postcodes[postcodes != ""])
    source = _check_exists(source, "postcode lookup")
    if source.is_dir():
        table = _read_codepoint_folder(source, wanted)
    else:
        table = _read_postcode_file(source)
    table = table[table.index.isin(wanted)]
    return table[~table.index.duplicated()]


def _codepoint_files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*.csv") if "header" not in p.name.lower()
    )


def _covered_areas(source: PathLike) -> set[str]:
    source = Path(source)
    if source.is_dir():
        return {p.stem.upper() for p in _codepoint_files(source)}
    return {m.group(1) for m in [_POSTCODE_AREA.match(source.stem.upper())] if m} or set()


def _codepoint_columns(folder: Path) -> list[str]:
    headers = sorted(folder.rglob("*Column_Headers*.csv")) + sorted(folder.rglob("*header*.csv"))
    if headers:
        first = headers[0].read_text(encoding="utf-8-sig").splitlines()[0]
        return [c.strip().strip('"').upper() for c in first.split(",")]
    return ["PC", "PQ", "EA", "NO"]  # the fixed order OS documents for Code-Point Open


def _read_codepoint_folder(folder: Path, wanted: Iterable[str]) -> pd.DataFrame:
    files = _codepoint_files(folder)
    if not files:
        raise FileFormatError(
            folder, "has no Code-Point Open CSV files.",
            "Give the Code-Point Open folder (Data/CSV) or an ONS postcode directory CSV.",
        )
    areas = {m.group(1) for pc in wanted if (m := _POSTCODE_AREA.match(pc))}
    columns = _codepoint_columns(folder)
    for needed in ("PC", "EA", "NO"):
        if needed not in columns:
            raise MissingColumnError(
                folder, f"Code-Point column headers lack {needed!r} (found {columns}).",
                "Keep Code-Point_Open_Column_Headers.csv as published.",
            )
    frames = []
    for file in files:
        if file.stem.upper() not in areas:
            continue
        raw = read_csv_checked(file, what="Code-Point Open postcodes", header=None)
        raw = raw.iloc[:, : len(columns)]
        raw.columns = columns[: raw.shape[1]]
        frames.append(raw[["PC", "EA", "NO"]])
    if not frames:
        return pd.DataFrame(columns=["easting", "northing"], dtype=float)
    raw = pd.concat(frames, ignore_index=True)
    return _postcode_table(raw["PC"], to_number(raw["EA"]), to_number(raw["NO"]))


def _read_postcode_file(path: Path) -> pd.DataFrame:
    raw = read_csv_checked(path, what="postcode lookup", header=None, nrows=1)
    first = [str(v).strip().lower() for v in raw.iloc[0]]
    has_header = any(v in ("pcds", "pcd", "pcd7", "pcd8", "postcode", "pc") for v in first)
    if not has_header:  # a single Code-Point Open file
        raw = read_csv_checked(path, what="Code-Point Open postcodes", header=None)
        return _postcode_table(raw[0], to_number(raw[2]), to_number(raw[3]))

    raw = read_csv_checked(path, what="ONS postcode directory")
    lower = {c.lower(): c for c in raw.columns}
    pc = next(lower[c] for c in ("pcds", "pcd", "pcd7", "pcd8", "postcode", "pc") if c in lower)
    if "oseast1m" in lower and "osnrth1m" in lower:
        return _postcode_table(
            raw[pc], to_number(raw[lower["oseast1m"]]), to_number(raw[lower["osnrth1m"]])
        )
    lat = find_column(raw.columns, "lat", path=path, what="latitude (lat)", required=False)
    lon = find_column(raw.columns, "long", "lon", path=path, what="longitude (long)",
                      required=False)
    if lat is None or lon is None:
        raise MissingColumnError(
            path,
            f"no coordinates: looked for oseast1m/osnrth1m or lat/long (found "
            f"{list(raw.columns)[:12]}).",
            "Use the ONS postcode directory CSV or OS Code-Point Open.",
        )
    from pyproj import Transformer

    lat_v, lon_v = to_number(raw[lat]), to_number(raw[lon])
    lat_v = lat_v.where(lat_v.abs() <= 90)  # the ONSPD writes 99.999999 for "no location"
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    east, north = to_bng.transform(lon_v.to_numpy(), lat_v.to_numpy())
    return _postcode_table(raw[pc], pd.Series(east), pd.Series(north))


def _postcode_table(pc: pd.Series, east: pd.Series, north: pd.Series) -> pd.DataFrame:
    table = pd.DataFrame(
        {"easting": east.to_numpy(dtype=float), "northing": north.to_numpy(dtype=float)},
        index=normalise_postcode(pc.reset_index(drop=True)).to_numpy(),
    )
    # Code-Point quality 90 and terminated ONSPD rows carry 0,0 or blanks: no location.
    finite = np.isfinite(table["easting"]) & np.isfinite(table["northing"])
    no_location = ~finite | (table["easting"] <= 0) | (table["northing"] <= 0)
    table = table[~no_location]
    table.index.name = "postcode"
    return table
