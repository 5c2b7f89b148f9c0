"""The Moonlite focuser protocol spoken by a simulated focuser (`torosdrivers.serialio.moonlite` lists it).

Answers as a Moonlite controller does: queries with ``XXXX#`` (``:GV#``
with two characters and no ``#``), settings and motions with nothing; an
unknown command is ignored, as the firmware does. Stock clients (INDI's
``indi_moonlite_focus``) drive it.
"""

from __future__ import annotations

from torosdrivers.serialio import moonlite

from ..focuser import SimulatedFocuser
from .transport import Responder

__all__ = ["MoonliteResponder"]


class MoonliteResponder(Responder):
    """A Moonlite controller in front of a `SimulatedFocuser` (positions up to 65535)."""

    protocol = "Moonlite"

    def __init__(self, focuser: SimulatedFocuser, *, firmware: bytes = b"10") -> None:
        super().__init__()
        self.focuser = focuser
        focuser.connect()
        if focuser.max_step > moonlite.MAX_STEP:
            raise ValueError(f"the Moonlite protocol addresses positions up to {moonlite.MAX_STEP}")
        self.firmware = firmware[:2]
        self._target = focuser.position
        self._half = False
        self._delay = 2

    def receive(self, data: bytes) -> bytes:
        self._buffer += data
        out = bytearray()
        while True:
            start = self._buffer.find(b":")
            if start < 0:
                self._buffer.clear()
                break
            end = self._buffer.find(b"#", start)
            if end < 0:
                del self._buffer[:start]
                break
            command = bytes(self._buffer[start + 1:end])
            del self._buffer[:end + 1]
            out += self._answer(command)
        return bytes(out)

    def _answer(self, command: bytes) -> bytes:
        f = self.focuser
        if command == b"GV":
            return self.firmware
        if command == b"GP":
            return f"{f.position:04X}#".encode()
        if command == b"GN":
            return f"{self._target:04X}#".encode()
        if command == b"GI":
            return b"01#" if f.moving else b"00#"
        if command == b"GT":
            return f"{int(round(f.temperature.value * 2)) & 0xFFFF:04X}#".encode()
        if command == b"GD":
            return f"{self._delay:02X}#".encode()
        if command == b"GH":
            return b"FF#" if self._half else b"00#"
        if command == b"GC":
            return f"{int(round(f.coefficient * 2)) & 0xFF:02X}#".encode()
        if command[:2] == b"SN" and len(command) == 6:
            self._target = min(int(command[2:], 16), f.max_step)
        elif command == b"FG":
            if not f.moving:
                f.move(self._target, wait=False)
        elif command == b"FQ":
            f.halt()
            self._target = f.position
        elif command[:2] == b"SP" and len(command) == 6:
            f.sync(min(int(command[2:], 16), f.max_step))
        elif command in (b"SF", b"SH"):
            self._half = command == b"SH"
        elif command[:2] == b"SD" and len(command) == 4:
            self._delay = int(command[2:], 16)
        elif command in (b"+", b"-"):
            f.temp_comp = command == b"+"
        return b""  # :C#, :PO..#, :SC..#, and anything unknown: no answer
