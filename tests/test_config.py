"""The study file: the Dorset study validates, and every kind of mistake names its key."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from tests.conftest import PROJECT_ROOT
from transport_access.config import load_study, parse_hhmm, study_from_dict
from transport_access.errors import ConfigError, MissingFileError

DORSET = PROJECT_ROOT / "configs" / "dorset.yaml"


@pytest.fixture()
def dorset_dict() -> dict:
    return yaml.safe_load(DORSET.read_text())


def test_dorset_study_loads_with_both_councils(shared_data: Path):
    study = load_study(DORSET, data_root=shared_data)
    assert study.area.local_authorities == ["E06000059", "E06000058"]
    assert study.departure_windows[0].start_min == 7 * 60
    assert study.departure_windows[0].length_min == 180
    assert study.resolve(study.data.schools).is_file()
    assert study.routing.board_slack_s == 60


def test_data_root_from_environment(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("TRANSPORT_ACCESS_DATA", str(tmp_path))
    study = load_study(DORSET)
    assert study.data_root == tmp_path.resolve()
    with pytest.raises(MissingFileError, match="dorset/schools") as info:
        study.resolve(study.data.schools)
    assert "--data-root" in str(info.value)


@pytest.mark.parametrize(
    ("edit", "key", "words"),
    [
        (lambda d: d["routing"].update(board_slack_s=-5), "routing.board_slack_s", "greater"),
        (lambda d: d["modes"].update(include=["bus"]), "modes.include.0", "transit"),
        (lambda d: d["routing"].update(walk_only_max_min=0), "routing.walk_only_max_min",
         "greater"),
        (lambda d: d["area"].update(local_authorities=["Dorset"]), "area.local_authorities", "E06"),
        (lambda d: d["area"].update(local_authorities=[]), "area.local_authorities", "at least"),
        (lambda d: d["modes"].update(walk_sped_kmh=5), "modes.walk_sped_kmh", "unknown key"),
        (lambda d: d["area"].pop("name"), "area.name", "missing"),
        (
            lambda d: d["departure_windows"][0].update(start="10:00", end="07:00"),
            "departure_windows.0",
            "after start",
        ),
        (
            lambda d: d["departure_windows"][0].update(start="7am"),
            "departure_windows.0.start",
            "pattern",
        ),
        (
            lambda d: d["data"]["timetables"][0].update(service_day="someday"),
            "data.timetables.0.service_day",
            "",
        ),
        (
            lambda d: d["data"]["timetables"].append(dict(d["data"]["timetables"][0])),
            "data.timetables",
            "unique",
        ),
        (lambda d: d["destinations"]["gp"].update(source="doctors"), "destinations.gp.source", ""),
    ],
)
def test_invalid_study_names_the_key(dorset_dict: dict, edit, key: str, words: str):
    bad = copy.deepcopy(dorset_dict)
    edit(bad)
    with pytest.raises(ConfigError) as info:
        study_from_dict(bad, source="bad.yaml")
    message = str(info.value)
    assert "bad.yaml" in message
    assert f"  {key}:" in message
    assert words in message


def test_service_day_accepts_a_date(dorset_dict: dict):
    dorset_dict["data"]["timetables"][0]["service_day"] = "2014-12-10"
    study = study_from_dict(dorset_dict)
    assert str(study.data.timetables[0].service_day) == "2014-12-10"


def test_missing_and_malformed_files(tmp_path: Path):
    with pytest.raises(MissingFileError, match="study file does not exist"):
        load_study(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("area: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_study(broken)
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="must be a YAML mapping"):
        load_study(listy)


def test_parse_hhmm_allows_times_past_midnight():
    assert parse_hhmm("08:45") == 525
    assert parse_hhmm("25:10") == 1510
