"""Simulated optics that can be out of focus: the V-curve real telescopes give, and a focus that drifts.

A star's image is the seeing and the defocus blur added in quadrature. The
blur grows linearly with the distance from best focus (the light cone's
cross-section), so the star's FWHM against the focuser position is a
hyperbola: flat within the depth of focus, then a V, as NINA and Ekos fit
it. Best focus moves with the tube's temperature (metal contracts as the
night cools), ``drift`` steps per degree Celsius.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Optics"]


@dataclass
class Optics:
    """Where the focus is best and how fast the stars blur away from it.

    Attributes
    ----------
    best
        The focuser position of best focus at ``reference`` degrees Celsius.
    drift
        Steps best focus moves per degree Celsius.
    blur
        Arcseconds of defocus FWHM per step away from best focus.
    reference
        The temperature at which ``best`` holds, Celsius.
    filter_offsets
        Filter name -> steps its best focus lies from ``best`` (each glass its own thickness).
    """

    best: float = 30000.0
    drift: float = -20.0
    blur: float = 0.02
    reference: float = 10.0
    filter_offsets: dict[str, float] = field(default_factory=dict)

    def best_at(self, celsius: float, filter_name: str | None = None) -> float:
        """The position of best focus at a temperature (in a filter)."""
        return self.best + self.drift * (celsius - self.reference) + self.filter_offsets.get(filter_name or "", 0.0)

    def defocus(self, position: float, celsius: float, filter_name: str | None = None) -> float:
        """Arcseconds of defocus FWHM at a focuser position and temperature (in a filter)."""
        return abs(position - self.best_at(celsius, filter_name)) * self.blur

    def depth_of_focus(self, seeing: float) -> float:
        """Steps either side of best focus within which the FWHM grows by at most 10% over ``seeing``."""
        return 0.458 * seeing / self.blur  # sqrt(1 + x^2) = 1.1
