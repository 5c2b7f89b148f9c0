"""The ``toros`` client against running daemons, and a device fault mid-observation."""

from __future__ import annotations

import yaml

from tests.daemons.conftest import DOC_DOME, DOC_OBSERVATION, client_config, wait_state
from torosdrivers.daemons.tools.client import main as toros
from torosdrivers.dome import ShutterState


def test_client_submits_follows_lists_and_cancels(stack, tmp_path, capsys):
    config = client_config(stack, tmp_path)
    order = tmp_path / "dome.yaml"
    order.write_text(yaml.safe_dump(DOC_DOME))
    assert toros(["--config", config, "submit", str(order), "--follow"]) == 0
    out = capsys.readouterr().out
    assert "dome: accepted 1 (Dome, priority 2)" in out and "1: done | result: Blink01: indicator blinked 1 time" in out
    assert toros(["--config", config, "submit", "--set", "ID=2", "--set", "WOType=Dome", "--set", "Azimuth=45",
                  "--follow"]) == 0
    assert toros(["--config", config, "list", "--service", "dome"]) == 0
    listing = capsys.readouterr().out
    assert "2 " in listing and "done" in listing
    assert toros(["--config", config, "status", "1", "--service", "dome"]) == 0
    assert toros(["--config", config, "cancel", "nope", "--service", "dome"]) == 1
    assert "no such work order" in capsys.readouterr().err
    assert toros(["--config", config, "submit", "--set", "ID=3", "--set", "WOType=Dome", "--set", "Blink09=true"]) == 1
    assert "did you mean 'Blink01'" in capsys.readouterr().err


def test_a_device_fault_fails_the_order_and_closes_the_dome(stack):
    dome_proxy, telescope = stack.proxy(stack.dome), stack.proxy(stack.telescope)
    dome_proxy.front_desk({"ID": "open", "WOType": "Dome", "Shutter": "Open"})
    wait_state(dome_proxy, "open")
    assert stack.telescope.devices.dome.shutter == ShutterState.OPEN
    # Valid as an order, but below the horizon when it runs: the mount refuses it.
    low = {**DOC_OBSERVATION, "ID": "low", "Dec": -89.0, "RA": 0.0, "Calibration Frames": "No"}
    stack.telescope.devices.mount.min_altitude = 30.0
    telescope.front_desk(low)
    status = wait_state(telescope, "low")
    assert status["State"] == "failed" and "below the minimum altitude" in status["Error"]
    assert stack.telescope.devices.dome.shutter == ShutterState.CLOSED  # left safe
    telescope.front_desk({**DOC_OBSERVATION, "ID": "after", "Calibration Frames": "No"})
    assert wait_state(telescope, "after")["State"] == "done"  # and the daemon serves on


def test_the_order_check_never_asks_a_device_and_a_dropped_device_comes_back(stack, caplog):
    """A wheel that drops: orders are still checked at once (filters read at connect); the ping before
    the order finds the link gone, the order waits in the queue, the daemon reconnects (logged) and runs it."""
    import logging
    import time

    caplog.set_level(logging.INFO, "toros")
    stack.telescope.devices.filter_wheel.disconnect()  # the link drops under the daemon
    telescope = stack.proxy(stack.telescope)
    t0 = time.monotonic()
    telescope.front_desk({**DOC_OBSERVATION, "ID": "during", "Calibration Frames": "No", "Exposure Time": 1.0})
    assert time.monotonic() - t0 < 1.0
    assert wait_state(telescope, "during")["State"] == "done"
    assert "during back in the queue until the devices are back" in caplog.text
    assert "reconnecting the devices" in caplog.text
    assert telescope.health()["Devices"] == "connected"
