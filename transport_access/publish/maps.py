"""Static maps of accessibility for a taskforce: LSOA choropleths as PNG and SVG.

What a map shows, and how:

* **travel time** (minutes to the nearest destination) in fixed classes (up to 15, 15-30,
  30-45, 45-60, 60-90, 90-120 min) so maps of different destinations and modes compare; LSOAs
  reaching nothing within the study's maximum time (120 min) get their own hatched grey
  class, "no access within 120 min";
* **opportunities** (GP surgeries, school places, jobs within a time) in quantile,
  Fisher-Jenks or natural-breaks classes (mapclassify) with edges rounded to two significant
  figures, and a class of its own for LSOAs reaching none; every class is assigned by
  mapclassify (``UserDefined`` for the fixed minute and change edges);
* **deprivation** as a thick red outline on LSOAs in IMD deciles 1-2 (the 20% most deprived
  in England), on every access map, and as a map of its own (deciles);
* **scenario changes** (scenario minus baseline) in seven classes symmetric about zero,
  neutral at zero, improvements purple and losses orange (PuOr);
* town labels from the data (NaPTAN localities with the most stops), a scale bar, a north
  arrow, the attribution text, and a note when street legs are straight-line estimates;
* on every map that uses the timetables, a line under the subtitle naming the timetables
  used (:mod:`transport_access.publish.coverage`): places they do not cover show no
  public-transport access.

Palettes are colour-blind safe (viridis, cividis, PuOr). Maps are drawn in British National
Grid (EPSG:27700) for areas in Great Britain, otherwise in the area's UTM zone.

Typical use (what ``make demo`` does)::

    from transport_access.publish.maps import write_study_maps
    paths = write_study_maps(result, "outputs/demo/maps", stops=data.stops)
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from transport_access._log import get_logger
from transport_access.errors import MissingColumnError
from transport_access.publish import _style as st

if TYPE_CHECKING:
    import geopandas as gpd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from transport_access.publish.coverage import TimetableCoverage

log = get_logger(__name__)

BRITISH_NATIONAL_GRID = "EPSG:27700"
DEFAULT_FORMATS = ("png", "svg")
_FIGSIZE_IN = (11.69, 8.27)  # A4 landscape: prints readably; legend to the right
_DPI = 150


# ------------------------------------------------------------------------------ helpers


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MissingColumnError(what, f"has no column(s) {missing}.",
                                 f"Expected columns {list(columns)}; found "
                                 f"{list(frame.columns)}.")


def map_crs(boundaries: gpd.GeoDataFrame) -> Any:
    """The projected CRS maps are drawn in: British National Grid inside Great Britain.

    Parameters
    ----------
    boundaries : geopandas.GeoDataFrame
        LSOA polygons in any CRS.

    Returns
    -------
    pyproj.CRS or str
        ``"EPSG:27700"`` when the area lies within Great Britain's bounds, else the area's UTM
        zone (metres either way, so the scale bar is true).
    """
    lon_min, lat_min, lon_max, lat_max = boundaries.to_crs("EPSG:4326").total_bounds
    if lon_min >= -9.0 and lon_max <= 2.0 and lat_min >= 49.8 and lat_max <= 61.0:
        return BRITISH_NATIONAL_GRID
    return boundaries.estimate_utm_crs()


def _town_of_parent(parent: pd.Series, locality: pd.Series, has_parent: pd.Series) -> pd.Series:
    """Each stop's parent locality followed up to a locality without a parent (its town).

    A step is taken only when the parent is an unambiguous locality: every stop of it names
    one and the same parent. NaPTAN names are not unique, and a village must not be folded
    into a distant town that has a suburb of the same name.
    """
    with_parent = pd.DataFrame({"locality": locality[has_parent], "parent": parent[has_parent]})
    parents_of = with_parent.groupby("locality")["parent"].agg(lambda p: set(p))
    roots = set(locality[~has_parent].dropna())
    step = {name: next(iter(p)) for name, p in parents_of.items()
            if len(p) == 1 and name not in roots}

    def climb(name: str) -> str:
        seen = {name}
        while name in step and step[name] not in seen:  # NaPTAN data can hold a cycle
            name = step[name]
            seen.add(name)
        return name

    return parent.map(lambda name: climb(name) if isinstance(name, str) else name)


def derive_town_labels(
    stops: pd.DataFrame,
    *,
    n_towns: int = 10,
    min_separation_km: float = 6.0,
    area: Any = None,
) -> pd.DataFrame:
    """Places to label on a map: the towns (NaPTAN localities) with the most stops.

    A town's stop count is a good proxy for its size, in any English area, without another
    dataset. NaPTAN localities inside towns are neighbourhoods; when the table has a
    ``parent_locality`` column (NaPTAN ``ParentLocalityName``), stops count for their parent
    town instead, which names Bournemouth rather than Charminster. A parent that is itself a
    neighbourhood (Springbourne's parent is Boscombe, whose parent is Bournemouth) is followed
    up to its town, as long as every stop of that parent locality names the same parent: a
    name shared by a village and a suburb (Charminster near Dorchester, Charminster in
    Bournemouth) is not followed. Towns closer than ``min_separation_km`` to a bigger one are
    skipped, and the map leaves out a label that would overlap one already drawn.

    Parameters
    ----------
    stops : pandas.DataFrame or geopandas.GeoDataFrame
        ``locality``, optionally ``parent_locality``, and either point ``geometry`` (any CRS)
        or ``lon``/``lat`` (degrees), e.g. :func:`transport_access.load.naptan.load_naptan`
        output.
    n_towns : int
        At most this many labels.
    min_separation_km : float
        Minimum distance between two labels, kilometres.
    area : shapely geometry, optional
        Study area (EPSG:4326): localities whose label point falls outside are skipped.

    Returns
    -------
    pandas.DataFrame
        ``name``, ``lon``, ``lat`` (degrees: the median of the stops of the locality that
        bears the town's name, else of all the town's stops) and ``n_stops`` (the town's
        stops, its neighbourhoods' included), biggest first; at most ``n_towns`` rows.

    Raises
    ------
    MissingColumnError
        No ``locality`` column, or neither geometry nor ``lon``/``lat``.
    """
    _require(stops, ["locality"], "stops (NaPTAN)")
    if "geometry" in stops.columns and hasattr(stops, "to_crs"):
        points = stops.to_crs("EPSG:4326") if stops.crs is not None else stops
        lon, lat = points.geometry.x.to_numpy(), points.geometry.y.to_numpy()
    else:
        _require(stops, ["lon", "lat"], "stops (NaPTAN)")
        lon, lat = stops["lon"].to_numpy(float), stops["lat"].to_numpy(float)
    names = stops["locality"].astype("string").str.strip()
    if "parent_locality" in stops.columns:
        # NaPTAN localities in towns are neighbourhoods (Lansdowne, Westham); their parent
        # locality is the town a reader knows (Bournemouth, Weymouth).
        parent = stops["parent_locality"].astype("string").str.strip()
        has_parent = (parent.notna() & (parent != "")).fillna(False).astype(bool)
        names = _town_of_parent(parent, names, has_parent).where(has_parent, names)
    own = (names == stops["locality"].astype("string").str.strip()).fillna(False)
    table = pd.DataFrame({"name": names, "lon": lon, "lat": lat, "own": own.to_numpy(bool)})
    table = table.dropna()
    table = table[table["name"] != ""]
    # The label goes at the town's own locality (its centre) where it has stops: the median
    # of all its suburbs' stops can sit far off centre (Poole's is pulled east to Parkstone).
    everywhere = table.groupby("name", sort=False)[["lon", "lat"]].median()
    centre = table[table["own"]].groupby("name", sort=False)[["lon", "lat"]].median()
    grouped = (centre.combine_first(everywhere)
               .assign(n_stops=table.groupby("name", sort=False).size())
               .rename_axis("name")
               .reset_index()
               .sort_values(["n_stops", "name"], ascending=[False, True], kind="stable"))
    if area is not None:
        from shapely import points as make_points

        inside = area.contains(make_points(grouped["lon"].to_numpy(), grouped["lat"].to_numpy()))
        grouped = grouped[np.asarray(inside, dtype=bool)]

    chosen: list[int] = []
    km_per_deg_lat = 111.2
    for index, row in grouped.iterrows():
        if len(chosen) >= n_towns:
            break
        ok = True
        for other in chosen:
            o = grouped.loc[other]
            dx = (row["lon"] - o["lon"]) * km_per_deg_lat * np.cos(np.radians(row["lat"]))
            dy = (row["lat"] - o["lat"]) * km_per_deg_lat
            if np.hypot(dx, dy) < min_separation_km:
                ok = False
                break
        if ok:
            chosen.append(index)
    out = grouped.loc[chosen, ["name", "lon", "lat", "n_stops"]].reset_index(drop=True)
    out["n_stops"] = out["n_stops"].astype(int)
    return out


def _figure() -> tuple[Figure, Axes]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # A bare Figure on an Agg canvas (not pyplot) keeps no global state between maps and
    # needs no display.
    figure = Figure(figsize=_FIGSIZE_IN, dpi=_DPI)
    FigureCanvasAgg(figure)
    ax = figure.add_axes((0.01, 0.11, 0.68, 0.79))
    ax.set_axis_off()
    ax.set_aspect("equal")
    return figure, ax


def _scale_bar(ax: Axes) -> None:
    """A scale bar of a round number of km, in the lower-left corner."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length_m = st.nice_number((x1 - x0) / 5.0)
    left, bottom = x0 + 0.04 * (x1 - x0), y0 + 0.04 * (y1 - y0)
    height = 0.008 * (y1 - y0)
    half = length_m / 2
    ax.fill_between([left, left + half], bottom, bottom + height, color="black", lw=0)
    ax.fill_between([left + half, left + length_m], bottom, bottom + height,
                    facecolor="white", edgecolor="black", lw=0.8)
    ax.plot([left, left + length_m, left + length_m, left, left],
            [bottom, bottom, bottom + height, bottom + height, bottom], color="black", lw=0.8)
    label = f"{st.format_number(length_m / 1000)} km" if length_m >= 1000 else \
        f"{length_m:.0f} m"
    for x, text in ((left, "0"), (left + length_m, label)):
        ax.text(x, bottom + 2.2 * height, text, ha="center", va="bottom", fontsize=8)


def _north_arrow(ax: Axes) -> None:
    ax.annotate("N", xy=(0.95, 0.97), xytext=(0.95, 0.87), xycoords="axes fraction",
                ha="center", va="center", fontsize=12, fontweight="bold",
                arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1.5})


def _town_labels(ax: Axes, towns: pd.DataFrame | None, crs: Any) -> None:
    """Label towns, biggest first, trying four sides of the dot; a label that would overlap
    one already placed is left out rather than drawn over it."""
    if towns is None or len(towns) == 0:
        return
    import geopandas as gpd

    points = gpd.GeoSeries(gpd.points_from_xy(towns["lon"], towns["lat"]),
                           crs="EPSG:4326").to_crs(crs)
    # A translucent box rather than a stroked halo: path effects turn SVG text into paths.
    halo = {"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.7,
            "edgecolor": "none"}
    renderer = ax.figure.canvas.get_renderer()
    placed: list[Any] = []
    sides = (((4, 3), "left", "bottom"), ((-4, 3), "right", "bottom"),
             ((4, -3), "left", "top"), ((-4, -3), "right", "top"))
    for name, point in zip(towns["name"], points, strict=True):
        for offset, ha, va in sides:
            text = ax.annotate(str(name), (point.x, point.y), xytext=offset,
                               textcoords="offset points", ha=ha, va=va, fontsize=9,
                               fontweight="bold", zorder=6, bbox=halo)
            box = text.get_window_extent(renderer).expanded(1.05, 1.1)
            if not any(box.overlaps(other) for other in placed):
                placed.append(box)
                ax.plot(point.x, point.y, "o", ms=3.5, color="black", zorder=5)
                break
            text.remove()
        else:
            log.debug("map: label %s left out (no room)", name)


def _footer(figure: Figure, *, notes: Sequence[str], attribution: str) -> None:
    lines = []
    for note in notes:
        lines += textwrap.wrap(note, 175)
    if attribution:
        lines += textwrap.wrap(attribution, 190)
    figure.text(0.02, 0.015, "\n".join(lines), fontsize=6.5, va="bottom", ha="left",
                color="#333333")


def _titles(figure: Figure, title: str, subtitle: str, data_note: str = "") -> None:
    wrapped = textwrap.wrap(title, 95)
    figure.text(0.02, 0.975, "\n".join(wrapped), fontsize=14, fontweight="bold", va="top")
    top = 0.975 - 0.035 * len(wrapped)
    if subtitle:
        lines = textwrap.wrap(subtitle, 150)
        figure.text(0.02, top, "\n".join(lines), fontsize=9.5, va="top", color="#333333")
        top -= 0.021 * len(lines)
    if data_note:
        # Dark amber: a caveat about the data, set apart from the findings above it.
        figure.text(0.02, top, "\n".join(textwrap.wrap(data_note, 165)), fontsize=8.5,
                    va="top", color="#8a5a00", style="italic")


def _save(figure: Figure, path_stem: Path, formats: Sequence[str]) -> list[Path]:
    import matplotlib

    path_stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        path = path_stem.with_suffix(f".{fmt}")
        # Text stays text in SVG: searchable, editable and readable by screen readers.
        with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "transport-access"}):
            figure.savefig(path, dpi=_DPI, facecolor="white",
                           metadata={"Date": None} if fmt == "svg" else None)
        written.append(path)
    log.info("map written: %s", ", ".join(p.name for p in written))
    return written


