"""The filter wheel contract (torosdrivers.testing.filter_wheel) over every backend of tests/rigs.py."""

from torosdrivers.testing.filter_wheel import *  # noqa: F401,F403
