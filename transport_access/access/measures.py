"""Accessibility measures from travel-time tables: pure functions, no routing.

Every function here reads tables the routing API produces and returns one row per origin:

* a **travel-time table** is :func:`transport_access.routing.api.travel_time_matrix` output:
  ``from_id``, ``to_id`` and a time column in minutes (``travel_time_p50`` by default), NaN
  where the destination is unreachable within the routing's ``max_time_min``;
* a **per-minute table** is :func:`transport_access.routing.api.expanded_travel_time_matrix`
  output: ``from_id``, ``to_id``, ``departure_time`` (``HH:MM``) and ``travel_time_s``
  (seconds, missing when unreachable).

Conventions (the tests hold the functions to them):

* Thresholds are inclusive: a destination 30.0 minutes away is within 30 minutes.
* Unreachable destinations never count, contribute nothing to sums, and an origin that
  reaches none gets NaN for "minutes to the nearest" (and is counted in the log), 0 for
  counts and sums.
* Origins are every ``from_id`` in the table, or ``origins`` when given (so origins with no
  row at all still get a row of results).

The same arithmetic on arrays (``(n_origins, n_destinations)`` minutes, NaN unreachable) is
available as the ``*_array`` functions, which :mod:`transport_access.access.run` uses while it
reduces the routing output chunk by chunk.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from transport_access._log import get_logger
from transport_access.errors import InvalidValueError, MissingColumnError

log = get_logger(__name__)

#: Half-life of the default gravity decay, minutes: an opportunity 30 minutes away counts half.
DEFAULT_GRAVITY_HALF_LIFE_MIN = 30.0


def beta_from_half_life(half_life_min: float) -> float:
    """Return the decay rate ``beta`` (per minute) at which weight halves every ``half_life_min``.

    Parameters
    ----------
    half_life_min : float
        Minutes after which an opportunity counts half; must be positive.

    Returns
    -------
    float
        ``ln(2) / half_life_min``, per minute.
    """
    if not half_life_min > 0:
        raise InvalidValueError("half_life_min", f"{half_life_min}: must be positive minutes.")
    return math.log(2.0) / float(half_life_min)


#: Default gravity decay, per minute: ``ln 2 / 30`` = 0.0231 (half-life of 30 minutes).
DEFAULT_GRAVITY_BETA_PER_MIN = beta_from_half_life(DEFAULT_GRAVITY_HALF_LIFE_MIN)


# ------------------------------------------------------------------------------ arrays


def nearest_array(minutes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minutes to the nearest destination and its column, per row.

    Parameters
    ----------
    minutes : numpy.ndarray, shape (n_origins, n_destinations)
        Travel times, NaN (or inf) where unreachable.

    Returns
    -------
    nearest_min : numpy.ndarray of float64, shape (n_origins,)
        NaN where no destination is reachable.
    nearest_index : numpy.ndarray of int64, shape (n_origins,)
        Column of the nearest destination (the first on ties); -1 where none.
    """
    values = np.asarray(minutes, dtype=np.float64)
    values = np.where(np.isfinite(values), values, np.inf)
    if values.shape[1] == 0:
        n = values.shape[0]
        return np.full(n, np.nan), np.full(n, -1, dtype=np.int64)
    index = np.argmin(values, axis=1)
    best = values[np.arange(values.shape[0]), index]
    found = np.isfinite(best)
    return np.where(found, best, np.nan), np.where(found, index, -1).astype(np.int64)


def cumulative_array(
    minutes: np.ndarray, thresholds_min: Sequence[float], weights: np.ndarray | None = None
) -> np.ndarray:
    """Opportunities within each threshold (inclusive), per row.

    Parameters
    ----------
    minutes : numpy.ndarray, shape (n_origins, n_destinations)
        Travel times, NaN where unreachable.
    thresholds_min : sequence of float
        Thresholds in minutes.
    weights : numpy.ndarray, shape (n_destinations,), optional
        Opportunities at each destination (jobs, pupils); NaN counts as 0. Counting
        destinations when not given.

    Returns
    -------
    numpy.ndarray of float64, shape (n_origins, len(thresholds_min))
    """
    values = np.asarray(minutes, dtype=np.float64)
    w = _weights(weights, values.shape[1])
    out = np.empty((values.shape[0], len(thresholds_min)))
    with np.errstate(invalid="ignore"):
        for k, threshold in enumerate(thresholds_min):
            out[:, k] = _row_sums(np.where(values <= threshold, w, 0.0))
    return out


