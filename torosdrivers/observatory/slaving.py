"""Dome slaving: keep the slit on the telescope while a sequence runs.

The mount tracks the sky, so its azimuth creeps (fast near the meridian at
high altitude); the dome is turned back onto it whenever the two differ by
more than ``Telescope: Dome Tolerance`` degrees, checked as often as the
safety supervisor looks. A dome that can follow the telescope by itself
(ASCOM ``CanSlave``) is put in ``Slaved`` mode for the sequence instead, and
the watch only measures how well it follows. It stops at once when the
safety supervisor interrupts the order, so it never turns a dome that is
being closed.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

from torosdrivers.errors import DriverError

__all__ = ["DomeSlave"]


class DomeSlave:
    """A background watch that re-centres the dome slit on the telescope.

    Parameters
    ----------
    dome, mount
        The devices.
    tolerance
        Degrees of azimuth the slit may be off before it is turned.
    period
        Real seconds between looks.
    stopped
        True when the watch must stop (an interrupted order).
    log
        Where each re-centring is noted.
    """

    def __init__(self, dome, mount, *, tolerance: float, period: float, stopped: Callable[[], bool],
                 log: logging.Logger) -> None:
        self.dome, self.mount = dome, mount
        self.tolerance, self.period = float(tolerance), float(period)
        self.stopped = stopped
        self.log = log
        self.turns = 0
        self.by_itself = False  # the dome slaves itself (ASCOM Slaved)
        #: The largest offset seen between slit and telescope, degrees (what the tolerance bounds).
        self.worst = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="toros-dome-slave", daemon=True)

    def __enter__(self) -> "DomeSlave":
        try:
            self.by_itself = self.dome.can_slave
            if self.by_itself:
                self.dome.slaved = True
        except DriverError as exc:
            self.log.warning("dome slaving: %s; turning the dome from here instead", exc)
            self.by_itself = False
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        if self.by_itself:
            try:
                self.dome.slaved = False
            except DriverError as exc:
                self.log.warning("dome slaving: cannot end Slaved mode: %s", exc)

    def offset(self) -> float:
        """Degrees between the slit and the telescope's azimuth, -180 to 180."""
        return (float(self.mount.altaz.az.deg) - float(self.dome.azimuth.value) + 180.0) % 360.0 - 180.0

    def _watch(self) -> None:
        while not self._stop.wait(self.period):
            if self.stopped():
                return
            try:
                if self.dome.slewing:
                    continue
                off = self.offset()
                self.worst = max(self.worst, abs(off))
                if abs(off) > self.tolerance and not self.by_itself:
                    target = round(float(self.mount.altaz.az.deg), 1) % 360.0
                    self.dome.slew_to_azimuth(target, wait=False)
                    self.turns += 1
                    self.log.debug("dome re-centred on the telescope: %.1f deg off, to %.1f", off, target)
            except DriverError as exc:  # the order's own steps will meet the fault and report it
                self.log.warning("dome slaving: %s", exc)
