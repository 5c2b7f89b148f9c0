"""INDI focuser (``INDI::Focuser``): the standard properties, each hook naming the one it uses.

``ABS_FOCUS_POSITION.FOCUS_ABSOLUTE_POSITION`` (its ``max`` is the travel),
``FOCUS_MAX.FOCUS_MAX_VALUE`` where the driver has it,
``FOCUS_ABORT_MOTION.ABORT``, ``FOCUS_TEMPERATURE.TEMPERATURE``. A move is
Busy on ``ABS_FOCUS_POSITION`` until the driver sets it Ok (or Alert: the
move failed, with the driver's message).
"""

from __future__ import annotations

from ..errors import DriverError
from ..indi import IndiDeviceMixin, IndiLink
from .base import Focuser

__all__ = ["IndiFocuser"]


class IndiFocuser(IndiDeviceMixin, Focuser):
    """A focuser driven by an INDI driver through indiserver.

    Parameters
    ----------
    address
        ``host:port`` of the indiserver.
    device
        The INDI device name (e.g. ``Focuser Simulator``, ``MoonLite``).
    timeout
        Seconds for the server and each answer.
    """

    _REQUIRED = ("ABS_FOCUS_POSITION",)

    def __init__(self, address: str, device: str, *, timeout: float = 10.0, poll_interval: float = 0.1) -> None:
        super().__init__(f"INDI {device}", f"INDI focuser {device!r} at {address}", timeout=max(timeout, 300.0),
                         poll_interval=poll_interval)
        self._link = IndiLink(address, device, timeout=timeout)

    def _max_step(self) -> int:
        """``FOCUS_MAX.FOCUS_MAX_VALUE``, else ``ABS_FOCUS_POSITION``'s max."""
        if self._link.has("FOCUS_MAX"):
            return int(self._link.number("FOCUS_MAX", "FOCUS_MAX_VALUE"))
        return int(self._link.number_range("ABS_FOCUS_POSITION", "FOCUS_ABSOLUTE_POSITION")[1])

    def _position(self) -> int:
        """``ABS_FOCUS_POSITION.FOCUS_ABSOLUTE_POSITION``."""
        return int(round(self._link.number("ABS_FOCUS_POSITION", "FOCUS_ABSOLUTE_POSITION")))

    def _moving(self) -> bool:
        """``ABS_FOCUS_POSITION`` Busy (Alert: the move failed)."""
        state = self._link.state("ABS_FOCUS_POSITION")
        if state == "Alert":
            raise DriverError(f"{self.name}: the move failed (ABS_FOCUS_POSITION is Alert)")
        return state == "Busy"

    def _move(self, position: int) -> None:
        """``ABS_FOCUS_POSITION.FOCUS_ABSOLUTE_POSITION = position``."""
        self._link.send("ABS_FOCUS_POSITION", {"FOCUS_ABSOLUTE_POSITION": position})

    def _halt(self) -> None:
        """``FOCUS_ABORT_MOTION.ABORT``."""
        if self._link.has("FOCUS_ABORT_MOTION"):
            self._link.set("FOCUS_ABORT_MOTION", {"ABORT": "On"})

    def _temperature(self) -> float | None:
        """``FOCUS_TEMPERATURE.TEMPERATURE`` (None where the driver has no probe)."""
        if not self._link.has("FOCUS_TEMPERATURE"):
            return None
        return self._link.number("FOCUS_TEMPERATURE", "TEMPERATURE")
