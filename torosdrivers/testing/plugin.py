"""The pytest plugin (entry point ``pytest11``): defaults for the contract suite's optional fixtures.

A test module that imports a contract (`torosdrivers.testing`) supplies the
device fixture; these defaults fit a real device and any fixture of the
same name in a ``conftest.py`` or the module itself overrides them.
"""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("torosdrivers.testing.camera", "torosdrivers.testing.dome",
                               "torosdrivers.testing.filter_wheel", "torosdrivers.testing.focuser",
                               "torosdrivers.testing.mount")


@pytest.fixture
def pointing_tolerance() -> float:
    """How close, in arcseconds, a reported position must come to a target (the protocol's precision)."""
    return 1.0


@pytest.fixture
def motion_timeout() -> float:
    """Seconds a slew, a park or a shutter's travel may take: a real mount's or dome's longest move."""
    return 180.0


@pytest.fixture
def required_filters() -> tuple[str, ...]:
    """Filter names the wheel must hold."""
    return ()


@pytest.fixture
def slow_mount(mount):
    """A mount slow enough that a slew can be aborted under way: the mount itself, for hardware."""
    return mount


@pytest.fixture
def slow_dome(dome):
    """A dome slow enough that its shutter is seen moving: the dome itself, for hardware."""
    return dome


@pytest.fixture
def slow_filter_wheel(filter_wheel):
    """A wheel slow enough that it is seen moving: the wheel itself, for hardware."""
    return filter_wheel


@pytest.fixture
def slow_focuser(focuser):
    """A focuser slow enough that a move is seen under way: the focuser itself, for hardware."""
    return focuser
