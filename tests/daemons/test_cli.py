"""The ``toros`` CLI an operator uses: the observatory in one view, watching, following, typed ``--set``."""

from __future__ import annotations

import re
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import yaml

from tests.daemons.conftest import client_config, wait_state
from torosdrivers.daemons.tools.client import main as toros
from torosdrivers.daemons.tools.views import step_line
from torosdrivers.daemons.frame.workorders import validate_calibration, validate_dome, validate_observation, typed_value

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.mark.parametrize("key, text, expected", [
    ("RA", "13:37:01", "13:37:01"),  # sexagesimal stays text (YAML 1.1 made it 49021)
    ("Dec", "-05:23:28", "-05:23:28"),
    ("RA", "23.1", 23.1),
    ("ID", "001", "001"),  # not 1: a different (duplicate) order
    ("User", "true", "true"),
    ("Number of Exposures", "3", 3),
    ("Priority", "1.3", 1.3),
    ("Exposure Time", "30s", "30s"),  # left as text, so the order check names it
    ("Blink01", "true", True),
    ("Blink01", "2", "2"),
    ("Park", "True", True),
    ("Filter", "null", "null"),
])
def test_set_values_are_text_unless_the_field_is_numeric(key, text, expected):
    assert typed_value(key, text) == expected and type(typed_value(key, text)) is type(expected)


def test_sexagesimal_ra_from_the_command_line_is_observed_there(stack, tmp_path, capsys):
    config = client_config(stack, tmp_path)
    assert toros(["--config", config, "submit", "--set", "ID=001", "--set", "WOType=Observation", "--set",
                  "RA=01:32:24", "--set", "Dec=+13:12:00", "--set", "Filter=V", "--set", "Exposure Time=5",
                  "--set", "Number of Exposures=2", "--follow"]) == 0
    out = capsys.readouterr().out
    assert "telescope: accepted 001 (Observation" in out
    steps = [line for line in out.splitlines() if line.startswith("  [+")]
    status = wait_state(stack.proxy(stack.telescope), "001")
    # Every step, none missed however short, each with the time since the order started.
    # (the running step may carry its ETA as it was printed)
    assert [re.sub(r" \(ETA [^)]*\)$", "", re.sub(r"^  \[\+\d+:\d\d\] ", "", s)) for s in steps] == \
        [s["Text"] for s in status["Steps"]]
    assert "  [+0:00] cooling the camera to -20 C" == steps[0]
    assert "001: done" in out and "after" in out
    light = status["Details"]["Frames"][0]
    assert light["Type"] == "LIGHT" and Path(light["Path"]).name == "001_light_000.fits"
    slewing = [s["Text"] for s in status["Steps"] if s["Text"].startswith("slewing")]
    assert slewing[0].startswith("slewing to RA 23.1000 Dec 13.2000")


def test_a_step_of_known_length_shows_its_eta():
    status = {"Started": "2026-09-25T05:00:00.000Z",
              "Step": {"Text": "exposure 2 of 5, 60 s", "At": "2026-09-25T05:02:10.000Z", "Seconds": 60.0,
                       "Ends": "2026-09-25T05:03:10.000Z"}}
    from datetime import datetime, timezone

    now = datetime(2026, 9, 25, 5, 2, 40, tzinfo=timezone.utc)
    line = step_line(status, {"At": "2026-09-25T05:02:10.000Z", "Text": "exposure 2 of 5, 60 s"}, now)
    assert line == "  [+2:10] exposure 2 of 5, 60 s (ETA 05:03:10 UTC, in 0:30)"
    earlier = step_line(status, {"At": "2026-09-25T05:01:00.000Z", "Text": "exposure 1 of 5, 60 s"}, now)
    assert earlier == "  [+1:00] exposure 1 of 5, 60 s"  # a step that is over has no ETA


