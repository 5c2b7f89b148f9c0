"""Meade LX200 mount over a serial line (with OnStep's park, tracking and status).

Each hook cites the command it sends (formats in `torosdrivers.serialio.lx200`).
Coordinates cross the wire as JNow and are converted to and from ICRS in the
mount's own time (`_now`: the PC clock plus the offset of the mount's clock,
read from ``:GC#``, ``:GL#``, ``:GG#`` at connect) at the mount's own site
(``:Gt#``, ``:Gg#``; the LX200 longitude is positive WEST).

Tested over a pty and ``socket://`` (``tests/contract``, time scale 1000) and
over those and ``rfc2217://`` at the device's own speed
(``tests/serial/test_realtime.py``); ``/dev/tty*`` is read exactly as a pty is.
"""

from __future__ import annotations

import logging
import re

import astropy.units as u
from astropy.coordinates import EarthLocation, SkyCoord
from astropy.time import Time, TimeDelta

from ..coords import epoch_to_icrs, icrs_to_epoch
from ..errors import InvalidOperationError, InvalidValueError, ParkedError, UnsupportedError
from ..serialio import GarbledReply, Reader
from ..serialio.device import SerialDeviceMixin
from ..serialio import lx200 as fmt
from .base import Mount

__all__ = ["LX200Mount"]

log = logging.getLogger(__name__)


def _hash_terminated(reader: Reader) -> bytes:
    return reader.until(b"#")


def _one_or_zero(reader: Reader) -> bool:
    return reader.byte(b"01") == b"1"


def _slew_reply(onstep: bool):
    """``:MS#``: ``0`` alone; else OnStep's bare digit, or Meade's digit and a ``#``-terminated message."""
    def frame(reader: Reader) -> str:
        first = reader.byte(b"0123456789")
        if first == b"0" or onstep:
            return first.decode()
        return first.decode() + reader.until(b"#")[:-1].decode("latin-1").strip()
    return frame


