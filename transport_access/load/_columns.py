"""Find columns by meaning, not position: official headers are long English phrases."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

import pandas as pd

from transport_access.errors import MissingColumnError


def _normalise(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", str(text).lower().replace("\ufeff", "")).strip()


def find_column(
    columns: Sequence[str] | pd.Index,
    *patterns: str,
    exclude: Sequence[str] = (),
    path: str | os.PathLike[str] = "<table>",
    what: str = "",
    required: bool = True,
) -> str | None:
    """Return the first column whose normalised header contains every word group of a pattern.

    Headers and patterns are lower-cased and stripped of punctuation. A pattern matches when
    each of its ``&``-separated parts occurs in the header, for example
    ``"imd & rank"`` matches "Index of Multiple Deprivation (IMD) Rank (where 1 is most
    deprived)". Patterns are tried in order.

    Parameters
    ----------
    columns : sequence of str
        The table's headers.
    *patterns : str
        Patterns tried in order.
    exclude : sequence of str
        Headers containing any of these (normalised) are never matched.
    path : path-like
        The file, named in the error.
    what : str
        What the column holds, named in the error.
    required : bool
        Raise :class:`MissingColumnError` when nothing matches; otherwise return None.

    Returns
    -------
    str or None
        The matching header, exactly as in the table.
    """
    normalised = {col: _normalise(col) for col in columns}
    excluded = [_normalise(e) for e in exclude]
    for pattern in patterns:
        parts = [_normalise(p) for p in pattern.split("&")]
        for col, norm in normalised.items():
            if any(e and e in norm for e in excluded):
                continue
            if all(part in norm for part in parts):
                return col
    if not required:
        return None
    shown = ", ".join(repr(str(c)) for c in list(columns)[:12])
    raise MissingColumnError(
        path,
        f"no column for {what or patterns[0]!r} (looked for {' or '.join(map(repr, patterns))}; "
        f"found {shown}{', ...' if len(columns) > 12 else ''}).",
        "Check that this is the right file and that its header row is intact.",
    )


def to_number(series: pd.Series) -> pd.Series:
    """Parse numbers written with thousands separators ("29,199") into floats (NaN if blank)."""
    if pd.api.types.is_numeric_dtype(series):
        return series.astype(float)
    cleaned = series.astype("string").str.replace(",", "", regex=False).str.strip()
    return pd.to_numeric(cleaned, errors="coerce").astype(float)