def test_status_shows_the_whole_observatory_and_list_watches(stack, tmp_path, capsys):
    config = client_config(stack, tmp_path)
    dome = stack.proxy(stack.dome)
    dome.front_desk({"ID": "d1", "WOType": "Dome", "Blink01": "1"})
    wait_state(dome, "d1")
    assert toros(["--config", config, "status"]) == 3  # the test stack runs no scheduler: named, and nonzero
    out = capsys.readouterr().out
    for row in ("telescope     ready", "dome          ready", "preprocessor  ready"):
        assert row in out, out
    assert re.search(r"^Dome +\S.* shutter (Open|Closed), azimuth", out, re.M), out
    assert re.search(r"^Camera .* -?\d+\.\d C", out, re.M) and re.search(r"^Mount .* RA \d", out, re.M)
    assert "SAFETY  safe to open; Sun at -" in out and "QUEUE  empty" in out
    assert toros(["--config", config, "list", "--watch", "0.05", "--refreshes", "2"]) == 0
    frames = capsys.readouterr().out.split("(every 0.05 s; Ctrl-C ends)")
    assert len(frames) == 3 and all("dome     d1" in f and "done" in f for f in frames[1:])
    assert "SERVICE  ID" in frames[1] and "ELAPSED" in frames[1]


def test_status_names_an_unreachable_daemon(stack, tmp_path, capsys):
    path = Path(client_config(stack, tmp_path))
    data = yaml.safe_load(path.read_text())
    data["Dome Address"]["Port"] = 9  # nothing listens there
    path.write_text(yaml.safe_dump(data))
    assert toros(["--config", str(path), "--timeout", "5", "status"]) == 3  # a script sees it too
    out, err = capsys.readouterr()
    assert re.search(r"^dome +UNREACHABLE +http://127.0.0.1:9", out, re.M) and "telescope     ready" in out
    assert err.strip() == "toros: unreachable: dome, scheduler, alerts"  # (the test stack runs neither)


@pytest.mark.parametrize("name, text, message", [
    ("missing.yaml", None, "cannot read the work order missing.yaml: No such file or directory"),
    ("bad.yaml", "ID: [1,\n  WOType: x\n", "bad.yaml is not valid YAML (line 3, column 1): expected ','"),
    ("bad.json", '{"ID": 1,}', "bad.json is not valid JSON: Expecting property name"),
])
def test_a_bad_order_file_is_one_line(tmp_path, monkeypatch, capsys, name, text, message):
    monkeypatch.chdir(tmp_path)
    if text is not None:
        (tmp_path / name).write_text(text)
    (tmp_path / "c.yaml").write_text(f"Logging: {{File: {tmp_path}/c.log}}\n")
    with pytest.raises(SystemExit) as exit_:
        toros(["--config", "c.yaml", "submit", name])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.startswith(f"toros: {message}") and err.count("\n") == 1


@pytest.mark.parametrize("script", sorted(e.name for e in entry_points(group="console_scripts")
                                          if e.value.startswith("torosdrivers.")))
def test_every_console_script_has_version(script, capsys):
    main = next(e for e in entry_points(group="console_scripts") if e.name == script).load()
    with pytest.raises(SystemExit) as exit:
        main(["--version"])
    assert exit.value.code == 0 and capsys.readouterr().out.strip() == f"{script} 0.1.0 (torosdrivers)"


def test_the_examples_are_valid_work_orders(tmp_path):
    observation = yaml.safe_load((EXAMPLES / "observation.yaml").read_text())
    assert validate_observation(observation, filters=["U", "B", "V", "R", "I"]).id == "1"
    for name in ("dome.yaml", "dome-commands.yaml"):
        assert validate_dome(yaml.safe_load((EXAMPLES / name).read_text()), ["Blink01", "FlatLamp"]).commands
    from torosdrivers.daemons.frame.workorders import validate_scheduled

    gw = validate_scheduled(yaml.safe_load((EXAMPLES / "target-list.yaml").read_text()), ["V", "R", "I"])
    assert len(gw.targets) == 4 and gw.time_critical and gw.targets[2].observation.filter == "I"
    assert validate_scheduled(yaml.safe_load((EXAMPLES / "scheduled-observation.yaml").read_text())).asked is False
    (tmp_path / "2026-09-24").mkdir()
    calibration = yaml.safe_load((EXAMPLES / "calibration.yaml").read_text())
    assert validate_calibration(calibration, tmp_path).location == tmp_path / "2026-09-24"
