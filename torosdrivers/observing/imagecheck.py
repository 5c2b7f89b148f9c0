"""Whether a light frame's pixels agree that sky reached the sensor.

The exposure record (`torosdrivers.observing.record`) says what the devices
reported; the image is the second witness. Measured with ``sep`` (the
SExtractor algorithms as a library: a meshed background with its RMS and
source extraction, whole-array C: 0.14 s for a 2k x 2k frame and 0.52 s
for a 4k one here, 3 % of their readout, where astropy's sigma-clipped
statistics alone take 0.45 s and 2.2 s; ``benchmarks/bench_frame_checks.py``),
chosen over photutils for its speed on every frame and its small footprint.
A light fails when:

- **no light reached it**: the background stands less than
  `SKY_SIGMAS` times the bias noise above the bias level (a closed shutter,
  a slit turned away, a parked and covered tube), and no star is found;
- **it is saturated**: more than ``max_saturated`` of its pixels at the
  camera's full scale (the Sun, a lamp, a dome light);
- **stars are missing where the field has them**: fewer than
  ``expected_stars`` sources (clouds, fog, a blocked beam). The caller
  decides how many the field should hold; a field too small to be sure of
  any (a test's 128-pixel frame) expects none.

The bias level and noise come from a bias frame of the same camera and
binning (the night's own, or one taken for the purpose): a dark current of a
warm camera can lift a closed frame above it, which is why the record, not
the image alone, decides for the shutter and the slit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sep

__all__ = ["ImageStats", "BiasLevel", "extract", "measure", "bias_level", "check_light", "SKY_SIGMAS"]
# measure() also gives the stars' sizes (HFR, FWHM): the focus measure autofocus fits its V-curve to.

#: How many bias-noise sigmas above the bias level the background of a light must stand.
SKY_SIGMAS = 3.0
#: Detection threshold for stars, in background sigmas, and their least area in pixels.
STAR_SIGMAS, STAR_AREA = 5.0, 5


@dataclass(frozen=True)
class ImageStats:
    """A frame's measured background, noise, stars and saturation."""

    background: float  # ADU, sep's global background
    rms: float  # ADU
    stars: int  # sources above STAR_SIGMAS of at least STAR_AREA pixels
    saturated: float  # fraction of pixels at full scale
    hfr: float | None = None  # pixels: the median half-flux radius of the unsaturated stars (the focus measure)
    fwhm: float | None = None  # pixels: their median FWHM, from the second moments

    def cards(self) -> dict[str, object]:
        cards: dict[str, object] = {"CHKBKG": round(self.background, 2), "CHKRMS": round(self.rms, 3),
                                    "CHKSTARS": self.stars, "CHKSAT": round(self.saturated, 6)}
        if self.hfr is not None:
            cards |= {"HFR": round(self.hfr, 3), "FWHM": round(float(self.fwhm or 0.0), 3)}
        return cards


@dataclass(frozen=True)
class BiasLevel:
    """The level and noise of a bias frame (ADU)."""

    level: float
    noise: float


