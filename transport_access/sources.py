"""The registry of official data sources, and ``fetch``: downloads with a cache and a mirror.

Every dataset the studies read has a :class:`Source`: who publishes it, the official download
URL, the licence and the attribution text outputs must carry, and ``target``, the path under
the data root where the file lands (the same path the study file names, for example
``dorset/naptan/120Stops.csv``).

:func:`fetch` puts each target in place from one of three origins:

- the publisher's URL (or ``base_url + "/" + target`` for an HTTP copy of a data root), streamed
  to ``<target>.part``, resumed with an HTTP ``Range`` request after an interruption, checked
  against the registry's SHA-256 when it has one, and renamed into place;
- a local mirror folder (``--mirror DIR``) laid out like the data root, or holding the
  publisher's file under its own name (``epraccur.zip``), for offline use;
- nothing at all, when the target is already there with the digest recorded in the manifest
  (``sources-manifest.json`` in the data root): that is the cache.

Not every official file can be downloaded by a program. ``access`` says which can:
``"direct"`` (a plain HTTP download), ``"page"`` (the publisher offers the file on a web page
without a stable file URL: download it by hand), ``"login"`` (an account is needed) and
``"derived"`` (the data root holds a file made from the official one, for example a Dorset
subset or a CSV export of a workbook). Only ``"direct"`` sources are fetched from the
publisher; every source can be taken from a mirror or a base URL.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote, urlsplit

from transport_access._log import get_logger
from transport_access.errors import ConfigError, DownloadError, TransportAccessError

if TYPE_CHECKING:
    import pandas as pd

    from transport_access.config import Study

log = get_logger(__name__)

MANIFEST_NAME = "sources-manifest.json"

Access = Literal["direct", "page", "login", "derived"]
FetchStatus = Literal["downloaded", "copied", "cached", "failed"]

OGL = "Open Government Licence v3.0"
OGL_URL = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
ODBL = "Open Database Licence 1.0 (ODbL)"
PSI_OGL = "Contains public sector information licensed under the Open Government Licence v3.0."
OS_DATA = "Contains OS data © Crown copyright and database right."
ROYAL_MAIL = "Contains Royal Mail data © Royal Mail copyright and database right."
NATIONAL_STATISTICS = "Contains National Statistics data © Crown copyright and database right."
OSM = "Map data © OpenStreetMap contributors, available under the Open Database Licence (ODbL)."


@dataclass(frozen=True)
class Unpack:
    """How the publisher's download becomes the target: members taken from a zip file.

    Attributes
    ----------
    members : tuple of str
        Glob patterns matched case-insensitively against member file names (without their
        folders), for example ``("epraccur.csv",)`` or ``("dt.csv", "bh.csv")``.
    folder : bool
        False: the target is one file, the first member matching. True: the target is a
        folder receiving every matching member, flattened.
    """

    members: tuple[str, ...]
    folder: bool = False


@dataclass(frozen=True)
class Source:
    """One official dataset: where it comes from, its licence, and where it lands.

    Attributes
    ----------
    key : str
        Short unique name, used with ``--only``, for example ``"naptan_120"``.
    title : str
        What the dataset is.
    publisher : str
        Who publishes it.
    url : str
        The official download URL; may hold ``{placeholders}`` filled from ``params``. For
        ``access`` other than ``"direct"`` it is the page to download from by hand.
    licence : str
        Licence name.
    attribution : str
        Text outputs using the data must show.
    format : str
        What lands at ``target``: ``"csv"``, ``"csv.gz"``, ``"zip"``, ``"osm.pbf"``,
        ``"geojson"``, ``"folder of csv"`` ...
    target : str
        POSIX path under the data root where the file (or folder) lands.
    sha256 : str, optional
        Expected SHA-256 of the target as it lands (after unpacking; for a folder, the digest
        of :func:`transport_access._cache.file_sha256`). None when the publisher updates the
        file often.
    unpack : Unpack, optional
        For publisher downloads that are zip files holding the target.
    access : {"direct", "page", "login", "derived"}
        Whether a program can download ``url`` (see the module documentation).
    params : dict of str to str
        Values for the placeholders of ``url``.
    page : str
        The publisher's page about the dataset.
    notes : str
        Anything a user should know: coverage, vintage, how a derived file was made.
    """

    key: str
    title: str
    publisher: str
    url: str
    licence: str
    attribution: str
    format: str
    target: str
    sha256: str | None = None
    unpack: Unpack | None = None
    access: Access = "direct"
    params: Mapping[str, str] = field(default_factory=dict)
    page: str = ""
    notes: str = ""

    @property
    def is_folder(self) -> bool:
        """Whether the target is a folder rather than a file."""
        return self.unpack is not None and self.unpack.folder

    def resolved_url(self, overrides: Mapping[str, str] | None = None) -> str:
        """Return ``url`` with its placeholders filled from ``params`` and ``overrides``."""
        values = {**self.params, **(overrides or {})}
        try:
            return self.url.format(**values)
        except KeyError as error:
            raise ConfigError(
                f"source {self.key}: URL {self.url} needs a value for {error}; pass it in "
                "url_params"
            ) from None

    def publisher_file_name(self) -> str:
        """Return the file name of the publisher's download, from its URL or the target."""
        name = PurePosixPath(urlsplit(self.resolved_url()).path).name
        return name if "." in name else PurePosixPath(self.target).name


