"""report.html in headless Chromium: it loads without JavaScript errors, shows its tables,
maps and the Leaflet map with one SVG path per LSOA, and asks no host but the local server.

Needs the Debian packages ``chromium`` and ``chromium-driver`` and the Python package
``selenium``; skips with the reason when any is missing. Set ``TRANSPORT_ACCESS_REPORT_HTML``
to a report (``outputs/demo/report.html``) to check that one too: its screenshot is saved
beside it as ``report_screenshot.png``.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pytest

from tests.test_publish_maps import CODES, _coverage, synthetic_result
from transport_access.publish.maps import write_study_maps
from transport_access.publish.report import write_report
from transport_access.report import DataReport

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or \
    shutil.which("google-chrome")
CHROMEDRIVER = shutil.which("chromedriver")

CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1280,2000",
    # Any host but the local server resolves to nothing: the page cannot reach out even if
    # it tried, and the network log still shows the attempt.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


def _require_browser() -> None:
    # CI sets TRANSPORT_ACCESS_REQUIRE_BROWSER=1: there a missing browser is a failure.
    required = os.environ.get("TRANSPORT_ACCESS_REQUIRE_BROWSER") == "1"
    if required:
        assert CHROMIUM and CHROMEDRIVER, "CI must install chromium and chromium-driver"
        import selenium  # noqa: F401  (an ImportError fails the test here)
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("headless Chromium not installed: apt-get install -y chromium "
                    "chromium-driver")
    pytest.importorskip("selenium", reason="selenium not installed: pip install selenium")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests: list[str]

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        type(self).requests.append(self.path)


@pytest.fixture()
def serve() -> Iterator[object]:
    """Serve folders on 127.0.0.1 (a random port); yields a function folder -> base URL."""
    servers = []

    def start(folder: Path) -> tuple[str, list[str]]:
        handler = type("Handler", (_QuietHandler,), {"requests": []})
        server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", handler.requests

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture()
def browser(tmp_path: Path) -> Iterator[object]:
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _requested_urls(driver: object) -> list[str]:
    """Every URL the page asked for, from the DevTools network log."""
    import json

    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def _check_report(driver: object, url: str, n_lsoas: int, screenshot: Path) -> dict:
    """Load a report and assert what every report must show; return a few page facts."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return document.readyState") == "complete")
    WebDriverWait(driver, 30).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#map path.leaflet-interactive"))
        >= n_lsoas)

    errors = driver.execute_script("return window.__reportErrors")
    assert errors == [], errors
    severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == [], severe

    assert driver.find_element(By.ID, "report-title").text.startswith(
        "Access to services by public transport")
    paths = driver.find_elements(By.CSS_SELECTOR, "#map svg path.leaflet-interactive")
    assert len(paths) == n_lsoas
    assert driver.find_element(By.ID, "map").get_attribute("data-lsoas") == str(n_lsoas)
    data_rows = driver.find_elements(By.CSS_SELECTOR, "#data-report tbody tr")
    assert len(data_rows) >= 1
    images = driver.execute_script(
        "return Array.from(document.images).map(i => [i.getAttribute('src'), i.complete, "
        "i.naturalWidth])")
    assert images, "no static maps in the report"
    for src, complete, width in images:
        assert complete and width > 0, f"map image {src} did not load"

    requested = _requested_urls(driver)
    hosts = {urlsplit(u).hostname for u in requested if urlsplit(u).scheme in ("http", "https")}
    assert hosts == {"127.0.0.1"}, f"requests to other hosts: {sorted(hosts - {'127.0.0.1'})}"
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(screenshot))
    assert screenshot.stat().st_size > 20_000
    return {"images": len(images), "requested": requested, "data_rows": len(data_rows)}


def _isochrone_file(path: Path) -> Path:
    """Isochrones of two schools at 15 and 30 minutes (circles), as compute_isochrones
    returns them."""
    import geopandas as gpd
    from shapely.geometry import Point

    rows = []
    for school, (x, y) in (("s1", (370000.0, 90500.0)), ("s2", (373000.0, 90500.0))):
        for minutes, radius in ((15.0, 600.0), (30.0, 1200.0)):
            rows.append({"id": school, "mode": "transit", "threshold_min": minutes,
                         "method": "straight-line estimate",
                         "geometry": Point(x, y).buffer(radius)})
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:27700").to_crs(4326)
    frame.to_file(path, driver="GeoJSON")
    return path


