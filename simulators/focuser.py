"""Simulated focuser: a stepper that moves at a set speed, a temperature probe, and compensation.

The probe reads the simulated weather's air temperature when the observatory
has a weather station (``temperature`` is then a callable), else a fixed
value. With compensation on, the focuser moves ``coefficient`` steps per
degree as the temperature changes, as a Moonlite or an Optec does.
"""

from __future__ import annotations

from typing import Callable

from torosdrivers.errors import DeviceBusyError
from torosdrivers.focuser import Focuser

from .clock import SimClock, Timer

__all__ = ["SimulatedFocuser"]


class SimulatedFocuser(Focuser):
    """A focuser at ``speed`` steps per device second over ``0 .. max_step``.

    Parameters
    ----------
    clock
        The observatory's clock.
    max_step
        Highest position (a Moonlite's 16 bits: 65535).
    position
        Where it starts.
    speed
        Steps per device second.
    step_size
        Micrometres per step.
    temperature
        The probe: a callable giving degrees Celsius, or a fixed value.
    coefficient
        Steps per degree Celsius that temperature compensation moves.
    """

    def __init__(self, clock: SimClock, *, max_step: int = 60000, position: int = 30000, speed: float = 1000.0,
                 step_size: float = 4.0, temperature: Callable[[], float] | float = 10.0,
                 coefficient: float = -20.0, **kwargs) -> None:
        kwargs.setdefault("poll_interval", clock.poll_interval)
        super().__init__("Simulated focuser", "TOROS simulated focuser", **kwargs)
        self._clock = clock
        self._top = int(max_step)
        self._at = float(position)
        self._from = self._at
        self._target = self._at
        self._timer: Timer | None = None
        self.speed = float(speed)
        self._size = float(step_size)
        self._probe = temperature if callable(temperature) else (lambda: float(temperature))
        self.coefficient = float(coefficient)
        self._comp = False
        self._comp_from: float | None = None
        #: What a sync has renamed: the optics see ``position + optical_offset`` (0 until a sync).
        self.optical_offset = 0.0

    def _now(self):
        return self._clock.now()

    def _update(self) -> None:
        if self._timer is not None:
            f = self._timer.fraction()
            self._at = self._from + f * (self._target - self._from)
            if self._timer.done:
                self._at, self._timer = self._target, None
        if self._comp and self._timer is None:  # follows the temperature between moves
            now = self._probe()
            if self._comp_from is not None:
                self._at = min(max(self._at + self.coefficient * (now - self._comp_from), 0.0), self._top)
            self._comp_from = now

    # -- hooks ----------------------------------------------------------------------------
    def _max_step(self) -> int:
        return self._top

    def _step_size(self) -> float:
        return self._size

    def _position(self) -> int:
        with self._lock:
            self._update()
            return int(round(self._at))

    def _moving(self) -> bool:
        with self._lock:
            self._update()
            return self._timer is not None

    def _move(self, position: int) -> None:
        with self._lock:
            self._update()
            if self._timer is not None and self._target != position:
                raise DeviceBusyError(f"{self.name} is moving to {int(self._target)}: halt it first")
            self._from, self._target = self._at, float(position)
            self._timer = Timer(self._clock, abs(self._target - self._from) / self.speed)

    def _halt(self) -> None:
        with self._lock:
            self._update()
            if self._timer is not None:
                self._timer.stop()
                self._target, self._timer = float(round(self._at)), None
                self._at = self._target

    def _temperature(self) -> float:
        return float(self._probe())

    def _temp_comp_available(self) -> bool:
        return True

    def _temp_comp(self) -> bool:
        return self._comp

    def _set_temp_comp(self, on: bool) -> None:
        with self._lock:
            self._update()
            self._comp, self._comp_from = on, (self._probe() if on else None)

    def sync(self, position: int) -> None:
        """Call the current position ``position`` (a Moonlite's ``:SP#``; the optics do not move)."""
        with self._lock:
            self._update()
            offset = float(position) - self._at
            self._at, self._target, self._from = self._at + offset, self._target + offset, self._from + offset
            self.optical_offset -= offset

    def true_position(self) -> float:
        """Where the focuser really is (steps, in the scale it started with), connected or not: what the
        optics see."""
        with self._lock:
            self._update()
            return self._at + self.optical_offset
