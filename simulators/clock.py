"""Simulated time: the sky runs on the wall clock, devices run faster.

The sky (sidereal time, DATE-OBS) follows real elapsed time from a chosen
start, so a test that takes ten seconds never sees the target set. Device
motions and exposures are compressed by ``time_scale``: at 1000 a 60 s
exposure takes 60 ms; at ``math.inf`` (instant mode) every motion ends as soon
as it starts.
"""

from __future__ import annotations

import math
import time

import astropy.units as u
from astropy.time import Time

from torosdrivers.errors import InvalidValueError

__all__ = ["SimClock", "Timer", "Ramp"]


class SimClock:
    """Clock shared by the devices of one simulated observatory.

    Parameters
    ----------
    time_scale
        Device seconds per real second (> 0, ``math.inf`` for instant).
    start
        UTC at which the clock starts (a ``Time`` or an ISO string); now by default.
    """

    def __init__(self, time_scale: float = 1.0, start: Time | str | None = None) -> None:
        if not (isinstance(time_scale, (int, float)) and time_scale > 0):
            raise InvalidValueError(f"time_scale={time_scale!r}: expected a number > 0 (math.inf for instant)")
        self.time_scale = float(time_scale)
        self._start = Time(start if start is not None else Time.now(), scale="utc")
        self._t0 = time.monotonic()

    @property
    def poll_interval(self) -> float:
        """How often a wait on a simulated device should look: 2 ms fast, up to 0.1 s in real time."""
        return min(0.1, max(0.002, 0.1 / self.time_scale))

    @property
    def instant(self) -> bool:
        """Whether motions complete at once."""
        return math.isinf(self.time_scale)

    def now(self) -> Time:
        """UTC now on the simulated sky."""
        return self._start + (time.monotonic() - self._t0) * u.s

    def stamp(self) -> float:
        """A real-time stamp for `device_seconds_since`."""
        return time.monotonic()

    def device_seconds_since(self, stamp: float) -> float:
        """Device seconds elapsed since ``stamp`` (inf in instant mode)."""
        if self.instant:
            return math.inf
        return (time.monotonic() - stamp) * self.time_scale


class Timer:
    """Something that takes ``duration`` device seconds from now."""

    def __init__(self, clock: SimClock, duration: float) -> None:
        self.clock = clock
        self.duration = max(float(duration), 0.0)
        self._stamp = clock.stamp()
        self._stopped_at: float | None = None

    def elapsed(self) -> float:
        """Device seconds since the start, capped at ``duration``."""
        if self._stopped_at is not None:
            return self._stopped_at
        return min(self.clock.device_seconds_since(self._stamp), self.duration)

    def fraction(self) -> float:
        """Progress from 0 to 1."""
        return 1.0 if self.duration == 0 else self.elapsed() / self.duration

    @property
    def done(self) -> bool:
        """Whether the time has run out (a stopped timer is done)."""
        return self._stopped_at is not None or self.elapsed() >= self.duration

    def stop(self) -> None:
        """Freeze the timer where it is."""
        if self._stopped_at is None:
            self._stopped_at = self.elapsed()


class Ramp:
    """A value moving linearly from ``start`` to ``end`` at ``rate`` per device second.

    ``settle`` device seconds are added after arrival, during which the value
    sits at ``end`` but the move is not yet done (a mount settling).
    """

    def __init__(self, clock: SimClock, start: float, end: float, rate: float, settle: float = 0.0) -> None:
        self.start, self.end = float(start), float(end)
        self.travel = abs(self.end - self.start) / rate if rate > 0 else 0.0
        self.timer = Timer(clock, self.travel + settle)

    def value(self) -> float:
        """Where the value is now."""
        if self.travel == 0:
            return self.end
        f = min(self.timer.elapsed() / self.travel, 1.0)
        return self.start + (self.end - self.start) * f

    def fraction(self) -> float:
        """Progress of the travel, 0 to 1."""
        return 1.0 if self.travel == 0 else min(self.timer.elapsed() / self.travel, 1.0)

    @property
    def done(self) -> bool:
        return self.timer.done

    def stop(self) -> None:
        """Stop where the value is now."""
        self.timer.stop()
