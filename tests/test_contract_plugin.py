"""A third party's backend, written outside the project, tested by the installed contract plugin (issue 28).

The backend and its tests are written to a folder of their own and run by
``pytest`` in a process of its own, as a driver author would run them: the
plugin comes in through its entry point, nothing from this repository's
tests is on the path.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap


WHEEL = '''
"""A five-slot wheel on some vendor's USB box, as a third party writes it."""
import time

from torosdrivers.ccd import FilterWheel
from torosdrivers.errors import InvalidValueError


class VendorWheel(FilterWheel):
    def __init__(self, names=("L", "Red", "Green", "Blue", "Ha"), honest=True):
        super().__init__("Vendor wheel", timeout=1.0, poll_interval=0.01)
        self._slots, self._slot, self._until, self._target, self._honest = list(names), 0, 0.0, 0, honest

    def _names(self):
        return list(self._slots)

    def _position(self):
        if time.monotonic() < self._until:
            return -1
        self._slot = self._target
        return self._slot

    def _move(self, slot):
        if not self._honest and slot == 4:
            return  # a firmware that ignores the last slot: the contract must catch it
        self._target, self._until = slot, time.monotonic() + 0.05
'''

TESTS = '''
import pytest
from torosdrivers.testing.filter_wheel import *  # noqa: F401,F403  every FilterWheel contract test

from vendor_wheel import VendorWheel


@pytest.fixture(params=[{HONEST}])
def filter_wheel(request):
    with VendorWheel(honest=request.param) as wheel:
        yield wheel
'''


def test_a_third_party_wheel_is_tested_by_the_plugin_and_a_wrong_one_fails_it(tmp_path):
    """One pytest process of its own: an honest wheel passes every contract test, one that ignores a slot fails."""
    (tmp_path / "vendor_wheel.py").write_text(textwrap.dedent(WHEEL))
    (tmp_path / "test_vendor_wheel.py").write_text(TESTS.replace("{HONEST}", "True, False"))
    run = subprocess.run([sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider", "-p", "no:xdist",
                          "--rootdir", str(tmp_path), str(tmp_path)], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
    outcomes = [line.split()[:2] for line in run.stdout.splitlines() if line.startswith(("PASSED ", "FAILED "))]
    honest = [verdict for verdict, test in outcomes if "[True" in test]
    wrong = {test.split("::")[1] for verdict, test in outcomes if "[False" in test and verdict == "FAILED"}
    assert len(honest) >= 10 and set(honest) == {"PASSED"}, run.stdout[-3000:]  # every contract test of the kind
    assert "test_select_every_filter[False]" in wrong, run.stdout[-3000:]
    assert run.returncode == 1
