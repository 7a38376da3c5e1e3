"""NaPTAN stop points from the official Stops CSV files (one per ATCO area).

NaPTAN publishes one ``{area}Stops.csv`` per ATCO area (120 Dorset, 128 Poole,
129 Bournemouth, 910 rail stations). :func:`load_naptan` keeps the active stops, takes
coordinates from Longitude/Latitude or else from Easting/Northing (British National Grid,
EPSG:27700), and reports per file how many stops were kept, inactive or without
coordinates, and which ATCO codes were repeated.

The stop status is found by meaning, not by position: the column whose values are stop
statuses (``active``/``inactive``/``pending``, or the older ``act``/``del``/``pen``). Rows
whose field count differs from the header's are read with their trailing fields kept, so a
status that slipped one column to the right is still found.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from transport_access._log import get_logger
from transport_access.errors import FileFormatError, MissingFileError
from transport_access.load._columns import find_column, to_number
from transport_access.report import DataReport

log = get_logger(__name__)

NAPTAN_COLUMNS = [
    "atco_code",
    "naptan_code",
    "name",
    "locality",
    "parent_locality",
    "stop_type",
    "admin_area",
    "geometry",
]

_ACTIVE = {"active", "act"}
_STATUS_WORDS = _ACTIVE | {"inactive", "del", "deleted", "pending", "pen", "suspended"}
# Indicators that add nothing to a stop's name.
_EMPTY_INDICATORS = {"", "-", "--", "n/a", "na", "none"}


def _read_rows(path: Path) -> pd.DataFrame:
    """Read a CSV as text, keeping rows whose field count differs from the header's."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise FileFormatError(path, "is empty.", "Expected a NaPTAN Stops CSV with a header row.")
    header = [h.strip().lstrip("\ufeff") for h in rows[0]]
    body = [r for r in rows[1:] if any(field.strip() for field in r)]
    width = max([len(header), *(len(r) for r in body)])
    # Extra trailing fields get their own names so that nothing is lost or shifted.
    names = header + [f"_extra_{i}" for i in range(width - len(header))]
    padded = [r + [""] * (width - len(r)) for r in body]
    frame = pd.DataFrame(padded, columns=names, dtype="string")
    frame.attrs["ragged_rows"] = sum(len(r) != len(header) for r in body)
    return frame


def _status_column(frame: pd.DataFrame, path: Path) -> str | None:
    """The column whose values are stop statuses, preferring one headed "Status"."""

    def share(col: str) -> float:
        values = frame[col].str.strip().str.lower()
        values = values[values != ""]
        return float(values.isin(_STATUS_WORDS).mean()) if len(values) else 0.0

    exact = [c for c in frame.columns if c.strip().lower() == "status"]
    named = (
        exact[0]
        if exact
        else find_column(
            frame.columns, "status", exclude=["lang", "timing"], path=path, required=False
        )
    )
    if named is not None and share(named) >= 0.9:
        return named
    # The header and the data may not line up at the end: look for the values instead.
    candidates = [(share(c), c) for c in reversed(frame.columns)]
    best_share, best = max(candidates, key=lambda item: item[0])
    if best_share >= 0.9:
        if named is not None:
            log.warning(
                "%s: column %r does not hold stop statuses; using column %r, whose values do",
                path,
                named,
                best,
            )
        return best
    return None


def _display_name(common: pd.Series, indicator: pd.Series) -> pd.Series:
    """CommonName plus the Indicator in brackets where it says something ("High St (opp)")."""
    common = common.fillna("").str.strip()
    indicator = indicator.fillna("").str.strip()
    useful = ~indicator.str.lower().isin(_EMPTY_INDICATORS)
    repeated = pd.Series(
        [i.lower() in c.lower() for c, i in zip(common, indicator, strict=True)],
        index=common.index,
        dtype=bool,
    )
    with_indicator = common + " (" + indicator + ")"
    return with_indicator.where(useful & ~repeated, common)


