"""Walk + public transport travel times over a departure window, by range-RAPTOR.

Semantics (the tests hold the engine to them, against an independent reference search):

- The travel time from an origin departing at minute ``d`` of the window is the earliest
  arrival at the destination minus ``d``: walk to a stop (``access``), wait, ride, walk between
  stops (``transfers``), ride again, ..., walk to the destination (``egress``); or walk all the
  way (``walk_only``) if faster. Waiting at the origin is allowed, so a later departure's
  journey counts for an earlier minute (its travel time includes the wait).
- Every boarding needs the rider at the stop ``board_slack_s`` seconds before the vehicle
  leaves (arriving exactly ``board_slack_s`` before departure is enough).
- ``max_rides`` counts vehicles boarded. At most one walk leg joins two rides; walk legs are
  not chained (a transfer walk never follows the access walk or another transfer walk).
  Staying at the stop where one alighted is a transfer of 0 s, whether or not ``transfers``
  lists it.
- Journeys longer than ``max_time_s`` count as unreachable (``inf``).
- Departures are ``departure_s + 60 * i`` for ``i`` in ``range(window_min)``: a window of 60
  minutes from 07:00 has the 60 departures 07:00, 07:01, ..., 07:59.
- A percentile ``p`` over the window is the nearest-rank value: sorted ascending with
  unreachable minutes as ``inf``, the value at index ``ceil(p / 100 * n) - 1``.

Links are in whole seconds (:class:`transport_access.routing._links.Links`): ``access`` from
origins to stops, ``egress`` from stops to destinations, ``transfers`` from stops to stops and
``walk_only`` from origins to destinations. The street layer cuts every walk leg at the
study's ``max_walk_min``.

The whole-window result is ``n_origins * window_min * n_destinations * 4`` bytes (1,227 cells
to 1,227 cells over 60 minutes: 361 MB); :func:`iter_transit_travel_times` yields it in
origin chunks and :func:`transit_percentiles` reduces each chunk as it comes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from transport_access._log import get_logger
from transport_access._progress import track
from transport_access.network.timetable import Timetable
from transport_access.routing._links import Links

log = get_logger(__name__)

DEFAULT_CHUNK_ORIGINS = 64


def _empty_links(n_from: int, n_to: int) -> Links:
    return Links(np.zeros(n_from + 1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int32), n_to)


def _check_links(
    timetable: Timetable, access: Links, egress: Links, transfers: Links, walk_only: Links | None
) -> tuple[int, int, Links]:
    n_stops = timetable.n_stops
    if access.n_to != n_stops:
        raise ValueError(f"access links go to {access.n_to} stops; the timetable has {n_stops}.")
    if egress.n_from != n_stops:
        raise ValueError(
            f"egress links start from {egress.n_from} stops; the timetable has {n_stops} "
            "(egress must be stop -> destination)."
        )
    if transfers.n_from != n_stops or transfers.n_to != n_stops:
        raise ValueError(
            f"transfer links are {transfers.n_from} x {transfers.n_to}; "
            f"they must be stop -> stop ({n_stops} x {n_stops})."
        )
    for label, links in (
        ("access", access),
        ("egress", egress),
        ("transfer", transfers),
        ("walk-only", walk_only),
    ):
        if links is not None and links.n_links and int(links.seconds.min()) < 0:
            raise ValueError(f"{label} links have negative travel times; times must be >= 0 s.")
    n_origins, n_destinations = access.n_from, egress.n_to
    if walk_only is None:
        walk_only = _empty_links(n_origins, n_destinations)
    elif walk_only.n_from != n_origins or walk_only.n_to != n_destinations:
        raise ValueError(
            f"walk-only links are {walk_only.n_from} x {walk_only.n_to}; they must be origin -> "
            f"destination ({n_origins} x {n_destinations})."
        )
    return n_origins, n_destinations, walk_only


def _csr(links: Links) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR arrays with each row sorted by time, so the kernels can stop at the time bound."""
    rows = np.repeat(np.arange(links.n_from), np.diff(links.indptr))
    order = np.lexsort((links.seconds, rows))
    return (
        np.ascontiguousarray(links.indptr, dtype=np.int64),
        np.ascontiguousarray(links.indices[order], dtype=np.int32),
        np.ascontiguousarray(links.seconds[order], dtype=np.int32),
    )


