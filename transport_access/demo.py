"""The end-to-end study run behind ``make demo``.

It loads and checks every dataset of the study file and writes the data report, then the
accessibility tables by deprivation and the comparison with DfT Journey Time Statistics, the
scenario scores, the maps, the isochrones and ``report.html``, which opens with what the
loaded timetables cover.

``report_screenshot.png`` is not the demo's: the browser test writes it from the report
beside it (``TRANSPORT_ACCESS_REPORT_HTML=outputs/demo/report.html pytest
tests/test_report_browser.py``). A run that rewrites ``report.html`` removes the previous
screenshot, so the folder never holds a picture of figures it no longer has.
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
    result.outputs.extend(_publish(data, result, out))
    return result


#: Written by the browser test (tests/test_report_browser.py::test_demo_report with
#: TRANSPORT_ACCESS_REPORT_HTML=outputs/demo/report.html), never by the demo itself.
SCREENSHOT_NAME = "report_screenshot.png"


def _publish(data: Any, result: DemoResult, out: Path) -> list[Path]:
    """Maps, isochrones of secondary schools and colleges, and the HTML report."""
    from transport_access.publish.coverage import compute_timetable_coverage
    from transport_access.publish.isochrones import run_isochrones
    from transport_access.publish.maps import write_study_maps
    from transport_access.publish.report import write_report

    written: list[Path] = []
    changes = result.scenarios.lsoa_changes if result.scenarios is not None else None
    coverage = compute_timetable_coverage(data.timetables, feed=data.feed, stops=data.stops,
                                          service_date=data.service_date)
    maps: list[Path] = []
    if result.access is not None and result.access.boundaries is not None:
        log.info("Drawing the study maps")
        maps = write_study_maps(result.access, out / "maps", scenario_changes=changes,
                                stops=data.stops, timetables=coverage)
        written.extend(maps)
    else:
        log.warning("No LSOA boundaries configured: the maps are skipped")
    sets = [s for s in ("secondary", "post16") if s in data.study.destinations]
    isochrones: list[Path] = []
    if sets:
        log.info("Isochrones of %s", " and ".join(sets))
        isochrones = run_isochrones(data, destination_sets=sets, modes=("transit", "walk"),
                                    out_dir=out / "isochrones")
        written.extend(isochrones)
    if result.access is not None:
        scores = result.scenarios.ranking if result.scenarios is not None else None
        written.append(write_report(
            out, study=data.study, data_report=data.report, access_result=result.access,
            scenario_scores=scores, scenario_changes=changes, timetables=coverage,
            maps=[p for p in maps if p.suffix == ".png"], isochrones=isochrones))
        screenshot = out / SCREENSHOT_NAME
        if screenshot.exists():
            # A screenshot of the previous report would show figures this run has replaced.
            screenshot.unlink()
            log.info("Removed %s of the previous report; the browser test writes a new one "
                     "(TRANSPORT_ACCESS_REPORT_HTML=%s pytest tests/test_report_browser.py)",
                     screenshot, out / "report.html")
    return written