def _join(boundaries: gpd.GeoDataFrame, values: pd.Series | Mapping[str, float],
          crs: Any) -> gpd.GeoDataFrame:
    _require(boundaries, ["lsoa_code", "geometry"], "LSOA boundaries")
    series = pd.Series(values, dtype=float) if not isinstance(values, pd.Series) else values
    shapes = boundaries[["lsoa_code", "geometry"]].to_crs(crs)
    shapes = shapes.assign(value=shapes["lsoa_code"].map(series).astype(float))
    missing = int((~shapes["lsoa_code"].isin(series.index)).sum())
    if missing:
        log.warning("map: %d LSOA(s) have no value and are drawn as 'no data'", missing)
    shapes["has_value"] = shapes["lsoa_code"].isin(series.index)
    return shapes


def _draw_classes(ax: Axes, shapes: gpd.GeoDataFrame, classes: st.Classes, *,
                  show_missing: bool = True) -> list[Any]:
    """Fill LSOAs by class; returns legend handles (one per class, then the missing class)."""
    from matplotlib.patches import Patch

    handles = []
    codes = classes.codes
    for code, (label, colour) in enumerate(zip(classes.labels, classes.colours, strict=True)):
        subset = shapes[codes == code]
        hatch = classes.hatch_of(code)
        if len(subset):
            if hatch:
                subset.plot(ax=ax, facecolor=colour, edgecolor="#ffffff", linewidth=0.0,
                            hatch=hatch)
            else:
                subset.plot(ax=ax, color=colour, edgecolor="#ffffff80", linewidth=0.15)
        handles.append(Patch(facecolor=colour, edgecolor="#888888" if not hatch else "#ffffff",
                             linewidth=0.4, hatch=hatch or None, label=label))
    no_value = shapes[(codes < 0) & shapes["has_value"].to_numpy()]
    if len(no_value):
        no_value.plot(ax=ax, facecolor=st.NO_ACCESS_COLOUR, edgecolor="#9a9a9a",
                      linewidth=0.15, hatch=st.NO_ACCESS_HATCH)
    # The missing class is always in the legend of travel-time maps so readers learn it.
    if show_missing or len(no_value):
        handles.append(Patch(facecolor=st.NO_ACCESS_COLOUR, edgecolor="#9a9a9a",
                             hatch=st.NO_ACCESS_HATCH, label=classes.missing_label))
    no_data = shapes[~shapes["has_value"]]
    if len(no_data):
        no_data.plot(ax=ax, facecolor=st.NO_DATA_COLOUR, edgecolor="#bbbbbb", linewidth=0.3)
        handles.append(Patch(facecolor=st.NO_DATA_COLOUR, edgecolor="#bbbbbb",
                             label="no data"))
    return handles


