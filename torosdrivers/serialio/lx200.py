"""Meade LX200 command formats (with the OnStep extensions), both directions.

Sources: the Meade Telescope Serial Command Protocol (LX200), INDI's
``lx200driver.cpp``, and the OnStep command reference for ``:GU#``, ``:hP#``,
``:hR#``, ``:Te#``/``:Td#``. Coordinates are of the current epoch (JNow).
Declinations and latitudes may carry ``*`` or byte 0xDF as the degree sign.
"""

from __future__ import annotations

import re

from .link import GarbledReply

__all__ = [
    "ACK",
    "format_ra",
    "format_dec",
    "format_azimuth",
    "ONSTEP_SLEW_ERRORS",
    "parse_ra",
    "parse_dec",
    "format_signed_dm",
    "parse_signed_dm",
    "parse_hms",
]

ACK = b"\x06"

# Patterns are searched anchored at the end of the reply: line noise before a
# reply is dropped, and an incomplete reply never matches.
_RA_HIGH = re.compile(r"(\d{2}):(\d{2}):(\d{2})$")
_RA_LOW = re.compile(r"(\d{2}):(\d{2})\.(\d)$")
_DEC_HIGH = re.compile(r"([+-]?)(\d{2})[*\xdf:](\d{2})[:'](\d{2})$")
_DEC_LOW = re.compile(r"([+-]?)(\d{2})[*\xdf:](\d{2})$")
_SIGNED_DM = re.compile(r"([+-]?)(\d{2,3})[*\xdf:](\d{2})(?:[:'](\d{2}))?$")


#: OnStep's bare-digit ``:MS#`` answers (its command reference).
ONSTEP_SLEW_ERRORS = {
    "1": "below the horizon limit",
    "2": "above the overhead limit",
    "3": "the controller is in standby",
    "4": "the mount is parked",
    "5": "a goto is already in progress",
    "6": "outside the limits",
    "7": "hardware fault",
    "8": "already in motion",
    "9": "unspecified error",
}


def _text(reply: bytes) -> str:
    return reply.decode("latin-1").rstrip("#").rstrip()


def format_ra(hours: float, *, high: bool = True) -> str:
    """``HH:MM:SS`` (high precision) or ``HH:MM.T`` (low) of RA in hours, rounded."""
    if high:
        total = round((hours % 24.0) * 3600.0) % 86400
        return f"{total // 3600:02d}:{total // 60 % 60:02d}:{total % 60:02d}"
    tenths = round((hours % 24.0) * 600.0) % 14400
    return f"{tenths // 600:02d}:{tenths // 10 % 60:02d}.{tenths % 10}"


def format_dec(degrees: float, *, high: bool = True) -> str:
    """``sDD*MM:SS`` (high precision) or ``sDD*MM`` (low) of a declination, rounded."""
    sign = "-" if degrees < 0 else "+"
    if high:
        total = min(round(abs(degrees) * 3600.0), 90 * 3600)
        return f"{sign}{total // 3600:02d}*{total // 60 % 60:02d}:{total % 60:02d}"
    total = min(round(abs(degrees) * 60.0), 90 * 60)
    return f"{sign}{total // 60:02d}*{total % 60:02d}"


def format_azimuth(degrees: float, *, high: bool = True) -> str:
    """``DDD*MM:SS`` (high precision) or ``DDD*MM`` (low) of an azimuth, as ``:GZ#`` answers."""
    if high:
        total = round((degrees % 360.0) * 3600.0) % (360 * 3600)
        return f"{total // 3600:03d}*{total // 60 % 60:02d}:{total % 60:02d}"
    total = round((degrees % 360.0) * 60.0) % (360 * 60)
    return f"{total // 60:03d}*{total % 60:02d}"


def parse_ra(reply: bytes) -> tuple[float, bool]:
    """RA in hours from a ``:GR#`` reply, and whether it was high precision.

    Raises
    ------
    GarbledReply
        Not an RA in either format.
    """
    text = _text(reply)
    if m := _RA_HIGH.search(text):
        h, mi, s = (int(g) for g in m.groups())
        high = True
        value = h + mi / 60 + s / 3600
    elif m := _RA_LOW.search(text):
        h, mi, t = (int(g) for g in m.groups())
        high = False
        value = h + (mi + t / 10) / 60
    else:
        raise GarbledReply(f"{text!r} is not HH:MM:SS or HH:MM.T")
    if not (value < 24 and int(m.group(2)) < 60):
        raise GarbledReply(f"{text!r} is out of range")
    return value, high


def parse_dec(reply: bytes) -> tuple[float, bool]:
    """Declination in degrees from a ``:GD#`` reply, and whether it was high precision."""
    text = _text(reply)
    if m := _DEC_HIGH.search(text):
        sign, d, mi, s = m.groups()
        high = True
        value = int(d) + int(mi) / 60 + int(s) / 3600
        bad = int(mi) >= 60 or int(s) >= 60
    elif m := _DEC_LOW.search(text):
        sign, d, mi = m.groups()
        high = False
        value = int(d) + int(mi) / 60
        bad = int(mi) >= 60
    else:
        raise GarbledReply(f"{text!r} is not sDD*MM:SS or sDD*MM")
    if bad or value > 90:
        raise GarbledReply(f"{text!r} is out of range")
    return (-value if sign == "-" else value), high


def format_signed_dm(degrees: float, width: int) -> str:
    """``sDD*MM`` or ``sDDD*MM`` (``width`` digits of degrees), as ``:Gt#`` and ``:Gg#`` answer."""
    sign = "-" if degrees < 0 else "+"
    total = round(abs(degrees) * 60.0)
    return f"{sign}{total // 60:0{width}d}*{total % 60:02d}"


def parse_signed_dm(reply: bytes) -> float:
    """Degrees from ``sDD*MM``, ``sDDD*MM`` or with ``:SS`` seconds."""
    text = _text(reply)
    m = _SIGNED_DM.search(text)
    if not m or int(m.group(3)) >= 60:
        raise GarbledReply(f"{text!r} is not sDD*MM")
    sign, d, mi, s = m.groups()
    value = int(d) + int(mi) / 60 + (int(s) / 3600 if s else 0.0)
    return -value if sign == "-" else value


def parse_hms(reply: bytes) -> tuple[int, int, int]:
    """``HH:MM:SS`` (time of day, sidereal time) as integers."""
    text = _text(reply)
    m = _RA_HIGH.search(text)
    if not m:
        raise GarbledReply(f"{text!r} is not HH:MM:SS")
    h, mi, s = (int(g) for g in m.groups())
    if h > 23 or mi > 59 or s > 59:
        raise GarbledReply(f"{text!r} is out of range")
    return h, mi, s
