"""Straight-line fallback: haversine distance times a circuity factor, at the mode's speed.

Used when no OpenStreetMap street network is configured. Distances use the mean Earth
radius of 6,371,008.8 m; times are rounded to whole seconds.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from transport_access.routing._links import Links

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(
    lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray
) -> np.ndarray:
    """Great-circle distance in metres between points given in degrees (broadcasts)."""
    lon1, lat1, lon2, lat2 = (
        np.radians(np.asarray(a, dtype=np.float64)) for a in (lon1, lat1, lon2, lat2)
    )
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def straight_line_seconds(
    distance_m: np.ndarray, *, speed_kmh: float, circuity: float
) -> np.ndarray:
    """Travel time in whole seconds for straight-line distances.

    Parameters
    ----------
    distance_m : numpy.ndarray
        Haversine distances in metres.
    speed_kmh : float
        Mode speed in km/h.
    circuity : float
        Ratio of network to straight-line distance (1.3 by default in studies).

    Returns
    -------
    numpy.ndarray of int64
    """
    return np.rint(np.asarray(distance_m) * circuity / (speed_kmh / 3.6)).astype(np.int64)


def _unit_xyz(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    lon_r, lat_r = np.radians(lon), np.radians(lat)
    return np.column_stack(
        [np.cos(lat_r) * np.cos(lon_r), np.cos(lat_r) * np.sin(lon_r), np.sin(lat_r)]
    )


def straight_line_links(
    from_lon: np.ndarray,
    from_lat: np.ndarray,
    to_lon: np.ndarray,
    to_lat: np.ndarray,
    *,
    speed_kmh: float,
    circuity: float,
    max_seconds: float,
) -> Links:
    """All pairs within ``max_seconds`` by the straight-line model.

    Parameters
    ----------
    from_lon, from_lat, to_lon, to_lat : numpy.ndarray
        Coordinates in degrees (EPSG:4326).
    speed_kmh : float
        Mode speed.
    circuity : float
        Network-to-straight-line ratio.
    max_seconds : float
        Cut-off; pairs with a rounded time above it are left out.

    Returns
    -------
    Links
        From each ``from`` point to the ``to`` points it reaches in time.
    """
    from_lon, from_lat, to_lon, to_lat = (
        np.asarray(a, dtype=np.float64) for a in (from_lon, from_lat, to_lon, to_lat)
    )
    max_m = max_seconds * (speed_kmh / 3.6) / circuity
    # Chord length on the unit sphere bounds the great-circle distance from below, so the
    # KD-tree query never misses a pair; the exact haversine filter follows.
    radius = 2 * np.sin(min(max_m / EARTH_RADIUS_M, np.pi) / 2) + 1e-12
    tree = cKDTree(_unit_xyz(to_lon, to_lat))
    hits = tree.query_ball_point(_unit_xyz(from_lon, from_lat), r=radius)
    counts = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
    src = np.repeat(np.arange(len(hits)), counts)
    dst = np.concatenate([np.asarray(h, dtype=np.int64) for h in hits]) if len(src) else src
    dist = haversine_m(from_lon[src], from_lat[src], to_lon[dst], to_lat[dst])
    secs = straight_line_seconds(dist, speed_kmh=speed_kmh, circuity=circuity)
    keep = secs <= max_seconds
    return Links.from_pairs(len(from_lon), len(to_lon), src[keep], dst[keep], secs[keep])
