"""Plain-English names, palettes and class breaks shared by the static maps and the report.

Everything here is cheap to import (no matplotlib): the HTML report uses the same classes and
colours as the PNG maps, so a reader sees one legend in both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Destination keys of the study file -> how a reader says them.
DESTINATION_NAMES = {
    "gp": "GP surgery",
    "primary": "primary school",
    "secondary": "secondary school",
    "post16": "sixth form or college (post-16)",
    "fe": "further education college",
    "further_education": "further education college",
    "hospital": "hospital",
    "food_store": "food store",
    "supermarket": "supermarket",
    "town_centre": "town centre",
    "jobs": "jobs",
    "employment": "employment centre",
}

MODE_PHRASES = {
    "transit": "by public transport",
    "walk": "on foot",
    "cycle": "by bicycle",
    "car": "by car",
}

#: Sequential palette for travel time, colour-blind safe: short = dark purple-blue, long =
#: bright yellow.
SEQUENTIAL_CMAP = "viridis"
#: Opportunities (more = better): cividis, also colour-blind safe and greyscale-monotone.
OPPORTUNITY_CMAP = "cividis"
#: Diverging palette for scenario changes, centred on zero.
DIVERGING_CMAP = "PuOr"
#: Deprivation deciles.
DECILE_CMAP = "cividis"

NO_ACCESS_COLOUR = "#d9d9d9"
NO_ACCESS_HATCH = "////"
NO_DATA_COLOUR = "#ffffff"
DEPRIVED_OUTLINE = "#d6003a"  # a strong red-pink outline, visible on every viridis class
DEPRIVED_DECILES = (1, 2)

#: Travel-time class edges (minutes); the last class ends at the study's maximum time.
DEFAULT_MINUTE_BREAKS = (15.0, 30.0, 45.0, 60.0, 90.0)


def destination_name(destination: str) -> str:
    """Plain-English name of a destination key (``"gp"`` -> ``"GP surgery"``)."""
    return DESTINATION_NAMES.get(destination, destination.replace("_", " "))


def mode_phrase(mode: str) -> str:
    """Plain-English phrase of a mode (``"transit"`` -> ``"by public transport"``)."""
    return MODE_PHRASES.get(mode, f"by {mode}")


def window_phrase(parameters: dict | None) -> str:
    """``"weekday 07:00-10:00"`` from an AccessResult's parameters (empty when unknown)."""
    if not parameters:
        return ""
    window = parameters.get("departure_window") or {}
    start, end = window.get("start"), window.get("end")
    if not start or not end:
        return ""
    day = "weekday"
    date = parameters.get("service_date")
    if date:
        import datetime as dt

        try:
            weekday = dt.date.fromisoformat(str(date)).weekday()
            day = "weekday" if weekday < 5 else ("Saturday" if weekday == 5 else "Sunday")
        except ValueError:
            pass
    return f"{day} {start}-{end}"


def nice_number(value: float) -> float:
    """Round a positive number to 1, 2 or 5 times a power of ten, for legends and scale bars."""
    if not np.isfinite(value) or value <= 0:
        return 0.0
    exponent = math.floor(math.log10(value))
    fraction = value / 10**exponent
    step = 1.0 if fraction < 1.5 else 2.0 if fraction < 3.5 else 5.0 if fraction < 7.5 else 10.0
    return step * 10**exponent


def _round_readable(value: float) -> float:
    """Two significant figures: 1,234 -> 1,200; 0.137 -> 0.14."""
    if value == 0 or not np.isfinite(value):
        return float(value)
    digits = 1 - int(math.floor(math.log10(abs(value))))
    return float(round(value, digits))


def format_number(value: float) -> str:
    """``1,200``, ``35``, ``0.14``: thousands separators, no trailing zeros."""
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def walk_all_the_way(parameters: dict) -> str:
    """``"walking all the way when faster (up to 20 min)"``: how a run's public-transport
    times count walking, from its parameters' ``walk_only_max_min``."""
    cap = parameters.get("walk_only_max_min")
    limit = f" (up to {format_number(float(cap))} min)" if cap is not None else ""
    return f"walking all the way when faster{limit}"


