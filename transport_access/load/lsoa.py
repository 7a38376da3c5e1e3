"""Neighbourhoods: LSOAs with population, IMD deprivation and population-weighted centroids.

Two editions of the English Indices of Deprivation are supported, each on its own LSOA codes:

* **IoD 2019** is published for LSOA 2011 codes. It reaches an LSOA 2021 (``vintage=2021``)
  only through the ONS LSOA 2011 -> 2021 lookup, by the rule below.
* **IoD 2025** is published for LSOA 2021 codes (File 7 headers "LSOA code (2021)" and "Local
  Authority District code (2024)"). It joins LSOA 2021 on its own codes, with no lookup, and
  cannot serve an LSOA 2011 study.

The edition is read from the IMD file's LSOA code header ("LSOA code (2011)" or "(2021)") and,
when the lookup is given, from its codes (codes that exist only in 2011, or only in 2021); the
study's ``imd.edition`` must agree with both. 2011 and 2021 codes are never joined directly.

The rule for carrying IMD 2019 to LSOA 2021:

* unchanged (``U``) and split (``S``) LSOAs copy the ranks and deciles of their 2011 parent;
  every part of a split LSOA gets the parent's values;
* merged (``M``) and irregular (``X``) LSOAs, which have several 2011 parents, take every
  IMD and domain value from their *most deprived* parent (lowest IMD rank). Ranks are
  ordinal, so averaging them has no meaning, and an equity analysis must not dilute a
  deprived pocket; ``imd_lsoa11_code`` names the parent used.

LSOAs of the study area left without an IMD value are counted in the data report and named
in the log, never dropped silently.

The small CSV helpers at the end of this module (:func:`read_csv_checked` and friends) are
shared by the other loaders in ``transport_access.load``.
"""

from __future__ import annotations

import difflib
import gzip
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from transport_access._log import get_logger
from transport_access.errors import (
    ConfigError,
    EmptyStudyAreaError,
    FileFormatError,
    InvalidValueError,
    MissingColumnError,
    MissingFileError,
    OutsideStudyAreaError,
)
from transport_access.load._columns import find_column, to_number
from transport_access.report import DataReport

if TYPE_CHECKING:
    import geopandas as gpd
    from shapely.geometry.base import BaseGeometry

log = get_logger(__name__)

PathLike = str | os.PathLike[str]

#: IoD editions and the LSOA codes each is published for.
IMD_EDITIONS: dict[int, int] = {2019: 2011, 2025: 2021}

#: IoD domains in File 2 (or File 7): output prefix -> header patterns for ``find_column``.
IMD_DOMAINS: dict[str, tuple[str, ...]] = {
    "income": ("income",),
    "employment": ("employment",),
    "education": ("education",),
    "health": ("health",),
    "crime": ("crime",),
    "barriers": ("barriers",),
    "living_environment": ("living environment",),
}

#: LSOA code columns recognised in centroid and boundary files, in order of preference.
_LSOA11_CODE_NAMES = ("lsoa11cd", "lsoa11_code", "lsoa_code_2011", "lsoa11code")
_LSOA21_CODE_NAMES = ("lsoa21cd", "lsoa21_code", "lsoa_code_2021", "lsoa21code")
_LON_NAMES = ("long", "lon", "longitude", "x")
_LAT_NAMES = ("lat", "latitude", "y")

# England and Wales in degrees, generously: used to spot swapped or projected coordinates.
_GB_LON = (-8.7, 2.0)
_GB_LAT = (49.8, 61.0)


