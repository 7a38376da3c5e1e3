"""The HTML report of a study: summary tables, static maps and an offline interactive map.

:func:`write_report` writes one ``report.html`` that a taskforce member can open from a
shared drive or e-mail attachment with no internet connection:

* every script and style sheet is inlined: Leaflet 1.9.4 (BSD-2, vendored in
  ``transport_access/publish/vendor/leaflet``) and a few lines of our own; nothing is loaded
  from a CDN, and the interactive map has no background tiles unless ``tiles_url`` is given
  (then the tiles, and only they, come from that server);
* the static maps (:mod:`transport_access.publish.maps`) are linked by relative path, so
  keep ``report.html`` beside its ``maps/`` folder (maps outside ``out_dir`` are copied in);
* the interactive map draws the LSOAs as GeoJSON (SVG paths), coloured by the same classes
  as the static maps, with a selector for the measure and a tooltip giving each LSOA's
  measures, IMD decile and population; deprived LSOAs (IMD deciles 1-2) are outlined in red.

Sections: the data coverage of the timetables (when given: which feeds, lines, trips and
days were loaded, and a warning that places they miss show no public-transport access); key
figures; interactive map; static maps; access by IMD quintile; the gap between
the most and least deprived quintiles; access deserts; scenario ranking and changes (when
given); isochrones (when given); the data report; notes and known limitations; data
provenance and attribution; generation date and package version.

Typical use (what ``make demo`` does)::

    from transport_access.publish.maps import write_study_maps
    from transport_access.publish.report import write_report

    maps = write_study_maps(result, "outputs/demo/maps", stops=data.stops)
    write_report("outputs/demo", study=data.study, data_report=data.report,
                 access_result=result, maps=maps)
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import os
import re
import shutil
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from transport_access._log import get_logger
from transport_access.publish import _style as st
from transport_access.publish.coverage import TimetableCoverage, compute_timetable_coverage

log = get_logger(__name__)

REPORT_NAME = "report.html"
LEAFLET_VERSION = "1.9.4"
#: Simplification of LSOA outlines for the interactive map, metres (British National Grid).
SIMPLIFY_M = 15.0

KNOWN_LIMITATIONS = [
    "Travel times are modelled from published timetables: they assume every bus and train "
    "runs on time and do not include delays, cancellations or crowding.",
    "Without an OpenStreetMap street network (offline runs), walking, cycling and driving "
    "legs are straight lines multiplied by a circuity factor at the mode's speed: times near "
    "rivers, harbours, railways and hills are underestimated.",
    "Each neighbourhood (LSOA) is represented by its population-weighted centroid: residents "
    "at its edges may be nearer or further than shown.",
    "Destinations outside the study area count only within the study's destination buffer; "
    "a GP or school just beyond it is not seen.",
    "Demand-responsive and community transport count only where the study file describes "
    "them.",
    "Deprivation is the English Index of Multiple Deprivation 2019 on 2011 LSOAs; it "
    "describes neighbourhoods, not individual residents.",
]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:0;
color:#1a1a1a;line-height:1.45;background:#fff}
main{max-width:1150px;margin:0 auto;padding:1rem 1.5rem 3rem}
h1{font-size:1.7rem;margin:.6rem 0 .2rem}h2{margin-top:2.2rem;border-bottom:2px solid #ddd;
padding-bottom:.2rem}
.meta{color:#555;font-size:.9rem}
table{border-collapse:collapse;margin:.6rem 0 1rem;font-size:.86rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right;vertical-align:top}
th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}
table.text td{text-align:left}
#map{height:600px;border:1px solid #aaa;background:#eef3f7}
.controls{margin:.5rem 0}
.legend{background:#fff;padding:6px 8px;border:1px solid #999;font-size:12px;line-height:18px}
.legend i{display:inline-block;width:16px;height:12px;margin-right:6px;border:1px solid #888;
vertical-align:middle}
figure{margin:1rem 0 2rem}figure img{max-width:100%;border:1px solid #ddd}
figcaption{font-size:.9rem;color:#444}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:.4rem .8rem;margin:.6rem 0}
.coverage{background:#fdecea;border:2px solid #b3261e;border-left-width:8px;padding:.6rem 1rem;
margin:.8rem 0;font-size:1.02rem}
.small{font-size:.8rem;color:#555}
"""

