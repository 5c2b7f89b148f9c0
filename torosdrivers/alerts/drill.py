"""Drills: a mock alert, its sky map and a galaxy catalogue, made here, to play the alert chain end to end
(``toros-demo``, the tests, the benchmarks) without waiting for the sky.

`blob_map` is a multi-order map with a Gaussian blob and its distance layers,
refined where the probability is (as LIGO's maps are); `alert` wraps it as an
IGWN alert (igwn-gwalert-schema 1.3, the sky map in base64); a mock event's
ID starts with ``MS``, as IGWN's own mock alerts do, so a daemon set to act on
real events alone ignores it. `synthetic_catalogue` is a seeded catalogue
uniform on the sky and in volume; `write_catalogue` writes it with GLADE+'s
column names.
"""

from __future__ import annotations

import base64
import io

import astropy.units as u
import astropy_healpix as ah
import numpy as np
from astropy.io import fits
from astropy.table import Table

from .galaxies import Catalogue

__all__ = ["alert", "blob_map", "fits_bytes", "synthetic_catalogue", "write_catalogue"]


def blob_map(ra: float = 150.0, dec: float = -30.0, sigma_deg: float = 3.0, *, coarse: int = 6, fine: int = 9,
             distmu: float = 100.0, distsigma: float = 15.0) -> Table:
    """A multi-order map: ``coarse`` level everywhere, ``fine`` within 4 sigma of the blob (as LIGO's maps
    refine where the probability is)."""
    nside = ah.level_to_nside(coarse)
    ipix = np.arange(12 * nside ** 2)
    lon, lat = ah.healpix_to_lonlat(ipix, nside, order="nested")
    centre = np.array([np.cos(np.radians(dec)) * np.cos(np.radians(ra)),
                       np.cos(np.radians(dec)) * np.sin(np.radians(ra)), np.sin(np.radians(dec))])

    def separation(lon, lat):
        v = np.array([np.cos(lat.rad) * np.cos(lon.rad), np.cos(lat.rad) * np.sin(lon.rad), np.sin(lat.rad)])
        return np.degrees(np.arccos(np.clip(centre @ v, -1, 1)))

    near = separation(lon, lat) < 4 * sigma_deg + 2 * np.degrees(ah.nside_to_pixel_resolution(nside).to_value(u.rad))
    split = 4 ** (fine - coarse)
    fine_ipix = (ipix[near][:, None] * split + np.arange(split)).ravel()
    uniq = np.concatenate([ah.level_ipix_to_uniq(coarse, ipix[~near]), ah.level_ipix_to_uniq(fine, fine_ipix)])
    level, nested = ah.uniq_to_level_ipix(uniq)
    lon, lat = ah.healpix_to_lonlat(nested, ah.level_to_nside(level), order="nested")
    density = np.exp(-0.5 * (separation(lon, lat) / sigma_deg) ** 2) + 1e-12
    area = ah.nside_to_pixel_area(ah.level_to_nside(level)).to_value(u.sr)
    density /= np.sum(density * area)
    n = len(uniq)
    table = Table({"UNIQ": uniq, "PROBDENSITY": density, "DISTMU": np.full(n, distmu),
                   "DISTSIGMA": np.full(n, distsigma), "DISTNORM": np.full(n, 1.0 / (distmu ** 2 + distsigma ** 2))})
    table.meta.update(ORDERING="NUNIQ", OBJECT="MS261130a", DISTMEAN=distmu, DISTSTD=distsigma)
    return table


def fits_bytes(table: Table) -> bytes:
    hdu = fits.table_to_hdu(table)
    hdu.header["ORDERING"] = table.meta.get("ORDERING", "NUNIQ")
    buffer = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(buffer)
    return buffer.getvalue()


def synthetic_catalogue(n: int = 1_000_000, seed: int = 7) -> Catalogue:
    """Galaxies uniform on the sky and in volume out to 500 Mpc, B magnitudes from their distance."""
    rng = np.random.default_rng(seed)
    ra = rng.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    distance = 500.0 * rng.uniform(0, 1, n) ** (1 / 3) + 1.0
    absolute = rng.normal(-20.0, 1.2, n)
    return Catalogue(ra, dec, distance, absolute + 5 * np.log10(distance) + 25, np.arange(n).astype(str))


def alert(superevent_id: str = "MS261130a", alert_type: str = "PRELIMINARY", *, skymap: Table | None = None,
          significant: bool = True, far: float = 3e-10, created: str = "2026-11-30T03:00:30Z") -> dict:
    """An IGWN alert built to igwn-gwalert-schema 1.3, with ``skymap`` (default: `blob_map`) in base64."""
    event = None
    if alert_type != "RETRACTION":
        sky = blob_map() if skymap is None else skymap
        event = {"time": "2026-11-30T03:00:00.000Z", "far": far, "significant": significant,
                 "instruments": ["H1", "L1", "V1"], "group": "CBC", "pipeline": "gstlal", "search": "AllSky",
                 "classification": {"BNS": 0.95, "NSBH": 0.03, "BBH": 0.0, "Terrestrial": 0.02},
                 "properties": {"HasNS": 1.0, "HasRemnant": 0.99, "HasMassGap": 0.0},
                 "duration": None, "central_frequency": None,
                 "skymap": base64.b64encode(fits_bytes(sky)).decode()}
    return {"alert_type": alert_type, "time_created": created, "superevent_id": superevent_id,
            "urls": {"gracedb": f"https://gracedb.ligo.org/superevents/{superevent_id}/view/"},
            "event": event, "external_coinc": None}


def write_catalogue(path, catalogue: Catalogue) -> None:
    """The catalogue as a FITS table with GLADE+'s column names (RA, Dec, d_L, B, GWGC)."""
    Table({"GWGC": catalogue.name, "RA": catalogue.ra, "Dec": catalogue.dec, "d_L": catalogue.distance,
           "B": catalogue.magnitude}).write(str(path), overwrite=True)
