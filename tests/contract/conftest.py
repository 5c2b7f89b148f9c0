"""Fixtures that run every contract test once per backend in `tests.rigs.RIGS`."""

from __future__ import annotations

import pytest

from tests.rigs import RIGS


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
