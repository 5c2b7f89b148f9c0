"""Contract of `torosdrivers.ccd.FilterWheel`, run over every backend."""

from __future__ import annotations

import pytest

from torosdrivers.errors import InvalidValueError, NotConnectedError


def test_names_hold_the_standard_set(filter_wheel):
    names = filter_wheel.names
    for required in ("U", "B", "V", "R", "I", "Clear"):
        assert required in names
    assert len(set(names)) == len(names)


def test_select_every_filter(filter_wheel):
    for index, name in enumerate(filter_wheel.names):
        filter_wheel.select(name)
        assert filter_wheel.filter == name
        assert filter_wheel.position == index
        assert not filter_wheel.moving


def test_select_is_case_insensitive_when_unambiguous(filter_wheel):
    filter_wheel.select("clear")
    assert filter_wheel.filter == "Clear"


def test_select_without_wait_then_arrives(slow_rig):
    wheel = slow_rig.filter_wheel
    wheel.select("U")
    wheel.select("R", wait=False)
    assert wheel.moving and wheel.filter is None and wheel.position is None
    wheel.move_to(wheel.slot_of("R"), timeout=10)
    assert wheel.filter == "R"


@pytest.mark.parametrize("name", ["Halpha", "", "VV"])
def test_unknown_filter_names_the_value(filter_wheel, name):
    with pytest.raises(InvalidValueError, match=f"filter='{name}': expected one of"):
        filter_wheel.select(name)


@pytest.mark.parametrize("slot", [-1, 99, 1.5, True])
def test_bad_slot(filter_wheel, slot):
    with pytest.raises(InvalidValueError, match="slot="):
        filter_wheel.move_to(slot)


def test_not_connected(filter_wheel):
    filter_wheel.disconnect()
    with pytest.raises(NotConnectedError):
        filter_wheel.select("V")
    filter_wheel.connect()
