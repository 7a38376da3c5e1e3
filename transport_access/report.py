"""The data report: for every dataset, what was kept, what was excluded and why.

Loaders take an optional :class:`DataReport` and add one entry per dataset, so nothing is
dropped silently. ``make demo`` writes the report to ``outputs/demo/data_report.csv``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from transport_access._log import get_logger

log = get_logger(__name__)

REPORT_COLUMNS = ["dataset", "area", "rows_kept", "rows_excluded", "reason", "detail"]


@dataclass
class ReportEntry:
    """One dataset's line in the data report."""

    dataset: str
    area: str
    rows_kept: int
    exclusions: dict[str, int] = field(default_factory=dict)
    detail: str = ""

    @property
    def rows_excluded(self) -> int:
        """Total rows excluded, over all reasons."""
        return int(sum(self.exclusions.values()))

    @property
    def reason(self) -> str:
        """Reasons with their counts, for example ``"1,203 closed; 12 outside area"``."""
        return "; ".join(f"{n:,} {why}" for why, n in self.exclusions.items() if n)


@dataclass
class DataReport:
    """Collects :class:`ReportEntry` lines from the loaders."""

    entries: list[ReportEntry] = field(default_factory=list)

    def add(
        self,
        dataset: str,
        area: str,
        rows_kept: int,
        exclusions: dict[str, int] | None = None,
        detail: str = "",
    ) -> ReportEntry:
        """Record what a loader kept and excluded, and log it.

        Parameters
        ----------
        dataset : str
            Short name, for example ``"schools"`` or ``"timetable tnds: 1X"``.
        area : str
            The area the rows were selected for.
        rows_kept : int
            Rows in the returned table.
        exclusions : dict of str to int, optional
            Reason -> rows excluded for that reason. Zero counts are kept out of the text.
        detail : str
            Free text, for example a breakdown by category.

        Returns
        -------
        ReportEntry
        """
        entry = ReportEntry(dataset, area, int(rows_kept), dict(exclusions or {}), detail)
        self.entries.append(entry)
        message = f"{dataset} ({area}): kept {entry.rows_kept:,}"
        if entry.rows_excluded:
            message += f", excluded {entry.rows_excluded:,} ({entry.reason})"
        if detail:
            message += f"; {detail}"
        log.info(message)
        return entry

    def to_frame(self) -> pd.DataFrame:
        """Return the report as a DataFrame with :data:`REPORT_COLUMNS`."""
        rows = [
            {
                "dataset": e.dataset,
                "area": e.area,
                "rows_kept": e.rows_kept,
                "rows_excluded": e.rows_excluded,
                "reason": e.reason,
                "detail": e.detail,
            }
            for e in self.entries
        ]
        return pd.DataFrame(rows, columns=REPORT_COLUMNS)

    def write_csv(self, path: str | Path) -> Path:
        """Write the report to CSV and return the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.to_frame().to_csv(path, index=False)
        return path