def load_lsoas(
    *,
    centroids: PathLike,
    imd_ranks: PathLike,
    local_authorities: Sequence[str],
    imd_domains: PathLike | None = None,
    imd_population: PathLike | None = None,
    census_population: PathLike | None = None,
    lookup_2011_2021: PathLike | None = None,
    vintage: int = 2011,
    imd_edition: int | None = None,
    report: DataReport | None = None,
) -> gpd.GeoDataFrame:
    """Load the study's neighbourhoods with population, IMD and a centroid each.

    Parameters
    ----------
    centroids : path-like
        ONS LSOA population-weighted centroids CSV, with an LSOA code column (``lsoa11cd`` or
        ``lsoa21cd``) and longitude/latitude columns (``X``/``Y`` or ``LONG``/``LAT``, in
        degrees, or ``x``/``y`` in British National Grid metres). For ``vintage=2021`` a 2011
        centroid file is accepted with the lookup: see Notes.
    imd_ranks : path-like
        IoD File 1 or File 7: LSOA code and name, local authority district code and name,
        IMD rank and decile. Headers are matched by meaning; IoD 2019 has "LSOA code (2011)"
        and LAD 2019 columns, IoD 2025 has "LSOA code (2021)" and LAD 2024 columns.
    local_authorities : sequence of str
        Local-authority codes of the study area, for example ``["E06000059", "E06000058"]``:
        matched against the lookup's LTLA 2022 column when the lookup is used, else against
        the LAD column of ``imd_ranks``.
    imd_domains : path-like, optional
        IoD File 2 (or File 7) of the same edition: adds ``<domain>_rank`` and
        ``<domain>_decile`` for income, employment, education, health, crime, barriers and
        living_environment.
    imd_population : path-like, optional
        IoD File 6 (or File 7) of the same edition. IoD 2019 (mid-2015, LSOA 2011): the
        population of a 2011 study, and the weights of centroids derived from 2011 ones.
        IoD 2025 (mid-2022, LSOA 2021): the population when no Census file is given.
    census_population : path-like, optional
        Census 2021 usual residents by LSOA 2021 (code column and a ``total`` column), used
        for 2021.
    lookup_2011_2021 : path-like, optional
        ONS LSOA 2011 -> 2021 lookup (2011 code, 2021 code and name, change code, LTLA 2022
        code and name). Required for IoD 2019 with ``vintage=2021``; optional for IoD 2025,
        where it defines the study's LSOAs (so that LSOAs missing from the IMD file are
        counted), supplies ``lsoa_change`` and checks the IMD file's codes.
    vintage : {2011, 2021}
        Which LSOA codes to return. IoD 2025 needs 2021.
    imd_edition : {2019, 2025}, optional
        The study's ``imd.edition``. None: detected from the IMD file (see the module
        documentation). When given it must agree with the file.
    report : DataReport, optional
        Receives one ``"lsoas"`` entry with the counts kept and excluded.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per LSOA of the study area, CRS EPSG:4326, point geometry at the ONS
        population-weighted centroid, sorted by ``lsoa_code``. Columns:

        ``lsoa_code`` (str), ``lsoa_name`` (str), ``lad_code`` (str), ``lad_name`` (str),
        ``population`` (float, persons; mid-2015 for 2011, Census 2021 for 2021, NaN when no
        population file is given), ``imd_rank`` (int, 1 = most deprived in England),
        ``imd_decile`` (int 1-10, 1 = most deprived 10%), ``imd_quintile`` (int 1-5),
        then ``<domain>_rank`` and ``<domain>_decile`` (int) when ``imd_domains`` is given.
        For 2021 also ``lsoa_change`` (ONS change code U/S/M/X; missing for IoD 2025 without
        the lookup), ``imd_lsoa11_code`` (the 2011 LSOA whose IoD 2019 values were used;
        missing for IoD 2025, whose values are the LSOA's own) and ``centroid_from_2011``
        (bool, see Notes). ``attrs`` holds ``lsoa_vintage`` and ``imd_edition``.

    Raises
    ------
    MissingFileError, FileFormatError, MissingColumnError
        A file is absent, not a CSV, or lacks a required column.
    InvalidValueError
        Duplicate LSOA codes, ranks/deciles out of range, or IMD files whose LSOA codes
        disagree with ``imd_edition``, with each other or with the lookup.
    EmptyStudyAreaError
        A local-authority code selects no LSOA (close matches are listed).
    OutsideStudyAreaError
        Centroids that are not longitude/latitude in Great Britain (swapped or projected).
    ConfigError
        ``vintage`` is not 2011 or 2021, ``imd_edition`` is not 2019 or 2025, IoD 2025 is
        asked for an LSOA 2011 study, or IoD 2019 for 2021 without the lookup.

    Notes
    -----
    IMD 2019 values for LSOA 2021 follow the rule in the module docstring. When the
    centroid file has only 2011 codes, LSOA 2021 centroids are derived from it through the
    lookup: an unchanged LSOA keeps its centroid, each part of a split takes its parent's
    centroid and a merged LSOA takes the mean of its parents' centroids, weighted by the IoD
    2019 population when that file is given (unweighted otherwise); those rows have
    ``centroid_from_2011 = True`` and are counted in the report. Use the ONS LSOA 2021
    population-weighted centroids to avoid that approximation.
    """
    if vintage not in (2011, 2021):
        raise ConfigError(f"area.lsoa_vintage: {vintage!r} is not 2011 or 2021")
    if imd_edition is not None and imd_edition not in IMD_EDITIONS:
        raise ConfigError(f"imd.edition: {imd_edition!r} is not 2019 or 2025")
    codes = [str(c).strip() for c in local_authorities]
    if not codes:
        raise ConfigError("area.local_authorities: no local-authority codes given")

    imd = _read_imd_ranks(imd_ranks)
    lookup = _read_lookup(lookup_2011_2021) if lookup_2011_2021 is not None else None
    edition = _imd_edition(imd, imd_ranks, imd_edition, lookup)
    if imd_domains is not None:
        domains = _read_imd_domains(imd_domains)
        _check_same_edition(domains, imd_domains, edition)
        imd = imd.merge(domains, on="lsoa_code", how="left")
    imd_pop = None
    if imd_population is not None:
        imd_pop = _read_imd_population(imd_population)
        _check_same_edition(imd_pop, imd_population, edition)

    if edition == 2025 and vintage == 2011:
        raise ConfigError(
            "area.lsoa_vintage is 2011 but the IMD file is IoD 2025, which uses LSOA 2021 "
            f"codes ({imd_ranks}); set area.lsoa_vintage: 2021 (and LSOA 2021 centroids)."
        )
    if edition == 2019 and vintage == 2021 and lookup is None:
        raise ConfigError(
            "area.lsoa_vintage is 2021 but no LSOA 2011 -> 2021 lookup is configured "
            "(data.lsoa.lookup_2011_2021): IMD 2019 uses 2011 codes and can only reach 2021 "
            "LSOAs through the ONS lookup."
        )

    if vintage == 2011:
        lsoas, exclusions = _study_lsoas_2011(imd, codes, imd_ranks, imd_pop)
        lsoas, lost = _attach_centroids(lsoas, centroids, code_kind="2011")
        exclusions["without a centroid"] = lost
    elif edition == 2019:
        lsoas, exclusions = _study_lsoas_2021(
            imd, codes, lookup, lookup_2011_2021, census_population, imd_pop, centroids
        )
    else:
        lsoas, exclusions = _study_lsoas_2021_direct(
            imd, codes, imd_ranks, lookup, lookup_2011_2021, census_population, imd_pop,
            centroids,
        )

    import geopandas as gpd

    front = ["lsoa_code", "lsoa_name", "lad_code", "lad_name", "population"]
    lsoas = lsoas[front + [c for c in lsoas.columns if c not in front]]
    lsoas = lsoas.sort_values("lsoa_code", ignore_index=True)
    geometry = gpd.points_from_xy(lsoas.pop("lon"), lsoas.pop("lat"), crs="EPSG:4326")
    result = gpd.GeoDataFrame(lsoas, geometry=geometry, crs="EPSG:4326")
    result.attrs["lsoa_vintage"] = vintage
    result.attrs["imd_edition"] = edition

    missing_pop = int(result["population"].isna().sum())
    if missing_pop:
        log.warning(
            "%d of %d LSOAs have no population (no population file, or codes missing from it);"
            " population-weighted measures will leave them out",
            missing_pop,
            len(result),
        )
    per_lad = result.groupby("lad_name")["lsoa_code"].count()
    detail = "; ".join(f"{name}: {n}" for name, n in per_lad.items())
    detail += f"; LSOA {vintage}, IoD {edition}; population total "
    detail += f"{result['population'].sum():,.0f}"
    if missing_pop:
        detail += f"; {missing_pop} without population"
    if vintage == 2021:
        detail += f"; {int(result['centroid_from_2011'].sum())} centroids derived from 2011"
    for why, n in exclusions.items():
        if n:
            log.warning("lsoas: excluded %d LSOA(s) %s", n, why)
    if report is not None:
        report.add("lsoas", ", ".join(codes), len(result), _nonzero(exclusions), detail)
    return result


