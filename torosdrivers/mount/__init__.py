"""Telescope mounts: the `Mount` interface and its backends."""

from .base import Mount

__all__ = ["Mount"]