def _floats(data: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(data, dtype=np.float32)


def bias_level(data: np.ndarray) -> BiasLevel:
    """Median and robust noise (1.4826 MAD) of a bias frame."""
    values = _floats(data)
    level = float(np.median(values))
    return BiasLevel(level, float(1.4826 * np.median(np.abs(values - level))))


@dataclass(frozen=True)
class _Sources:
    level: float  # sep's global background, ADU
    rms: float
    stars: np.ndarray | None  # sep.extract's table; None: too many to extract (a flooded frame)
    residual: np.ndarray | None  # the frame minus its background, where the stars were found


def _extract(values: np.ndarray) -> _Sources:
    box = max(8, min(64, min(values.shape) // 4))
    background = sep.Background(values, bw=box, bh=box)
    level, rms = float(background.globalback), float(background.globalrms)
    if rms <= 0:
        return _Sources(level, rms, np.zeros(0, dtype=[("x", float), ("y", float), ("flux", float)]), None)
    residual = values - background.back()
    sep.set_extract_pixstack(max(300_000, values.size // 4))
    try:
        stars = sep.extract(residual, STAR_SIGMAS, err=rms, minarea=STAR_AREA)
    except Exception as exc:  # sep raises a bare Exception when a crowded or flooded frame overflows it
        if "pixel buffer full" not in str(exc) and "object buffer full" not in str(exc):
            raise
        return _Sources(level, rms, None, residual)
    return _Sources(level, rms, stars, residual)


def extract(data: np.ndarray) -> tuple[float, float, np.ndarray | None]:
    """sep's background level and RMS (ADU) and the sources above `STAR_SIGMAS` (None: too many to extract).

    The source table (``x``, ``y`` 0-based, ``flux``, ``peak``, ``a``, ``b``, ``flag``...) is what the plate
    solver (`torosdrivers.astrometry`) hands astrometry.net, and what `measure` counts and sizes.
    """
    found = _extract(_floats(data))
    return found.level, found.rms, found.stars


def measure(data: np.ndarray, saturation: float) -> ImageStats:
    """Background, noise, star count and saturated fraction of ``data`` (``saturation``: full scale, ADU)."""
    values = _floats(data)
    saturated = float(np.count_nonzero(values >= 0.98 * saturation)) / values.size
    found = _extract(values)
    if found.stars is None:  # too many to count: a flooded frame (the saturation check names it)
        return ImageStats(found.level, found.rms, -1, saturated)
    if found.residual is None:
        return ImageStats(found.level, found.rms, 0, saturated)
    hfr, fwhm = _sizes(found.residual, found.stars, 0.98 * saturation - found.level)
    return ImageStats(found.level, found.rms, len(found.stars), saturated, hfr, fwhm)


def _sizes(residual: np.ndarray, found: np.ndarray, ceiling: float) -> tuple[float | None, float | None]:
    """Median half-flux radius (sep's ``flux_radius``) and FWHM of the unsaturated, whole stars."""
    h, w = residual.shape
    # Stars, not hot pixels or cosmic rays (their light in one pixel: peak near the whole flux), not cut by an
    # edge, not saturated
    keep = ((found["peak"] < ceiling) & (found["flag"] == 0) & (found["peak"] < 0.5 * found["flux"])
            & (found["x"] > 8) & (found["x"] < w - 9) & (found["y"] > 8) & (found["y"] < h - 9))
    stars = found[keep]
    if len(stars) == 0:
        return None, None
    radius, flags = sep.flux_radius(residual, stars["x"], stars["y"], 6.0 * stars["a"], 0.5, normflux=None,
                                    subpix=5)
    good = (flags == 0) & np.isfinite(radius) & (radius > 0)
    if not np.any(good):
        return None, None
    fwhm = 2.3548 * np.sqrt((stars["a"] ** 2 + stars["b"] ** 2) / 2.0)
    return float(np.median(radius[good])), float(np.median(fwhm[good]))


def check_light(stats: ImageStats, *, bias: BiasLevel | None, expected_stars: int = 0,
                max_saturated: float = 0.02) -> list[str]:
    """Why a light's pixels say no sky from the target reached the sensor (empty: they agree it did)."""
    problems = []
    if bias is not None and stats.stars == 0:
        floor = bias.level + SKY_SIGMAS * max(bias.noise, 0.5)
        if stats.background < floor:
            problems.append(f"no light in the image: its background {stats.background:.1f} ADU is at the bias "
                            f"level ({bias.level:.1f} +- {bias.noise:.1f} ADU) and no star was found")
    if stats.saturated > max_saturated:
        problems.append(f"{100 * stats.saturated:.1f}% of the pixels are saturated (at most "
                        f"{100 * max_saturated:g}%)")
    if expected_stars > 0 and 0 <= stats.stars < expected_stars:
        problems.append(f"{stats.stars} stars found where the field should show at least {expected_stars}")
    return problems
