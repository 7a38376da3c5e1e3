"""Numba kernels of range-RAPTOR; imported only by :mod:`transport_access.routing.transit`.

Compiled on first use (``cache=True`` keeps the machine code on disk between sessions).

The search runs the departure minutes of a window from the latest to the earliest and keeps
its labels between minutes (rRAPTOR): a rider who leaves earlier can always wait at the
origin, so every arrival found for a later departure is also available to an earlier one and
the labels stay valid upper bounds. Labels are *cumulative* in the number of rides: label
``[k, s]`` is the earliest time at stop ``s`` with at most ``k`` rides; an improvement found
in round ``k`` is written into every round from ``k`` up to ``max_rides`` that it improves.
Two label sets are kept per round: ``ride`` (just alighted: only these feed the egress walk and
the transfer walk) and ``ready`` (at a stop, ready to board: after the access walk, after
alighting there, or after one transfer walk). So one walk leg joins two rides, and walk legs
are never chained. Arrivals later than ``departure + max_time`` are not recorded; the bound
only grows with the departure, so this pruning stays exact for the earlier minutes.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# Labels are int32 seconds (half the memory traffic of int64); INF is far beyond any day.
INF = np.int32(1 << 30)


@njit(cache=True)
def _lower(ready: np.ndarray, k: int, max_rides: int, stop: int, time: np.int64) -> bool:
    """Write ``time`` into rounds ``k..max_rides`` of ``ready[:, stop]`` while it improves."""
    if time >= ready[k, stop]:
        return False
    for kk in range(k, max_rides + 1):
        if time < ready[kk, stop]:
            ready[kk, stop] = time
        else:
            break
    return True


@njit(cache=True)
def _one_origin(
    origin: int,
    departures_s: np.ndarray,
    out: np.ndarray,
    row: int,
    pattern_stop_ptr: np.ndarray,
    pattern_stops: np.ndarray,
    pattern_trip_ptr: np.ndarray,
    pattern_time_ptr: np.ndarray,
    arrival_s: np.ndarray,
    departure_s: np.ndarray,
    stop_pattern_ptr: np.ndarray,
    stop_pattern: np.ndarray,
    stop_pattern_pos: np.ndarray,
    acc_ptr: np.ndarray,
    acc_idx: np.ndarray,
    acc_s: np.ndarray,
    egr_ptr: np.ndarray,
    egr_idx: np.ndarray,
    egr_s: np.ndarray,
    xfer_ptr: np.ndarray,
    xfer_idx: np.ndarray,
    xfer_s: np.ndarray,
    walk_ptr: np.ndarray,
    walk_idx: np.ndarray,
    walk_s: np.ndarray,
    board_slack_s: int,
    max_rides: int,
    max_time_s: int,
) -> None:
    n_stops = len(stop_pattern_ptr) - 1
    n_patterns = len(pattern_stop_ptr) - 1
    n_dest = out.shape[2]
    n_minutes = len(departures_s)

    ready = np.full((max_rides + 1, n_stops), INF, dtype=np.int32)
    ride = np.full((max_rides + 1, n_stops), INF, dtype=np.int32)
    dest = np.full(n_dest, INF, dtype=np.int32)
    ready_list = np.empty((max_rides + 1, n_stops), dtype=np.int32)
    ready_n = np.zeros(max_rides + 1, dtype=np.int64)
    ready_flag = np.zeros((max_rides + 1, n_stops), dtype=np.bool_)
    ride_list = np.empty(n_stops, dtype=np.int32)
    ride_flag = np.zeros(n_stops, dtype=np.bool_)
    pattern_first = np.full(n_patterns, -1, dtype=np.int64)
    pattern_list = np.empty(n_patterns, dtype=np.int64)

    for m in range(n_minutes - 1, -1, -1):
        depart = np.int64(departures_s[m])
        bound = depart + max_time_s

        for i in range(walk_ptr[origin], walk_ptr[origin + 1]):
            t = depart + walk_s[i]
            if t < dest[walk_idx[i]]:
                dest[walk_idx[i]] = t

        ready_n[:] = 0
        for i in range(acc_ptr[origin], acc_ptr[origin + 1]):
            s = acc_idx[i]
            t = depart + acc_s[i]
            if t <= bound and _lower(ready, 0, max_rides, s, t):
                if not ready_flag[0, s]:
                    ready_flag[0, s] = True
                    ready_list[0, ready_n[0]] = s
                    ready_n[0] += 1

        for k in range(1, max_rides + 1):
            # Patterns through a stop reached in the previous round, from its first such stop.
            n_marked = 0
            for i in range(ready_n[k - 1]):
                s = ready_list[k - 1, i]
                ready_flag[k - 1, s] = False
                for v in range(stop_pattern_ptr[s], stop_pattern_ptr[s + 1]):
                    p = stop_pattern[v]
                    pos = stop_pattern_pos[v]
                    if pattern_first[p] < 0:
                        pattern_list[n_marked] = p
                        n_marked += 1
                        pattern_first[p] = pos
                    elif pos < pattern_first[p]:
                        pattern_first[p] = pos
            if n_marked == 0:
                break

            n_ride = 0
            for i in range(n_marked):
                p = pattern_list[i]
                start = pattern_first[p]
                pattern_first[p] = -1
                first_stop = pattern_stop_ptr[p]
                n_pattern_stops = pattern_stop_ptr[p + 1] - first_stop
                n_trips = pattern_trip_ptr[p + 1] - pattern_trip_ptr[p]
                base = pattern_time_ptr[p]
                trip = -1
                for j in range(start, n_pattern_stops):
                    s = pattern_stops[first_stop + j]
                    column = base + j * n_trips
                    if trip >= 0:
                        t = np.int64(arrival_s[column + trip])
                        if t <= bound and t < ride[k, s]:
                            for kk in range(k, max_rides + 1):
                                if t < ride[kk, s]:
                                    ride[kk, s] = t
                                else:
                                    break
                            if not ride_flag[s]:
                                ride_flag[s] = True
                                ride_list[n_ride] = s
                                n_ride += 1
                    at_stop = ready[k - 1, s]
                    if at_stop < INF:
                        need = at_stop + board_slack_s
                        hi = trip if trip >= 0 else n_trips
                        if hi > 0 and departure_s[column + hi - 1] >= need:
                            lo = 0
                            top = hi - 1
                            while lo < top:
                                mid = (lo + top) // 2
                                if departure_s[column + mid] >= need:
                                    top = mid
                                else:
                                    lo = mid + 1
                            trip = lo

            # Egress from, and one walk leg after, the stops where this round's rides arrive.
            for i in range(n_ride):
                s = ride_list[i]
                ride_flag[s] = False
                t = ride[k, s]
                # Links are sorted by time: past the bound, none can count now or earlier.
                for e in range(egr_ptr[s], egr_ptr[s + 1]):
                    ta = t + egr_s[e]
                    if ta > bound:
                        break
                    if ta < dest[egr_idx[e]]:
                        dest[egr_idx[e]] = ta
                if k == max_rides:
                    continue
                if _lower(ready, k, max_rides, s, t):
                    if not ready_flag[k, s]:
                        ready_flag[k, s] = True
                        ready_list[k, ready_n[k]] = s
                        ready_n[k] += 1
                for e in range(xfer_ptr[s], xfer_ptr[s + 1]):
                    s2 = xfer_idx[e]
                    t2 = t + xfer_s[e]
                    if t2 > bound:
                        break
                    if _lower(ready, k, max_rides, s2, t2):
                        if not ready_flag[k, s2]:
                            ready_flag[k, s2] = True
                            ready_list[k, ready_n[k]] = s2
                            ready_n[k] += 1

        # Rounds left early keep their marks; clear them for the next minute.
        for k in range(max_rides + 1):
            for i in range(ready_n[k]):
                ready_flag[k, ready_list[k, i]] = False

        for j in range(n_dest):
            travel = dest[j] - depart
            if travel <= max_time_s:
                out[row, m, j] = np.float32(travel)
            else:
                out[row, m, j] = np.inf


@njit(cache=True, parallel=True)
def range_raptor(
    origins: np.ndarray,
    departures_s: np.ndarray,
    n_destinations: int,
    pattern_stop_ptr: np.ndarray,
    pattern_stops: np.ndarray,
    pattern_trip_ptr: np.ndarray,
    pattern_time_ptr: np.ndarray,
    arrival_s: np.ndarray,
    departure_s: np.ndarray,
    stop_pattern_ptr: np.ndarray,
    stop_pattern: np.ndarray,
    stop_pattern_pos: np.ndarray,
    acc_ptr: np.ndarray,
    acc_idx: np.ndarray,
    acc_s: np.ndarray,
    egr_ptr: np.ndarray,
    egr_idx: np.ndarray,
    egr_s: np.ndarray,
    xfer_ptr: np.ndarray,
    xfer_idx: np.ndarray,
    xfer_s: np.ndarray,
    walk_ptr: np.ndarray,
    walk_idx: np.ndarray,
    walk_s: np.ndarray,
    board_slack_s: int,
    max_rides: int,
    max_time_s: int,
) -> np.ndarray:
    """Travel times from ``origins`` for every departure of a window, in parallel over origins.

    Returns a float32 array of shape ``(len(origins), len(departures_s), n_destinations)`` in
    seconds, ``inf`` where unreachable within ``max_time_s``. ``departures_s`` is ascending.
    """
    out = np.empty((len(origins), len(departures_s), n_destinations), dtype=np.float32)
    for row in prange(len(origins)):
        _one_origin(
            origins[row],
            departures_s,
            out,
            row,
            pattern_stop_ptr,
            pattern_stops,
            pattern_trip_ptr,
            pattern_time_ptr,
            arrival_s,
            departure_s,
            stop_pattern_ptr,
            stop_pattern,
            stop_pattern_pos,
            acc_ptr,
            acc_idx,
            acc_s,
            egr_ptr,
            egr_idx,
            egr_s,
            xfer_ptr,
            xfer_idx,
            xfer_s,
            walk_ptr,
            walk_idx,
            walk_s,
            board_slack_s,
            max_rides,
            max_time_s,
        )
    return out


@njit(cache=True, parallel=True)
def range_raptor_percentiles(
    origins: np.ndarray,
    departures_s: np.ndarray,
    n_destinations: int,
    ranks: np.ndarray,
    pattern_stop_ptr: np.ndarray,
    pattern_stops: np.ndarray,
    pattern_trip_ptr: np.ndarray,
    pattern_time_ptr: np.ndarray,
    arrival_s: np.ndarray,
    departure_s: np.ndarray,
    stop_pattern_ptr: np.ndarray,
    stop_pattern: np.ndarray,
    stop_pattern_pos: np.ndarray,
    acc_ptr: np.ndarray,
    acc_idx: np.ndarray,
    acc_s: np.ndarray,
    egr_ptr: np.ndarray,
    egr_idx: np.ndarray,
    egr_s: np.ndarray,
    xfer_ptr: np.ndarray,
    xfer_idx: np.ndarray,
    xfer_s: np.ndarray,
    walk_ptr: np.ndarray,
    walk_idx: np.ndarray,
    walk_s: np.ndarray,
    board_slack_s: int,
    max_rides: int,
    max_time_s: int,
) -> np.ndarray:
    """Like :func:`range_raptor`, reduced per origin to the sorted values at ``ranks``.

    Returns a float32 array of shape ``(len(origins), n_destinations, len(ranks))``: for each
    destination, the travel times of the window sorted ascending (``inf`` last), taken at the
    0-based ``ranks``. Only one origin's minutes are held per thread.
    """
    n_minutes = len(departures_s)
    out = np.empty((len(origins), n_destinations, len(ranks)), dtype=np.float32)
    for row in prange(len(origins)):
        minutes = np.empty((1, n_minutes, n_destinations), dtype=np.float32)
        _one_origin(
            origins[row],
            departures_s,
            minutes,
            0,
            pattern_stop_ptr,
            pattern_stops,
            pattern_trip_ptr,
            pattern_time_ptr,
            arrival_s,
            departure_s,
            stop_pattern_ptr,
            stop_pattern,
            stop_pattern_pos,
            acc_ptr,
            acc_idx,
            acc_s,
            egr_ptr,
            egr_idx,
            egr_s,
            xfer_ptr,
            xfer_idx,
            xfer_s,
            walk_ptr,
            walk_idx,
            walk_s,
            board_slack_s,
            max_rides,
            max_time_s,
        )
        for j in range(n_destinations):
            ordered = np.sort(minutes[0, :, j])
            for r in range(len(ranks)):
                out[row, j, r] = ordered[ranks[r]]
    return out