def iter_transit_travel_times(
    timetable: Timetable,
    *,
    access: Links,
    egress: Links,
    transfers: Links,
    walk_only: Links | None = None,
    departure_s: int,
    window_min: int,
    board_slack_s: int = 60,
    max_rides: int = 4,
    max_time_s: int = 7200,
    origins: Sequence[int] | np.ndarray | None = None,
    chunk_origins: int = DEFAULT_CHUNK_ORIGINS,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield travel times chunk by chunk of origins; arguments as :func:`transit_travel_times`.

    Parameters
    ----------
    origins : sequence of int, optional
        Origin indices (rows of ``access``) to route from; all by default.
    chunk_origins : int
        Origins per chunk; each chunk holds ``chunk_origins * window_min * n_destinations``
        float32 values.

    Yields
    ------
    origins : numpy.ndarray of int64, shape (n_chunk,)
        The origin indices of the chunk.
    travel_time_s : numpy.ndarray of float32, shape (n_chunk, window_min, n_destinations)
        Seconds, ``inf`` where unreachable.
    """
    yield from _route_chunks(
        timetable,
        access=access,
        egress=egress,
        transfers=transfers,
        walk_only=walk_only,
        departure_s=departure_s,
        window_min=window_min,
        board_slack_s=board_slack_s,
        max_rides=max_rides,
        max_time_s=max_time_s,
        origins=origins,
        chunk_origins=chunk_origins,
        ranks=None,
    )


def _route_chunks(
    timetable: Timetable,
    *,
    access: Links,
    egress: Links,
    transfers: Links,
    walk_only: Links | None,
    departure_s: int,
    window_min: int,
    board_slack_s: int,
    max_rides: int,
    max_time_s: int,
    origins: Sequence[int] | np.ndarray | None,
    chunk_origins: int,
    ranks: np.ndarray | None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (origins, every minute) chunks, or (origins, sorted minutes at ``ranks``)."""
    import numba

    from transport_access.routing import _raptor_kernels as kernels

    if window_min < 1:
        raise ValueError(f"window_min must be at least 1, not {window_min}.")
    if max_rides < 1:
        raise ValueError(f"max_rides must be at least 1, not {max_rides}.")
    n_origins, n_destinations, walk_only = _check_links(
        timetable, access, egress, transfers, walk_only
    )
    chosen = np.arange(n_origins) if origins is None else np.asarray(origins, dtype=np.int64)
    departures = (int(departure_s) + 60 * np.arange(window_min)).astype(np.int64)
    tt = timetable
    arrays = (
        np.ascontiguousarray(tt.pattern_stop_ptr, dtype=np.int64),
        np.ascontiguousarray(tt.pattern_stops, dtype=np.int32),
        np.ascontiguousarray(tt.pattern_trip_ptr, dtype=np.int64),
        np.ascontiguousarray(tt.pattern_time_ptr, dtype=np.int64),
        np.ascontiguousarray(tt.arrival_s, dtype=np.int32),
        np.ascontiguousarray(tt.departure_s, dtype=np.int32),
        np.ascontiguousarray(tt.stop_pattern_ptr, dtype=np.int64),
        np.ascontiguousarray(tt.stop_pattern, dtype=np.int32),
        np.ascontiguousarray(tt.stop_pattern_pos, dtype=np.int32),
        *_csr(access),
        *_csr(egress),
        *_csr(transfers),
        *_csr(walk_only),
    )
    log.info(
        "transit routing: %d origins x %d departure minutes x %d destinations, %d stops, "
        "max %d rides, board slack %d s",
        len(chosen),
        window_min,
        n_destinations,
        timetable.n_stops,
        max_rides,
        board_slack_s,
    )
    starts = range(0, len(chosen), max(1, int(chunk_origins)))
    for start in track(starts, description="transit routing"):
        chunk = chosen[start : start + chunk_origins]
        kernel_args = (*arrays, int(board_slack_s), int(max_rides), int(max_time_s))
        # Origins differ a lot in cost: hand them out one at a time to the threads.
        previous = numba.set_parallel_chunksize(1)
        try:
            if ranks is None:
                times = kernels.range_raptor(chunk, departures, n_destinations, *kernel_args)
            else:
                times = kernels.range_raptor_percentiles(
                    chunk, departures, n_destinations, ranks, *kernel_args
                )
        finally:
            numba.set_parallel_chunksize(previous)
        yield chunk, times


def transit_travel_times(
    timetable: Timetable,
    *,
    access: Links,
    egress: Links,
    transfers: Links,
    walk_only: Links | None = None,
    departure_s: int,
    window_min: int,
    board_slack_s: int = 60,
    max_rides: int = 4,
    max_time_s: int = 7200,
    origins: Sequence[int] | np.ndarray | None = None,
) -> np.ndarray:
    """Travel time for every origin, departure minute and destination.

    Parameters
    ----------
    timetable : Timetable
        From :func:`transport_access.network.timetable.build_timetable`.
    access : Links
        Walk from origins to stops, ``(n_origins, n_stops)``.
    egress : Links
        Walk from stops to destinations, ``(n_stops, n_destinations)``.
    transfers : Links
        Walk between stops, ``(n_stops, n_stops)``.
    walk_only : Links, optional
        Walk from origins straight to destinations; without it every journey rides.
    departure_s : int
        First departure of the window, seconds after midnight of the timetable's day.
    window_min : int
        Number of departure minutes.
    board_slack_s : int
        Seconds a rider must be at the stop before the vehicle leaves.
    max_rides : int
        Most vehicles boarded in one journey.
    max_time_s : int
        Longest journey counted, seconds; longer ones are ``inf``.
    origins : sequence of int, optional
        Origin indices to route from (rows of the result, in that order); all by default.

    Returns
    -------
    numpy.ndarray of float32, shape (n_origins, window_min, n_destinations)
        Travel times in seconds, ``inf`` where unreachable. Memory is
        ``4 * n_origins * window_min * n_destinations`` bytes.
    """
    blocks = [
        times
        for _, times in iter_transit_travel_times(
            timetable,
            access=access,
            egress=egress,
            transfers=transfers,
            walk_only=walk_only,
            departure_s=departure_s,
            window_min=window_min,
            board_slack_s=board_slack_s,
            max_rides=max_rides,
            max_time_s=max_time_s,
            origins=origins,
        )
    ]
    if not blocks:
        return np.zeros((0, window_min, egress.n_to), dtype=np.float32)
    return np.concatenate(blocks, axis=0)


def _nearest_ranks(n: int, percentiles: Sequence[float]) -> list[int]:
    """0-based indices of the nearest-rank percentiles among ``n`` sorted values."""
    ranks = []
    for p in percentiles:
        if not 0 < p <= 100:
            raise ValueError(f"percentile {p} is outside (0, 100].")
        # Round the product first so that 50/100*60 lands on 30, not 30.000000000000004.
        ranks.append(max(0, math.ceil(round(p / 100 * n, 9)) - 1))
    return ranks


def nearest_rank_percentiles(
    times: np.ndarray, percentiles: Sequence[float], *, axis: int = 1
) -> np.ndarray:
    """Nearest-rank percentiles along an axis, with ``inf`` (unreachable) sorting last.

    Parameters
    ----------
    times : numpy.ndarray
        Travel times, any shape; ``axis`` holds the ``n`` departure minutes.
    percentiles : sequence of float
        Values in (0, 100]; percentile ``p`` is the sorted value at index
        ``ceil(p / 100 * n) - 1``.
    axis : int
        The minutes axis.

    Returns
    -------
    numpy.ndarray
        ``times`` without ``axis`` and with a last axis of ``len(percentiles)``.
    """
    times = np.asarray(times)
    ranks = _nearest_ranks(times.shape[axis], percentiles)
    ordered = np.sort(times, axis=axis)
    picked = np.take(ordered, ranks, axis=axis)
    return np.moveaxis(picked, axis, -1)


def transit_percentiles(
    timetable: Timetable,
    *,
    access: Links,
    egress: Links,
    transfers: Links,
    walk_only: Links | None = None,
    departure_s: int,
    window_min: int,
    percentiles: Sequence[float] = (50,),
    board_slack_s: int = 60,
    max_rides: int = 4,
    max_time_s: int = 7200,
    origins: Sequence[int] | np.ndarray | None = None,
    chunk_origins: int = 256,
) -> np.ndarray:
    """Nearest-rank percentiles of the travel time over a window, without holding every minute.

    Parameters are those of :func:`transit_travel_times`, plus ``percentiles`` (in (0, 100])
    and ``chunk_origins`` (origins routed at a time).

    Returns
    -------
    numpy.ndarray of float32, shape (n_origins, n_destinations, len(percentiles))
        Seconds, ``inf`` where the percentile minute is unreachable.
    """
    n_origins = access.n_from if origins is None else len(origins)
    out = np.empty((n_origins, egress.n_to, len(percentiles)), dtype=np.float32)
    row = 0
    for chunk, picked in _route_chunks(
        timetable,
        access=access,
        egress=egress,
        transfers=transfers,
        walk_only=walk_only,
        departure_s=departure_s,
        window_min=window_min,
        board_slack_s=board_slack_s,
        max_rides=max_rides,
        max_time_s=max_time_s,
        origins=origins,
        chunk_origins=chunk_origins,
        ranks=np.array(_nearest_ranks(window_min, percentiles), dtype=np.int64),
    ):
        out[row : row + len(chunk)] = picked
        row += len(chunk)
    return out


def earliest_arrival(
    timetable: Timetable,
    *,
    access: Links,
    egress: Links,
    transfers: Links,
    walk_only: Links | None = None,
    departure_s: int,
    board_slack_s: int = 60,
    max_rides: int = 4,
    max_time_s: int = 7200,
) -> np.ndarray:
    """Earliest arrival leaving at one time, e.g. the journey home from school after 15:30.

    For a return journey pass the links reversed: ``access`` from the destinations (the
    school) to stops, ``egress`` from stops to the homes.

    Parameters
    ----------
    departure_s : int
        Leaving time, seconds after midnight.
    Other parameters
        As for :func:`transit_travel_times`.

    Returns
    -------
    numpy.ndarray of float64, shape (n_origins, n_destinations)
        Arrival time in seconds after midnight, ``inf`` when unreachable within
        ``max_time_s``.
    """
    times = transit_travel_times(
        timetable,
        access=access,
        egress=egress,
        transfers=transfers,
        walk_only=walk_only,
        departure_s=departure_s,
        window_min=1,
        board_slack_s=board_slack_s,
        max_rides=max_rides,
        max_time_s=max_time_s,
    )
    return times[:, 0, :].astype(np.float64) + departure_s


@dataclass(frozen=True)
class ArriveBy:
    """The latest departure that still arrives in time, per origin and destination.

    Attributes
    ----------
    departure_s : numpy.ndarray of float64, shape (n_origins, n_destinations)
        Latest departure minute (seconds after midnight) arriving by the deadline; NaN when no
        minute of the window does.
    travel_time_s : numpy.ndarray of float64, shape (n_origins, n_destinations)
        Travel time of that departure, seconds (arrival minus departure); ``inf`` when none.
    """

    departure_s: np.ndarray
    travel_time_s: np.ndarray


def arrive_by(
    timetable: Timetable,
    *,
    access: Links,
    egress: Links,
    transfers: Links,
    walk_only: Links | None = None,
    arrive_by_s: int,
    window_min: int | None = None,
    board_slack_s: int = 60,
    max_rides: int = 4,
    max_time_s: int = 7200,
    chunk_origins: int = DEFAULT_CHUNK_ORIGINS,
) -> ArriveBy:
    """For each origin and destination, the latest departure minute arriving by a deadline.

    Departure minutes ``arrive_by_s - 60 * window_min``, ..., ``arrive_by_s`` are searched; a
    departure counts when its arrival (departure + travel time) is at or before
    ``arrive_by_s``, for example a school bell at 08:45.

    Parameters
    ----------
    arrive_by_s : int
        The deadline, seconds after midnight.
    window_min : int, optional
        Minutes searched before the deadline; ``max_time_s // 60`` by default, since an
        earlier departure's journey would be longer than ``max_time_s``.
    Other parameters
        As for :func:`transit_travel_times`.

    Returns
    -------
    ArriveBy
    """
    span = max_time_s // 60 if window_min is None else int(window_min)
    first = int(arrive_by_s) - 60 * span
    n_origins, n_destinations = access.n_from, egress.n_to
    departure = np.full((n_origins, n_destinations), np.nan)
    travel = np.full((n_origins, n_destinations), np.inf)
    minutes = first + 60 * np.arange(span + 1)
    for chunk, times in iter_transit_travel_times(
        timetable,
        access=access,
        egress=egress,
        transfers=transfers,
        walk_only=walk_only,
        departure_s=first,
        window_min=span + 1,
        board_slack_s=board_slack_s,
        max_rides=max_rides,
        max_time_s=max_time_s,
        chunk_origins=chunk_origins,
    ):
        on_time = (times + minutes[None, :, None]) <= arrive_by_s
        any_on_time = on_time.any(axis=1)
        latest = span - np.argmax(on_time[:, ::-1, :], axis=1)
        picked = np.take_along_axis(times, latest[:, None, :], axis=1)[:, 0, :]
        departure[chunk] = np.where(any_on_time, minutes[latest], np.nan)
        travel[chunk] = np.where(any_on_time, picked, np.inf)
    return ArriveBy(departure, travel)


def warm_up_kernels() -> float:
    """Compile (or load from numba's cache) the RAPTOR kernels; return the seconds it took."""
    started = time.perf_counter()
    i32, i64 = np.zeros(0, np.int32), np.zeros(1, np.int64)
    one_stop = Timetable(
        service_date="2000-01-01",
        stop_ids=np.array(["s"]),
        stop_lon=np.zeros(1),
        stop_lat=np.zeros(1),
        pattern_stop_ptr=i64,
        pattern_stops=i32,
        pattern_trip_ptr=i64,
        pattern_time_ptr=i64,
        arrival_s=i32,
        departure_s=i32,
        pattern_route_ids=np.array([], dtype=str),
        trip_ids=np.array([], dtype=str),
        stop_pattern_ptr=np.zeros(2, np.int64),
        stop_pattern=i32,
        stop_pattern_pos=i32,
    )
    link = Links.from_pairs(1, 1, np.zeros(1), np.zeros(1), np.zeros(1))
    transit_percentiles(
        one_stop,
        access=link,
        egress=link,
        transfers=link,
        walk_only=link,
        departure_s=0,
        window_min=1,
    )
    transit_travel_times(
        one_stop,
        access=link,
        egress=link,
        transfers=link,
        walk_only=link,
        departure_s=0,
        window_min=1,
    )
    return time.perf_counter() - started