def _deprived_outline(ax: Axes, shapes: gpd.GeoDataFrame,
                      imd_decile: pd.Series | None) -> list[Any]:
    from matplotlib.lines import Line2D

    if imd_decile is None:
        return []
    deciles = shapes["lsoa_code"].map(imd_decile)
    deprived = shapes[deciles.isin(st.DEPRIVED_DECILES).to_numpy()]
    if len(deprived) == 0:
        return []
    # Dissolve so neighbouring deprived LSOAs share one outline instead of a web of edges.
    outline = deprived.dissolve()
    outline.boundary.plot(ax=ax, color=st.DEPRIVED_OUTLINE, linewidth=1.4, zorder=4)
    return [Line2D([], [], color=st.DEPRIVED_OUTLINE, linewidth=2.0,
                   label="20% most deprived in England\n(IMD 2019 deciles 1-2)")]


def _frame_area(ax: Axes, shapes: gpd.GeoDataFrame) -> None:
    x0, y0, x1, y1 = shapes.total_bounds
    pad_x, pad_y = 0.03 * (x1 - x0), 0.03 * (y1 - y0)
    ax.set_xlim(x0 - pad_x, x1 + pad_x)
    # Extra room below for the scale bar.
    ax.set_ylim(y0 - 4 * pad_y, y1 + pad_y)