@dataclass(frozen=True)
class Classes:
    """A classification of LSOA values for a map.

    Attributes
    ----------
    codes : numpy.ndarray
        One int per value (shape (n,)): class index ``0..k-1``; ``-1`` for NaN (no access
        within the maximum time, or no data).
    breaks : tuple of float
        Upper edges of the k classes; class i holds ``breaks[i-1] < value <= breaks[i]``.
    labels : tuple of str
        One legend label per class.
    colours : tuple of str
        One hex colour per class.
    missing_label : str
        Legend label of code -1.
    hatches : tuple of str
        Optional hatch pattern per class (``""`` for none); empty when no class is hatched.
    """

    codes: np.ndarray
    breaks: tuple[float, ...]
    labels: tuple[str, ...]
    colours: tuple[str, ...]
    missing_label: str
    hatches: tuple[str, ...] = ()

    def hatch_of(self, code: int) -> str:
        """Hatch pattern of a class code (``""``: plain fill)."""
        return self.hatches[code] if 0 <= code < len(self.hatches) else ""

    def colour_of(self, code: int) -> str:
        """Hex colour of a class code (``-1``: the no-access grey)."""
        return NO_ACCESS_COLOUR if code < 0 else self.colours[code]


def _palette(cmap_name: str, k: int, *, reverse: bool = False) -> tuple[str, ...]:
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    cmap = colormaps[cmap_name]
    # Keep clear of the palest end so every class stands out from the white page.
    positions = np.linspace(0.0, 0.92, k) if k > 1 else np.array([0.5])
    if reverse:
        positions = positions[::-1]
    return tuple(to_hex(cmap(p)) for p in positions)


def assign_classes(values: Sequence[float] | np.ndarray, breaks: Sequence[float]) -> np.ndarray:
    """Class codes of values for fixed upper class edges, by ``mapclassify.UserDefined``.

    Parameters
    ----------
    values : array-like of float, shape (n,)
        Values; NaN has no class.
    breaks : sequence of float
        Increasing upper edges of the k classes: class i holds
        ``breaks[i-1] < value <= breaks[i]`` (mapclassify's rule); values above the last
        edge fall in the last class.

    Returns
    -------
    numpy.ndarray of int, shape (n,)
        Class index ``0..k-1``; ``-1`` for NaN.
    """
    # mapclassify compiles numba kernels when first imported (seconds): import it here, not
    # at module level, so importing the package stays cheap.
    import mapclassify

    values = np.asarray(values, dtype=float)
    edges = [float(b) for b in breaks]
    codes = np.full(values.shape, -1, dtype=int)
    known = ~np.isnan(values)
    if known.any() and edges:
        found = mapclassify.UserDefined(values[known], bins=edges).yb
        # UserDefined adds a class for values above the last edge: they belong to the last.
        codes[known] = np.minimum(found, len(edges) - 1)
    return codes


def classify_minutes(
    values_min: Sequence[float] | np.ndarray,
    *,
    max_time_min: float = 120.0,
    breaks_min: Sequence[float] = DEFAULT_MINUTE_BREAKS,
) -> Classes:
    """Travel times in fixed, readable classes, with a distinct "no access" class.

    Fixed classes (``mapclassify.UserDefined``, not quantiles) keep maps of different
    destinations and modes comparable.

    Parameters
    ----------
    values_min : array-like of float, shape (n,)
        Minutes; NaN means nothing reachable within ``max_time_min``.
    max_time_min : float
        The routing cut-off, minutes: the last class ends there.
    breaks_min : sequence of float
        Upper edges of the classes below ``max_time_min``, minutes.

    Returns
    -------
    Classes
        Labels such as ``"up to 15 min"``, ``"15-30 min"``, ``"90-120 min"``; the missing
        class reads ``"no access within 120 min"``. Palette: viridis, short = dark.
    """
    values = np.asarray(values_min, dtype=float)
    edges = [b for b in breaks_min if b < max_time_min] + [float(max_time_min)]
    labels = [f"up to {format_number(edges[0])} min"]
    labels += [f"{format_number(a)}-{format_number(b)} min"
               for a, b in zip(edges[:-1], edges[1:], strict=True)]
    return Classes(
        codes=assign_classes(np.minimum(values, max_time_min), edges),
        breaks=tuple(float(b) for b in edges),
        labels=tuple(labels),
        colours=_palette(SEQUENTIAL_CMAP, len(edges)),
        missing_label=f"no access within {format_number(max_time_min)} min",
    )


