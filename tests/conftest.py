"""Shared test setup: offline astropy, hypothesis profile, SIGTERM left as pytest had it."""

from __future__ import annotations

import os
import signal

import pytest
from hypothesis import HealthCheck, settings

import torosdrivers.coords  # noqa: F401  (configures offline IERS before any test)

settings.register_profile(
    "default", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("ci", deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.fixture(autouse=True)
def _sigterm_stays_pytests():
    """A console script's main() called in-process catches SIGTERM (lifecycle.catch_stop): give it back."""
    before = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, before)


#: The files that take longest (measured 2026-11-30), started first: ``make test`` hands whole files to its
#: workers in order, and a 66 s file handed out last ran alone at the end.
LONGEST_FIRST = ("contract/test_indi_mount.py", "contract/test_mount.py", "contract/test_camera.py",
                 "daemons/test_unattended_night.py", "daemons/test_resume.py",
                 "contract/test_indi_dome.py", "daemons/test_indi_observation.py", "daemons/test_safety.py",
                 "daemons/test_frame_checks.py", "daemons/test_crash_recovery.py", "daemons/test_scheduler.py",
                 "daemons/test_end_to_end.py", "daemons/test_pointing_and_focus.py", "serial/test_realtime.py",
                 "web/test_page.py")


def pytest_collection_modifyitems(config, items):
    def rank(item) -> int:
        path = item.nodeid.split("::")[0].removeprefix("tests/")
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: within a file, and among the rest, the order stays