def _legend(ax: Axes, handles: list[Any], title: str) -> None:
    legend = ax.legend(handles=handles, title="\n".join(textwrap.wrap(title, 34)),
                       loc="upper left", bbox_to_anchor=(1.01, 0.97), ncols=1, fontsize=9,
                       title_fontsize=9.5, frameon=False, alignment="left", handlelength=2.0,
                       handleheight=1.2, labelspacing=0.6)
    legend.set_zorder(10)


# ------------------------------------------------------------------------------ public


def plot_classified_map(
    boundaries: gpd.GeoDataFrame,
    values: pd.Series,
    classes: st.Classes,
    path_stem: str | os.PathLike[str],
    *,
    title: str,
    subtitle: str = "",
    legend_title: str = "",
    imd_decile: pd.Series | None = None,
    towns: pd.DataFrame | None = None,
    notes: Sequence[str] = (),
    attribution: str = "",
    formats: Sequence[str] = DEFAULT_FORMATS,
    show_missing: bool = True,
    data_note: str = "",
) -> list[Path]:
    """Draw one LSOA choropleth from precomputed classes and write it.

    Parameters
    ----------
    boundaries : geopandas.GeoDataFrame
        ``lsoa_code`` and polygon ``geometry`` (any CRS).
    values : pandas.Series
        Indexed by ``lsoa_code``, in the order ``classes.codes`` were computed from
        ``boundaries["lsoa_code"].map(values)``.
    classes : Classes
        From :func:`transport_access.publish._style.classify_minutes` and friends.
    path_stem : path-like
        Output path without suffix; one file per format is written beside it.
    title, subtitle, legend_title : str
        Plain-English text; the subtitle says what was measured and when.
    imd_decile : pandas.Series, optional
        IMD decile by ``lsoa_code``: deciles 1-2 get a thick red outline.
    towns : pandas.DataFrame, optional
        From :func:`derive_town_labels`.
    notes : sequence of str
        Caveats printed under the map (e.g. straight-line streets).
    attribution : str
        Data attribution printed at the foot.
    formats : sequence of str
        File formats (``"png"``, ``"svg"``, ``"pdf"``).
    show_missing : bool
        Keep the missing class (``classes.missing_label``) in the legend even when no LSOA
        is in it, so readers of a series of maps learn it.
    data_note : str
        A caveat about the data, printed under the subtitle: the timetables used
        (:meth:`transport_access.publish.coverage.TimetableCoverage.map_line`).

    Returns
    -------
    list of pathlib.Path
        The files written, one per format.
    """
    crs = map_crs(boundaries)
    shapes = _join(boundaries, values, crs)
    figure, ax = _figure()
    handles = _draw_classes(ax, shapes, classes, show_missing=show_missing)
    handles += _deprived_outline(ax, shapes, imd_decile)
    # The area's outline keeps its shape visible where classes are pale (no change).
    shapes.dissolve().boundary.plot(ax=ax, color="#7a7a7a", linewidth=0.6, zorder=3)
    _frame_area(ax, shapes)
    _town_labels(ax, towns, crs)
    _scale_bar(ax)
    _north_arrow(ax)
    _titles(figure, title, subtitle, data_note)
    _legend(ax, handles, legend_title)
    _footer(figure, notes=notes, attribution=attribution)
    return _save(figure, Path(path_stem), formats)


def _codes_for(boundaries: gpd.GeoDataFrame, values: pd.Series) -> np.ndarray:
    return boundaries["lsoa_code"].map(values).to_numpy(dtype=float)


