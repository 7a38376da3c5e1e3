"""Vehicle-hours, vehicle-km and operating cost of timetable edits.

The rules (tests hold the code to them):

* A trip's **vehicle-hours** are its revenue time: last timed arrival minus first timed
  departure along ``stop_sequence``. Layover at the termini and dead running to and from the
  depot are not counted, so costs are a lower bound of what an operator would charge.
* A trip's **vehicle-km** are the sum of the great-circle (haversine) distances between its
  consecutive stops. Shapes are not used (the offline feeds have none); roads are longer
  than straight lines, so this too is a lower bound (multiply by a circuity of about 1.3 for
  an estimate of road distance).
* The **cost** of a modification is its net vehicle-hours times the study's
  ``cost_per_vehicle_hour_gbp`` (default 60); a negative cost is a saving.
* Figures are **per day**: for edits of baseline trips, the trips running on the service
  date (a weekday in the studies); for a new route, one day on which it runs (its
  ``days_per_week`` says how many); for a DRT zone, ``vehicles`` x service hours a day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from transport_access.load.gtfs import service_ids_on, time_to_seconds
from transport_access.routing.straight_line import haversine_m

#: Default operating cost of a bus (or DRT minibus) and driver, GBP per vehicle-hour.
DEFAULT_COST_PER_VEHICLE_HOUR_GBP = 60.0

CHANGE_COLUMNS = [
    "scenario",
    "index",
    "type",
    "what",
    "trips_added",
    "trips_removed",
    "trips_changed",
    "vehicle_hours",
    "vehicle_km",
    "cost_per_day_gbp",
    "days_per_week",
    "cost_per_week_gbp",
    "note",
]


def trip_vehicle_stats(feed: Any, trip_ids: Iterable[str]) -> pd.DataFrame:
    """Revenue vehicle-hours and vehicle-km of trips.

    Parameters
    ----------
    feed : gtfs_kit.Feed
        Needs ``stop_times`` and ``stops`` (``stop_lon``, ``stop_lat``).
    trip_ids : iterable of str
        Trips to measure; unknown IDs are absent from the result.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``trip_id``, columns ``first_departure_s`` and ``last_arrival_s``
        (seconds after midnight), ``vehicle_hours`` and ``vehicle_km`` (floats).
    """
    wanted = set(trip_ids)
    stop_times = feed.stop_times[feed.stop_times["trip_id"].isin(wanted)]
    columns = ["first_departure_s", "last_arrival_s", "vehicle_hours", "vehicle_km"]
    if not len(stop_times):
        return pd.DataFrame(columns=columns, index=pd.Index([], name="trip_id"), dtype=float)
    stop_times = stop_times.sort_values(["trip_id", "stop_sequence"], kind="stable")
    arrival = time_to_seconds(stop_times["arrival_time"])
    departure = time_to_seconds(stop_times["departure_time"])
    time_in = arrival.fillna(departure).to_numpy()
    time_out = departure.fillna(arrival).to_numpy()
    trip = stop_times["trip_id"].astype(str).to_numpy()

    coords = feed.stops.set_index(feed.stops["stop_id"].astype(str))[["stop_lon", "stop_lat"]]
    where = coords.reindex(stop_times["stop_id"].astype(str))
    lon, lat = where["stop_lon"].to_numpy(float), where["stop_lat"].to_numpy(float)
    same_trip = np.zeros(len(trip), dtype=bool)
    same_trip[1:] = trip[1:] == trip[:-1]
    step_m = np.zeros(len(trip))
    step_m[1:] = haversine_m(lon[:-1], lat[:-1], lon[1:], lat[1:])
    step_m = np.where(same_trip & np.isfinite(step_m), step_m, 0.0)

    frame = pd.DataFrame({"trip_id": trip, "time_in": time_in, "time_out": time_out,
                          "step_m": step_m})
    grouped = frame.groupby("trip_id", sort=True)
    first = grouped["time_out"].first()  # first non-NaN, i.e. first timed departure
    last = grouped["time_in"].last()
    stats = pd.DataFrame(
        {
            "first_departure_s": first,
            "last_arrival_s": last,
            "vehicle_hours": (last - first) / 3600.0,
            "vehicle_km": grouped["step_m"].sum() / 1000.0,
        }
    )
    stats.index.name = "trip_id"
    return stats


def running_trip_ids(feed: Any, date: dt.date, trip_ids: Iterable[str] | None = None) -> set[str]:
    """Trip IDs whose service runs on ``date`` (by :func:`service_ids_on`).

    Parameters
    ----------
    feed : gtfs_kit.Feed
    date : datetime.date
        The service day.
    trip_ids : iterable of str, optional
        Only these trips are considered; all trips of the feed when not given.

    Returns
    -------
    set of str
    """
    running = service_ids_on(feed, date)
    trips = feed.trips
    if trip_ids is not None:
        trips = trips[trips["trip_id"].isin(set(trip_ids))]
    return set(trips.loc[trips["service_id"].astype(str).isin(running), "trip_id"].astype(str))


@dataclass
class ModificationChange:
    """What one modification changed, and its cost per day.

    Attributes
    ----------
    index : int
        Position in the scenario's ``modifications`` list.
    type : str
        Modification type, e.g. ``"add_route"``.
    what : str
        Short description (routes, period, zone).
    trips_added, trips_removed, trips_changed : int
        Trips added to, removed from and retimed in the feed (all service days).
    vehicle_hours, vehicle_km : float
        Net change per day (see the module rules), negative for a cut; ``vehicle_km`` is
        NaN for a DRT zone (it depends on bookings).
    cost_per_day_gbp : float
        ``vehicle_hours`` x cost per vehicle-hour.
    days_per_week : int or None
        Days a week the figures apply to: the days a new route or DRT zone runs; for edits
        of existing trips, the days of the service date's week on which they change trips.
    week_cost_gbp : float or None
        Net cost of the service date's week from the calendar (edits of existing trips).
    note : str
        Anything the planner should know (e.g. directions without trips in the period).
    added_trip_ids, removed_trip_ids : list of str
        The trips concerned, for inspection.
    """

    index: int
    type: str
    what: str
    trips_added: int = 0
    trips_removed: int = 0
    trips_changed: int = 0
    vehicle_hours: float = 0.0
    vehicle_km: float = 0.0
    cost_per_day_gbp: float = 0.0
    days_per_week: int | None = None
    week_cost_gbp: float | None = None
    note: str = ""
    added_trip_ids: list[str] = field(default_factory=list, repr=False)
    removed_trip_ids: list[str] = field(default_factory=list, repr=False)

    @property
    def cost_per_week_gbp(self) -> float | None:
        """Cost a week: from the calendar when the trips' week was costed
        (``week_cost_gbp``), else the day's cost x ``days_per_week`` when that is known."""
        if self.week_cost_gbp is not None:
            return self.week_cost_gbp
        if self.days_per_week is None:
            return None
        return self.cost_per_day_gbp * self.days_per_week


