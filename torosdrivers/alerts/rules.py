"""What an alert's fields are observed with: the configuration's ``Alerts: Rules``.

Each rule names a filter, an exposure time and a number of exposures, and
may say when it applies (``When``): the event's most probable class
(``Classification``: BNS, NSBH, BBH, Terrestrial) and the map's mean
distance (``Min Distance`` / ``Max Distance``, Mpc: a far merger needs
longer exposures). The first rule that matches decides; a rule without
``When`` matches every alert, so the last one is the default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["AlertRule", "rules_from_config", "choose"]

CLASSES = ("BNS", "NSBH", "BBH", "Terrestrial")
_KEYS = ("Name", "When", "Filter", "Exposure Time", "Number of Exposures")
_WHEN = ("Classification", "Min Distance", "Max Distance")


@dataclass(frozen=True)
class AlertRule:
    """One rule: what to observe with, and when (None: any)."""

    name: str
    filter: str
    exposure_time: float
    exposures: int
    classification: str | None = None
    min_distance: float = 0.0
    max_distance: float = math.inf

    def matches(self, classification: dict[str, float], distance: float | None) -> bool:
        """Whether the rule applies to an event of these class probabilities and mean distance (Mpc)."""
        if self.classification is not None:
            if not classification or max(classification, key=classification.get) != self.classification:
                return False
        if self.min_distance > 0 or math.isfinite(self.max_distance):
            if distance is None or not self.min_distance <= distance <= self.max_distance:
                return False
        return True


def _number(rule: dict, key: str, where: str, low: float, high: float, integer: bool = False) -> float:
    value = rule.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not low <= value <= high or (integer and value != int(value)):
        kind = "a whole number" if integer else "a number"
        raise ValueError(f"{where}{key}: {value!r}: expected {kind} {low:g} to {high:g}")
    return float(value)


def rules_from_config(rules: Any) -> list[AlertRule]:
    """The rules as configured, checked (ValueError naming the rule and the key); the last must match every
    alert (no ``When``), so that no alert goes unobserved for want of a rule."""
    if not isinstance(rules, list) or not rules:
        raise ValueError("expected a list of rules, the last without When, e.g. [{When: {Classification: BNS}, "
                         "Filter: R, Exposure Time: 120, Number of Exposures: 3}, {Filter: R, Exposure Time: 60}]")
    out = []
    for i, rule in enumerate(rules):
        where = f"Rules[{i}]: "
        if not isinstance(rule, dict):
            raise ValueError(f"{where}expected a mapping of {list(_KEYS)}")
        unknown = [k for k in rule if k not in _KEYS]
        if unknown:
            raise ValueError(f"{where}unknown key {unknown[0]!r}; known: {list(_KEYS)}")
        if not isinstance(rule.get("Filter"), str) or not rule["Filter"]:
            raise ValueError(f"{where}Filter: {rule.get('Filter')!r}: expected a filter name of the wheel")
        when = rule.get("When", {})
        if not isinstance(when, dict) or any(k not in _WHEN for k in when):
            raise ValueError(f"{where}When: {when!r}: expected a mapping of {list(_WHEN)}")
        if "Classification" in when and when["Classification"] not in CLASSES:
            raise ValueError(f"{where}When.Classification: {when['Classification']!r}: expected one of "
                             f"{list(CLASSES)}")
        low = _number(when, "Min Distance", f"{where}When.", 0, 1e6) if "Min Distance" in when else 0.0
        high = _number(when, "Max Distance", f"{where}When.", 0, 1e6) if "Max Distance" in when else math.inf
        out.append(AlertRule(str(rule.get("Name", f"rule {i}")), rule["Filter"],
                             _number(rule, "Exposure Time", where, 0.001, 36000),
                             int(_number(rule | {"Number of Exposures": rule.get("Number of Exposures", 1)},
                                         "Number of Exposures", where, 1, 1000, integer=True)),
                             when.get("Classification"), low, high))
    if rules[-1].get("When"):
        raise ValueError(f"Rules[{len(rules) - 1}]: the last rule must have no When (it is the default)")
    return out


def choose(rules: list[AlertRule], classification: dict[str, float], distance: float | None) -> AlertRule:
    """The first rule that matches (the last always does)."""
    return next(r for r in rules if r.matches(classification, distance))