def plot_travel_time_map(
    boundaries: gpd.GeoDataFrame,
    travel_time_min: pd.Series,
    path_stem: str | os.PathLike[str],
    *,
    title: str,
    subtitle: str = "",
    max_time_min: float = 120.0,
    imd_decile: pd.Series | None = None,
    towns: pd.DataFrame | None = None,
    notes: Sequence[str] = (),
    attribution: str = "",
    formats: Sequence[str] = DEFAULT_FORMATS,
    data_note: str = "",
) -> list[Path]:
    """Minutes to the nearest destination per LSOA, in fixed classes with a no-access class.

    Parameters
    ----------
    boundaries : geopandas.GeoDataFrame
        ``lsoa_code`` and polygon ``geometry``.
    travel_time_min : pandas.Series
        Minutes by ``lsoa_code``; NaN = nothing reachable within ``max_time_min``.
    path_stem : path-like
        Output path without suffix.
    title, subtitle : str
        e.g. "Minutes to the nearest GP surgery by public transport".
    max_time_min : float
        The routing cut-off, minutes (the no-access class's label).
    imd_decile, towns, notes, attribution, formats, data_note
        As :func:`plot_classified_map`.

    Returns
    -------
    list of pathlib.Path
    """
    classes = st.classify_minutes(_codes_for(boundaries, travel_time_min),
                                  max_time_min=max_time_min)
    return plot_classified_map(
        boundaries, travel_time_min, classes, path_stem, title=title, subtitle=subtitle,
        legend_title="Travel time (minutes, median over the departure window)",
        imd_decile=imd_decile, towns=towns, notes=notes, attribution=attribution,
        formats=formats, data_note=data_note)


def plot_opportunity_map(
    boundaries: gpd.GeoDataFrame,
    opportunities: pd.Series,
    path_stem: str | os.PathLike[str],
    *,
    title: str,
    unit: str,
    subtitle: str = "",
    legend_title: str | None = None,
    zero_label: str | None = None,
    scheme: str = "quantiles",
    k: int = 5,
    imd_decile: pd.Series | None = None,
    towns: pd.DataFrame | None = None,
    notes: Sequence[str] = (),
    attribution: str = "",
    formats: Sequence[str] = DEFAULT_FORMATS,
    data_note: str = "",
) -> list[Path]:
    """Opportunities reachable per LSOA (jobs, pupils, places) in k rounded classes.

    Parameters
    ----------
    boundaries : geopandas.GeoDataFrame
        ``lsoa_code`` and polygon ``geometry``.
    opportunities : pandas.Series
        Count or score by ``lsoa_code``.
    path_stem : path-like
        Output path without suffix.
    title, unit, subtitle : str
        Plain English; ``unit`` labels the classes (``"jobs"``; ``""`` for none).
    legend_title : str, optional
        Defaults to "{Unit} reachable".
    zero_label : str, optional
        Label of a class of its own for LSOAs reaching none (``"none within 30 min"``);
        without it zeros share the lowest class.
    scheme : {"quantiles", "fisher_jenks", "natural_breaks"}
        The mapclassify classifier (:func:`~transport_access.publish._style.classify_counts`).
    k : int
        Number of classes, besides the zero class.
    imd_decile, towns, notes, attribution, formats, data_note
        As :func:`plot_classified_map`.

    Returns
    -------
    list of pathlib.Path
    """
    classes = st.classify_counts(_codes_for(boundaries, opportunities), k=k, scheme=scheme,
                                 unit=unit, zero_label=zero_label)
    if legend_title is None:
        legend_title = f"{unit[:1].upper()}{unit[1:]} reachable" if unit else ""
    # Zero is a count with a class of its own, not missing data: "no data" is only for LSOAs
    # without a value, so it stays out of the legend unless one is drawn.
    return plot_classified_map(
        boundaries, opportunities, classes, path_stem, title=title, subtitle=subtitle,
        legend_title=legend_title, imd_decile=imd_decile, towns=towns, notes=notes,
        attribution=attribution, formats=formats, show_missing=False, data_note=data_note)


def plot_difference_map(
    boundaries: gpd.GeoDataFrame,
    change: pd.Series,
    path_stem: str | os.PathLike[str],
    *,
    title: str,
    subtitle: str = "",
    unit: str = "min",
    lower_is_better: bool = True,
    legend_title: str | None = None,
    gained: pd.Series | None = None,
    lost: pd.Series | None = None,
    max_time_min: float = 120.0,
    imd_decile: pd.Series | None = None,
    towns: pd.DataFrame | None = None,
    notes: Sequence[str] = (),
    attribution: str = "",
    formats: Sequence[str] = DEFAULT_FORMATS,
    data_note: str = "",
) -> list[Path]:
    """Scenario minus baseline per LSOA on a diverging palette centred on zero.

    Parameters
    ----------
    boundaries : geopandas.GeoDataFrame
        ``lsoa_code`` and polygon ``geometry``.
    change : pandas.Series
        Scenario minus baseline by ``lsoa_code`` (minutes for travel times); NaN where
        neither reaches a destination.
    path_stem : path-like
        Output path without suffix.
    title, subtitle : str
        Plain English.
    unit : str
        ``"min"`` or the opportunity's unit.
    lower_is_better : bool
        True for travel times: improvements (purple) are negative changes.
    legend_title : str, optional
        Defaults to "Change in travel time, scenario minus today (minutes)".
    gained, lost : pandas.Series of bool, optional
        By ``lsoa_code``: no destination within ``max_time_min`` before and one after
        (``gained``), or the reverse (``lost``). Drawn as two classes of their own at the
        ends of the scale; the minute classes are fitted to the other LSOAs.
    max_time_min : float
        The routing's maximum journey time (for those two classes' labels).
    imd_decile, towns, notes, attribution, formats, data_note
        As :func:`plot_classified_map`.

    Returns
    -------
    list of pathlib.Path
    """
    masks = {}
    if gained is not None or lost is not None:
        codes = boundaries["lsoa_code"]
        for name, flags in (("gained", gained), ("lost", lost)):
            masks[name] = (np.zeros(len(codes), bool) if flags is None
                           else codes.map(flags).fillna(False).astype(bool).to_numpy())
    classes = st.classify_change(_codes_for(boundaries, change), unit=unit,
                                 lower_is_better=lower_is_better, max_time_min=max_time_min,
                                 **masks)
    if legend_title is None:
        legend_title = ("Change in travel time, scenario minus today (minutes)" if unit == "min"
                        else f"Change in {unit}, scenario minus today")
    return plot_classified_map(
        boundaries, change, classes, path_stem, title=title, subtitle=subtitle,
        legend_title=legend_title, imd_decile=imd_decile, towns=towns, notes=notes,
        attribution=attribution, formats=formats, data_note=data_note)


