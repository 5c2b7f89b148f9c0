"""ASCOM Alpaca focuser (IFocuserV4), on alpyca. Each hook names the member it uses."""

from __future__ import annotations

from alpaca.focuser import Focuser as _AlpycaFocuser

from ..alpaca.client import AlpacaDeviceMixin
from ..errors import CommunicationError, UnsupportedError
from .base import Focuser

__all__ = ["AlpacaFocuser"]


class AlpacaFocuser(AlpacaDeviceMixin, Focuser):
    """A focuser on an Alpaca server.

    Parameters
    ----------
    address
        ``host:port`` of the server.
    device_number
        Focuser number on the server.
    timeout
        Seconds for each HTTP request.
    """

    def __init__(self, address: str, device_number: int = 0, *, timeout: float = 10.0,
                 poll_interval: float = 0.1) -> None:
        label = self._init_alpaca(_AlpycaFocuser, "focuser", address, device_number, timeout)
        super().__init__(label, timeout=max(timeout, 300.0), poll_interval=poll_interval)

    def _on_connect(self) -> None:
        """``Absolute``: a relative focuser is refused at connect, not misread later."""
        if not bool(self._link.get("Absolute")):
            raise CommunicationError(f"{self.name} is a relative focuser (Absolute is False): not supported")

    def _max_step(self) -> int:
        """``MaxStep``."""
        return int(self._link.get("MaxStep"))

    def _max_increment(self) -> int:
        """``MaxIncrement``."""
        return int(self._link.get("MaxIncrement"))

    def _step_size(self) -> float | None:
        """``StepSize`` (PropertyNotImplemented: unknown)."""
        try:
            return float(self._link.get("StepSize"))
        except UnsupportedError:
            return None

    def _position(self) -> int:
        """``Position``."""
        return int(self._link.get("Position"))

    def _moving(self) -> bool:
        """``IsMoving``."""
        return bool(self._link.get("IsMoving"))

    def _move(self, position: int) -> None:
        """``Move`` (``Position``)."""
        self._link.call("Move", position)

    def _halt(self) -> None:
        """``Halt``."""
        self._link.call("Halt")

    def _temperature(self) -> float | None:
        """``Temperature`` (PropertyNotImplemented: no probe)."""
        try:
            return float(self._link.get("Temperature"))
        except UnsupportedError:
            return None

    def _temp_comp_available(self) -> bool:
        """``TempCompAvailable``."""
        return bool(self._link.get("TempCompAvailable"))

    def _temp_comp(self) -> bool:
        """``TempComp``."""
        return bool(self._link.get("TempComp"))

    def _set_temp_comp(self, on: bool) -> None:
        """``TempComp`` (PUT)."""
        self._link.set("TempComp", on)
