"""Each work order of the TOROS documentation, verbatim, over XML-RPC on loopback."""

from __future__ import annotations

import logging
import re
import time
import xmlrpc.client
from pathlib import Path

import pytest
import requests
from astropy.io import fits

from tests.daemons.conftest import DOC_DOME, DOC_OBSERVATION, wait_state


def test_observation_through_to_calibrated_frames(stack, caplog):
    caplog.set_level(logging.INFO)  # state()'s log lines: as the daemon's process logs them
    telescope = stack.proxy(stack.telescope)
    receipt = telescope.front_desk(DOC_OBSERVATION)
    assert receipt["ID"] == "1" and receipt["State"] == "queued" and receipt["Priority"] == 1.3
    status = wait_state(telescope, "1")
    assert status["State"] == "done", status
    # The structured result beside the sentence: every frame with its path, the phases' durations.
    details = status["Details"]
    night = Path(details["Night"])
    assert f"16 frames in {night}" in status["Result"]
    frames = details["Frames"]
    assert [f["Type"] for f in frames] == ["BIAS"] * 5 + ["DARK"] * 5 + ["FLAT"] * 5 + ["LIGHT"]
    assert all(Path(f["Path"]).is_file() for f in frames) and frames[-1]["Filter"] == "I"
    assert details["Preprocessor Order"] == "1/calibration"
    assert {"Calibration", "Opening", "Slewing", "Exposures", "Total"} <= set(details["Durations"])
    steps = [s["Text"] for s in status["Steps"]]
    assert steps[:3] == ["cooling the camera to -20 C", "bias 1", "bias 2"] and "exposure 1 of 1, 30 s" in steps
    assert all(s["At"].endswith("Z") for s in status["Steps"]) and status["Elapsed"] > 0
    assert status["Received"].endswith("Z") and status["Finished"] > status["Started"]
    # The daemon at a glance: devices as sampled, the latest frame, the log.
    state = telescope.state()
    while state["Devices Sampled"] <= status["Finished"]:  # sampled every second, in the background
        time.sleep(0.1)
        state = telescope.state()
    assert state["Latest Frame"]["Path"] == frames[-1]["Path"] and state["Latest Frame"]["Order"] == "1"
    assert state["Devices"]["Dome"]["Connected"] and state["Devices"]["Dome"]["Shutter"] in ("Open", "Closed")
    assert state["Devices"]["Filter Wheel"]["Filter"] == "I"
    assert -100 < state["Devices"]["Camera"]["Temperature"] < 50 and "RA" in state["Devices"]["Mount"]
    assert state["Health"]["Healthy"] and state["Queue"] == [] and state["Recent"][0]["ID"] == "1"
    assert any("1: exposure 1 of 1, 30 s" in line for _, line in state["Log"])
    newest = state["Log"][-1][0]
    assert all(n > newest for n, _ in telescope.state(newest)["Log"])
    light = fits.getheader(night / "1_light_000.fits")
    assert (light["WO_ID"], light["OBSERVER"], light["FILTER"], light["EXPTIME"]) == ("1", "Main Module", "I", 30.0)
    assert light["RA"] == pytest.approx(23.1, abs=1e-3) and light["DEC"] == pytest.approx(13.2, abs=1e-3)
    assert len(list(night.glob("1_bias_*.fits"))) == 5 and len(list(night.glob("1_flatI_*.fits"))) == 5
    preprocessor = stack.proxy(stack.preprocessor)
    handed = wait_state(preprocessor, "1/calibration")
    assert handed["State"] == "done", handed
    product = night / "products" / "1_light_000_cal.fits"
    assert handed["Details"]["Products"] == [str(product)] and len(handed["Details"]["Masters"]) == 3
    assert fits.getheader(product)["CALSTAT"] == "BDF"


def test_dome_blink(stack):
    dome = stack.proxy(stack.dome)
    assert dome.front_desk(DOC_DOME)["State"] == "queued"
    assert wait_state(dome, "1")["Result"] == "Blink01: indicator blinked 1 time"
    assert stack.telescope.devices.dome.blinks == 1


def test_dome_commands_run_in_order(stack):
    dome = stack.proxy(stack.dome)
    dome.front_desk({"ID": "d2", "WOType": "Dome", "Shutter": "Open", "Azimuth": 90.0, "Blink01": "2", "Park": True})
    status = wait_state(dome, "d2")
    assert status["Result"] == "shutter open; azimuth 90; Blink01: indicator blinked 2 times; parked"
    assert [(c["Command"], c["Value"]) for c in status["Details"]["Commands"]] == [
        ("Shutter", "open"), ("Azimuth", "90.0"), ("Blink01", "2"), ("Park", "True")]
    assert [s["Text"] for s in status["Steps"]] == ["Shutter open", "Azimuth 90.0", "Blink01 2", "Park True"]


def test_exposure_calibration_request(stack, tmp_path):
    import math

    from tests.rigs import NIGHT
    from torosdrivers.simulators import SimulatedObservatory
    from torosdrivers.simulators.night import observe_night

    night = Path(stack.config["Data Directory"]) / "night"
    with SimulatedObservatory(time_scale=math.inf, start=NIGHT, width=64, height=64) as obs:
        observe_night(obs, night, biases=3, darks=3, flats=3, lights={"V": 1})
    preprocessor = stack.proxy(stack.preprocessor)
    preprocessor.front_desk({"ID": "c1", "WOType": "Calibration", "Request": "Exposure Calibration",
                             "File Location": f"file://{night}"})
    assert wait_state(preprocessor, "c1")["State"] == "done"
    assert (night / "products" / "light_V_000_cal.fits").exists()


