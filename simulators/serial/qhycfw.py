"""The QHY CFW serial protocol spoken by a simulated filter wheel.

Like a CFW3, it greets a client that opens the port with its current slot
(one digit) before anything is asked; stock clients (INDI's ``qhycfw3``)
wait for that byte before they send ``VRS``.
"""

from __future__ import annotations

from torosdrivers.serialio import qhycfw

from ..filterwheel import SimulatedFilterWheel
from .transport import Responder

__all__ = ["QHYCFWResponder"]


class QHYCFWResponder(Responder):
    """A QHY CFW3 in front of a `SimulatedFilterWheel` (up to 10 slots)."""

    protocol = "QHYCFW"
    terminator = b""

    def __init__(self, wheel: SimulatedFilterWheel, *, firmware: bytes = b"20141117",
                 greeting_delay: float = 0.1) -> None:
        super().__init__()
        self.greeting_delay = greeting_delay
        self.wheel = wheel
        wheel.connect()
        if len(wheel.names) > 10:
            raise ValueError("the QHY serial protocol addresses at most 10 slots")
        self.firmware = firmware[:8].ljust(8, b"0")
        self._arriving: int | None = None

    def receive(self, data: bytes) -> bytes:
        self._buffer += data
        out = bytearray()
        while self._buffer:
            head = bytes(self._buffer[:1])
            if head in qhycfw.DIGITS:
                del self._buffer[:1]
                slot = int(head)
                if slot < len(self.wheel.names):
                    self.wheel.move_to(slot, wait=False)
                    self._arriving = slot  # answered by tick() on arrival
                continue
            if len(self._buffer) < 3:
                if not any(c.startswith(bytes(self._buffer)) for c in (b"VRS", b"MXP", b"NOW")):
                    self._buffer.clear()
                break
            command = bytes(self._buffer[:3])
            del self._buffer[:3]
            if command == qhycfw.VERSION:
                out += self.firmware
            elif command == qhycfw.MAX_POSITION:
                out += str(len(self.wheel.names) - 1).encode()
            elif command == qhycfw.CURRENT:
                slot = self.wheel.position
                out += str(slot if slot is not None else self._arriving or 0).encode()
        return bytes(out)

    def greeting(self) -> bytes:
        slot = self.wheel.position
        return str(slot if slot is not None else 0).encode()

    def tick(self) -> bytes:
        if self._arriving is not None and self.wheel.position == self._arriving:
            slot, self._arriving = self._arriving, None
            return str(slot).encode()
        return b""
