"""Simulated filter wheel: named slots and a travel time per slot."""

from __future__ import annotations

from torosdrivers.ccd.filterwheel import FilterWheel
from torosdrivers.errors import InvalidValueError

from .clock import SimClock, Timer

__all__ = ["SimulatedFilterWheel", "DEFAULT_FILTERS"]

DEFAULT_FILTERS = ("U", "B", "V", "R", "I", "Clear")


class SimulatedFilterWheel(FilterWheel):
    """A wheel that turns the short way round at ``slot_time`` device seconds per slot.

    Parameters
    ----------
    clock
        The observatory's clock.
    names
        Filter names, one per slot.
    slot_time
        Device seconds to move one slot.
    """

    def __init__(self, clock: SimClock, names: tuple[str, ...] = DEFAULT_FILTERS, *, slot_time: float = 1.0, **kwargs) -> None:
        kwargs.setdefault("poll_interval", clock.poll_interval)
        super().__init__("Simulated filter wheel", "TOROS simulated filter wheel", **kwargs)
        if len(names) < 1 or len(set(names)) != len(names):
            raise InvalidValueError(f"names={names!r}: expected distinct filter names")
        self._clock = clock
        self._filter_names = list(names)
        self._slot = 0
        self._target = 0
        self._move_timer: Timer | None = None
        self.slot_time = slot_time

    def _now(self):
        return self._clock.now()

    def _names(self) -> list[str]:
        return self._filter_names

    def _position(self) -> int:
        with self._lock:
            if self._move_timer is not None:
                if not self._move_timer.done:
                    return -1
                self._slot, self._move_timer = self._target, None
            return self._slot

    def _move(self, slot: int) -> None:
        current = self._position()
        if current < 0:
            current = self._target
        n = len(self._filter_names)
        steps = min((slot - current) % n, (current - slot) % n)
        self._target = slot
        self._move_timer = Timer(self._clock, steps * self.slot_time)

    def filter_in_beam(self) -> str | None:
        """The filter physically in the beam (None while moving), connected or not."""
        slot = self._position()
        return None if slot < 0 else self._filter_names[slot]