_MAP_JS = """
(function(){
  var data = JSON.parse(document.getElementById('lsoa-data').textContent);
  var measures = data.measures;
  var map = L.map('map', {zoomSnap: 0.25});
  window.transportAccessMap = map;
  if (data.tiles) {
    L.tileLayer(data.tiles.url, {attribution: data.tiles.attribution, maxZoom: 18}).addTo(map);
  }
  map.attributionControl.setPrefix('Leaflet ' + L.version);
  map.attributionControl.addAttribution(data.attribution_short);
  var current = measures[0].key;
  function style(feature){
    var p = feature.properties;
    var deprived = p.imd_decile === 1 || p.imd_decile === 2;
    return {fillColor: p.colour[current], fillOpacity: 0.85,
            color: deprived ? '#d6003a' : '#ffffff', weight: deprived ? 2.2 : 0.5};
  }
  function index(key){ for (var i = 0; i < measures.length; i++) {
    if (measures[i].key === key) return i; } return 0; }
  function fmt(v, unit){ return v === null ? 'no access within ' + data.max_time_min + ' min'
    : (Math.round(v * 10) / 10).toLocaleString('en-GB') + (unit ? ' ' + unit : ''); }
  function tooltip(feature){
    var p = feature.properties, rows = '';
    measures.forEach(function(m){ if (m.key !== 'imd_decile') {
      rows += '<tr><td>' + m.label + '</td><td><b>' + fmt(p.value[m.key], m.unit) +
              '</b></td></tr>'; } });
    return '<b>' + p.lsoa_name + '</b> (' + p.lsoa_code + ')<br>' + p.lad_name +
      '<br>Population ' + p.population.toLocaleString('en-GB') +
      '; IMD 2019 decile ' + p.imd_decile + ' (1 = most deprived)' +
      '<table class="tt">' + rows + '</table>';
  }
  var layer = L.geoJSON(data.lsoas, {style: style, onEachFeature: function(f, l){
    l.bindTooltip(tooltip(f), {sticky: true}); }}).addTo(map);
  map.fitBounds(layer.getBounds());
  var legend = L.control({position: 'bottomright'});
  legend.onAdd = function(){ this._div = L.DomUtil.create('div', 'legend'); this.update();
    return this._div; };
  legend.update = function(){
    var m = measures[index(current)], h = '<b>' + m.legend_title + '</b><br>';
    m.classes.forEach(function(c){ h += '<i style="background:' + c[0] + '"></i>' + c[1] +
      '<br>'; });
    h += '<i style="background:#fff;border:2px solid #d6003a"></i>20% most deprived ' +
      '(IMD deciles 1-2)';
    this._div.innerHTML = h; };
  legend.addTo(map);
  var select = document.getElementById('measure');
  measures.forEach(function(m){ var o = document.createElement('option'); o.value = m.key;
    o.textContent = m.label; select.appendChild(o); });
  select.addEventListener('change', function(){ current = select.value;
    layer.setStyle(style); legend.update(); });
  if (data.isochrones.length) {
    var overlays = {};
    data.isochrones.forEach(function(iso){
      overlays[iso.label] = L.geoJSON(iso.geojson, {interactive: true, style: function(f){
        return {color: f.properties.colour, weight: 2, fill: false}; },
        onEachFeature: function(f, l){ l.bindTooltip(iso.name + ': within ' +
          f.properties.threshold_min + ' min' + (iso.method ? ' (' + iso.method + ')' : ''));
        }});
    });
    L.control.layers(null, overlays, {collapsed: false}).addTo(map);
  }
  document.getElementById('map').setAttribute('data-lsoas', String(data.lsoas.features.length));
})();
"""


# ------------------------------------------------------------------------------ assets


def _vendor_text(name: str) -> str:
    return (resources.files("transport_access.publish") / "vendor" / "leaflet" / name) \
        .read_text(encoding="utf-8")


def _leaflet_css() -> str:
    """Leaflet's style sheet with its images as data URIs (no request for them)."""
    css = _vendor_text("leaflet.css")

    def inline(match: re.Match[str]) -> str:
        image = resources.files("transport_access.publish") / "vendor" / "leaflet" / \
            match.group(1)
        encoded = base64.b64encode(image.read_bytes()).decode("ascii")
        return f"url(data:image/png;base64,{encoded})"

    return re.sub(r"url\((images/[\w.-]+\.png)\)", inline, css)


def _leaflet_js() -> str:
    # The source-map comment would make developer tools ask for a file that is not there.
    js = _vendor_text("leaflet.js")
    return re.sub(r"//# sourceMappingURL=\S+\s*$", "", js)


def _script_safe(text: str) -> str:
    """Text that cannot close the ``<script>`` element it sits in."""
    return text.replace("</", "<\\/")


# ------------------------------------------------------------------------------ tables


def _table(frame: pd.DataFrame | None, table_id: str, *, empty: str = "None.",
           text: bool = False, digits: int = 1) -> str:
    if frame is None or len(frame) == 0:
        return f'<p id="{table_id}" class="empty">{html.escape(empty)}</p>'

    def number(value: float) -> str:
        if pd.isna(value):
            return "–"
        if float(value).is_integer():
            return f"{value:,.0f}"
        return f"{value:,.{digits}f}"

    return frame.to_html(table_id=table_id, index=False, border=0, na_rep="–",
                         float_format=number, classes="text" if text else None)


_MODE_NAMES = {"transit": "public transport", "walk": "walking", "cycle": "cycling",
               "car": "car"}
