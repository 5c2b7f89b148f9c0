"""Shared test setup: offline astropy, hypothesis profile."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

import torosdrivers  # noqa: F401  (configures offline IERS before any test)

settings.register_profile(
    "default", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("ci", deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "default")
