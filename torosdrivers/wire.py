"""The wire trace: every command and reply of every device, at DEBUG, off by default.

Serial links log each byte string they send (``>``) and receive (``<``) to
``torosdrivers.wire.serial``; Alpaca clients log each request and reply to
``torosdrivers.wire.alpaca``. These loggers drop their records unless the
trace is on (`set_wire_trace`), whatever the rest of the logging's level, so
turning a daemon to DEBUG does not flood its log with traffic by accident.
The daemons turn it on with ``Logging: {Wire Trace: true}`` or ``--debug``.
"""

from __future__ import annotations

import logging

__all__ = ["WIRE", "wire_logger", "set_wire_trace", "wire_trace_on"]

WIRE = "torosdrivers.wire"

logging.getLogger(WIRE).setLevel(logging.WARNING)


def wire_logger(kind: str) -> logging.Logger:
    """The wire-trace logger of one kind of link (``"serial"``, ``"alpaca"``)."""
    return logging.getLogger(f"{WIRE}.{kind}")


def set_wire_trace(on: bool = True) -> None:
    """Turn the wire trace on (DEBUG records pass) or off."""
    logging.getLogger(WIRE).setLevel(logging.DEBUG if on else logging.WARNING)


def wire_trace_on() -> bool:
    """Whether the wire trace is on."""
    return logging.getLogger(WIRE).isEnabledFor(logging.DEBUG)