def _naptan(atco_area: str, what: str) -> Source:
    return Source(
        key=f"naptan_{atco_area}",
        title=f"NaPTAN stops, ATCO area {atco_area} ({what})",
        publisher="Department for Transport (NaPTAN)",
        url="https://naptan.api.dft.gov.uk/v1/access-nodes?dataFormat=csv&atcoAreaCodes={atco_area}",
        params={"atco_area": atco_area},
        licence=OGL,
        attribution=f"Contains DfT NaPTAN data. {PSI_OGL}",
        format="csv",
        target=f"dorset/naptan/{atco_area}Stops.csv",
        page="https://www.data.gov.uk/dataset/ff93ffc1-6656-47d8-9155-85ea0b8f2251/naptan",
        notes="Updated daily, so no fixed checksum. Includes inactive stops (Status column).",
    )


def _imd2019(number: int, asset: str, name: str, what: str) -> Source:
    return Source(
        key=f"imd2019_file{number}",
        title=f"English Indices of Deprivation 2019, File {number}: {what} (LSOA 2011)",
        publisher="Ministry of Housing, Communities and Local Government",
        url="https://assets.publishing.service.gov.uk/government/uploads/system/uploads/"
        f"attachment_data/file/{asset}/{name}.xlsx",
        licence=OGL,
        attribution=f"English Indices of Deprivation 2019, MHCLG. {PSI_OGL}",
        format="csv.gz",
        target=f"dorset/imd/{name}.csv.gz",
        access="derived",
        page="https://www.gov.uk/government/statistics/english-indices-of-deprivation-2019",
        notes=(
            f"The official File {number} is an Excel workbook; the data root holds a gzip CSV "
            "export of its LSOA sheet with the official headers (pandas.read_excel, then "
            "to_csv with compression='gzip'). Official CSV alternative: imd2019_file7."
        ),
    )


def _ons_geography(
    key: str, title: str, dataset: str, *, format: str, target: str, access: Access,
    notes: str, page: str = "",
) -> Source:
    """An ONS Open Geography Portal dataset (LSOA centroids, boundaries), by its page slug."""
    return Source(
        key=key,
        title=title,
        publisher="Office for National Statistics (Open Geography Portal)",
        url=f"https://geoportal.statistics.gov.uk/datasets/{dataset}",
        licence=OGL,
        attribution=f"Source: Office for National Statistics. {NATIONAL_STATISTICS} {OS_DATA}",
        format=format,
        target=target,
        access=access,
        page=page,
        notes=notes,
    )


