"""Focusers: the `Focuser` interface (after ASCOM IFocuserV4) and its backends (Moonlite serial, Alpaca)."""

from .base import Focuser

__all__ = ["Focuser"]
