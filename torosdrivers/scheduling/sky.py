"""The night as grids: every target's altitude at every minute, the Sun's and the Moon's, in whole arrays.

A planner asks where a thousand targets stand at each of six hundred
minutes. One astropy transform per grid does it: the targets are carried to
the true equator and equinox of the night (`~astropy.coordinates.TETE`:
precession, nutation and aberration, once per target), and the apparent
sidereal time is computed once per minute; each altitude is then one
spherical-trigonometry step on a ``targets x times`` array. Over a night the
apparent places move by well under an arcsecond, so the result agrees with
a full ``AltAz`` transform of every pair to about 0.01 deg (refraction, a
few arcminutes at the altitude limits, is left out, as the Sun's is in
`torosdrivers.coords.sun_altitude`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import astropy.units as u
import numpy as np
from astropy.coordinates import TETE, EarthLocation, SkyCoord, get_body
from astropy.time import Time, TimeDelta

from torosdrivers.coords import moon_altaz_and_phase, separation, sun_altitude

#: The Moon's place is computed every this many grid steps and interpolated between.
MOON_EVERY = 10

__all__ = ["NightGrid", "night_grid", "apparent", "altitudes", "airmass_of", "moon_separation", "separation"]


@dataclass(frozen=True)
class NightGrid:
    """The times a plan is made on: ``start + step * i``.

    Attributes
    ----------
    times
        The grid's times (UTC).
    step
        Seconds between two times.
    sun
        The Sun's altitude at each time, degrees.
    moon_altitude, moon_ra, moon_dec
        The Moon's altitude (degrees) and its apparent place (degrees) at each time.
    moon_illumination
        The lit fraction of the Moon's disc at the middle of the grid (0 new, 1 full).
    site
        Where.
    """

    times: Time
    step: float
    sun: np.ndarray
    moon_altitude: np.ndarray
    moon_ra: np.ndarray
    moon_dec: np.ndarray
    moon_illumination: float
    site: EarthLocation
    lst: np.ndarray  # apparent local sidereal time, radians

    @property
    def start(self) -> Time:
        return self.times[0]

    def __len__(self) -> int:
        return len(self.times)

    def index(self, when: Time) -> int:
        """The grid index at or after ``when`` (``len(self)`` past the end)."""
        offset = float((when - self.start).to_value(u.s)) / self.step
        return int(min(max(np.ceil(offset - 1e-9), 0), len(self)))


def night_grid(start: Time, end: Time, site: EarthLocation, step: float = 60.0) -> NightGrid:
    """The grid from ``start`` to ``end`` every ``step`` seconds, with the Sun, the Moon and the sidereal time."""
    count = int(np.floor(float((end - start).to_value(u.s)) / step)) + 1
    times = start + TimeDelta(np.arange(count) * step, format="sec")
    with warnings.catch_warnings():  # an offline IERS table warns about the far future: the planner can wait
        warnings.simplefilter("ignore")
        lst = times.sidereal_time("apparent", longitude=site.lon).radian
        # The Moon moves half a degree an hour: its place every ten minutes, interpolated, is exact enough.
        coarse = np.unique(np.append(np.arange(0, count, MOON_EVERY), count - 1))
        moon = get_body("moon", times[coarse], site).transform_to(TETE(obstime=times[coarse], location=site))
        _, illumination = moon_altaz_and_phase(times[count // 2], site)
    every = np.arange(count)
    moon_ra = np.interp(every, coarse, np.unwrap(moon.ra.radian)) % (2 * np.pi)
    moon_dec = np.interp(every, coarse, moon.dec.radian)
    lat = site.lat.radian
    moon_alt = np.degrees(np.arcsin(np.sin(lat) * np.sin(moon_dec)
                                    + np.cos(lat) * np.cos(moon_dec) * np.cos(lst - moon_ra)))
    return NightGrid(times=times, step=float(step), sun=np.atleast_1d(sun_altitude(times, site)),
                     moon_altitude=moon_alt, moon_ra=np.degrees(moon_ra), moon_dec=np.degrees(moon_dec),
                     moon_illumination=float(illumination), site=site, lst=lst)


def apparent(targets: SkyCoord, grid: NightGrid) -> tuple[np.ndarray, np.ndarray]:
    """The targets' apparent RA and Dec (radians) for the night: one transform for all of them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        place = targets.transform_to(TETE(obstime=grid.times[len(grid) // 2], location=grid.site))
    return place.ra.radian, place.dec.radian


def chart_data(grid: NightGrid, targets: SkyCoord, first: Time, last: Time, step: float = 120.0) -> dict:
    """What `torosdrivers.scheduling.chart.plan_chart` draws, in plain numbers (for XML-RPC).

    The grid from two hours before ``first`` to two after ``last`` every
    ``step`` seconds (the Sun's and the Moon's altitudes, the sidereal time)
    and each target's apparent place: the chart then needs no astropy, and
    its client no second computation of what the planner computed.
    """
    every = max(1, int(round(step / grid.step)))
    lo = max(grid.index(first - TimeDelta(7200, format="sec")) - 1, 0)
    hi = min(grid.index(last + TimeDelta(7200, format="sec")) + 1, len(grid))
    pick = np.arange(lo, max(hi, lo + 1), every)
    ra, dec = apparent(targets, grid) if len(targets) else (np.zeros(0), np.zeros(0))
    return {"Start": grid.times[pick[0]].isot + "Z", "Step": float(grid.step * every),
            "Sun": np.round(grid.sun[pick], 2).tolist(), "Moon": np.round(grid.moon_altitude[pick], 2).tolist(),
            "Moon Illumination": round(float(grid.moon_illumination), 3), "LST": np.round(grid.lst[pick], 6).tolist(),
            "Latitude": float(grid.site.lat.deg), "RA": np.round(ra, 7).tolist(), "Dec": np.round(dec, 7).tolist()}


def altitudes(targets: SkyCoord, grid: NightGrid) -> np.ndarray:
    """Altitude in degrees of every target at every time of the grid: ``[target, time]``, float32."""
    ra, dec = apparent(targets, grid)
    lat = grid.site.lat.radian
    sin_dec, cos_dec = np.sin(dec)[:, None], np.cos(dec)[:, None]
    hour_angle = grid.lst[None, :] - ra[:, None]
    sin_alt = np.sin(lat) * sin_dec + np.cos(lat) * cos_dec * np.cos(hour_angle)
    return np.degrees(np.arcsin(np.clip(sin_alt, -1.0, 1.0))).astype(np.float32)


def airmass_of(altitude: np.ndarray) -> np.ndarray:
    """Airmass by Pickering (2002), as `torosdrivers.coords.airmass`, for an array (inf below the horizon)."""
    alt = np.asarray(altitude, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = 1.0 / np.sin(np.radians(alt + 244.0 / (165.0 + 47.0 * np.abs(alt) ** 1.1)))
    return np.where(alt > 0, out, np.inf)


def moon_separation(targets: SkyCoord, grid: NightGrid) -> np.ndarray:
    """Separation in degrees of every target from the Moon at every time: ``[target, time]``, float32."""
    ra, dec = apparent(targets, grid)
    return separation(np.degrees(ra)[:, None], np.degrees(dec)[:, None],
                      grid.moon_ra[None, :], grid.moon_dec[None, :]).astype(np.float32)
