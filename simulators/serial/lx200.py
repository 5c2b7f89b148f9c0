"""The LX200 protocol spoken by a simulated mount, in the Meade or OnStep dialect.

What third-party clients (INDI's LX200 drivers, ASCOM's generic LX200
driver, planetarium programs) send on connect and while polling, and what
this simulator answers; ``h`` marks high precision, ``l`` low (``:U#``
toggles; a mount starts in low precision after power-on). Commands may be
preceded by ``#`` (INDI clears the mount's buffer that way) or any other byte
that is not ``:``: such bytes are ignored, as by the controller.

========================  ==========================================================
command                   reply
========================  ==========================================================
ACK (0x06)                ``P`` (polar: the simulated mount is a German equatorial)
``:GVP#`` ``:GVN#``       product (``LX200GPS`` / ``On-Step``), firmware ``#``-terminated
``:GVD#`` ``:GVT#``       firmware date ``Mmm DD YYYY#``, time ``HH:MM:SS#``
``:GR#`` ``:Gr#``         RA / target RA: h ``HH:MM:SS#``, l ``HH:MM.T#``
``:GD#`` ``:Gd#``         Dec / target Dec: h ``sDD*MM:SS#``, l ``sDD*MM#``
``:GA#``                  altitude: h ``sDD*MM:SS#``, l ``sDD*MM#``
``:GZ#``                  azimuth: h ``DDD*MM:SS#``, l ``DDD*MM#``
``:GS#``                  sidereal time ``HH:MM:SS#`` (both precisions, as Meade's
                          spec and OnStep's firmware answer)
``:Gt#`` ``:Gg#``         latitude ``sDD*MM#``, longitude ``sDDD*MM#`` (positive WEST)
``:GC#`` ``:GL#``         local date ``MM/DD/YY#``, local time ``HH:MM:SS#``
``:Ga#``                  local time, 12-hour ``HH:MM:SS#``
``:GG#``                  hours to add to local time for UTC, ``sHH#``
``:Gc#``                  clock format ``24#``
``:GM#`` ``:GN#`` ...     site names 1-4, ``<name>#``
``:GT#``                  tracking rate in Hz: Meade ``60.1#``, OnStep ``60.16427#``
                          (``0.0``/``0.00000`` when not tracking)
``:Gh#`` ``:Go#``         lowest / highest altitude limit ``sDD*#`` / ``DD*#``
``:GW#``                  (OnStep) ``G`` German, ``T``/``N`` tracking or not,
                          ``P``/``H`` parked or not, then ``#``
``:GU#``                  (OnStep) status flags: ``n`` not tracking, ``N`` not
                          slewing, ``p``/``P``/``I`` unparked/parked/parking
``:D#``                   distance bars: ``\x7f#`` while slewing, ``#`` when done
``:Sr HH:MM:SS#``         target RA: ``1`` / ``0`` (both precisions accepted)
``:Sd sDD*MM:SS#``        target Dec: ``1`` / ``0``
``:MS#``                  slew: ``0`` accepted. Meade: ``1<msg>#`` below the horizon,
                          ``2<msg>#`` below the higher limit, ``1Parked#`` parked.
                          OnStep: a bare digit, ``1`` below the horizon, ``2``
                          above the overhead limit, ``4`` parked, ``5`` busy
``:CM#``                  sync: ``Coordinates matched#``
``:Q#`` ``:Qn#``...       stop: no reply
``:hP#``                  park: Meade no reply; OnStep ``1``
``:hR#``                  (OnStep) unpark: ``1``
``:Te#`` ``:Td#``         (OnStep) tracking on / off: ``1``
``:U#``                   toggle precision: no reply
``:SC MM/DD/YY#``         ``1Updating Planetary Data#`` and a line of spaces ``#``
``:SL`` ``:SG`` ``:St``   set time, UTC offset, latitude, longitude: ``1``
``:Sg`` ``:SM``...
``:RG#`` ``:RC#``...      slew-rate selection: no reply
========================  ==========================================================

Anything else is logged at WARNING, so a client's command that the simulator
lacks shows up, and answered as the controller does: not at all.
"""

from __future__ import annotations

import logging

import astropy.units as u
from astropy.time import TimeDelta

from torosdrivers.coords import epoch_to_icrs, icrs_to_epoch
from torosdrivers.errors import DriverError, InvalidValueError, ParkedError
from torosdrivers.serialio import GarbledReply
from torosdrivers.serialio import lx200 as fmt

from ..mount import SimulatedMount
from .transport import Responder

__all__ = ["LX200Responder", "DIALECTS"]

log = logging.getLogger(__name__)

DIALECTS = ("onstep", "meade")
_PRODUCT = {"onstep": (b"On-Step#", b"4.24#"), "meade": (b"LX200GPS#", b"4.2g#")}
_SILENT = frozenset({"RG", "RC", "RM", "RS", "Mn", "Ms", "Me", "Mw", "Qn", "Qs", "Qe", "Qw", "TQ", "T+", "T-"})


