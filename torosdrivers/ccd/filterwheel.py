"""The `FilterWheel` interface (after ASCOM IFilterWheelV3)."""

from __future__ import annotations

import abc

import numpy as np

from ..device import Device
from ..errors import InvalidValueError

__all__ = ["FilterWheel"]


class FilterWheel(Device):
    """A wheel of named filters.

    Slots are numbered from 0 as in ASCOM; users normally select by name.
    """

    device_type = "filterwheel"

    @property
    def names(self) -> list[str]:
        """Filter names, one per slot."""
        self._require_connected()
        return list(self._names())

    @property
    def position(self) -> int | None:
        """Current slot, or None while the wheel moves."""
        self._require_connected()
        slot = self._position()
        return None if slot < 0 else slot

    @property
    def moving(self) -> bool:
        """Whether the wheel is moving."""
        return self.position is None

    @property
    def filter(self) -> str | None:
        """Name of the filter in the beam, or None while the wheel moves."""
        slot = self.position
        return None if slot is None else self._names()[slot]

    def slot_of(self, name: str) -> int:
        """Slot number of a filter name.

        An exact match wins; otherwise a unique case-insensitive match.

        Raises
        ------
        InvalidValueError
            No filter of that name.
        """
        names = self.names
        if name in names:
            return names.index(name)
        folded = [i for i, n in enumerate(names) if isinstance(name, str) and n.casefold() == name.casefold()]
        if len(folded) == 1:
            return folded[0]
        raise InvalidValueError(f"filter={name!r}: expected one of {names}")

    def select(self, name: str, *, wait: bool = True, timeout: float | None = None) -> None:
        """Put the named filter in the beam.

        Raises
        ------
        InvalidValueError
            Unknown filter name.
        DeviceTimeoutError
            The wheel did not arrive within ``timeout`` seconds.
        """
        self.move_to(self.slot_of(name), wait=wait, timeout=timeout)

    def move_to(self, slot: int, *, wait: bool = True, timeout: float | None = None) -> None:
        """Move to a slot number (0-based)."""
        count = len(self.names)
        if isinstance(slot, bool) or not isinstance(slot, (int, np.integer)) or not 0 <= slot < count:
            raise InvalidValueError(f"slot={slot!r}: expected an integer from 0 to {count - 1}")
        self._start_then_wait(
            lambda: self._move(int(slot)),
            done=lambda: self._position() == slot,
            what=f"filter wheel move to slot {slot} ({self._names()[slot]})",
            wait=wait,
            timeout=timeout,
        )

    @abc.abstractmethod
    def _names(self) -> list[str]:
        """Filter names per slot."""

    @abc.abstractmethod
    def _position(self) -> int:
        """Current slot, -1 while moving (the ASCOM convention)."""

    @abc.abstractmethod
    def _move(self, slot: int) -> None:
        """Start the move to ``slot``."""