_MODE_ORDER = {mode: i for i, mode in enumerate(_MODE_NAMES)}
_DESTINATION_ORDER = {d: i for i, d in enumerate(("gp", "primary", "secondary", "post16"))}


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Destinations and modes in plain words, GP and public transport first."""
    order = pd.DataFrame({
        "d": frame["destination"].map(_DESTINATION_ORDER).fillna(len(_DESTINATION_ORDER)),
        "m": frame["mode"].map(_MODE_ORDER).fillna(len(_MODE_ORDER))}, index=frame.index)
    frame = frame.loc[order.sort_values(["d", "m"], kind="stable").index].copy()
    frame.insert(0, "Destination", frame.pop("destination").map(st.destination_name))
    frame.insert(1, "Mode", frame.pop("mode").map(lambda m: _MODE_NAMES.get(m, m)))
    return frame


def _nearest_measure(result: Any) -> str:
    window = result.parameters.get("departure_window") or {}
    return f"nearest_p{(window.get('percentiles') or [50])[0]}_min"


def _by_quintile_table(result: Any, measure: str) -> pd.DataFrame | None:
    table = result.equity.get("by_imd_quintile")
    if table is None or table.empty:
        return None
    rows = table[table["measure"] == measure]
    if rows.empty:
        return None
    wide = rows.pivot_table(index=["destination", "mode"], columns="imd_quintile",
                            values="mean", aggfunc="first", sort=False)
    wide.columns = [f"Q{int(q)}" + (" (most deprived)" if int(q) == 1 else
                                    " (least deprived)" if int(q) == 5 else "")
                    for q in wide.columns]
    return _plain(wide.reset_index())


def _gap_table(result: Any, measure: str) -> pd.DataFrame | None:
    table = result.equity.get("quintile_gap")
    if table is None or table.empty:
        return None
    rows = table[table["measure"] == measure].copy()
    if rows.empty:
        return None
    return _plain(rows).drop(columns=["measure"]).rename(columns={
        "q1_mean": "Most deprived 20% (min)", "q5_mean": "Least deprived 20% "
        "(min)", "difference": "Difference (min)", "ratio": "Ratio"})


def _deserts_table(result: Any) -> pd.DataFrame | None:
    table = result.equity.get("deserts")
    if table is None or table.empty:
        return None
    out = _plain(table)
    if "share_of_deciles" in out.columns:
        out["share_of_deciles"] = 100 * out["share_of_deciles"]
    return out.rename(columns={
        "threshold_min": "Beyond (min)",
        "n_lsoas": "Most deprived 20%: LSOAs", "residents": "Most deprived 20%: residents",
        "share_of_deciles": "Share of the most deprived 20% (%)",
        "residents_all_deciles": "All residents beyond"})


def key_figures(result: Any) -> pd.DataFrame:
    """Population-weighted headline figures per destination by public transport.

    Parameters
    ----------
    result : AccessResult
        From :func:`transport_access.access.run.run_access`.

    Returns
    -------
    pandas.DataFrame
        One row per destination with transit times: ``Destination``, ``Average minutes``
        (population-weighted mean over LSOAs with access), ``Residents over 60 min``
        (share, %) and ``Residents with no access`` (within the maximum time).
    """
    measure = _nearest_measure(result)
    long = result.long
    rows = long[(long["mode"] == "transit") & (long["measure"] == measure)]
    population = pd.DataFrame(result.lsoas).set_index("lsoa_code")["population"]
    out = []
    rows = rows.sort_values("destination", key=lambda d: d.map(_DESTINATION_ORDER).fillna(9),
                            kind="stable")
    for destination, group in rows.groupby("destination", sort=False):
        minutes = group.set_index("lsoa_code")["value"].astype(float)
        weight = population.reindex(minutes.index).fillna(0.0)
        total = float(weight.sum())
        reached = minutes.notna()
        mean = float(np.average(minutes[reached], weights=weight[reached])) \
            if float(weight[reached].sum()) > 0 else float("nan")
        over = float(weight[(minutes > 60) | ~reached].sum())
        out.append({"Destination": st.destination_name(str(destination)),
                    "Average minutes": mean,
                    "Residents over 60 min (%)": 100 * over / total if total else float("nan"),
                    "Residents with no access": float(weight[~reached].sum())})
    return pd.DataFrame(out)


#: Scenario score columns shown in the report (all are in scenario_scores.csv), and headers.
SCORE_HEADERS = {
    "rank": "Rank", "scenario": "Scenario", "rank_group": "Group",
    "cost_per_day_gbp": "Cost per weekday (GBP)",
    "net_residents_gaining": "Residents gaining, net",
    "residents_gaining": "Residents gaining", "residents_losing": "Residents losing",
    "residents_losing_any_threshold": "Residents worse off (any threshold)",
    "net_deciles_1_2_gaining": "Most deprived 20% gaining, net",
    "mean_change_min": "Mean change (min)", "gap_change_min": "Change in Q1-Q5 gap (min)",
    "cost_per_resident_gaining_gbp_day": "Cost per resident gaining (GBP/day)",
}


def _readable_scores(scores: pd.DataFrame | None) -> pd.DataFrame | None:
    """The ranking, best first, with the columns a taskforce reads and plain headers."""
    if scores is None:
        return None
    if "rank" in scores.columns:
        scores = scores.sort_values("rank", kind="stable")
    shown = [c for c in SCORE_HEADERS if c in scores.columns]
    if len(shown) >= 3:
        scores = scores[shown].rename(columns=SCORE_HEADERS)
    return scores


def main_thresholds(scores: pd.DataFrame | None) -> dict[tuple[str, str], float]:
    """(scenario, destination) -> main threshold, minutes, from ``scenario_scores.csv``'s
    ``main_thresholds_min`` (``"gp 60; post16 60; primary 30"``); empty without it."""
    if scores is None or "main_thresholds_min" not in scores.columns:
        return {}
    out = {}
    for scenario, text in zip(scores["scenario"], scores["main_thresholds_min"], strict=True):
        for item in str(text).split(";"):
            destination, _, minutes = item.strip().rpartition(" ")
            try:
                out[(str(scenario), destination)] = float(minutes)
            except ValueError:
                continue
    return out


def scenario_change_summary(
    changes: pd.DataFrame,
    population: pd.Series,
    *,
    measure: str,
    max_time_min: float,
    main_threshold_min: dict[tuple[str, str], float] | None = None,
) -> pd.DataFrame | None:
    """Per scenario and destination: what the report's "Changes" table shows.

    The definitions are those of :mod:`transport_access.scenarios.score`, so the figures
    equal ``scenario_scores_by_destination.csv``: the mean counts an LSOA reaching no
    destination within ``max_time_min`` as ``max_time_min`` (so LSOAs gaining or losing all
    access are in it), and gains and losses within the main threshold compare
    ``minutes <= threshold`` before and after.

    Parameters
    ----------
    changes : pandas.DataFrame
        ``scenario_lsoa_changes.csv``: ``lsoa_code``, ``scenario``, ``destination``,
        ``measure``, ``change`` and, for everything but the faster/slower counts,
        ``baseline_value`` and ``scenario_value`` (minutes, NaN = none within the maximum).
    population : pandas.Series
        Residents by ``lsoa_code``.
    measure : str
        The minutes measure (``nearest_p50_min``).
    max_time_min : float
        The routing's maximum journey time, minutes.
    main_threshold_min : dict, optional
        (scenario, destination) -> main threshold, minutes (:func:`main_thresholds`).

    Returns
    -------
    pandas.DataFrame or None
        One row per scenario and destination: ``Scenario``, ``Destination``, mean change
        (minutes, population-weighted), residents faster and slower by over 0.5 min (reaching
        one before and after), the main threshold and residents gaining and losing access
        within it, residents now within ``max_time_min`` (none before) and no longer within
        it. None when ``changes`` has no row of ``measure``.
    """
    needed = {"lsoa_code", "scenario", "destination", "measure", "change"}
    if not needed <= set(changes.columns):
        log.warning("report: scenario changes lack columns %s; not summarised",
                    sorted(needed - set(changes.columns)))
        return None
    rows = changes[changes["measure"] == measure]
    if "mode" in rows.columns:
        rows = rows[rows["mode"] == "transit"]
    if rows.empty:
        return None
    with_values = {"baseline_value", "scenario_value"} <= set(rows.columns)
    limit = st.format_number(max_time_min)
    mean_header = f"Mean change (min; no access counted as {limit})"
    out = []
    for (scenario, destination), group in rows.groupby(["scenario", "destination"], sort=False):
        group = group.set_index("lsoa_code")
        weight = population.reindex(group.index).fillna(0.0).to_numpy(float)
        change = group["change"].to_numpy(float)
        row: dict[str, Any] = {"Scenario": scenario,
                               "Destination": st.destination_name(str(destination))}
        if with_values:
            before = group["baseline_value"].to_numpy(float)
            after = group["scenario_value"].to_numpy(float)
            capped = [np.where(np.isnan(v), max_time_min, np.minimum(v, max_time_min))
                      for v in (before, after)]
            row[mean_header] = _weighted_mean(capped[1] - capped[0], weight)
        else:
            known = ~np.isnan(change)
            row[mean_header] = _weighted_mean(change[known], weight[known])
        row["Residents faster"] = weight[change < -0.5].sum()
        row["Residents slower"] = weight[change > 0.5].sum()
        main = (main_threshold_min or {}).get((str(scenario), str(destination)))
        if with_values and main is not None:
            has_before = np.nan_to_num(before, nan=np.inf) <= main
            has_after = np.nan_to_num(after, nan=np.inf) <= main
            row["Main threshold (min)"] = main
            row["Residents gaining access within it"] = weight[has_after & ~has_before].sum()
            row["Residents losing access within it"] = weight[has_before & ~has_after].sum()
        if with_values:
            row[f"Residents now within {limit} min (none before)"] = \
                weight[np.isnan(before) & ~np.isnan(after)].sum()
            row[f"Residents no longer within {limit} min"] = \
                weight[~np.isnan(before) & np.isnan(after)].sum()
        out.append(row)
    return pd.DataFrame(out)


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    total = float(weights.sum())
    return float((values * weights).sum() / total) if total > 0 else float("nan")


# ------------------------------------------------------------------------------ map data


def _map_measures(result: Any, max_time_min: float) -> list[dict[str, Any]]:
    """The interactive map's measures: transit times per destination, GP on foot, IMD."""
    measure = _nearest_measure(result)
    long = result.long
    chosen = []
    destinations = list(pd.unique(long["destination"]))
    ordered = [d for d in ("gp", "secondary", "post16", "primary") if d in destinations]
    ordered += [d for d in destinations if d not in ordered]
    for destination in ordered:
        for mode in ("transit", "walk") if destination == "gp" else ("transit",):
            rows = long[(long["destination"] == destination) & (long["mode"] == mode)
                        & (long["measure"] == measure)]
            if len(rows):
                chosen.append((f"{destination}_{mode}",
                               f"Minutes to nearest {st.destination_name(destination)} "
                               f"{st.mode_phrase(mode)}",
                               rows.set_index("lsoa_code")["value"].astype(float)))
    out = []
    for key, label, values in chosen:
        classes = st.classify_minutes(values.to_numpy(), max_time_min=max_time_min)
        out.append({"key": key, "label": label, "unit": "min", "hatch": True,
                    "legend_title": "Minutes (median over the window)", "values": values,
                    "codes": pd.Series(classes.codes, index=values.index), "classes": classes})
    return out