_REGISTRY_LIST: list[Source] = [
    _naptan("120", "Dorset"),
    _naptan("128", "Poole"),
    _naptan("129", "Bournemouth"),
    _naptan("910", "national rail stations"),
    Source(
        key="bods_gtfs_south_west",
        title="Bus timetables, South West England, GTFS (BODS regional file)",
        publisher="Department for Transport (Bus Open Data Service)",
        url="https://data.bus-data.dft.gov.uk/timetable/download/gtfs-file/south_west/",
        licence=OGL,
        attribution=f"Contains DfT Bus Open Data Service data. {PSI_OGL}",
        format="zip",
        target="dorset/bods/itm_south_west_gtfs.zip",
        page="https://data.bus-data.dft.gov.uk/timetable/download/",
        notes="Rebuilt daily by BODS from operators' TransXChange; several hundred MB.",
    ),
    Source(
        key="tnds_south_west",
        title="Bus timetables, South West England, TransXChange (Traveline TNDS)",
        publisher="Traveline / Department for Transport",
        url="ftp://ftp.tnds.basemap.co.uk/SW.zip",
        licence=OGL,
        attribution=f"Contains Traveline National Dataset (TNDS) data. {PSI_OGL}",
        format="folder of TransXChange XML",
        target="dorset/tnds",
        unpack=Unpack(members=("*.xml",), folder=True),
        access="login",
        page="https://www.travelinedata.org.uk/traveline-open-data/traveline-national-dataset/",
        notes=(
            "FTP with a free account from Traveline. The shared data root holds only five "
            "2014-15 Bournemouth/Poole services (swe_42-*, swe_43-*); SW.zip holds every "
            "South West service."
        ),
    ),
    Source(
        key="rail_timetable_cif",
        title="National Rail timetable, ATOC CIF",
        publisher="Rail Delivery Group",
        url="https://opendata.nationalrail.co.uk/",
        licence="Creative Commons Attribution 2.0 UK (England & Wales)",
        attribution="Contains Rail Delivery Group timetable data, CC-BY 2.0 UK.",
        format="zip",
        target="dorset/rail/atoc.zip",
        access="login",
        page="https://opendata.nationalrail.co.uk/",
        notes="Needs a National Rail Data Portal account (the timetable feed).",
    ),
    Source(
        key="rail_tiplocs",
        title="TIPLOC locations, Great Britain",
        publisher="UK2GTFS project, from Network Rail and NaPTAN data",
        url="https://github.com/ITSLeeds/UK2GTFS",
        licence=OGL,
        attribution=PSI_OGL,
        format="gpkg",
        target="dorset/rail/tiplocs.gpkg",
        access="derived",
        page="https://github.com/ITSLeeds/UK2GTFS",
        notes="Points for timing locations that are not NaPTAN stations (EPSG:4326).",
    ),
    Source(
        key="osm_dorset",
        title="OpenStreetMap extract, Dorset",
        publisher="Geofabrik GmbH, from OpenStreetMap",
        url="https://download.geofabrik.de/europe/united-kingdom/england/dorset-latest.osm.pbf",
        licence=ODBL,
        attribution=OSM,
        format="osm.pbf",
        target="dorset/osm/dorset-latest.osm.pbf",
        page="https://download.geofabrik.de/europe/united-kingdom/england/dorset.html",
        notes="Rebuilt daily (dorset-latest); Geofabrik publishes an .md5 beside it.",
    ),
    _imd2019(1, "833970", "File_1_-_IMD2019_Index_of_Multiple_Deprivation", "IMD rank, decile"),
    _imd2019(2, "833973", "File_2_-_IoD2019_Domains_of_Deprivation", "domain ranks and deciles"),
    _imd2019(6, "833980", "File_6_-_IoD2019_Population_Denominators", "population denominators"),
    Source(
        key="imd2019_file7",
        title="English Indices of Deprivation 2019, File 7: all scores, ranks, deciles and "
        "population denominators (LSOA 2011)",
        publisher="Ministry of Housing, Communities and Local Government",
        url="https://assets.publishing.service.gov.uk/media/5dc407b440f0b6379a7acc8d/"
        "File_7_-_All_IoD2019_Scores__Ranks__Deciles_and_Population_Denominators_3.csv",
        licence=OGL,
        attribution=f"English Indices of Deprivation 2019, MHCLG. {PSI_OGL}",
        format="csv",
        target="dorset/imd/File_7_-_All_IoD2019_Scores__Ranks__Deciles_and_Population_"
        "Denominators_3.csv",
        page="https://www.gov.uk/government/statistics/english-indices-of-deprivation-2019",
        notes="A final 2019 publication; usable as `imd.ranks` in place of File 1.",
    ),
    Source(
        key="iod2025_file7",
        title="English Indices of Deprivation 2025, File 7: all scores, ranks, deciles and "
        "population denominators (LSOA 2021)",
        publisher="Ministry of Housing, Communities and Local Government",
        url="https://www.gov.uk/government/statistics/english-indices-of-deprivation-2025",
        licence=OGL,
        attribution=f"English Indices of Deprivation 2025, MHCLG. {PSI_OGL}",
        format="csv",
        target="dorset/imd/IoD2025_File_7_All_Ranks_Scores_Deciles_Population_Denominators.csv",
        access="page",
        page="https://www.gov.uk/government/statistics/english-indices-of-deprivation-2025",
        notes="Published 30 Oct 2025 at LSOA 2021; download File 7 (CSV) from the page and "
        "save it at the target path. Use with area.lsoa_vintage: 2021 and imd.edition: 2025.",
    ),
    _ons_geography(
        "lsoa11_centroids",
        "LSOA (December 2011) population-weighted centroids, England and Wales",
        "ons::lower-layer-super-output-areas-december-2011-population-weighted-centroids",
        format="csv",
        target="dorset/lsoa/Lower_Layer_Super_Output_Areas_December_2011_Population_Weighted_"
        "Centroids.csv",
        access="page",
        page="https://geoportal.statistics.gov.uk/",
        notes="Download > CSV on the portal page gives this file name (X=lon, Y=lat); the "
        "portal's file URLs are generated per request.",
    ),
    _ons_geography(
        "lsoa11_boundaries_dorset",
        "LSOA (December 2011) generalised clipped boundaries, Dorset and BCP, WGS84",
        "ons::lower-layer-super-output-areas-december-2011-boundaries-ew-bgc",
        format="geojson",
        target="dorset/lsoa/dorset_bcp_lsoa11_bgc_wgs84.geojson",
        access="derived",
        notes="Derived: the England and Wales BGC file, filtered to the 452 LSOAs of "
        "E06000058/E06000059 and reprojected to EPSG:4326.",
    ),
    _ons_geography(
        "lsoa21_centroids",
        "LSOA (December 2021) population-weighted centroids, England and Wales",
        "lsoa-dec-2021-pwc-for-england-and-wales",
        format="csv",
        target="dorset/lsoa/LSOA_Dec_2021_PWC_for_England_and_Wales.csv",
        access="page",
        page="https://www.data.gov.uk/dataset/1b61943c-f5e1-4398-babe-5c487257864e/"
        "lower-layer-super-output-areas-december-2021-ew-population-weighted-centroids",
        notes="Download > CSV on the portal page (LSOA21CD, LSOA21NM, x/y in British National "
        "Grid metres, converted on load); the portal adds a number to the file name, so save "
        "it under the target name. With area.lsoa_vintage: 2021 it replaces the centroids "
        "derived from 2011 ones. Not in the shared data root, so no checksum.",
    ),
    _ons_geography(
        "lsoa21_boundaries",
        "LSOA (December 2021) generalised clipped boundaries (BGC), England and Wales",
        "ons::lower-layer-super-output-areas-december-2021-boundaries-ew-bgc-v5-2",
        format="geojson",
        target="dorset/lsoa/LSOA_Dec_2021_Boundaries_EW_BGC_V5.geojson",
        access="page",
        page="https://geoportal.statistics.gov.uk/",
        notes="Download > GeoJSON on the portal page (LSOA21CD, LSOA21NM; every LSOA of "
        "England and Wales, filtered to the study's LSOAs on load) and save it under the "
        "target name. For area.lsoa_vintage: 2021. Not in the shared data root, so no "
        "checksum.",
    ),
    Source(
        key="census2021_population_dorset",
        title="Census 2021 usual residents by LSOA 2021, 6 age bands, Dorset and BCP",
        publisher="Office for National Statistics",
        url="https://www.ons.gov.uk/datasets/create",
        licence=OGL,
        attribution=f"Source: Office for National Statistics, Census 2021. {NATIONAL_STATISTICS}",
        format="csv",
        target="dorset/lsoa/dorset_bcp_lsoa21_census2021_pop_by_age6.csv",
        access="derived",
        notes="Derived: ONS custom dataset (usual residents, LSOA, age 6 categories), one row "
        "per Dorset/BCP LSOA 2021 with a total column.",
    ),
    Source(
        key="lsoa11_lsoa21_lookup_dorset",
        title="LSOA 2011 to LSOA 2021 to LAD 2022 lookup, Dorset and BCP",
        publisher="Office for National Statistics (Open Geography Portal)",
        url="https://geoportal.statistics.gov.uk/datasets/"
        "ons::lsoa-2011-to-lsoa-2021-to-local-authority-district-2022-lookup-for-england-and-wales",
        licence=OGL,
        attribution=f"Source: Office for National Statistics. {NATIONAL_STATISTICS}",
        format="csv",
        target="dorset/lsoa/dorset_bcp_lookup_lsoa11_lsoa21.csv",
        access="derived",
        notes="Derived: the national lookup filtered to Dorset and BCP, columns renamed to "
        "lsoa11_code, lsoa21_code, change_code, ltla22_code ...",
    ),
    Source(
        key="gias_all",
        title="Get Information About Schools: all establishments (edubasealldata)",
        publisher="Department for Education",
        url="https://ea-edubase-api-prod.azurewebsites.net/edubase/downloads/public/"
        "edubasealldata{date}.csv",
        params={"date": "20250524"},
        licence=OGL,
        attribution=f"Contains DfE Get Information About Schools data. {PSI_OGL}",
        format="csv",
        target="dorset/schools/edubasealldata.csv",
        page="https://get-information-schools.service.gov.uk/Downloads",
        notes="Published daily under a dated name; only recent dates stay online, so pass "
        "url_params={'date': 'YYYYMMDD'} (today or yesterday). cp1252, ~60 MB.",
    ),
    Source(
        key="gias_open_subset",
        title="Get Information About Schools: open schools and colleges, England and Wales "
        "(column subset, 24 May 2025)",
        publisher="Department for Education",
        url="https://ea-edubase-api-prod.azurewebsites.net/edubase/downloads/public/"
        "edubasealldata{date}.csv",
        params={"date": "20250524"},
        licence=OGL,
        attribution=f"Contains DfE Get Information About Schools data. {PSI_OGL}",
        format="csv.gz",
        page="https://get-information-schools.service.gov.uk/Downloads",
        target="dorset/schools/edubase_open_20250524_england_wales_subset.csv.gz",
        access="derived",
        notes="Derived from edubasealldata20250524.csv (source gias_all): open establishments "
        "only, 15 official columns, gzip.",
    ),
    Source(
        key="ods_epraccur",
        title="GP practices in England and Wales (epraccur)",
        publisher="NHS England, Organisation Data Service",
        url="https://files.digital.nhs.uk/assets/ods/current/epraccur.zip",
        licence=OGL,
        attribution=f"Contains NHS Organisation Data Service data. {PSI_OGL}",
        format="csv",
        target="dorset/gp/epraccur.csv",
        unpack=Unpack(members=("epraccur.csv",)),
        page="https://digital.nhs.uk/services/organisation-data-service/data-search-and-export",
        notes="No header row, 27 columns. Updated weekly.",
    ),
    Source(
        key="ods_ebranchs",
        title="GP branch surgeries (ebranchs)",
        publisher="NHS England, Organisation Data Service",
        url="https://files.digital.nhs.uk/assets/ods/current/ebranchs.zip",
        licence=OGL,
        attribution=f"Contains NHS Organisation Data Service data. {PSI_OGL}",
        format="csv",
        target="dorset/gp/ebranchs.csv",
        unpack=Unpack(members=("ebranchs.csv",)),
        page="https://digital.nhs.uk/services/organisation-data-service/data-search-and-export",
        notes="No header row. May include closed branches.",
    ),
    Source(
        key="codepoint_open",
        title="OS Code-Point Open: postcode unit locations (DT, BH, SP, TA, BA)",
        publisher="Ordnance Survey",
        url="https://api.os.uk/downloads/v1/products/CodePointOpen/downloads"
        "?area=GB&format=CSV&redirect",
        licence=OGL,
        attribution=f"{OS_DATA} {ROYAL_MAIL} {NATIONAL_STATISTICS}",
        format="folder of csv",
        target="dorset/gp/codepoint_open_2014",
        unpack=Unpack(
            members=(
                "dt.csv", "bh.csv", "sp.csv", "ta.csv", "ba.csv",
                "code-point_open_column_headers.csv", "metadata.txt", "readme.txt",
            ),
            folder=True,
        ),
        page="https://osdatahub.os.uk/downloads/open/CodePointOpen",
        notes="The folder name is the study file's; a fresh download holds the current "
        "release (codepo_gb.zip), not 2014.",
    ),
    Source(
        key="bres_lsoa",
        title="Business Register and Employment Survey: employment by LSOA 2011 (open access)",
        publisher="Office for National Statistics, via nomis",
        url="https://www.nomisweb.co.uk/api/v01/dataset/NM_189_1.data.csv"
        "?geography={geography}&date=latest&industry=37748736&employment_status=4"
        "&measure=1&measures=20100&select=date_name,geography_code,geography_name,obs_value",
        params={"geography": "TYPE298"},
        licence=OGL,
        attribution=f"Source: ONS Business Register and Employment Survey, via nomis. "
        f"{NATIONAL_STATISTICS}",
        format="csv",
        target="dorset/jobs/bres_employment_lsoa11.csv",
        page="https://www.nomisweb.co.uk/datasets/newbres6pub",
        notes="All industries, employment (employees plus working owners), latest year, every "
        "LSOA 2011 (TYPE298). Anonymous nomis calls return at most 25,000 rows: narrow "
        "`geography` (url_params) or add a nomis uid for the whole of England and Wales.",
    ),
    Source(
        key="jts_2017_dorset",
        title="DfT Journey Time Statistics 2017, minutes to key services by LSOA (48 Dorset "
        "LSOAs)",
        publisher="Department for Transport",
        url="https://www.gov.uk/government/statistical-data-sets/"
        "journey-time-statistics-data-tables-jts",
        licence=OGL,
        attribution=f"Contains DfT Journey Time Statistics. {PSI_OGL}",
        format="csv",
        target="dorset/jts/jts2017_dorset_lsoas.csv",
        access="derived",
        notes="Derived: JTS0501-0508 (2017) LSOA columns joined for 48 LSOAs around "
        "Dorchester, Weymouth and Portland; a validation reference.",
    ),
]

