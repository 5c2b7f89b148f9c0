"""The mount contract (torosdrivers.testing.mount) over every backend of tests/rigs.py."""

from torosdrivers.testing.mount import *  # noqa: F401,F403
