"""Digital DomeWorks (Technical Innovations) protocol: commands and the GINF packet.

Commands are four ASCII characters without terminator (``GINF``, ``Gnnn``,
``GOPN``, ``GCLS``, ``GHOM``); any two other characters abort. While a command
runs the controller streams single characters (``L``/``R`` rotating, ``T``
tick, ``P<ticks>\\r`` position, ``O``/``C`` shutter moving, ``S`` shutter tick,
``Z<n>\\r`` shutter encoder) and ends with a full GINF packet. Source: the DDW
manual as summarised in INDI's ``ddw_dome.cpp``.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass

from .link import GarbledReply

__all__ = ["Ginf", "ABORT", "goto"]

ABORT = b"!!"

_FIELDS = 23


def goto(azimuth: float) -> bytes:
    """``Gnnn``: go to a whole-degree azimuth."""
    return f"G{round(azimuth) % 360:03d}".encode()


@dataclass
class Ginf:
    """The 23 integers of a GINF packet, by name."""

    version: int
    dticks: int
    home_ticks: int
    coast: int
    azimuth_ticks: int
    slave: int
    shutter: int  # 0 unknown, 1 closed, 2 open
    dsr: int
    home_sensor: int  # 0 at home, 1 not
    htick_ccw: int
    htick_cw: int
    user_pins: int
    weather_age: int
    wind_direction: int
    wind_speed: int
    temperature: int
    humidity: int
    wetness: int
    snow: int
    wind_peak: int
    scope_azimuth: int
    deadzone: int
    offset: int

    @property
    def azimuth(self) -> float:
        """Azimuth in degrees: 360 x ticks / dticks."""
        return 360.0 * self.azimuth_ticks / self.dticks

    def encode(self) -> bytes:
        values = astuple(self)
        return ("V" + ",".join(str(v) for v in values) + "\r").encode()

    @classmethod
    def parse(cls, packet: bytes) -> "Ginf":
        """Parse ``V...\\r`` (leading noise is dropped).

        Raises
        ------
        GarbledReply
            Not 23 comma-separated integers after ``V``, or zero dticks.
        """
        text = packet.decode("latin-1").strip()
        start = text.rfind("V")
        try:
            values = [int(v) for v in text[start + 1 :].split(",")]
        except ValueError:
            raise GarbledReply(f"{text!r} is not a GINF packet") from None
        if start < 0 or len(values) != _FIELDS or values[1] <= 0:
            raise GarbledReply(f"{text!r} is not a GINF packet of {_FIELDS} integers")
        return cls(*values)