def _row_sums(products: np.ndarray) -> np.ndarray:
    """Sum of each row on its own (numpy's pairwise sum), not a BLAS product: a row's
    value must not depend on the rows beside it, so that origins routed in chunks (on a
    cluster) get exactly the values of one whole run."""
    return np.ascontiguousarray(products).sum(axis=1)


def gravity_array(
    minutes: np.ndarray,
    *,
    beta_per_min: float = DEFAULT_GRAVITY_BETA_PER_MIN,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Sum of ``weight * exp(-beta * t)`` over reachable destinations, per row.

    Parameters
    ----------
    minutes : numpy.ndarray, shape (n_origins, n_destinations)
        Travel times, NaN where unreachable (contributes 0).
    beta_per_min : float
        Decay per minute (``DEFAULT_GRAVITY_BETA_PER_MIN``: half-life 30 minutes).
    weights : numpy.ndarray, shape (n_destinations,), optional
        Opportunities per destination; 1 each when not given.

    Returns
    -------
    numpy.ndarray of float64, shape (n_origins,)
    """
    if beta_per_min < 0:
        raise InvalidValueError("beta_per_min", f"{beta_per_min}: decay must not be negative.")
    values = np.asarray(minutes, dtype=np.float64)
    decay = np.where(np.isfinite(values), np.exp(-beta_per_min * np.nan_to_num(values)), 0.0)
    return _row_sums(decay * _weights(weights, values.shape[1]))


def two_step_array(
    minutes: np.ndarray,
    population: np.ndarray,
    capacity: np.ndarray,
    *,
    threshold_min: float,
    per_residents: float = 1.0,
) -> tuple[np.ndarray, int]:
    """Two-step floating catchment (2SFCA) access, per row.

    Step 1: each destination's ratio ``R_j = S_j / sum(P_i for origins i with t_ij <= d0)``.
    Step 2: each origin's access ``A_i = per_residents * sum(R_j for j with t_ij <= d0)``.

    Parameters
    ----------
    minutes : numpy.ndarray, shape (n_origins, n_destinations)
        Travel times, NaN where unreachable.
    population : numpy.ndarray, shape (n_origins,)
        Residents of each origin (NaN counts as 0).
    capacity : numpy.ndarray, shape (n_destinations,)
        Supply at each destination (pupils on roll, or 1 per GP site); NaN counts as 0.
    threshold_min : float
        Catchment ``d0`` in minutes (inclusive).
    per_residents : float
        Scale of the result: 1 gives supply per resident, 1000 per 1,000 residents.

    Returns
    -------
    access : numpy.ndarray of float64, shape (n_origins,)
        Supply per ``per_residents`` residents within the catchment.
    n_unserved : int
        Destinations with supply but no resident within the catchment (their supply is not
        shared out; a sign that the study area cuts through their catchment).
    """
    values = np.asarray(minutes, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        within = values <= threshold_min
    return two_step_within(within, population, capacity, per_residents=per_residents)


def two_step_within(
    within: np.ndarray,
    population: np.ndarray,
    capacity: np.ndarray,
    *,
    per_residents: float = 1.0,
) -> tuple[np.ndarray, int]:
    """:func:`two_step_array` from the catchment mask (``t_ij <= d0``) instead of times.

    Parameters
    ----------
    within : numpy.ndarray of bool, shape (n_origins, n_destinations)
        True where the destination is within the catchment of the origin.
    population, capacity, per_residents
        As :func:`two_step_array`.

    Returns
    -------
    access : numpy.ndarray of float64, shape (n_origins,)
    n_unserved : int
        As :func:`two_step_array`.
    """
    within = np.asarray(within, dtype=bool)
    pop = np.nan_to_num(np.asarray(population, dtype=np.float64))
    supply = np.nan_to_num(np.asarray(capacity, dtype=np.float64))
    demand = pop @ within
    served = demand > 0
    ratio = np.zeros(len(supply))
    ratio[served] = supply[served] / demand[served]
    n_unserved = int(((supply > 0) & ~served).sum())
    return per_residents * (within @ ratio), n_unserved


def reliability_array(nearest_s: np.ndarray, thresholds_min: Sequence[float]) -> np.ndarray:
    """Share of departure minutes from which the nearest destination is within a threshold.

    Parameters
    ----------
    nearest_s : numpy.ndarray, shape (n_origins, n_minutes)
        Seconds to the nearest destination for each departure minute; inf or NaN when none
        is reachable.
    thresholds_min : sequence of float
        Thresholds in minutes (inclusive).

    Returns
    -------
    numpy.ndarray of float64, shape (n_origins, len(thresholds_min))
        Shares in [0, 1].
    """
    values = np.asarray(nearest_s, dtype=np.float64)
    n_minutes = values.shape[1]
    if n_minutes == 0:
        raise InvalidValueError("departure window", "no departure minutes to measure over.")
    out = np.empty((values.shape[0], len(thresholds_min)))
    with np.errstate(invalid="ignore"):
        for k, threshold in enumerate(thresholds_min):
            out[:, k] = (values <= threshold * 60.0).sum(axis=1) / n_minutes
    return out


def latest_reachable_minute(
    times_s: np.ndarray, departure_s: np.ndarray, *, axis: int = 1
) -> np.ndarray:
    """The latest departure (seconds after midnight) whose journey is reachable.

    Parameters
    ----------
    times_s : numpy.ndarray
        Travel times in seconds, inf or NaN where unreachable; ``axis`` holds the minutes.
    departure_s : numpy.ndarray, shape (n_minutes,)
        Departure of each minute, seconds after midnight, ascending.
    axis : int
        The minutes axis.

    Returns
    -------
    numpy.ndarray of float64
        ``times_s`` without ``axis``: the latest reachable departure, NaN when none.
    """
    values = np.moveaxis(np.asarray(times_s, dtype=np.float64), axis, -1)
    ok = np.isfinite(values)
    last = values.shape[-1] - 1 - np.argmax(ok[..., ::-1], axis=-1)
    return np.where(ok.any(axis=-1), np.asarray(departure_s, dtype=np.float64)[last], np.nan)


def _weights(weights: np.ndarray | None, n: int) -> np.ndarray:
    if weights is None:
        return np.ones(n)
    w = np.nan_to_num(np.asarray(weights, dtype=np.float64))
    if w.shape != (n,):
        raise InvalidValueError("weights", f"{w.shape} weights for {n} destinations.")
    return w


# ------------------------------------------------------------------------------ tables


def _require(table: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise MissingColumnError(
            what, f"has no column(s) {missing} (columns: {list(table.columns)}).",
            "Pass the table the routing API returns, or name the column with time_column=.",
        )


def _to_matrix(
    travel_times: pd.DataFrame,
    time_column: str,
    origins: Sequence[Any] | None,
    destinations: Sequence[Any] | None = None,
) -> tuple[pd.Index, pd.Index, np.ndarray]:
    _require(travel_times, ["from_id", "to_id", time_column], "travel-time table")
    wide = travel_times.pivot_table(
        index="from_id", columns="to_id", values=time_column, aggfunc="min", dropna=False
    )
    if origins is not None:
        wide = wide.reindex(index=pd.Index(origins))
    if destinations is not None:
        wide = wide.reindex(columns=pd.Index(destinations))
    return wide.index, wide.columns, wide.to_numpy(dtype=np.float64)


def _destination_weights(
    to_ids: pd.Index, destinations: pd.DataFrame | None, weight: str | None
) -> np.ndarray | None:
    if weight is None:
        return None
    if destinations is None:
        raise InvalidValueError("destinations", f"weight={weight!r} needs a destinations table.")
    _require(destinations, ["id", weight], "destinations table")
    by_id = destinations.set_index("id")[weight]
    unknown = to_ids.difference(by_id.index)
    if len(unknown):
        raise InvalidValueError(
            "destinations table",
            f"{len(unknown)} destination id(s) of the travel-time table have no {weight!r}: "
            f"{list(unknown[:5])}.", "Give every destination a row (0 when it has none).",
        )
    return pd.to_numeric(by_id.reindex(to_ids), errors="coerce").to_numpy(float)


def nearest_destination(
    travel_times: pd.DataFrame,
    *,
    time_column: str = "travel_time_p50",
    origins: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Minutes to the nearest destination from each origin (the JTS "nearest" measure).

    Parameters
    ----------
    travel_times : pandas.DataFrame
        ``from_id``, ``to_id`` and ``time_column`` (minutes, NaN unreachable).
    time_column : str
        The time to use, e.g. the window median ``travel_time_p50``.
    origins : sequence, optional
        Origin ids to report (others' rows are ignored; absent ones are unreachable).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``from_id``: ``nearest_min`` (float minutes, NaN when no destination is
        reachable) and ``nearest_to_id`` (the destination, missing when none). Origins reaching
        none are counted in a warning.
    """
    index, columns, minutes = _to_matrix(travel_times, time_column, origins)
    best, where = nearest_array(minutes)
    ids = np.full(len(index), None, dtype=object)
    ids[where >= 0] = np.asarray(columns, dtype=object)[where[where >= 0]]
    n_unreachable = int(np.isnan(best).sum())
    if n_unreachable:
        log.warning("%d of %d origins reach no destination within the routing's limits",
                    n_unreachable, len(index))
    return pd.DataFrame({"nearest_min": best, "nearest_to_id": ids},
                        index=pd.Index(index, name="from_id"))


def cumulative_opportunities(
    travel_times: pd.DataFrame,
    *,
    thresholds_min: Sequence[float] = (30, 60),
    destinations: pd.DataFrame | None = None,
    weight: str | None = None,
    time_column: str = "travel_time_p50",
    origins: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Opportunities reachable within each threshold (cumulative opportunities).

    Parameters
    ----------
    travel_times : pandas.DataFrame
        ``from_id``, ``to_id``, ``time_column`` (minutes, NaN unreachable).
    thresholds_min : sequence of float
        Thresholds in minutes, inclusive.
    destinations : pandas.DataFrame, optional
        ``id`` and the ``weight`` column; needed when ``weight`` is given.
    weight : str, optional
        Column of opportunities per destination (``jobs``, ``pupils``); missing values count
        0. Without it destinations are counted.
    time_column : str
        Travel-time column.
    origins : sequence, optional
        Origin ids to report.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``from_id``, one column ``within_{t}_min`` per threshold (float).
    """
    index, columns, minutes = _to_matrix(travel_times, time_column, origins)
    weights = _destination_weights(columns, destinations, weight)
    counts = cumulative_array(minutes, thresholds_min, weights)
    return pd.DataFrame(counts, index=pd.Index(index, name="from_id"),
                        columns=[f"within_{_label(t)}_min" for t in thresholds_min])


def gravity_access(
    travel_times: pd.DataFrame,
    *,
    beta_per_min: float = DEFAULT_GRAVITY_BETA_PER_MIN,
    destinations: pd.DataFrame | None = None,
    weight: str | None = None,
    time_column: str = "travel_time_p50",
    origins: Sequence[Any] | None = None,
) -> pd.Series:
    """Gravity access with negative-exponential decay: ``sum_j w_j * exp(-beta * t_ij)``.

    Parameters
    ----------
    travel_times : pandas.DataFrame
        ``from_id``, ``to_id``, ``time_column`` (minutes, NaN unreachable: contributes 0).
    beta_per_min : float
        Decay per minute. The default, ``ln 2 / 30 = 0.0231``, halves an opportunity's weight
        every 30 minutes (see :func:`beta_from_half_life`).
    destinations, weight, time_column, origins
        As for :func:`cumulative_opportunities`.

    Returns
    -------
    pandas.Series
        Indexed by ``from_id``, named ``gravity``: weighted opportunities (float).
    """
    index, columns, minutes = _to_matrix(travel_times, time_column, origins)
    weights = _destination_weights(columns, destinations, weight)
    values = gravity_array(minutes, beta_per_min=beta_per_min, weights=weights)
    return pd.Series(values, index=pd.Index(index, name="from_id"), name="gravity")


def two_step_floating_catchment(
    travel_times: pd.DataFrame,
    *,
    population: pd.Series,
    capacity: pd.Series,
    threshold_min: float,
    per_residents: float = 1.0,
    time_column: str = "travel_time_p50",
) -> pd.Series:
    """Two-step floating catchment access (2SFCA, Luo and Wang 2003).

    Step 1 shares each destination's capacity among the residents within ``threshold_min``
    of it; step 2 sums, for each origin, the shares of the destinations within
    ``threshold_min``. Where capacity is pupils on roll the result is school places per
    resident; with 1 per GP site (ODS has no list sizes) it is sites per resident.

    Parameters
    ----------
    travel_times : pandas.DataFrame
        ``from_id``, ``to_id``, ``time_column`` (minutes, NaN unreachable).
    population : pandas.Series
        Residents per origin, indexed by origin id; these ids are the origins reported.
    capacity : pandas.Series
        Supply per destination, indexed by destination id; these ids are the destinations
        used (missing capacity counts 0).
    threshold_min : float
        Catchment in minutes, inclusive.
    per_residents : float
        Result scale: 1000 gives supply per 1,000 residents.
    time_column : str
        Travel-time column.

    Returns
    -------
    pandas.Series
        Indexed by ``from_id``, named ``two_step_fca``.
    """
    index, columns, minutes = _to_matrix(
        travel_times, time_column, list(population.index), list(capacity.index)
    )
    values, n_unserved = two_step_array(
        minutes, population.to_numpy(float), capacity.to_numpy(float),
        threshold_min=threshold_min, per_residents=per_residents,
    )
    if n_unserved:
        log.warning("2SFCA: %d destination(s) have no resident within %g minutes; their "
                    "capacity is not shared out", n_unserved, threshold_min)
    return pd.Series(values, index=pd.Index(index, name="from_id"), name="two_step_fca")


def nearest_per_minute(per_minute: pd.DataFrame) -> pd.DataFrame:
    """Seconds to the nearest destination for every origin and departure minute.

    Parameters
    ----------
    per_minute : pandas.DataFrame
        ``from_id``, ``to_id``, ``departure_time`` (``HH:MM``), ``travel_time_s``.

    Returns
    -------
    pandas.DataFrame
        Index ``from_id``, one column per departure minute (sorted), seconds (float), inf
        where no destination is reachable.
    """
    _require(per_minute, ["from_id", "to_id", "departure_time", "travel_time_s"],
             "per-minute table")
    seconds = pd.to_numeric(per_minute["travel_time_s"], errors="coerce").astype(float)
    frame = per_minute.assign(travel_time_s=seconds.fillna(np.inf).to_numpy())
    wide = frame.pivot_table(index="from_id", columns="departure_time",
                             values="travel_time_s", aggfunc="min", dropna=False)
    return wide.sort_index(axis=1).fillna(np.inf)


def reliability(
    per_minute: pd.DataFrame,
    *,
    thresholds_min: Sequence[float] = (30, 60),
    origins: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Share of the window's departure minutes that reach a destination within a threshold.

    For each origin and departure minute the nearest destination is taken (any destination
    of the type), then the share of minutes in which it is within the threshold: 1.0 means
    whenever one sets off in the window, 0.5 means half the minutes (a bus every other
    half hour, say).

    Parameters
    ----------
    per_minute : pandas.DataFrame
        ``from_id``, ``to_id``, ``departure_time`` (``HH:MM``), ``travel_time_s`` (seconds,
        missing when unreachable), one row per pair and minute.
    thresholds_min : sequence of float
        Thresholds in minutes, inclusive.
    origins : sequence, optional
        Origin ids to report; absent ones get 0.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``from_id``, one column ``reliability_{t}_min`` per threshold: shares in
        [0, 1].
    """
    wide = nearest_per_minute(per_minute)
    if origins is not None:
        wide = wide.reindex(pd.Index(origins), fill_value=np.inf)
    shares = reliability_array(wide.to_numpy(float), thresholds_min)
    return pd.DataFrame(shares, index=pd.Index(wide.index, name="from_id"),
                        columns=[f"reliability_{_label(t)}_min" for t in thresholds_min])


def _clock_s(value: Any, what: str) -> int:
    from transport_access.routing.api import parse_departure

    return parse_departure(value)[1] if not isinstance(value, int | np.integer) else int(value)


def return_journeys(
    morning: pd.DataFrame,
    afternoon: pd.DataFrame,
    *,
    arrive_by: str = "08:45",
    leave_after_earliest: str = "15:30",
    leave_after_latest: str = "18:30",
    origins: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Can a resident get to a destination by a time and home again in the afternoon?

    A destination works for a home when (a) some departure from home arrives by
    ``arrive_by`` and (b) some departure from the destination between
    ``leave_after_earliest`` and ``leave_after_latest`` (inclusive) gets home within the
    routing's ``max_time_min``. Of the destinations that work, the one with the shortest
    morning journey is reported; ``feasible`` is False when none works.

    Parameters
    ----------
    morning : pandas.DataFrame
        :func:`transport_access.routing.api.arrive_by_matrix` output from homes to
        destinations: ``from_id`` (home), ``to_id``, ``latest_departure`` (``HH:MM`` or
        missing), ``travel_time_min``.
    afternoon : pandas.DataFrame
        A per-minute table from the destinations to the homes (``from_id`` = destination,
        ``to_id`` = home, ``departure_time``, ``travel_time_s``), for departures in the
        afternoon window.
    arrive_by, leave_after_earliest, leave_after_latest : str
        ``HH:MM``.
    origins : sequence, optional
        Home ids to report.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``from_id`` (home): ``feasible`` (bool), ``destination_id``,
        ``morning_departure_min`` (latest departure from home that is on time, minutes after
        midnight), ``arrival_min`` (arrival at the destination of that journey: the earliest
        arrival leaving home then, minutes after midnight), ``latest_return_min`` (latest
        departure from the destination within the afternoon window that gets home, minutes
        after midnight), ``arrive_by_ok`` (any destination reached on time) and
        ``return_ok`` (home reachable from any destination in the afternoon window).
    """
    _require(morning, ["from_id", "to_id", "latest_departure", "travel_time_min"],
             "morning (arrive-by) table")
    _require(afternoon, ["from_id", "to_id", "departure_time", "travel_time_s"],
             "afternoon (per-minute) table")
    deadline_s = _clock_s(arrive_by, "arrive_by")
    first_s = _clock_s(leave_after_earliest, "leave_after_earliest")
    last_s = _clock_s(leave_after_latest, "leave_after_latest")

    homes = list(origins) if origins is not None else sorted(morning["from_id"].unique())
    places = sorted(set(morning["to_id"]) | set(afternoon["from_id"]))

    leave = morning["latest_departure"].map(
        lambda v: np.nan if v is None or pd.isna(v) else float(_clock_s(str(v), "departure")))
    depart = pd.DataFrame({"from_id": morning["from_id"], "to_id": morning["to_id"],
                           "s": leave}).pivot_table(index="from_id", columns="to_id", values="s",
                                                    aggfunc="max", dropna=False)
    depart = depart.reindex(index=homes, columns=places).to_numpy(float)
    travel = morning.pivot_table(index="from_id", columns="to_id", values="travel_time_min",
                                 aggfunc="min", dropna=False)
    travel_s = travel.reindex(index=homes, columns=places).to_numpy(float) * 60.0

    clock = afternoon["departure_time"].map(lambda v: _clock_s(str(v), "departure_time"))
    in_window = (clock >= first_s) & (clock <= last_s)
    seconds = pd.to_numeric(afternoon["travel_time_s"], errors="coerce").astype(float)
    ok = afternoon.loc[in_window & seconds.notna().to_numpy(), ["from_id", "to_id"]]
    latest = (ok.assign(s=clock[ok.index]).groupby(["to_id", "from_id"])["s"].max()
              .unstack().reindex(index=homes, columns=places).to_numpy(float))

    return _return_choice(depart, travel_s, latest, homes, places, deadline_s)


def return_choice_array(
    morning_departure_s: np.ndarray, morning_travel_s: np.ndarray, latest_return_s: np.ndarray,
    *, arrive_by_s: int,
) -> dict[str, np.ndarray]:
    """Pick, per home, the destination that works both ways with the shortest morning trip.

    Parameters
    ----------
    morning_departure_s : numpy.ndarray, shape (n_homes, n_destinations)
        Latest on-time departure from home, seconds after midnight, NaN when none.
    morning_travel_s : numpy.ndarray, shape (n_homes, n_destinations)
        Travel time of that departure, seconds (inf or NaN when none).
    latest_return_s : numpy.ndarray, shape (n_homes, n_destinations)
        Latest departure from the destination in the afternoon window that gets home,
        seconds after midnight, NaN when none.
    arrive_by_s : int
        The deadline, seconds after midnight (arrivals after it are not on time).

    Returns
    -------
    dict of str to numpy.ndarray, each of shape (n_homes,)
        ``feasible`` (bool), ``destination_index`` (int, -1 when none),
        ``morning_departure_min``, ``arrival_min`` (of the chosen destination; where none
        works both ways, of the shortest on-time morning trip; NaN when none is on time),
        ``latest_return_min`` (of the chosen destination; else the latest way home from
        any; NaN when none), minutes after midnight; ``arrive_by_ok``, ``return_ok`` (bool).
    """
    depart = np.asarray(morning_departure_s, dtype=np.float64)
    travel = np.asarray(morning_travel_s, dtype=np.float64)
    back = np.asarray(latest_return_s, dtype=np.float64)
    arrival = depart + travel
    on_time = np.isfinite(arrival) & (arrival <= arrive_by_s)
    home_ok = np.isfinite(back)
    both = on_time & home_ok
    score = np.where(both, travel, np.inf)
    n_homes = depart.shape[0]
    if depart.shape[1] == 0:
        pick = np.zeros(n_homes, dtype=np.int64)
        feasible = np.zeros(n_homes, dtype=bool)
    else:
        pick = np.argmin(score, axis=1)
        feasible = both[np.arange(n_homes), pick]
    rows = np.arange(n_homes)
    # Where no destination works both ways, each leg still reports its own best: the
    # shortest on-time morning trip, the latest way home.
    with np.errstate(invalid="ignore"):
        one_way = (np.argmin(np.where(on_time, travel, np.inf), axis=1) if depart.shape[1]
                   else pick)
        home_pick = (np.argmax(np.where(home_ok, back, -np.inf), axis=1) if depart.shape[1]
                     else pick)
    morning = np.where(feasible, pick, one_way)
    evening = np.where(feasible, pick, home_pick)

    def chosen(values: np.ndarray, which: np.ndarray, ok: np.ndarray) -> np.ndarray:
        if values.shape[1] == 0:
            return np.full(n_homes, np.nan)
        return np.where(ok, values[rows, which] / 60.0, np.nan)

    morning_ok = on_time.any(axis=1) if depart.shape[1] else feasible
    evening_ok = home_ok.any(axis=1) if depart.shape[1] else feasible
    return {
        "feasible": feasible,
        "destination_index": np.where(feasible, pick, -1),
        "morning_departure_min": chosen(depart, morning, morning_ok),
        "arrival_min": chosen(arrival, morning, morning_ok),
        "latest_return_min": chosen(back, evening, evening_ok),
        "arrive_by_ok": on_time.any(axis=1),
        "return_ok": home_ok.any(axis=1),
    }


def _return_choice(
    depart: np.ndarray, travel_s: np.ndarray, latest: np.ndarray, homes: list, places: list,
    deadline_s: int,
) -> pd.DataFrame:
    picked = return_choice_array(depart, travel_s, latest, arrive_by_s=deadline_s)
    where = picked.pop("destination_index")
    ids = np.full(len(homes), None, dtype=object)
    ids[where >= 0] = np.asarray(places, dtype=object)[where[where >= 0]]
    frame = pd.DataFrame(picked, index=pd.Index(homes, name="from_id"))
    frame.insert(1, "destination_id", ids)
    return frame


def _label(threshold: float) -> str:
    return f"{threshold:g}"
