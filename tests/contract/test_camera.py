"""The camera contract (torosdrivers.testing.camera) over every backend of tests/rigs.py."""

from torosdrivers.testing.camera import *  # noqa: F401,F403