#: Schemes of :func:`classify_counts` -> the mapclassify classifier that finds the edges.
COUNT_SCHEMES = {"quantiles": "Quantiles", "fisher_jenks": "FisherJenks",
                 "natural_breaks": "NaturalBreaks"}
#: Counts up to this are small whole numbers (surgeries, schools): exact ranges in labels.
_SMALL_COUNT = 100


def classify_counts(
    values: Sequence[float] | np.ndarray,
    *,
    k: int = 5,
    scheme: str = "quantiles",
    unit: str = "",
    zero_label: str | None = None,
) -> Classes:
    """Opportunities (jobs, pupils, places) in k classes with rounded, readable edges.

    Parameters
    ----------
    values : array-like of float, shape (n,)
        Counts or scores; NaN means no data.
    k : int
        Number of classes wanted (fewer when values repeat), not counting the zero class.
    scheme : {"quantiles", "fisher_jenks", "natural_breaks"}
        The mapclassify classifier that finds the edges: ``Quantiles``, ``FisherJenks``
        (optimal Jenks breaks) or ``NaturalBreaks``. The edges are then rounded to two
        significant figures (to whole numbers for whole-number counts) and the values
        classed on them with ``mapclassify.UserDefined``, so labels and classes agree.
    unit : str
        Appended to labels (``"jobs"``).
    zero_label : str, optional
        When given and some values are exactly 0 (none reachable), they get a class of their
        own with this label (``"none within 30 min"``), first and darkest, and the scheme
        classes the positive values only. Counts of people and places need it: "no GP
        surgery within 30 minutes" is the class a planner looks for.

    Returns
    -------
    Classes
        Palette cividis, few = dark. Labels ``"up to 3,200 jobs"``, ``"3,200 to 6,200 jobs"``
        (upper edges included), or exact ranges (``"2-3 GP surgeries"``) for whole numbers up
        to 100.
    """
    if scheme not in COUNT_SCHEMES:
        raise ValueError(f"scheme {scheme!r}: use one of {sorted(COUNT_SCHEMES)}")
    values = np.asarray(values, dtype=float)
    known = values[~np.isnan(values)]
    zero_class = zero_label is not None and bool((known == 0).any()) and bool((known >= 0).all())
    finite = known[known > 0] if zero_class else known
    whole = bool(len(known)) and bool(np.all(known == np.round(known)))
    if len(finite) == 0:
        edges = [0.0] if not zero_class else []
    else:
        n_unique = len(np.unique(finite))
        k_used = max(1, min(k, n_unique))
        if n_unique > k_used:
            import mapclassify

            classifier = getattr(mapclassify, COUNT_SCHEMES[scheme])
            found = np.asarray(classifier(finite, k=k_used).bins, dtype=float)
        else:
            found = np.unique(finite)
        top = float(finite.max())
        rounded = {_round_readable(float(b)) for b in found[:-1]}
        if whole:
            rounded = {float(np.round(e)) for e in rounded}
        edges = [e for e in sorted(rounded) if finite.min() <= e < top] + [top]
    if zero_class:
        edges = [0.0, *edges]

    suffix = f" {unit}" if unit else ""
    f = format_number
    labels = []
    small = whole and bool(len(known)) and float(known.max()) <= _SMALL_COUNT
    for i, edge in enumerate(edges):
        lower = edges[i - 1] if i else None
        if zero_class and i == 0:
            labels.append(zero_label)
        elif small:
            first = float(finite.min()) if lower is None else lower + 1
            labels.append(f"{f(edge)}{suffix}" if first >= edge
                          else f"{f(first)}-{f(edge)}{suffix}")
        elif lower is None:
            labels.append(f"up to {f(edge)}{suffix}")
        elif lower == 0 and whole:
            labels.append(f"1 to {f(edge)}{suffix}")
        else:
            labels.append(f"{f(lower)} to {f(edge)}{suffix}")
    colours = _palette(OPPORTUNITY_CMAP, len(edges))
    return Classes(
        codes=assign_classes(values, edges),
        breaks=tuple(float(e) for e in edges),
        labels=tuple(labels),
        colours=colours,
        missing_label="no data",
    )


