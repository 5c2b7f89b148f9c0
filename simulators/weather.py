"""Simulated weather: a scripted timeline, a weather station and a safety monitor that read it.

A `WeatherTimeline` is a list of steps, each at a simulated time (ISO UTC, or
``+HH:MM`` after the clock's start), naming a sky (``clear``, ``cloudy``,
``overcast``, ``rain``, ``windy``) and any values to change; a value holds
until a step changes it. It comes from a dict or YAML::

    - {at: "+00:00", sky: clear}
    - {at: "2026-06-21T05:00:00", sky: cloudy, Humidity: 70}
    - {at: "+03:00", sky: rain}

The station (`SimulatedObservingConditions`) and the monitor
(`SimulatedSafetyMonitor`) read it on the observatory's clock; the camera
sees its clouds (fainter stars, a brighter sky), and the observatory records
rain falling on an open dome so a test can assert it never happened.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml
from astropy.time import Time, TimeDelta

from torosdrivers.errors import CommunicationError, InvalidValueError, UnsupportedError
from torosdrivers.weather.base import CONDITIONS, ObservingConditions, SafetyMonitor

from .clock import SimClock

__all__ = ["Weather", "WeatherTimeline", "SKIES", "SimulatedObservingConditions", "SimulatedSafetyMonitor"]


@dataclass(frozen=True)
class Weather:
    """The conditions at one moment, in the units of `torosdrivers.weather.CONDITIONS`."""

    CloudCover: float = 0.0
    Humidity: float = 30.0
    Pressure: float = 580.0  # hPa at 4,650 m
    RainRate: float = 0.0
    Temperature: float = 5.0
    WindDirection: float = 270.0
    WindGust: float = 6.0
    WindSpeed: float = 3.0
    StarFWHM: float = 2.0

    @property
    def DewPoint(self) -> float:  # noqa: N802 - the ASCOM name
        """Magnus formula over water."""
        a, b = 17.62, 243.12
        gamma = math.log(max(self.Humidity, 1.0) / 100.0) + a * self.Temperature / (b + self.Temperature)
        return b * gamma / (a - gamma)

    @property
    def SkyTemperature(self) -> float:  # noqa: N802
        """A clear sky is some 35 C colder than the air; cloud brings it back up."""
        return self.Temperature - 35.0 * (1.0 - self.CloudCover / 100.0)


#: Named skies a step may start from.
SKIES: dict[str, dict[str, float]] = {
    "clear": {"CloudCover": 0.0, "RainRate": 0.0, "Humidity": 30.0, "WindSpeed": 3.0, "WindGust": 6.0},
    "cloudy": {"CloudCover": 60.0, "RainRate": 0.0, "Humidity": 60.0},
    "overcast": {"CloudCover": 100.0, "RainRate": 0.0, "Humidity": 85.0},
    "rain": {"CloudCover": 100.0, "RainRate": 4.0, "Humidity": 98.0},
    "windy": {"CloudCover": 10.0, "RainRate": 0.0, "WindSpeed": 14.0, "WindGust": 22.0},
}


@dataclass
class WeatherTimeline:
    """Weather steps at simulated times.

    Parameters
    ----------
    steps
        ``[{"at": ..., "sky": ..., <ASCOM name>: value, ...}, ...]``; none is a
        clear night throughout.
    start
        What ``+HH:MM`` times count from (the clock's start).
    """

    steps: list[dict] = field(default_factory=list)
    start: Time | None = None

    def __post_init__(self) -> None:
        self._times: list[tuple[Time, Weather]] = []
        current = Weather()
        for i, step in enumerate(self.steps):
            if not isinstance(step, dict) or "at" not in step:
                raise InvalidValueError(f"weather step {i}: {step!r}: expected a mapping with 'at'")
            values = dict(SKIES.get(step.get("sky", ""), {})) if "sky" in step else {}
            if "sky" in step and step["sky"] not in SKIES:
                raise InvalidValueError(f"weather step {i}: sky={step['sky']!r}: expected one of {list(SKIES)}")
            for key, value in step.items():
                if key in ("at", "sky"):
                    continue
                if key not in Weather.__dataclass_fields__:
                    raise InvalidValueError(f"weather step {i}: {key!r}: expected one of "
                                            f"{list(Weather.__dataclass_fields__)}")
                values[key] = float(value)
            current = replace(current, **values)
            self._times.append((self._when(step["at"], i), current))
        self._times.sort(key=lambda pair: pair[0].jd)
        self._jds = [float(when.utc.jd) for when, _ in self._times]

    @classmethod
    def from_yaml(cls, source: str | Path, start: Time | None = None) -> "WeatherTimeline":
        """A timeline from a YAML file (or YAML text)."""
        text = Path(source).read_text() if isinstance(source, Path) or str(source).endswith((".yaml", ".yml")) \
            else str(source)
        return cls(yaml.safe_load(text) or [], start)

    def _when(self, at: object, i: int) -> Time:
        text = str(at)
        if text.startswith("+"):
            if self.start is None:
                raise InvalidValueError(f"weather step {i}: at={text!r}: a relative time needs the clock's start")
            hours, _, minutes = text[1:].partition(":")
            return self.start + TimeDelta(int(hours) * 3600 + int(minutes or 0) * 60, format="sec")
        try:
            return Time(text, scale="utc")
        except ValueError:
            raise InvalidValueError(f"weather step {i}: at={text!r}: expected ISO UTC or +HH:MM") from None

    def at(self, time: Time) -> Weather:
        """The weather at ``time``."""
        return self.at_jd(float(time.utc.jd))

    def at_jd(self, jd: float) -> Weather:
        """The weather at the UTC Julian date ``jd``."""
        # Those that have begun; a step at the very instant asked (an update on the minute) may round a float
        # JD's last bit (40 microseconds) apart from it: 0.2 ms of slack counts it as begun, as Time would.
        steps = bisect.bisect_right(self._jds, jd + 2e-9)
        return self._times[steps - 1][1] if steps else Weather()

    def rain_between(self, start: Time, end: Time) -> list[tuple[Time, Time]]:
        """The stretches of ``[start, end]`` when rain fell."""
        spans, edges = [], [(start, self.at(start))] + [(t, w) for t, w in self._times if start < t < end]
        for (t0, weather), nxt in zip(edges, edges[1:] + [(end, None)]):
            if weather.RainRate > 0:
                spans.append((t0, nxt[0]))
        return spans


_ABSENT = ("SkyBrightness", "SkyQuality")  # sensors the simulated station does not have (NotImplemented)


class SimulatedObservingConditions(ObservingConditions):
    """A weather station reading a `WeatherTimeline`, updated every ``update_interval`` device seconds.

    `fail` makes it stop answering (a station that lost power); `freeze` keeps
    answering its last values while their age grows (a stuck station).
    """

    def __init__(self, clock: SimClock, timeline: WeatherTimeline, *, update_interval: float = 60.0,
                 **kwargs) -> None:
        super().__init__("Simulated weather station", "ObservingConditions on a scripted weather timeline", **kwargs)
        self._clock = clock
        self.timeline = timeline
        self.update_interval = float(update_interval)
        self._failed = False
        self._frozen_jd: float | None = None  # the last update a stuck station keeps answering

    def _now(self):
        return self._clock.now()

    def fail(self, failed: bool = True) -> None:
        """Stop answering (every read raises `CommunicationError`), or answer again."""
        self._failed = failed

    def freeze(self, frozen: bool = True) -> None:
        """Keep answering the last values while their age grows, or update again."""
        self._frozen_jd = self._last_update() if frozen else None

    def _last_update(self) -> float:
        """When the station last updated, as a UTC Julian date (floats: a supervisor reads it often)."""
        if self._frozen_jd is not None:
            return self._frozen_jd
        seconds = self._clock.seconds()
        if self.update_interval > 0:
            seconds -= seconds % self.update_interval
        return self._clock.jd(seconds)

    def _check(self) -> None:
        if self._failed:
            raise CommunicationError(f"{self.name}: no answer (the station is down)")

    def _condition(self, name: str) -> float:
        self._check()
        if name in _ABSENT:
            raise UnsupportedError(f"{self.name} has no {name} sensor")
        return float(getattr(self.timeline.at_jd(self._last_update()), name))

    def _time_since_last_update(self, name: str) -> float:
        self._check()
        if self._frozen_jd is not None:
            return max(0.0, (self._clock.jd() - self._frozen_jd) * 86400.0)
        return self._clock.seconds() % self.update_interval if self.update_interval > 0 else 0.0

    def _sensor_description(self, name: str) -> str:
        self._check()
        if name in _ABSENT:
            raise UnsupportedError(f"{self.name} has no {name} sensor")
        return f"simulated {name} ({CONDITIONS[name]})"


class SimulatedSafetyMonitor(SafetyMonitor):
    """A cloud-and-rain sensor's verdict on the same timeline: unsafe in rain, gusts or heavy cloud."""

    def __init__(self, clock: SimClock, timeline: WeatherTimeline, *, max_cloud: float = 80.0,
                 max_gust: float = 18.0, max_humidity: float = 95.0, **kwargs) -> None:
        super().__init__("Simulated safety monitor", "IsSafe from a scripted weather timeline", **kwargs)
        self._clock = clock
        self.timeline = timeline
        self.limits = (max_cloud, max_gust, max_humidity)
        self._failed = False

    def fail(self, failed: bool = True) -> None:
        """Stop answering, or answer again."""
        self._failed = failed

    def _is_safe(self) -> bool:
        if self._failed:
            raise CommunicationError(f"{self.name}: no answer")
        w = self.timeline.at_jd(self._clock.jd())
        cloud, gust, humidity = self.limits
        return w.RainRate == 0 and w.CloudCover <= cloud and w.WindGust <= gust and w.Humidity <= humidity
