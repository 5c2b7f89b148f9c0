"""Galaxies ranked against a gravitational-wave sky map, and grouped into telescope pointings.

The way the galaxy-targeted follow-ups rank hosts (the TOROS 2017 campaign,
GRANDMA, gwemopt's galaxy mode, Teglon): each galaxy's weight is the
probability per unit volume at its position and distance, times its
luminosity,

    w = PROBDENSITY * DISTNORM * N(D; DISTMU, DISTSIGMA) * L,

with ``L = 10**(-0.4 M)`` from its B (or K) magnitude and distance, kept
within the 90% credible region and within ``sigmas`` standard deviations of
the pixel's distance. Pointings are built greedily: the best galaxy not yet
covered centres a field of the camera's size, every candidate galaxy inside
it joins, and the pointing's probability is the sum of its galaxies'
(normalised over all candidates); then the next best, until ``count``.

Cost: every step is a whole-array numpy pass. A catalogue's positions are
turned into HEALPix indices once, when it is loaded
(`skymap.nested_at_max_level`, ~0.35 s per million), so an alert costs one
``searchsorted`` of the catalogue against the map's pixels, the weights of
the galaxies inside, and a pass over the candidates per pointing: 1 million
galaxies against a 94,000-pixel multi-order map, 50 pointings, in 0.17 s
(``benchmarks/bench_alerts.py``; the straightforward way, the map rasterized
to its finest level and every galaxy looked up there, 0.27 s, with the same
result).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.table import Table

from ..coords import in_field
from .skymap import SkyMap, nested_at_max_level

__all__ = ["Catalogue", "Pointing", "Ranking", "in_field", "outside", "pointings", "rank"]


@dataclass
class Catalogue:
    """Galaxies: positions (degrees), luminosity distance (Mpc), a magnitude, names.

    ``nested`` (the HEALPix index of each position at level 29) is computed once, here.
    """

    ra: np.ndarray
    dec: np.ndarray
    distance: np.ndarray
    magnitude: np.ndarray
    name: np.ndarray
    nested: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.ra = np.asarray(self.ra, dtype=np.float64)
        self.dec = np.asarray(self.dec, dtype=np.float64)
        self.distance = np.asarray(self.distance, dtype=np.float64)
        self.magnitude = np.asarray(self.magnitude, dtype=np.float64)
        self.name = np.asarray(self.name)
        n = len(self.ra)
        for what in ("dec", "distance", "magnitude", "name"):
            if len(getattr(self, what)) != n:
                raise ValueError(f"catalogue: {len(getattr(self, what))} {what} values for {n} galaxies")
        if np.any(~np.isfinite(self.ra) | ~np.isfinite(self.dec) | (np.abs(self.dec) > 90)):
            raise ValueError("catalogue: every galaxy needs a finite RA and a Dec within +-90 degrees")
        self.nested = nested_at_max_level(self.ra % 360.0, self.dec)

    def __len__(self) -> int:
        return len(self.ra)

    @classmethod
    def read(cls, path: str | Path, *, magnitude: str = "B") -> "Catalogue":
        """A FITS, CSV or Parquet table with GLADE+ columns (``RA``, ``Dec``, ``d_L``, ``B`` or ``K``; a name column
        ``GWGC``, ``HyperLEDA`` or ``name`` where present). Rows without a distance or the magnitude are
        left out: they cannot be ranked."""
        suffix = Path(path).suffix.lower()
        if suffix == ".parquet":
            table = _parquet(path)
        else:  # CSV by its name, anything else as FITS (.fits, .fit, .fits.gz): never a guess among formats
            try:
                table = Table.read(str(path), format="ascii.csv" if suffix == ".csv" else "fits")
            except (OSError, ValueError, TypeError, IndexError) as exc:
                raise ValueError(f"catalogue {path}: not a readable {'CSV' if suffix == '.csv' else 'FITS'} "
                                 f"table ({exc})") from None
        columns = {c.lower(): c for c in table.colnames}

        def col(*names: str) -> np.ndarray:
            for name in names:
                if name.lower() in columns:  # an empty cell (a masked one) reads as NaN
                    return np.ma.filled(np.ma.asarray(table[columns[name.lower()]], dtype=np.float64), np.nan)
            raise ValueError(f"catalogue {path}: no {names[0]} column (it has {', '.join(table.colnames)})")

        ra, dec, dist, mag = col("RA", "ra_deg"), col("Dec", "dec_deg"), col("d_L", "dist", "distance"), \
            col(magnitude, f"{magnitude}_mag")
        names = next((np.asarray(table[columns[n]]).astype(str) for n in ("gwgc", "hyperleda", "name")
                      if n in columns), np.arange(len(table)).astype(str))
        keep = np.isfinite(dist) & (dist > 0) & np.isfinite(mag) & np.isfinite(ra) & np.isfinite(dec)
        return cls(ra[keep], dec[keep], dist[keep], mag[keep], names[keep])


def _parquet(path: str | Path) -> Table:
    """A Parquet file's columns, through pyarrow itself (astropy's own reader needs pandas as well); a null
    number reads as NaN."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ValueError(f"catalogue {path}: reading Parquet needs pyarrow (pip install 'torosdrivers[parquet]'), "
                         "or give the catalogue as FITS or CSV") from None
    data = pq.read_table(str(path))
    return Table({name: data.column(name).to_numpy() for name in data.column_names})


