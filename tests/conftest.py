"""Shared test setup: offline astropy, hypothesis profile, SIGTERM left as pytest had it."""

from __future__ import annotations

import os
import signal

import pytest
from hypothesis import HealthCheck, settings

import torosdrivers  # noqa: F401  (configures offline IERS before any test)

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
