"""Reading OpenStreetMap highways with pyosmium, per-mode usability rules and car speeds.

The rules below decide which ways each mode may use. They follow the OSM wiki's access
conventions for the United Kingdom, and are deliberately simple:

* **walk**: ``highway`` in :data:`WALK_HIGHWAYS` (footways, paths, steps, pedestrian streets,
  platforms, cycleways, bridleways, tracks and every road class except motorways); all ways
  are walkable in both directions.
* **cycle**: ``highway`` in :data:`CYCLE_HIGHWAYS` (roads except motorways, cycleways, paths,
  tracks, bridleways); footways, pedestrian streets and steps only when ``bicycle`` is
  ``yes``, ``designated`` or ``permissive`` (cycling on footways is not allowed in England by
  default). One-way streets bind cyclists unless ``oneway:bicycle=no``.
* **car**: ``highway`` in :data:`CAR_HIGHWAYS`; service roads tagged ``service`` =
  ``parking_aisle``, ``driveway``, ``emergency_access`` or ``private`` are left out, as are
  ``area=yes`` ways. ``oneway`` is respected (``yes``/``true``/``1``, and ``-1``/``reverse``
  for travel against the drawing direction); roundabouts and motorways are one-way unless
  tagged ``oneway=no``.

Access: the most specific tag present decides (walk: ``foot``; cycle: ``bicycle``, then
``vehicle``; car: ``motorcar``, ``motor_vehicle``, ``vehicle``), else ``access``. Values in
:data:`NO_ACCESS` (``no``, ``private``, ``agricultural``, ``forestry``, ``military``,
``emergency``) exclude the way for that mode; anything else (``destination``, ``customers``,
``permissive``...) allows it.

Car speeds (km/h) come from ``maxspeed`` (see :func:`parse_maxspeed_kmh`), else from the
road class defaults for England in :data:`CAR_DEFAULT_SPEED_MPH`. Those defaults are typical
free-flow speeds, not speed limits: unclassified lanes and residential streets are slower
than their legal limit. ``maxspeed=national`` (and ``GB:nsl_single``) means 60 mph on
trunk, primary, secondary and tertiary roads, 70 mph on motorways, and the class default on
minor roads, where the national limit is a ceiling far above real speeds.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from transport_access._log import get_logger

log = get_logger(__name__)

KMH_PER_MPH = 1.609344
KMH_PER_KNOT = 1.852

MODES = ("walk", "cycle", "car")

_ROADS = {
    "trunk", "trunk_link", "primary", "primary_link", "secondary", "secondary_link",
    "tertiary", "tertiary_link", "unclassified", "residential", "living_street", "service",
    "road",
}
WALK_HIGHWAYS = frozenset(
    _ROADS
    | {"footway", "path", "pedestrian", "steps", "track", "cycleway", "bridleway", "corridor",
       "platform"}
)
CYCLE_HIGHWAYS = frozenset(_ROADS | {"cycleway", "path", "track", "bridleway"})
CYCLE_IF_ALLOWED = frozenset({"footway", "pedestrian", "steps"})
CAR_HIGHWAYS = frozenset(_ROADS | {"motorway", "motorway_link"})
CAR_EXCLUDED_SERVICE = frozenset({"parking_aisle", "driveway", "emergency_access", "private"})

NO_ACCESS = frozenset({"no", "private", "agricultural", "forestry", "military", "emergency"})
_EXPLICIT_YES = frozenset({"yes", "designated", "permissive"})
_ACCESS_KEYS = {
    "walk": ("foot", "access"),
    "cycle": ("bicycle", "vehicle", "access"),
    "car": ("motorcar", "motor_vehicle", "vehicle", "access"),
}

#: Typical free-flow car speeds in England by road class, mph, where ``maxspeed`` is absent.
CAR_DEFAULT_SPEED_MPH = {
    "motorway": 70.0,
    "motorway_link": 40.0,
    "trunk": 60.0,
    "trunk_link": 40.0,
    "primary": 50.0,
    "primary_link": 30.0,
    "secondary": 40.0,
    "secondary_link": 30.0,
    "tertiary": 30.0,
    "tertiary_link": 20.0,
    "unclassified": 25.0,
    "residential": 20.0,
    "living_street": 10.0,
    "service": 10.0,
    "road": 20.0,
}
_NATIONAL_LIMIT_MPH = {"motorway": 70.0, "motorway_link": 70.0}
_NATIONAL_ROADS = frozenset(
    {"trunk", "trunk_link", "primary", "primary_link", "secondary", "secondary_link",
     "tertiary", "tertiary_link"}
)

#: Tags kept from each way; the rest of OSM's tags play no part in routing.
KEPT_TAGS = (
    "highway", "access", "foot", "bicycle", "vehicle", "motor_vehicle", "motorcar", "oneway",
    "oneway:bicycle", "junction", "maxspeed", "area", "service",
)

_NUMBER_UNIT = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*(mph|km/h|kmh|kph|knots)?\s*$", re.IGNORECASE)
_ZONE = re.compile(r"^([A-Z]{2}):zone:?(\d+)$", re.IGNORECASE)


def parse_maxspeed_kmh(value: str | None, *, highway: str | None = None) -> float | None:
    """Read an OSM ``maxspeed`` value as km/h.

    Parameters
    ----------
    value : str or None
        The tag value: ``"50"`` (km/h, OSM's default unit), ``"30 mph"``, ``"10 knots"``,
        ``"national"``, ``"GB:nsl_single"``, ``"GB:nsl_dual"``, ``"GB:motorway"``,
        ``"GB:urban"`` (30 mph), ``"GB:zone20"``, or several values separated by ``;``
        (the lowest is taken, a cautious reading of a way whose limit changes).
    highway : str, optional
        The way's ``highway`` class; it decides what the national speed limit means
        (60 mph on A and B roads, 70 mph on motorways, ``None`` on minor roads so that the
        class default applies).

    Returns
    -------
    float or None
        Speed in km/h, or ``None`` when the value is missing, not positive or not understood
        (``"none"``, ``"signals"``, ``"walk"``, other countries' implicit limits, garbage).
    """
    if value is None:
        return None
    speeds = [_parse_one(part.strip(), highway) for part in str(value).split(";")]
    known = [s for s in speeds if s is not None]
    return min(known) if known else None


def _parse_one(text: str, highway: str | None) -> float | None:
    match = _NUMBER_UNIT.match(text)
    if match:
        number = float(match.group(1).replace(",", "."))
        unit = (match.group(2) or "km/h").lower()
        factor = KMH_PER_MPH if unit == "mph" else KMH_PER_KNOT if unit == "knots" else 1.0
        return number * factor if number > 0 else None
    lowered = text.lower()
    if lowered in {"national", "gb:nsl_single", "uk:nsl_single", "gb:national", "uk:national"}:
        if highway in _NATIONAL_LIMIT_MPH:
            return _NATIONAL_LIMIT_MPH[highway] * KMH_PER_MPH
        return 60.0 * KMH_PER_MPH if highway in _NATIONAL_ROADS else None
    if lowered in {"gb:nsl_dual", "uk:nsl_dual", "gb:motorway", "uk:motorway"}:
        return 70.0 * KMH_PER_MPH
    if lowered in {"gb:urban", "uk:urban", "gb:nsl_restricted", "uk:nsl_restricted"}:
        return 30.0 * KMH_PER_MPH
    zone = _ZONE.match(text)
    if zone:
        number = float(zone.group(2))
        mph = zone.group(1).upper() in {"GB", "UK"}
        return number * (KMH_PER_MPH if mph else 1.0) if number > 0 else None
    return None


def car_speed_kmh(tags: dict[str, str], *, default_speed_kmh: float) -> float:
    """Car speed on a way in km/h: ``maxspeed`` if understood, else the class default.

    Parameters
    ----------
    tags : dict
        The way's OSM tags.
    default_speed_kmh : float
        Speed for a road class missing from :data:`CAR_DEFAULT_SPEED_MPH`.

    Returns
    -------
    float
    """
    highway = tags.get("highway")
    tagged = parse_maxspeed_kmh(tags.get("maxspeed"), highway=highway)
    if tagged is not None:
        return tagged
    mph = CAR_DEFAULT_SPEED_MPH.get(highway or "")
    return mph * KMH_PER_MPH if mph is not None else default_speed_kmh


def usable_by(mode: str, tags: dict[str, str]) -> bool:
    """Whether a way may be used by ``mode`` (``"walk"``, ``"cycle"`` or ``"car"``).

    Parameters
    ----------
    mode : str
    tags : dict
        The way's OSM tags.

    Returns
    -------
    bool
    """
    highway = tags.get("highway", "")
    if mode == "walk":
        allowed = highway in WALK_HIGHWAYS
    elif mode == "cycle":
        allowed = highway in CYCLE_HIGHWAYS or (
            highway in CYCLE_IF_ALLOWED and tags.get("bicycle") in _EXPLICIT_YES
        )
        allowed = allowed and tags.get("area") != "yes"
    elif mode == "car":
        allowed = (
            highway in CAR_HIGHWAYS
            and tags.get("service") not in CAR_EXCLUDED_SERVICE
            and tags.get("area") != "yes"
        )
    else:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if not allowed:
        return False
    for key in _ACCESS_KEYS[mode]:
        if key in tags:
            return tags[key] not in NO_ACCESS
    return True


def oneway_for(mode: str, tags: dict[str, str]) -> str:
    """Direction rule of a way for ``mode``: ``"no"``, ``"yes"`` or ``"-1"`` (against order).

    Parameters
    ----------
    mode : str
    tags : dict
        The way's OSM tags.

    Returns
    -------
    str
    """
    if mode == "walk":
        return "no"
    oneway = tags.get("oneway", "").lower()
    if mode == "cycle" and tags.get("oneway:bicycle", "").lower() == "no":
        return "no"
    if oneway in {"yes", "true", "1"}:
        return "yes"
    if oneway in {"-1", "reverse"}:
        return "-1"
    if oneway == "no":
        return "no"
    roundabout = tags.get("junction") in {"roundabout", "circular"}
    implied = roundabout or tags.get("highway") == "motorway"
    return "yes" if implied else "no"


@dataclass
class HighwayExtract:
    """Highways read from an OSM file, split where nodes are missing from the extract.

    Attributes
    ----------
    way_osmid : list of int
        OSM id of each way piece (a way cut by missing nodes gives several pieces).
    way_nodes : list of list of int
        Node ids of each piece, in drawing order.
    way_tags : list of dict
        The :data:`KEPT_TAGS` of each piece.
    node_lonlat : dict of int to (float, float)
        Longitude and latitude of every node used, degrees.
    n_ways_read : int
        Ways tagged ``highway`` in the file.
    n_ways_outside_bbox : int
        Ways left out because no node lies in the bounding box.
    n_missing_nodes : int
        Node references without a location in the file (ways are cut there).
    """

    way_osmid: list[int] = field(default_factory=list)
    way_nodes: list[list[int]] = field(default_factory=list)
    way_tags: list[dict[str, str]] = field(default_factory=list)
    node_lonlat: dict[int, tuple[float, float]] = field(default_factory=dict)
    n_ways_read: int = 0
    n_ways_outside_bbox: int = 0
    n_missing_nodes: int = 0


def read_highways(
    path: str | os.PathLike[str],
    *,
    bbox: tuple[float, float, float, float] | None = None,
) -> HighwayExtract:
    """Read every way tagged ``highway`` and its node locations with pyosmium.

    Parameters
    ----------
    path : path-like
        ``.osm.pbf`` (or ``.osm`` XML) file; osmium raises ``RuntimeError`` on anything else.
    bbox : (min_lon, min_lat, max_lon, max_lat), optional
        Keep only ways with at least one node inside, degrees.

    Returns
    -------
    HighwayExtract
    """
    import osmium

    extract = HighwayExtract()
    processor = (
        osmium.FileProcessor(str(path))
        .with_locations()
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        .with_filter(osmium.filter.KeyFilter("highway"))
    )
    for way in processor:
        extract.n_ways_read += 1
        tags = {key: way.tags[key] for key in KEPT_TAGS if key in way.tags}
        pieces: list[list[tuple[int, float, float]]] = [[]]
        for node in way.nodes:
            location = node.location
            if not location.valid():
                extract.n_missing_nodes += 1
                pieces.append([])
                continue
            pieces[-1].append((node.ref, location.lon, location.lat))
        pieces = [p for p in pieces if len(p) >= 2]
        if bbox is not None:
            min_lon, min_lat, max_lon, max_lat = bbox
            inside = any(
                min_lon <= lon <= max_lon and min_lat <= lat <= max_lat
                for piece in pieces
                for _, lon, lat in piece
            )
            if not inside:
                extract.n_ways_outside_bbox += 1
                continue
        for piece in pieces:
            extract.way_osmid.append(way.id)
            extract.way_nodes.append([ref for ref, _, _ in piece])
            extract.way_tags.append(tags)
            for ref, lon, lat in piece:
                extract.node_lonlat[ref] = (lon, lat)
    return extract


def write_mode_xml(extract: HighwayExtract, mode: str, path: str | os.PathLike[str]) -> list[int]:
    """Write the ways usable by ``mode`` and their nodes to an OSM XML file for osmnx.

    Each written way keeps only ``highway`` and a ``oneway`` normalised by
    :func:`oneway_for`, so osmnx's own one-way rules see exactly our decision. Ways are
    renumbered ``1..n`` because one OSM way may have been cut into pieces.

    Parameters
    ----------
    extract : HighwayExtract
    mode : str
    path : path-like
        Output ``.osm`` file (overwritten).

    Returns
    -------
    list of int
        Index into ``extract`` of written way ``k + 1``, for ``k`` in ``0..n-1``.
    """
    import osmium
    from osmium.osm import Location, mutable

    chosen = [i for i, tags in enumerate(extract.way_tags) if usable_by(mode, tags)]
    node_ids = sorted({ref for i in chosen for ref in extract.way_nodes[i]})
    with osmium.SimpleWriter(str(Path(path)), overwrite=True) as writer:
        for ref in node_ids:
            lon, lat = extract.node_lonlat[ref]
            writer.add_node(mutable.Node(id=ref, location=Location(lon, lat)))
        for new_id, i in enumerate(chosen, start=1):
            tags = extract.way_tags[i]
            out_tags = {"highway": tags["highway"], "oneway": oneway_for(mode, tags)}
            writer.add_way(mutable.Way(id=new_id, nodes=extract.way_nodes[i], tags=out_tags))
    return chosen


def count_by(values: Iterable[str]) -> dict[str, int]:
    """Count occurrences of each value, most frequent first."""
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: -item[1]))
