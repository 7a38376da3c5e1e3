"""Schools and colleges from DfE Get Information About Schools (GIAS ``edubasealldata*.csv``).

Every establishment gets one ``category``, decided first by its type
(``TypeOfEstablishment (name)``) and then by its phase (``PhaseOfEducation (name)``):

===================== ==================================================================
category              rule
===================== ==================================================================
further-education     type "Further education" (general FE, land-based and sixth-form
                      colleges registered as FE corporations)
post-16               phase "16 plus" (academy/free school 16-19, sixth form centres...)
                      or type "Sixth form centres"
special               any special school type (community/foundation/academy/free/
                      non-maintained/independent special) and "Special post 16
                      institution" (SEND provision; not a general post-16 destination)
alternative-provision pupil referral units and alternative provision academies/free schools
independent           "Other independent school": phase is "Not applicable" in GIAS, so
                      the age range is unknown; kept apart from state schools
nursery               phase "Nursery"
primary               phase "Primary" or "Middle deemed primary"
secondary             phase "Secondary" or "Middle deemed secondary"
all-through           phase "All-through"
other                 establishments that are not a school site pupils travel to: online
                      providers, British schools overseas, offshore schools, higher
                      education institutions, secure units, service children's education,
                      miscellaneous; and Welsh establishments (GIAS gives them no phase)
===================== ==================================================================

GIAS lists each FE college once, at its head office, so a college's other campuses are not
destinations (a known limitation).

School sixth forms: ``sixth_form`` is True for post-16 and further-education establishments,
and for a school whose ``OfficialSixthForm (name)`` is "Has a sixth form" (or, without that
column, whose ``StatutoryHighAge`` is 18 or more); False otherwise; missing (``<NA>``) for
primary, secondary and all-through schools when the file has neither column (as in
extracts that keep only a few columns). A destination set with ``include_sixth_forms`` adds
them to its categories.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from transport_access._log import get_logger
from transport_access.errors import OutsideStudyAreaError
from transport_access.load._columns import find_column, to_number
from transport_access.load.lsoa import _nonzero, read_csv_checked
from transport_access.report import DataReport

if TYPE_CHECKING:
    import geopandas as gpd
    from shapely.geometry.base import BaseGeometry

log = get_logger(__name__)

SCHOOL_CATEGORIES = (
    "primary",
    "secondary",
    "all-through",
    "special",
    "post-16",
    "further-education",
    "alternative-provision",
    "nursery",
    "independent",
    "other",
)

_OTHER_TYPES = (
    "online provider",
    "british schools overseas",
    "offshore schools",
    "higher education institutions",
    "secure units",
    "service children's education",
    "miscellaneous",
    "welsh establishment",
)
_PHASE_CATEGORY = {
    "primary": "primary",
    "middle deemed primary": "primary",
    "secondary": "secondary",
    "middle deemed secondary": "secondary",
    "all-through": "all-through",
    "all through": "all-through",
    "16 plus": "post-16",
    "nursery": "nursery",
}

# British National Grid extent (metres) with a margin: anything outside is not a GB location.
_BNG_E = (0.0, 700_000.0)
_BNG_N = (0.0, 1_300_000.0)


def classify_establishment(establishment_type: str, phase: str) -> str:
    """Return the category of one GIAS establishment (see the module docstring for the rules).

    Parameters
    ----------
    establishment_type : str
        ``TypeOfEstablishment (name)``, for example "Academy converter".
    phase : str
        ``PhaseOfEducation (name)``, for example "Secondary".

    Returns
    -------
    str
        One of :data:`SCHOOL_CATEGORIES`.
    """
    kind = str(establishment_type).strip().lower()
    phase = str(phase).strip().lower()
    if kind in _OTHER_TYPES:
        return "other"
    if kind == "further education":
        return "further-education"
    if "special" in kind:
        return "special"
    if "pupil referral" in kind or "alternative provision" in kind:
        return "alternative-provision"
    if kind == "sixth form centres" or phase == "16 plus":
        return "post-16"
    if kind == "other independent school":
        return "independent"
    if phase in _PHASE_CATEGORY:
        return _PHASE_CATEGORY[phase]
    return "other"


def load_schools(
    path: str | os.PathLike[str],
    *,
    area: BaseGeometry | None = None,
    buffer_km: float = 10.0,
    report: DataReport | None = None,
) -> gpd.GeoDataFrame:
    """Load open schools and colleges from a GIAS edubase CSV, classified and located.

    Parameters
    ----------
    path : path-like
        GIAS ``edubasealldata*.csv`` (cp1252; gzip allowed) with at least URN, name, type,
        phase, status, Easting and Northing (EPSG:27700, metres).
    area : shapely geometry, optional
        Study area in EPSG:4326 (see :func:`transport_access.load.lsoa.study_area_polygon`).
        When None, every located establishment in England and Wales is returned.
    buffer_km : float
        Establishments up to this distance outside ``area`` are kept, in kilometres, because
        people cross local-authority boundaries for school and college.
    report : DataReport, optional
        Receives one ``"schools"`` entry; its detail is the count per category.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per establishment, CRS EPSG:4326, point geometry, sorted by ``urn``. Columns:
        ``urn`` (str), ``name`` (str), ``category`` (str, one of :data:`SCHOOL_CATEGORIES`),
        ``establishment_type`` (str), ``phase`` (str), ``pupils`` (float, number on roll;
        NaN when GIAS has none), ``la_name`` (str), ``lsoa_code`` (str, LSOA 2011 as given
        by GIAS; empty when absent), ``sixth_form`` (nullable boolean; module docstring).

    Raises
    ------
    MissingFileError, FileFormatError, MissingColumnError
        The file is absent, not a CSV, or lacks a required column.
    OutsideStudyAreaError
        No establishment falls in the area (Easting/Northing swapped, given as longitude/
        latitude, or the wrong file/area).

    Notes
    -----
    Statuses "Open" and "Open, but proposed to close" are kept (both are running today);
    others ("Closed", "Proposed to open") are excluded and reported. Rows without a usable
    Easting/Northing (blank, zero, or outside the British National Grid) are excluded and
    reported: in GIAS these are mostly British schools overseas and online providers.
    """
    import geopandas as gpd

    raw = read_csv_checked(path, what="GIAS schools (edubase CSV)", encoding="cp1252")
    cols = raw.columns
    urn = find_column(cols, "urn", path=path, what="URN")
    name = find_column(cols, "establishmentname", "establishment & name", path=path,
                       what="EstablishmentName")
    kind = find_column(cols, "typeofestablishment & name", "type of establishment",
                       "typeofestablishment", path=path, what="TypeOfEstablishment (name)")
    phase = find_column(cols, "phaseofeducation & name", "phase of education",
                        "phaseofeducation", path=path, what="PhaseOfEducation (name)")
    status = find_column(cols, "establishmentstatus & name", "establishment status",
                         "establishmentstatus", path=path, what="EstablishmentStatus (name)")
    easting = find_column(cols, "easting", path=path, what="Easting")
    northing = find_column(cols, "northing", path=path, what="Northing")
    pupils = find_column(cols, "numberofpupils", "number of pupils", path=path,
                         what="NumberOfPupils", required=False)
    la_name = find_column(cols, "la & name", "local authority & name", path=path,
                          what="LA (name)", required=False)
    lsoa = find_column(cols, "lsoa & code", "lsoa", path=path, what="LSOA (code)",
                       required=False)
    sixth = find_column(cols, "officialsixthform & name", "official sixth form", path=path,
                        what="OfficialSixthForm (name)", required=False)
    high_age = find_column(cols, "statutoryhighage", "statutory high age", path=path,
                           what="StatutoryHighAge", required=False)

    schools = pd.DataFrame(
        {
            "urn": raw[urn].astype(str).str.strip(),
            "name": raw[name].astype(str).str.strip(),
            "establishment_type": raw[kind].astype(str).str.strip(),
            "phase": raw[phase].astype(str).str.strip(),
            "status": raw[status].astype(str).str.strip(),
            "pupils": to_number(raw[pupils]) if pupils else np.nan,
            "la_name": raw[la_name].astype(str).str.strip() if la_name else "",
            "lsoa_code": raw[lsoa].astype(str).str.strip() if lsoa else "",
            "easting": to_number(raw[easting]),
            "northing": to_number(raw[northing]),
            "official_sixth_form": (raw[sixth].astype(str).str.strip().str.lower() if sixth
                                    else ""),
            "high_age": to_number(raw[high_age]) if high_age else np.nan,
        }
    )
    exclusions: dict[str, int] = {}
    dataset_area = "England and Wales" if area is None else f"study area + {buffer_km:g} km"

    is_open = schools["status"].str.lower().str.startswith("open")
    if (~is_open).any():
        counts = schools.loc[~is_open, "status"].value_counts()
        for status_name, n in counts.items():
            exclusions[f"status {status_name}"] = int(n)
    schools = schools[is_open]

    _check_not_lon_lat(schools, path)
    located = (
        schools["easting"].between(*_BNG_E, inclusive="neither")
        & schools["northing"].between(*_BNG_N, inclusive="neither")
    )
    exclusions["without coordinates"] = int((~located).sum())
    if (~located).any():
        log.warning(
            "%s: %d open establishment(s) have no usable Easting/Northing and are left out "
            "(types: %s)",
            path,
            int((~located).sum()),
            schools.loc[~located, "establishment_type"].value_counts().head(4).to_dict(),
        )
    schools = schools[located]

    schools["category"] = [
        classify_establishment(t, p)
        for t, p in zip(schools["establishment_type"], schools["phase"], strict=True)
    ]

    points = gpd.GeoSeries(
        gpd.points_from_xy(schools["easting"], schools["northing"]),
        index=schools.index,
        crs="EPSG:27700",
    )
    if area is not None:
        zone = gpd.GeoSeries([area], crs="EPSG:4326").to_crs("EPSG:27700").iloc[0]
        if buffer_km > 0:
            zone = zone.buffer(buffer_km * 1000.0)
        inside = points.within(zone)
        if not inside.any():
            _raise_nothing_in_area(schools, zone, path)
        exclusions[f"outside the study area + {buffer_km:g} km"] = int((~inside).sum())
        schools, points = schools[inside], points[inside]

    schools["sixth_form"] = _sixth_forms(schools, official=sixth is not None,
                                         high_age=high_age is not None)
    missing_pupils = int(schools["pupils"].isna().sum())
    columns = ["urn", "name", "category", "establishment_type", "phase", "pupils", "la_name",
               "lsoa_code", "sixth_form"]
    result = gpd.GeoDataFrame(schools[columns], geometry=points.to_crs("EPSG:4326"))
    result = result.sort_values("urn", ignore_index=True)

    counts = result["category"].value_counts()
    colleges = sorted(result.loc[result["category"] == "further-education", "name"])
    named = {"further-education": f" ({', '.join(colleges)})"} if len(colleges) <= 10 else {}
    # Few colleges are named, so that a reader can check them.
    detail = ", ".join(f"{c} {int(counts[c])}{named.get(c, '')}" for c in SCHOOL_CATEGORIES
                       if c in counts)
    if missing_pupils:
        detail += f"; {missing_pupils} without a pupil count (kept, pupils NaN)"
    schools_11_18 = result["category"].isin(_SIXTH_FORM_PHASES)
    if result.loc[schools_11_18, "sixth_form"].isna().any():
        detail += ("; school sixth forms unknown (no OfficialSixthForm or StatutoryHighAge "
                   "column)")
    else:
        detail += (f"; {int(result.loc[schools_11_18, 'sixth_form'].sum())} schools with a "
                   "sixth form")
    if report is not None:
        report.add("schools", dataset_area, len(result), _nonzero(exclusions), detail)
    return result


#: Categories whose schools may or may not have a sixth form.
_SIXTH_FORM_PHASES = ("primary", "secondary", "all-through")


def _sixth_forms(schools: pd.DataFrame, *, official: bool, high_age: bool) -> pd.Series:
    """Nullable boolean: does the establishment teach 16-18 year olds (module docstring)."""
    flags = pd.Series(pd.NA, index=schools.index, dtype="boolean")
    flags[~schools["category"].isin(_SIXTH_FORM_PHASES)] = False
    flags[schools["category"].isin(["post-16", "further-education"])] = True
    if official:
        has = schools["official_sixth_form"] == "has a sixth form"
    elif high_age:
        has = schools["high_age"] >= 18
    else:
        return flags
    maybe = schools["category"].isin(_SIXTH_FORM_PHASES)
    flags[maybe] = has[maybe].to_numpy(bool)
    return flags


def _check_not_lon_lat(schools: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Raise when Easting/Northing hold degrees: every value would be within +-180."""
    e, n = schools["easting"], schools["northing"]
    given = e.notna() & n.notna() & ((e != 0) | (n != 0))
    if given.sum() and (e[given].abs() <= 180).all() and (n[given].abs() <= 180).all():
        raise OutsideStudyAreaError(
            path,
            "Easting/Northing hold values within +-180, which look like longitude/latitude "
            "degrees, not British National Grid metres (EPSG:27700).",
            "Use the GIAS file as downloaded (Easting and Northing in metres).",
        )


def _raise_nothing_in_area(
    schools: pd.DataFrame, zone: BaseGeometry, path: str | os.PathLike[str]
) -> None:
    import geopandas as gpd

    swapped = gpd.GeoSeries(
        gpd.points_from_xy(schools["northing"], schools["easting"]), crs="EPSG:27700"
    )
    if swapped.within(zone).any():
        cause = "the Easting and Northing columns appear swapped"
    else:
        cause = (
            "the file covers another region, the coordinates are in another CRS, or the "
            "study area is wrong"
        )
    raise OutsideStudyAreaError(
        path,
        f"none of the {len(schools):,} located establishments falls within the study area "
        f"(+ buffer): {cause}.",
        "Check the GIAS file and area.local_authorities.",
    )
