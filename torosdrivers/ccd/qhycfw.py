"""QHY CFW2/CFW3 filter wheel over a serial line (protocol in `torosdrivers.serialio.qhycfw`).

Source of the protocol: QHYCCD's CFW serial commands as implemented in INDI's
``qhycfw3.cpp``: ``VRS`` (firmware, 8 characters), ``MXP`` (highest slot),
``NOW`` (current slot), and a digit to move, answered with the same digit on
arrival. The wheel stores no names: give them with ``names``.

Tested over a pty and ``socket://`` (``tests/contract``, time scale 1000) and
over those and ``rfc2217://`` at the device's own speed
(``tests/serial/test_realtime.py``); ``/dev/tty*`` is read exactly as a pty is.
"""

from __future__ import annotations

import logging

from ..errors import CommunicationError, DeviceTimeoutError, InvalidValueError
from ..serialio import Reader
from ..serialio.device import SerialDeviceMixin
from ..serialio import qhycfw
from .filterwheel import FilterWheel

__all__ = ["QHYFilterWheel", "DEFAULT_NAMES"]

DEFAULT_NAMES = ("U", "B", "V", "R", "I", "Clear")

log = logging.getLogger(__name__)


def _digit(reader: Reader) -> int:
    return int(reader.byte(qhycfw.DIGITS))


class QHYFilterWheel(SerialDeviceMixin, FilterWheel):
    """A QHY CFW2/CFW3 wheel.

    Parameters
    ----------
    port
        pyserial URL or device path.
    names
        Filter names by slot; by default U, B, V, R, I, Clear, then
        ``Slot N`` for any further slots.
    baudrate, timeout
        Line settings; ``timeout`` bounds each reply (a move is bounded by
        the wait's own timeout).
    greeting_timeout
        Seconds to wait, after opening the port, for the slot digit a CFW3
        sends when it starts. A wheel behind a port server that keeps the
        line open (no reset) sends none; the handshake then goes on.
    """

    def __init__(
        self,
        port: str,
        *,
        names: list[str] | tuple[str, ...] | None = None,
        baudrate: int = 9600,
        timeout: float = 2.0,
        poll_interval: float = 0.1,
        retries: int = 2,
        greeting_timeout: float = 5.0,
    ) -> None:
        self.greeting_timeout = float(greeting_timeout)
        name = self._init_serial("QHY CFW", port, baudrate=baudrate, timeout=timeout, retries=retries)
        super().__init__(name, timeout=60.0, poll_interval=poll_interval)
        self._wanted_names = list(names) if names is not None else None
        self._filter_names: list[str] = []
        self.firmware = ""
        self._slot = 0
        self._moving_to: int | None = None

    def _on_connect(self) -> None:
        """The greeting, then ``VRS``, ``MXP``, ``NOW``."""
        link = self._link
        try:
            greeting = link.wait_reply(_digit, label="the greeting", timeout=self.greeting_timeout)
            log.debug("%s: greeted with slot %d", self.name, greeting)
        except DeviceTimeoutError:
            log.info("%s: no greeting within %g s (a wheel already running); asking", self.name,
                     self.greeting_timeout)
        self.firmware = link.transact(qhycfw.VERSION, lambda r: r.exact(8).decode("latin-1"), idempotent=True)
        count = qhycfw.slots_from_mxp(link.transact(qhycfw.MAX_POSITION, lambda r: r.byte(qhycfw.DIGITS + b"F"),
                                                    idempotent=True))
        if count > 10:
            raise CommunicationError(f"{self.name}: {count} slots; the serial protocol addresses 10")
        self._slot = link.transact(qhycfw.CURRENT, _digit, idempotent=True)
        names = self._wanted_names or [*DEFAULT_NAMES, *(f"Slot {i + 1}" for i in range(len(DEFAULT_NAMES), count))]
        if self._wanted_names is not None and len(names) != count:
            raise InvalidValueError(f"names={names!r}: the wheel has {count} slots, expected {count} names")
        self._filter_names = list(names[:count])
        self._moving_to = None

    def _names(self) -> list[str]:
        return self._filter_names

    def _position(self) -> int:
        """The arrival digit of a move, read as it comes; ``NOW`` when idle."""
        with self._lock:
            if self._moving_to is not None:
                arrived = self._link.poll(lambda r: r.available(), label=f"move to slot {self._moving_to}")
                if str(self._moving_to).encode() not in arrived:
                    return -1
                self._slot, self._moving_to = self._moving_to, None
                return self._slot
            self._slot = self._link.transact(qhycfw.CURRENT, _digit, idempotent=True)
            return self._slot

    def _move(self, slot: int) -> None:
        """The slot's digit; the wheel answers it on arrival."""
        if slot == self._position():
            return
        self._link.transact(qhycfw.move(slot), label=f"move to slot {slot}")
        self._moving_to = slot
