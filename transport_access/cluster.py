"""Scale-out on a Dask cluster: the same runs, with origins split into chunks across workers.

The commands that route many origins (``matrix``, ``access``, ``scenarios``, ``isochrones``)
take ``--scheduler``: the address of a running ``dask.distributed`` scheduler
(``tcp://10.0.0.5:8786``), or ``local:N`` for a LocalCluster of ``N`` worker processes on
this machine. The library functions take the same as ``scheduler=`` (a string, or a
connected ``distributed.Client`` that the caller keeps and closes).

How a run is split (the tests hold the code to these rules):

* **Chunks of origins.** Origins are cut into consecutive chunks (``chunk_origins`` each; by
  default about eight chunks per worker, at most :data:`MAX_CHUNK_ORIGINS`), one task per
  chunk. Whatever a chunk computes for an origin depends only on that origin, and the
  measures that pool all origins (2SFCA) are finished by the client from the chunks' parts in
  origin order, so a distributed run equals the single-process run exactly.
* **The network, once per worker.** By default the client sends the built network (streets,
  the routed day's timetable arrays, transfer links, demand-responsive zones) to every
  worker once (``Client.scatter(broadcast=True)``); tasks then use the worker's copy. With
  :class:`NetworkPaths` instead, each worker builds the network itself from the same OSM and
  GTFS paths, once per process, which on a real cluster needs the files and the package
  cache (``TRANSPORT_ACCESS_CACHE``) on shared storage, so that the street graphs are read
  from the cache, not rebuilt.
* **Results.** Matrix tasks write one Parquet part each (``part-00012.parquet``) into a
  dataset folder and return only their row count: the client never holds the matrix.
  Access tasks return their origins' measures, which are small.
* **Worker loss.** When a worker dies, the scheduler gives its unfinished chunks to the other
  workers (up to ``distributed.scheduler.allowed-failures`` times per chunk, 3 by default,
  after which the run stops with ``KilledWorker``). A part is written to a temporary name
  and renamed when complete, and a chunk run again writes the same part with the same
  content, so nothing is lost or written twice; the client keeps one result per chunk.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from transport_access._log import get_logger
from transport_access._progress import track
from transport_access.errors import InvalidValueError, TransportAccessError

if TYPE_CHECKING:
    import pandas as pd
    from distributed import Client

    from transport_access.routing.api import TransportNetwork

log = get_logger(__name__)

#: Most origins in one chunk by default (a chunk's per-minute transit times are held whole).
MAX_CHUNK_ORIGINS = 2000
#: Chunks per worker by default: enough to balance uneven origins, few enough to be cheap.
CHUNKS_PER_WORKER = 8
MANIFEST = "_manifest.json"


class SchedulerError(TransportAccessError, ValueError):
    """The ``--scheduler`` value is malformed, or no scheduler answers at that address."""


# ------------------------------------------------------------------------------ connect


def _local_spec(spec: str) -> int | None:
    if not spec.startswith("local"):
        return None
    _, _, count = spec.partition(":")
    try:
        n = int(count) if count else os.cpu_count() or 1
    except ValueError:
        n = 0
    if n < 1:
        raise SchedulerError(f"--scheduler {spec!r}: write local:N with N workers, e.g. local:2.")
    return n


@contextlib.contextmanager
def connect(scheduler: str | Client, *, timeout_s: float = 30.0,
            numba_threads: int | None = None) -> Iterator[Client]:
    """A ``distributed.Client`` for a scheduler address, ``local:N``, or a client.

    Parameters
    ----------
    scheduler : str or distributed.Client
        ``"tcp://host:8786"`` (a running scheduler), ``"local:N"`` (start a LocalCluster of
        N single-threaded worker processes here, closed on exit) or a connected client
        (used as it is, not closed).
    timeout_s : float
        How long to wait for a scheduler at an address.
    numba_threads : int, optional
        Threads of the routing kernels in each local worker; by default the machine's cores
        shared out among the workers (``local:1`` on 2 cores: 2 threads).

    Yields
    ------
    distributed.Client

    Raises
    ------
    SchedulerError
        A malformed ``local:N``, or no scheduler at the address within ``timeout_s``.
    """
    from distributed import Client

    if isinstance(scheduler, Client):
        yield scheduler
        return
    spec = str(scheduler).strip()
    n_local = _local_spec(spec)
    if n_local is not None:
        from distributed import LocalCluster

        # One numba thread per worker when workers share the machine's cores.
        threads = numba_threads or max(1, (os.cpu_count() or 1) // n_local)
        env = {"NUMBA_NUM_THREADS": str(threads), "OMP_NUM_THREADS": "1",
               "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        log.info("starting a local Dask cluster: %d workers, %d numba thread(s) each",
                 n_local, threads)
        cluster = LocalCluster(n_workers=n_local, threads_per_worker=1, processes=True,
                               dashboard_address=":0", env=env,
                               silence_logs=logging.ERROR)
        client = Client(cluster)
        try:
            _forward_warnings(client)
            yield client
        finally:
            client.close()
            cluster.close()
        return
    if "://" not in spec and ":" not in spec:
        raise SchedulerError(f"--scheduler {spec!r}: give a scheduler address such as "
                             "tcp://10.0.0.5:8786, or local:N for N workers on this machine.")
    try:
        client = Client(spec, timeout=f"{timeout_s}s")
    except OSError as error:
        raise SchedulerError(f"--scheduler {spec}: no Dask scheduler answered ({error}). "
                             "Start one with `dask scheduler` and workers with "
                             "`dask worker ADDRESS`, or use local:N.") from None
    try:
        _forward_warnings(client)
        yield client
    finally:
        client.close()


@contextlib.contextmanager
def maybe_connect(scheduler: str | Client | None) -> Iterator[Client | None]:
    """:func:`connect` when a scheduler is given, else ``None`` (run in this process)."""
    if scheduler is None:
        yield None
        return
    with connect(scheduler) as client:
        yield client


def _forward_warnings(client: Client) -> None:
    # Workers' warnings (unsnapped points, windows outside the service) reach the user.
    with contextlib.suppress(Exception):
        client.forward_logging("transport_access", level=logging.WARNING)


def n_workers(client: Client) -> int:
    """Workers the scheduler knows now (at least 1)."""
    return max(1, len(client.scheduler_info().get("workers", {})))


# ------------------------------------------------------------------------------ chunks


def chunk_bounds(n: int, chunk_size: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` covering ``range(n)`` in consecutive chunks of ``chunk_size``."""
    if chunk_size < 1:
        raise InvalidValueError("chunk_origins", f"{chunk_size}: give at least 1.")
    return [(start, min(start + chunk_size, n)) for start in range(0, n, chunk_size)]


