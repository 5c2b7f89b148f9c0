"""Autofocus: sample the V-curve of half-flux radius against focuser position, fit it, go to its minimum.

A star's image is the seeing and the defocus blur in quadrature, and the
blur grows linearly away from best focus, so the half-flux radius against
position is a hyperbola, ``HFR(x) = a * sqrt(1 + ((x - c) / b) ** 2)`` (the
curve NINA fits). Its square is a parabola in ``x``, so the fit is one
linear least-squares (``numpy.polyfit`` of HFR² on x) and best focus is the
vertex ``c``: no iterative fitting, no starting guess to get wrong.

The run: seven positions ``step`` apart centred on the focuser's position;
while the smallest HFR lies at an end of the samples, two more beyond that
end (the curve's minimum is outside); then the fit, the move, and one frame
there to confirm (its HFR must be within the fit's reach of the best sample:
a fit that points somewhere worse is refused, and the focuser goes to the
best sample instead). At most `MAX_EXPOSURES` frames. Each frame's HFR is
sep's (`torosdrivers.observing.imagecheck.measure`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from ..ccd import Camera
from ..errors import DriverError
from ..focuser import Focuser
from ..observing.imagecheck import measure

__all__ = ["FocusResult", "autofocus", "fit_v_curve", "MAX_EXPOSURES"]

log = logging.getLogger(__name__)

#: Frames one autofocus run may take, the confirmation included.
MAX_EXPOSURES = 11


@dataclass
class FocusResult:
    """What an autofocus run found and did."""

    position: int  # where the focuser was left
    hfr: float  # the confirmation frame's HFR, pixels
    samples: list[tuple[int, float | None]] = field(default_factory=list)  # (position, HFR or None: no stars)
    fitted: float | None = None  # the fit's vertex, steps (None when the fit was refused)
    exposures: int = 0
    temperature: float | None = None  # the focuser's probe at the end, Celsius

    def as_dict(self) -> dict:
        return {"Position": self.position, "HFR": round(self.hfr, 3), "Fitted": self.fitted,
                "Exposures": self.exposures, "Temperature": self.temperature,
                "Samples": [[p, None if h is None else round(h, 3)] for p, h in self.samples]}


def fit_v_curve(positions, hfrs) -> float | None:
    """Best focus (steps) from samples, by the parabola of HFR² (None when the curve does not open upwards)."""
    x, y = np.asarray(positions, dtype=float), np.asarray(hfrs, dtype=float)
    if x.size < 3:
        return None
    scale = max(float(np.ptp(x)), 1.0)  # fitted on a centred, scaled axis: well conditioned
    centre = float(x.mean())
    a, b, _ = np.polyfit((x - centre) / scale, y ** 2, 2)
    if a <= 0:
        return None
    return centre - b / (2 * a) * scale


def autofocus(camera: Camera, focuser: Focuser, *, exposure: float = 10.0, step: int = 100,
              timeout: float = 120.0) -> FocusResult:
    """Find best focus and leave the focuser there.

    Parameters
    ----------
    camera, focuser
        Connected devices, the telescope on a field with stars.
    exposure
        Seconds per frame.
    step
        Steps between samples: about twice the depth of focus.

    Raises
    ------
    DriverError
        No stars in any frame (no sky, or the focus is far beyond the samples).
    """
    samples: dict[int, float | None] = {}
    taken = 0

    def sample(position: int) -> float | None:
        nonlocal taken
        position = int(min(max(position, 0), focuser.max_step))
        if position not in samples:
            focuser.move(position, timeout=timeout)
            frame = camera.expose(exposure)
            taken += 1
            stats = measure(frame.data, float(camera.saturation))
            samples[position] = stats.hfr
            log.info("autofocus: %d steps: HFR %s (%d stars)", position, stats.hfr, stats.stars)
        return samples[position]

    start = focuser.position
    for k in range(-3, 4):
        sample(start + k * step)
    # The minimum at an end: the curve's bottom lies beyond it; go on that way, two samples at a time
    while taken <= MAX_EXPOSURES - 3:
        measured = {p: h for p, h in samples.items() if h is not None}
        if not measured:
            raise DriverError(f"autofocus: no stars in {taken} frames from {min(samples)} to {max(samples)} steps")
        lowest = min(measured, key=measured.get)
        if lowest == min(samples) and lowest > 0:
            sample(lowest - step), sample(lowest - 2 * step)
        elif lowest == max(samples) and lowest < focuser.max_step:
            sample(lowest + step), sample(lowest + 2 * step)
        else:
            break
    measured = {p: h for p, h in samples.items() if h is not None}
    lowest = min(measured, key=measured.get)
    near = sorted(measured, key=lambda p: abs(p - lowest))[:7]  # the fit on the V around its bottom
    fitted = fit_v_curve(near, [measured[p] for p in near])
    target = lowest if fitted is None or not min(near) <= fitted <= max(near) else int(round(fitted))
    focuser.move(int(min(max(target, 0), focuser.max_step)), timeout=timeout)
    confirm = measure(camera.expose(exposure).data, float(camera.saturation)).hfr
    taken += 1
    if confirm is None or confirm > 1.2 * measured[lowest]:  # the fit pointed somewhere worse than a sample
        log.warning("autofocus: the fit's %s steps gave HFR %s, over the best sample's %.2f: going to %d",
                    target, confirm, measured[lowest], lowest)
        focuser.move(lowest, timeout=timeout)
        target, confirm, fitted = lowest, measured[lowest], None
    try:
        celsius = round(float(focuser.temperature.value), 2)
    except DriverError:
        celsius = None
    result = FocusResult(int(target), float(confirm), sorted(samples.items()),
                         None if fitted is None else round(float(fitted), 1), taken, celsius)
    log.info("autofocus: %d steps, HFR %.2f px, %d frames", result.position, result.hfr, result.exposures)
    return result
