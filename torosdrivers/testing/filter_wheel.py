"""Contract of `torosdrivers.ccd.FilterWheel`, run over every backend."""

from __future__ import annotations

import pytest

from torosdrivers.errors import InvalidValueError, NotConnectedError


def test_names_hold_the_required_filters_once_each(filter_wheel, required_filters):
    names = filter_wheel.names
    for required in required_filters:
        assert required in names
    assert names and len(set(names)) == len(names)


def test_select_every_filter(filter_wheel):
    for index, name in enumerate(filter_wheel.names):
        filter_wheel.select(name)
        assert filter_wheel.filter == name
        assert filter_wheel.position == index
        assert not filter_wheel.moving


def test_select_is_case_insensitive_when_unambiguous(filter_wheel):
    folded = [n.casefold() for n in filter_wheel.names]
    name = next((n for n in filter_wheel.names if folded.count(n.casefold()) == 1 and n != n.swapcase()), None)
    if name is None:
        pytest.skip("no filter name that differs in case only from itself")
    filter_wheel.select(name.swapcase())
    assert filter_wheel.filter == name


def test_select_without_wait_then_arrives(slow_filter_wheel):
    wheel = slow_filter_wheel
    first, far = wheel.names[0], wheel.names[len(wheel.names) // 2]  # a move of several slots
    wheel.select(first)
    wheel.select(far, wait=False)
    assert wheel.moving and wheel.filter is None and wheel.position is None
    wheel.move_to(wheel.slot_of(far), timeout=10)
    assert wheel.filter == far


@pytest.mark.parametrize("name", ["Not-A-Filter", "", "~~"])
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