def _lsoa_geojson(result: Any, measures: list[dict[str, Any]]) -> dict[str, Any]:
    import shapely

    boundaries = result.boundaries
    if boundaries is None:
        # No polygons: small squares would mislead; centroids as circles are not polygons
        # either, so the map shows points as tiny buffers in metres.
        boundaries = result.lsoas[["lsoa_code", "geometry"]].to_crs("EPSG:27700").buffer(150)
        boundaries = result.lsoas[["lsoa_code"]].assign(geometry=boundaries.to_crs(4326))
        import geopandas as gpd

        boundaries = gpd.GeoDataFrame(boundaries, geometry="geometry", crs="EPSG:4326")
    from transport_access.publish.maps import map_crs

    shapes = boundaries[["lsoa_code", "geometry"]].to_crs(map_crs(boundaries))
    shapes = shapes.assign(geometry=shapes.geometry.simplify(SIMPLIFY_M,
                                                             preserve_topology=True))
    shapes = shapes.to_crs("EPSG:4326")
    geometry = shapely.transform(shapes.geometry.to_numpy(), lambda xy: np.round(xy, 5))
    lsoas = pd.DataFrame(result.lsoas).set_index("lsoa_code")
    features = []
    for code, geom in zip(shapes["lsoa_code"], geometry, strict=True):
        attributes = lsoas.loc[code] if code in lsoas.index else pd.Series(dtype=object)

        def get(column: str, default: Any = None, attributes: pd.Series = attributes) -> Any:
            value = attributes.get(column, default)
            return default if value is None or (isinstance(value, float) and np.isnan(value)) \
                else value

        values, colours = {}, {}
        for m in measures:
            value = m["values"].get(code, np.nan)
            values[m["key"]] = None if pd.isna(value) else round(float(value), 1)
            code_class = int(m["codes"].get(code, -1))
            colours[m["key"]] = m["classes"].colour_of(code_class)
        features.append({
            "type": "Feature",
            "geometry": shapely.geometry.mapping(geom),
            "properties": {
                "lsoa_code": str(code), "lsoa_name": str(get("lsoa_name", code)),
                "lad_name": str(get("lad_name", "")),
                "population": int(get("population", 0)),
                "imd_decile": int(get("imd_decile", 0)) or None,
                "value": values, "colour": colours,
            },
        })
    return {"type": "FeatureCollection", "features": features}


