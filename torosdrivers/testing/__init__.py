"""The contract suite: what every backend of a device kind must do, as a pytest plugin for any backend.

Every backend this project ships (simulated, Alpaca, serial) is tested by
these modules; a third party's backend is tested by the same ones. Install
torosdrivers (the plugin loads itself through its ``pytest11`` entry point),
then, in a test module of your own, import a device kind's contract and
give a fixture of that kind's name that yields your device, connected::

    # test_my_wheel.py
    import pytest
    from torosdrivers.testing.filter_wheel import *  # noqa: F401,F403  every FilterWheel contract test

    from my_observatory import MyWheel  # a torosdrivers.ccd.FilterWheel

    @pytest.fixture
    def filter_wheel():
        with MyWheel("/dev/ttyUSB0") as wheel:  # connected on entry, disconnected on exit
            yield wheel

Run ``pytest``: every contract test of the kind runs against ``MyWheel``.

The contracts: ``camera`` (fixture ``camera``: frames, header, binning,
subframes, aborts, timeouts, cooling, refusals that name the value),
``filter_wheel`` (``filter_wheel``: names, selection, motion, refusals),
``mount`` (``mount``: slews, limits, aborts, park, tracking, sync, units),
``dome`` (``dome``: azimuth, shutter, park and home, aborts, actions) and
``focuser`` (``focuser``: travel, moves, halts, timeouts, temperature,
compensation, refusals).

Optional fixtures (the plugin's defaults in brackets): ``pointing_tolerance``
(1.0 arcsec, the protocol's precision), ``required_filters`` (none),
``slow_mount``, ``slow_dome``, ``slow_filter_wheel``, ``slow_focuser`` (the plain fixture: a
device slow enough that a motion can be seen under way; hardware is).
"""

from __future__ import annotations

import time
from typing import Callable


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.002) -> None:
    """Poll ``predicate`` until true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)
