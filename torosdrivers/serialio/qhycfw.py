"""QHY CFW2/CFW3 filter-wheel serial protocol.

Source: QHYCCD's CFW serial protocol as implemented by INDI's ``qhycfw3.cpp``.
9600 baud 8N1, no terminators. ``VRS`` answers the firmware version in 8
characters; ``MXP`` the highest slot number as one character (``F`` for 16
slots); ``NOW`` the current slot as one digit. A single digit ``0``-``9``
moves to that slot and the wheel answers the same digit when it arrives (a
late reply, up to tens of seconds later).
"""

from __future__ import annotations

__all__ = ["VERSION", "MAX_POSITION", "CURRENT", "DIGITS", "move", "slots_from_mxp"]

VERSION = b"VRS"
MAX_POSITION = b"MXP"
CURRENT = b"NOW"
DIGITS = b"0123456789"


def move(slot: int) -> bytes:
    """The command that moves to a 0-based slot (0-9)."""
    if not 0 <= slot <= 9:
        raise ValueError(f"slot {slot}: the QHY serial protocol addresses slots 0 to 9")
    return str(slot).encode()


def slots_from_mxp(reply: bytes) -> int:
    """Number of slots from the ``MXP`` reply."""
    return 16 if reply == b"F" else int(reply) + 1
