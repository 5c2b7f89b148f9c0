"""Fixtures that run every contract test (torosdrivers.testing) once per backend in `tests.rigs.RIGS`."""

from __future__ import annotations

import pytest

from tests.rigs import FOCUSER_RIGS, RIGS


@pytest.fixture(params=sorted(RIGS))
def rig(request):
    with RIGS[request.param]() as rig:
        yield rig


@pytest.fixture(params=sorted(RIGS))
def slow_rig(request):
    """A rig slow enough (time scale 50) to catch a motion in progress."""
    with RIGS[request.param](time_scale=50.0) as rig:
        yield rig


@pytest.fixture
def camera(rig):
    return rig.camera


@pytest.fixture
def filter_wheel(rig):
    return rig.filter_wheel


@pytest.fixture
def mount(rig):
    return rig.mount


@pytest.fixture
def dome(rig):
    return rig.dome


@pytest.fixture
def slow_mount(slow_rig):
    return slow_rig.mount


@pytest.fixture
def slow_dome(slow_rig):
    return slow_rig.dome


@pytest.fixture
def slow_filter_wheel(slow_rig):
    return slow_rig.filter_wheel


@pytest.fixture
def pointing_tolerance(rig):
    return rig.pointing_tolerance


@pytest.fixture
def required_filters():
    return ("U", "B", "V", "R", "I", "Clear")  # the simulated wheel's, as TOROS's


@pytest.fixture(params=sorted(FOCUSER_RIGS))
def focuser(request):
    """A focuser alone on each backend (the whole rig would connect a mount, a dome and a wheel for nothing)."""
    with FOCUSER_RIGS[request.param]() as focuser:
        yield focuser


@pytest.fixture(params=sorted(FOCUSER_RIGS))
def slow_focuser(request):
    with FOCUSER_RIGS[request.param](time_scale=50.0) as focuser:
        yield focuser
