"""The error hierarchy and its ASCOM numbers."""

from __future__ import annotations

import pytest

from torosdrivers import errors
from torosdrivers.errors import DriverError, error_for_code

ASCOM = {
    "UnsupportedError": 0x400,
    "InvalidValueError": 0x401,
    "ValueNotSetError": 0x402,
    "NotConnectedError": 0x407,
    "ParkedError": 0x408,
    "SlavedError": 0x409,
    "InvalidOperationError": 0x40B,
    "ActionNotSupportedError": 0x40C,
    "OperationCancelledError": 0x40E,
}


@pytest.mark.parametrize("name, code", sorted(ASCOM.items()))
def test_standard_numbers(name, code):
    cls = getattr(errors, name)
    assert issubclass(cls, DriverError)
    assert cls.ascom_code == code
    rebuilt = error_for_code(code, "from the wire")
    assert type(rebuilt) is cls
    assert str(rebuilt) == "from the wire"


def test_driver_specific_numbers_are_in_the_driver_range():
    for cls in (DriverError, errors.DeviceTimeoutError, errors.CommunicationError):
        assert 0x500 <= cls.ascom_code <= 0xFFF
    assert len({cls.ascom_code for cls in (errors.DeviceTimeoutError, errors.CommunicationError, DriverError)}) == 3


def test_unknown_number_keeps_its_code():
    err = error_for_code(0x5A0, "focuser on fire")
    assert type(err) is DriverError
    assert err.ascom_code == 0x5A0


def test_errors_are_also_standard_python_errors():
    assert issubclass(errors.InvalidValueError, ValueError)
    assert issubclass(errors.DeviceTimeoutError, TimeoutError)
    assert issubclass(errors.ParkedError, errors.InvalidOperationError)
