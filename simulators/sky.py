"""A deterministic synthetic sky: stars fixed to ICRS, drawn into pixels.

The sky is cut into cells of ``cell`` degrees in declination bands; each
cell's stars come from a random generator seeded by ``(seed, band, cell)``, so
the same coordinates always hold the same stars whatever the pointing, and a
field is built from only the cells it overlaps.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

__all__ = ["StarField", "Projection", "render_stars"]

_ALPHA = 0.3  # slope of log N(<m): the star counts of the Galactic field


class StarField:
    """Stars over the whole sky.

    Parameters
    ----------
    seed
        Chooses the sky.
    density
        Stars per square degree brighter than ``faintest``.
    brightest, faintest
        Magnitude range.
    cell
        Cell size in degrees.
    """

    def __init__(
        self,
        seed: int = 0,
        *,
        density: float = 1500.0,
        brightest: float = 8.0,
        faintest: float = 20.0,
        cell: float = 0.5,
    ) -> None:
        self.seed = int(seed)
        self.density = float(density)
        self.brightest = float(brightest)
        self.faintest = float(faintest)
        self.cell = float(cell)
        self._bands = int(round(180.0 / self.cell))
        self._cell_stars = lru_cache(maxsize=4096)(self._make_cell)

    def _cells_in_band(self, band: int) -> int:
        lo = -90.0 + band * self.cell
        hi = lo + self.cell
        widest = 0.0 if lo < 0.0 < hi else min(abs(lo), abs(hi))
        return max(1, int(360.0 * math.cos(math.radians(widest)) / self.cell))

    def _make_cell(self, band: int, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n_cells = self._cells_in_band(band)
        dec_lo = math.radians(-90.0 + band * self.cell)
        dec_hi = math.radians(-90.0 + (band + 1) * self.cell)
        ra_lo = 360.0 * index / n_cells
        ra_hi = 360.0 * (index + 1) / n_cells
        area = math.degrees(1) ** 2 * math.radians(ra_hi - ra_lo) * (math.sin(dec_hi) - math.sin(dec_lo))
        rng = np.random.default_rng((self.seed, band, index))
        n = rng.poisson(self.density * area)
        ra = rng.uniform(ra_lo, ra_hi, n)
        dec = np.degrees(np.arcsin(rng.uniform(math.sin(dec_lo), math.sin(dec_hi), n)))
        floor = 10.0 ** (_ALPHA * (self.brightest - self.faintest))
        mag = self.faintest + np.log10(rng.uniform(floor, 1.0, n)) / _ALPHA
        return ra, dec, mag

    def stars_near(self, ra: float, dec: float, radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Stars within about ``radius`` degrees of ``(ra, dec)``.

        Returns
        -------
        ra, dec, mag
            Arrays in degrees and magnitudes (a superset: whole cells).
        """
        b_lo = max(0, int((dec - radius + 90.0) // self.cell))
        b_hi = min(self._bands - 1, int((dec + radius + 90.0) // self.cell))
        parts = []
        for band in range(b_lo, b_hi + 1):
            n_cells = self._cells_in_band(band)
            edge = max(abs(-90.0 + band * self.cell), abs(-90.0 + (band + 1) * self.cell))
            cos_edge = math.cos(math.radians(min(edge, 89.999)))
            half_width = radius / cos_edge + 360.0 / n_cells
            if half_width >= 180.0:
                indices = range(n_cells)
            else:
                first = math.floor((ra - half_width) / 360.0 * n_cells)
                last = math.floor((ra + half_width) / 360.0 * n_cells)
                indices = sorted({i % n_cells for i in range(first, last + 1)})
            parts.extend(self._cell_stars(band, i) for i in indices)
        if not parts:
            empty = np.empty(0)
            return empty, empty, empty
        return tuple(np.concatenate(p) for p in zip(*parts))  # type: ignore[return-value]


class Projection:
    """Gnomonic (TAN) projection of the sky onto the unbinned sensor.

    North is +y, east is -x (as on the sky seen from below), the pointing at
    the sensor's centre. Pixel ``(0, 0)`` is the centre of the first pixel.
    """

    def __init__(self, ra0: float, dec0: float, scale_arcsec: float, width: int, height: int) -> None:
        self.ra0, self.dec0 = ra0, dec0
        self.scale = scale_arcsec / 3600.0  # deg per pixel
        self.cx, self.cy = (width - 1) / 2.0, (height - 1) / 2.0
        self.radius = math.hypot(width, height) / 2.0 * self.scale

    def to_pixels(self, ra: np.ndarray, dec: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pixel ``(x, y)`` of sky positions, and a mask of those in front."""
        d0 = math.radians(self.dec0)
        d = np.radians(dec)
        dra = np.radians(ra - self.ra0)
        cos_c = math.sin(d0) * np.sin(d) + math.cos(d0) * np.cos(d) * np.cos(dra)
        front = cos_c > 0.1
        cos_c = np.where(front, cos_c, 1.0)
        xi = np.cos(d) * np.sin(dra) / cos_c
        eta = (math.cos(d0) * np.sin(d) - math.sin(d0) * np.cos(d) * np.cos(dra)) / cos_c
        x = self.cx - np.degrees(xi) / self.scale
        y = self.cy + np.degrees(eta) / self.scale
        return x, y, front


def render_stars(
    image: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    flux: np.ndarray,
    sigma_x: float,
    sigma_y: float,
) -> None:
    """Add Gaussian stars to ``image`` in place.

    Parameters
    ----------
    image
        C-contiguous float array ``[y, x]``.
    x, y
        Star centres in the image's pixels.
    flux
        Total signal of each star (spread over its stamp, normalised).
    sigma_x, sigma_y
        Gaussian widths in pixels.
    """
    height, width = image.shape
    r = int(math.ceil(4.0 * max(sigma_x, sigma_y))) + 1
    keep = (x > -r) & (x < width + r) & (y > -r) & (y < height + r) & (flux > 0)
    x, y, flux = x[keep], y[keep], flux[keep]
    if x.size == 0:
        return
    k = np.arange(-r, r + 1)
    ix = np.floor(x + 0.5).astype(np.int64)
    iy = np.floor(y + 0.5).astype(np.int64)
    cols = ix[:, None] + k  # (n, 2r+1)
    rows = iy[:, None] + k
    gx = np.exp(-0.5 * ((cols - x[:, None]) / sigma_x) ** 2)
    gy = np.exp(-0.5 * ((rows - y[:, None]) / sigma_y) ** 2)
    gx /= gx.sum(axis=1, keepdims=True)
    gy /= gy.sum(axis=1, keepdims=True)
    values = (flux[:, None, None] * gy[:, :, None] * gx[:, None, :]).astype(image.dtype)
    inside = (
        ((rows >= 0) & (rows < height))[:, :, None] & ((cols >= 0) & (cols < width))[:, None, :]
    )
    flat = rows[:, :, None] * width + cols[:, None, :]
    np.add.at(image.reshape(-1), flat[inside], values[inside])