class LX200Responder(Responder):
    """An LX200 controller in front of a `SimulatedMount`.

    Parameters
    ----------
    mount
        The mount it drives (connected and unparked here: the hardware is on,
        and a powered-up LX200 is not parked).
    hours_to_utc
        What ``:GG#`` answers: hours to add to local time to get UTC.
    dialect
        ``"onstep"`` (park, tracking and status commands; bare-digit ``:MS#``
        refusals) or ``"meade"`` (Meade's ``1<msg>#`` refusals, no OnStep
        extensions).
    site_name
        What ``:GM#`` answers.
    """

    protocol = "LX200"
    terminator = b"#"

    def __init__(self, mount: SimulatedMount, *, hours_to_utc: int = 3, dialect: str = "onstep",
                 site_name: str = "TOROS") -> None:
        super().__init__()
        if dialect not in DIALECTS:
            raise InvalidValueError(f"dialect={dialect!r}: expected one of {list(DIALECTS)}")
        self.mount = mount
        mount.connect()
        if mount.at_park:
            mount.unpark()
        mount.tracking = True
        self.dialect = dialect
        self.onstep = dialect == "onstep"
        self.site_name = site_name
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
                out += b"P"  # polar (a German equatorial answers P too; G is no Meade answer)
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
        key = cmd[:2]
        handler = getattr(self, f"_{key}", None)
        if handler is None or (not self.onstep and key in _ONSTEP_ONLY):
            if key in _SILENT:
                return b""
            log.warning("LX200 simulator (%s): unknown command :%s# ignored", self.dialect, cmd)
            return b""
        try:
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
        product, firmware = _PRODUCT[self.dialect]
        return {"P": product, "N": firmware, "D": b"Nov 26 2026#", "T": b"12:00:00#"}.get(arg, b"#")

    def _GR(self, arg: str) -> bytes:
        return (fmt.format_ra(self._jnow()[0], high=self.high) + "#").encode()

    def _GD(self, arg: str) -> bytes:
        return (fmt.format_dec(self._jnow()[1], high=self.high) + "#").encode()

    def _Gr(self, arg: str) -> bytes:
        return (fmt.format_ra(self.target[0] or 0.0, high=self.high) + "#").encode()

    def _Gd(self, arg: str) -> bytes:
        return (fmt.format_dec(self.target[1] or 0.0, high=self.high) + "#").encode()

    def _U(self, arg: str) -> bytes:
        self.high = not self.high
        return b""

    def _GA(self, arg: str) -> bytes:
        return (fmt.format_dec(float(self.mount.altaz.alt.deg), high=self.high) + "#").encode()

    def _GZ(self, arg: str) -> bytes:
        return (fmt.format_azimuth(float(self.mount.altaz.az.deg), high=self.high) + "#").encode()

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

    def _Ga(self, arg: str) -> bytes:
        return self._local().strftime("%I:%M:%S#").encode()

    def _Gc(self, arg: str) -> bytes:
        return b"24#"

    def _GM(self, arg: str) -> bytes:
        return f"{self.site_name}#".encode("latin-1", "replace")

    def _GN(self, arg: str) -> bytes:
        return b"Site 2#"

    def _GO(self, arg: str) -> bytes:
        return b"Site 3#"

    def _GP(self, arg: str) -> bytes:
        return b"Site 4#"

    def _GT(self, arg: str) -> bytes:
        tracking = self.mount.tracking and not self.mount.slewing
        if self.onstep:
            return f"{60.16427 if tracking else 0.0:08.5f}#".encode()
        return f"{60.1 if tracking else 0.0:04.1f}#".encode()

    def _Gh(self, arg: str) -> bytes:
        return f"{round(self.mount.min_altitude.to_value(u.deg)):+03d}*#".encode()

    def _Go(self, arg: str) -> bytes:
        return b"90*#"

    def _GW(self, arg: str) -> bytes:
        m = self.mount
        return ("G" + ("T" if m.tracking else "N") + ("P" if m.at_park else "H") + "#").encode()

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
            return self._refuse("1", "No target set")
        if self.mount.slewing and self.onstep:
            return b"5"  # OnStep: a goto is already in progress
        try:
            self.mount.slew_to(self._target_icrs(), wait=False)
        except ParkedError:
            return b"4" if self.onstep else b"1Parked#"
        except InvalidValueError:
            return self._refuse("1", "Object Below Horizon")
        return b"0"

    def _refuse(self, code: str, message: str) -> bytes:
        """A refusal in the dialect's form: OnStep a bare digit, Meade the digit and a message."""
        return code.encode() if self.onstep else f"{code}{message}#".encode()

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
        return b"1" if self.onstep else b""

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

    _SG = _St = _Sg = _SM = _SN = _SO = _SP = _Sh = _So = _SL


_ONSTEP_ONLY = frozenset({"GU", "GW", "hR", "Te", "Td"})
