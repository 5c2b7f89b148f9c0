"""The Alpaca members of ISafetyMonitorV3 and IObservingConditionsV2, served from our devices.

Named as the lower-case members of the Alpaca device API, as in `members`.
"""

from __future__ import annotations

from torosdrivers.weather.base import CONDITIONS, ObservingConditions, SafetyMonitor

from .members import Members
from .params import Params

__all__ = ["SafetyMonitorMembers", "ObservingConditionsMembers"]


class SafetyMonitorMembers(Members):
    """ISafetyMonitorV3 over a `SafetyMonitor`."""

    interface_version = 3

    def __init__(self, device: SafetyMonitor, unique_id: str) -> None:
        super().__init__(device, unique_id)
        self.monitor = device

    def state_members(self):
        return [("IsSafe", lambda: self.monitor.is_safe)]

    def get_issafe(self, q: Params) -> bool:
        return self.monitor.is_safe


class ObservingConditionsMembers(Members):
    """IObservingConditionsV2 over an `ObservingConditions`: one GET per sensor, in its ASCOM unit."""

    interface_version = 2

    def __init__(self, device: ObservingConditions, unique_id: str) -> None:
        super().__init__(device, unique_id)
        self.station = device

    def state_members(self):
        return [(name, lambda n=name: self.station.condition(n).value) for name in CONDITIONS]

    def __getattr__(self, attribute: str):
        # get_cloudcover, get_rainrate...: one reader per ASCOM sensor, named as the standard names it.
        if attribute.startswith("get_"):
            for name in CONDITIONS:
                if name.lower() == attribute[4:]:
                    return lambda q, n=name: self.station.condition(n).value
        raise AttributeError(attribute)

    def get_averageperiod(self, q: Params) -> float:
        return self.station.average_period.value

    def get_timesincelastupdate(self, q: Params) -> float:
        return self.station.time_since_last_update(q.text("SensorName", "")).value

    def get_sensordescription(self, q: Params) -> str:
        return self.station.sensor_description(q.text("SensorName"))

    def put_refresh(self, p: Params) -> None:
        self.station.refresh()