@dataclass
class Ranking:
    """The candidate galaxies (indices into the catalogue), best first, with their normalised probability."""

    index: np.ndarray
    probability: np.ndarray
    catalogue: Catalogue


def rank(catalogue: Catalogue, sky: SkyMap, *, credible: float = 0.9, sigmas: float = 3.0) -> Ranking:
    """Weight every galaxy inside the ``credible`` region and the distance range (see the module notes)."""
    pixel = sky.pixel_of(catalogue.nested)
    inside = sky.credible(credible)
    candidates = np.flatnonzero((pixel >= 0) & inside[np.clip(pixel, 0, None)])
    p = pixel[candidates]
    distance = catalogue.distance[candidates]
    mu, sigma, norm = sky.distmu[p], sky.distsigma[p], sky.distnorm[p]
    # Pixels with a distance ansatz: the Gaussian and the range; without one (NaN, inf): the sky alone
    known = np.isfinite(mu) & np.isfinite(sigma) & (sigma > 0) & np.isfinite(norm)
    z = np.where(known, (distance - np.where(known, mu, 0.0)) / np.where(known, sigma, 1.0), 0.0)
    in_range = ~known | (np.abs(z) <= sigmas)
    radial = np.where(known, norm * np.exp(-0.5 * z * z) / (np.sqrt(2 * np.pi) * np.where(known, sigma, 1.0)), 1.0)
    absolute = catalogue.magnitude[candidates] - 5.0 * np.log10(distance) - 25.0
    weight = sky.probdensity[p] * radial * 10.0 ** (-0.4 * absolute)
    keep = in_range & (weight > 0)
    candidates, weight = candidates[keep], weight[keep]
    order = np.argsort(-weight, kind="stable")
    total = float(np.sum(weight))
    return Ranking(candidates[order], weight[order] / total if total > 0 else weight[order], catalogue)


@dataclass(frozen=True)
class Pointing:
    """A field to observe: its centre (degrees), its probability, the galaxies it holds (catalogue indices)."""

    ra: float
    dec: float
    probability: float
    galaxies: np.ndarray


def outside(ranking: Ranking, fields: list[tuple[float, float]], field_of_view: float) -> Ranking:
    """The ranking without the galaxies inside ``fields`` (centres, degrees): those already observed, or at
    the telescope, when an UPDATE re-ranks. Probabilities are not renormalised: each stays its share of the
    event, so what is covered and what is left add up."""
    keep = np.ones(len(ranking.index), dtype=bool)
    ra, dec = ranking.catalogue.ra[ranking.index], ranking.catalogue.dec[ranking.index]
    for c_ra, c_dec in fields:
        keep &= ~in_field(ra, dec, c_ra, c_dec, field_of_view)
    return Ranking(ranking.index[keep], ranking.probability[keep], ranking.catalogue)


def pointings(ranking: Ranking, field_of_view: float, count: int) -> list[Pointing]:
    """Up to ``count`` square fields of ``field_of_view`` degrees, greedily: the best uncovered galaxy centres
    each, and every candidate inside joins it."""
    cat = ranking.catalogue
    ra, dec = cat.ra[ranking.index], cat.dec[ranking.index]
    prob = ranking.probability
    free = np.ones(len(ra), dtype=bool)
    out: list[Pointing] = []
    while len(out) < count:
        left = np.flatnonzero(free)
        if len(left) == 0:
            break
        best = left[0]  # the ranking is sorted: the first free one is the best
        c_ra, c_dec = ra[best], dec[best]
        inside = left[in_field(ra[left], dec[left], c_ra, c_dec, field_of_view)]
        free[inside] = False
        out.append(Pointing(float(c_ra), float(c_dec), float(np.sum(prob[inside])), ranking.index[inside]))
    out.sort(key=lambda p: -p.probability)
    return out