def _isochrone_layers(frames: Sequence[tuple[str, Any]]) -> list[dict[str, Any]]:
    """Each isochrone table dissolved per threshold: the area within t minutes of any of its
    destinations, simplified for the browser."""
    import shapely

    layers = []
    for name, frame in frames:
        if frame is None or len(frame) == 0 or "threshold_min" not in frame.columns:
            log.warning("report: isochrones %s have no threshold_min column; left out", name)
            continue
        crs = "EPSG:27700" if frame.crs is None or frame.crs.to_epsg() == 4326 else frame.crs
        shapes = frame[["threshold_min", "geometry"]].to_crs(crs)
        shapes = shapes[~shapes.geometry.is_empty].dissolve(by="threshold_min").reset_index()
        shapes = shapes.assign(geometry=shapes.geometry.simplify(2 * SIMPLIFY_M))
        shapes = shapes.sort_values("threshold_min", ascending=False).to_crs("EPSG:4326")
        geometry = shapely.transform(shapes.geometry.to_numpy(), lambda xy: np.round(xy, 5))
        thresholds = shapes["threshold_min"].to_numpy(float)
        colours = st._palette("cividis", max(len(thresholds), 1), reverse=True)
        features = [{"type": "Feature", "geometry": shapely.geometry.mapping(g),
                     "properties": {"threshold_min": float(t), "colour": c}}
                    for g, t, c in zip(geometry, thresholds, colours, strict=True)]
        method = isochrone_method(frame)
        layers.append({"name": name, "method": method,
                       "label": f"{name} ({method})" if method else name,
                       "geojson": {"type": "FeatureCollection", "features": features}})
    return layers


def isochrone_method(frame: Any) -> str:
    """How isochrones were drawn, from their ``method`` column: ``"straight-line estimate"``,
    ``"street network"``, both joined by " and ", or ``""`` when not recorded."""
    if "method" not in getattr(frame, "columns", ()):
        return ""
    return " and ".join(sorted(str(m) for m in pd.unique(frame["method"].dropna())))


