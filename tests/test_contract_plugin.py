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

import pytest

WHEEL = '''
"""A five-slot wheel on some vendor's USB box, as a third party writes it."""
import time

from torosdrivers.ccd import FilterWheel
from torosdrivers.errors import InvalidValueError


class VendorWheel(FilterWheel):
    def __init__(self, names=("L", "Red", "Green", "Blue", "Ha"), honest=True):
        super().__init__("Vendor wheel", timeout=5.0, poll_interval=0.01)
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


def _run(tmp_path, honest: bool) -> subprocess.CompletedProcess:
    (tmp_path / "vendor_wheel.py").write_text(textwrap.dedent(WHEEL))
    (tmp_path / "test_vendor_wheel.py").write_text(TESTS.replace("{HONEST}", str(honest)))
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                           "--rootdir", str(tmp_path), str(tmp_path)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)


def test_a_third_party_wheel_passes_every_contract_test_through_the_plugin(tmp_path):
    run = _run(tmp_path, honest=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    summary = run.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary, summary
    assert int(summary.split(" passed")[0].split()[-1]) >= 10  # every contract test of the kind ran


@pytest.mark.parametrize("honest", [False])
def test_a_wheel_that_ignores_a_slot_fails_the_contract(tmp_path, honest):
    run = _run(tmp_path, honest)
    assert run.returncode == 1, run.stdout[-3000:]
    assert "test_select_every_filter" in run.stdout and "failed" in run.stdout.splitlines()[-1]
