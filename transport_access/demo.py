"""The end-to-end study run behind ``make demo``.

It loads and checks every dataset of the study file and writes the data report, then the
accessibility tables by deprivation and the comparison with DfT Journey Time Statistics.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transport_access._log import get_logger
from transport_access.config import Study, load_study
from transport_access.report import DataReport

log = get_logger(__name__)


@dataclass
class DemoResult:
    """What a demo run produced."""

    study: Study
    report: DataReport
    outputs: list[Path] = field(default_factory=list)
    access: Any = None
    scenarios: Any = None


def run_demo(
    config: str | os.PathLike[str],
    *,
    data_root: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] = "outputs/demo",
) -> DemoResult:
    """Run a study end to end and write its outputs.

    Parameters
    ----------
    config : path-like
        The study file.
    data_root : path-like, optional
        Folder the study's data paths are relative to.
    out : path-like
        Output folder; created if needed.

    Returns
    -------
    DemoResult
        The study, the data report and the paths written.
    """
    from transport_access.study_data import load_study_data

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    study = load_study(config, data_root=data_root)
    log.info("Study %s: data root %s", study.area.name, study.data_root)

    data = load_study_data(study)
    result = DemoResult(study=study, report=data.report)
    result.outputs.append(data.report.write_csv(out / "data_report.csv"))
    if data.timetables is not None:
        path = out / "timetables.csv"
        data.timetables.to_csv(path, index=False)
        result.outputs.append(path)

    from transport_access.access.run import run_access, write_access_outputs

    access = run_access(data)
    result.access = access
    result.outputs.extend(write_access_outputs(access, out).values())
    if study.data.jts:
        from transport_access.access.jts import compare_jts, write_jts_comparison

        summary, per_lsoa = compare_jts(access, study.resolve(study.data.jts))
        written = write_jts_comparison(summary, per_lsoa, out)
        result.outputs.extend(p for p in written.values() if isinstance(p, Path))

    if study.scenarios and data.feed is not None:
        from transport_access.scenarios.run import run_scenarios, write_scenario_outputs

        # the baseline above is the scenarios' baseline: same data, same parameters
        result.scenarios = run_scenarios(data, baseline=access)
        result.outputs.extend(write_scenario_outputs(result.scenarios, out).values())
    return result