@dataclass
class ScenarioChanges:
    """Everything a scenario changed: one :class:`ModificationChange` per modification.

    Attributes
    ----------
    scenario : str
        The scenario's name.
    service_date : datetime.date
        The day the figures of baseline edits refer to.
    cost_per_vehicle_hour_gbp : float
    modifications : list of ModificationChange
    drt_zones : list of transport_access.scenarios.drt.DrtZone
        Demand-responsive zones, for :func:`transport_access.scenarios.drt.drt_links`.
    """

    scenario: str
    service_date: dt.date
    cost_per_vehicle_hour_gbp: float
    modifications: list[ModificationChange] = field(default_factory=list)
    drt_zones: list[Any] = field(default_factory=list)

    @property
    def vehicle_hours(self) -> float:
        """Net vehicle-hours per day over all modifications."""
        return float(sum(m.vehicle_hours for m in self.modifications))

    @property
    def cost_per_day_gbp(self) -> float:
        """Net cost per day over all modifications, GBP."""
        return float(sum(m.cost_per_day_gbp for m in self.modifications))

    def to_frame(self) -> pd.DataFrame:
        """One row per modification, columns :data:`CHANGE_COLUMNS`."""
        rows = [
            {
                "scenario": self.scenario,
                "index": m.index,
                "type": m.type,
                "what": m.what,
                "trips_added": m.trips_added,
                "trips_removed": m.trips_removed,
                "trips_changed": m.trips_changed,
                "vehicle_hours": round(m.vehicle_hours, 3),
                "vehicle_km": round(m.vehicle_km, 3),
                "cost_per_day_gbp": round(m.cost_per_day_gbp, 2),
                "days_per_week": m.days_per_week,
                "cost_per_week_gbp": (
                    None if m.cost_per_week_gbp is None else round(m.cost_per_week_gbp, 2)
                ),
                "note": m.note,
            }
            for m in self.modifications
        ]
        return pd.DataFrame(rows, columns=CHANGE_COLUMNS)
