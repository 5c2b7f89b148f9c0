"""An IGWN gravitational-wave alert, as GCN publishes it on ``igwn.gwalert``: checked against its schema.

The alert is JSON (``superevent_id``, ``alert_type`` EARLYWARNING /
PRELIMINARY / INITIAL / UPDATE / RETRACTION, ``time_created``, and an
``event`` with its false-alarm rate, significance, classification,
properties and the multi-order sky map in base64; ``event`` is null in a
retraction). It is validated against the schema IGWN publishes
(``igwn-gwalert-schema``) with ``jsonschema``, the reference validator, so
that what is refused is refused by the published contract and named by its
path (``event.far: 'high' is not of type 'number'``); then the sky map is
decoded (`SkyMap`), which the schema only says is base64 FITS.

Superevent IDs say what an alert is (GraceDB's prefixes): ``S`` a real
event, ``MS`` a mock event (the low-latency pipeline's daily drills), ``TS``
or ``T`` a test; `Alert.kind` gives ``real``, ``mock`` or ``test``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from astropy.time import Time

from .skymap import SkyMap, SkyMapError

__all__ = ["ALERT_TYPES", "Alert", "AlertError", "schema"]

ALERT_TYPES = ("EARLYWARNING", "PRELIMINARY", "INITIAL", "UPDATE", "RETRACTION")
#: The largest alert accepted (LIGO's are ~100-300 kB with their sky map).
MAX_BYTES = 32 * 2**20


class AlertError(ValueError):
    """An alert that is not a valid IGWN alert (the message names the field and why)."""


@lru_cache(maxsize=1)
def schema() -> dict:
    """The published JSON schema (``igwn_gwalert_schema/igwn.alerts.Alert.schema.json``)."""
    return json.loads(resources.files("igwn_gwalert_schema").joinpath("igwn.alerts.Alert.schema.json").read_text())


@lru_cache(maxsize=1)
def _validator():
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema())


def _where(error) -> str:
    path = ".".join(str(p) for p in error.absolute_path)
    return path or "the alert"


@dataclass(frozen=True)
class Alert:
    """One alert, validated; ``skymap`` decoded (None in a retraction)."""

    superevent_id: str
    alert_type: str
    time_created: Time
    raw: dict = field(repr=False)
    skymap: SkyMap | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, message: str | bytes | dict) -> "Alert":
        """An alert from its JSON text (or the decoded object).

        Raises
        ------
        AlertError
            Not JSON, not valid against the schema (naming the field), or a sky map that is not a
            multi-order probability map.
        """
        if isinstance(message, (str, bytes, bytearray)):
            if len(message) > MAX_BYTES:
                raise AlertError(f"the alert: {len(message)} bytes, over the {MAX_BYTES} accepted")
            try:
                data = json.loads(message)
            except (ValueError, RecursionError) as exc:
                raise AlertError(f"the alert: not JSON ({exc})") from None
        else:
            data = message
        if not isinstance(data, dict):
            raise AlertError(f"the alert: a JSON {type(data).__name__}; expected an object")
        from jsonschema.exceptions import best_match

        error = best_match(_validator().iter_errors(data))  # None when valid
        if error is not None:
            raise AlertError(f"{_where(error)}: {error.message} (IGWN alert schema)")
        # The schema requires time_created, but does not check its format; astropy does
        try:
            created = Time(data["time_created"].rstrip("Z"), format="isot", scale="utc")
        except ValueError:
            raise AlertError(f"time_created: {data['time_created']!r}: expected an ISO 8601 time") from None
        event = data.get("event") or {}
        skymap = None
        if event.get("skymap"):
            try:
                skymap = SkyMap.from_base64(event["skymap"])
            except SkyMapError as exc:
                raise AlertError(f"event.skymap: {exc}") from None
        return cls(data["superevent_id"], data["alert_type"], created, data, skymap)

    # -- what it says ------------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        """``real`` (S...), ``mock`` (MS...) or ``test`` (T..., TS...)."""
        sid = self.superevent_id
        return "mock" if sid.startswith("MS") else "test" if sid.startswith("T") else "real"

    @property
    def event(self) -> dict[str, Any]:
        """The ``event`` object ({} in a retraction)."""
        return self.raw.get("event") or {}

    @property
    def significant(self) -> bool:
        return bool(self.event.get("significant", False))

    @property
    def far(self) -> float | None:
        """False-alarm rate, Hz."""
        return self.event.get("far")

    @property
    def classification(self) -> dict[str, float]:
        """BNS, NSBH, BBH, Terrestrial probabilities (CBC events)."""
        return dict(self.event.get("classification") or {})

    @property
    def properties(self) -> dict[str, float]:
        """HasNS, HasRemnant, HasMassGap probabilities."""
        return dict(self.event.get("properties") or {})
