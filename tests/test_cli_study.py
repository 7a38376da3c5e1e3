"""The study commands end to end on the Dorset study: access, compare-jts, demo."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

from tests.conftest import PROJECT_ROOT

DORSET = str(PROJECT_ROOT / "configs" / "dorset.yaml")


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "transport_access.cli", *args],
        capture_output=True, text=True, cwd=PROJECT_ROOT,
    )


def test_access_then_compare_jts(shared_data: Path, tmp_path: Path):
    out = tmp_path / "access"
    result = _run("access", DORSET, "--data-root", str(shared_data), "--out", str(out),
                  "--modes", "transit,car", "--window-min", "10", "-q")
    assert result.returncode == 0, result.stderr
    assert "by IMD quintile" in result.stdout
    long = pd.read_parquet(out / "access_lsoa.parquet")
    assert long["lsoa_code"].nunique() == 452
    assert set(long["mode"]) == {"transit", "car"}
    by_decile = pd.read_csv(out / "access_by_imd_decile.csv")
    assert set(by_decile["imd_decile"]) == set(range(1, 11))
    assert (out / "access.gpkg").stat().st_size > 0

    result = _run("compare-jts", "--jts", str(shared_data / "dorset" / "jts" /
                  "jts2017_dorset_lsoas.csv"), "--access", str(out / "access_lsoa.parquet"),
                  "--out", str(out), "-q")
    assert result.returncode == 0, result.stderr
    summary = pd.read_csv(out / "jts_comparison_summary.csv")
    gp_pt = summary[(summary["destination"] == "gp") & (summary["mode"] == "transit")].iloc[0]
    # Of the 48 JTS LSOAs, 13 reach no GP by public transport offline (no rural timetables;
    # walks all the way are capped at 20 minutes): they are counted, not matched.
    assert (gp_pt["n_matched"], gp_pt["n_unreachable_ours"]) == (35, 13)


def test_compare_jts_without_access_table_says_what_to_run(tmp_path: Path):
    result = _run("compare-jts", "--jts", "x.csv", "--access", str(tmp_path / "none.parquet"))
    assert result.returncode == 2
    assert "Run `transport-access access` first" in result.stderr


def test_scenarios_command_ranks_the_three_dorset_scenarios(shared_data: Path, tmp_path: Path):
    out = tmp_path / "scenarios"
    result = _run("scenarios", DORSET, "--data-root", str(shared_data), "--out", str(out),
                  "--window-min", "30", "-q")
    assert result.returncode == 0, result.stderr
    assert "Scenarios, ranked" in result.stdout
    scores = pd.read_csv(out / "scenario_scores.csv")
    assert sorted(scores["scenario"]) == ["portland_link", "west_dorset_drt", "withdraw_24"]
    assert scores["rank"].tolist() == [1, 2, 3]
    by_name = scores.set_index("scenario")
    assert by_name.loc["portland_link", "residents_gaining"] > 0
    assert by_name.loc["withdraw_24", "cost_per_day_gbp"] < 0
    changes = pd.read_parquet(out / "scenario_lsoa_changes.parquet")
    assert changes["lsoa_code"].nunique() == 452


def test_demo_writes_every_output(demo_outputs: Path):
    """`make demo`: data report, access tables, scenarios, maps, isochrones and the report."""
    out = demo_outputs
    for name in ("data_report.csv", "access_lsoa.parquet", "access_lsoa.csv",
                 "access_by_imd_decile.csv", "access.gpkg", "scenario_scores.csv",
                 "scenario_lsoa_changes.csv", "jts_comparison_summary.csv", "report.html"):
        assert (out / name).stat().st_size > 0, name
    report = pd.read_csv(out / "data_report.csv")
    assert {"dataset", "rows_kept", "rows_excluded", "reason"} <= set(report.columns)
    assert pd.read_parquet(out / "access_lsoa.parquet")["lsoa_code"].nunique() == 452
    # The routed network has the buses and the trains (the shared CIF subset's 22).
    feeds = pd.read_csv(out / "timetables.csv").set_index("mode")
    assert feeds.loc["rail", "trips"] == 22 and feeds.loc["bus", "trips"] > 0
    pngs = sorted(p.name for p in (out / "maps").glob("*.png"))
    assert {"gp_transit.png", "secondary_transit.png", "deprivation_deciles.png"} <= set(pngs)
    assert any(p.startswith("scenario_portland_link") for p in pngs)
    gpkgs = sorted(p.name for p in (out / "isochrones").glob("*.gpkg"))
    assert gpkgs == ["isochrones_post16_transit.gpkg", "isochrones_post16_walk.gpkg",
                     "isochrones_secondary_transit.gpkg", "isochrones_secondary_walk.gpkg"]
    import geopandas as gpd

    iso = gpd.read_file(out / "isochrones" / "isochrones_post16_transit.gpkg")
    assert sorted(set(iso["threshold_min"])) == [15.0, 30.0, 45.0, 60.0]
    assert set(iso["method"]) == {"straight-line estimate"}  # Dorset: no OSM extract offline
    assert iso.geometry.is_valid.all()
    stdout = (out / "stdout.txt").read_text()
    assert "Scenarios, ranked" in stdout and "report.html" in stdout


def test_isochrones_command_writes_then_skips(shared_data: Path, tmp_path: Path):
    out = tmp_path / "iso"
    args = ("isochrones", DORSET, "--data-root", str(shared_data), "--out", str(out),
            "--destinations", "post16", "--modes", "transit,walk", "--thresholds", "20,40",
            "--window-min", "10", "--workers", "1")
    first = _run(*args)
    assert first.returncode == 0, first.stderr
    assert "4 isochrone files" in first.stdout
    import geopandas as gpd

    walk = gpd.read_file(out / "isochrones_post16_walk.gpkg")
    # Dorset's 3 FE colleges (and 10 km around) x 2 thresholds, straight-line offline.
    assert len(walk) == 6 and sorted(set(walk["threshold_min"])) == [20.0, 40.0]
    assert set(walk["destination_set"]) == {"post16"} and walk["name"].notna().all()
    second = _run(*args)
    assert second.returncode == 0, second.stderr
    logged = " ".join((second.stdout + second.stderr).split())
    assert logged.count("up to date") == 2 and "computing" not in logged
    bad = _run("isochrones", DORSET, "--data-root", str(shared_data), "--out", str(out),
               "--destinations", "hospitals")
    assert bad.returncode == 2 and "hospitals" in bad.stderr and "choose from" in bad.stderr