def plot_deprivation_map(
    boundaries: gpd.GeoDataFrame,
    imd_decile: pd.Series,
    path_stem: str | os.PathLike[str],
    *,
    title: str = "Deprivation: Index of Multiple Deprivation 2019 decile",
    subtitle: str = "Decile 1 = the 10% most deprived neighbourhoods in England; "
                    "10 = the 10% least deprived.",
    towns: pd.DataFrame | None = None,
    attribution: str = "",
    formats: Sequence[str] = DEFAULT_FORMATS,
) -> list[Path]:
    """IMD deciles per LSOA (1 = most deprived), cividis, deciles 1-2 outlined.

    Parameters
    ----------
    boundaries : geopandas.GeoDataFrame
        ``lsoa_code`` and polygon ``geometry``.
    imd_decile : pandas.Series
        Decile 1-10 by ``lsoa_code``.
    path_stem : path-like
        Output path without suffix.
    title, subtitle, towns, attribution, formats
        As :func:`plot_classified_map`.

    Returns
    -------
    list of pathlib.Path
    """
    deciles = _codes_for(boundaries, imd_decile)
    edges = tuple(float(d) for d in range(1, 11))
    labels = ["1 (most deprived)", *[str(d) for d in range(2, 10)], "10 (least deprived)"]
    classes = st.Classes(
        codes=st.assign_classes(deciles, edges), breaks=edges, labels=tuple(labels),
        colours=st._palette(st.DECILE_CMAP, 10), missing_label="no IMD decile")
    return plot_classified_map(
        boundaries, imd_decile, classes, path_stem, title=title, subtitle=subtitle,
        legend_title="IMD 2019 decile (England)", imd_decile=imd_decile, towns=towns,
        attribution=attribution, formats=formats, show_missing=False)


# ------------------------------------------------------------------------------ batch


def access_map_title(destination: str, mode: str, window: str = "") -> str:
    """``"Minutes to the nearest GP surgery by public transport, weekday 07:00-10:00"``."""
    title = f"Minutes to the nearest {st.destination_name(destination)} {st.mode_phrase(mode)}"
    return f"{title}, {window}" if window else title


def _series(result: Any, destination: str, mode: str, measure: str) -> pd.Series | None:
    long = result.long
    rows = long[(long["destination"] == destination) & (long["mode"] == mode)
                & (long["measure"] == measure)]
    if rows.empty:
        return None
    return rows.set_index("lsoa_code")["value"].astype(float)


def _notes(result: Any, mode: str | None = None) -> list[str]:
    notes = []
    street_model = str(result.parameters.get("street_model", ""))
    straight = any("straight" in n.lower() for n in result.notes) or \
        "straight" in street_model.lower()
    if straight and mode != "car":
        notes.append("Note: without an OpenStreetMap street network, walking legs are "
                     "estimated as straight lines x circuity at walking speed, so times are "
                     "approximate.")
    if mode == "transit":
        notes.append("Public transport times are the median over departures every minute of "
                     "the window, including walking to and from stops and waiting; or "
                     f"{st.walk_all_the_way(result.parameters)}.")
    return notes


#: Opportunity maps: destination, measure stem (``{stem}{t}_min``), which of the study's
#: thresholds (``min``: the first, ``max``: the last), unit of the class labels, what the
#: legend counts, and what the subtitle says is counted.
OPPORTUNITY_MAPS = (
    ("gp", "within_", min, "", "GP surgeries",
     "Sites of GP practices and branch surgeries (NHS ODS)"),
    ("secondary", "pupils_within_", max, "pupils", "Secondary school places",
     "Pupils on roll (DfE GIAS) at the secondary and all-through schools"),
    ("jobs", "jobs_within_", min, "jobs", "Jobs", "Employee jobs (BRES)"),
)


def _threshold_measure(result: Any, destination: str, stem: str,
                       pick: Any) -> tuple[str, float] | None:
    """``("within_30_min", 30.0)``: the transit measure ``{stem}{t}_min`` whose t ``pick``
    (min or max) chooses among those the result has; None without one."""
    rows = result.long[(result.long["destination"] == destination)
                       & (result.long["mode"] == "transit")]
    found = {}
    for measure in map(str, rows["measure"].unique()):
        if not (measure.startswith(stem) and measure.endswith("_min")):
            continue
        try:
            found[float(measure.removeprefix(stem).removesuffix("_min"))] = measure
        except ValueError:  # another measure with the same stem, e.g. "within_reach_min"
            continue
    if not found:
        return None
    minutes = pick(found)
    return found[minutes], minutes


