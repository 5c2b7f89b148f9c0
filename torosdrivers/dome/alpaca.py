"""ASCOM Alpaca dome (IDomeV3), on alpyca. Each hook names the member it uses."""

from __future__ import annotations

from alpaca.dome import Dome as _AlpycaDome

from ..alpaca.client import AlpacaDeviceMixin
from .base import Dome

__all__ = ["AlpacaDome"]


class AlpacaDome(AlpacaDeviceMixin, Dome):
    """A dome on an Alpaca server.

    Parameters
    ----------
    address
        ``host:port`` of the server.
    device_number
        Dome number on the server.
    timeout
        Seconds for each HTTP request.
    """

    def __init__(self, address: str, device_number: int = 0, *, timeout: float = 10.0, poll_interval: float = 0.1) -> None:
        label = self._init_alpaca(_AlpycaDome, "dome", address, device_number, timeout)
        super().__init__(label, timeout=max(timeout, 300.0), poll_interval=poll_interval)

    def _azimuth(self) -> float:
        """``Azimuth``."""
        return float(self._link.get("Azimuth"))

    def _slewing(self) -> bool:
        """``Slewing``."""
        return bool(self._link.get("Slewing"))

    def _slew_to_azimuth(self, azimuth: float) -> None:
        """``SlewToAzimuth`` (``Azimuth``)."""
        self._link.call("SlewToAzimuth", azimuth)

    def _abort(self) -> None:
        """``AbortSlew``."""
        self._link.call("AbortSlew")

    def _find_home(self) -> None:
        """``FindHome``."""
        self._link.call("FindHome")

    @property
    def can_find_home(self) -> bool:  # type: ignore[override]
        """``CanFindHome``."""
        self._require_connected()
        return bool(self._link.get("CanFindHome"))

    def _at_home(self) -> bool:
        """``AtHome``."""
        return bool(self._link.get("AtHome"))

    def _park(self) -> None:
        """``Park``."""
        self._link.call("Park")

    def _at_park(self) -> bool:
        """``AtPark``."""
        return bool(self._link.get("AtPark"))

    def _can_slave(self) -> bool:
        """``CanSlave``."""
        return bool(self._link.get("CanSlave"))

    def _slaved(self) -> bool:
        """``Slaved``."""
        return bool(self._link.get("Slaved"))

    def _set_slaved(self, on: bool) -> None:
        """``Slaved`` (PUT)."""
        self._link.set("Slaved", on)

    def _shutter(self) -> int:
        """``ShutterStatus``."""
        return int(self._link.get("ShutterStatus"))

    def _open_shutter(self) -> None:
        """``OpenShutter``."""
        self._link.call("OpenShutter")

    def _close_shutter(self) -> None:
        """``CloseShutter``."""
        self._link.call("CloseShutter")

    def _supported_actions(self) -> list[str]:
        """``SupportedActions``."""
        return [str(a) for a in self._link.get("SupportedActions")]

    def _action(self, name: str, parameters: str) -> str:
        """``Action`` (``Action``, ``Parameters``)."""
        return str(self._link.call("Action", name, parameters))
