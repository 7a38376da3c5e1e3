"""Street networks for walking, cycling and driving, built from OpenStreetMap and cached.

:func:`build_street_network` reads an OSM extract (``.osm.pbf``) with pyosmium, keeps the
ways each mode may use (rules in :mod:`transport_access.network._osm`), writes one small OSM
XML file per mode and turns it into a graph with ``osmnx.graph_from_xml`` (unsimplified, so
that every shape point of a street is a node points can snap to). Each graph is reduced to
its largest strongly connected component, then stored compactly as a :class:`ModeNetwork`:
node ids and coordinates, and a CSR adjacency with edge lengths in metres (all modes) and
car travel times in seconds. Walk and cycle times are computed at query time from a speed,
so changing a speed needs no rebuild.

Builds are cached under :func:`transport_access._cache.cache_dir` as ``.npz`` arrays (no
pickles), keyed by the PBF's content, the mode, the bounding box and the rules' version.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from transport_access._cache import cache_dir, cache_key
from transport_access._log import get_logger
from transport_access.errors import FileFormatError, MissingFileError
from transport_access.network._osm import CAR_DEFAULT_SPEED_MPH, MODES

if TYPE_CHECKING:
    import networkx as nx
    from scipy.sparse import csr_matrix
    from scipy.spatial import cKDTree

    from transport_access.report import DataReport

log = get_logger(__name__)

#: Bump when the rules or the stored layout change, so old caches are not reused.
FORMAT_VERSION = 1

_ARRAYS = ("node_osmid", "lon", "lat", "indptr", "indices", "length_m", "travel_time_s")


@dataclass(frozen=True, eq=False)
class ModeNetwork:
    """One mode's street graph, its largest strongly connected component, in CSR layout.

    Attributes
    ----------
    mode : str
        ``"walk"``, ``"cycle"`` or ``"car"``.
    node_osmid : numpy.ndarray of int64, shape (n_nodes,)
        OSM node id of each node.
    lon, lat : numpy.ndarray of float64, shape (n_nodes,)
        Node coordinates, degrees (EPSG:4326).
    indptr : numpy.ndarray of int64, shape (n_nodes + 1,)
        Edges leaving node ``i`` are ``indptr[i]:indptr[i + 1]``.
    indices : numpy.ndarray of int32, shape (n_edges,)
        Head node of each edge.
    length_m : numpy.ndarray of float64, shape (n_edges,)
        Edge length in metres (great-circle, as osmnx computes it).
    travel_time_s : numpy.ndarray of float64, shape (n_edges,) or None
        Car travel time of each edge in seconds; ``None`` for walk and cycle.
    stats : dict
        Build figures: ways used, nodes dropped outside the largest component, etc.
    """

    mode: str
    node_osmid: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    length_m: np.ndarray
    travel_time_s: np.ndarray | None = None
    stats: dict = field(default_factory=dict)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_osmid)

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return len(self.indices)

    def edge_seconds(self, speed_kmh: float | None = None) -> np.ndarray:
        """Travel time of each edge in seconds, shape (n_edges,).

        Parameters
        ----------
        speed_kmh : float, optional
            Speed for walk and cycle (required for them). Car uses its stored edge times and
            refuses a speed, because its speeds vary by road.

        Returns
        -------
        numpy.ndarray of float64
        """
        if self.travel_time_s is not None:
            if speed_kmh is not None:
                raise ValueError(
                    f"{self.mode} edge times come from OSM maxspeed and road class; "
                    "do not pass speed_kmh for this mode"
                )
            return self.travel_time_s
        if speed_kmh is None or not speed_kmh > 0:
            raise ValueError(f"{self.mode}: speed_kmh must be a positive number, got {speed_kmh}")
        return self.length_m / (speed_kmh / 3.6)

    def csgraph(self, weights: np.ndarray) -> csr_matrix:
        """Return the adjacency as a ``scipy.sparse.csr_matrix`` with the given edge weights.

        Parameters
        ----------
        weights : numpy.ndarray, shape (n_edges,)
            Non-negative weight of each edge, in CSR order. Zeros stay edges (scipy's
            csgraph treats explicit zeros in a sparse matrix as edges).

        Returns
        -------
        scipy.sparse.csr_matrix, shape (n_nodes, n_nodes)
        """
        from scipy.sparse import csr_matrix

        n = self.n_nodes
        return csr_matrix((weights, self.indices, self.indptr), shape=(n, n))

    def to_networkx(self, weights: np.ndarray) -> nx.DiGraph:
        """Return a ``networkx.DiGraph`` on node indices with edge attribute ``weight``.

        For checks and benchmarks; routing uses :meth:`csgraph`.

        Parameters
        ----------
        weights : numpy.ndarray, shape (n_edges,)

        Returns
        -------
        networkx.DiGraph
        """
        import networkx as nx

        graph = nx.DiGraph()
        graph.add_nodes_from(range(self.n_nodes))
        tails = np.repeat(np.arange(self.n_nodes), np.diff(self.indptr))
        graph.add_weighted_edges_from(
            zip(tails.tolist(), self.indices.tolist(), np.asarray(weights).tolist(), strict=True)
        )
        return graph

    @cached_property
    def kdtree(self) -> cKDTree:
        """KD-tree of the nodes on the unit sphere (chord order is great-circle order).

        Built on first use and kept; :func:`transport_access.routing.streets.snap_points`
        queries it.
        """
        from scipy.spatial import cKDTree

        from transport_access.routing.straight_line import _unit_xyz

        return cKDTree(_unit_xyz(self.lon, self.lat))


@dataclass(frozen=True, eq=False)
class StreetNetwork:
    """Street graphs of one OSM extract, one :class:`ModeNetwork` per mode.

    Attributes
    ----------
    source : str
        The OSM file they were built from.
    modes : dict of str to ModeNetwork
    from_cache : dict of str to bool
        Whether each mode was loaded from the cache.
    """

    source: str
    modes: dict[str, ModeNetwork]
    from_cache: dict[str, bool] = field(default_factory=dict)

    def __getitem__(self, mode: str) -> ModeNetwork:
        if mode not in self.modes:
            raise KeyError(
                f"{self.source}: no {mode!r} street network was built; built: "
                f"{sorted(self.modes)}. Pass modes=... to build_street_network."
            )
        return self.modes[mode]


def build_street_network(
    pbf: str | os.PathLike[str],
    *,
    modes: Iterable[str] = MODES,
    bbox: tuple[float, float, float, float] | None = None,
    car_default_speed_kmh: float = 40.0,
    cache: bool = True,
    report: DataReport | None = None,
) -> StreetNetwork:
    """Build (or load from the cache) the walk, cycle and car street networks of an extract.

    Parameters
    ----------
    pbf : path-like
        OpenStreetMap extract, ``.osm.pbf`` (an ``.osm`` XML file also works).
    modes : iterable of str
        Any of ``"walk"``, ``"cycle"``, ``"car"``.
    bbox : (min_lon, min_lat, max_lon, max_lat), optional
        Keep only ways with a node inside this box, degrees. ``None`` keeps the whole file.
    car_default_speed_kmh : float
        Car speed on a way with no usable ``maxspeed`` and a road class missing from the
        England defaults (see :mod:`transport_access.network._osm`).
    cache : bool
        Read and write the on-disk cache.
    report : DataReport, optional
        Receives, per mode, the nodes kept and those dropped outside the largest strongly
        connected component.

    Returns
    -------
    StreetNetwork

    Raises
    ------
    MissingFileError
        The file does not exist.
    FileFormatError
        The file is not an OSM file osmium can read, or it has no street usable by one of
        the requested modes.
    """
    path = Path(pbf)
    modes = list(dict.fromkeys(modes))
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise ValueError(f"unknown modes {unknown}; choose from {list(MODES)}")
    if not path.is_file():
        raise MissingFileError(
            path,
            "OpenStreetMap extract does not exist.",
            "Download one (for Dorset: Geofabrik europe/united-kingdom/england/dorset-latest"
            ".osm.pbf) and set data.osm in the study file.",
        )

    keys = {}
    for mode in modes:
        params = {
            "mode": mode,
            "bbox": list(bbox) if bbox is not None else None,
            "car_default_speed_kmh": car_default_speed_kmh if mode == "car" else None,
            "car_defaults_mph": CAR_DEFAULT_SPEED_MPH if mode == "car" else None,
            "version": FORMAT_VERSION,
        }
        keys[mode] = cache_key(f"streets-{mode}", [path], params)

    networks: dict[str, ModeNetwork] = {}
    from_cache: dict[str, bool] = {}
    for mode in modes:
        cached = _load_cached(keys[mode]) if cache else None
        if cached is not None:
            log.info("%s street network of %s loaded from the cache", mode, path.name)
            networks[mode] = cached
            from_cache[mode] = True

    missing = [m for m in modes if m not in networks]
    if missing:
        started = time.perf_counter()
        built = _build_modes(path, missing, bbox=bbox, car_default_speed_kmh=car_default_speed_kmh)
        log.info(
            "built %s street networks of %s in %.1f s",
            "/".join(missing), path.name, time.perf_counter() - started,
        )
        for mode, network in built.items():
            networks[mode] = network
            from_cache[mode] = False
            if cache:
                _save_cached(keys[mode], network)

    if report is not None:
        for mode in modes:
            network = networks[mode]
            dropped = int(network.stats.get("nodes_outside_largest_scc", 0))
            report.add(
                f"streets {mode}",
                path.name,
                network.n_nodes,
                {"nodes outside the largest strongly connected component": dropped},
                f"{network.n_edges:,} directed edges from {network.stats.get('ways_used', 0):,} "
                "OSM ways (rows are graph nodes)",
            )
    return StreetNetwork(str(path), {m: networks[m] for m in modes}, from_cache)


def _build_modes(
    path: Path,
    modes: list[str],
    *,
    bbox: tuple[float, float, float, float] | None,
    car_default_speed_kmh: float,
) -> dict[str, ModeNetwork]:
    from transport_access.network._osm import read_highways

    try:
        extract = read_highways(path, bbox=bbox)
    except RuntimeError as error:
        raise FileFormatError(
            path,
            f"is not an OpenStreetMap PBF file osmium can read ({error}).",
            "Give an .osm.pbf extract, e.g. from download.geofabrik.de.",
        ) from None
    if extract.n_missing_nodes:
        log.warning(
            "%s: %d way node references have no location in the file (clipped extract); "
            "ways are cut there",
            path.name, extract.n_missing_nodes,
        )
    if extract.n_ways_outside_bbox:
        log.info("%s: %d highway ways outside the bounding box left out",
                 path.name, extract.n_ways_outside_bbox)

    networks = {}
    with tempfile.TemporaryDirectory(prefix="ta-streets-") as tmp:
        for mode in modes:
            networks[mode] = _build_mode(
                path, extract, mode, Path(tmp) / f"{mode}.osm",
                car_default_speed_kmh=car_default_speed_kmh,
            )
    return networks


def _build_mode(
    path: Path,
    extract,  # noqa: ANN001 - _osm.HighwayExtract
    mode: str,
    xml_path: Path,
    *,
    car_default_speed_kmh: float,
) -> ModeNetwork:
    import osmnx as ox
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    from transport_access.network._osm import car_speed_kmh, write_mode_xml

    chosen = write_mode_xml(extract, mode, xml_path)
    if not chosen:
        raise FileFormatError(
            path,
            f"has no streets usable by {mode} ({extract.n_ways_read:,} highway ways read).",
            "Check that the extract covers the study area, or leave this mode out.",
        )
    # Unsimplified: every shape point stays a node, so points snap close to the street.
    graph = ox.graph_from_xml(
        xml_path, bidirectional=(mode == "walk"), simplify=False, retain_all=True
    )

    osmids = np.fromiter(graph.nodes, dtype=np.int64, count=graph.number_of_nodes())
    order = np.argsort(osmids)
    osmids = osmids[order]
    lon = np.array([graph.nodes[n]["x"] for n in osmids.tolist()], dtype=np.float64)
    lat = np.array([graph.nodes[n]["y"] for n in osmids.tolist()], dtype=np.float64)

    n_edges = graph.number_of_edges()
    tail_id = np.empty(n_edges, dtype=np.int64)
    head_id = np.empty(n_edges, dtype=np.int64)
    length = np.empty(n_edges, dtype=np.float64)
    way = np.empty(n_edges, dtype=np.int64)
    for k, (u, v, data) in enumerate(graph.edges(data=True)):
        tail_id[k], head_id[k], length[k], way[k] = u, v, data["length"], data["osmid"]
    tail = np.searchsorted(osmids, tail_id)
    head = np.searchsorted(osmids, head_id)

    seconds = None
    if mode == "car":
        speed_of_way = np.array(
            [car_speed_kmh(extract.way_tags[i], default_speed_kmh=car_default_speed_kmh)
             for i in chosen],
            dtype=np.float64,
        )
        seconds = length / (speed_of_way[way - 1] / 3.6)

    # Parallel edges (two ways joining the same nodes) keep the cheaper one; self-loops go.
    cost = seconds if seconds is not None else length
    keep = tail != head
    pick = np.lexsort((cost[keep], head[keep], tail[keep]))
    idx = np.flatnonzero(keep)[pick]
    first = np.ones(len(idx), dtype=bool)
    first[1:] = (tail[idx][1:] != tail[idx][:-1]) | (head[idx][1:] != head[idx][:-1])
    idx = idx[first]

    n = len(osmids)
    adjacency = csr_matrix((np.ones(len(idx)), (tail[idx], head[idx])), shape=(n, n))
    _, labels = connected_components(adjacency, directed=True, connection="strong")
    largest = np.argmax(np.bincount(labels))
    in_scc = labels == largest
    new_index = np.full(n, -1, dtype=np.int64)
    new_index[in_scc] = np.arange(int(in_scc.sum()))
    idx = idx[in_scc[tail[idx]] & in_scc[head[idx]]]
    new_tail, new_head = new_index[tail[idx]], new_index[head[idx]]
    csr_order = np.lexsort((new_head, new_tail))
    idx, new_tail, new_head = idx[csr_order], new_tail[csr_order], new_head[csr_order]
    n_kept = int(in_scc.sum())
    indptr = np.concatenate([[0], np.cumsum(np.bincount(new_tail, minlength=n_kept))])

    dropped = n - n_kept
    stats = {
        "ways_read": extract.n_ways_read,
        "ways_used": len(chosen),
        "nodes_in_graph": n,
        "nodes_outside_largest_scc": dropped,
        "missing_node_refs": extract.n_missing_nodes,
    }
    if dropped:
        log.warning(
            "%s %s network: dropped %d of %d nodes outside the largest strongly connected "
            "component (islands, one-way dead ends, clipped edges)",
            path.name, mode, dropped, n,
        )
    return ModeNetwork(
        mode=mode,
        node_osmid=osmids[in_scc],
        lon=lon[in_scc],
        lat=lat[in_scc],
        indptr=indptr.astype(np.int64),
        indices=new_head.astype(np.int32),
        length_m=length[idx],
        travel_time_s=seconds[idx] if seconds is not None else None,
        stats=stats,
    )


def _save_cached(key: str, network: ModeNetwork) -> None:
    target = cache_dir() / key
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=cache_dir()))
    arrays = {name: getattr(network, name) for name in _ARRAYS}
    arrays = {name: value for name, value in arrays.items() if value is not None}
    np.savez(tmp / "graph.npz", **arrays)
    (tmp / "meta.json").write_text(json.dumps({"mode": network.mode, "stats": network.stats}))
    # Rename last, so a reader never sees half a cache entry.
    try:
        tmp.rename(target)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)


def _load_cached(key: str) -> ModeNetwork | None:
    folder = cache_dir() / key
    if not (folder / "meta.json").is_file():
        return None
    try:
        meta = json.loads((folder / "meta.json").read_text())
        with np.load(folder / "graph.npz", allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError) as error:
        log.warning("ignoring unreadable street cache %s: %s", folder, error)
        return None
    return ModeNetwork(mode=meta["mode"], stats=meta["stats"], **arrays)
