"""INDI filter wheel (``INDI::FilterWheel``): the standard properties, each hook naming the one it uses.

``FILTER_SLOT.FILTER_SLOT_VALUE`` (1-based in INDI, 0-based here as in
ASCOM), Busy while the wheel turns; ``FILTER_NAME.FILTER_SLOT_NAME_1..N``
(the names, as many as the wheel has slots).
"""

from __future__ import annotations

from ..errors import DriverError
from ..indi import IndiDeviceMixin, IndiLink
from .filterwheel import FilterWheel

__all__ = ["IndiFilterWheel"]


class IndiFilterWheel(IndiDeviceMixin, FilterWheel):
    """A filter wheel driven by an INDI driver through indiserver.

    Parameters
    ----------
    address
        ``host:port`` of the indiserver.
    device
        The INDI device name (e.g. ``Filter Simulator``, ``QHYCFW2``).
    """

    _REQUIRED = ("FILTER_SLOT", "FILTER_NAME")

    def __init__(self, address: str, device: str, *, timeout: float = 10.0, poll_interval: float = 0.1) -> None:
        super().__init__(f"INDI {device}", f"INDI filter wheel {device!r} at {address}",
                         timeout=max(timeout, 120.0), poll_interval=poll_interval)
        self._link = IndiLink(address, device, timeout=timeout)

    def _names(self) -> list[str]:
        """``FILTER_NAME.FILTER_SLOT_NAME_1..N``, in slot order."""
        names = self._link.members("FILTER_NAME")
        count = int(self._link.number_range("FILTER_SLOT", "FILTER_SLOT_VALUE")[1])
        return [str(names.get(f"FILTER_SLOT_NAME_{i}", f"Filter {i}")) for i in range(1, count + 1)]

    def _position(self) -> int:
        """``FILTER_SLOT.FILTER_SLOT_VALUE`` - 1; -1 while the vector is Busy (Alert: the move failed)."""
        state = self._link.state("FILTER_SLOT")
        if state == "Busy":
            return -1
        if state == "Alert":
            raise DriverError(f"{self.name}: the wheel reports a failed move (FILTER_SLOT is Alert)")
        return int(round(self._link.number("FILTER_SLOT", "FILTER_SLOT_VALUE"))) - 1

    def _move(self, slot: int) -> None:
        """``FILTER_SLOT.FILTER_SLOT_VALUE = slot + 1``."""
        self._link.send("FILTER_SLOT", {"FILTER_SLOT_VALUE": slot + 1})
