"""The study file: one YAML document describing a study, validated on load.

A study names its area (local-authority codes), its data sources (paths relative to a data
root), the service day of each timetable, departure windows and arrive-by times, modes and
speeds, destination sets and scenario files. :func:`load_study` reads and validates it;
errors name the key and what is wrong, for example::

    configs/dorset.yaml: routing.board_slack_s: Input should be greater than or equal to 0

Paths are resolved against the data root, taken from ``--data-root`` on the command line or
the ``TRANSPORT_ACCESS_DATA`` environment variable, or else the folder of the study file.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    field_validator,
    model_validator,
)

from transport_access.errors import ConfigError, MissingFileError

DATA_ROOT_ENV = "TRANSPORT_ACCESS_DATA"

_LA_CODE = re.compile(r"^[EWSN]\d{8}$")
_HHMM = re.compile(r"^([01]?\d|2[0-9]|3[0-5]):[0-5]\d$")


def parse_hhmm(value: str) -> int:
    """Return minutes after midnight for an ``"HH:MM"`` string (hours may exceed 23)."""
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


Hhmm = Annotated[str, Field(pattern=_HHMM.pattern, description="a time of day, HH:MM")]


class Area(_Model):
    """The study area."""

    name: str = Field(description="readable name used in reports")
    local_authorities: list[str] = Field(min_length=1, description="LAD codes, e.g. E06000059")
    lsoa_vintage: Literal[2011, 2021] = 2011
    destination_buffer_km: float = Field(
        10.0, ge=0, description="destinations this far outside the area are kept (people cross)"
    )

    @field_validator("local_authorities")
    @classmethod
    def _check_codes(cls, codes: list[str]) -> list[str]:
        bad = [c for c in codes if not _LA_CODE.match(c)]
        if bad:
            raise ValueError(
                f"{bad} are not local-authority codes (a letter and 8 digits, e.g. E06000059)"
            )
        return codes


class ImdSources(_Model):
    """Indices of Deprivation files (2019 at LSOA 2011, or 2025 at LSOA 2021)."""

    ranks: str = Field(description="File 1 (IMD rank and decile) or File 7")
    domains: str | None = Field(None, description="File 2 (or File 7): domain ranks, deciles")
    population: str | None = Field(
        None, description="File 6 (or File 7): population denominators"
    )
    edition: Literal[2019, 2025] | None = Field(
        None,
        description="2019 (LSOA 2011 codes, reaches LSOA 2021 through the lookup) or 2025 (LSOA "
        "2021 codes, needs area.lsoa_vintage: 2021); unset: read from the files' LSOA code "
        "header and codes. When set, the files must agree.",
    )


class LsoaSources(_Model):
    """Neighbourhood geography."""

    centroids: str = Field(description="ONS population-weighted centroids (CSV)")
    boundaries: str | None = Field(None, description="LSOA boundaries (GeoJSON/GeoPackage)")
    census_population: str | None = Field(None, description="Census 2021 population by LSOA 2021")
    lookup_2011_2021: str | None = Field(None, description="ONS LSOA 2011 to 2021 lookup")


class GpSources(_Model):
    """GP practices from NHS ODS."""

    practices: str = Field(description="epraccur.csv")
    branches: str | None = Field(None, description="ebranchs.csv")
    postcodes: str = Field(description="OS Code-Point Open folder or ONS postcode directory CSV")
    commissioners: list[str] = Field(
        default_factory=list,
        description="commissioner codes (column 15) of the area's ICB, e.g. 11J = NHS Dorset; "
        "empty to select practices by location",
    )


def _service_day(value: Any) -> dt.date | str:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date) or value == "representative_weekday":
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(
            f"{value!r} is neither a date (YYYY-MM-DD) nor 'representative_weekday'"
        ) from None


ServiceDay = Annotated[
    dt.date | str,
    PlainValidator(_service_day),
    Field(description="a date, or 'representative_weekday' for the feed's busiest weekday"),
]


class TimetableSource(_Model):
    """One timetable feed."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$", description="short ID, prefixes the feed's IDs")
    format: Literal["gtfs", "transxchange", "cif"]
    path: str = Field(description="GTFS zip or folder; TransXChange XML file, folder or zip; CIF")
    service_day: ServiceDay = "representative_weekday"
    mode: str = Field("bus", description="bus, rail, tram, ferry, ... (for reports)")
    stations: str | None = Field(
        None, description="CIF only: NaPTAN rail stations (910Stops.csv) placing TIPLOCs"
    )
    tiplocs: str | None = Field(None, description="CIF only: TIPLOC points (GeoPackage)")
    buffer_km: float | None = Field(
        30.0, ge=0, description="CIF only: calls kept this far outside the area (null: all)"
    )