def write_study_maps(
    result: Any,
    out_dir: str | os.PathLike[str],
    *,
    scenario_changes: pd.DataFrame | None = None,
    stops: pd.DataFrame | None = None,
    towns: pd.DataFrame | None = None,
    timetables: TimetableCoverage | None = None,
    formats: Sequence[str] = DEFAULT_FORMATS,
) -> list[Path]:
    """Write the standard set of maps of a study.

    Maps (each as ``{name}.png`` and ``{name}.svg``), when their measures exist:
    ``gp_transit``, ``secondary_transit``, ``post16_transit``, ``primary_transit`` (minutes
    to the nearest, by public transport), ``{destination}_transit_opportunities`` for the
    destinations of :data:`OPPORTUNITY_MAPS` (GP surgeries within the first threshold,
    secondary school places within the last, jobs within the first),
    ``gp_walk_vs_transit`` (walk and public transport side by side is
    avoided: a difference map "minutes saved by public transport over walking"),
    ``deprivation_deciles`` and, per scenario and destination with a travel-time change,
    ``scenario_{scenario}_{destination}``.

    Parameters
    ----------
    result : AccessResult
        From :func:`transport_access.access.run.run_access` (needs ``boundaries``).
    out_dir : path-like
        Folder; created if needed.
    scenario_changes : pandas.DataFrame, optional
        Per-LSOA changes (``scenario_lsoa_changes.csv`` of the scenario run): ``lsoa_code``,
        ``scenario``, ``destination``, ``measure``, ``change`` (scenario minus baseline) and
        optionally ``baseline_value``, ``scenario_value`` (to show LSOAs gaining or losing all
        access) and ``mode`` (transit assumed).
        Only travel-time measures (``nearest_p50_min``) are mapped.
    stops : pandas.DataFrame, optional
        NaPTAN stops, for town labels (:func:`derive_town_labels`).
    towns : pandas.DataFrame, optional
        Town labels (``name``, ``lon``, ``lat``), instead of deriving them from ``stops``.
    timetables : TimetableCoverage, optional
        The timetables used
        (:func:`transport_access.publish.coverage.compute_timetable_coverage`): every map
        that depends on them names them under its subtitle.
    formats : sequence of str
        File formats.

    Returns
    -------
    list of pathlib.Path
        Every file written, in map order.

    Raises
    ------
    MissingColumnError
        The result has no LSOA boundaries (``boundaries`` is None).
    """
    if result.boundaries is None:
        raise MissingColumnError("access result", "has no LSOA boundaries.",
                                 "Configure LSOA boundaries in the study file to draw maps.")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    boundaries = result.boundaries
    lsoas = pd.DataFrame(result.lsoas)
    imd = lsoas.set_index("lsoa_code")["imd_decile"] if "imd_decile" in lsoas.columns else None
    if towns is None and stops is not None:
        area = boundaries.to_crs("EPSG:4326").union_all()
        towns = derive_town_labels(stops, area=area)
    window = st.window_phrase(result.parameters)
    max_time = float((result.parameters.get("routing") or {}).get("max_time_min", 120.0))
    percentile = ((result.parameters.get("departure_window") or {}).get("percentiles")
                  or [50])[0]
    measure = f"nearest_p{percentile}_min"
    common = {"imd_decile": imd, "towns": towns, "attribution": result.attribution,
              "formats": formats}
    # Every map but deprivation depends on the timetables: each says which were used.
    timetable_note = {"data_note": timetables.map_line()} if timetables is not None else {}
    written: list[Path] = []

    destinations = list(pd.unique(result.long["destination"]))
    ordered = [d for d in ("gp", "secondary", "post16", "primary") if d in destinations]
    ordered += [d for d in destinations if d not in ordered and d != "jobs"]
    for destination in ordered:
        values = _series(result, destination, "transit", measure)
        if values is None:
            continue
        written += plot_travel_time_map(
            boundaries, values, out / f"{destination}_transit",
            title=access_map_title(destination, "transit", window),
            subtitle=_subtitle(values, lsoas, max_time),
            max_time_min=max_time, notes=_notes(result, "transit"), **common, **timetable_note)

    for destination, stem, pick, unit, legend, counted in OPPORTUNITY_MAPS:
        found = _threshold_measure(result, destination, stem, pick)
        if found is None:
            continue
        within, minutes = found
        values = _series(result, destination, "transit", within)
        limit = st.format_number(minutes)
        written += plot_opportunity_map(
            boundaries, values, out / f"{destination}_transit_opportunities",
            title=f"{legend} within {limit} minutes by public transport"
                  + (f", {window}" if window else ""),
            unit=unit, legend_title=f"{legend} within {limit} min (median journey)",
            zero_label=f"none within {limit} min",
            subtitle=f"{counted} reached by the median journey. "
                     + _none_subtitle(values, lsoas, f"none within {limit} min"),
            notes=_notes(result, "transit"), **common, **timetable_note)

    walk = _series(result, "gp", "walk", measure)
    transit = _series(result, "gp", "transit", measure)
    if walk is not None and transit is not None:
        # Transit already includes walking all the way, so it is never slower. Where only
        # public transport arrives within the maximum time, the saving counts as the largest.
        walk = walk.reindex(transit.index)
        saved = (walk - transit).clip(lower=0.0).where(~(walk.isna() & transit.notna()),
                                                       max_time)
        classes = st.classify_time_saved(_codes_for(boundaries, saved), max_time_min=max_time)
        written += plot_classified_map(
            boundaries, saved, classes, out / "gp_walk_vs_transit",
            title="Minutes saved by public transport over walking, to the nearest GP surgery"
                  + (f", {window}" if window else ""),
            subtitle="Purple: the bus or train is faster than walking all the way there. "
                     "Pale: walking is as fast (no useful service).",
            legend_title="Time saved by public transport compared with walking all the way",
            notes=_notes(result, "walk"), **common, **timetable_note)

    if imd is not None:
        written += plot_deprivation_map(boundaries, imd, out / "deprivation_deciles",
                                        towns=towns, attribution=result.attribution,
                                        formats=formats)

    if scenario_changes is not None and len(scenario_changes):
        written += _scenario_maps(result, scenario_changes, out, measure=measure,
                                  window=window, max_time=max_time,
                                  common={**common, **timetable_note})
    return written


