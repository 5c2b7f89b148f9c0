"""INDI dome (``INDI::Dome``): the standard properties, each hook naming the one it uses.

``ABS_DOME_POSITION.DOME_ABSOLUTE_POSITION`` (degrees; Busy while the dome
turns), ``DOME_SHUTTER`` (SHUTTER_OPEN / SHUTTER_CLOSE; Busy while the
shutter moves, Alert when it failed), ``DOME_PARK`` (PARK / UNPARK; Busy
while parking), ``DOME_ABORT_MOTION.ABORT``.

Two differences from ASCOM are bridged here: an INDI dome refuses to move
while parked, where an ASCOM slew leaves the park, so a slew unparks first;
and the INDI dome interface defines no home sensor, so `find_home` is
refused as unsupported (``AtHome`` stays false), as an ASCOM dome with
``CanFindHome`` false does.
"""

from __future__ import annotations

import logging

from ..errors import DriverError, UnsupportedError
from ..indi import IndiDeviceMixin, IndiLink
from .base import Dome, ShutterState

__all__ = ["IndiDome"]

log = logging.getLogger(__name__)


class IndiDome(IndiDeviceMixin, Dome):
    """A dome driven by an INDI driver through indiserver.

    Parameters
    ----------
    address
        ``host:port`` of the indiserver.
    device
        The INDI device name (e.g. ``Dome Simulator``, ``NexDome``, ``ScopeDome Dome``).
    timeout
        Seconds for the server and each answer.
    """

    _REQUIRED = ("ABS_DOME_POSITION", "DOME_SHUTTER", "DOME_ABORT_MOTION")

    def __init__(self, address: str, device: str, *, timeout: float = 10.0, poll_interval: float = 0.1) -> None:
        super().__init__(f"INDI {device}", f"INDI dome {device!r} at {address}", timeout=max(timeout, 300.0),
                         poll_interval=poll_interval)
        self._link = IndiLink(address, device, timeout=timeout)
        # The shutter's last command, and how many DOME_SHUTTER updates the driver had sent by then: until it
        # answers, the vector's switches still show the previous direction (indipyclient marks it Busy only)
        self._shutter_goal: tuple[bool, int] | None = None

    def _azimuth(self) -> float:
        """``ABS_DOME_POSITION.DOME_ABSOLUTE_POSITION``."""
        return self._link.number("ABS_DOME_POSITION", "DOME_ABSOLUTE_POSITION") % 360.0

    def _failed(self, vector: str, what: str) -> None:
        if self._link.state(vector) == "Alert":
            raise DriverError(f"{self.name}: {what} failed ({vector} is Alert): "
                              f"{self._link.last_message() or 'no message'}")

    def _slewing(self) -> bool:
        """``ABS_DOME_POSITION``, ``DOME_SHUTTER`` or ``DOME_PARK`` Busy."""
        self._failed("ABS_DOME_POSITION", "the rotation")
        return any(self._link.has(v) and self._link.state(v) == "Busy"
                   for v in ("ABS_DOME_POSITION", "DOME_SHUTTER", "DOME_PARK"))

    def _leave_park(self) -> None:
        """``DOME_PARK.UNPARK`` when parked (INDI domes refuse motion while parked), the shutter kept closed.

        Some drivers open the shutter on unpark (the INDI simulator always does; others by their
        ``DOME_SHUTTER_PARK_POLICY``): an ASCOM slew never opens it, so a shutter that starts opening is
        sent SHUTTER_CLOSE at once.
        """
        link = self._link
        if not (link.has("DOME_PARK") and link.switch("DOME_PARK", "PARK")):
            return
        was_closed = self._shutter() == ShutterState.CLOSED
        link.set("DOME_PARK", {"PARK": "Off", "UNPARK": "On"}, busy_is_done=True)
        if was_closed and link.switch("DOME_SHUTTER", "SHUTTER_OPEN"):
            log.warning("%s: the driver opens the shutter on unpark; closing it again", self.name)
            link.set("DOME_SHUTTER", {"SHUTTER_OPEN": "Off", "SHUTTER_CLOSE": "On"}, busy_is_done=True)
        link.wait_until(lambda: link.state("DOME_PARK") != "Busy", link.timeout, "the unpark")
        self._failed("DOME_PARK", "the unpark")

    def _slew_to_azimuth(self, azimuth: float) -> None:
        """``ABS_DOME_POSITION.DOME_ABSOLUTE_POSITION = azimuth``; waits for the driver's Busy (or arrival)."""
        self._leave_park()
        link = self._link
        answered, busy = link.answers("ABS_DOME_POSITION")
        link.send("ABS_DOME_POSITION", {"DOME_ABSOLUTE_POSITION": azimuth})

        def started() -> bool:
            count, turned = link.answers("ABS_DOME_POSITION")
            return turned > busy or (count > answered and abs((self._azimuth() - azimuth + 180) % 360 - 180) < 0.5)

        link.wait_until(started, link.timeout, "the rotation's start (ABS_DOME_POSITION Busy)")
        self._failed("ABS_DOME_POSITION", "the rotation")  # refused (Alert): raised now, not at the first poll

    def _abort(self) -> None:
        """``DOME_ABORT_MOTION.ABORT``."""
        self._link.set("DOME_ABORT_MOTION", {"ABORT": "On"})
        self._shutter_goal = None

    can_find_home = False  # the INDI dome interface has no home sensor property

    def _find_home(self) -> None:
        raise UnsupportedError(f"{self.name}: the INDI dome interface has no home sensor to find (park instead)")

    def _at_home(self) -> bool:
        return False

    def _park(self) -> None:
        """``DOME_PARK.PARK`` (Busy while the dome turns to its park azimuth)."""
        if not self._link.has("DOME_PARK"):
            raise UnsupportedError(f"{self.name}: the driver cannot park (no DOME_PARK)")
        self._link.send("DOME_PARK", {"PARK": "On", "UNPARK": "Off"})

    def _at_park(self) -> bool:
        """``DOME_PARK.PARK`` On and the vector no longer Busy."""
        if not self._link.has("DOME_PARK"):
            return False
        self._failed("DOME_PARK", "the park")
        return self._link.switch("DOME_PARK", "PARK") and self._link.state("DOME_PARK") != "Busy"

    def _shutter(self) -> int:
        """``DOME_SHUTTER``: which switch is On, and the vector's state (Busy: moving; Alert: error)."""
        link = self._link
        state = link.state("DOME_SHUTTER")
        if state == "Alert":
            return ShutterState.ERROR
        opening = link.switch("DOME_SHUTTER", "SHUTTER_OPEN")
        if self._shutter_goal is not None:
            goal, answered = self._shutter_goal
            if link.answers("DOME_SHUTTER")[0] <= answered:
                opening, state = goal, "Busy"  # sent, not yet answered
        if state == "Busy":
            return ShutterState.OPENING if opening else ShutterState.CLOSING
        return ShutterState.OPEN if opening else ShutterState.CLOSED

    def _command_shutter(self, opening: bool) -> None:
        if opening:  # closing is accepted while parked, and must not unpark (a safety close of a parked dome)
            self._leave_park()
        self._shutter_goal = (opening, self._link.answers("DOME_SHUTTER")[0])
        self._link.send("DOME_SHUTTER", {"SHUTTER_OPEN": "On" if opening else "Off",
                                         "SHUTTER_CLOSE": "Off" if opening else "On"})

    def _open_shutter(self) -> None:
        """``DOME_SHUTTER.SHUTTER_OPEN``."""
        self._command_shutter(True)

    def _close_shutter(self) -> None:
        """``DOME_SHUTTER.SHUTTER_CLOSE``."""
        self._command_shutter(False)