def _map_payload(result: Any, *, tiles_url: str | None, tiles_attribution: str,
                 isochrones: Sequence[tuple[str, Any]] = ()) -> str:
    max_time = float((result.parameters.get("routing") or {}).get("max_time_min", 120.0))
    measures = _map_measures(result, max_time)
    payload = {
        "isochrones": _isochrone_layers(isochrones),
        "lsoas": _lsoa_geojson(result, measures),
        "measures": [{"key": m["key"], "label": m["label"], "unit": m["unit"],
                      "hatch": m["hatch"], "legend_title": m["legend_title"],
                      "classes": [*zip(m["classes"].colours, m["classes"].labels,
                                       strict=True),
                                  (st.NO_ACCESS_COLOUR, m["classes"].missing_label)]}
                     for m in measures],
        "max_time_min": st.format_number(max_time),
        "attribution_short": "Contains OS, ONS, DfT, DfE and NHS data © Crown copyright; "
                             "see the attribution below.",
        "tiles": {"url": tiles_url, "attribution": tiles_attribution} if tiles_url else None,
    }
    if not measures:
        payload["measures"] = [{"key": "none", "label": "No travel-time measure",
                                "unit": "", "hatch": False, "legend_title": "",
                                "classes": []}]
    return _script_safe(json.dumps(payload, separators=(",", ":"), allow_nan=False))


# ------------------------------------------------------------------------------ report


def _relative_images(paths: Sequence[str | os.PathLike[str]], out: Path,
                     folder: str) -> list[tuple[str, str | None]]:
    """(png or other image href, matching svg href or None), relative to ``out``."""
    by_stem: dict[Path, dict[str, Path]] = {}
    for raw in paths:
        path = Path(raw)
        by_stem.setdefault(path.with_suffix(""), {})[path.suffix.lower()] = path
    images = []
    for formats in by_stem.values():
        hrefs = {}
        for suffix, path in formats.items():
            try:
                relative = path.resolve().relative_to(out.resolve())
            except ValueError:
                target = out / folder / path.name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
                relative = target.relative_to(out)
            hrefs[suffix] = relative.as_posix()
        shown = hrefs.get(".png") or hrefs.get(".jpg") or hrefs.get(".svg")
        if shown:
            images.append((shown, hrefs.get(".svg") if shown != hrefs.get(".svg") else None))
    return images


def _caption(href: str) -> str:
    stem = Path(href).stem
    if stem.endswith("_transit") and not stem.startswith("scenario_"):
        destination = stem.removesuffix("_transit")
        return (f"Minutes to the nearest {st.destination_name(destination)} by public "
                "transport.")
    if stem.endswith("_transit_opportunities"):
        from transport_access.publish.maps import OPPORTUNITY_MAPS

        destination = stem.removesuffix("_transit_opportunities")
        what = {d: legend for d, *_, legend, _ in OPPORTUNITY_MAPS}.get(
            destination, st.destination_name(destination).capitalize())
        return f"{what} reachable by public transport."
    names = {"gp_walk_vs_transit": "Minutes saved by public transport over walking, to the "
                                   "nearest GP surgery.",
             "deprivation_deciles": "Index of Multiple Deprivation 2019 deciles."}
    if stem in names:
        return names[stem]
    return stem.replace("_", " ").capitalize() + "."


def _isochrone_section(isochrones: Any, out: Path) -> tuple[list[tuple[str, Any]], str]:
    """Overlays for the interactive map and the section's HTML (images shown, files linked)."""
    import geopandas as gpd

    if isinstance(isochrones, gpd.GeoDataFrame):
        return [("Isochrones", isochrones)], ("<p>Isochrones are an overlay of the "
                                              "interactive map (layer control).</p>"
                                              + _isochrone_method_text({"Isochrones":
                                                                        isochrones}))
    overlays: list[tuple[str, Any]] = []
    images = _relative_images([p for p in isochrones if Path(p).suffix.lower() in
                               (".png", ".svg", ".jpg")], out, "isochrones")
    body = "".join(f'<figure><img src="{html.escape(h)}" alt="Isochrone map"></figure>'
                   for h, _ in images)
    links = []
    for other in isochrones:
        path = Path(other)
        if path.suffix.lower() in (".png", ".svg", ".jpg", ".json"):
            continue
        if path.suffix.lower() in (".geojson", ".gpkg") and not any(
                name == path.stem for name, _ in overlays):
            overlays.append((path.stem.replace("isochrones_", "").replace("_", " "),
                             gpd.read_file(path)))
        try:
            rel = path.resolve().relative_to(out.resolve()).as_posix()
        except ValueError:
            rel = f"isochrones/{path.name}"
            (out / "isochrones").mkdir(exist_ok=True)
            shutil.copyfile(path, out / rel)
        links.append(f'<li><a href="{html.escape(rel)}">{html.escape(rel)}</a></li>')
    # GeoPackage and GeoJSON twins are the same isochrones: one overlay per name.
    seen: dict[str, Any] = {}
    for name, frame in overlays:
        seen.setdefault(name, frame)
    if seen:
        body += ("<p>The areas within each time of the nearest destination are overlays of "
                 "the interactive map (tick them in its layer control).</p>")
        body += _isochrone_method_text(seen)
    if links:
        body += "<p>Files (open in QGIS):</p><ul>" + "".join(links) + "</ul>"
    return list(seen.items()), body or "<p>No isochrones.</p>"


def _isochrone_method_text(frames: dict[str, Any]) -> str:
    """A paragraph saying how each set of isochrones was drawn, warning of straight lines."""
    methods = {name: isochrone_method(frame) for name, frame in frames.items()}
    listed = "; ".join(f"{name}: {method or 'method not recorded'}"
                       for name, method in methods.items())
    text = f'<p id="isochrone-method">How they were drawn: {html.escape(listed)}.'
    if any("straight" in m for m in methods.values()):
        text += (" A straight-line estimate has no street network: walking is a straight "
                 "line times the circuity factor, so the areas are circles around stops and "
                 "destinations and overstate what can be reached across rivers, harbours, "
                 "railways and private land.")
    return text + "</p>"


