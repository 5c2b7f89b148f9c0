"""Request parameters of the Alpaca device API, typed and checked.

GET query names match case-insensitively, PUT form names exactly, as the
Alpaca API reference requires. A missing or malformed parameter is a
`BadRequest` (HTTP 400 with a plain-text reason). A number Python would read
but a device value never is (``1_0``, ``NaN``, ``inf``, non-ASCII digits) is
`InvalidValueError` (ErrorNumber 0x401), as is a well-formed value out of
range, which the members and the device check.
"""

from __future__ import annotations

import math
import re
from urllib.parse import parse_qsl

from torosdrivers.errors import InvalidValueError

__all__ = ["BadRequest", "Params"]

_UINT32 = 2**32 - 1
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", re.ASCII)
_INTEGER = re.compile(r"[+-]?\d+", re.ASCII)


class BadRequest(Exception):
    """A request the server cannot understand: answered with HTTP 400."""


class Params:
    """Parameters of one request.

    Parameters
    ----------
    text
        The query string (GET) or the form-encoded body (PUT).
    caseless
        Match names case-insensitively (GET).
    """

    def __init__(self, text: str, *, caseless: bool) -> None:
        self.caseless = caseless
        self._items: dict[str, str] = {}
        for name, value in parse_qsl(text, keep_blank_values=True):
            self._items.setdefault(name.lower() if caseless else name, value)
        #: The request's ClientID (0 when absent), set by the server once checked.
        self.client_id = 0

    def raw(self, name: str) -> str | None:
        """The text of a parameter, or None if absent."""
        return self._items.get(name.lower() if self.caseless else name)

    def text(self, name: str, default: str | None = None) -> str:
        value = self.raw(name)
        if value is None:
            if default is not None:
                return default
            raise BadRequest(f"missing parameter {name}")
        return value

    def float(self, name: str) -> float:
        text = self.text(name)
        try:
            value = float(text)
        except ValueError:
            raise BadRequest(f"{name}={text!r} is not a number") from None
        if not _DECIMAL.fullmatch(text) or not math.isfinite(value):
            # Python's float takes '1_0', 'nan', 'inf' and non-ASCII digits; a device value is a plain decimal
            raise InvalidValueError(f"{name}={text[:40]!r}: expected a finite decimal number (digits, '.', "
                                    "an exponent; no underscores, NaN or infinity)")
        return value

    def int(self, name: str) -> int:
        text = self.text(name)
        try:
            value = int(text)
        except ValueError:
            raise BadRequest(f"{name}={text!r} is not an integer") from None
        if not _INTEGER.fullmatch(text):
            raise InvalidValueError(f"{name}={text[:40]!r}: expected a whole number in ASCII digits (no underscores)")
        return value

    def bool(self, name: str) -> bool:
        text = self.text(name)
        if text.lower() not in ("true", "false"):
            raise BadRequest(f"{name}={text!r} is not true or false")
        return text.lower() == "true"

    def transaction_id(self, name: str) -> int:
        """ClientTransactionID / ClientID: 0 when absent, else an unsigned 32-bit integer."""
        text = self.raw(name)
        if text is None or text == "":
            return 0
        try:
            value = int(text)
        except ValueError:
            value = -1
        if not 0 <= value <= _UINT32:
            raise BadRequest(f"{name}={text!r} is not an unsigned 32-bit integer")
        return value
