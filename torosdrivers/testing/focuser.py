"""Contract of `torosdrivers.focuser.Focuser`, run over every backend (fixture ``focuser``, connected)."""

from __future__ import annotations

import threading

import astropy.units as u
import pytest

from torosdrivers.errors import (
    DeviceTimeoutError,
    InvalidValueError,
    NotConnectedError,
    OperationCancelledError,
    UnsupportedError,
)
from torosdrivers.testing import wait_for


def _far(focuser) -> int:
    """A position a good way from here, inside the travel."""
    here, top = focuser.position, focuser.max_step
    step = min(focuser.max_increment, top // 4)
    return here - step if here - step >= 0 else here + step


def test_reports_its_travel_and_where_it_is(focuser):
    assert focuser.absolute is True
    assert focuser.max_step > 0 and 0 < focuser.max_increment <= focuser.max_step
    assert 0 <= focuser.position <= focuser.max_step
    assert focuser.moving is False


def test_moves_to_a_position_and_stops_there(focuser):
    target = _far(focuser)
    focuser.move(target, timeout=30)
    assert focuser.position == target and not focuser.moving
    focuser.move(target, timeout=30)  # a move to where it is: done at once
    assert focuser.position == target


def test_move_without_wait_then_arrives(slow_focuser):
    target = _far(slow_focuser)
    slow_focuser.move(target, wait=False)
    assert slow_focuser.moving
    wait_for(lambda: not slow_focuser.moving, timeout=30)
    assert slow_focuser.position == target


def test_halt_stops_a_move_short_of_its_target(slow_focuser):
    start, target = slow_focuser.position, _far(slow_focuser)
    slow_focuser.move(target, wait=False)
    slow_focuser.halt()
    wait_for(lambda: not slow_focuser.moving, timeout=10)
    assert slow_focuser.position != target and min(start, target) <= slow_focuser.position <= max(start, target)


def test_halt_from_another_thread_cancels_a_waiting_move(slow_focuser):
    def halt_once_under_way():  # (a halt before the move starts would halt nothing: that is not under test)
        wait_for(lambda: slow_focuser.moving, timeout=10)
        slow_focuser.halt()

    halter = threading.Thread(target=halt_once_under_way, daemon=True)
    halter.start()
    with pytest.raises(OperationCancelledError, match="focuser move"):
        slow_focuser.move(_far(slow_focuser), timeout=30)
    halter.join(timeout=10)
    assert not slow_focuser.moving


def test_a_move_past_its_time_is_halted_and_named(slow_focuser):
    target = _far(slow_focuser)
    with pytest.raises(DeviceTimeoutError, match=f"focuser move to {target}"):
        slow_focuser.move(target, timeout=0.01)
    assert not slow_focuser.moving  # halted, not left running


@pytest.mark.parametrize("position", [-1, "max+1", 1.5, "100", True, None])
def test_bad_positions_name_the_value(focuser, position):
    if position == "max+1":
        position = focuser.max_step + 1
    with pytest.raises(InvalidValueError, match="position="):
        focuser.move(position)


def test_temperature_is_celsius_or_unsupported(focuser):
    try:
        celsius = focuser.temperature
    except UnsupportedError:
        return
    assert celsius.unit == u.deg_C and -60 < celsius.value < 70


def test_step_size_is_micrometres_or_unsupported(focuser):
    try:
        size = focuser.step_size
    except UnsupportedError:
        return
    assert size.unit == u.um and size.value > 0


def test_temperature_compensation_moves_still_work(focuser):
    if not focuser.temp_comp_available:
        with pytest.raises(UnsupportedError):
            focuser.temp_comp = True
        focuser.temp_comp = False  # turning off what is not there is no error
        return
    focuser.temp_comp = True
    try:
        assert focuser.temp_comp is True
        target = _far(focuser)
        focuser.move(target, timeout=30)  # IFocuserV3: a move works with compensation on
        assert abs(focuser.position - target) <= 50  # (compensation may have moved it since)
    finally:
        focuser.temp_comp = False
    assert focuser.temp_comp is False
    with pytest.raises(InvalidValueError, match="temp_comp="):
        focuser.temp_comp = "yes"


def test_not_connected_is_refused(focuser):
    focuser.disconnect()
    with pytest.raises(NotConnectedError):
        focuser.move(10)
    with pytest.raises(NotConnectedError):
        _ = focuser.position
    focuser.connect()
    assert 0 <= focuser.position <= focuser.max_step
