"""The `Focuser` interface (after ASCOM IFocuserV4).

Each member names the ASCOM one it mirrors, so a reader can check it
against the standard. Positions are whole steps; ``step_size`` and
``temperature`` are astropy quantities (micrometres, degrees Celsius). A
relative focuser (``Absolute`` False) is not covered: every focuser this
project drives reports its position.
"""

from __future__ import annotations

import abc

import astropy.units as u
import numpy as np

from ..device import Device
from ..errors import DeviceTimeoutError, DriverError, InvalidValueError, OperationCancelledError, UnsupportedError

__all__ = ["Focuser"]


class Focuser(Device):
    """A focuser that moves to absolute step positions ``0 .. max_step``."""

    device_type = "focuser"

    # -- what it is ---------------------------------------------------------------------
    @property
    def absolute(self) -> bool:
        """``Absolute``: whether positions are absolute (always, here)."""
        return True

    @property
    def max_step(self) -> int:
        """``MaxStep``: the highest position."""
        self._require_connected()
        return int(self._max_step())

    @property
    def max_increment(self) -> int:
        """``MaxIncrement``: the largest single move, in steps (``max_step`` on most focusers)."""
        self._require_connected()
        return int(self._max_increment())

    @property
    def step_size(self) -> u.Quantity:
        """``StepSize``: one step, in micrometres.

        Raises
        ------
        UnsupportedError
            The focuser does not know it (``PropertyNotImplemented``).
        """
        self._require_connected()
        size = self._step_size()
        if size is None:
            raise UnsupportedError(f"{self.name} does not know its step size")
        return float(size) * u.um

    # -- where it is ------------------------------------------------------------------------
    @property
    def position(self) -> int:
        """``Position``: the current position, in steps."""
        with self._lock:
            self._require_connected()
            return int(self._position())

    @property
    def moving(self) -> bool:
        """``IsMoving``: whether a move is under way."""
        with self._lock:
            self._require_connected()
            return bool(self._moving())

    @property
    def temperature(self) -> u.Quantity:
        """``Temperature``: the focuser's probe, degrees Celsius.

        Raises
        ------
        UnsupportedError
            The focuser has no probe.
        """
        with self._lock:
            self._require_connected()
            value = self._temperature()
        if value is None:
            raise UnsupportedError(f"{self.name} has no temperature probe")
        return float(value) * u.deg_C

    # -- temperature compensation ---------------------------------------------------------------
    @property
    def temp_comp_available(self) -> bool:
        """``TempCompAvailable``: whether the focuser compensates temperature on its own."""
        self._require_connected()
        return bool(self._temp_comp_available())

    @property
    def temp_comp(self) -> bool:
        """``TempComp``: whether temperature compensation is on (moves still work, as IFocuserV3 requires)."""
        self._require_connected()
        return bool(self._temp_comp_available() and self._temp_comp())

    @temp_comp.setter
    def temp_comp(self, on: bool) -> None:
        if not isinstance(on, (bool, np.bool_)):
            raise InvalidValueError(f"temp_comp={on!r}: expected True or False")
        with self._lock:
            self._require_connected()
            if not self._temp_comp_available():
                if on:
                    raise UnsupportedError(f"{self.name} has no temperature compensation")
                return  # turning off what is not there is no error (ASCOM: False may always be set)
            self._set_temp_comp(bool(on))

    # -- moving -------------------------------------------------------------------------------
    def move(self, position: int, *, wait: bool = True, timeout: float | None = None) -> None:
        """``Move(Position)``: go to an absolute position.

        Raises
        ------
        InvalidValueError
            Not a whole number from 0 to ``max_step``, or further than ``max_increment`` from here.
        DeviceTimeoutError
            Not there within ``timeout`` seconds (the move is halted).
        OperationCancelledError
            `halt` was called meanwhile.
        """
        top = self.max_step
        if isinstance(position, bool) or not isinstance(position, (int, np.integer)) or not 0 <= position <= top:
            raise InvalidValueError(f"position={position!r}: expected a whole number of steps from 0 to {top}")
        target = int(position)
        step = abs(target - self.position)
        if step > self.max_increment:
            raise InvalidValueError(f"position={target}: a move of {step} steps is over the focuser's "
                                    f"MaxIncrement of {self.max_increment}")
        try:
            self._start_then_wait(lambda: self._move(target), done=lambda: not self._moving(),
                                  what=f"focuser move to {target}", wait=wait, timeout=timeout)
        except DeviceTimeoutError:
            self.halt()  # not left running towards a position nobody waits for any more
            raise
        if wait and (at := self.position) != target:
            if self._cancel.is_set():  # the halt ended the motion before the wait saw the flag
                raise OperationCancelledError(f"{self.name}: focuser move to {target} was halted at {at}")
            raise DriverError(f"{self.name} stopped at {at}, not at {target}")

    def halt(self) -> None:
        """``Halt``: stop a move at once (a waiting `move` raises `OperationCancelledError`)."""
        self._abort_with(self._halt)

    # -- backend hooks ------------------------------------------------------------------------------
    @abc.abstractmethod
    def _max_step(self) -> int:
        """``MaxStep``."""

    def _max_increment(self) -> int:
        """``MaxIncrement`` (default: ``MaxStep``)."""
        return self._max_step()

    def _step_size(self) -> float | None:
        """Micrometres per step, or None when unknown."""
        return None

    @abc.abstractmethod
    def _position(self) -> int:
        """The current position."""

    @abc.abstractmethod
    def _moving(self) -> bool:
        """Whether it moves."""

    @abc.abstractmethod
    def _move(self, position: int) -> None:
        """Start the move to ``position``."""

    @abc.abstractmethod
    def _halt(self) -> None:
        """Stop now."""

    def _temperature(self) -> float | None:
        """Degrees Celsius, or None without a probe."""
        return None

    def _temp_comp_available(self) -> bool:
        return False

    def _temp_comp(self) -> bool:
        return False

    def _set_temp_comp(self, on: bool) -> None:
        raise UnsupportedError(f"{self.name} has no temperature compensation")
