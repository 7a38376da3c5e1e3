"""Progress bars for long work, shown on a terminal and silent elsewhere (tests, CI logs)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def track(items: Iterable[T], *, total: int | None = None, description: str = "") -> Iterator[T]:
    """Iterate over ``items`` with a rich progress bar when stderr is a terminal.

    Parameters
    ----------
    items : iterable
        What to iterate over.
    total : int, optional
        Number of items, when ``len(items)`` is not available.
    description : str
        Label shown beside the bar.

    Yields
    ------
    The items, unchanged.
    """
    import sys

    if not sys.stderr.isatty():
        yield from items
        return
    from rich.progress import track as rich_track

    yield from rich_track(items, total=total, description=description, transient=True)