REGISTRY: dict[str, Source] = {source.key: source for source in _REGISTRY_LIST}


def get_source(key: str, *, registry: Mapping[str, Source] | None = None) -> Source:
    """Return a registry entry by key.

    Parameters
    ----------
    key : str
        A source key, for example ``"naptan_120"``.
    registry : mapping of str to Source, optional
        Defaults to :data:`REGISTRY`.

    Returns
    -------
    Source

    Raises
    ------
    ConfigError
        No source has that key; the message lists the keys.
    """
    registry = REGISTRY if registry is None else registry
    if key not in registry:
        raise ConfigError(
            f"unknown source {key!r}; known sources: {', '.join(sorted(registry))} "
            "(see `transport-access sources`)"
        )
    return registry[key]


def sources_table(
    keys: Iterable[str] | None = None, *, registry: Mapping[str, Source] | None = None
) -> pd.DataFrame:
    """Return the registry as a table, one row per source.

    Parameters
    ----------
    keys : iterable of str, optional
        Sources to list; all when None.
    registry : mapping of str to Source, optional
        Defaults to :data:`REGISTRY`.

    Returns
    -------
    pandas.DataFrame
        Columns ``key, title, publisher, licence, access, format, target, url``.
    """
    import pandas as pd

    registry = REGISTRY if registry is None else registry
    chosen = [get_source(k, registry=registry) for k in keys] if keys else list(registry.values())
    rows = [
        {
            "key": s.key,
            "title": s.title,
            "publisher": s.publisher,
            "licence": s.licence,
            "access": s.access,
            "format": s.format,
            "target": s.target,
            "url": s.resolved_url(),
        }
        for s in chosen
    ]
    columns = ["key", "title", "publisher", "licence", "access", "format", "target", "url"]
    return pd.DataFrame(rows, columns=columns)


