"""A Moonlite (or Moonlite-speaking) focuser over a serial line (protocol in `torosdrivers.serialio.moonlite`).

The protocol cannot say the focuser's travel, step size or whether
compensation is on: ``max_step`` and ``step_size`` come from the
configuration, and the compensation state is the one this backend last set
(off at connect, as the controller powers up). Tested over a pty and
``socket://`` against the serial simulator (``tests/contract``), and by
INDI's own ``indi_moonlite_focus`` where ``indi-bin`` is installed.
"""

from __future__ import annotations

import logging

from ..errors import InvalidValueError
from ..serialio import moonlite
from ..serialio.device import SerialDeviceMixin
from ..serialio.link import GarbledReply, Reader
from .base import Focuser

__all__ = ["MoonliteFocuser"]

log = logging.getLogger(__name__)


def _decoded(parse):
    """A reader of one ``#``-ended reply through ``parse`` (a reply it cannot parse is garbled)."""
    def read(reader: Reader):
        reply = reader.until(b"#")
        try:
            return parse(reply)
        except ValueError as exc:
            raise GarbledReply(str(exc)) from None
    return read


_number = _decoded(moonlite.parse_hex)
_celsius = _decoded(moonlite.temperature_of)


def _moving(reader: Reader) -> bool:
    reply = reader.until(b"#")
    if reply.endswith(b"1#"):  # "01#", or "1#" on some firmwares (as INDI accepts)
        return True
    if reply.endswith(b"0#"):
        return False
    raise GarbledReply(f"{reply!r} is not an answer to :GI#")


class MoonliteFocuser(SerialDeviceMixin, Focuser):
    """A Moonlite focuser.

    Parameters
    ----------
    port
        pyserial URL or device path.
    max_step
        The focuser's travel in steps (at most 65535, the protocol's).
    step_size
        Micrometres per step, if known.
    baudrate, timeout, retries
        Line settings; ``timeout`` bounds each reply.
    """

    def __init__(self, port: str, *, max_step: int = moonlite.MAX_STEP, step_size: float | None = None,
                 baudrate: int = 9600, timeout: float = 2.0, poll_interval: float = 0.1, retries: int = 2,
                 move_timeout: float = 300.0) -> None:
        if isinstance(max_step, bool) or not isinstance(max_step, int) or not 1 <= max_step <= moonlite.MAX_STEP:
            raise InvalidValueError(f"max_step={max_step!r}: expected a whole number from 1 to {moonlite.MAX_STEP}")
        name = self._init_serial("Moonlite", port, baudrate=baudrate, timeout=timeout, retries=retries)
        super().__init__(name, timeout=move_timeout, poll_interval=poll_interval)
        self._top = max_step
        self._size = step_size
        self._comp = False
        self.firmware = ""

    def _on_connect(self) -> None:
        """``:GV#`` (two characters, some firmwares add ``#``), then ``:GP#``; compensation off."""
        self.firmware = self._link.transact(moonlite.VERSION, lambda r: r.exact(2).decode("latin-1"),
                                            idempotent=True, label="firmware version (:GV#)")
        self._link.transact(moonlite.POSITION, _number, idempotent=True, label="position (:GP#)")
        self._link.transact(moonlite.COMP_OFF, label="compensation off (:-#)")
        self._comp = False

    def _ping(self) -> None:
        self._link.transact(moonlite.POSITION, _number, idempotent=True, label="position (:GP#)")

    def _max_step(self) -> int:
        return self._top

    def _step_size(self) -> float | None:
        return self._size

    def _position(self) -> int:
        return self._link.transact(moonlite.POSITION, _number, idempotent=True, label="position (:GP#)")

    def _moving(self) -> bool:
        return self._link.transact(moonlite.MOVING, _moving, idempotent=True, label="moving? (:GI#)")

    def _move(self, position: int) -> None:
        self._link.transact(moonlite.set_target(position), label=f"target {position} (:SN#)")
        self._link.transact(moonlite.GO, label="go (:FG#)")

    def _halt(self) -> None:
        self._link.transact(moonlite.STOP, label="stop (:FQ#)")

    def _temperature(self) -> float:
        self._link.transact(moonlite.CONVERT, label="temperature conversion (:C#)")
        return self._link.transact(moonlite.TEMPERATURE, _celsius, idempotent=True, label="temperature (:GT#)")

    def _temp_comp_available(self) -> bool:
        return True

    def _temp_comp(self) -> bool:
        return self._comp

    def _set_temp_comp(self, on: bool) -> None:
        self._link.transact(moonlite.COMP_ON if on else moonlite.COMP_OFF,
                            label=f"compensation {'on (:+#)' if on else 'off (:-#)'}")
        self._comp = on
