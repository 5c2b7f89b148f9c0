"""The Digital DomeWorks protocol spoken by a simulated dome.

One command at a time, as on the controller: while a command runs, its
progress streams out (``L``/``R``, ``P<ticks>\\r``, ``O``/``C``, ``S``) and a
GINF packet ends it; two characters received meanwhile abort it. ``GOPN``
first takes the dome home, as the DDW does. An idle controller ignores
anything that is not a command and finds the next one in what follows.
"""

from __future__ import annotations

import re
import time

from torosdrivers.dome.base import ShutterState
from torosdrivers.serialio import ddw

from ..dome import SimulatedDome
from .transport import Responder

__all__ = ["DDWResponder"]

_COMMAND = re.compile(rb"GINF|GOPN|GCLS|GHOM|G[0-9]{3}")
_SHUTTER_CODE = {ShutterState.CLOSED: 1, ShutterState.OPEN: 2}


class DDWResponder(Responder):
    """A DDW controller in front of a `SimulatedDome`.

    Parameters
    ----------
    dome
        The dome it drives (connected here: the hardware is on).
    dticks
        Encoder ticks per turn of the dome.
    report_interval
        Real seconds between streamed position reports.
    """

    protocol = "DDW"
    terminator = b"\r"

    def __init__(self, dome: SimulatedDome, *, dticks: int = 720, report_interval: float = 0.05) -> None:
        super().__init__()
        self.dome = dome
        dome.connect()
        self.dticks = dticks
        self.report_interval = report_interval
        self._busy: str | None = None  # "rotate", "home", "open-home", "open", "close"
        self._last_report = 0.0

    def ginf(self) -> ddw.Ginf:
        shutter, azimuth = self.dome.slit()
        ticks = round(azimuth / 360.0 * self.dticks) % self.dticks
        home = 0 if self.dome.at_home else 1
        return ddw.Ginf(1, self.dticks, round(self.dome.home_azimuth / 360.0 * self.dticks), 2, ticks, 0,
                        _SHUTTER_CODE.get(shutter, 0), 0, home, 0, 0, 0, 0, 0, 0, 10, 50, 0, 0, 0, 0, 1, 0)

    def _direction(self, target: float) -> bytes:
        delta = (target - self.dome.azimuth.value + 180.0) % 360.0 - 180.0
        return b"R" if delta >= 0 else b"L"

    def receive(self, data: bytes) -> bytes:
        self._buffer += data
        out = bytearray()
        while self._buffer:
            if self._busy is not None:
                if len(self._buffer) < 2:
                    break
                del self._buffer[:2]  # any two characters abort a running command
                self.dome.abort()
                self._busy = None
                out += self.ginf().encode()
                continue
            # Idle: as the controller does, skip to the next G and take four
            # characters only if they are a command, so noise (or an abort
            # that reached an idle controller) never shifts the framing.
            start = self._buffer.find(b"G")
            if start < 0:
                self._buffer.clear()
                break
            del self._buffer[:start]
            if len(self._buffer) < 4:
                break
            command = bytes(self._buffer[:4])
            if not _COMMAND.fullmatch(command):
                del self._buffer[:1]
                continue
            del self._buffer[:4]
            out += self.command(command)
        return bytes(out)

    def command(self, command: bytes) -> bytes:
        text = command.decode("latin-1")
        if text == "GINF":
            return self.ginf().encode()
        if text == "GHOM":
            self._busy = "home"
            reply = self._direction(self.dome.home_azimuth)
            self.dome.find_home(wait=False)
            return reply
        if text == "GOPN":
            if self.dome.at_home:
                self._busy = "open"
                self.dome.open_shutter(wait=False)
                return b"O"
            self._busy = "open-home"
            reply = self._direction(self.dome.home_azimuth)
            self.dome.find_home(wait=False)
            return reply
        if text == "GCLS":
            self._busy = "close"
            self.dome.close_shutter(wait=False)
            return b"C"
        if text[0] == "G" and text[1:].isdigit():
            target = float(int(text[1:]) % 360)
            self._busy = "rotate"
            reply = self._direction(target)
            self.dome.slew_to_azimuth(target, wait=False)
            return reply
        return b""  # not a command: the controller ignores it

    def tick(self) -> bytes:
        if self._busy is None:
            return b""
        if not self.dome.slewing:
            if self._busy == "open-home":
                self._busy = "open"
                self.dome.open_shutter(wait=False)
                return b"O"
            self._busy = None
            return self.ginf().encode()
        now = time.monotonic()
        if now - self._last_report < self.report_interval:
            return b""
        self._last_report = now
        if self._busy in ("open", "close"):
            return b"S"
        return b"P%d\r" % self.ginf().azimuth_ticks