def load_lsoa_boundaries(
    path: PathLike,
    *,
    codes: Iterable[str] | None = None,
    report: DataReport | None = None,
) -> gpd.GeoDataFrame:
    """Load LSOA boundary polygons (any vector format GDAL reads: GeoJSON, GeoPackage, ...).

    Parameters
    ----------
    path : path-like
        Boundary file with an LSOA code column, recognised among ``lsoa11cd``, ``lsoa21cd``
        (any case), ``lsoa_code`` or a header containing "lsoa" and "code".
    codes : iterable of str, optional
        Keep only these LSOA codes (for example ``load_lsoas(...).lsoa_code``); codes
        without a boundary are reported.
    report : DataReport, optional
        Receives one ``"lsoa boundaries"`` entry.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``lsoa_code`` (str), ``lsoa_name`` (str, when the file has one) and polygon
        ``geometry``, CRS EPSG:4326 (reprojected when the file is in another CRS; a file
        without a CRS is taken as EPSG:4326 when its coordinates are degrees, or EPSG:27700
        when they look like British National Grid metres).

    Raises
    ------
    MissingFileError, FileFormatError, MissingColumnError, InvalidValueError
    """
    import geopandas as gpd

    path = _check_exists(path, "LSOA boundaries")
    try:
        frame = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise FileFormatError(
            path,
            f"could not be read as a vector file ({exc}).",
            "Give a GeoJSON, GeoPackage or shapefile of LSOA boundaries.",
        ) from exc
    if frame.empty:
        raise FileFormatError(path, "has no features.", "Check the file is the LSOA boundaries.")

    code_col = _lsoa_code_column(frame.columns, path)
    name_col = next(
        (c for c in frame.columns if c.lower() in ("lsoa11nm", "lsoa21nm", "lsoa_name")), None
    )
    frame = frame.rename(columns={code_col: "lsoa_code"})
    frame["lsoa_code"] = frame["lsoa_code"].astype(str).str.strip()
    _check_unique(frame["lsoa_code"], path, code_col)
    if name_col is not None:
        frame = frame.rename(columns={name_col: "lsoa_name"})

    if frame.crs is None:
        minx, miny, maxx, maxy = frame.total_bounds
        degrees = -180 <= minx and maxx <= 180 and -90 <= miny and maxy <= 90
        log.warning("%s has no CRS; taking it as %s", path, "EPSG:4326" if degrees else "27700")
        frame = frame.set_crs("EPSG:4326" if degrees else "EPSG:27700")
    frame = frame.to_crs("EPSG:4326")

    exclusions: dict[str, int] = {}
    if codes is not None:
        wanted = {str(c) for c in codes}
        keep = frame["lsoa_code"].isin(wanted)
        exclusions["not in the study area"] = int((~keep).sum())
        frame = frame[keep]
        missing = sorted(wanted - set(frame["lsoa_code"]))
        if missing:
            log.warning(
                "%s: %d study LSOA(s) have no boundary: %s", path, len(missing), _few(missing)
            )
            exclusions["study LSOAs without a boundary (not in the file)"] = len(missing)

    non_polygon = ~frame.geom_type.isin(["Polygon", "MultiPolygon"])
    if non_polygon.any():
        raise InvalidValueError(
            path,
            f"{int(non_polygon.sum())} feature(s) are not polygons "
            f"(e.g. {frame.loc[non_polygon, 'lsoa_code'].iloc[0]}).",
            "Boundaries must be polygons; centroids go in data.lsoa.centroids.",
        )
    columns = ["lsoa_code"] + (["lsoa_name"] if "lsoa_name" in frame else []) + ["geometry"]
    result = frame[columns].sort_values("lsoa_code", ignore_index=True)
    if report is not None:
        report.add("lsoa boundaries", Path(path).name, len(result), _nonzero(exclusions))
    return result


def study_area_polygon(
    boundaries_or_lsoas: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    buffer_km: float = 0,
) -> BaseGeometry:
    """Return the study area as one (multi)polygon in EPSG:4326, optionally buffered.

    Parameters
    ----------
    boundaries_or_lsoas : geopandas.GeoDataFrame or GeoSeries
        LSOA boundary polygons (their union is the area) or LSOA centroid points (their
        convex hull is the area: it cuts the corners of the real area, so give a buffer of a
        few kilometres).
    buffer_km : float
        Distance added all round, in kilometres (computed in a local metric CRS).

    Returns
    -------
    shapely.geometry.base.BaseGeometry
        Polygon or MultiPolygon in EPSG:4326.
    """
    geoms = boundaries_or_lsoas.geometry
    if geoms.crs is None:
        raise ValueError("the geometries have no CRS; set one (EPSG:4326) first")
    geoms = geoms[~geoms.is_empty & geoms.notna()].to_crs("EPSG:4326")
    if geoms.empty:
        raise EmptyStudyAreaError("no geometries were given to build the study area from")

    polygonal = geoms.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    metric = geoms.estimate_utm_crs()
    projected = geoms.to_crs(metric)
    if polygonal:
        area = projected.union_all()
    else:
        area = projected.union_all().convex_hull
        if buffer_km <= 0:
            log.warning(
                "study area from centroids without a buffer cuts the corners of the real area;"
                " give buffer_km of a few kilometres"
            )
    if buffer_km > 0:
        area = area.buffer(buffer_km * 1000.0)
    elif area.area == 0:  # one or two centroids: a point or a line has no inside
        area = area.buffer(1.0)

    import geopandas as gpd

    return gpd.GeoSeries([area], crs=metric).to_crs("EPSG:4326").iloc[0]


# ---------------------------------------------------------------------------------------
# IMD files


