"""When to refocus, and where each filter focuses: the rules around `autofocus`.

Best focus moves with the tube's temperature (the metal shrinks as the
night cools) and with the filter (each glass has its own thickness). The
keeper runs `autofocus`:

- at the start of each night (the first light of a night folder),
- when the focuser's probe has moved more than ``temperature_change``
  degrees since the last run,
- when asked (a ``Focus`` work order, an Observation's ``Autofocus: Yes``),

and between runs, on a filter change, moves the focuser by the difference of
the two filters' known offsets (``filter_offsets``, steps, as NINA and Ekos
keep them), so one run serves every filter.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Mapping

from ..ccd import Camera
from ..errors import DriverError
from ..focuser import Focuser
from .autofocus import FocusResult, autofocus

__all__ = ["FocusKeeper"]

log = logging.getLogger(__name__)


class FocusKeeper:
    """Keeps a camera's stars sharp through a night.

    Parameters
    ----------
    camera, focuser
        Connected devices.
    step, exposure
        `autofocus`'s sample spacing (steps) and seconds per frame.
    temperature_change
        Celsius of drift that calls for a new run.
    filter_offsets
        Filter name -> steps its best focus lies from the reference's (missing: 0).
    """

    def __init__(self, camera: Camera, focuser: Focuser, *, step: int = 100, exposure: float = 5.0,
                 temperature_change: float = 1.0, filter_offsets: Mapping[str, int] | None = None) -> None:
        self.camera, self.focuser = camera, focuser
        self.step, self.exposure = int(step), float(exposure)
        self.temperature_change = float(temperature_change)
        self.filter_offsets = {str(k): int(v) for k, v in (filter_offsets or {}).items()}
        self.last: FocusResult | None = None
        self.last_filter: str | None = None  # the filter the last run was made in
        self.night: str | None = None  # the night folder of the last run
        self.reason = ""  # why the last run was made
        self.when = ""  # UTC of the last run (the computer's clock)

    def _temperature(self) -> float | None:
        try:
            return float(self.focuser.temperature.value)
        except DriverError:
            return None

    def due(self, night: str) -> str:
        """Why a run is due now (empty: none is)."""
        if self.last is None or self.night != night:
            return "start of the night"
        now, then = self._temperature(), self.last.temperature
        if now is not None and then is not None and abs(now - then) > self.temperature_change:
            return f"temperature {then:+.1f} -> {now:+.1f} C (more than {self.temperature_change:g} C)"
        return ""

    def position_for(self, filter_name: str) -> int | None:
        """Where ``filter_name`` focuses by the last run and the offsets (None: no run yet)."""
        if self.last is None:
            return None
        base = self.filter_offsets.get(self.last_filter or "", 0)
        return self.last.position + self.filter_offsets.get(filter_name, 0) - base

    def focus(self, night: str, filter_name: str, reason: str, *, exposure: float | None = None,
              step: int | None = None, timeout: float = 120.0) -> FocusResult:
        """Run autofocus now, in the filter in the beam (``filter_name``), and remember it."""
        result = autofocus(self.camera, self.focuser, exposure=exposure or self.exposure, step=step or self.step,
                           timeout=timeout)
        self.last, self.last_filter, self.night, self.reason = result, filter_name, night, reason
        self.when = datetime.now(timezone.utc).isoformat(timespec="seconds")[:19]
        log.info("focus (%s): %d steps, HFR %.2f px in %s", reason, result.position, result.hfr, filter_name)
        return result

    def follow_filter(self, filter_name: str, *, timeout: float = 120.0) -> int | None:
        """Move to ``filter_name``'s focus by its offset (no run); the position, or None before any run."""
        position = self.position_for(filter_name)
        if position is None:
            return None
        position = int(min(max(position, 0), self.focuser.max_step))
        if position != self.focuser.position:
            self.focuser.move(position, timeout=timeout)
        return position

    def as_dict(self) -> dict:
        """The last run, for status and the page."""
        if self.last is None:
            return {}
        return self.last.as_dict() | {"Filter": self.last_filter, "Reason": self.reason, "Night": self.night,
                                      "Time": self.when}
