"""The `SafetyMonitor` (after ASCOM ISafetyMonitorV3) and `ObservingConditions` (IObservingConditionsV2) interfaces.

A safety monitor answers one question, ``is_safe``; a weather station reports
the conditions ASCOM names, each as an astropy `Quantity`, with the age of
its last update. A sensor the station does not have raises `UnsupportedError`
(ASCOM NotImplemented), as the standard has it.
"""

from __future__ import annotations

import abc

import astropy.units as u

from ..device import Device
from ..errors import InvalidValueError, UnsupportedError

__all__ = ["SafetyMonitor", "ObservingConditions", "CONDITIONS"]

#: The ASCOM sensor names and their units, in the standard's order.
CONDITIONS: dict[str, u.UnitBase] = {
    "CloudCover": u.percent,
    "DewPoint": u.deg_C,
    "Humidity": u.percent,
    "Pressure": u.hPa,
    "RainRate": u.mm / u.hour,
    "SkyBrightness": u.lux,
    "SkyQuality": u.mag / u.arcsec**2,
    "SkyTemperature": u.deg_C,
    "StarFWHM": u.arcsec,
    "Temperature": u.deg_C,
    "WindDirection": u.deg,
    "WindGust": u.m / u.s,
    "WindSpeed": u.m / u.s,
}


class SafetyMonitor(Device):
    """A device that says whether it is safe to have the observatory open."""

    device_type = "safetymonitor"

    @property
    def is_safe(self) -> bool:
        """``IsSafe``: True only when the monitor judges it safe to open (a disconnected monitor is not)."""
        if not self.connected:
            return False
        return bool(self._is_safe())

    @abc.abstractmethod
    def _is_safe(self) -> bool: ...


class ObservingConditions(Device):
    """A weather station: ASCOM's sensors as Quantities, and how fresh they are."""

    device_type = "observingconditions"

    def condition(self, name: str) -> u.Quantity:
        """One sensor by its ASCOM name (``"RainRate"``, ``"WindGust"``...).

        Raises
        ------
        InvalidValueError
            Not an ASCOM sensor name.
        UnsupportedError
            The station has no such sensor.
        """
        if name not in CONDITIONS:
            raise InvalidValueError(f"sensor {name!r}: expected one of {list(CONDITIONS)}")
        self._require_connected()
        return float(self._condition(name)) * CONDITIONS[name]

    def conditions(self) -> dict[str, u.Quantity]:
        """Every sensor the station has, by name."""
        found = {}
        for name in CONDITIONS:
            try:
                found[name] = self.condition(name)
            except UnsupportedError:
                continue
        return found

    @property
    def cloud_cover(self) -> u.Quantity:
        """``CloudCover``, percent of the sky."""
        return self.condition("CloudCover")

    @property
    def rain_rate(self) -> u.Quantity:
        """``RainRate``, mm/h (0: dry)."""
        return self.condition("RainRate")

    @property
    def wind_speed(self) -> u.Quantity:
        """``WindSpeed``, m/s."""
        return self.condition("WindSpeed")

    @property
    def wind_gust(self) -> u.Quantity:
        """``WindGust``, m/s (the peak over the last two minutes)."""
        return self.condition("WindGust")

    @property
    def humidity(self) -> u.Quantity:
        """``Humidity``, percent."""
        return self.condition("Humidity")

    @property
    def dew_point(self) -> u.Quantity:
        """``DewPoint``, Celsius."""
        return self.condition("DewPoint")

    @property
    def sky_temperature(self) -> u.Quantity:
        """``SkyTemperature``, Celsius."""
        return self.condition("SkyTemperature")

    @property
    def sky_quality(self) -> u.Quantity:
        """``SkyQuality``, mag/arcsec^2."""
        return self.condition("SkyQuality")

    @property
    def temperature(self) -> u.Quantity:
        """``Temperature``, Celsius (ambient)."""
        return self.condition("Temperature")

    @property
    def pressure(self) -> u.Quantity:
        """``Pressure``, hPa."""
        return self.condition("Pressure")

    @property
    def average_period(self) -> u.Quantity:
        """``AveragePeriod``: hours over which values are averaged (0: instantaneous)."""
        self._require_connected()
        return self._average_period() * u.hour

    def time_since_last_update(self, name: str = "") -> u.Quantity:
        """``TimeSinceLastUpdate``: seconds since ``name`` (or, with "", any sensor) was updated."""
        if name and name not in CONDITIONS:
            raise InvalidValueError(f"sensor {name!r}: expected one of {list(CONDITIONS)} or ''")
        self._require_connected()
        return self._time_since_last_update(name) * u.s

    def sensor_description(self, name: str) -> str:
        """``SensorDescription``."""
        if name not in CONDITIONS:
            raise InvalidValueError(f"sensor {name!r}: expected one of {list(CONDITIONS)}")
        self._require_connected()
        return self._sensor_description(name)

    def refresh(self) -> None:
        """``Refresh``: ask the station for new values now."""
        self._require_connected()
        self._refresh()

    # -- hooks ---------------------------------------------------------------------------
    @abc.abstractmethod
    def _condition(self, name: str) -> float:
        """The sensor's value in the unit of `CONDITIONS`; raise `UnsupportedError` if absent."""

    def _average_period(self) -> float:
        return 0.0

    @abc.abstractmethod
    def _time_since_last_update(self, name: str) -> float: ...

    def _sensor_description(self, name: str) -> str:
        return name

    def _refresh(self) -> None:
        pass