def _residents(values: pd.Series, lsoas: pd.DataFrame) -> pd.Series | None:
    """Residents of each LSOA of ``values`` (same index); None without a population."""
    if "population" not in lsoas.columns:
        return None
    population = lsoas.set_index("lsoa_code")["population"].reindex(values.index)
    return population if float(population.sum()) > 0 else None


def _subtitle(values: pd.Series, lsoas: pd.DataFrame, max_time_min: float) -> str:
    """A one-line summary a planner can quote: residents beyond an hour (with no access
    counted among them, as in the report's key figures), and with no access."""
    population = _residents(values, lsoas)
    if population is None:
        return ""
    total = float(population.sum())
    none = float(population[values.isna()].sum())
    over_hour = float(population[(values > 60) | values.isna()].sum())
    return (f"{over_hour / total:.0%} of residents need over an hour, including the "
            f"{none:,.0f} residents ({none / total:.1%}) with no access within "
            f"{st.format_number(max_time_min)} min.")


def _none_subtitle(values: pd.Series, lsoas: pd.DataFrame, what: str) -> str:
    """``"108,572 residents (14.3%) have none within 30 min."``: the residents of LSOAs whose
    count is zero."""
    population = _residents(values, lsoas)
    if population is None:
        return ""
    none = float(population[values == 0].sum())
    return f"{none:,.0f} residents ({none / population.sum():.1%}) have {what}."


def _scenario_maps(result: Any, changes: pd.DataFrame, out: Path, *, measure: str,
                   window: str, max_time: float, common: dict[str, Any]) -> list[Path]:
    _require(changes, ["lsoa_code", "scenario", "destination", "measure", "change"],
             "scenario changes")
    rows = changes[changes["measure"] == measure]
    if "mode" in rows.columns:
        rows = rows[rows["mode"] == "transit"]
    written: list[Path] = []
    for (scenario, destination), group in rows.groupby(["scenario", "destination"], sort=False):
        values = group.set_index("lsoa_code")["change"].astype(float)
        reach: dict[str, Any] = {}
        base_column = next((c for c in ("baseline_value", "baseline") if c in group.columns),
                           None)
        if base_column is not None:
            # Newly reachable / no longer reachable: the change is NaN but it matters most.
            base = group.set_index("lsoa_code")[base_column].astype(float)
            after = _after_values(group)
            if after is not None:
                reach = {"gained": base.isna() & after.notna(),
                         "lost": base.notna() & after.isna()}
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in str(scenario))
        written += plot_difference_map(
            result.boundaries, values, out / f"scenario_{safe}_{destination}",
            title=f"Scenario '{scenario}': change in minutes to the nearest "
                  f"{st.destination_name(destination)} by public transport"
                  + (f", {window}" if window else ""),
            subtitle=_change_subtitle(values, reach, pd.DataFrame(result.lsoas), max_time),
            max_time_min=max_time, notes=_notes(result, "transit"), **reach, **common)
    return written


def _change_subtitle(values: pd.Series, reach: Mapping[str, pd.Series], lsoas: pd.DataFrame,
                     max_time_min: float) -> str:
    """Plain words a planner can quote: who is faster, slower, newly or no longer served."""
    text = "Purple: faster than today; orange: slower than today."
    if "population" not in lsoas.columns:
        return text
    population = lsoas.set_index("lsoa_code")["population"]

    def residents(mask: pd.Series) -> str:
        return f"{float(population.reindex(mask[mask].index).sum()):,.0f}"

    parts = [f"{residents(values < -0.5)} residents faster, {residents(values > 0.5)} slower"]
    if reach:
        limit = st.format_number(max_time_min)
        parts.append(f"{residents(reach['gained'])} newly within {limit} min, "
                     f"{residents(reach['lost'])} no longer")
    return f"{text} {'; '.join(parts)}."


def _after_values(group: pd.DataFrame) -> pd.Series | None:
    for column in ("scenario_value", "value_scenario", "after"):
        if column in group.columns:
            return group.set_index("lsoa_code")[column].astype(float)
    for column in ("baseline_value", "baseline"):
        if column not in group.columns:
            continue
        return (group.set_index("lsoa_code")[column].astype(float)
                + group.set_index("lsoa_code")["change"].astype(float))
    return None