def attribution(
    sources: Iterable[str | Source] | None = None, *, registry: Mapping[str, Source] | None = None
) -> str:
    """Return the attribution text for a set of sources, each sentence once.

    Parameters
    ----------
    sources : iterable of str or Source, optional
        Keys or entries; all registry sources when None.
    registry : mapping of str to Source, optional
        Where keys are looked up; defaults to :data:`REGISTRY`.

    Returns
    -------
    str
        Sentences in the order the sources first need them, joined by spaces.
    """
    registry = REGISTRY if registry is None else registry
    items = list(registry.values()) if sources is None else list(sources)
    sentences: list[str] = []
    for item in items:
        source = get_source(item, registry=registry) if isinstance(item, str) else item
        for sentence in _sentences(source.attribution):
            if sentence not in sentences:
                sentences.append(sentence)
    return " ".join(sentences)


def _sentences(text: str) -> list[str]:
    parts = [part.strip() for part in text.replace(". ", ".\n").splitlines()]
    return [part for part in parts if part]


def study_data_paths(study: Study) -> list[str]:
    """Return every data path a study file names, in the study's order, without repeats.

    Parameters
    ----------
    study : transport_access.config.Study

    Returns
    -------
    list of str
        Paths as written in the study file (relative to the data root, or absolute).
    """
    data = study.data
    paths: list[str | None] = [
        data.lsoa.centroids,
        data.lsoa.boundaries,
        data.lsoa.census_population,
        data.lsoa.lookup_2011_2021,
        data.imd.ranks,
        data.imd.domains,
        data.imd.population,
        data.schools,
    ]
    if data.gp is not None:
        paths += [data.gp.practices, data.gp.branches, data.gp.postcodes]
    paths += [data.jobs, *data.naptan]
    for feed in data.timetables:
        paths += [feed.path, feed.stations, feed.tiplocs]
    paths += [data.osm]
    paths += [data.jts]
    paths += [d.path for d in study.destinations.values() if d.path]
    seen: list[str] = []
    for path in paths:
        if path and path not in seen:
            seen.append(path)
    return seen


