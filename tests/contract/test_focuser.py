"""The focuser contract (torosdrivers.testing.focuser) over every backend of tests/rigs.py."""

from torosdrivers.testing.focuser import *  # noqa: F401,F403
