"""Moonlite focuser serial protocol (spoken by Moonlite controllers and many DIY and commercial focusers).

Source: the protocol as INDI's ``moonlite.cpp`` (the stock Linux driver) and
ASCOM's Moonlite driver speak it. 9600 baud 8N1. Commands are ``:XX...#``;
numbers are hexadecimal, four digits for positions. Queries answer with the
value and ``#``; settings and motions answer nothing.

=========  =======================================  ===========================
command    meaning                                  answer
=========  =======================================  ===========================
``:GV#``   firmware version                         two characters (no ``#``)
``:GP#``   current position                         ``XXXX#``
``:GN#``   target ("new") position                  ``XXXX#``
``:GI#``   moving?                                  ``01#`` or ``00#``
``:C#``    start a temperature conversion           none
``:GT#``   temperature, signed, half degrees        ``XXXX#``
``:GD#``   step delay (speed: 02 fastest .. 20)     ``XX#``
``:GH#``   half-step mode?                          ``FF#`` or ``00#``
``:SNxxxx#`` set the target position                none
``:FG#``   go to the target                         none
``:FQ#``   stop                                     none
``:SPxxxx#`` set the current position (sync)        none
``:+#``    temperature compensation on              none
``:-#``    temperature compensation off             none
=========  =======================================  ===========================
"""

from __future__ import annotations

__all__ = ["VERSION", "POSITION", "TARGET", "MOVING", "CONVERT", "TEMPERATURE", "DELAY", "HALF_STEP", "GO", "STOP",
           "COMP_ON", "COMP_OFF", "MAX_STEP", "set_target", "set_position", "hex4", "parse_hex", "temperature_of"]

VERSION = b":GV#"
POSITION = b":GP#"
TARGET = b":GN#"
MOVING = b":GI#"
CONVERT = b":C#"
TEMPERATURE = b":GT#"
DELAY = b":GD#"
HALF_STEP = b":GH#"
GO = b":FG#"
STOP = b":FQ#"
COMP_ON = b":+#"
COMP_OFF = b":-#"
#: Positions are 16-bit.
MAX_STEP = 0xFFFF
_HEX = b"0123456789ABCDEFabcdef"


def hex4(value: int) -> str:
    """A position as the protocol writes it: four upper-case hex digits."""
    if not 0 <= value <= MAX_STEP:
        raise ValueError(f"position {value}: the Moonlite protocol addresses 0 to {MAX_STEP}")
    return f"{value:04X}"


def set_target(position: int) -> bytes:
    """``:SNxxxx#``."""
    return f":SN{hex4(position)}#".encode()


def set_position(position: int) -> bytes:
    """``:SPxxxx#`` (sync: the current position is now ``position``)."""
    return f":SP{hex4(position)}#".encode()


def parse_hex(reply: bytes) -> int:
    """The number of an ``XX..#`` answer; ValueError for anything else."""
    body = reply.rstrip(b"#")
    if not body or any(c not in _HEX for c in body):
        raise ValueError(f"{reply!r} is not a hexadecimal answer")
    return int(body, 16)


def temperature_of(reply: bytes) -> float:
    """Degrees Celsius from a ``:GT#`` answer (signed 16 bits, in half degrees)."""
    raw = parse_hex(reply)
    return (raw - 0x10000 if raw & 0x8000 else raw) / 2.0