def _normalise(path: str) -> str:
    return str(PurePosixPath(path.replace("\\", "/"))).strip("/")


def sources_for_study(
    study: Study, *, registry: Mapping[str, Source] | None = None
) -> list[Source]:
    """Return the registry sources whose targets are the data paths a study file names.

    Paths with no source (a user's own file, say) are logged and left out: ``fetch`` cannot
    get them.

    Parameters
    ----------
    study : transport_access.config.Study
    registry : mapping of str to Source, optional
        Defaults to :data:`REGISTRY`.

    Returns
    -------
    list of Source
        In the order the study names the paths.
    """
    registry = REGISTRY if registry is None else registry
    by_target = {_normalise(s.target): s for s in registry.values()}
    chosen: list[Source] = []
    for path in study_data_paths(study):
        source = by_target.get(_normalise(path))
        if source is None:
            log.warning(
                "%s: no official source is registered for this path; fetch leaves it alone",
                path,
            )
        elif source not in chosen:
            chosen.append(source)
    return chosen


def keys_for_study(study: Study, *, registry: Mapping[str, Source] | None = None) -> list[str]:
    """Return the keys of :func:`sources_for_study`, for ``fetch(keys, ...)``."""
    return [source.key for source in sources_for_study(study, registry=registry)]


@dataclass
class FetchResult:
    """What :func:`fetch` did for one source.

    Attributes
    ----------
    key : str
        The source key.
    target : pathlib.Path
        Where the file (or folder) is, or would have been.
    status : {"downloaded", "copied", "cached", "failed"}
    size_bytes : int
        Size of the target (a folder: its files together); 0 when failed.
    sha256 : str
        SHA-256 of the target; empty when failed.
    origin : str
        The URL or mirror path it came from (for cached files, as recorded).
    message : str
        Why it failed, or a note.
    """

    key: str
    target: Path
    status: FetchStatus
    size_bytes: int = 0
    sha256: str = ""
    origin: str = ""
    message: str = ""


def results_table(results: Sequence[FetchResult]) -> pd.DataFrame:
    """Return fetch results as a table.

    Parameters
    ----------
    results : sequence of FetchResult

    Returns
    -------
    pandas.DataFrame
        Columns ``key, status, size_bytes, target, sha256, origin, message``.
    """
    import pandas as pd

    columns = ["key", "status", "size_bytes", "target", "sha256", "origin", "message"]
    rows = [
        {
            "key": r.key,
            "status": r.status,
            "size_bytes": r.size_bytes,
            "target": str(r.target),
            "sha256": r.sha256[:12],
            "origin": r.origin,
            "message": r.message,
        }
        for r in results
    ]
    return pd.DataFrame(rows, columns=columns)