def classify_change(
    change: Sequence[float] | np.ndarray,
    *,
    unit: str = "min",
    lower_is_better: bool = True,
    no_change: float = 0.5,
    gained: Sequence[bool] | np.ndarray | None = None,
    lost: Sequence[bool] | np.ndarray | None = None,
    max_time_min: float = 120.0,
) -> Classes:
    """Scenario minus baseline in symmetric classes centred on zero.

    Parameters
    ----------
    change : array-like of float, shape (n,)
        Scenario value minus baseline value; NaN where either is missing.
    unit : str
        Unit for labels (``"min"``, ``"jobs"``).
    lower_is_better : bool
        True for travel times (a negative change is an improvement). Improvements always take
        the purple end of PuOr and losses the orange end, whichever sign that is.
    no_change : float
        Changes within +/- this form the central class, in the palette's neutral centre.
    gained, lost : array-like of bool, shape (n,), optional
        Places with no destination within ``max_time_min`` before the scenario and one after
        (``gained``), or the reverse (``lost``). Their change has no number of minutes, so
        they get two classes of their own at the ends of the scale (darkest, dotted), and the
        numeric classes are fitted to the other places only. Give both or neither.
    max_time_min : float
        The routing's maximum journey time, for the labels of those two classes.

    Returns
    -------
    Classes
        Seven classes, edges symmetric about zero: three of one sign, "no change", three of
        the other. Labels say "faster"/"slower" for minutes and "more"/"fewer" otherwise.
        With ``gained``/``lost``: nine, the first "now within reach" and the last "no longer
        within reach" (improvements first when ``lower_is_better``); their ``breaks`` are
        -inf and +inf.
    """
    values = np.asarray(change, dtype=float)
    reach = gained is not None or lost is not None
    if reach:
        n = len(values)
        gained = np.zeros(n, bool) if gained is None else np.asarray(gained, dtype=bool)
        lost = np.zeros(n, bool) if lost is None else np.asarray(lost, dtype=bool)
        if gained.shape != values.shape or lost.shape != values.shape:
            raise ValueError(f"gained and lost must have the shape of change {values.shape}")
        if np.any(gained & lost):
            raise ValueError("a place cannot both gain and lose access")
        values = np.where(gained | lost, np.nan, values)
    finite = np.abs(values[np.isfinite(values)])
    largest = float(finite.max()) if len(finite) else 0.0
    # At least 0.5 | 1 | 2 | 4 (for no_change 0.5), so the classes never collapse.
    top = max(nice_number(largest), 8 * no_change)
    if top < largest:
        top *= 2
    s1, s2 = _round_readable(top / 4), _round_readable(top / 2)
    if s1 <= no_change:
        s1 = _round_readable(2 * no_change)
    if s2 <= s1:
        s2 = 2 * s1
    edges = [-s2, -s1, -no_change, no_change, s1, s2, top]

    if unit == "min":
        down, up = "faster", "slower"
    else:
        down, up = "fewer", "more"
    u = f" {unit}" if unit else ""
    f = format_number
    labels = [
        f"{f(s2)}{u} or more {down}",
        f"{f(s1)}-{f(s2)}{u} {down}",
        f"{f(no_change)}-{f(s1)}{u} {down}",
        f"no change (within {f(no_change)}{u})",
        f"{f(no_change)}-{f(s1)}{u} {up}",
        f"{f(s1)}-{f(s2)}{u} {up}",
        f"over {f(s2)}{u} {up}",
    ]
    codes = assign_classes(values, edges)
    if not reach:
        return Classes(
            codes=codes,
            breaks=tuple(float(e) for e in edges),
            labels=tuple(labels),
            colours=_palette_diverging(len(edges), improvements_first=lower_is_better),
            missing_label="no access in either case",
        )

    # Gaining or losing all access is the largest change there is: the palette's two ends,
    # dotted so they stay apart from the darkest numeric classes.
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    cmap = colormaps[DIVERGING_CMAP]
    within = f"within {f(max_time_min)} min" if unit == "min" else "within reach"
    better = (f"now {within} (none before)", to_hex(cmap(1.0)))
    worse = (f"no longer {within}", to_hex(cmap(0.0)))
    first, last = (better, worse) if lower_is_better else (worse, better)
    first_mask, last_mask = (gained, lost) if lower_is_better else (lost, gained)
    codes = np.where(codes >= 0, codes + 1, -1)
    codes = np.where(first_mask, 0, np.where(last_mask, len(edges) + 1, codes))
    colours = _palette_diverging(len(edges), improvements_first=lower_is_better, outer=(0.12, 0.4))
    return Classes(
        codes=codes.astype(int),
        breaks=(-math.inf, *(float(e) for e in edges), math.inf),
        labels=(first[0], *labels, last[0]),
        colours=(first[1], *colours, last[1]),
        missing_label="no access in either case",
        hatches=("..", *([""] * len(edges)), ".."),
    )


