"""Turn user input into plain numbers in the house units, or raise.

Interfaces accept either a bare number in the house unit (seconds, degrees,
Celsius) or an astropy ``Quantity`` in any compatible unit; they return
``Quantity``. These helpers are the one place that check and convert, so every
error names the field, the value and what was expected.
"""

from __future__ import annotations

import math
from typing import Union

import astropy.units as u
import numpy as np

from .errors import InvalidValueError

__all__ = ["QuantityLike", "to_value", "as_seconds", "as_degrees", "as_celsius"]

QuantityLike = Union[float, int, u.Quantity]


def to_value(
    value: object,
    unit: u.UnitBase,
    field: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    equivalencies: list | None = None,
) -> float:
    """Return ``value`` as a finite float in ``unit``, checking its range.

    Parameters
    ----------
    value
        A real number (taken to be in ``unit``) or a ``Quantity``.
    unit
        The unit to convert to.
    field
        Name of the parameter, used in the error message.
    minimum, maximum
        Inclusive bounds in ``unit``.
    equivalencies
        Passed to ``Quantity.to_value`` (temperature needs one).

    Raises
    ------
    InvalidValueError
        Wrong type, incompatible unit, NaN/inf, or out of range.
    """
    if isinstance(value, u.Quantity):
        try:
            number = float(value.to_value(unit, equivalencies=equivalencies or []))
        except (u.UnitConversionError, TypeError) as exc:
            raise InvalidValueError(
                f"{field}={value!s}: expected a value in {unit}"
            ) from exc
    elif isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise InvalidValueError(
            f"{field}={value!r}: expected a number in {unit}, got {type(value).__name__}"
        )
    else:
        number = float(value)
    if not math.isfinite(number):
        raise InvalidValueError(f"{field}={number}: expected a finite number in {unit}")
    if minimum is not None and number < minimum:
        raise InvalidValueError(
            f"{field}={number:g} {unit}: expected at least {minimum:g} {unit}"
        )
    if maximum is not None and number > maximum:
        raise InvalidValueError(
            f"{field}={number:g} {unit}: expected at most {maximum:g} {unit}"
        )
    return number


def as_seconds(value: object, field: str, **bounds: float | None) -> float:
    """Duration in seconds (see `to_value`)."""
    return to_value(value, u.s, field, **bounds)


def as_degrees(value: object, field: str, **bounds: float | None) -> float:
    """Angle in degrees (see `to_value`)."""
    return to_value(value, u.deg, field, **bounds)


def as_celsius(value: object, field: str, **bounds: float | None) -> float:
    """Temperature in Celsius (see `to_value`)."""
    return to_value(value, u.deg_C, field, equivalencies=u.temperature(), **bounds)
