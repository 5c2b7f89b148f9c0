"""Simulated dome: rotation rate, shutter travel, home, park and actions."""

from __future__ import annotations

import threading

import astropy.units as u

from torosdrivers.dome.actions import check_parameters
from torosdrivers.dome.base import Dome, ShutterState

from .clock import Ramp, SimClock, Timer

__all__ = ["SimulatedDome"]


class SimulatedDome(Dome):
    """A dome that rotates at ``rate`` deg/s the short way and moves its shutter in ``shutter_time`` s.

    Device actions: ``Blink01`` blinks the indicator light (parameter: number
    of blinks, default 1); ``FlatLamp`` switches the flat-field lamp
    (``on``/``off``; empty to ask).
    """

    ACTIONS = ("Blink01", "FlatLamp")

    def __init__(
        self,
        clock: SimClock,
        *,
        rate: float = 5.0,
        shutter_time: float = 20.0,
        home_azimuth: float = 0.0,
        park_azimuth: float = 180.0,
        **kwargs,
    ) -> None:
        kwargs.setdefault("poll_interval", clock.poll_interval)
        super().__init__("Simulated dome", "TOROS simulated dome", **kwargs)
        self._clock = clock
        self.rate = rate
        self.shutter_time = shutter_time
        self.home_azimuth = home_azimuth
        self.park_azimuth = park_azimuth
        self._rotation: Ramp | None = None
        self._az = park_azimuth
        self._shutter_state = ShutterState.CLOSED
        self._shutter_timer: Timer | None = None
        self._opened_at = None  # simulated time the shutter last left Closed
        self._closing_ends = None  # simulated time the closing under way will end
        self._open_spans: list = []  # (left closed, closed again) in simulated time
        self._parking = False
        self._parked = True
        #: The mount to follow when slaved (ASCOM Slaved); None: this dome cannot slave.
        self.slave_to = None
        self._following = False
        self._looked = None  # simulated time of the last look at the telescope
        self.blinks = 0
        self.lamp_on = False
        self._light_lock = threading.Lock()

    def _now(self):
        return self._clock.now()

    # -- rotation ----------------------------------------------------------------
    def _update(self) -> None:
        self._follow()
        with self._lock:
            if self._rotation is not None:
                self._az = self._rotation.value() % 360.0
                if self._rotation.done:
                    self._rotation = None
                    self._parked, self._parking = self._parking, False
            if self._shutter_timer is not None and self._shutter_timer.done:
                self._shutter_timer = None
                if self._shutter_state == ShutterState.OPENING:
                    self._shutter_state = ShutterState.OPEN
                elif self._shutter_state == ShutterState.CLOSING:
                    self._shutter_state = ShutterState.CLOSED
                    if self._opened_at is not None:
                        self._open_spans.append((self._opened_at, self._closing_ends))
                        self._opened_at = None

    def _follow(self) -> None:
        """Slaved: whenever the slit is more than 2 deg off the telescope and at rest, turn it back."""
        mount = self.slave_to
        if not self._following or mount is None or self._rotation is not None:
            return
        now = self._clock.now()
        if self._looked is not None and abs((now - self._looked).sec) < 10.0:
            return  # a real slaving controller looks every few seconds, not at every poll
        self._looked = now
        from torosdrivers.coords import to_altaz

        target = float(to_altaz(mount.optical_axis(), now, mount.location).az.deg)
        if abs((target - self._az + 180.0) % 360.0 - 180.0) > 2.0:
            self._rotate(target % 360.0, update=False)

    def _can_slave(self) -> bool:
        return self.slave_to is not None

    def _slaved(self) -> bool:
        return self._following

    def _set_slaved(self, on: bool) -> None:
        self._following = on
        self._update()

    def _azimuth(self) -> float:
        self._update()
        return self._az

    def _slewing(self) -> bool:
        self._update()
        return self._rotation is not None or self._shutter_timer is not None

    def _rotate(self, target: float, parking: bool = False, *, update: bool = True) -> None:
        if update:
            self._update()
        delta = (target - self._az + 180.0) % 360.0 - 180.0
        self._rotation = Ramp(self._clock, self._az, self._az + delta, self.rate)
        self._parking, self._parked = parking, False

    def _slew_to_azimuth(self, azimuth: float) -> None:
        self._rotate(azimuth)

    def _abort(self) -> None:
        self._update()
        if self._rotation is not None:
            self._rotation.stop()
            self._az = self._rotation.value() % 360.0
            self._rotation, self._parking = None, False
        if self._shutter_timer is not None:
            # A shutter stopped part way is in no known state, as on the real thing.
            self._shutter_timer = None
            self._shutter_state = ShutterState.ERROR

    def _find_home(self) -> None:
        self._rotate(self.home_azimuth)

    def _at_home(self) -> bool:
        """The home sensor sees the dome within half a degree of home, at rest."""
        self._update()
        return self._rotation is None and abs((self._az - self.home_azimuth + 180.0) % 360.0 - 180.0) < 0.5

    def _park(self) -> None:
        self._rotate(self.park_azimuth, parking=True)

    def _at_park(self) -> bool:
        self._update()
        return self._parked

    # -- shutter ---------------------------------------------------------------------
    def _shutter(self) -> int:
        self._update()
        return int(self._shutter_state)

    def _start_shutter(self, opening: bool) -> None:
        self._update()
        goal = ShutterState.OPEN if opening else ShutterState.CLOSED
        if self._shutter_state == goal:
            return
        moving = ShutterState.OPENING if opening else ShutterState.CLOSING
        # Reversing a moving shutter takes as long as it has travelled.
        if self._shutter_timer is not None:
            travel = self._shutter_timer.elapsed()
        else:
            travel = self.shutter_time
        now = self._clock.now()
        if opening and self._opened_at is None:
            self._opened_at = now
        if not opening:
            self._closing_ends = now + travel * u.s
        self._shutter_state = moving
        self._shutter_timer = Timer(self._clock, travel)

    def open_spans(self) -> list:
        """When the shutter was not closed: ``(start, end)`` in simulated time, the last maybe still open."""
        self._update()
        spans = list(self._open_spans)
        if self._opened_at is not None:
            spans.append((self._opened_at, self._clock.now()))
        return spans

    def _open_shutter(self) -> None:
        self._start_shutter(True)

    def _close_shutter(self) -> None:
        self._start_shutter(False)

    def slit(self) -> tuple[ShutterState, float]:
        """Shutter state and azimuth as they physically are, connected or not."""
        self._update()
        return self._shutter_state, self._az

    # -- actions ---------------------------------------------------------------------
    def _supported_actions(self) -> list[str]:
        return list(self.ACTIONS)

    def _action(self, name: str, parameters: str) -> str:
        text = check_parameters(name, parameters)  # the declared parameters (torosdrivers.dome.actions)
        if name == "Blink01":
            count = int(text or 1)
            with self._light_lock:
                self.blinks += count
            return f"indicator blinked {count} time{'s' if count > 1 else ''}"
        # FlatLamp
        if text:
            self.lamp_on = text == "on"
        return "on" if self.lamp_on else "off"