def _section(title: str, body: str, section_id: str) -> str:
    return f'<section id="{section_id}"><h2>{html.escape(title)}</h2>\n{body}\n</section>\n'


def _paragraphs(items: Sequence[str]) -> str:
    return "<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>"


def write_report(
    out_dir: str | os.PathLike[str],
    *,
    study: Any,
    data_report: Any,
    access_result: Any,
    scenario_scores: pd.DataFrame | None = None,
    scenario_changes: pd.DataFrame | None = None,
    maps: Sequence[str | os.PathLike[str]] = (),
    isochrones: Sequence[str | os.PathLike[str]] | None = None,
    timetables: TimetableCoverage | pd.DataFrame | None = None,
    tiles_url: str | None = None,
    tiles_attribution: str = "Map data © OpenStreetMap contributors",
    title: str | None = None,
) -> Path:
    """Write ``report.html``: tables, static maps and an offline interactive map.

    Parameters
    ----------
    out_dir : path-like
        Folder; created if needed. Maps outside it are copied to ``out_dir/maps``.
    study : Study or None
        The study (:func:`transport_access.config.load_study`): its area name titles the
        report and its file is cited.
    data_report : DataReport or pandas.DataFrame or None
        What every loader kept and excluded (:meth:`DataReport.to_frame` columns).
    access_result : AccessResult
        From :func:`transport_access.access.run.run_access`.
    scenario_scores : pandas.DataFrame, optional
        One row per scenario (``scenario_scores.csv``); shown sorted by ``rank`` when that
        column exists, otherwise as given.
    scenario_changes : pandas.DataFrame, optional
        Per-LSOA changes (``lsoa_code``, ``scenario``, ``destination``, ``measure``,
        ``change``): summarised per scenario and destination.
    maps : sequence of path-like
        Static maps (PNG, with SVG twins linked), e.g. from
        :func:`transport_access.publish.maps.write_study_maps`.
    isochrones : sequence of path-like or geopandas.GeoDataFrame, optional
        Isochrones (:func:`transport_access.publish.isochrones.run_isochrones` paths or a
        :func:`~transport_access.publish.isochrones.compute_isochrones` table): GeoJSON and
        GeoPackage files become overlays of the interactive map (dissolved per
        ``threshold_min``) and are linked; images are shown. Their ``method`` (street network
        or straight-line estimate) is shown in the layer control, the tooltips and the text.
    timetables : TimetableCoverage or pandas.DataFrame, optional
        The timetables the run used
        (:func:`transport_access.publish.coverage.compute_timetable_coverage`, or the
        ``timetables.csv`` table it is computed from): the report opens with what they cover
        and warns that places they do not cover show no public-transport access.
    tiles_url : str, optional
        A tile URL template (``https://tile.openstreetmap.org/{z}/{x}/{y}.png``) for a
        background; needs internet. None (default): no background, fully offline.
    tiles_attribution : str
        Attribution for the tiles.
    title : str, optional
        Defaults to "Access to services by public transport: {area}".

    Returns
    -------
    pathlib.Path
        ``out_dir/report.html``.
    """
    import transport_access

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = access_result
    parameters = result.parameters or {}
    area = getattr(getattr(study, "area", None), "name", None) or parameters.get("area") or \
        "study area"
    title = title or f"Access to services by public transport: {area}"
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    measure = _nearest_measure(result)
    window = st.window_phrase(parameters)
    max_time = float((parameters.get("routing") or {}).get("max_time_min", 120.0))
    population = pd.DataFrame(result.lsoas).set_index("lsoa_code")["population"]

    parts: list[str] = []
    study_file = getattr(study, "config_path", None) or parameters.get("study")
    meta = [f"Generated {generated} by transport-access {transport_access.__version__}."]
    if study_file:
        meta.append(f"Study file: {Path(str(study_file)).name}.")
    if parameters.get("service_date"):
        meta.append(f"Timetable day: {parameters['service_date']}.")
    if window:
        meta.append(f"Departure window: {window}, every minute; times are the median.")
    meta.append(f"Street model: {parameters.get('street_model', 'unknown')}.")
    parts.append(f'<header><h1 id="report-title">{html.escape(title)}</h1>'
                 f'<p class="meta">{html.escape(" ".join(meta))}</p></header>')
    if timetables is not None:
        if isinstance(timetables, pd.DataFrame):
            timetables = compute_timetable_coverage(timetables,
                                                    service_date=parameters.get("service_date"))
        parts.append('<p class="coverage" id="data-coverage"><strong>Data coverage.</strong> '
                     f"{html.escape(timetables.report_note())}</p>")
    for note in result.notes:
        parts.append(f'<p class="note">{html.escape(note)}</p>')

    parts.append(_section(
        "Key figures", f"<p>Residents' journeys by public transport (with walking, or "
        f"{st.walk_all_the_way(parameters)}), weighted by population.</p>"
        + _table(key_figures(result), "key-figures"), "key"))

    map_body = ('<div class="controls"><label for="measure">Show: </label>'
                '<select id="measure"></select></div><div id="map"></div>'
                '<p class="small">Hover over a neighbourhood (LSOA) for its figures. '
                + ("Background tiles need an internet connection." if tiles_url else
                   "No background map: the report works without an internet connection.")
                + "</p>")
    parts.append(_section("Interactive map", map_body, "interactive"))

    images = _relative_images(list(maps), out, "maps")
    figures = []
    for href, svg in images:
        caption = html.escape(_caption(href))
        link = f' <a href="{html.escape(svg)}">SVG</a>' if svg else ""
        figures.append(f'<figure><img src="{html.escape(href)}" alt="{caption}" '
                       f'loading="eager"><figcaption>{caption}{link}</figcaption></figure>')
    parts.append(_section("Maps", "".join(figures) or "<p>No static maps.</p>", "maps"))

    parts.append(_section(
        "Access by deprivation",
        f"<p>Mean minutes to the nearest destination ({html.escape(window or 'departure window')}"
        f", median over the window) by IMD 2019 quintile of the neighbourhood, where quintile 1 "
        "is the most deprived 20% in England. LSOAs with no access within "
        f"{st.format_number(max_time)} minutes are left out of the means and counted under "
        "access deserts.</p>"
        + _table(_by_quintile_table(result, measure), "access-by-imd-quintile")
        + "<h3>Gap between the most and least deprived quintiles</h3>"
        + "<p>Difference = most deprived minus least deprived (positive: the most deprived "
          "travel longer).</p>"
        + _table(_gap_table(result, measure), "quintile-gap", digits=2),
        "equity"))
    parts.append(_section(
        "Access deserts",
        "<p>Residents of the most deprived 20% of neighbourhoods in England (IMD 2019 deciles "
        "1-2) whose nearest destination is beyond the threshold or not reachable at all, and "
        "all residents beyond it.</p>"
        + _table(_deserts_table(result), "access-deserts"), "deserts"))

    if scenario_scores is not None or scenario_changes is not None:
        scores = _readable_scores(scenario_scores)
        body = ("<p>Scenarios ranked best first (the ranking rule is in "
                "<code>transport_access.scenarios.score</code>); every score is in "
                "<code>scenario_scores.csv</code>.</p>") + \
            _table(scores, "scenario-ranking", empty="No scenario scores.", digits=2)
        if scenario_changes is not None:
            limit = st.format_number(max_time)
            body += (
                "<h3>Changes by scenario and destination</h3>"
                f"<p>Minutes to the nearest destination by public transport. As in "
                "<code>scenario_scores_by_destination.csv</code>, the mean is over all "
                f"residents and counts a neighbourhood with no destination within {limit} "
                "minutes as " + limit + " minutes, so neighbourhoods gaining or losing all "
                "access are in it; they are also counted in the last two columns. Faster and "
                "slower: by over half a minute, among neighbourhoods reaching one before and "
                "after. Gaining or losing access within the main threshold: reaching one "
                "within that many minutes in the scenario but not today, or the reverse.</p>"
                + _table(scenario_change_summary(
                    scenario_changes, population, measure=measure, max_time_min=max_time,
                    main_threshold_min=main_thresholds(scenario_scores)),
                    "scenario-changes", empty="No travel-time changes.", digits=2))
        parts.append(_section("Scenarios", body, "scenarios"))

    overlays: list[tuple[str, Any]] = []
    if isochrones is not None:
        overlays, iso = _isochrone_section(isochrones, out)
        parts.append(_section("Isochrones", iso, "isochrones"))

    report_frame = data_report.to_frame() if hasattr(data_report, "to_frame") else data_report
    parts.append(_section(
        "Data report", "<p>For every dataset: rows kept and excluded, and why.</p>"
        + _table(report_frame, "data-report", text=True, empty="No data report."),
        "data-report-section"))

    parts.append(_section("Notes and known limitations",
                          _paragraphs([*result.notes, *KNOWN_LIMITATIONS]), "limitations"))
    inputs = [Path(p).name for p in (result.inputs or [])]
    provenance = (f"<p>Input files: {html.escape(', '.join(inputs) or 'not recorded')}.</p>"
                  f'<p id="attribution">{html.escape(result.attribution or "")}</p>'
                  f'<p class="small">Interactive map: Leaflet {LEAFLET_VERSION} (BSD-2-Clause '
                  "licence, © Volodymyr Agafonkin and CloudMade), inlined.</p>")
    parts.append(_section("Data provenance and attribution", provenance, "provenance"))

    document = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="transport-access {html.escape(transport_access.__version__)}">
<title>{html.escape(title)}</title>
<link rel="icon" href="data:,">
<script>window.__reportErrors = [];
window.addEventListener('error', function (e) {{ window.__reportErrors.push(String(e.message)); }});
</script>
<style>{_leaflet_css()}</style>
<style>{_CSS}</style>
</head>
<body>
<main>
{"".join(parts)}
</main>
<script id="lsoa-data" type="application/json">{_map_payload(
        result, tiles_url=tiles_url, tiles_attribution=tiles_attribution,
        isochrones=overlays)}</script>
<script>{_script_safe(_leaflet_js())}</script>
<script>{_MAP_JS}</script>
</body>
</html>
"""
    path = out / REPORT_NAME
    path.write_text(document, encoding="utf-8")
    log.info("report written: %s (%.0f kB, %d maps)", path, path.stat().st_size / 1024,
             len(images))
    return path
