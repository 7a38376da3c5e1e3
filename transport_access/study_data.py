"""Load every dataset a study file names, checked, with one data report.

:func:`load_study_data` is what ``transport-access data-report`` and ``make demo`` call, and
what a notebook calls to get the study's tables::

    from transport_access.config import load_study
    from transport_access.study_data import load_study_data

    data = load_study_data(load_study("configs/dorset.yaml", data_root="../shared/data"))
    data.lsoas.head()
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from transport_access._log import get_logger
from transport_access.config import Study
from transport_access.report import DataReport

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry.base import BaseGeometry

log = get_logger(__name__)


@dataclass
class StudyData:
    """The loaded, checked tables of a study.

    Attributes
    ----------
    study : Study
        The study file they were loaded for.
    lsoas : geopandas.GeoDataFrame
        Neighbourhoods with population, IMD and centroid (EPSG:4326); see
        :func:`transport_access.load.lsoa.load_lsoas`.
    boundaries : geopandas.GeoDataFrame or None
        LSOA polygons (EPSG:4326), when configured.
    area : shapely geometry
        The study area (EPSG:4326): union of LSOA boundaries, or a hull of the centroids.
    schools, gp : geopandas.GeoDataFrame or None
        Destinations (EPSG:4326), in the area plus ``area.destination_buffer_km``.
    jobs : pandas.DataFrame or None
        Jobs by zone, or None when no jobs file is configured.
    stops : geopandas.GeoDataFrame or None
        Active NaPTAN stops (EPSG:4326).
    feed : gtfs_kit.Feed or None
        All timetables merged, aligned to ``service_date``.
    service_date : datetime.date or None
        The day routed.
    timetables : pandas.DataFrame or None
        One row per feed: chosen day, trips, routes, stops.
    report : DataReport
        What every loader kept and excluded, and why.
    """

    study: Study
    lsoas: gpd.GeoDataFrame
    boundaries: gpd.GeoDataFrame | None
    area: BaseGeometry
    schools: gpd.GeoDataFrame | None = None
    gp: gpd.GeoDataFrame | None = None
    jobs: pd.DataFrame | None = None
    stops: gpd.GeoDataFrame | None = None
    feed: Any = None
    service_date: dt.date | None = None
    timetables: pd.DataFrame | None = None
    report: DataReport = field(default_factory=DataReport)


def load_study_area(study: Study) -> BaseGeometry:
    """Return the study area (EPSG:4326) alone: the union of its LSOAs' boundaries.

    Parameters
    ----------
    study : Study
        A validated study.

    Returns
    -------
    shapely geometry
        Without boundaries configured, a hull of the LSOA centroids buffered by 2 km.
    """
    data = load_study_data(study, only_area=True)
    return data.area


def load_study_data(
    study: Study, *, report: DataReport | None = None, only_area: bool = False
) -> StudyData:
    """Load and check every dataset of a study.

    Parameters
    ----------
    study : Study
        A validated study (see :func:`transport_access.config.load_study`).
    report : DataReport, optional
        Collector for the data report; a new one is made when not given.
    only_area : bool
        Stop after the neighbourhoods and the study area (for :func:`load_study_area`).

    Returns
    -------
    StudyData
    """
    from transport_access.load.lsoa import load_lsoa_boundaries, load_lsoas, study_area_polygon

    report = report if report is not None else DataReport()
    sources = study.data
    buffer_km = study.area.destination_buffer_km

    optional = {
        "imd_domains": sources.imd.domains,
        "imd_population": sources.imd.population,
        "census_population": sources.lsoa.census_population,
        "lookup_2011_2021": sources.lsoa.lookup_2011_2021,
    }
    lsoas = load_lsoas(
        centroids=study.resolve(sources.lsoa.centroids),
        imd_ranks=study.resolve(sources.imd.ranks),
        local_authorities=study.area.local_authorities,
        vintage=study.area.lsoa_vintage,
        imd_edition=sources.imd.edition,
        report=report,
        **{key: study.resolve(path) for key, path in optional.items() if path},
    )

    boundaries = None
    if sources.lsoa.boundaries:
        boundaries = load_lsoa_boundaries(
            study.resolve(sources.lsoa.boundaries), codes=lsoas["lsoa_code"], report=report
        )
    if boundaries is not None:
        area = study_area_polygon(boundaries)
    else:
        # a hull of centroids cuts the corners of the outer neighbourhoods
        area = study_area_polygon(lsoas, buffer_km=2)
    data = StudyData(study=study, lsoas=lsoas, boundaries=boundaries, area=area, report=report)
    if only_area:
        return data

    if sources.schools:
        from transport_access.load.schools import load_schools

        data.schools = load_schools(
            study.resolve(sources.schools), area=area, buffer_km=buffer_km, report=report
        )

    if sources.gp:
        from transport_access.load.gp import load_gp_practices

        gp = sources.gp
        data.gp = load_gp_practices(
            study.resolve(gp.practices),
            postcodes=study.resolve(gp.postcodes),
            branches=study.resolve(gp.branches) if gp.branches else None,
            commissioners=gp.commissioners,
            area=area,
            buffer_km=buffer_km,
            report=report,
        )

    from transport_access.load.jobs import load_jobs_optional

    data.jobs = load_jobs_optional(
        study.resolve(sources.jobs) if sources.jobs else None,
        zones=lsoas["lsoa_code"],
        report=report,
    )
    if data.jobs is None:
        report.add(
            "jobs", study.area.name, 0,
            detail="no jobs file configured (data.jobs): job accessibility is skipped",
        )

    if sources.naptan:
        from transport_access.load.naptan import load_naptan

        data.stops = load_naptan(
            [study.resolve(p) for p in sources.naptan], area=area, buffer_km=buffer_km,
            report=report,
        )

    if sources.timetables:
        from transport_access.load.gtfs import load_timetables

        data.feed, data.service_date, data.timetables = load_timetables(
            sources.timetables, resolve=study.resolve, naptan=data.stops, area=area,
            report=report,
        )

    return data
