"""Simulated time: one clock for the sky, the mount and the camera, running ``time_scale`` times fast.

Everything in a simulated observatory lives on this clock: device motions
and exposures, and the sky they look at (sidereal time, the frames'
DATE-OBS). At 1000 a 60 s exposure takes 60 ms of real time and its frame is
stamped 60 s after the previous one, with the sky turned by 60 s, as a real
night would have it. At ``math.inf`` (instant mode) every motion ends as
soon as it starts and the clock jumps by what it would have lasted, so
instant frames are stamped as consistently.
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
        self._start_jd = float(self._start.jd)
        self._t0 = time.monotonic()
        self._jumped = 0.0  # instant mode: device seconds the instant motions would have taken

    @property
    def start(self) -> Time:
        """UTC at which the clock started."""
        return self._start

    @property
    def poll_interval(self) -> float:
        """How often a wait on a simulated device should look: 2 ms fast, up to 0.1 s in real time."""
        return min(0.1, max(0.002, 0.1 / self.time_scale))

    @property
    def instant(self) -> bool:
        """Whether motions complete at once."""
        return math.isinf(self.time_scale)

    def seconds(self) -> float:
        """Device seconds since `start`."""
        real = time.monotonic() - self._t0
        return real + self._jumped if self.instant else real * self.time_scale

    def now(self) -> Time:
        """UTC now on the simulated sky."""
        return self._start + self.seconds() * u.s

    def jd(self, seconds: float | None = None) -> float:
        """UTC now (or ``seconds`` after `start`) as a Julian date: a float good to 40 microseconds.

        For what asks many times a second (the weather a safety supervisor
        reads): astropy's ``Time`` arithmetic costs about 0.5 ms a call.
        """
        return self._start_jd + (self.seconds() if seconds is None else seconds) / 86400.0

    def set_now(self, when: Time) -> None:
        """Make ``when`` the simulated time now (a restarted observatory resuming its night)."""
        self._start = Time(when, scale="utc") - self.seconds() * u.s
        self._start_jd = float(self._start.jd)

    def jump(self, seconds: float) -> None:
        """Instant mode: let ``seconds`` of device time pass at once (an instant exposure's length)."""
        if self.instant and seconds > 0:
            self._jumped += seconds

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
        clock.jump(self.duration if math.isfinite(self.duration) else 0.0)

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