def test_duplicate_id_returns_the_existing_receipt(stack):
    dome = stack.proxy(stack.dome)
    first = dome.front_desk(DOC_DOME)
    again = dome.front_desk({**DOC_DOME, "Blink01": "5"})
    assert again["Duplicate"] and again["Received"] == first["Received"]
    wait_state(dome, "1")
    assert stack.telescope.devices.dome.blinks == 1  # run once


def test_priority_then_arrival(stack, monkeypatch):
    dome = stack.proxy(stack.dome)
    ran = []
    real = stack.dome.dome.action
    monkeypatch.setattr(stack.dome.dome, "action", lambda name, parameters="": (ran.append(parameters), real(name, parameters))[1])
    stack.telescope.devices.observatory.clock.time_scale = 100.0  # a rotation of a second keeps the worker busy
    dome.front_desk({"ID": "block", "WOType": "Dome", "Azimuth": 0.0})
    for name, priority in [("low", 1), ("high", 9), ("mid", 5), ("high2", 9)]:
        dome.front_desk({"ID": name, "WOType": "Dome", "Priority": priority, "Blink01": str(len(name))})
    for name in ("low", "high", "mid", "high2"):
        wait_state(dome, name)
    assert ran == ["4", "5", "3", "3"]  # high, high2 (same priority: arrival), mid, low


def test_cancel_a_queued_order(stack):
    dome = stack.proxy(stack.dome)
    stack.telescope.devices.observatory.clock.time_scale = 100.0
    dome.front_desk({"ID": "slow", "WOType": "Dome", "Azimuth": 0.0})
    dome.front_desk({"ID": "later", "WOType": "Dome", "Blink01": True})
    assert dome.cancel("later")["State"] == "cancelled"
    assert wait_state(dome, "slow")["State"] == "done"
    assert dome.status("later")["Error"] == "cancelled before it ran"
    assert stack.telescope.devices.dome.blinks == 0
    with pytest.raises(xmlrpc.client.Fault, match="no such work order"):
        dome.cancel("never-sent")


def test_introspection_and_documentation_page(stack):
    telescope = stack.proxy(stack.telescope)
    methods = telescope.system.listMethods()
    for name in ("front_desk", "status", "cancel", "list_orders"):
        assert name in methods
    page = requests.get(f"http://127.0.0.1:{stack.telescope.server.port}/", timeout=5)
    assert page.status_code == 200 and "front_desk" in page.text and "state" in methods
    assert "TOROS telescope daemon" in page.text and "subtract" not in page.text


def test_the_main_job(tmp_path, capsys):
    """``make demo``: simulator, the daemons, both documented work orders, calibrated frames, an alert drill."""
    from torosdrivers.daemons.tools.demo import main

    # What a last run left: the demo starts its own night, not the last one's receipts and frames
    (tmp_path / "toros.conf.yaml").write_text("{}\n")
    (tmp_path / "journal-telescope.sqlite").write_bytes(b"old")
    (tmp_path / "data" / "2026-01-01").mkdir(parents=True)
    (tmp_path / "data" / "2026-01-01" / "1_light_000.fits").write_bytes(b"old")
    # The sky runs at the time scale too: 300 keeps the field up while the four processes start.
    assert main(["--output", str(tmp_path), "--size", "128", "--time-scale", "300"]) == 0
    out = capsys.readouterr().out
    assert "a new simulated night; the last run's journals, frames and logs" in out
    assert "'Duplicate': True" not in out and not (tmp_path / "data" / "2026-01-01").exists()
    # A clean run and a clean stop (the daemons before the device server) log no ERROR
    errors = [line for log in (tmp_path / "logs").glob("*.log") for line in log.read_text().splitlines()
              if " ERROR " in line]
    assert not errors, errors
    assert "Dome: Blink01: indicator blinked 1 time" in out
    assert "calibrated 1" in out
    # 128 px is 4' of sky: no index file solves it, and the demo says why rather than pretending
    assert "acquisition: off: the camera's field (4.3') is smaller than the installed index files" in out \
        or "acquisition: off: no astrometry.net" in out, out
    assert (tmp_path / "preview.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The alert drill: the mock alert through the folder, the galaxies, the scheduler, a frame, calibrated
    assert "alert received -> Target List accepted by the scheduler" in out
    assert re.search(r"MS\d{6}a-1 observed: 1 of 1 lights verified", out), out
    assert (tmp_path / "alert-chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(list((tmp_path / "alerts-inbox" / "accepted").glob("MS*.json"))) == 1
    # The documented light and the drill's first field (its other fields may be observed while the demo ends)
    products = sorted(p.name for p in (tmp_path / "data").glob("*/products/*_cal.fits"))
    assert "1_light_000_cal.fits" in products and any(p.startswith("MS") for p in products), products
    # One log file per process, each line once, UTC with its Z and the level.
    logs = sorted(p.name for p in (tmp_path / "logs").glob("*.log"))
    assert logs == ["toros-alerts.log", "toros-devices.log", "toros-dome.log", "toros-preprocessor.log",
                    "toros-scheduler.log", "toros-telescope.log", "toros-web.log"]
    lines = (tmp_path / "logs" / "toros-telescope.log").read_text().splitlines()
    stamp = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR) \S+: ")
    assert len(lines) == len(set(lines)) and all(stamp.match(line) for line in lines), lines[:5]
    assert any("exposure of 30 s started" in line for line in lines)


def test_the_demo_leaves_a_folder_it_did_not_write_alone(tmp_path, capsys):
    from torosdrivers.daemons.tools.demo import main

    (tmp_path / "thesis.tex").write_text("precious")
    assert main(["--output", str(tmp_path)]) == 2
    assert "holds files that no demo wrote" in capsys.readouterr().err
    assert (tmp_path / "thesis.tex").read_text() == "precious"
