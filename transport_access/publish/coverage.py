"""What the loaded timetables cover, in words for the report and a line for the maps.

An LSOA whose buses are not in the loaded timetables shows as having no public-transport
access, or as walking only, however good its real service. The report opens with this note
and every map that uses the timetables says which ones it used, so nobody reads a gap in
the data as a gap in the network.

Typical use (what ``make demo`` does)::

    from transport_access.publish.coverage import compute_timetable_coverage
    coverage = compute_timetable_coverage(data.timetables, feed=data.feed, stops=data.stops,
                                          service_date=data.service_date)
    coverage.report_note()   # the report's opening warning
    coverage.map_line()      # one line under the subtitle of the public-transport maps
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd

from transport_access.publish._style import format_number

_FORMAT_NAMES = {"transxchange": "TransXChange", "cif": "CIF", "gtfs": "GTFS"}
#: Lines listed by name up to this many; more are counted only.
_MAX_LINES_NAMED = 8


@dataclass(frozen=True)
class FeedCoverage:
    """One loaded timetable feed.

    Attributes
    ----------
    name, format, mode : str
        As in the study file (``"tnds"``, ``"transxchange"``, ``"bus"``).
    service_days : tuple of str
        ISO dates the feed's trips were taken from (TransXChange: one per service).
    trips : int
        Trips on the routing day.
    routes, stops : int
        Routes and stops in the feed.
    lines : tuple of str
        Line names (route short names) with trips on the routing day.
    lines_not_running : tuple of str
        Lines in the files with no trip on the routing day.
    """

    name: str
    format: str
    mode: str
    service_days: tuple[str, ...]
    trips: int
    routes: int
    stops: int
    lines: tuple[str, ...] = ()
    lines_not_running: tuple[str, ...] = ()

    @property
    def years(self) -> str:
        """``"2014"`` or ``"2014-2015"``: the years of the service days."""
        years = sorted({d[:4] for d in self.service_days if d[:4].isdigit()})
        if not years:
            return "date unknown"
        return years[0] if len(years) == 1 else f"{years[0]}-{years[-1]}"

    def describe(self, *, long: bool = False) -> str:
        """``"tnds (bus, TransXChange, 2014): lines 16, 20, 24 and M1, 365 trips"``.

        ``long`` adds the lines without a trip that day and the days the trips come from.
        """
        kind = ", ".join(dict.fromkeys(
            p for p in (self.mode if self.mode != self.name else "",
                        _FORMAT_NAMES.get(self.format, self.format), self.years) if p))
        parts = []
        if self.lines and self.mode != "rail":
            parts.append(_lines(self.lines))
            if long and self.lines_not_running:
                parts[-1] += (f" ({_lines(self.lines_not_running)} "
                              f"{'has' if len(self.lines_not_running) == 1 else 'have'} no "
                              "trip that day)")
        parts.append(_count(self.trips, "train" if self.mode == "rail" else "trip"))
        if long and self.service_days:
            parts.append(f"from {_and(self.service_days)}")
        return f"{self.name} ({kind}): {', '.join(parts)}"


@dataclass(frozen=True)
class TimetableCoverage:
    """The timetables a run used, and how much of the area's stops they serve.

    Attributes
    ----------
    feeds : tuple of FeedCoverage
    routing_date : str or None
        ISO date every feed was aligned to and routed on.
    stops_in_area : int or None
        NaPTAN stops loaded for the area (bus stops, ferry and tram stops: not railway
        stations, which NaPTAN lists separately).
    stops_served : int or None
        Those of them with a departure on the routing day in the loaded timetables.
    """

    feeds: tuple[FeedCoverage, ...]
    routing_date: str | None = None
    stops_in_area: int | None = None
    stops_served: int | None = None

    @property
    def trips(self) -> int:
        """Trips on the routing day, all feeds."""
        return sum(f.trips for f in self.feeds)

    def stops_phrase(self) -> str:
        """``"they serve 409 of the area's 4,985 NaPTAN stops (8%; ...)"``, or ``""``."""
        if not self.stops_in_area or self.stops_served is None:
            return ""
        share = self.stops_served / self.stops_in_area
        return (f"they serve {format_number(self.stops_served)} of the area's "
                f"{format_number(self.stops_in_area)} NaPTAN stops ({share:.0%}; railway "
                "stations not counted)")

    def report_note(self) -> str:
        """The report's opening warning: which timetables, how many trips, which days.

        Returns
        -------
        str
            Plain text, several sentences (the report heads it "Data coverage").
        """
        if not self.feeds:
            return ("No timetables were loaded: every neighbourhood shows as having no "
                    "public-transport access, and public-transport times are walking times.")
        day = (f", all routed as if on {_long_date(self.routing_date)}" if self.routing_date
               else "")
        text = ("Public-transport times come only from the timetables loaded for this run, "
                f"{_count(len(self.feeds), 'feed')} with "
                f"{format_number(self.trips)} trips on the day{day}: "
                + "; ".join(f.describe(long=True) for f in self.feeds) + ".")
        stops = self.stops_phrase()
        if stops:
            text += f" Between them {stops}."
        return (text + " Neighbourhoods whose buses are not in these files show as having no "
                "public-transport access (or walking only), however good their real service: "
                "read the maps and tables as what these timetables serve, not as the whole "
                "network.")

    def map_line(self) -> str:
        """One short line for the maps that use the timetables.

        Returns
        -------
        str
            ``"Timetables: tnds (bus, TransXChange, 2014): ...; rail (CIF, 2020): 22 trains.
            Areas they miss show no public-transport access."``
        """
        if not self.feeds:
            return "No timetables loaded: public-transport times are walking times."
        return ("Timetables: " + "; ".join(f.describe() for f in self.feeds)
                + ". Areas they miss show no public-transport access.")


def _and(items: tuple[str, ...] | list[str]) -> str:
    """``"a, b and c"``."""
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _lines(names: tuple[str, ...]) -> str:
    """``"line 16"``, ``"lines 16, 20 and M1"``, ``"12 lines (16, 20, ...)"``."""
    if len(names) == 1:
        return f"line {names[0]}"
    if len(names) <= _MAX_LINES_NAMED:
        return f"lines {_and(names)}"
    return f"{len(names)} lines ({', '.join(names[:_MAX_LINES_NAMED])}, ...)"


def _count(n: int, noun: str) -> str:
    return f"{format_number(n)} {noun}{'' if n == 1 else 's'}"


def _long_date(iso: str) -> str:
    try:
        return dt.date.fromisoformat(iso).strftime("%A %-d %B %Y")
    except ValueError:
        return iso


def _without_prefix(ids: pd.Series, name: str) -> pd.Series:
    """Feed IDs without the ``{feed}:`` prefix merged feeds give them."""
    ids = ids.astype("string")
    prefix = f"{name}:"
    return ids.where(~ids.str.startswith(prefix), ids.str.slice(len(prefix)))


def compute_timetable_coverage(
    timetables: pd.DataFrame | None,
    *,
    feed: Any = None,
    stops: pd.DataFrame | None = None,
    service_date: dt.date | str | None = None,
) -> TimetableCoverage:
    """Summarise the loaded timetables for the report and the maps.

    Parameters
    ----------
    timetables : pandas.DataFrame or None
        One row per feed, as ``StudyData.timetables`` (``timetables.csv``): ``name``,
        ``format``, ``mode``, ``service_day`` (ISO dates joined by ``", "``), ``trips`` (on
        the routing day), ``routes``, ``stops``.
    feed : gtfs_kit.Feed, optional
        The merged feed (``StudyData.feed``; IDs prefixed ``{name}:``): line names with and
        without trips, and the stops it serves.
    stops : pandas.DataFrame, optional
        NaPTAN stops of the area (``StudyData.stops``, ``atco_code``): how many the
        timetables serve.
    service_date : datetime.date or str, optional
        The routing date.

    Returns
    -------
    TimetableCoverage
    """
    rows = [] if timetables is None else timetables.to_dict("records")
    routes = trips = None
    if feed is not None and getattr(feed, "routes", None) is not None:
        routes, trips = feed.routes, feed.trips
    feeds = []
    for row in rows:
        name = str(row["name"])
        lines: tuple[str, ...] = ()
        idle: tuple[str, ...] = ()
        if routes is not None and trips is not None:
            mine = routes[routes["route_id"].astype("string").str.startswith(f"{name}:")]
            label = mine["route_short_name"].astype("string").fillna(
                _without_prefix(mine["route_id"], name))
            running = mine["route_id"].isin(set(trips["route_id"]))
            lines = tuple(sorted(set(label[running]), key=_natural))
            idle = tuple(sorted(set(label[~running]) - set(lines), key=_natural))
        days = tuple(d.strip() for d in str(row.get("service_day") or "").split(",")
                     if d.strip())
        feeds.append(FeedCoverage(
            name=name, format=str(row.get("format", "")), mode=str(row.get("mode", "")),
            service_days=days, trips=int(row.get("trips", 0)), routes=int(row.get("routes", 0)),
            stops=int(row.get("stops", 0)), lines=lines, lines_not_running=idle))

    in_area = served = None
    if stops is not None and "atco_code" in stops.columns:
        in_area = int(stops["atco_code"].nunique())
        if feed is not None and getattr(feed, "stop_times", None) is not None:
            ids = feed.stop_times["stop_id"].drop_duplicates().astype("string")
            # Strip whichever feed's prefix an ID carries.
            plain = ids
            for f in feeds:
                plain = _without_prefix(plain, f.name)
            served = int(stops["atco_code"].astype("string").isin(set(plain)).sum())
    date = service_date.isoformat() if isinstance(service_date, dt.date) else service_date
    return TimetableCoverage(feeds=tuple(feeds), routing_date=date, stops_in_area=in_area,
                             stops_served=served)


def _natural(name: str) -> tuple[int, int, str]:
    """Line names in natural order: 2, 16, 20, M1, X3."""
    return (0, int(name), "") if name.isdigit() else (1, 0, name)