def default_chunk_size(n_items: int, workers: int) -> int:
    """About :data:`CHUNKS_PER_WORKER` chunks per worker, at most :data:`MAX_CHUNK_ORIGINS`."""
    per = -(-max(n_items, 1) // (CHUNKS_PER_WORKER * max(workers, 1)))
    return max(1, min(MAX_CHUNK_ORIGINS, per))


@dataclass(frozen=True)
class NetworkPaths:
    """A network that each worker builds itself from files on shared storage.

    Attributes
    ----------
    osm : str or None
        OpenStreetMap extract (``None``: straight-line streets).
    gtfs : tuple of str
        GTFS feeds.
    street_modes : tuple of str
        Street graphs to build.
    car_default_speed_kmh : float
        As :func:`transport_access.routing.api.build_transport_network`.
    """

    osm: str | None = None
    gtfs: tuple[str, ...] = ()
    street_modes: tuple[str, ...] = ("walk",)
    car_default_speed_kmh: float = 40.0

    def load(self) -> TransportNetwork:
        """Build the network, or return the one this process built already."""
        if self not in _LOADED:
            from transport_access.routing.api import build_transport_network

            log.info("worker %d: building the network from %s", os.getpid(),
                     ", ".join(filter(None, [self.osm, *self.gtfs])) or "nothing")
            _LOADED[self] = build_transport_network(
                osm=self.osm, gtfs=list(self.gtfs), street_modes=self.street_modes,
                car_default_speed_kmh=self.car_default_speed_kmh)
        return _LOADED[self]


_LOADED: dict[NetworkPaths, Any] = {}


def resolve_network(network: Any) -> Any:
    """The worker's network: a scattered one as it is, :class:`NetworkPaths` loaded once."""
    return network.load() if isinstance(network, NetworkPaths) else network


def run_chunks(
    client: Client,
    func: Callable[..., Any],
    chunks: Sequence[Any],
    *,
    shared: dict[str, Any] | None = None,
    description: str = "chunks",
) -> list[Any]:
    """Run ``func(chunk, index, **shared)`` for every chunk on the cluster; results in order.

    Parameters
    ----------
    client : distributed.Client
        Connected client.
    func : callable
        A module-level function (it is pickled): ``func(chunk, index, **shared)``.
    chunks : sequence
        One item per task (a slice of origins, say).
    shared : dict, optional
        Keyword arguments every task gets (the network...): sent once to every worker and
        released at the end, except ``distributed.Future`` values, which the caller
        scattered and keeps.
    description : str
        Names the tasks in the scheduler and the progress messages.

    Returns
    -------
    list
        ``func``'s result per chunk, in the order of ``chunks``.

    Raises
    ------
    Exception
        The first error a chunk raised (the others are cancelled).
    """
    from distributed import as_completed

    n = len(chunks)
    if n == 0:
        return []
    from distributed import Future

    # Values scattered already (a network shared by several runs) are passed on as they are.
    scattered = {name: client.scatter(value, broadcast=True, hash=False)
                 for name, value in (shared or {}).items() if not isinstance(value, Future)}
    shared_futures = {**(shared or {}), **scattered}
    token = uuid.uuid4().hex[:8]
    futures = {
        client.submit(func, chunk, index, **shared_futures, pure=False,
                      key=f"{description.replace(' ', '-')}-{token}-{index:05d}"): index
        for index, chunk in enumerate(chunks)
    }
    log.info("%s: %d chunks on %d workers", description, n, n_workers(client))
    results: list[Any] = [None] * n
    done = 0
    step = max(1, n // 10)
    try:
        for future in track(as_completed(futures), total=n, description=description):
            results[futures[future]] = future.result()
            future.release()
            done += 1
            if done % step == 0 or done == n:
                log.info("%s: %d of %d chunks done", description, done, n)
    except BaseException:
        client.cancel(list(futures))
        raise
    finally:
        client.cancel(list(scattered.values()))
    return results


# ------------------------------------------------------------------------------ matrix


MATRIX_KINDS = ("percentiles", "expanded", "arrive_by")


def matrix_function(kind: str) -> Callable[..., pd.DataFrame]:
    """The routing API function of a matrix kind (one of :data:`MATRIX_KINDS`)."""
    from transport_access.routing import api

    functions = {"percentiles": api.travel_time_matrix,
                 "expanded": api.expanded_travel_time_matrix,
                 "arrive_by": api.arrive_by_matrix}
    if kind not in functions:
        raise InvalidValueError("kind", f"{kind!r}: choose from {list(MATRIX_KINDS)}.")
    return functions[kind]


@dataclass
class MatrixParts:
    """A travel-time matrix written as a partitioned Parquet dataset.

    Attributes
    ----------
    folder : pathlib.Path
        The dataset folder (``pandas.read_parquet(folder)`` reads it whole).
    parts : list of pathlib.Path
        One file per chunk of origins, in origin order.
    rows : int
        Rows in all parts.
    """

    folder: Path
    parts: list[Path]
    rows: int


def _part_path(folder: Path, index: int) -> Path:
    return folder / f"part-{index:05d}.parquet"


def _matrix_part(
    bounds: tuple[int, int], index: int, *, network: Any, origins: pd.DataFrame,
    destinations: pd.DataFrame, kind: str, options: dict[str, Any], folder: str,
) -> int:
    table = matrix_function(kind)(resolve_network(network),
                                  origins.iloc[bounds[0]:bounds[1]], destinations, **options)
    path = _part_path(Path(folder), index)
    # A killed worker leaves at most a temporary file; the part appears whole or not at all.
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.tmp")
    table.to_parquet(tmp, index=False)
    os.replace(tmp, path)
    return len(table)


def _prepare_folder(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise InvalidValueError(folder, "exists and is a file; a distributed matrix is a "
                                "folder of Parquet parts.", "Remove it or choose another --out.")
    folder.mkdir(parents=True, exist_ok=True)
    # A fresh run: parts of an earlier run would otherwise mix with this one's.
    for old in [*folder.glob("part-*.parquet"), *folder.glob(".part-*.tmp"),
                folder / MANIFEST]:
        old.unlink(missing_ok=True)


def distributed_matrix(
    network: TransportNetwork | NetworkPaths,
    origins: Any,
    destinations: Any,
    *,
    out: str | os.PathLike[str],
    scheduler: str | Client,
    kind: str = "percentiles",
    chunk_origins: int | None = None,
    **options: Any,
) -> MatrixParts:
    """A travel-time matrix on a Dask cluster, streamed to a partitioned Parquet dataset.

    Parameters
    ----------
    network : TransportNetwork or NetworkPaths
        A built network (sent once to every worker), or the paths each worker builds it
        from (shared storage).
    origins, destinations : pandas.DataFrame or geopandas.GeoDataFrame
        As :func:`transport_access.routing.api.travel_time_matrix`.
    out : path-like
        Dataset folder, e.g. ``ttm.parquet``; earlier parts in it are removed first.
    scheduler : str or distributed.Client
        As :func:`connect`.
    kind : {"percentiles", "expanded", "arrive_by"}
        :func:`~transport_access.routing.api.travel_time_matrix`,
        :func:`~transport_access.routing.api.expanded_travel_time_matrix` or
        :func:`~transport_access.routing.api.arrive_by_matrix`.
    chunk_origins : int, optional
        Origins per task; :func:`default_chunk_size` by default.
    **options
        The keyword arguments of that function (``modes``, ``date``, ``departure``,
        ``window_min``, ``percentiles``, routing parameters...).

    Returns
    -------
    MatrixParts
        The parts, in origin order; the rows of each part are those of the single-process
        function for the chunk's origins, so the parts together equal its whole result.
    """
    import json

    from transport_access.routing.api import (
        RoutingParameters,
        TransportNetwork,
        check_points,
        parse_departure,
    )

    matrix_function(kind)  # a bad kind fails here, before any cluster starts
    if options.get("engine", "embedded") != "embedded":
        raise InvalidValueError("engine", "--scheduler runs the embedded engine only; R5 "
                                "has its own parallelism (drop --scheduler for --engine r5).")
    o = check_points(origins, what="origins")
    d = check_points(destinations, what="destinations")
    folder = Path(out)
    _prepare_folder(folder)
    with connect(scheduler) as client:
        size = (chunk_origins if chunk_origins is not None
                else default_chunk_size(len(o), n_workers(client)))
        bounds = chunk_bounds(len(o), size)
        if isinstance(network, TransportNetwork) and (kind == "arrive_by" or "transit" in
                                                      options.get("modes", ("transit",))):
            # The day's timetable, transfers and egress links, built once here and sent.
            day = parse_departure(options.get("departure", options.get("arrive_by", "07:00")),
                                  options.get("date"))[0]
            fields = RoutingParameters.__dataclass_fields__
            network.prepare(day, RoutingParameters(**{k: v for k, v in options.items()
                                                      if k in fields}), d)
        rows = run_chunks(
            client, _matrix_part, bounds, description=f"matrix {kind}",
            shared={"network": network, "origins": o, "destinations": d, "kind": kind,
                    "options": options, "folder": str(folder.resolve())},
        )
    parts = [_part_path(folder, i) for i in range(len(bounds))]
    missing = [p.name for p in parts if not p.is_file()]
    if missing:
        raise TransportAccessError(f"{folder}: parts {missing[:5]} were not written; "
                                   "the run did not complete.")
    for leftover in folder.glob(".part-*.tmp"):  # from workers killed mid-write
        leftover.unlink(missing_ok=True)
    manifest = {"kind": kind, "origins": len(o), "destinations": len(d),
                "chunk_origins": size, "parts": [p.name for p in parts],
                "rows": int(sum(rows)), "rows_per_part": [int(r) for r in rows],
                "options": dict(options)}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str))
    log.info("matrix: %d rows in %d parts -> %s", sum(rows), len(parts), folder)
    return MatrixParts(folder=folder, parts=parts, rows=int(sum(rows)))
