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

from tests.test_publish_maps import CODES, synthetic_result
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
                        isochrones=[isochrones])
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

    # Isochrones: an overlay in the layer control, two thresholds dissolved to two outlines.
    overlay = browser.find_element(By.CSS_SELECTOR, ".leaflet-control-layers-overlays input")
    assert "secondary transit" in browser.find_element(
        By.CSS_SELECTOR, ".leaflet-control-layers-overlays").text
    overlay.click()
    assert len(browser.find_elements(By.CSS_SELECTOR, "#map path.leaflet-interactive")) == \
        len(CODES) + 2
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
    _check_report(browser, f"{base}/{report.name}", n_lsoas,
                  report.parent / "report_screenshot.png")
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
    assert {o.text.strip() for o in overlays} == {"secondary transit", "secondary walk",
                                                   "post16 transit", "post16 walk"}


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