def test_report_in_headless_chromium(tmp_path: Path, browser: object, serve: object) -> None:
    from selenium.webdriver.common.by import By

    result = synthetic_result()
    out = tmp_path / "report"
    maps = write_study_maps(result, out / "maps", formats=("png", "svg"))
    report = DataReport()
    report.add("lsoas", "Testshire", 6, {"outside area": 2}, "synthetic")
    report.add("gp practices", "Testshire", 4, {"closed": 1})
    scores = pd.DataFrame({"rank": [2, 1], "scenario": ["cut route 5", "new route 9"],
                           "rank_group": ["saves with losses", "costs"],
                           "cost_per_day_gbp": [-120.0, 340.0],
                           "net_residents_gaining": [-1500.0, 4200.0],
                           "vehicle_km_per_day": [-80.0, 150.0]})
    isochrones = _isochrone_file(tmp_path / "isochrones_secondary_transit.geojson")
    changes = pd.DataFrame({"lsoa_code": CODES, "scenario": "new route 9",
                            "destination": "gp", "measure": "nearest_p50_min",
                            "change": [-4.0, 0.0, -12.0, 0.0, np.nan, 2.0]})
    path = write_report(out, study=None, data_report=report, access_result=result,
                        scenario_scores=scores, scenario_changes=changes, maps=maps,
                        isochrones=[isochrones], timetables=_coverage())
    assert path == out / "report.html"

    base, served = serve(out)
    facts = _check_report(browser, f"{base}/report.html", len(CODES),
                          tmp_path / "report_screenshot.png")
    assert facts["images"] == 4  # PNGs shown; SVG twins are links
    assert facts["data_rows"] == 2
    assert {"/report.html", "/maps/gp_transit.png"} <= set(served)

    ranking = browser.find_elements(By.CSS_SELECTOR, "#scenario-ranking tbody tr")
    assert [r.find_elements(By.TAG_NAME, "td")[1].text for r in ranking] == \
        ["new route 9", "cut route 5"]
    headers = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "#scenario-ranking th")]
    assert headers == ["Rank", "Scenario", "Group", "Cost per weekday (GBP)",
                       "Residents gaining, net"]
    assert ranking[0].find_elements(By.TAG_NAME, "td")[4].text == "4,200"
    assert "isochrones/isochrones_secondary_transit.geojson" in served or \
        (out / "isochrones" / "isochrones_secondary_transit.geojson").is_file()

    # The data coverage note comes first, above the key figures.
    coverage = browser.find_element(By.ID, "data-coverage")
    assert coverage.text.startswith("Data coverage.") and "387 trips" in coverage.text
    assert coverage.location["y"] < browser.find_element(By.ID, "key").location["y"]

    # Isochrones: an overlay in the layer control that names its method, two thresholds
    # dissolved to two outlines, whose tooltips name the method too.
    overlay = browser.find_element(By.CSS_SELECTOR, ".leaflet-control-layers-overlays input")
    assert "secondary transit (straight-line estimate)" in browser.find_element(
        By.CSS_SELECTOR, ".leaflet-control-layers-overlays").text
    overlay.click()
    assert len(browser.find_elements(By.CSS_SELECTOR, "#map path.leaflet-interactive")) == \
        len(CODES) + 2
    assert "straight-line estimate" in browser.find_element(By.ID, "isochrone-method").text
    changes_text = browser.find_element(By.ID, "scenario-changes").text
    assert "new route 9" in changes_text and "GP surgery" in changes_text
    assert "Contains public sector information" in browser.find_element(By.ID,
                                                                        "attribution").text

    # The measure selector recolours the map: GP on foot leaves LSOA 3 with no access (grey).
    fills = browser.execute_script(
        "return Array.from(document.querySelectorAll('#map path.leaflet-interactive'))"
        ".map(p => p.getAttribute('fill'))")
    select = browser.find_element(By.ID, "measure")
    options = [o.get_attribute("value") for o in select.find_elements(By.TAG_NAME, "option")]
    assert options == ["gp_transit", "gp_walk", "secondary_transit"]
    browser.execute_script("var s = document.getElementById('measure'); s.value = 'gp_walk';"
                           "s.dispatchEvent(new Event('change'));")
    walk_fills = browser.execute_script(
        "return Array.from(document.querySelectorAll('#map path.leaflet-interactive'))"
        ".map(p => p.getAttribute('fill'))")
    assert walk_fills.count("#d9d9d9") == 2 and fills.count("#d9d9d9") == 1
    assert "gp_walk" in browser.find_element(By.ID, "measure").get_attribute("value")


