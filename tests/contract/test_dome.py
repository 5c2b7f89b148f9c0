"""The dome contract (torosdrivers.testing.dome) over every backend of tests/rigs.py."""

from torosdrivers.testing.dome import *  # noqa: F401,F403
