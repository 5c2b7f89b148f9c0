"""The parameters each known dome action takes, declared once.

ASCOM's ``Action(name, parameters)`` passes free text, and ``SupportedActions``
lists names only, so a work order's ``Blink01: "abc"`` could only fail when
run. These declarations let a daemon check an action's parameters when the
order arrives; the simulated dome checks with the same ones. An action a dome
lists but no one declared here takes no parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..errors import InvalidValueError

__all__ = ["ActionParameters", "DECLARED", "check_parameters"]


@dataclass(frozen=True)
class ActionParameters:
    """What an action's parameter text may be.

    Attributes
    ----------
    expected
        The accepted values, in words (for error messages).
    normalize
        Returns the parameters as the device takes them, or raises ValueError.
    """

    expected: str
    normalize: Callable[[str], str]


def _count(low: int, high: int) -> Callable[[str], str]:
    def normalize(text: str) -> str:
        if text.strip() == "":
            return ""
        count = int(text.strip())
        if not low <= count <= high:
            raise ValueError(text)
        return str(count)

    return normalize


def _words(*words: str) -> Callable[[str], str]:
    def normalize(text: str) -> str:
        word = text.strip().lower()
        if word not in ("", *words):
            raise ValueError(text)
        return word

    return normalize


#: Declared parameters, by action name (matched case-insensitively, as ASCOM names are).
DECLARED: dict[str, ActionParameters] = {
    "Blink01": ActionParameters("nothing (one blink) or a blink count from 1 to 100", _count(1, 100)),
    "FlatLamp": ActionParameters("'on', 'off', or nothing (the lamp's state)", _words("on", "off")),
}
_NONE = ActionParameters("no parameters (none are declared for this action)", _words())


def check_parameters(name: str, parameters: str) -> str:
    """The parameters of action ``name`` as the device takes them.

    Raises
    ------
    InvalidValueError
        Names the action, the value and what it takes.
    """
    spec = next((s for n, s in DECLARED.items() if n.casefold() == name.casefold()), _NONE)
    try:
        return spec.normalize(parameters)
    except ValueError:
        raise InvalidValueError(f"{name} parameters={parameters[:60]!r}: expected {spec.expected}") from None