class DataSources(_Model):
    """Where each dataset lives, relative to the data root."""

    lsoa: LsoaSources
    imd: ImdSources
    schools: str | None = Field(None, description="GIAS edubasealldata CSV")
    gp: GpSources | None = None
    jobs: str | None = Field(None, description="nomis BRES CSV by LSOA or workplace zone")
    naptan: list[str] = Field(default_factory=list, description="NaPTAN Stops.csv files")
    timetables: list[TimetableSource] = Field(default_factory=list)
    osm: str | None = Field(None, description="OpenStreetMap .osm.pbf extract")
    jts: str | None = Field(None, description="DfT Journey Time Statistics LSOA table")

    @field_validator("timetables")
    @classmethod
    def _unique_names(cls, feeds: list[TimetableSource]) -> list[TimetableSource]:
        names = [f.name for f in feeds]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"timetable names must be unique; repeated: {dupes}")
        return feeds


class DepartureWindow(_Model):
    """A departure window, sampled every ``step_min`` minutes."""

    name: str
    start: Hhmm
    end: Hhmm
    step_min: int = Field(1, ge=1, le=60)
    percentiles: list[int] = Field(default_factory=lambda: [50])

    @model_validator(mode="after")
    def _ordered(self) -> DepartureWindow:
        if parse_hhmm(self.end) <= parse_hhmm(self.start):
            raise ValueError(f"end {self.end} must be after start {self.start}")
        if any(not 1 <= p <= 100 for p in self.percentiles):
            raise ValueError(f"percentiles must be between 1 and 100, got {self.percentiles}")
        return self

    @property
    def start_min(self) -> int:
        """Start of the window, minutes after midnight."""
        return parse_hhmm(self.start)

    @property
    def length_min(self) -> int:
        """Length of the window in minutes."""
        return parse_hhmm(self.end) - parse_hhmm(self.start)


class ReturnJourney(_Model):
    """Arrive by a time in the morning and get home after a time in the afternoon."""

    arrive_by: Hhmm
    leave_after_earliest: Hhmm = "15:30"
    leave_after_latest: Hhmm = "18:30"


class Modes(_Model):
    """Modes and speeds."""

    include: list[Literal["transit", "walk", "cycle", "car"]] = Field(
        default_factory=lambda: ["transit", "walk", "cycle", "car"], min_length=1,
        description="modes the access command routes (transit = public transport with "
                    "walking); --modes on the command line overrides")
    walk_speed_kmh: float = Field(4.8, gt=0, le=10)
    cycle_speed_kmh: float = Field(16.0, gt=0, le=40)
    car_speed_kmh_default: float = Field(
        40.0, gt=0, le=130, description="car speed where OSM has no maxspeed and no road class"
    )
    max_walk_min: float = Field(20.0, gt=0, le=180)
    circuity: float = Field(1.3, ge=1.0, le=3.0, description="straight-line fallback factor")
    max_snap_m: float = Field(500.0, gt=0, description="furthest a point may be from a street")


class Routing(_Model):
    """Transit routing parameters (semantics in the README)."""

    board_slack_s: int = Field(60, ge=0, le=1800)
    max_rides: int = Field(4, ge=1, le=10)
    max_time_min: int = Field(120, ge=1, le=600)
    walk_only_max_min: float | None = Field(
        None, gt=0, le=600,
        description="longest walk-all-the-way alternative of a public-transport journey in "
                    "access and scenario runs, minutes; modes.max_walk_min when unset (set "
                    "max_time_min for DfT JTS 'PT/walk' times)")
    engine: Literal["embedded", "r5"] = "embedded"


