"""A gravitational-wave sky map as IGWN alerts carry it: multi-order (NUNIQ) HEALPix with distance layers.

The alert's ``skymap`` is a base64 FITS file whose binary table has one row
per HEALPix pixel of mixed resolution (Singer & Price's multi-order format,
``ORDERING = 'NUNIQ'``): ``UNIQ`` = 4 * 4**level + nested index, the
probability per steradian ``PROBDENSITY``, and the distance ansatz of each
line of sight, ``DISTMU``, ``DISTSIGMA``, ``DISTNORM`` (Singer et al. 2016:
the probability per unit volume at distance ``r`` in the pixel is
``PROBDENSITY * DISTNORM * N(r; DISTMU, DISTSIGMA)``).

A position is found by its nested index at `MAX_LEVEL` (29, HEALPix's
finest): a pixel of level ``l`` covers the indices ``[ipix << 2(29-l),
(ipix+1) << 2(29-l))``, so the pixels sorted by their first index are
searched with one ``numpy.searchsorted`` for a whole catalogue, instead of
rasterizing the map to one resolution (an order-12 map rasterized is 200
million pixels). astropy-healpix gives the indices (ligo.skymap's own
``moc`` module does the same arithmetic; astropy-healpix is the smaller,
BSD-licensed dependency).
"""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass
from pathlib import Path

import astropy.units as u
import astropy_healpix as ah
import numpy as np
from astropy.io import fits

__all__ = ["MAX_LEVEL", "SkyMap", "SkyMapError", "nested_at_max_level"]

#: HEALPix's finest level: every position's index is computed once, here.
MAX_LEVEL = 29
#: The most pixels a sky map may have (LIGO's are ~20,000; a 12-level all-sky flat map is 200 million).
MAX_PIXELS = 5_000_000


class SkyMapError(ValueError):
    """A sky map that cannot be read as a multi-order probability map (the message says why)."""


