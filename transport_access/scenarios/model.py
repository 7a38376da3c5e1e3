"""Scenario files: a name, a description and a list of modifications to the baseline timetable.

A scenario is one YAML document, validated on load with pydantic. Each modification has a
``type`` that selects its keys::

    name: portland_link
    description: A new Portland - Weymouth - Dorchester bus every 30 minutes.
    modifications:
      - type: add_route
        short_name: P1
        stops: [{atco: 1200DOB20048}, {name: Chickerell Road, lon: -2.47, lat: 50.62}]
        days: [mon, tue, wed, thu, fri]
        first_departure: "07:00"
        last_departure: "19:00"
        headway_min: 30
        both_directions: true

The types are ``add_route``, ``change_frequency``, ``change_hours``, ``remove_route``,
``remove_trips``, ``change_speed`` and ``add_drt_zone``; their keys and rules are documented
on the classes below and in :mod:`transport_access.scenarios.edits`. Times are ``"HH:MM"``
after midnight of the service day (hours may exceed 23). Errors name the file, the
modification's index and type, and the key, for example::

    configs/scenarios/x.yaml: the scenario file is invalid:
      modifications[1] (change_frequency).headway_min: Input should be greater than 0

Checks that need the timetable or the stops (unknown route, unknown ATCO code) happen when
the scenario is applied (:func:`transport_access.scenarios.edits.apply_scenario`) and raise
:class:`~transport_access.errors.ScenarioError` worded the same way.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from transport_access.config import Hhmm as _Hhmm
from transport_access.config import parse_hhmm
from transport_access.errors import MissingFileError, ScenarioError

#: Day keys of scenario files, Monday first (the order of ``datetime.date.weekday``).
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAYS = list(DAYS[:5])

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def _yaml_sexagesimal(value: Any) -> Any:
    # YAML 1.1 reads an unquoted 19:00 as the base-60 integer 1140 (but 07:00 as a string):
    # turn such integers back into the "HH:MM" the planner wrote.
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return f"{value // 60:02d}:{value % 60:02d}"
    return value


Hhmm = Annotated[_Hhmm, BeforeValidator(_yaml_sexagesimal)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _check_days(days: list[str]) -> None:
    if not days:
        raise ValueError("days: give at least one day (mon, tue, wed, thu, fri, sat, sun)")
    repeated = sorted({d for d in days if days.count(d) > 1})
    if repeated:
        raise ValueError(f"days: {repeated} repeated")


class StopRef(_Model):
    """A stop of a new route: a NaPTAN ATCO code, or a new stop at lon/lat with a name."""

    atco: str | None = Field(None, description="NaPTAN ATCO code, e.g. 1200DOB20048")
    name: str | None = Field(None, description="name of a new stop (required with lon/lat)")
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)

    @model_validator(mode="after")
    def _one_kind(self) -> StopRef:
        has_point = self.lon is not None or self.lat is not None
        if self.atco and has_point:
            raise ValueError("give either atco or lon/lat, not both")
        if not self.atco:
            if self.lon is None or self.lat is None:
                raise ValueError("a stop needs an atco code, or lon and lat (and a name)")
            if not self.name:
                raise ValueError("a new stop at lon/lat needs a name")
        return self


class AddRoute(_Model):
    """A new bus route.

    Running times between consecutive stops are either given (``running_times_min``, one
    per gap, departure from a stop to arrival at the next) or taken from car times on the
    street graph (or the straight-line fallback) times ``car_time_factor``. ``dwell_s`` is
    added at every intermediate stop (default 0 with given running times, 30 s with car
    times). Departures from the first stop are ``first_departure``, then every
    ``headway_min`` up to and including ``last_departure``; or the explicit ``departures``.
    """

    type: Literal["add_route"]
    short_name: str = Field(description="route_short_name, e.g. P1")
    long_name: str = ""
    operator: str = Field("Community transport", description="agency name")
    route_type: int = Field(3, ge=0, description="GTFS route_type; 3 = bus")
    stops: list[StopRef] = Field(min_length=2)
    days: list[Day] = Field(default_factory=lambda: list(WEEKDAYS))
    first_departure: Hhmm | None = None
    last_departure: Hhmm | None = None
    headway_min: float | None = Field(None, gt=0)
    departures: list[Hhmm] | None = Field(None, min_length=1)
    running_times_min: list[float] | None = None
    car_time_factor: float = Field(1.2, gt=0, description="bus time = car time x this")
    dwell_s: int | None = Field(None, ge=0)
    both_directions: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> AddRoute:
        _check_days(list(self.days))
        if self.departures is not None:
            if any(v is not None for v in (self.first_departure, self.last_departure,
                                           self.headway_min)):
                raise ValueError(
                    "give either departures, or first_departure/last_departure/headway_min"
                )
            minutes = [parse_hhmm(d) for d in self.departures]
            if minutes != sorted(minutes):
                raise ValueError("departures must be in increasing order")
        else:
            missing = [k for k in ("first_departure", "last_departure", "headway_min")
                       if getattr(self, k) is None]
            if missing:
                raise ValueError(f"{', '.join(missing)} missing (or give departures)")
            if parse_hhmm(self.first_departure) > parse_hhmm(self.last_departure):
                raise ValueError(
                    f"first_departure {self.first_departure} is after last_departure "
                    f"{self.last_departure}"
                )
        if self.running_times_min is not None:
            if len(self.running_times_min) != len(self.stops) - 1:
                raise ValueError(
                    f"running_times_min has {len(self.running_times_min)} values; "
                    f"{len(self.stops)} stops need {len(self.stops) - 1} (one per gap)"
                )
            if any(t < 0 for t in self.running_times_min):
                raise ValueError("running_times_min must not be negative")
        return self

    def departure_minutes(self) -> list[int]:
        """Departures from the first stop, minutes after midnight."""
        if self.departures is not None:
            return [parse_hhmm(d) for d in self.departures]
        first, last = parse_hhmm(self.first_departure), parse_hhmm(self.last_departure)
        out, k = [], 0
        while first + k * self.headway_min <= last + 1e-9:
            out.append(first + k * self.headway_min)
            k += 1
        return out


class _Routes(_Model):
    routes: list[str] = Field(
        min_length=1, description="route IDs (with or without the feed prefix) or short names"
    )


class _Period(_Model):
    start: Hhmm = Field(alias="from", description="period start, inclusive")
    end: Hhmm = Field(alias="to", description="period end, exclusive")

    @model_validator(mode="after")
    def _ordered(self) -> _Period:
        if parse_hhmm(self.end) <= parse_hhmm(self.start):
            raise ValueError(f"from {self.start} must be before to {self.end}")
        return self


class ChangeFrequency(_Routes, _Period):
    """Trips departing in ``[from, to)`` replaced by trips every ``headway_min`` from ``from``.

    See :func:`transport_access.scenarios.edits.apply_scenario` for the template rule.
    """

    type: Literal["change_frequency"]
    headway_min: float = Field(gt=0)


class ChangeHours(_Routes):
    """The service span moved: earlier first or later last departures, or a shorter day.

    New trips run at the route's headway at that end of the day (median of the last three
    gaps between departures, or ``headway_min`` when given).
    """

    type: Literal["change_hours"]
    first_departure: Hhmm | None = None
    last_departure: Hhmm | None = None
    headway_min: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _something(self) -> ChangeHours:
        if self.first_departure is None and self.last_departure is None:
            raise ValueError("give first_departure, last_departure or both")
        if (
            self.first_departure is not None
            and self.last_departure is not None
            and parse_hhmm(self.first_departure) > parse_hhmm(self.last_departure)
        ):
            raise ValueError(
                f"first_departure {self.first_departure} is after last_departure "
                f"{self.last_departure}"
            )
        return self


class RemoveRoute(_Routes):
    """Routes withdrawn: their trips (every day), stop times and route rows removed."""

    type: Literal["remove_route"]


class RemoveTrips(_Model):
    """Trips removed: by ID, or the trips of ``routes`` departing in ``[from, to)``."""

    type: Literal["remove_trips"]
    trip_ids: list[str] | None = Field(None, min_length=1)
    routes: list[str] | None = Field(None, min_length=1)
    start: Hhmm | None = Field(None, alias="from")
    end: Hhmm | None = Field(None, alias="to")

    @model_validator(mode="after")
    def _selection(self) -> RemoveTrips:
        if (self.trip_ids is None) == (self.routes is None):
            raise ValueError("give either trip_ids or routes (with from/to)")
        if self.trip_ids is not None and (self.start or self.end):
            raise ValueError("from/to select trips of routes; not with trip_ids")
        if self.start and self.end and parse_hhmm(self.end) <= parse_hhmm(self.start):
            raise ValueError(f"from {self.start} must be before to {self.end}")
        return self


class ChangeSpeed(_Routes):
    """Running times between stops multiplied by ``factor`` (0.9 = 10% faster); dwell and
    the departure from the first stop are kept."""

    type: Literal["change_speed"]
    factor: float = Field(gt=0, le=5)


class AddDrtZone(_Model):
    """A demand-responsive (dial-a-ride) zone; see :mod:`transport_access.scenarios.drt`."""

    type: Literal["add_drt_zone"]
    name: str = Field(pattern=_NAME.pattern)
    polygon: list[tuple[float, float]] | None = Field(
        None, description="closed ring of [lon, lat] pairs (first pair repeated last)"
    )
    geojson: str | None = Field(None, description="GeoJSON file of one (multi)polygon")
    days: list[Day] = Field(default_factory=lambda: list(WEEKDAYS))
    start: Hhmm = Field("07:00", description="first time a DRT leg may start")
    end: Hhmm = Field("19:00", description="DRT legs start before this time")
    wait_min: float = Field(20.0, ge=0, description="booking/waiting time of every DRT leg")
    detour_factor: float = Field(1.3, ge=1.0, le=5.0, description="drive time = car time x this")
    vehicles: int = Field(1, ge=1)
    hubs: list[str] = Field(default_factory=list, description="ATCO codes of hub stops")

    @model_validator(mode="after")
    def _shape(self) -> AddDrtZone:
        _check_days(list(self.days))
        if parse_hhmm(self.end) <= parse_hhmm(self.start):
            raise ValueError(f"end {self.end} must be after start {self.start}")
        if (self.polygon is None) == (self.geojson is None):
            raise ValueError("give either polygon (a list of [lon, lat]) or geojson (a file)")
        if self.polygon is not None:
            ring = self.polygon
            if len(ring) < 4:
                raise ValueError(
                    f"polygon has {len(ring)} points; a closed ring needs at least 4 "
                    "(3 corners and the first repeated)"
                )
            if tuple(ring[0]) != tuple(ring[-1]):
                raise ValueError(
                    f"polygon is not closed: the last point {list(ring[-1])} must repeat "
                    f"the first {list(ring[0])}"
                )
            if any(not (-180 <= x <= 180 and -90 <= y <= 90) for x, y in ring):
                raise ValueError("polygon points must be [lon, lat] in degrees")
            _check_polygon(ring)
        return self


def _check_polygon(ring: list[tuple[float, float]]) -> Any:
    from shapely import Polygon
    from shapely.validation import explain_validity

    polygon = Polygon(ring)
    if not polygon.is_valid or polygon.area == 0:
        raise ValueError(f"polygon is not a valid area: {explain_validity(polygon)}")
    return polygon


Modification = Annotated[
    AddRoute | ChangeFrequency | ChangeHours | RemoveRoute | RemoveTrips | ChangeSpeed
    | AddDrtZone,
    Field(discriminator="type"),
]


class Scenario(_Model):
    """A whole scenario file."""

    name: str = Field(pattern=_NAME.pattern, description="short ID; prefixes added IDs")
    description: str = ""
    modifications: list[Modification] = Field(min_length=1)

    # Filled by load_scenario, not read from YAML.
    source: str = Field("<scenario>", exclude=True)
    drt_polygons: dict[int, Any] = Field(default_factory=dict, exclude=True)

    def where(self, index: int, key: str | None = None) -> str:
        """Text naming a modification in messages: ``file: modifications[2] (type).key``."""
        kind = self.modifications[index].type
        text = f"{self.source}: modifications[{index}] ({kind})"
        return f"{text}.{key}" if key else text

    def drt_polygon(self, index: int) -> Any:
        """The shapely (multi)polygon of the ``add_drt_zone`` modification at ``index``."""
        if index in self.drt_polygons:
            return self.drt_polygons[index]
        mod = self.modifications[index]
        if not isinstance(mod, AddDrtZone) or mod.polygon is None:
            raise ScenarioError(f"{self.where(index)}: no polygon loaded")
        return _check_polygon(mod.polygon)


def _format_error(source: str, error: ValidationError, data: Any) -> str:
    lines = [f"{source}: the scenario file is invalid:"]
    modifications = data.get("modifications") if isinstance(data, dict) else None
    for item in error.errors():
        loc = list(item["loc"])
        parts: list[str] = []
        if len(loc) >= 2 and loc[0] == "modifications" and isinstance(loc[1], int):
            index = loc[1]
            kind = loc[2] if len(loc) > 2 else None
            if kind is None and isinstance(modifications, list) and index < len(modifications):
                entry = modifications[index]
                kind = entry.get("type") if isinstance(entry, dict) else None
            parts.append(f"modifications[{index}]" + (f" ({kind})" if kind else ""))
            loc = loc[3:]
        key = ".".join(str(p) for p in loc)
        head = parts[0] + (f".{key}" if key else "") if parts else (key or "(top level)")
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key (misspelt, or not a key of this modification type)"
        elif item["type"] == "missing":
            message = "required key is missing"
        elif item["type"] == "union_tag_invalid":
            message = (
                f"unknown type {item.get('input', {}).get('type')!r}; use one of add_route, "
                "change_frequency, change_hours, remove_route, remove_trips, change_speed, "
                "add_drt_zone"
            )
        elif item["type"] == "union_tag_not_found":
            message = "each modification needs a `type` key"
        elif message.startswith("Value error, "):
            message = message[len("Value error, "):]
        lines.append(f"  {head}: {message}")
    return "\n".join(lines)


def scenario_from_dict(data: Any, *, source: str = "<scenario>") -> Scenario:
    """Validate a scenario given as a dict (already parsed YAML).

    Parameters
    ----------
    data : dict
        The parsed scenario.
    source : str
        Where it came from, named in errors.

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        A key is missing, unknown or invalid; the message names the modification and key.
    """
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: a scenario file must be a YAML mapping, got {type(data)}")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as error:
        raise ScenarioError(_format_error(source, error, data)) from None
    scenario.source = source
    return scenario


def _read_geojson(path: Path, where: str) -> Any:
    from shapely.geometry import shape
    from shapely.ops import unary_union

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ScenarioError(f"{where}: cannot read {path} as GeoJSON: {error}") from None
    kind = document.get("type") if isinstance(document, dict) else None
    if kind == "FeatureCollection":
        geometries = [f.get("geometry") for f in document.get("features", [])]
    elif kind == "Feature":
        geometries = [document.get("geometry")]
    else:
        geometries = [document]
    try:
        shapes = [shape(g) for g in geometries if g]
    except (ValueError, AttributeError, TypeError) as error:
        raise ScenarioError(f"{where}: {path} holds no readable geometry: {error}") from None
    polygons = [s for s in shapes if s.geom_type in ("Polygon", "MultiPolygon")]
    if not polygons:
        raise ScenarioError(f"{where}: {path} holds no Polygon or MultiPolygon (lon/lat)")
    area = unary_union(polygons)
    if not area.is_valid or area.area == 0:
        raise ScenarioError(f"{where}: the polygon in {path} is not a valid area")
    return area


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read and validate a scenario file.

    Parameters
    ----------
    path : path-like
        The YAML scenario file. ``geojson`` paths of DRT zones are relative to its folder.

    Returns
    -------
    Scenario
        With ``source`` set to the path, and DRT zone polygons loaded.

    Raises
    ------
    MissingFileError
        The file (or a zone's GeoJSON file) does not exist.
    ScenarioError
        The YAML cannot be parsed, or a key is missing, unknown or invalid.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(path, "scenario file does not exist.", "Check `scenarios:`.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ScenarioError(f"{path}: not valid YAML: {error}") from None
    scenario = scenario_from_dict(data, source=str(path))
    for index, mod in enumerate(scenario.modifications):
        if isinstance(mod, AddDrtZone) and mod.geojson is not None:
            file = Path(mod.geojson)
            if not file.is_absolute():
                file = path.parent / file
            if not file.is_file():
                raise MissingFileError(
                    file, f"GeoJSON of {scenario.where(index, 'geojson')} does not exist.",
                    "Paths are relative to the scenario file's folder.",
                )
            scenario.drt_polygons[index] = _read_geojson(file, scenario.where(index, "geojson"))
    return scenario
