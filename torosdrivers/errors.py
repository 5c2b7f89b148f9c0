"""One exception hierarchy for every backend.

Every class carries the ASCOM error number it maps to (``ascom_code``), so the
Alpaca server can put it on the wire and the daemons can put it in an XML-RPC
Fault. Backends raise these classes only, never a raw ``serial``, ``requests``
or alpyca exception. Numbers are from the ASCOM Alpaca API reference; the
driver-specific range 0x500-0xFFF holds the faults ASCOM does not name.
"""

from __future__ import annotations

__all__ = [
    "DriverError",
    "UnsupportedError",
    "InvalidValueError",
    "ValueNotSetError",
    "NotConnectedError",
    "InvalidOperationError",
    "DeviceBusyError",
    "ParkedError",
    "SlavedError",
    "ActionNotSupportedError",
    "OperationCancelledError",
    "DeviceTimeoutError",
    "CommunicationError",
    "error_for_code",
]


class DriverError(Exception):
    """Base of every error a torosdrivers device raises.

    Parameters
    ----------
    message
        What went wrong, naming the device, the value and what was expected.
    ascom_code
        Overrides the class's ASCOM error number (used when an Alpaca server
        sends a driver-specific number that has no class of its own).
    """

    ascom_code: int = 0x500

    def __init__(self, message: str, *, ascom_code: int | None = None) -> None:
        super().__init__(message)
        if ascom_code is not None:
            self.ascom_code = ascom_code

    @property
    def message(self) -> str:
        """The error text, without the class name."""
        return str(self)


class UnsupportedError(DriverError):
    """The device does not implement this member (ASCOM NotImplemented)."""

    ascom_code = 0x400


class InvalidValueError(DriverError, ValueError):
    """A parameter is out of range or of the wrong kind."""

    ascom_code = 0x401


class ValueNotSetError(DriverError):
    """A value was read before it was ever set."""

    ascom_code = 0x402


class NotConnectedError(DriverError):
    """The device is not connected."""

    ascom_code = 0x407


class InvalidOperationError(DriverError):
    """The call is not valid in the device's current state."""

    ascom_code = 0x40B


class DeviceBusyError(InvalidOperationError):
    """The device is owned or moved by someone else: a port held by another
    process, or a move started by another client that is still running. The
    message names the holder. A driver-specific number of its own, so it
    survives a trip through an Alpaca server; a blocking move that meets it
    waits its turn (`Device._start_then_wait`)."""

    ascom_code = 0x503


class ParkedError(InvalidOperationError):
    """The call is not valid while the device is parked."""

    ascom_code = 0x408


class SlavedError(InvalidOperationError):
    """The call is not valid while the dome is slaved to the mount."""

    ascom_code = 0x409


class ActionNotSupportedError(DriverError):
    """The named device action is not in ``supported_actions``."""

    ascom_code = 0x40C


class OperationCancelledError(DriverError):
    """An operation was aborted before it completed."""

    ascom_code = 0x40E


class DeviceTimeoutError(DriverError, TimeoutError):
    """A wait ran out of time; the message says what was waited for."""

    ascom_code = 0x501


class CommunicationError(DriverError):
    """The link to the device failed: no reply, garbled reply, port gone."""

    ascom_code = 0x502


_BY_CODE: dict[int, type[DriverError]] = {
    cls.ascom_code: cls
    for cls in (
        UnsupportedError,
        InvalidValueError,
        ValueNotSetError,
        NotConnectedError,
        InvalidOperationError,
        DeviceBusyError,
        ParkedError,
        SlavedError,
        ActionNotSupportedError,
        OperationCancelledError,
        DeviceTimeoutError,
        CommunicationError,
    )
}


def error_for_code(code: int, message: str) -> DriverError:
    """Build the error class that matches an ASCOM error number.

    Parameters
    ----------
    code
        ASCOM ErrorNumber as received from a server.
    message
        The server's ErrorMessage.

    Returns
    -------
    DriverError
        An instance of the matching subclass; an unknown number gives a plain
        ``DriverError`` that keeps the number in ``ascom_code``.
    """
    cls = _BY_CODE.get(code)
    if cls is None:
        return DriverError(message, ascom_code=code)
    return cls(message)