def nested_at_max_level(ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
    """Nested HEALPix indices at `MAX_LEVEL` (int64) of positions in degrees: a catalogue's, computed once."""
    return np.asarray(ah.lonlat_to_healpix(np.asarray(ra_deg) * u.deg, np.asarray(dec_deg) * u.deg,
                                           ah.level_to_nside(MAX_LEVEL), order="nested"), dtype=np.int64)


@dataclass(frozen=True)
class SkyMap:
    """A multi-order sky map: one entry per pixel, sorted by the first index it covers at `MAX_LEVEL`.

    Attributes
    ----------
    uniq
        NUNIQ pixel numbers.
    probdensity
        Probability per steradian.
    distmu, distsigma, distnorm
        The distance ansatz per pixel (Mpc, Mpc, Mpc^-2); NaN where the map has none.
    header
        The FITS header (``OBJECT``, ``DISTMEAN``, ``DISTSTD``...).
    """

    uniq: np.ndarray
    probdensity: np.ndarray
    distmu: np.ndarray
    distsigma: np.ndarray
    distnorm: np.ndarray
    header: dict

    # -- reading ---------------------------------------------------------------------------------
    @classmethod
    def from_base64(cls, text: str | bytes, *, max_bytes: int = 64 * 2**20) -> "SkyMap":
        """The map from an alert's ``skymap`` field (base64 FITS)."""
        if len(text) > max_bytes * 4 // 3 + 4:
            raise SkyMapError(f"skymap: {len(text)} base64 characters, over the {max_bytes} bytes allowed")
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SkyMapError(f"skymap: not base64 ({exc})") from None
        return cls.from_fits(data)

    @classmethod
    def from_fits(cls, source: bytes | str | Path) -> "SkyMap":
        """The map from FITS bytes or a file (``*.multiorder.fits``, as GraceDB serves them)."""
        try:
            opened = fits.open(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source,
                               memmap=False)
        except (OSError, ValueError, TypeError) as exc:
            raise SkyMapError(f"skymap: not a FITS file ({exc})") from None
        with opened as hdul:
            tables = [h for h in hdul[1:] if isinstance(h, fits.BinTableHDU)]
            if not tables:
                raise SkyMapError("skymap: no binary table (expected a multi-order map's UNIQ, PROBDENSITY...)")
            hdu = tables[0]
            ordering = str(hdu.header.get("ORDERING", "")).upper()
            if ordering != "NUNIQ":
                raise SkyMapError(f"skymap: ORDERING={ordering or 'missing'!r}: expected 'NUNIQ' (a multi-order "
                                  "map; flat RING/NESTED maps are not what IGWN alerts carry)")
            columns = {c.upper(): c for c in hdu.columns.names}
            for needed in ("UNIQ", "PROBDENSITY"):
                if needed not in columns:
                    raise SkyMapError(f"skymap: no {needed} column (it has {', '.join(hdu.columns.names)})")
            if hdu.header.get("NAXIS2", 0) > MAX_PIXELS:
                raise SkyMapError(f"skymap: {hdu.header['NAXIS2']} pixels, over the {MAX_PIXELS} allowed")
            data = hdu.data
            nan = np.full(len(data), np.nan)

            def column(name: str, default: np.ndarray | None = None) -> np.ndarray:
                if name in columns:
                    return np.asarray(data[columns[name]], dtype=np.float64)
                return nan if default is None else default

            uniq = np.asarray(data[columns["UNIQ"]], dtype=np.int64)
            return cls.build(uniq, column("PROBDENSITY"), column("DISTMU"), column("DISTSIGMA"),
                             column("DISTNORM"), dict(hdu.header))

    @classmethod
    def build(cls, uniq, probdensity, distmu=None, distsigma=None, distnorm=None, header=None) -> "SkyMap":
        """A map from its columns, checked: valid NUNIQ numbers that tile no part of the sky twice, a finite
        non-negative density that integrates to about 1."""
        uniq = np.asarray(uniq, dtype=np.int64)
        n = len(uniq)
        if n == 0:
            raise SkyMapError("skymap: no pixels")
        if n > MAX_PIXELS:
            raise SkyMapError(f"skymap: {n} pixels, over the {MAX_PIXELS} allowed")
        if np.any(uniq < 4):
            raise SkyMapError("skymap: UNIQ values below 4 (not NUNIQ pixel numbers)")
        level = (np.floor(np.log2(uniq)).astype(np.int64) - 2) // 2
        if np.any(level > MAX_LEVEL):
            raise SkyMapError(f"skymap: a pixel finer than HEALPix level {MAX_LEVEL}")
        ipix = uniq - 4 * (np.int64(1) << (2 * level))
        shift = 2 * (MAX_LEVEL - level)
        start, stop = ipix << shift, (ipix + 1) << shift
        order = np.argsort(start, kind="stable")
        start, stop = start[order], stop[order]
        if np.any(stop[:-1] > start[1:]):
            raise SkyMapError("skymap: pixels overlap (a part of the sky is given twice)")

        def layer(values) -> np.ndarray:
            if values is None:
                return np.full(n, np.nan)
            values = np.asarray(values, dtype=np.float64)
            if values.shape != (n,):
                raise SkyMapError(f"skymap: a column of {values.shape} values for {n} pixels")
            return values[order]

        density = layer(probdensity)
        if not np.all(np.isfinite(density)) or np.any(density < 0):
            raise SkyMapError("skymap: PROBDENSITY must be finite and not negative")
        area = (4 * np.pi / 12) / 4.0 ** level[order]
        total = float(np.sum(density * area))
        if not 0.5 < total < 1.5:
            raise SkyMapError(f"skymap: the probability sums to {total:.3g} over the map; expected 1")
        sky = cls(uniq[order], density / total, layer(distmu), layer(distsigma), layer(distnorm),
                  dict(header or {}))
        object.__setattr__(sky, "_start", start)
        object.__setattr__(sky, "_stop", stop)
        object.__setattr__(sky, "_area", area)
        return sky

    # -- what it says ------------------------------------------------------------------------------
    @property
    def area(self) -> np.ndarray:
        """Each pixel's area in steradians."""
        return self._area  # type: ignore[attr-defined]

    @property
    def prob(self) -> np.ndarray:
        """Each pixel's probability (sums to 1)."""
        return self.probdensity * self.area

    def credible(self, level: float = 0.9) -> np.ndarray:
        """Mask of the pixels of the smallest region holding ``level`` of the probability (densest first)."""
        order = np.argsort(-self.probdensity, kind="stable")
        cumulative = np.cumsum(self.prob[order])
        inside = np.zeros(len(order), dtype=bool)
        inside[order[:int(np.searchsorted(cumulative, level, side="left")) + 1]] = True
        return inside

    def credible_area(self, level: float = 0.9) -> u.Quantity:
        """The area of the ``level`` credible region."""
        return (float(np.sum(self.area[self.credible(level)])) * u.sr).to(u.deg ** 2)

    def pixel_of(self, nested: np.ndarray) -> np.ndarray:
        """Index into this map's pixels of each position (nested at `MAX_LEVEL`); -1 where none covers it."""
        nested = np.asarray(nested, dtype=np.int64)
        i = np.searchsorted(self._start, nested, side="right") - 1  # type: ignore[attr-defined]
        found = (i >= 0) & (nested < self._stop[np.clip(i, 0, None)])  # type: ignore[attr-defined]
        return np.where(found, i, -1)
