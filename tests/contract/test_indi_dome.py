"""The dome contract over INDI: our backend against the INDI project's own indi_simulator_dome under a real
indiserver (ABS_DOME_POSITION, DOME_SHUTTER, DOME_PARK, DOME_ABORT_MOTION)."""

from __future__ import annotations

import pytest

from tests.indi_server import module_server
from torosdrivers.dome import ShutterState
from torosdrivers.dome.indi import IndiDome
from torosdrivers.errors import UnsupportedError
from torosdrivers.testing.dome import *  # noqa: F401,F403


indiserver = module_server("indi_simulator_dome")


@pytest.fixture
def dome(indiserver):
    with IndiDome(indiserver.address, "Dome Simulator", poll_interval=0.05) as device:
        device._link.set("POLLING_PERIOD", {"PERIOD_MS": 100})  # its motion is seen ten times a second
        yield device


@pytest.fixture
def slow_dome(dome):
    return dome  # the simulator turns and opens at its own pace


def test_park_and_home(dome):  # noqa: F811
    """The INDI dome interface has no home sensor: find_home is refused as unsupported; park works, and a slew
    leaves the park (as in ASCOM) without opening the shutter, although the simulator opens it on unpark."""
    with pytest.raises(UnsupportedError, match="no home sensor"):
        dome.find_home()
    assert not dome.at_home
    if dome.shutter != ShutterState.CLOSED:
        dome.close_shutter(timeout=30)
    dome.park(timeout=60)
    assert dome.at_park
    dome.close_shutter(timeout=60)  # a safety close of a parked dome leaves it parked
    assert dome.at_park
    dome.slew_to_azimuth((dome.azimuth.value + 30.0) % 360.0, timeout=60)
    assert not dome.at_park
    assert dome.shutter == ShutterState.CLOSED