def test_demo_report(browser: object, serve: object, request: pytest.FixtureRequest) -> None:
    """The Dorset demo's report (run by the ``demo_outputs`` fixture), or the report that
    TRANSPORT_ACCESS_REPORT_HTML names (e.g. ``outputs/demo/report.html``)."""
    target = os.environ.get("TRANSPORT_ACCESS_REPORT_HTML")
    if target:
        report = Path(target).resolve()
    else:
        report = request.getfixturevalue("demo_outputs") / "report.html"
    assert report.is_file(), f"{report} does not exist: run the report step first"
    import json
    import re

    text = report.read_text(encoding="utf-8")
    payload = re.search(r'<script id="lsoa-data" type="application/json">(.*?)</script>', text,
                        re.S)
    n_lsoas = len(json.loads(payload.group(1).replace("<\\/", "</"))["lsoas"]["features"])
    base, _ = serve(report.parent)
    screenshot = report.parent / "report_screenshot.png"
    _check_report(browser, f"{base}/{report.name}", n_lsoas, screenshot)
    # The screenshot beside a report is this test's, of that very report (make demo removes
    # the previous one when it rewrites report.html).
    assert screenshot.stat().st_mtime >= report.stat().st_mtime
    if (report.parent / "scenario_scores_by_destination.csv").is_file():
        assert_changes_match_scores(report)
    if (report.parent / "timetables.csv").is_file():
        from selenium.webdriver.common.by import By

        coverage = browser.find_element(By.ID, "data-coverage").text
        timetables = pd.read_csv(report.parent / "timetables.csv")
        assert f"{int(timetables['trips'].sum()):,} trips on the day" in coverage
        assert all(f"{name} (" in coverage for name in timetables["name"])
    if target:
        return
    # The Dorset demo: 452 LSOAs, the three scenarios ranked, maps and isochrone overlays.
    from selenium.webdriver.common.by import By

    assert n_lsoas == 452
    ranking = browser.find_elements(By.CSS_SELECTOR, "#scenario-ranking tbody tr")
    assert len(ranking) == 3
    text = browser.find_element(By.ID, "scenario-ranking").text
    assert all(name in text for name in ("portland_link", "west_dorset_drt", "withdraw_24"))
    images = browser.execute_script(
        "return Array.from(document.images).map(i => i.getAttribute('src'))")
    assert any("gp_transit.png" in src for src in images)
    assert any("scenario_portland_link" in src for src in images)
    overlays = browser.find_elements(By.CSS_SELECTOR, ".leaflet-control-layers-overlays label")
    # Offline there is no street network: every overlay says it is a straight-line estimate.
    assert {o.text.strip() for o in overlays} == {
        f"{name} (straight-line estimate)"
        for name in ("secondary transit", "secondary walk", "post16 transit", "post16 walk")}
    assert "straight-line estimate" in browser.find_element(By.ID, "isochrone-method").text
    assert any("gp_transit_opportunities.png" in src for src in images)


def assert_changes_match_scores(report: Path) -> None:
    """The report's "Changes by scenario" table has the figures of
    scenario_scores_by_destination.csv written by the same run, including LSOAs gaining or
    losing all access (the residents no longer within the maximum time)."""
    from transport_access.publish._style import destination_name

    (table,) = pd.read_html(report, attrs={"id": "scenario-changes"}, thousands=",",
                            na_values=["–"])
    scores = pd.read_csv(report.parent / "scenario_scores_by_destination.csv")
    scores["Destination"] = scores["destination"].map(destination_name)
    merged = table.merge(scores, left_on=["Scenario", "Destination"],
                         right_on=["scenario", "Destination"], validate="one_to_one")
    assert len(merged) == len(scores) == len(table)
    mean = next(c for c in table.columns if c.startswith("Mean change"))
    assert np.allclose(merged[mean], merged["mean_change_min"], atol=0.006)
    assert np.allclose(merged["Residents gaining access within it"], merged["residents_gaining"])
    assert np.allclose(merged["Residents losing access within it"], merged["residents_losing"])
    assert (merged["Main threshold (min)"] == merged["main_threshold_min"]).all()
    now = next(c for c in table.columns if c.startswith("Residents now within"))
    lost = next(c for c in table.columns if c.startswith("Residents no longer within"))
    assert np.allclose(merged[lost] - merged[now],
                       merged["unreachable_scenario"] - merged["unreachable_baseline"])


