"""The LX200 protocol (OnStep dialect) spoken by a simulated mount.

Answers the commands a real mount answers on connect (ACK, ``:GVP#``,
``:GC#``, ``:GL#``, ``:GG#``, ``:Gt#``, ``:Gg#``...) in their real formats,
starts in low precision as after a power cycle, and answers ``:SC`` with the
classic two strings.
"""

from __future__ import annotations

import logging

from astropy.time import TimeDelta

from torosdrivers.coords import epoch_to_icrs, icrs_to_epoch
from torosdrivers.errors import DriverError, InvalidValueError, ParkedError
from torosdrivers.serialio import GarbledReply
from torosdrivers.serialio import lx200 as fmt

from ..mount import SimulatedMount
from .transport import Responder

__all__ = ["LX200Responder"]

log = logging.getLogger(__name__)


class LX200Responder(Responder):
    """An OnStep-flavoured LX200 controller in front of a `SimulatedMount`.

    Parameters
    ----------
    mount
        The mount it drives (connected here: the hardware is on).
    hours_to_utc
        What ``:GG#`` answers: hours to add to local time to get UTC.
    """

    protocol = "LX200"
    terminator = b"#"

    def __init__(self, mount: SimulatedMount, *, hours_to_utc: int = 3) -> None:
        super().__init__()
        self.mount = mount
        mount.connect()
        self.hours_to_utc = hours_to_utc
        self.high = False  # low precision after power-on
        self.target: list[float | None] = [None, None]  # JNow RA hours, Dec degrees
        self._jnow()  # astropy's first apparent-place transform takes a second; a controller answers at once

    def receive(self, data: bytes) -> bytes:
        self._buffer += data
        out = bytearray()
        while self._buffer:
            if self._buffer[:1] == fmt.ACK:
                del self._buffer[:1]
                out += b"G"  # German equatorial
            elif self._buffer[:1] == b":":
                end = self._buffer.find(b"#")
                if end < 0:
                    if len(self._buffer) > 64:
                        self._buffer.clear()  # no command is that long: line noise
                    break
                command = self._buffer[1:end].decode("latin-1")
                del self._buffer[: end + 1]
                out += self.command(command)
            else:
                del self._buffer[:1]  # noise between commands is ignored, as by the real thing
        return bytes(out)

    # -- commands ----------------------------------------------------------------------
    def command(self, cmd: str) -> bytes:
        try:
            handler = getattr(self, f"_{cmd[:2]}", None)
            if handler is None:
                log.debug("LX200 simulator: ignored :%s#", cmd)
                return b""
            return handler(cmd[2:].strip())
        except DriverError as exc:
            log.debug("LX200 simulator: :%s# failed: %s", cmd, exc)
            return b"0"

    def _jnow(self) -> tuple[float, float]:
        m = self.mount
        ra, dec = icrs_to_epoch(m.position, "jnow", m.time, m.site)
        return ra / 15.0, dec

    def _local(self):
        return self.mount.time - TimeDelta(self.hours_to_utc * 3600.0, format="sec")

    def _GV(self, arg: str) -> bytes:
        return {"P": b"On-Step#", "N": b"4.24#", "D": b"Nov 26 2026#", "T": b"12:00:00#"}.get(arg, b"#")

    def _GR(self, arg: str) -> bytes:
        return (fmt.format_ra(self._jnow()[0], high=self.high) + "#").encode()

    def _GD(self, arg: str) -> bytes:
        return (fmt.format_dec(self._jnow()[1], high=self.high) + "#").encode()

    def _U(self, arg: str) -> bytes:
        self.high = not self.high
        return b""

    def _GA(self, arg: str) -> bytes:
        return (fmt.format_dec(float(self.mount.altaz.alt.deg)) + "#").encode()

    def _GZ(self, arg: str) -> bytes:
        az = round(float(self.mount.altaz.az.deg) * 3600) % (360 * 3600)
        return f"{az // 3600:03d}*{az // 60 % 60:02d}:{az % 60:02d}#".encode()

    def _GS(self, arg: str) -> bytes:
        m = self.mount
        return (fmt.format_ra(float(m.time.sidereal_time("apparent", longitude=m.site.lon).hour)) + "#").encode()

    def _Gt(self, arg: str) -> bytes:
        return (fmt.format_signed_dm(float(self.mount.site.lat.deg), 2) + "#").encode()

    def _Gg(self, arg: str) -> bytes:
        return (fmt.format_signed_dm(-float(self.mount.site.lon.deg), 3) + "#").encode()  # west positive

    def _GC(self, arg: str) -> bytes:
        return self._local().strftime("%m/%d/%y#").encode()

    def _GL(self, arg: str) -> bytes:
        return self._local().strftime("%H:%M:%S#").encode()

    def _GG(self, arg: str) -> bytes:
        return f"{self.hours_to_utc:+03d}#".encode()

    def _GU(self, arg: str) -> bytes:
        m = self.mount
        flags = ""
        if not m.tracking:
            flags += "n"
        if not m.slewing:
            flags += "N"
        flags += "I" if m.parking else ("P" if m.at_park else "p")
        return (flags + "#").encode()

    def _Sr(self, arg: str) -> bytes:
        try:
            self.target[0] = fmt.parse_ra(arg.encode())[0]
        except GarbledReply:
            return b"0"
        return b"1"

    def _Sd(self, arg: str) -> bytes:
        try:
            self.target[1] = fmt.parse_dec(arg.encode())[0]
        except GarbledReply:
            return b"0"
        return b"1"

    def _target_icrs(self):
        ra, dec = self.target
        m = self.mount
        return epoch_to_icrs(ra * 15.0, dec, "jnow", m.time, m.site)

    def _MS(self, arg: str) -> bytes:
        if None in self.target:
            return b"1No target set#"
        try:
            self.mount.slew_to(self._target_icrs(), wait=False)
        except ParkedError:
            return b"4Parked#"
        except InvalidValueError:
            return b"1Object Below Horizon#"
        return b"0"

    def _CM(self, arg: str) -> bytes:
        if None in self.target:
            return b"No target#"
        self.mount.sync(self._target_icrs())
        return b"Coordinates matched#"

    def _Q(self, arg: str) -> bytes:
        if not self.mount.at_park:
            self.mount.abort()
        return b""

    def _D(self, arg: str) -> bytes:
        return b"\x7f#" if self.mount.slewing else b"#"

    def _hP(self, arg: str) -> bytes:
        self.mount.park(wait=False)
        return b"1"

    def _hR(self, arg: str) -> bytes:
        self.mount.unpark()
        return b"1"

    def _Te(self, arg: str) -> bytes:
        self.mount.tracking = True
        return b"1"

    def _Td(self, arg: str) -> bytes:
        self.mount.tracking = False
        return b"1"

    def _SC(self, arg: str) -> bytes:
        return b"1Updating Planetary Data#" + b" " * 32 + b"#"

    def _SL(self, arg: str) -> bytes:
        return b"1"

    _SG = _St = _Sg = _SL
