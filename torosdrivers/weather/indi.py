"""Safety monitor and weather station from an INDI weather device (``INDI::Weather``).

``WEATHER_STATUS`` holds one light per critical parameter and its vector
state is the worst of them: Ok, Busy (a warning: near a limit) or Alert
(past one). The monitor is safe while that state is Ok or Busy, as Ekos
reads it; Alert, Idle (no reading yet) or a lost connection are unsafe.

``WEATHER_PARAMETERS`` holds the readings, in INDI's units (the simulator's
and most drivers' labels: wind in kph, rain in mm per hour); each
is converted to the unit ASCOM names (`CONDITIONS`). ``WEATHER_REFRESH`` asks
for new readings; their age is the time since the driver last sent the vector.
"""

from __future__ import annotations

from ..errors import UnsupportedError
from ..indi import IndiDeviceMixin, IndiLink
from .base import ObservingConditions, SafetyMonitor

__all__ = ["IndiSafetyMonitor", "IndiObservingConditions", "PARAMETERS"]

#: ASCOM sensor name -> (INDI ``WEATHER_PARAMETERS`` member, factor to the ASCOM unit).
PARAMETERS: dict[str, tuple[str, float]] = {
    "CloudCover": ("WEATHER_CLOUD_COVER", 1.0),
    "DewPoint": ("WEATHER_DEWPOINT", 1.0),
    "Humidity": ("WEATHER_HUMIDITY", 1.0),
    "Pressure": ("WEATHER_PRESSURE", 1.0),
    "RainRate": ("WEATHER_RAIN_HOUR", 1.0),
    "SkyQuality": ("WEATHER_SKY_BRIGHTNESS", 1.0),
    "SkyTemperature": ("WEATHER_SKY_TEMPERATURE", 1.0),
    "Temperature": ("WEATHER_TEMPERATURE", 1.0),
    "WindDirection": ("WEATHER_WIND_DIRECTION", 1.0),
    "WindGust": ("WEATHER_WIND_GUST", 1 / 3.6),  # kph -> m/s
    "WindSpeed": ("WEATHER_WIND_SPEED", 1 / 3.6),
}


class _IndiWeather(IndiDeviceMixin):
    _REQUIRED = ("WEATHER_STATUS", "WEATHER_PARAMETERS")

    def _init_indi(self, kind: str, address: str, device: str, timeout: float, poll_interval: float) -> None:
        super().__init__(f"INDI {device}", f"INDI {kind} {device!r} at {address}", timeout=timeout,
                         poll_interval=poll_interval)
        self._link = IndiLink(address, device, timeout=timeout)

    def _disconnect(self) -> None:
        """Close our connection only: one weather driver serves the safety monitor and the station (and Ekos,
        perhaps), so its CONNECTION is left on."""
        self._link.close()


class IndiSafetyMonitor(_IndiWeather, SafetyMonitor):
    """``IsSafe`` from an INDI weather device's ``WEATHER_STATUS``.

    Parameters
    ----------
    address
        ``host:port`` of the indiserver.
    device
        The INDI device name (e.g. ``Weather Simulator``, ``AAG Cloud Watcher``, ``OpenWeatherMap``).
    warning_is_unsafe
        Also unsafe on a warning (Busy), before any limit is passed.
    """

    def __init__(self, address: str, device: str, *, warning_is_unsafe: bool = False, timeout: float = 10.0,
                 poll_interval: float = 0.1) -> None:
        self._init_indi("safety monitor", address, device, timeout, poll_interval)
        self.warning_is_unsafe = bool(warning_is_unsafe)

    def _is_safe(self) -> bool:
        """``WEATHER_STATUS``'s state: Ok (or Busy, unless ``warning_is_unsafe``); the server reachable."""
        if not self._link.is_open or not self._link.switch("CONNECTION", "CONNECT"):
            return False
        state = self._link.state("WEATHER_STATUS")
        return state == "Ok" or (state == "Busy" and not self.warning_is_unsafe)

    def unsafe_because(self) -> list[str]:
        """The ``WEATHER_STATUS`` lights not Ok, as ``NAME=State`` (what an operator wants to read)."""
        lights = self._link.members("WEATHER_STATUS")
        return [f"{name}={state}" for name, state in lights.items() if state != "Ok"]


class IndiObservingConditions(_IndiWeather, ObservingConditions):
    """ASCOM's sensors from an INDI weather device's ``WEATHER_PARAMETERS``.

    Parameters
    ----------
    address
        ``host:port`` of the indiserver.
    device
        The INDI device name.
    """

    def __init__(self, address: str, device: str, *, timeout: float = 10.0, poll_interval: float = 0.1) -> None:
        self._init_indi("weather station", address, device, timeout, poll_interval)

    def _condition(self, name: str) -> float:
        """``WEATHER_PARAMETERS.<member>`` (see `PARAMETERS`), in the ASCOM unit."""
        member, factor = PARAMETERS.get(name, ("", 1.0))
        if member not in self._link.members("WEATHER_PARAMETERS"):
            raise UnsupportedError(f"{self.name} has no {name} sensor (no WEATHER_PARAMETERS.{member or name})")
        return self._link.number("WEATHER_PARAMETERS", member) * factor

    def _time_since_last_update(self, name: str) -> float:
        """Seconds since the driver last sent ``WEATHER_PARAMETERS`` (all its readings come together)."""
        if name:
            self._condition(name)  # an absent sensor is refused by name
        return self._link.age("WEATHER_PARAMETERS")

    def _sensor_description(self, name: str) -> str:
        """The member's label as the driver defines it."""
        member = PARAMETERS.get(name, ("", 1.0))[0]
        self._condition(name)
        return str(self._link.vector("WEATHER_PARAMETERS").member(member).label)

    def _refresh(self) -> None:
        """``WEATHER_REFRESH.REFRESH``."""
        if self._link.has("WEATHER_REFRESH"):
            self._link.set("WEATHER_REFRESH", {"REFRESH": "On"})