def test_report_html_loads_nothing_from_elsewhere(tmp_path: Path) -> None:
    """Without a browser: no script, style sheet, image or font comes from another host,
    Leaflet is inlined, and a tiles URL is used only when asked for."""
    import re

    result = synthetic_result()
    path = write_report(tmp_path, study=None, data_report=None, access_result=result)
    text = path.read_text(encoding="utf-8")
    # Anchors may point anywhere (a click is the reader's choice); nothing may load from there.
    loads = r"""<(script|img|link|iframe|source|video|audio|embed)\b[^>]*(src|href)\s*=\s*["']?"""
    assert re.search(loads + r"(https?:)?//", text) is None
    assert re.search(r"url\(\s*['\"]?(https?:)?//", text) is None
    assert "@import" not in text
    assert 't.version="1.9.4"' in text  # Leaflet itself, inlined
    assert "sourceMappingURL" not in text
    assert text.count("<script") == 4  # error capture, data, Leaflet, our map code
    assert '<p id="data-report" class="empty">No data report.</p>' in text
    assert 'id="scenario-ranking"' not in text  # no scenarios given: no section
    tiled = write_report(tmp_path / "tiles", study=None, data_report=None,
                         access_result=result,
                         tiles_url="https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    assert "tile.openstreetmap.org" in tiled.read_text(encoding="utf-8")
    assert "Background tiles need an internet connection" in tiled.read_text(encoding="utf-8")


def test_scenario_changes_table_matches_the_scores(tmp_path: Path) -> None:
    """The report's changes table and score_scenario use one set of definitions: the mean
    counts no access as the maximum time, and LSOAs gaining or losing all access count."""
    import copy
    import datetime as dt

    from transport_access.publish.report import main_thresholds, scenario_change_summary
    from transport_access.scenarios.costs import ScenarioChanges
    from transport_access.scenarios.score import rank_scenarios, score_scenario

    baseline = synthetic_result()
    scenario = copy.deepcopy(baseline)
    # GP minutes today are GP_TRANSIT: 5, 25, 50, 100, none, 12. LSOA 2 loses all access,
    # LSOA 4 gains it, LSOA 3 comes within 60 minutes.
    after = [4.0, 25.0, np.nan, 55.0, 40.0, 12.0]
    rows = (scenario.long["destination"] == "gp") & (scenario.long["mode"] == "transit")
    scenario.long.loc[rows, "value"] = after
    score = score_scenario(baseline, scenario,
                           ScenarioChanges("swap", dt.date(2026, 3, 10), 60.0), baseline.lsoas)
    population = pd.DataFrame(baseline.lsoas).set_index("lsoa_code")["population"]
    table = scenario_change_summary(
        score.lsoa_changes, population, measure="nearest_p50_min", max_time_min=120.0,
        main_threshold_min=main_thresholds(rank_scenarios([score])))
    gp = table[table["Destination"] == "GP surgery"].iloc[0]
    expected = score.destinations.set_index("destination").loc["gp"]
    assert gp["Mean change (min; no access counted as 120)"] == \
        pytest.approx(expected["mean_change_min"])
    assert gp["Main threshold (min)"] == expected["main_threshold_min"] == 60.0
    # LSOA 3 (1,800) and LSOA 4 (1,900, none before) come within 60 min; LSOA 2 (1,700)
    # drops out.
    assert gp["Residents gaining access within it"] == expected["residents_gaining"] == 3700
    assert gp["Residents losing access within it"] == expected["residents_losing"] == 1700
    assert gp["Residents now within 120 min (none before)"] == 1900
    assert gp["Residents no longer within 120 min"] == 1700
    assert 1700 - 1900 == expected["unreachable_scenario"] - expected["unreachable_baseline"]
    assert gp["Residents faster"] == 1500 + 1800 and gp["Residents slower"] == 0

    # The written report shows the same figures.
    path = write_report(tmp_path, study=None, data_report=None, access_result=baseline,
                        scenario_scores=rank_scenarios([score]),
                        scenario_changes=score.lsoa_changes)
    (shown,) = pd.read_html(path, attrs={"id": "scenario-changes"}, thousands=",")
    row = shown[shown["Destination"] == "GP surgery"].iloc[0]
    assert row["Residents no longer within 120 min"] == 1700
    assert row["Mean change (min; no access counted as 120)"] == \
        pytest.approx(expected["mean_change_min"], abs=0.006)