def _palette_diverging(k: int, *, improvements_first: bool,
                       outer: tuple[float, float] = (0.05, 0.40)) -> tuple[str, ...]:
    """k (odd) colours of the diverging palette, the middle one its exact neutral centre."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    cmap = colormaps[DIVERGING_CMAP]
    half = (k - 1) // 2
    # PuOr runs orange (0) -> white (0.5) -> purple (1): improvements purple.
    outer = np.linspace(outer[0], outer[1], half)
    positions = np.concatenate([1.0 - outer, [0.5], outer[::-1]]) if improvements_first \
        else np.concatenate([outer, [0.5], (1.0 - outer)[::-1]])
    return tuple(to_hex(cmap(p)) for p in positions)


def classify_time_saved(saved_min: Sequence[float] | np.ndarray, *,
                        max_time_min: float = 120.0) -> Classes:
    """Minutes one option saves over another (never negative), e.g. public transport over
    walking all the way.

    Parameters
    ----------
    saved_min : array-like of float, shape (n,)
        Minutes saved (>= 0); NaN where neither option arrives within ``max_time_min``.
    max_time_min : float
        The routing cut-off, minutes (the missing class's label).

    Returns
    -------
    Classes
        "no time saved" (under 0.5 min, the palette's neutral centre), then "up to 5", "5-15",
        "15-30", "30-60" and "over 60 min saved" on the purple half of PuOr.
    """
    values = np.asarray(saved_min, dtype=float)
    edges = [0.5, 5.0, 15.0, 30.0, 60.0, max(float(np.nanmax(values, initial=0.0)), 61.0)]
    labels = ["no time saved", "0.5-5 min saved", "5-15 min saved", "15-30 min saved",
              "30-60 min saved", "over 60 min saved"]
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    cmap = colormaps[DIVERGING_CMAP]
    colours = tuple(to_hex(cmap(p)) for p in (0.5, 0.62, 0.72, 0.82, 0.91, 1.0))
    return Classes(codes=assign_classes(values, edges), breaks=tuple(edges), labels=tuple(labels),
                   colours=colours,
                   missing_label=f"no access within {format_number(max_time_min)} min")
