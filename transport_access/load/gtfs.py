"""GTFS timetables through gtfs-kit: reading, merging several feeds, choosing the service day.

(Reading, merging and the busiest-weekday choice are still to be written in this module;
:func:`service_ids_on` is the calendar rule every other part uses.)
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def service_ids_on(feed: Any, date: dt.date) -> set[str]:
    """Return the service IDs running on ``date`` by ``calendar.txt`` and ``calendar_dates.txt``.

    A service runs when its calendar row covers the date (start and end inclusive) with the
    weekday flag set, unless calendar_dates removes it that day (exception_type 2); calendar_dates
    adds services on a day with exception_type 1.

    Parameters
    ----------
    feed : gtfs_kit.Feed
        Any object with ``calendar`` and ``calendar_dates`` DataFrames (either may be None).
    date : datetime.date
        The service day.

    Returns
    -------
    set of str
    """
    ymd = date.strftime("%Y%m%d")
    running: set[str] = set()
    calendar = getattr(feed, "calendar", None)
    if calendar is not None and len(calendar):
        day = _WEEKDAYS[date.weekday()]
        flag = pd.to_numeric(calendar[day], errors="coerce").fillna(0).astype(int) == 1
        start = calendar["start_date"].astype(str) <= ymd
        end = calendar["end_date"].astype(str) >= ymd
        running = set(calendar.loc[flag & start & end, "service_id"].astype(str))
    dates = getattr(feed, "calendar_dates", None)
    if dates is not None and len(dates):
        today = dates[dates["date"].astype(str) == ymd]
        kind = pd.to_numeric(today["exception_type"], errors="coerce")
        running |= set(today.loc[kind == 1, "service_id"].astype(str))
        running -= set(today.loc[kind == 2, "service_id"].astype(str))
    return running