def read_manifest(data_root: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Return the manifest of fetched files: target path -> record.

    Parameters
    ----------
    data_root : path-like

    Returns
    -------
    dict
        Each record has ``key, sha256, size_bytes, url, retrieved_at`` (UTC, ISO 8601) and
        ``via`` (``"http"`` or ``"mirror"``). Empty when there is no manifest yet.
    """
    path = Path(data_root) / MANIFEST_NAME
    if not path.exists():
        return {}
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        log.warning("%s: unreadable manifest; every source will be fetched again", path)
        return {}
    return dict(content.get("files", {}))


def _write_manifest(data_root: Path, files: Mapping[str, dict[str, Any]]) -> None:
    path = data_root / MANIFEST_NAME
    staged = path.with_name(path.name + ".tmp")
    payload = {"version": 1, "files": dict(sorted(files.items()))}
    staged.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    os.replace(staged, path)


def _size_bytes(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def _is_cached(source: Source, target: Path, record: dict[str, Any] | None) -> str | None:
    """Return the target's digest when it can be used as it is, else None."""
    from transport_access._cache import file_sha256

    if not target.exists() or target.is_dir() != source.is_folder:
        return None
    if record is None and source.sha256 is None:
        return None
    if record is not None and record.get("size_bytes") != _size_bytes(target):
        return None
    digest = file_sha256(target)
    expected = source.sha256 or (record or {}).get("sha256")
    return digest if digest == expected else None


def _staging_path(target: Path, suffix: str) -> Path:
    return target.with_name(f"{target.name}{suffix}")


def _verify(source: Source, staged: Path, origin: str) -> str:
    from transport_access._cache import file_sha256

    digest = file_sha256(staged)
    if source.sha256 and digest != source.sha256.lower():
        from transport_access._download import remove_path

        remove_path(staged)
        raise DownloadError(
            f"{source.key}: checksum mismatch for {source.target} (from {origin}): expected "
            f"SHA-256 {source.sha256}, got {digest}. The download was discarded. If the "
            "publisher has released a new version, check it and update `sha256` for this "
            "source in transport_access/sources.py; otherwise fetch again (or use a mirror)."
        )
    return digest


def _from_mirror(source: Source, mirror: Path, target: Path) -> tuple[Path, str]:
    """Stage the target from a mirror folder; return the staged path and the mirror file."""
    from transport_access._download import copy_file, copy_folder, extract_zip, remove_path

    staged = _staging_path(target, ".mirror-tmp")
    remove_path(staged)
    same_layout = mirror / source.target
    if same_layout.exists():
        if same_layout.is_dir():
            copy_folder(same_layout, staged)
        else:
            copy_file(same_layout, staged)
        return staged, str(same_layout)

    # A mirror may be a plain folder of the publishers' files rather than a data root.
    publisher_name = source.publisher_file_name() if source.unpack else None
    for name, unpack in ((publisher_name, True), (PurePosixPath(source.target).name, False)):
        if not name:
            continue
        found = sorted(mirror.rglob(name))
        if not found:
            continue
        if unpack and source.unpack is not None:
            extract_zip(
                found[0],
                staged,
                members=source.unpack.members,
                folder=source.unpack.folder,
                label=source.key,
            )
        elif found[0].is_dir():
            copy_folder(found[0], staged)
        else:
            copy_file(found[0], staged)
        return staged, str(found[0])

    names = [n for n in (PurePosixPath(source.target).name, publisher_name) if n]
    raise DownloadError(
        f"{source.key}: the mirror {mirror} has no {same_layout} (nor any file named "
        f"{' or '.join(names)} below it). Put the file there, or fetch without --mirror "
        "when online."
    )


def _from_http(
    source: Source,
    url: str,
    target: Path,
    *,
    layout_copy: bool,
    timeout_s: float,
) -> Path:
    """Download to ``<target>.part`` (resuming), unpack when needed; return the staged path."""
    from transport_access._download import download_http, extract_zip, remove_path

    if source.is_folder and layout_copy:
        raise DownloadError(
            f"{source.key}: {source.target} is a folder, which cannot be listed over HTTP; "
            "take it from a local copy with --mirror DIR."
        )
    # A publisher's archive is not the target: keep its partial file apart from the target's.
    unpacking = source.unpack is not None and not layout_copy
    part = _staging_path(target, ".download.part" if unpacking else ".part")
    target.parent.mkdir(parents=True, exist_ok=True)
    download_http(url, part, timeout_s=timeout_s, label=source.key)
    if not unpacking:
        return part
    staged = _staging_path(target, ".unpack-tmp")
    remove_path(staged)
    try:
        extract_zip(
            part,
            staged,
            members=source.unpack.members,
            folder=source.unpack.folder,
            label=source.key,
        )
    except DownloadError:
        # A damaged or unexpected archive must not be resumed next time.
        remove_path(part)
        remove_path(staged)
        raise
    remove_path(part)
    return staged


def _fetch_one(
    source: Source,
    *,
    data_root: Path,
    mirror: Path | None,
    base_url: str | None,
    url_params: Mapping[str, str] | None,
    timeout_s: float,
) -> tuple[Path, str, str]:
    """Fetch one source into place; return (target, digest, "via:origin")."""
    from transport_access._download import remove_path, replace_path

    target = data_root / source.target
    if mirror is not None:
        try:
            staged, origin = _from_mirror(source, mirror, target)
        except (DownloadError, OSError):
            remove_path(_staging_path(target, ".mirror-tmp"))
            raise
        via = "mirror"
    else:
        if base_url is not None:
            url = base_url.rstrip("/") + "/" + quote(source.target)
        else:
            url = source.resolved_url(url_params)
            if source.access != "direct":
                reason = {
                    "page": "the publisher has no stable file URL: download it by hand from",
                    "login": "the publisher needs an account: download it by hand from",
                    "derived": "the data root holds a file derived from the official one at",
                }[source.access]
                raise DownloadError(
                    f"{source.key}: cannot be fetched automatically ({reason} {url}). "
                    f"{source.notes} Save it as {target}, or use --mirror DIR / --base-url."
                )
            if urlsplit(url).scheme not in ("http", "https"):
                raise DownloadError(f"{source.key}: {url} is not an HTTP(S) URL.")
        staged = _from_http(
            source, url, target, layout_copy=base_url is not None, timeout_s=timeout_s
        )
        origin, via = url, "http"

    digest = _verify(source, staged, origin)
    replace_path(staged, target)
    return target, digest, f"{via}:{origin}"


def fetch(
    keys: Sequence[str] | None = None,
    *,
    data_root: str | os.PathLike[str],
    mirror: str | os.PathLike[str] | None = None,
    base_url: str | None = None,
    force: bool = False,
    timeout_s: float = 60.0,
    url_params: Mapping[str, str] | None = None,
    registry: Mapping[str, Source] | None = None,
    on_error: Literal["raise", "continue"] = "raise",
) -> list[FetchResult]:
    """Put the files of the given sources under the data root: cached, checked, resumable.

    For each source: when the target exists with the SHA-256 recorded in the data root's
    manifest (and the registry's, if it has one) it is left alone (``"cached"``). Otherwise it
    is copied from ``mirror`` (``"copied"``) or downloaded (``"downloaded"``) to a temporary
    name, checked, renamed into place and recorded in the manifest.

    Parameters
    ----------
    keys : sequence of str, optional
        Source keys (see :func:`sources_table`); every source in the registry when None.
    data_root : path-like
        Folder the targets are relative to; created if needed.
    mirror : path-like, optional
        A local folder with the same layout as the data root (or holding the publishers'
        files under their own names, found anywhere below it). Nothing is downloaded; takes
        precedence over ``base_url``.
    base_url : str, optional
        An HTTP copy of a data root: each source is fetched from ``base_url + "/" + target``
        instead of the publisher.
    force : bool
        Fetch again even when the cached target is intact.
    timeout_s : float
        Seconds to wait for a connection and between received chunks.
    url_params : mapping of str to str, optional
        Values for URL placeholders, for example ``{"date": "20261203"}`` for ``gias_all``.
    registry : mapping of str to Source, optional
        Defaults to :data:`REGISTRY`.
    on_error : {"raise", "continue"}
        After trying every source, raise a :class:`DownloadError` describing each failure
        (``"raise"``), or only return the results with ``status="failed"``.

    Returns
    -------
    list of FetchResult
        One per source, in the order of ``keys``.

    Raises
    ------
    DownloadError
        With ``on_error="raise"``, when any source failed: unreachable or missing URL (the
        message suggests ``--mirror DIR``), a checksum mismatch (expected and actual digest),
        a file missing from the mirror (the expected path), or a source that cannot be
        downloaded by a program. The exception's ``results`` attribute holds every result.
    ConfigError
        An unknown key.
    """
    registry = REGISTRY if registry is None else registry
    chosen = [get_source(k, registry=registry) for k in (keys or list(registry))]
    root = Path(data_root).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    mirror_path = Path(mirror).expanduser().resolve() if mirror is not None else None
    if mirror_path is not None and not mirror_path.is_dir():
        raise DownloadError(f"{mirror_path}: the mirror folder does not exist.")
    manifest = read_manifest(root)

    results: list[FetchResult] = []
    for source in chosen:
        target = root / source.target
        record = manifest.get(source.target)
        digest = None if force else _is_cached(source, target, record)
        if digest is not None:
            log.info("%s: cached at %s", source.key, target)
            if record is None:
                record = _record(source, target, digest, "registry checksum", "cache")
                manifest[source.target] = record
                _write_manifest(root, manifest)
            results.append(
                FetchResult(
                    source.key, target, "cached", _size_bytes(target), digest,
                    str(record.get("url", "")),
                )
            )
            continue

        try:
            target, digest, origin = _fetch_one(
                source,
                data_root=root,
                mirror=mirror_path,
                base_url=base_url,
                url_params=url_params,
                timeout_s=timeout_s,
            )
        except (TransportAccessError, OSError) as error:
            message = str(error)
            if not isinstance(error, TransportAccessError):
                message = f"{source.key}: {type(error).__name__}: {error}"
            # With on_error="raise" the exception carries every message; do not say it twice.
            log.log(logging.WARNING if on_error == "continue" else logging.DEBUG, "%s", message)
            results.append(FetchResult(source.key, target, "failed", message=message))
            continue

        via, _, where = origin.partition(":")
        manifest[source.target] = _record(source, target, digest, where, via)
        _write_manifest(root, manifest)
        status: FetchStatus = "copied" if via == "mirror" else "downloaded"
        size = _size_bytes(target)
        log.info("%s: %s %s bytes to %s", source.key, status, f"{size:,}", target)
        results.append(FetchResult(source.key, target, status, size, digest, where))

    failed = [r for r in results if r.status == "failed"]
    if failed and on_error == "raise":
        error = DownloadError(
            f"{len(failed)} of {len(results)} sources could not be fetched:\n"
            + "\n".join(f"  - {r.message}" for r in failed)
        )
        error.results = results  # type: ignore[attr-defined]
        raise error
    return results


def _record(source: Source, target: Path, digest: str, url: str, via: str) -> dict[str, Any]:
    return {
        "key": source.key,
        "sha256": digest,
        "size_bytes": _size_bytes(target),
        "url": url,
        "via": via,
        "retrieved_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def clear_partial_downloads(data_root: str | os.PathLike[str]) -> list[Path]:
    """Delete leftover ``*.part`` and staging files under the data root.

    Parameters
    ----------
    data_root : path-like

    Returns
    -------
    list of pathlib.Path
        What was deleted.
    """
    root = Path(data_root)
    removed = []
    for pattern in ("*.part", "*.part.meta", "*.mirror-tmp", "*.unpack-tmp", ".*.old"):
        for path in root.rglob(pattern):
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
    return removed
