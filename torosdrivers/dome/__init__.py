"""Domes: the `Dome` interface and its backends."""

from .base import Dome, ShutterState

__all__ = ["Dome", "ShutterState"]
