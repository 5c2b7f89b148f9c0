"""Contract of `torosdrivers.dome.Dome`, run over every backend."""

from __future__ import annotations

import threading

import astropy.units as u
import pytest

from torosdrivers.testing import wait_for
from torosdrivers.dome import ShutterState
from torosdrivers.errors import (
    ActionNotSupportedError,
    InvalidValueError,
    NotConnectedError,
    OperationCancelledError,
    UnsupportedError,
)


def test_rotate_to_azimuth(dome, motion_timeout):
    dome.slew_to_azimuth(123.0, timeout=motion_timeout)
    assert not dome.slewing
    assert dome.azimuth.to_value(u.deg) == pytest.approx(123.0, abs=0.5)
    dome.slew_to_azimuth(2 * u.deg, timeout=motion_timeout)
    assert dome.azimuth.to_value(u.deg) == pytest.approx(2.0, abs=0.5)


@pytest.mark.parametrize("azimuth, match", [(400.0, "azimuth=400"), (-1.0, "azimuth=-1"), (360.0, "azimuth=360"), ("north", "azimuth='north'")])
def test_bad_azimuth_names_the_value(dome, azimuth, match):
    with pytest.raises(InvalidValueError, match=match):
        dome.slew_to_azimuth(azimuth)


def test_shutter_cycle(dome, motion_timeout):
    dome.open_shutter(timeout=motion_timeout)
    assert dome.shutter == ShutterState.OPEN
    dome.close_shutter(timeout=motion_timeout)
    assert dome.shutter == ShutterState.CLOSED


def test_shutter_reports_motion(slow_dome):
    dome = slow_dome
    dome.open_shutter(wait=False)
    assert dome.shutter == ShutterState.OPENING
    assert dome.slewing
    wait_for(lambda: dome.shutter == ShutterState.OPEN, timeout=10)


def test_park_and_home(dome, motion_timeout):
    if dome.can_find_home:
        dome.find_home(timeout=motion_timeout)
        assert dome.at_home
        assert not dome.at_park
    else:  # refused by name, as ASCOM's CanFindHome=False promises
        with pytest.raises(UnsupportedError):
            dome.find_home(timeout=motion_timeout)
    dome.park(timeout=motion_timeout)
    assert dome.at_park
    dome.slew_to_azimuth((dome.azimuth.value + 90.0) % 360.0, timeout=motion_timeout)
    assert not dome.at_park


def test_abort_stops_rotation(slow_dome, motion_timeout):
    dome = slow_dome
    dome.slew_to_azimuth(0.0, timeout=motion_timeout)

    def abort_once_turning() -> None:  # a real dome takes a moment to start: abort once it is seen turning
        wait_for(lambda: 1.0 < dome.azimuth.value < 178.0, timeout=motion_timeout)
        dome.abort()

    threading.Thread(target=abort_once_turning, daemon=True).start()
    with pytest.raises(OperationCancelledError, match="dome rotation"):
        dome.slew_to_azimuth(179.0, timeout=motion_timeout)
    assert not dome.slewing
    assert 0.5 < dome.azimuth.value < 178.5


def test_listed_actions_run(dome):
    actions = dome.supported_actions
    assert all(isinstance(a, str) for a in actions)
    if "Blink01" in actions:
        reply = dome.action("Blink01")
        assert isinstance(reply, str) and reply
        assert dome.action("blink01", "2")  # names match case-insensitively


@pytest.mark.parametrize("name", ["Blink99", "", "OpenSesame"])
def test_unknown_action_names_the_action(dome, name):
    with pytest.raises(ActionNotSupportedError, match=f"action '{name}' is not supported"):
        dome.action(name)


def test_not_connected(dome):
    dome.disconnect()
    with pytest.raises(NotConnectedError):
        dome.open_shutter()
    dome.connect()