class DestinationSet(_Model):
    """A destination type: which loaded rows count, and their capacity."""

    source: Literal["schools", "gp", "jobs", "points"]
    categories: list[str] = Field(default_factory=list, description="categories kept (schools)")
    include_sixth_forms: bool = Field(
        False, description="schools: also every school with a sixth form (post-16 sets)")
    path: str | None = Field(None, description="for source 'points': a CSV with id,lon,lat")
    thresholds_min: list[int] = Field(default_factory=lambda: [30, 60])
    arrive_by: Hhmm | None = None
    return_journey: ReturnJourney | None = None


class Study(_Model):
    """A whole study file."""

    area: Area
    data: DataSources
    departure_windows: list[DepartureWindow] = Field(
        default_factory=lambda: [DepartureWindow(name="am_peak", start="07:00", end="10:00")]
    )
    modes: Modes = Field(default_factory=Modes)
    routing: Routing = Field(default_factory=Routing)
    destinations: dict[str, DestinationSet] = Field(default_factory=dict)
    scenarios: list[str] = Field(default_factory=list, description="scenario YAML files")
    cost_per_vehicle_hour_gbp: float = Field(60.0, ge=0)

    # Filled by load_study, not read from YAML.
    config_path: Path | None = Field(None, exclude=True)
    data_root: Path | None = Field(None, exclude=True)

    def resolve(self, relative: str | os.PathLike[str], *, must_exist: bool = True) -> Path:
        """Return a data path resolved against the data root.

        Parameters
        ----------
        relative : path-like
            A path from the study file; absolute paths are kept as they are.
        must_exist : bool
            Raise :class:`MissingFileError` when the path does not exist.

        Returns
        -------
        pathlib.Path
        """
        path = Path(os.path.expandvars(os.path.expanduser(str(relative))))
        if not path.is_absolute():
            root = self.data_root or Path.cwd()
            path = root / path
        if must_exist and not path.exists():
            raise MissingFileError(
                path,
                "does not exist.",
                f"Check the path in {self.config_path or 'the study file'} and the data root "
                f"({self.data_root}); set --data-root or {DATA_ROOT_ENV}, or run "
                "`transport-access fetch` to download the official files.",
            )
        return path

    def resolve_scenario(self, relative: str) -> Path:
        """Return a scenario file path, relative to the study file's folder."""
        path = Path(relative)
        if not path.is_absolute() and self.config_path is not None:
            path = self.config_path.parent / path
        if not path.exists():
            raise MissingFileError(path, "scenario file does not exist.", "Fix `scenarios:`.")
        return path


def _format_validation_error(source: str, error: ValidationError) -> str:
    lines = [f"{source}: the study file is invalid:"]
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key (misspelt, or not a setting of this section)"
        elif item["type"] == "missing":
            message = "required key is missing"
        lines.append(f"  {key}: {message}")
    return "\n".join(lines)


def study_from_dict(
    data: dict[str, Any], *, source: str = "<study>", data_root: str | Path | None = None
) -> Study:
    """Validate a study given as a dict (already parsed YAML).

    Parameters
    ----------
    data : dict
        The parsed study.
    source : str
        Where it came from, named in errors.
    data_root : path-like, optional
        Folder against which data paths are resolved.

    Returns
    -------
    Study
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the study file must be a YAML mapping, got {type(data)}")
    try:
        study = Study.model_validate(data)
    except ValidationError as error:
        raise ConfigError(_format_validation_error(source, error)) from None
    study.data_root = Path(data_root).resolve() if data_root else None
    return study


def load_study(
    path: str | os.PathLike[str], *, data_root: str | os.PathLike[str] | None = None
) -> Study:
    """Read and validate a study file.

    Parameters
    ----------
    path : path-like
        The YAML study file.
    data_root : path-like, optional
        Folder the data paths are relative to. Defaults to ``TRANSPORT_ACCESS_DATA``, or else
        the study file's folder.

    Returns
    -------
    Study
        With ``config_path`` and ``data_root`` set.

    Raises
    ------
    MissingFileError
        The study file does not exist.
    ConfigError
        The YAML cannot be parsed or a key is missing, misspelt or invalid.
    """
    path = Path(path)
    if not path.exists():
        raise MissingFileError(path, "study file does not exist.", "Give the path to a YAML file.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    root = data_root or os.environ.get(DATA_ROOT_ENV) or path.parent
    study = study_from_dict(data, source=str(path), data_root=root)
    study.config_path = path.resolve()
    return study