def _coordinates(frame: pd.DataFrame, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude in degrees, from Longitude/Latitude or else Easting/Northing."""
    n = len(frame)
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    lon_col = find_column(frame.columns, "longitude", exclude=["lang"], path=path, required=False)
    lat_col = find_column(frame.columns, "latitude", exclude=["lang"], path=path, required=False)
    if lon_col and lat_col:
        lon = to_number(frame[lon_col]).to_numpy(dtype=float, copy=True)
        lat = to_number(frame[lat_col]).to_numpy(dtype=float, copy=True)
        bad = (np.abs(lon) > 180) | (np.abs(lat) > 90) | ((lon == 0) & (lat == 0))
        lon[bad] = np.nan
        lat[bad] = np.nan
    east_col = find_column(frame.columns, "easting", path=path, required=False)
    north_col = find_column(frame.columns, "northing", path=path, required=False)
    if east_col and north_col:
        missing = np.isnan(lon) | np.isnan(lat)
        east = to_number(frame[east_col]).to_numpy(dtype=float)
        north = to_number(frame[north_col]).to_numpy(dtype=float)
        usable = missing & np.isfinite(east) & np.isfinite(north) & (east > 0) & (north > 0)
        if usable.any():
            from pyproj import Transformer

            to_wgs84 = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
            lon[usable], lat[usable] = to_wgs84.transform(east[usable], north[usable])
    if not (lon_col and lat_col) and not (east_col and north_col):
        find_column(frame.columns, "longitude", path=path, what="Longitude or Easting")
    return lon, lat


def _read_one(path: Path) -> tuple[pd.DataFrame, dict[str, int]]:
    """One Stops CSV as the NaPTAN table (before area selection), with its exclusion counts."""
    frame = _read_rows(path)
    if frame.attrs.get("ragged_rows"):
        log.warning(
            "%s: %d rows have a different number of fields from the header; their status "
            "is found by its values",
            path,
            frame.attrs["ragged_rows"],
        )
    atco = find_column(frame.columns, "atcocode", "atco", path=path, what="ATCO code")
    common = find_column(
        frame.columns, "commonname", exclude=["lang", "short"], path=path, what="CommonName"
    )
    indicator = find_column(frame.columns, "indicator", exclude=["lang"], path=path, required=False)
    naptan_code = find_column(
        frame.columns, "naptancode", exclude=["plate"], path=path, required=False
    )
    locality = find_column(
        frame.columns, "localityname", exclude=["parent", "grand"], path=path, required=False
    )
    parent_locality = find_column(
        frame.columns, "parentlocalityname", exclude=["grand"], path=path, required=False
    )
    stop_type = find_column(frame.columns, "stoptype", exclude=["bus"], path=path, required=False)
    admin = find_column(frame.columns, "administrativeareacode", path=path, required=False)

    exclusions: dict[str, int] = {}
    status = _status_column(frame, path)
    if status is None:
        raise FileFormatError(
            path,
            "has no column of stop statuses (active/inactive); cannot tell active stops.",
            "Use the official NaPTAN Stops CSV layout, which ends with a Status column.",
        )
    status_values = frame[status].fillna("").str.strip().str.lower()
    active = status_values.isin(_ACTIVE)
    for value, count in status_values[~active].value_counts().items():
        exclusions[value or "no status"] = int(count)
    frame = frame[active.to_numpy()]

    def text(col: str | None) -> pd.Series:
        if col is None:
            return pd.Series(pd.NA, index=frame.index, dtype="string")
        return frame[col].str.strip().replace("", pd.NA)

    lon, lat = _coordinates(frame, path)
    table = pd.DataFrame(
        {
            "atco_code": text(atco),
            "naptan_code": text(naptan_code),
            "name": _display_name(frame[common], text(indicator)),
            "locality": text(locality),
            "parent_locality": text(parent_locality),
            "stop_type": text(stop_type),
            "admin_area": text(admin),
            "lon": lon,
            "lat": lat,
        }
    )
    no_id = table["atco_code"].isna().to_numpy()
    if no_id.any():
        exclusions["no ATCO code"] = int(no_id.sum())
        log.warning("%s: %d active rows have no ATCO code; left out", path, int(no_id.sum()))
        table = table[~no_id]
    no_xy = (table["lon"].isna() | table["lat"].isna()).to_numpy()
    if no_xy.any():
        codes = table.loc[no_xy, "atco_code"].tolist()
        exclusions["no coordinates"] = int(no_xy.sum())
        log.warning(
            "%s: %d active stops have no coordinates and are left out: %s%s",
            path,
            len(codes),
            ", ".join(codes[:10]),
            ", ..." if len(codes) > 10 else "",
        )
        table = table[~no_xy]
    return table.reset_index(drop=True), exclusions


def _as_paths(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> list[Path]:
    if isinstance(paths, (str, os.PathLike)):
        return [Path(paths)]
    return [Path(p) for p in paths]


def _area_shape(area: Any, buffer_km: float) -> Any:
    """The area in British National Grid metres, buffered and prepared for point tests."""
    import shapely

    if isinstance(area, (gpd.GeoDataFrame, gpd.GeoSeries)):
        shape = area.to_crs(27700).union_all()
    else:
        shape = gpd.GeoSeries([area], crs=4326).to_crs(27700).iloc[0]
    if buffer_km > 0:
        # Simplifying first (by 1/50 of the buffer, at most 100 m) keeps buffering a detailed
        # boundary fast; the buffer covers far more than what simplifying moves.
        tolerance_m = min(100.0, buffer_km * 1000.0 / 50)
        shape = shape.simplify(tolerance_m).buffer(buffer_km * 1000.0)
    shapely.prepare(shape)
    return shape


def _area_mask(stops: gpd.GeoDataFrame, shape: Any) -> np.ndarray:
    """Stops inside ``shape`` (from :func:`_area_shape`)."""
    import shapely

    projected = stops.geometry.to_crs(27700)
    return shapely.contains_xy(shape, projected.x.to_numpy(), projected.y.to_numpy())


def load_naptan(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    area: Any = None,
    buffer_km: float = 0.0,
    report: DataReport | None = None,
) -> gpd.GeoDataFrame:
    """Read NaPTAN Stops CSVs and return the active stops with their positions.

    Parameters
    ----------
    paths : path-like or sequence of path-like
        Official NaPTAN Stops CSV files, for example ``120Stops.csv`` and ``910Stops.csv``.
    area : shapely geometry, GeoSeries or GeoDataFrame, optional
        Keep only stops inside this area (a bare geometry is taken as EPSG:4326).
    buffer_km : float
        Also keep stops this many kilometres outside ``area``.
    report : DataReport, optional
        Receives one entry per file (kept; inactive, no coordinates, duplicate ATCO code,
        outside area).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per stop, EPSG:4326, columns :data:`NAPTAN_COLUMNS`: ``atco_code`` (unique),
        ``naptan_code``, ``name`` (CommonName, plus the Indicator in brackets where it adds
        something, e.g. "High Street (opp)"), ``locality`` (NPTG LocalityName, e.g.
        "Charminster"), ``parent_locality`` (ParentLocalityName, the town a neighbourhood
        locality belongs to, e.g. "Bournemouth"; missing where the locality has no parent,
        as for villages and for the towns themselves), ``stop_type`` (e.g. BCT, RLY),
        ``admin_area`` and point ``geometry``. Text columns are pandas ``string``, with
        missing values for empty fields.

    Raises
    ------
    MissingFileError
        A file does not exist.
    MissingColumnError, FileFormatError
        A file has no ATCO code, name, coordinate or status column.
    """
    tables = []
    seen: set[str] = set()
    shape = _area_shape(area, buffer_km) if area is not None else None
    for path in _as_paths(paths):
        if not path.is_file():
            raise MissingFileError(
                path, "does not exist.", "Check `data.naptan` in the study file (NaPTAN CSVs)."
            )
        table, exclusions = _read_one(path)

        duplicated = table["atco_code"].duplicated() | table["atco_code"].isin(seen)
        if duplicated.any():
            codes = table.loc[duplicated, "atco_code"].tolist()
            exclusions["duplicate ATCO code"] = len(codes)
            log.warning(
                "%s: %d stops repeat an ATCO code already read; the first is kept: %s%s",
                path,
                len(codes),
                ", ".join(codes[:10]),
                ", ..." if len(codes) > 10 else "",
            )
            table = table[~duplicated.to_numpy()]

        stops = gpd.GeoDataFrame(
            table.drop(columns=["lon", "lat"]),
            geometry=gpd.points_from_xy(table["lon"], table["lat"]),
            crs=4326,
        )
        if shape is not None and len(stops):
            inside = _area_mask(stops, shape)
            if (~inside).any():
                exclusions["outside area"] = int((~inside).sum())
            stops = stops[inside]
        seen.update(stops["atco_code"])
        tables.append(stops)
        if report is not None:
            types = stops["stop_type"].value_counts().head(5)
            report.add(
                f"NaPTAN stops {path.name}",
                "area" if area is not None else "all",
                len(stops),
                exclusions,
                detail=", ".join(f"{n:,} {t}" for t, n in types.items()),
            )
        if exclusions.get("inactive"):
            log.info("%s: %d inactive stops left out", path, exclusions["inactive"])

    stops = pd.concat(tables, ignore_index=True) if tables else None
    if stops is None or not len(tables):
        stops = gpd.GeoDataFrame({c: [] for c in NAPTAN_COLUMNS[:-1]}, geometry=[], crs=4326)
    return gpd.GeoDataFrame(stops[NAPTAN_COLUMNS], geometry="geometry", crs=4326)
