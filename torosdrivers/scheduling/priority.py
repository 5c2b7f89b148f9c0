"""Priority on receipt (0-10, higher first): explicit rules, and a record of the one that decided.

The TOROS documentation: "Priority is assigned by the scheduler module when
receiving the WO. It will be a float number in the range 0-10". How, here:

1. An order that asks for a priority keeps it; else one that gives a
   ``Probability`` (a transient's host galaxy, 0-1) gets ``Probability x
   scale``; else the first rule with a ``Priority`` whose ``When`` matches
   the order sets it; else the default.
2. Then every rule with a ``Cap`` whose ``When`` matches holds the priority
   at most at its cap (whatever set it: users outside the project cannot ask
   for 10).

``When`` matches work-order keys exactly as written in the order, values
compared case-insensitively (``{"Type of job": "transient"}`` matches
``"Transient"``); an empty ``When`` matches every order. The answer says
which step and rule decided, so a journal can record why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

__all__ = ["Rule", "Assigned", "assign_priority", "rules_from_config"]


@dataclass(frozen=True)
class Rule:
    """One priority rule: when an order matches ``when``, set ``priority`` and/or hold it at ``cap``."""

    name: str
    when: Mapping[str, Any] = field(default_factory=dict)
    priority: float | None = None
    cap: float | None = None

    def matches(self, order: Mapping[str, Any]) -> bool:
        return all(key in order and _same(order[key], value) for key, value in self.when.items())


@dataclass(frozen=True)
class Assigned:
    """The priority an order gets, and why (``"rule 'transients' set 9; capped at 6 by rule 'guests'"``)."""

    priority: float
    why: str


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.strip().casefold() == b.strip().casefold()
    return a == b


def _clip(value: float) -> float:
    return float(min(max(value, 0.0), 10.0))


def assign_priority(order: Mapping[str, Any], rules: Sequence[Rule], *, default: float = 5.0,
                    probability_scale: float = 10.0) -> Assigned:
    """The priority ``order`` (a checked work order) gets under ``rules``, and why."""
    asked = order.get("Priority")
    probability = order.get("Probability")
    if asked is not None:
        priority, why = _clip(float(asked)), f"asked for {float(asked):g}"
    elif probability is not None:
        priority = _clip(float(probability) * probability_scale)
        why = f"probability {float(probability):g} x {probability_scale:g}"
    else:
        rule = next((r for r in rules if r.priority is not None and r.matches(order)), None)
        if rule is not None:
            priority, why = _clip(rule.priority), f"rule {rule.name!r} set {rule.priority:g}"
        else:
            priority, why = _clip(default), f"default {default:g}"
    for rule in rules:
        if rule.cap is not None and priority > rule.cap and rule.matches(order):
            priority, why = float(rule.cap), f"{why}; capped at {rule.cap:g} by rule {rule.name!r}"
    return Assigned(priority, why)


def rules_from_config(entries: Sequence[Mapping[str, Any]]) -> list[Rule]:
    """Rules from the configuration's list: ``{Name, When: {key: value}, Priority, Cap}`` each.

    Raises
    ------
    ValueError
        An entry that is not such a mapping; the message names its position and the problem.
    """
    rules = []
    for i, entry in enumerate(entries):
        where = f"Priority Rules[{i}]"
        if not isinstance(entry, Mapping):
            raise ValueError(f"{where}: expected a mapping {{Name, When, Priority, Cap}}")
        unknown = set(entry) - {"Name", "When", "Priority", "Cap"}
        if unknown:
            raise ValueError(f"{where}: unknown key {sorted(unknown)[0]!r}; expected Name, When, Priority, Cap")
        when = entry.get("When", {}) or {}
        if not isinstance(when, Mapping):
            raise ValueError(f"{where}.When: expected a mapping of work-order keys to values")
        values = {}
        for key in ("Priority", "Cap"):
            value = entry.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not 0 <= value <= 10):
                raise ValueError(f"{where}.{key}: {value!r}: expected a number from 0 to 10")
            values[key] = None if value is None else float(value)
        if values["Priority"] is None and values["Cap"] is None:
            raise ValueError(f"{where}: give a Priority, a Cap or both")
        rules.append(Rule(str(entry.get("Name") or f"rule {i + 1}"), dict(when), values["Priority"], values["Cap"]))
    return rules
