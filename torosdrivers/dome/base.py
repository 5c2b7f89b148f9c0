"""The `Dome` interface (after ASCOM IDomeV3)."""

from __future__ import annotations

import abc
import enum

import astropy.units as u

from ..device import Device
from ..errors import ActionNotSupportedError, InvalidValueError, UnsupportedError
from ..quantities import QuantityLike, as_degrees

__all__ = ["Dome", "ShutterState"]


class ShutterState(enum.IntEnum):
    """ASCOM ``ShutterStatus`` values."""

    OPEN = 0
    CLOSED = 1
    OPENING = 2
    CLOSING = 3
    ERROR = 4


class Dome(Device):
    """A rotating dome with a shutter, and named device actions."""

    device_type = "dome"

    # -- rotation ------------------------------------------------------------------
    @property
    def azimuth(self) -> u.Quantity:
        """Azimuth of the slit, degrees east of north."""
        self._require_connected()
        return self._azimuth() * u.deg

    @property
    def slewing(self) -> bool:
        """Whether the dome rotates (or its shutter moves)."""
        self._require_connected()
        return self._slewing()

    def slew_to_azimuth(self, azimuth: QuantityLike, *, wait: bool = True, timeout: float | None = None) -> None:
        """Rotate the slit to an azimuth in [0, 360) degrees.

        Raises
        ------
        InvalidValueError
            Azimuth outside [0, 360).
        DeviceTimeoutError, OperationCancelledError
            The wait ran out, or `abort` was called.
        """
        az = as_degrees(azimuth, "azimuth", minimum=0.0)
        if az >= 360.0:
            raise InvalidValueError(f"azimuth={az:g} deg: expected 0 <= azimuth < 360 degrees")
        self._start_then_wait(
            lambda: self._slew_to_azimuth(az),
            done=lambda: not self._slewing(),
            what=f"dome rotation to {az:.1f} deg",
            wait=wait,
            timeout=timeout,
        )

    def abort(self) -> None:
        """Stop rotation and shutter at once; waits raise `OperationCancelledError`."""
        self._abort_with(self._abort)

    #: ASCOM ``CanFindHome``: whether `find_home` can work (else it raises `UnsupportedError`).
    can_find_home: bool = True

    def find_home(self, *, wait: bool = True, timeout: float | None = None) -> None:
        """Rotate to the home sensor."""
        self._start_then_wait(
            self._find_home,
            done=lambda: self._at_home() and not self._slewing(),
            what="dome homing",
            wait=wait,
            timeout=timeout,
        )

    @property
    def at_home(self) -> bool:
        """Whether the dome sits at its home sensor."""
        self._require_connected()
        return self._at_home()

    def park(self, *, wait: bool = True, timeout: float | None = None) -> None:
        """Rotate to the park azimuth."""
        self._start_then_wait(
            self._park,
            done=lambda: self._at_park() and not self._slewing(),
            what="dome park",
            wait=wait,
            timeout=timeout,
        )

    @property
    def at_park(self) -> bool:
        """Whether the dome sits at its park azimuth."""
        self._require_connected()
        return self._at_park()

    # -- slaving -------------------------------------------------------------------
    @property
    def can_slave(self) -> bool:
        """``CanSlave``: whether the dome can follow the telescope by itself."""
        self._require_connected()
        return bool(self._can_slave())

    @property
    def slaved(self) -> bool:
        """``Slaved``: whether the dome follows the telescope by itself now."""
        self._require_connected()
        return bool(self._slaved()) if self._can_slave() else False

    @slaved.setter
    def slaved(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise InvalidValueError(f"slaved={value!r}: expected True or False")
        with self._lock:
            self._require_connected()
            if not self._can_slave():
                if value:
                    raise UnsupportedError(f"{self.name} cannot follow the telescope by itself (CanSlave is False)")
                return
            self._set_slaved(value)

    # -- shutter -------------------------------------------------------------------
    @property
    def shutter(self) -> ShutterState:
        """State of the shutter."""
        self._require_connected()
        return ShutterState(self._shutter())

    def open_shutter(self, *, wait: bool = True, timeout: float | None = None) -> None:
        """Open the shutter."""
        self._move_shutter(True, wait, timeout)

    def close_shutter(self, *, wait: bool = True, timeout: float | None = None) -> None:
        """Close the shutter."""
        self._move_shutter(False, wait, timeout)

    def _move_shutter(self, opening: bool, wait: bool, timeout: float | None) -> None:
        goal = ShutterState.OPEN if opening else ShutterState.CLOSED
        self._start_then_wait(
            self._open_shutter if opening else self._close_shutter,
            done=lambda: self._shutter() == goal,
            what=f"shutter {'opening' if opening else 'closing'}",
            wait=wait,
            timeout=timeout,
            failed=lambda: "shutter reported the Error state" if self._shutter() == ShutterState.ERROR else None,
        )

    # -- actions -------------------------------------------------------------------
    @property
    def supported_actions(self) -> list[str]:
        """Names of the device-specific actions (``Blink01``, ...)."""
        self._require_connected()
        return list(self._supported_actions())

    def action(self, name: str, parameters: str = "") -> str:
        """Run a device-specific action and return its reply.

        Action names match case-insensitively, as ASCOM specifies.

        Raises
        ------
        ActionNotSupportedError
            ``name`` is not in `supported_actions`.
        """
        if not isinstance(parameters, str):
            raise InvalidValueError(f"parameters={parameters!r}: expected a string")
        with self._lock:
            actions = self.supported_actions
            match = next((a for a in actions if isinstance(name, str) and a.casefold() == name.casefold()), None)
            if match is None:
                raise ActionNotSupportedError(
                    f"{self.name}: action {name!r} is not supported; supported actions: {actions}"
                )
            return self._action(match, parameters)

    # -- hooks ---------------------------------------------------------------------
    @abc.abstractmethod
    def _azimuth(self) -> float: ...

    @abc.abstractmethod
    def _slewing(self) -> bool: ...

    @abc.abstractmethod
    def _slew_to_azimuth(self, azimuth: float) -> None: ...

    @abc.abstractmethod
    def _abort(self) -> None: ...

    @abc.abstractmethod
    def _find_home(self) -> None: ...

    @abc.abstractmethod
    def _at_home(self) -> bool: ...

    @abc.abstractmethod
    def _park(self) -> None: ...

    @abc.abstractmethod
    def _at_park(self) -> bool: ...

    @abc.abstractmethod
    def _shutter(self) -> int: ...

    @abc.abstractmethod
    def _open_shutter(self) -> None: ...

    @abc.abstractmethod
    def _close_shutter(self) -> None: ...

    def _can_slave(self) -> bool:
        return False

    def _slaved(self) -> bool:
        return False

    def _set_slaved(self, on: bool) -> None:
        raise UnsupportedError(f"{self.name} cannot slave")

    def _supported_actions(self) -> list[str]:
        return []

    def _action(self, name: str, parameters: str) -> str:
        raise ActionNotSupportedError(f"{self.name}: action {name!r} is not supported")