class LX200Mount(SerialDeviceMixin, Mount):
    """An LX200-protocol mount (Meade LX200/Autostar, OnStep and compatibles).

    Parameters
    ----------
    port
        pyserial URL or device path (``/dev/ttyUSB0``, ``socket://host:port``).
    baudrate
        Line speed (9600 for Meade).
    timeout
        Seconds a reply may take.
    min_altitude
        See `Mount`.
    elevation
        Site elevation in metres (the protocol does not carry it).
    """

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = 9600,
        timeout: float = 2.0,
        min_altitude: float = 10.0,
        elevation: float = 0.0,
        poll_interval: float = 0.2,
        retries: int = 2,
    ) -> None:
        name = self._init_serial("LX200", port, baudrate=baudrate, timeout=timeout, retries=retries)
        super().__init__(name, min_altitude=min_altitude, timeout=300.0, poll_interval=poll_interval)
        self.elevation = float(elevation)
        self.product = ""
        self.alignment = ""
        self.high_precision = True
        self._offset = TimeDelta(0.0, format="sec")
        self._location: EarthLocation | None = None
        self._onstep = False
        self._tracking_cache = True
        self._parked_cache = False

    # -- connection ------------------------------------------------------------------
    def _on_connect(self) -> None:
        """ACK, ``:GVP#``, precision (``:GR#``, ``:U#``), site and clock."""
        self.alignment = self._link.transact(fmt.ACK, lambda r: r.byte(b"PAGL").decode(), idempotent=True, label="ACK")
        self.product = self._text(":GVP#")
        self._onstep = "step" in self.product.lower()
        self._ensure_high_precision()
        lat = self._query(":Gt#", fmt.parse_signed_dm)
        west = self._query(":Gg#", fmt.parse_signed_dm)
        self._location = EarthLocation.from_geodetic(lon=-west * u.deg, lat=lat * u.deg, height=self.elevation * u.m)
        self._offset = self._read_clock() - Time.now()
        if abs(self._offset.sec) > 60:
            log.warning("%s: the mount's clock is %.0f s off the PC's; using the mount's", self.name, self._offset.sec)

    def _ensure_high_precision(self) -> None:
        """``:GR#``; in low precision (``HH:MM.T``) toggle with ``:U#`` and check again."""
        _, high = self._query(":GR#", fmt.parse_ra)
        if not high:
            self._link.transact(b":U#", label=":U#")
            _, high = self._query(":GR#", fmt.parse_ra)
        self.high_precision = high
        if not high:
            log.warning("%s: the mount answers in low precision only (RA to 6 s, Dec to 1')", self.name)

    def _read_clock(self) -> Time:
        """``:GC#`` (MM/DD/YY), ``:GL#`` (local HH:MM:SS), ``:GG#`` (hours to add to local for UTC)."""
        def date(reply: bytes) -> tuple[int, int, int]:
            text = reply.decode("latin-1").rstrip("#")[-8:]
            try:
                month, day, year = (int(p) for p in text.split("/"))
            except ValueError:
                raise GarbledReply(f"{text!r} is not MM/DD/YY") from None
            return 2000 + year, month, day

        def offset(reply: bytes) -> float:
            match = re.search(r"([+-]?\d{1,2}(?:\.\d)?)$", reply.decode("latin-1").rstrip("#").strip())
            if not match:
                raise GarbledReply(f"{reply!r} is not sHH")
            return float(match.group(1))

        year, month, day = self._query(":GC#", date)
        h, m, s = self._query(":GL#", fmt.parse_hms)
        hours = self._query(":GG#", offset)
        local = Time(f"{year:04d}-{month:02d}-{day:02d}T{h:02d}:{m:02d}:{s:02d}", scale="utc")
        return local + TimeDelta(hours * 3600.0, format="sec")

    # -- queries --------------------------------------------------------------------------
    def _query(self, command: str, parse):
        """A ``#``-terminated query, parsed; retried when lost or garbled."""
        return self._link.transact(command.encode(), lambda r: parse(r.until(b"#")), idempotent=True)

    def _text(self, command: str) -> str:
        return self._query(command, lambda b: b.decode("latin-1").rstrip("#").strip())

    def _site(self) -> EarthLocation:
        assert self._location is not None
        return self._location

    def _now(self) -> Time:
        return Time.now() + self._offset

    def _position(self) -> SkyCoord:
        """``:GR#`` and ``:GD#`` (JNow), converted to ICRS."""
        ra_hours, _ = self._query(":GR#", fmt.parse_ra)
        dec, _ = self._query(":GD#", fmt.parse_dec)
        return epoch_to_icrs(ra_hours * 15.0, dec, "jnow", self._now(), self._site())

    def _status(self) -> str | None:
        """OnStep ``:GU#`` status flags (``n`` not tracking, ``P`` parked, ``I`` parking...)."""
        return self._text(":GU#") if self._onstep else None

    def _set_target(self, target: SkyCoord) -> None:
        """``:Sr HH:MM:SS#`` and ``:Sd sDD*MM:SS#``, each answered ``1`` (valid) or ``0``."""
        ra, dec = icrs_to_epoch(target, "jnow", self._now(), self._site())
        ra_text = fmt.format_ra(ra / 15.0, high=self.high_precision)
        dec_text = fmt.format_dec(dec, high=self.high_precision)
        if not self._link.transact(f":Sr {ra_text}#".encode(), _one_or_zero, idempotent=True):
            raise InvalidValueError(f"{self.name}: the mount refused target RA {ra_text} (:Sr)")
        if not self._link.transact(f":Sd {dec_text}#".encode(), _one_or_zero, idempotent=True):
            raise InvalidValueError(f"{self.name}: the mount refused target Dec {dec_text} (:Sd)")

    # -- motion ------------------------------------------------------------------------------
    def _slewing(self) -> bool:
        """``:D#``: distance bars while slewing, ``#`` alone when done."""
        bars = self._query(":D#", lambda b: b[:-1].strip(b" \x00"))
        return len(bars) > 0

    def _slew_to(self, target: SkyCoord) -> None:
        """Target, then ``:MS#``: ``0`` slewing, else a refusal in the mount's dialect.

        Meade answers ``1<msg>#`` (below the horizon) or ``2<msg>#`` (below
        the higher altitude limit); OnStep a bare digit (`ONSTEP_SLEW_ERRORS`).
        """
        self._set_target(target)
        reply = self._link.transact(b":MS#", _slew_reply(self._onstep), label=":MS#")
        if reply == "0":
            self._parked_cache = False
            return
        code, message = reply[0], reply[1:]
        if self._onstep:
            reason = fmt.ONSTEP_SLEW_ERRORS.get(code, f"error {code}")
            cls = {"1": InvalidValueError, "2": InvalidValueError, "4": ParkedError}.get(code, InvalidOperationError)
            raise cls(f"{self.name}: the mount refused the slew: {reason} (:MS# answered {code})")
        if code == "1":
            raise InvalidValueError(f"{self.name}: the mount refused the slew: {message or 'below the horizon'} "
                                    f"(:MS# answered 1)")
        if code == "2":
            raise InvalidValueError(f"{self.name}: the mount refused the slew: {message or 'below the higher limit'} "
                                    f"(:MS# answered 2)")
        raise InvalidOperationError(f"{self.name}: the mount refused the slew (:MS# error {code}: "
                                    f"{message or 'no reason given'})")

    def _abort(self) -> None:
        """``:Q#`` (no reply)."""
        self._link.transact(b":Q#", label=":Q#")

    def _sync(self, target: SkyCoord) -> None:
        """Target, then ``:CM#`` (answers the object name)."""
        self._set_target(target)
        self._link.transact(b":CM#", _hash_terminated, label=":CM#")

    def _tracking(self) -> bool:
        status = self._status()
        return self._tracking_cache if status is None else "n" not in status

    def _set_tracking(self, on: bool) -> None:
        """``:Te#`` / ``:Td#`` (OnStep, Autostar II), answered ``1``."""
        if not self._onstep:
            raise UnsupportedError(f"{self.name}: {self.product or 'this mount'} has no tracking on/off command")
        command = b":Te#" if on else b":Td#"
        if not self._link.transact(command, _one_or_zero, idempotent=True):
            raise InvalidOperationError(f"{self.name}: the mount refused {command.decode()}")
        self._tracking_cache = on

    def _at_park(self) -> bool:
        status = self._status()
        return self._parked_cache if status is None else "P" in status

    def _park(self) -> None:
        """``:hP#`` (OnStep answers ``1``; Autostar nothing)."""
        if self._onstep:
            if not self._link.transact(b":hP#", _one_or_zero, label=":hP#"):
                raise InvalidOperationError(f"{self.name}: the mount refused to park (:hP#)")
        else:
            self._link.transact(b":hP#", label=":hP#")
            self._parked_cache = True

    def _unpark(self) -> None:
        """``:hR#`` (OnStep), answered ``1``."""
        if not self._onstep:
            self._parked_cache = False
            return
        if not self._link.transact(b":hR#", _one_or_zero, idempotent=True):
            raise InvalidOperationError(f"{self.name}: the mount refused to unpark (:hR#)")
