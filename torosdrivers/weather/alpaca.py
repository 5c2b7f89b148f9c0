"""Safety monitors and weather stations on an ASCOM Alpaca server (alpyca's classes).

Every property reads one Alpaca member; the docstrings name it.
"""

from __future__ import annotations

from alpaca.observingconditions import ObservingConditions as _AlpycaConditions
from alpaca.safetymonitor import SafetyMonitor as _AlpycaSafety

from ..alpaca.client import AlpacaDeviceMixin
from .base import ObservingConditions, SafetyMonitor

__all__ = ["AlpacaSafetyMonitor", "AlpacaObservingConditions"]


class AlpacaSafetyMonitor(AlpacaDeviceMixin, SafetyMonitor):
    """A safety monitor on an Alpaca server.

    Parameters
    ----------
    address
        ``host:port`` of the server.
    device_number
        Safety monitor number on the server.
    timeout
        Seconds for each HTTP request.
    """

    def __init__(self, address: str, device_number: int = 0, *, timeout: float = 10.0,
                 poll_interval: float = 0.1) -> None:
        label = self._init_alpaca(_AlpycaSafety, "safetymonitor", address, device_number, timeout)
        super().__init__(label, timeout=timeout, poll_interval=poll_interval)

    def _is_safe(self) -> bool:
        """``IsSafe``."""
        return bool(self._link.get("IsSafe"))


class AlpacaObservingConditions(AlpacaDeviceMixin, ObservingConditions):
    """A weather station on an Alpaca server.

    Parameters
    ----------
    address
        ``host:port`` of the server.
    device_number
        Observing-conditions device number on the server.
    timeout
        Seconds for each HTTP request.
    """

    def __init__(self, address: str, device_number: int = 0, *, timeout: float = 10.0,
                 poll_interval: float = 0.1) -> None:
        label = self._init_alpaca(_AlpycaConditions, "observingconditions", address, device_number, timeout)
        super().__init__(label, timeout=timeout, poll_interval=poll_interval)

    def _condition(self, name: str) -> float:
        """The member of that name: ``CloudCover``, ``RainRate``, ``WindGust``..."""
        return float(self._link.get(name))

    def _average_period(self) -> float:
        """``AveragePeriod``."""
        return float(self._link.get("AveragePeriod"))

    def _time_since_last_update(self, name: str) -> float:
        """``TimeSinceLastUpdate`` (``SensorName``)."""
        return float(self._link.call("TimeSinceLastUpdate", name))

    def _sensor_description(self, name: str) -> str:
        """``SensorDescription`` (``SensorName``)."""
        return str(self._link.call("SensorDescription", name))

    def _refresh(self) -> None:
        """``Refresh``."""
        self._link.call("Refresh")