def _lsoa_year(header: str) -> int | None:
    """The LSOA vintage a code column's header names ("LSOA code (2021)", "LSOA11CD")."""
    text = str(header).lower()
    for year in (2011, 2021):
        if str(year) in text or f"lsoa{year % 100}" in text.replace(" ", ""):
            return year
    return None


def _read_imd_ranks(path: PathLike) -> pd.DataFrame:
    raw = read_csv_checked(path, what="IMD ranks (File 1 or File 7)")
    cols = raw.columns
    code = find_column(cols, "lsoa & code", path=path, what="LSOA code")
    name = find_column(cols, "lsoa & name", path=path, what="LSOA name")
    lad_code = find_column(
        cols, "local authority & code", "lad & code", path=path, what="local authority code"
    )
    lad_name = find_column(
        cols, "local authority & name", "lad & name", path=path, what="local authority name"
    )
    rank = find_column(
        cols, "index of multiple deprivation & rank", "imd & rank", path=path, what="IMD rank"
    )
    decile = find_column(
        cols,
        "index of multiple deprivation & decile",
        "imd & decile",
        path=path,
        what="IMD decile",
    )
    imd = pd.DataFrame(
        {
            "lsoa_code": raw[code].astype(str).str.strip(),
            "lsoa_name": raw[name].astype(str).str.strip(),
            "lad_code": raw[lad_code].astype(str).str.strip(),
            "lad_name": raw[lad_name].astype(str).str.strip(),
            "imd_rank": to_number(raw[rank]),
            "imd_decile": to_number(raw[decile]),
        }
    )
    _check_unique(imd["lsoa_code"], path, code)
    _check_rank_decile(imd, "imd", path, rank, decile)
    imd["imd_quintile"] = ((imd["imd_decile"] + 1) // 2).astype("int64")
    imd.attrs.update(code_column=code, lsoa_year=_lsoa_year(code))
    return imd


def _read_imd_domains(path: PathLike) -> pd.DataFrame:
    raw = read_csv_checked(path, what="IMD domains (File 2 or File 7)")
    cols = raw.columns
    code = find_column(cols, "lsoa & code", path=path, what="LSOA code")
    out = pd.DataFrame({"lsoa_code": raw[code].astype(str).str.strip()})
    _check_unique(out["lsoa_code"], path, code)
    # File 2 repeats the IMD itself and sub-domain indices live in File 3: keep them out.
    exclude = ("multiple deprivation", "affecting", "idaci", "idaopi", "sub domain")
    for domain, patterns in IMD_DOMAINS.items():
        rank = find_column(
            cols, *(f"{p} & rank" for p in patterns), exclude=exclude, path=path,
            what=f"{domain} rank",
        )
        decile = find_column(
            cols, *(f"{p} & decile" for p in patterns), exclude=exclude, path=path,
            what=f"{domain} decile",
        )
        out[f"{domain}_rank"] = to_number(raw[rank])
        out[f"{domain}_decile"] = to_number(raw[decile])
        _check_rank_decile(out, domain, path, rank, decile)
    out.attrs.update(code_column=code, lsoa_year=_lsoa_year(code))
    return out


def _read_imd_population(path: PathLike) -> pd.DataFrame:
    raw = read_csv_checked(path, what="IMD population (File 6 or File 7)")
    code = find_column(raw.columns, "lsoa & code", path=path, what="LSOA code")
    total = find_column(
        raw.columns, "total population", "all ages", path=path, what="total population"
    )
    out = pd.DataFrame(
        {"lsoa_code": raw[code].astype(str).str.strip(), "population": to_number(raw[total])}
    )
    _check_unique(out["lsoa_code"], path, code)
    out.attrs.update(code_column=code, lsoa_year=_lsoa_year(code))
    return out


def _imd_edition(
    imd: pd.DataFrame,
    path: PathLike,
    requested: int | None,
    lookup: pd.DataFrame | None,
) -> int:
    """The IoD edition of the ranks file, from its header and codes, checked against config.

    Three witnesses, each of which may be silent: the study's ``imd.edition``, the year in
    the LSOA code header, and (with the lookup) codes that exist only in 2011 or only in
    2021. Any two that speak must agree; silence everywhere means IoD 2019, as before IoD
    2025 existed.
    """
    witnesses: list[tuple[int, str]] = []
    if requested is not None:
        witnesses.append((requested, f"imd.edition is {requested}"))
    header_year = imd.attrs.get("lsoa_year")
    if header_year is not None:
        witnesses.append(
            (_edition_of_year(header_year), f"its header {imd.attrs['code_column']!r}")
        )
    if lookup is not None:
        only_2011 = set(lookup["lsoa11_code"]) - set(lookup["lsoa21_code"])
        only_2021 = set(lookup["lsoa21_code"]) - set(lookup["lsoa11_code"])
        old = sorted(set(imd["lsoa_code"]) & only_2011)
        new = sorted(set(imd["lsoa_code"]) & only_2021)
        if old and new:
            raise InvalidValueError(
                path,
                f"mixes LSOA 2011 and 2021 codes: {len(old)} code(s) that exist only in 2011 "
                f"(e.g. {_few(old, 3)}) and {len(new)} that exist only in 2021 (e.g. "
                f"{_few(new, 3)}), by the LSOA 2011 -> 2021 lookup.",
                "Use one official IoD file as published: IoD 2019 (LSOA 2011) or IoD 2025 "
                "(LSOA 2021).",
            )
        if old:
            witnesses.append((2019, f"{len(old)} of its codes exist only in 2011 "
                                    f"(e.g. {_few(old, 3)})"))
        if new:
            witnesses.append((2025, f"{len(new)} of its codes exist only in 2021 "
                                    f"(e.g. {_few(new, 3)})"))

    editions = {edition for edition, _ in witnesses}
    if len(editions) > 1:
        said = "; ".join(
            f"{why} (IoD {edition}, LSOA {IMD_EDITIONS[edition]})" for edition, why in witnesses
        )
        raise InvalidValueError(
            path,
            f"the IoD edition is contradictory: {said}.",
            "Set imd.edition to the file's edition (2019 for LSOA 2011 codes, 2025 for LSOA "
            "2021 codes), or point imd.ranks at the file of the edition you mean.",
        )
    edition = editions.pop() if editions else 2019
    log.info(
        "%s: IoD %d (LSOA %d codes), from %s",
        path,
        edition,
        IMD_EDITIONS[edition],
        "; ".join(why for _, why in witnesses) or "no evidence either way (the default)",
    )
    return edition


def _edition_of_year(lsoa_year: int) -> int:
    return next(edition for edition, year in IMD_EDITIONS.items() if year == lsoa_year)


def _check_same_edition(frame: pd.DataFrame, path: PathLike, edition: int) -> None:
    """Raise when a domains or population file's header names the other LSOA vintage."""
    year = frame.attrs.get("lsoa_year")
    if year is not None and year != IMD_EDITIONS[edition]:
        raise InvalidValueError(
            path,
            f"has LSOA {year} codes (header {frame.attrs['code_column']!r}), but the IMD ranks "
            f"are IoD {edition} with LSOA {IMD_EDITIONS[edition]} codes.",
            "Give the domain and population files of the same IoD edition as imd.ranks.",
        )


def _check_rank_decile(
    frame: pd.DataFrame, prefix: str, path: PathLike, rank_col: str, decile_col: str
) -> None:
    for suffix, col, low, high in (("rank", rank_col, 1, None), ("decile", decile_col, 1, 10)):
        values = frame[f"{prefix}_{suffix}"]
        bad = values.isna() | (values < low) | ((values > high) if high else False)
        bad |= values.notna() & (values != values.round())
        if bad.any():
            rows = [int(i) + 2 for i in np.flatnonzero(bad.to_numpy())[:5]]  # header is line 1
            raise InvalidValueError(
                path,
                f"column {col!r} has {int(bad.sum())} missing or invalid value(s) "
                f"(at lines {rows}; examples {list(frame.loc[bad, prefix + '_' + suffix][:3])}).",
                f"{suffix.title()}s must be whole numbers"
                + (" from 1 to 10." if high else " of 1 or more."),
            )
        frame[f"{prefix}_{suffix}"] = values.astype("int64")


# ---------------------------------------------------------------------------------------
# Study area selection


def _select_las(
    frame: pd.DataFrame, codes: Sequence[str], code_col: str, name_col: str, source: PathLike
) -> pd.DataFrame:
    """Rows whose local-authority code is in ``codes``; raise naming codes that select none."""
    present = set(frame[code_col])
    unknown = [c for c in codes if c not in present]
    if unknown:
        names = frame.drop_duplicates(code_col).set_index(code_col)[name_col]
        hints = []
        for code in unknown:
            close = difflib.get_close_matches(code, sorted(present), n=3, cutoff=0.75)
            by_name = [c for c, n in names.items() if code.lower() in str(n).lower()]
            matches = list(dict.fromkeys(close + by_name))[:5]
            shown = ", ".join(f"{c} ({names[c]})" for c in matches) or "none"
            hints.append(f"{code!r}: close matches {shown}")
        raise EmptyStudyAreaError(
            f"local-authority code(s) {unknown} select no LSOA in {source}; "
            + "; ".join(hints)
            + ". Check area.local_authorities (codes of the IMD's LAD 2019 column for LSOA "
            "2011, of the lookup's LTLA 2022 column for LSOA 2021)."
        )
    return frame[frame[code_col].isin(codes)].copy()


def _study_lsoas_2011(
    imd: pd.DataFrame,
    codes: Sequence[str],
    imd_ranks: PathLike,
    imd_pop: pd.DataFrame | None,
) -> tuple[pd.DataFrame, dict[str, int]]:
    lsoas = _select_las(imd, codes, "lad_code", "lad_name", imd_ranks)
    exclusions: dict[str, int] = {}
    if imd_pop is not None:
        lsoas = lsoas.merge(imd_pop, on="lsoa_code", how="left")
    else:
        log.warning("no IMD population file (File 6): LSOA population is unknown")
        lsoas["population"] = np.nan
    return lsoas, exclusions


def _imd_columns(imd: pd.DataFrame) -> list[str]:
    return [c for c in imd.columns if c.endswith(("_rank", "_decile", "_quintile"))]


def _whole_numbers(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Ranks and deciles back to int64 after a left join made them float (when none is NaN)."""
    frame = frame.copy()
    for col in columns:
        if frame[col].notna().all():
            frame[col] = frame[col].astype("int64")
    return frame


def _study_lsoas_2021(
    imd: pd.DataFrame,
    codes: Sequence[str],
    lookup: pd.DataFrame,
    lookup_path: PathLike,
    census_population: PathLike | None,
    imd_pop: pd.DataFrame | None,
    centroids: PathLike,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """IoD 2019 (LSOA 2011) carried to LSOA 2021 through the lookup."""
    lookup = _select_las(lookup, codes, "lad_code", "lad_name", lookup_path)
    exclusions: dict[str, int] = {}

    imd_cols = _imd_columns(imd)
    parents = lookup.merge(
        imd[["lsoa_code", *imd_cols]].rename(columns={"lsoa_code": "lsoa11_code"}),
        on="lsoa11_code",
        how="left",
    )
    no_imd = parents["imd_rank"].isna()
    if no_imd.any():
        log.warning(
            "%s: %d LSOA 2011 code(s) of the lookup are not in the IMD file: %s",
            lookup_path,
            int(no_imd.sum()),
            _few(parents.loc[no_imd, "lsoa11_code"]),
        )
    # Most-deprived rule: sorting by rank puts each 2021 LSOA's most deprived parent first.
    ranked = _whole_numbers(parents[~no_imd], imd_cols)
    ranked = ranked.sort_values(["lsoa21_code", "imd_rank"], kind="stable")
    chosen = ranked.drop_duplicates("lsoa21_code")
    lsoas = chosen.rename(columns={"lsoa21_code": "lsoa_code", "lsoa21_name": "lsoa_name"})
    lsoas = lsoas.rename(columns={"lsoa11_code": "imd_lsoa11_code"})
    lsoas["lsoa_change"] = lsoas["lsoa_code"].map(
        lookup.groupby("lsoa21_code")["change_code"].first()
    )
    exclusions["without IMD 2019 for any 2011 parent"] = int(
        lookup["lsoa21_code"].nunique() - len(lsoas)
    )

    lsoas = _attach_population_2021(lsoas, census_population, None)
    lsoas, lost = _attach_centroids_2021(lsoas, lookup, centroids, imd_pop)
    exclusions["without a centroid"] = lost
    return lsoas[_columns_2021(imd_cols)], exclusions


def _study_lsoas_2021_direct(
    imd: pd.DataFrame,
    codes: Sequence[str],
    imd_ranks: PathLike,
    lookup: pd.DataFrame | None,
    lookup_path: PathLike | None,
    census_population: PathLike | None,
    imd_pop: pd.DataFrame | None,
    centroids: PathLike,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """IoD 2025: LSOA 2021 codes joined as they are, with no lookup between vintages."""
    exclusions: dict[str, int] = {}
    imd_cols = _imd_columns(imd)
    if lookup is None:
        lsoas = _select_las(imd, codes, "lad_code", "lad_name", imd_ranks)
        lsoas["lsoa_change"] = pd.NA
    else:
        # The lookup lists every LSOA 2021 of the study's districts, so it shows which of
        # them the IMD file lacks; lookup codes are only ever matched as 2021 codes here.
        study = _select_las(lookup, codes, "lad_code", "lad_name", lookup_path)
        areas = (
            study.groupby("lsoa21_code", sort=True)
            .agg(
                lsoa_name=("lsoa21_name", "first"),
                lad_code=("lad_code", "first"),
                lad_name=("lad_name", "first"),
                lsoa_change=("change_code", "first"),
            )
            .rename_axis("lsoa_code")
            .reset_index()
        )
        lsoas = areas.merge(imd[["lsoa_code", *imd_cols]], on="lsoa_code", how="left")
        no_imd = lsoas["imd_rank"].isna()
        if no_imd.any():
            log.warning(
                "%s: %d LSOA 2021 code(s) of the study area (from %s) have no IoD 2025 value "
                "and are left out: %s",
                imd_ranks,
                int(no_imd.sum()),
                lookup_path,
                _few(lsoas.loc[no_imd, "lsoa_code"]),
            )
        exclusions["without an IoD 2025 value (not in the IMD file)"] = int(no_imd.sum())
        lsoas = _whole_numbers(lsoas[~no_imd], imd_cols)

        in_las = imd[imd["lad_code"].isin(codes)]
        unlisted = in_las[~in_las["lsoa_code"].isin(areas["lsoa_code"])]
        if len(unlisted):
            log.warning(
                "%s: %d LSOA(s) of the study's districts are not in the lookup %s and are "
                "left out: %s",
                imd_ranks,
                len(unlisted),
                lookup_path,
                _few(unlisted["lsoa_code"]),
            )
        exclusions["in the IMD file but not in the lookup"] = len(unlisted)
    lsoas["imd_lsoa11_code"] = pd.NA  # the LSOA's own IoD 2025 values: no 2011 parent

    lsoas = _attach_population_2021(lsoas, census_population, imd_pop)
    # IoD 2025 populations are by LSOA 2021, so they cannot weight 2011 centroids.
    lsoas, lost = _attach_centroids_2021(lsoas, lookup, centroids, None)
    exclusions["without a centroid"] = lost
    return lsoas[_columns_2021(imd_cols)], exclusions


def _attach_population_2021(
    lsoas: pd.DataFrame, census_population: PathLike | None, imd_pop: pd.DataFrame | None
) -> pd.DataFrame:
    """Census 2021 population, else an IoD 2025 population (both by LSOA 2021), else NaN."""
    if census_population is not None:
        return lsoas.merge(_read_census_population(census_population), on="lsoa_code",
                           how="left")
    if imd_pop is not None:
        log.warning("no Census 2021 population file: using the IoD 2025 population (mid-2022)")
        return lsoas.merge(imd_pop, on="lsoa_code", how="left")
    log.warning("no Census 2021 population file: LSOA 2021 population is unknown")
    return lsoas.assign(population=np.nan)


def _columns_2021(imd_cols: list[str]) -> list[str]:
    return [
        "lsoa_code", "lsoa_name", "lad_code", "lad_name", "population", *imd_cols,
        "lsoa_change", "imd_lsoa11_code", "centroid_from_2011", "lon", "lat",
    ]


def _read_lookup(path: PathLike) -> pd.DataFrame:
    raw = read_csv_checked(path, what="LSOA 2011 -> 2021 lookup")
    cols = raw.columns
    c11 = find_column(
        cols, "lsoa11 & cd", "lsoa11 & code", "lsoa & 2011 & code", path=path,
        what="LSOA 2011 code",
    )
    c21 = find_column(
        cols, "lsoa21 & cd", "lsoa21 & code", "lsoa & 2021 & code", path=path,
        what="LSOA 2021 code",
    )
    n21 = find_column(
        cols, "lsoa21 & nm", "lsoa21 & name", "lsoa & 2021 & name", path=path,
        what="LSOA 2021 name",
    )
    change = find_column(cols, "chgind", "change", path=path, what="change code (U/S/M/X)")
    lad = find_column(
        cols, "ltla22 & c", "lad22 & c", "ltla & code", "lad & code", "lad2", path=path,
        what="local authority (LTLA 2022) code",
    )
    lad_name = find_column(
        cols, "ltla22 & n", "lad22 & n", "ltla & name", "lad & name", path=path,
        what="local authority (LTLA 2022) name",
    )
    out = pd.DataFrame(
        {
            "lsoa11_code": raw[c11].astype(str).str.strip(),
            "lsoa21_code": raw[c21].astype(str).str.strip(),
            "lsoa21_name": raw[n21].astype(str).str.strip(),
            "change_code": raw[change].astype(str).str.strip().str.upper(),
            "lad_code": raw[lad].astype(str).str.strip(),
            "lad_name": raw[lad_name].astype(str).str.strip(),
        }
    )
    dup = out.duplicated(["lsoa11_code", "lsoa21_code"], keep=False)
    if dup.any():
        raise InvalidValueError(
            path,
            f"the pair ({c11}, {c21}) repeats on {int(dup.sum())} rows "
            f"(e.g. {_few(out.loc[dup, 'lsoa11_code'])}).",
            "Each 2011 -> 2021 pair must appear once; use the official ONS lookup.",
        )
    return out


def _read_census_population(path: PathLike) -> pd.DataFrame:
    raw = read_csv_checked(path, what="Census 2021 population")
    cols = raw.columns
    code = find_column(
        cols, "lsoa21 & cd", "lsoa21 & code", "lsoa & 2021 & code", "geography code",
        path=path, what="LSOA 2021 code",
    )
    total = find_column(
        cols, "total", "all usual residents", "observation", path=path, what="total population"
    )
    out = pd.DataFrame(
        {"lsoa_code": raw[code].astype(str).str.strip(), "population": to_number(raw[total])}
    )
    _check_unique(out["lsoa_code"], path, code)
    return out


# ---------------------------------------------------------------------------------------
# Centroids


def _read_centroids(path: PathLike) -> tuple[pd.DataFrame, str]:
    """Return (lsoa_code, lon, lat) and the code vintage ("2011" or "2021") of the file."""
    raw = read_csv_checked(path, what="LSOA population-weighted centroids")
    lower = {c.lower().replace("\ufeff", "").strip(): c for c in raw.columns}
    code_col = _lsoa_code_column(raw.columns, path)
    kind = "2021" if "21" in code_col.lower() or "2021" in code_col else "2011"

    lon_col = next((lower[n] for n in _LON_NAMES if n in lower), None)
    lat_col = next((lower[n] for n in _LAT_NAMES if n in lower), None)
    if lon_col is None or lat_col is None:
        raise MissingColumnError(
            path,
            f"no longitude/latitude columns (looked for {_LON_NAMES} and {_LAT_NAMES}; "
            f"found {list(raw.columns)[:12]}).",
            "Use the ONS population-weighted centroids CSV with X/Y or LONG/LAT columns.",
        )
    # Newer ONS files give X/Y in British National Grid and LONG/LAT beside them.
    if lon_col.lower() == "x" and "long" in lower and "lat" in lower:
        lon_col, lat_col = lower["long"], lower["lat"]
    out = pd.DataFrame(
        {
            "lsoa_code": raw[code_col].astype(str).str.strip(),
            "lon": to_number(raw[lon_col]),
            "lat": to_number(raw[lat_col]),
        }
    )
    _check_unique(out["lsoa_code"], path, code_col)
    projected = out["lon"].abs().gt(180).mean() > 0.5
    if projected:  # X/Y in metres: British National Grid is the only grid ONS uses here
        from pyproj import Transformer

        to_wgs84 = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
        out["lon"], out["lat"] = to_wgs84.transform(out["lon"].to_numpy(), out["lat"].to_numpy())
    return out, kind


def _check_centroids_in_gb(frame: pd.DataFrame, path: PathLike) -> None:
    """Raise when the study's centroids are not lon/lat degrees in Great Britain."""
    lon, lat = frame["lon"], frame["lat"]
    inside = lon.between(*_GB_LON) & lat.between(*_GB_LAT)
    if inside.all():
        return
    swapped = lat.between(*_GB_LON) & lon.between(*_GB_LAT)
    cause = (
        "the X (longitude) and Y (latitude) columns appear swapped"
        if swapped[~inside].mean() > 0.5
        else "the coordinates are not longitude/latitude degrees (wrong CRS?)"
    )
    first = frame.loc[~inside].iloc[0]
    raise OutsideStudyAreaError(
        path,
        f"{int((~inside).sum())} of {len(frame)} study-area centroids fall outside Great Britain "
        f"(e.g. {first['lsoa_code']} at x={first['lon']:.4f}, y={first['lat']:.4f}): {cause}.",
        "Use the ONS population-weighted centroids file as published.",
    )


def _attach_centroids(
    lsoas: pd.DataFrame, centroids: PathLike, *, code_kind: str
) -> tuple[pd.DataFrame, int]:
    points, kind = _read_centroids(centroids)
    if kind != code_kind:
        raise FileFormatError(
            centroids,
            f"has LSOA {kind} codes but the study uses LSOA {code_kind} codes.",
            f"Use the ONS LSOA {code_kind} population-weighted centroids.",
        )
    merged = lsoas.merge(points, on="lsoa_code", how="left")
    missing = merged["lon"].isna() | merged["lat"].isna()
    if missing.any():
        log.warning(
            "%s: no centroid for %d study LSOA(s): %s",
            centroids,
            int(missing.sum()),
            _few(merged.loc[missing, "lsoa_code"]),
        )
    merged = merged[~missing]
    _check_centroids_in_gb(merged, centroids)
    return merged, int(missing.sum())


def _attach_centroids_2021(
    lsoas: pd.DataFrame,
    lookup: pd.DataFrame | None,
    centroids: PathLike,
    imd_pop: pd.DataFrame | None,
) -> tuple[pd.DataFrame, int]:
    points, kind = _read_centroids(centroids)
    if kind == "2021":
        merged, lost = _attach_centroids(lsoas, centroids, code_kind="2021")
        merged["centroid_from_2011"] = False
        return merged, lost
    if lookup is None:
        raise FileFormatError(
            centroids,
            "has LSOA 2011 codes, but the study uses LSOA 2021 codes and no LSOA 2011 -> 2021 "
            "lookup is configured to derive 2021 centroids from them.",
            "Use the ONS LSOA 2021 population-weighted centroids (source lsoa21_centroids), "
            "or set data.lsoa.lookup_2011_2021.",
        )

    # Derive LSOA 2021 centroids from 2011 ones (see load_lsoas Notes).
    parts = lookup.merge(
        points.rename(columns={"lsoa_code": "lsoa11_code"}), on="lsoa11_code", how="inner"
    )
    if imd_pop is not None:
        pop = imd_pop.rename(columns={"lsoa_code": "lsoa11_code"})
        parts = parts.merge(pop, on="lsoa11_code", how="left")
        weight = parts["population"].fillna(1.0)
    else:
        weight = pd.Series(1.0, index=parts.index)
    parts = parts.assign(w=weight, wlon=parts["lon"] * weight, wlat=parts["lat"] * weight)
    sums = parts.groupby("lsoa21_code")[["w", "wlon", "wlat"]].sum()
    derived = pd.DataFrame(
        {"lon": sums["wlon"] / sums["w"], "lat": sums["wlat"] / sums["w"]}
    ).rename_axis("lsoa_code")
    merged = lsoas.merge(derived.reset_index(), on="lsoa_code", how="left")
    merged["centroid_from_2011"] = merged["lsoa_change"].ne("U")
    missing = merged["lon"].isna()
    if missing.any():
        log.warning(
            "%s: no 2011 centroid to derive %d LSOA 2021 centroid(s) from: %s",
            centroids,
            int(missing.sum()),
            _few(merged.loc[missing, "lsoa_code"]),
        )
    merged = merged[~missing]
    _check_centroids_in_gb(merged, centroids)
    n_derived = int(merged["centroid_from_2011"].sum())
    if n_derived:
        log.warning(
            "%d LSOA 2021 centroids derived from LSOA 2011 centroids (split parts share their "
            "parent's point); use the ONS LSOA 2021 population-weighted centroids to avoid this",
            n_derived,
        )
    return merged, int(missing.sum())


# ---------------------------------------------------------------------------------------
# Shared CSV helpers (used by the schools, GP and jobs loaders too)


def _check_exists(path: PathLike, what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise MissingFileError(
            path, f"{what} file not found.", "Check the path in the study file (data section)."
        )
    return path


def sniff_text_file(path: PathLike, what: str) -> None:
    """Raise :class:`FileFormatError` when a file is clearly not a (possibly gzipped) CSV.

    Parameters
    ----------
    path : path-like
        An existing file.
    what : str
        What the file should hold, named in the error.
    """
    path = Path(path)
    if path.is_dir():
        raise FileFormatError(path, f"is a folder, but {what} must be a CSV file.")
    with open(path, "rb") as handle:
        head = handle.read(4096)
    if head[:2] == b"\x1f\x8b":
        with gzip.open(path, "rb") as handle:
            try:
                head = handle.read(4096)
            except OSError as exc:
                raise FileFormatError(path, f"is a damaged gzip file ({exc}).") from exc
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    kind = None
    if stripped[:2] == b"PK":
        kind = "a ZIP archive (or an Excel .xlsx workbook)"
    elif stripped[:4] == b"\xd0\xcf\x11\xe0":
        kind = "an old Excel .xls workbook"
    elif stripped[:15] == b"SQLite format 3":
        kind = "a SQLite/GeoPackage database"
    elif stripped[:1] in (b"{", b"["):
        kind = "JSON (perhaps GeoJSON)"
    elif stripped[:1] == b"<":
        kind = "XML or HTML"
    elif b"\x00" in head:
        kind = "a binary file"
    if kind:
        raise FileFormatError(
            path,
            f"looks like {kind}, but {what} must be a CSV text file.",
            "Check that the study file points at the right file (unzip or export it to CSV).",
        )
    if not stripped:
        raise FileFormatError(path, f"is empty; expected {what} as CSV.")


def read_csv_checked(
    path: PathLike,
    *,
    what: str,
    encoding: str = "utf-8-sig",
    **kwargs: Any,
) -> pd.DataFrame:
    """Read a CSV (gzip allowed) as strings, turning every failure into a clear error.

    Parameters
    ----------
    path : path-like
        The file.
    what : str
        What the file holds, for messages ("GIAS schools").
    encoding : str
        Text encoding ("cp1252" for GIAS).
    **kwargs
        Passed to :func:`pandas.read_csv` (``dtype=str`` and ``keep_default_na=False`` are
        the defaults here, so codes keep their leading zeros).

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    MissingFileError, FileFormatError
    """
    path = _check_exists(path, what)
    sniff_text_file(path, what)
    kwargs.setdefault("dtype", str)
    kwargs.setdefault("keep_default_na", False)
    try:
        frame = pd.read_csv(path, encoding=encoding, low_memory=False, **kwargs)
    except UnicodeDecodeError as exc:
        raise FileFormatError(
            path,
            f"is not valid {encoding} text ({exc.reason} at byte {exc.start}).",
            f"Save {what} with its original encoding.",
        ) from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise FileFormatError(path, f"could not be read as CSV ({exc}).") from exc
    if frame.empty:
        raise FileFormatError(path, f"has a header but no rows; expected {what}.")
    if kwargs.get("header", "infer") is not None:
        frame.columns = [str(c).replace("\ufeff", "").strip() for c in frame.columns]
    return frame


def _lsoa_code_column(columns: Iterable[str], path: PathLike) -> str:
    columns = list(columns)
    lower = {str(c).lower().replace("\ufeff", "").strip(): c for c in columns}
    for name in (*_LSOA11_CODE_NAMES, *_LSOA21_CODE_NAMES, "lsoa_code", "lsoacd"):
        if name in lower:
            return lower[name]
    found = find_column(
        columns, "lsoa & code", "lsoa & cd", path=path, what="LSOA code", required=False
    )
    if found is None:
        raise MissingColumnError(
            path,
            f"no LSOA code column (looked for lsoa11cd, lsoa21cd, lsoa_code or a header with "
            f"'LSOA' and 'code'; found {[str(c) for c in columns][:12]}).",
            "Check that this is an LSOA file and that its header row is intact.",
        )
    return found


def _check_unique(codes: pd.Series, path: PathLike, column: str) -> None:
    dup = codes.duplicated(keep=False)
    if dup.any():
        lines = [int(i) + 2 for i in np.flatnonzero(dup.to_numpy())[:6]]
        raise InvalidValueError(
            path,
            f"column {column!r} repeats {codes[dup].nunique()} code(s), e.g. "
            f"{_few(codes[dup].unique())} (at lines {lines}).",
            "Each code must appear once; remove the duplicate rows or fix the codes.",
        )


def _nonzero(counts: dict[str, int]) -> dict[str, int]:
    """Keep the reasons that excluded something (the report shows no zero counts)."""
    return {why: int(n) for why, n in counts.items() if n}


def _few(values: Iterable[Any], n: int = 5) -> str:
    values = [str(v) for v in values]
    shown = ", ".join(values[:n])
    return shown + (f" and {len(values) - n} more" if len(values) > n else "")

