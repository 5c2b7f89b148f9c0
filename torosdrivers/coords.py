"""Sky coordinates, sites and time: the astropy conventions of the package.

Interfaces pass ICRS ``SkyCoord``; this module turns what users type
(``SkyCoord``, a pair of degrees, sexagesimal strings) into ICRS, or raises an
`InvalidValueError` that names the value. It also sets astropy's IERS handling
for an observatory PC that is often offline (see `configure_iers`).
"""

from __future__ import annotations

import os
import re
import warnings
from typing import Union

import astropy.units as u
import numpy as np
from astropy.coordinates import FK4, FK5, TETE, AltAz, Angle, EarthLocation, SkyCoord
from astropy.time import Time
from astropy.utils.exceptions import AstropyWarning

from .errors import InvalidValueError
from .quantities import to_value

__all__ = [
    "TargetLike",
    "sun_altaz",
    "sun_altitude",
    "local_sidereal_degrees",
    "separation",
    "in_field",
    "moon_altaz_and_phase",
    "TOROS_SITE",
    "configure_iers",
    "parse_ra",
    "parse_dec",
    "ra_degrees",
    "dec_degrees",
    "to_icrs",
    "altaz_frame",
    "to_altaz",
    "from_altaz",
    "airmass",
    "EPOCHS",
    "icrs_to_epoch",
    "epoch_to_icrs",
]

TargetLike = Union[SkyCoord, "tuple[object, object]"]

#: The TOROS site at Cordón Macón, Salta, Argentina.
TOROS_SITE = EarthLocation.from_geodetic(
    lon=-67.3283 * u.deg, lat=-24.6228 * u.deg, height=4650 * u.m
)


def configure_iers(allow_download: bool | None = None) -> None:
    """Make astropy's Earth-rotation tables safe for an offline observatory.

    By default astropy downloads a fresh IERS-A table and *raises* for dates
    past the bundled one when it cannot: an offline mount would then fail to
    compute an altitude at night. Here the bundled table
    (``astropy-iers-data``) is used with a warning instead; the error it
    allows is far below a pointing tolerance. Set ``TOROS_IERS_DOWNLOAD=1``
    (or pass ``allow_download=True``) on a networked PC to keep downloads on.
    """
    from astropy.utils import iers

    if allow_download is None:
        allow_download = os.environ.get("TOROS_IERS_DOWNLOAD", "") == "1"
    if allow_download:
        return
    iers.conf.auto_download = False
    iers.conf.auto_max_age = None
    iers.conf.iers_degraded_accuracy = "warn"


configure_iers()  # on first import: every module that computes a position or a time imports this one

_SEXAGESIMAL = re.compile(r"^\s*([+-]?)(\d{1,3})[:\s](\d{1,2})(?:[:\s](\d{1,2}(?:\.\d*)?))?\s*$")


def _degrees(value: object, unit: u.UnitBase, field: str) -> float:
    """An angle in degrees from a number (degrees), a ``Quantity`` or a string in ``unit``."""
    if not isinstance(value, str):
        return to_value(value, u.deg, field)
    match = _SEXAGESIMAL.match(value)
    if match:  # the common "12:34:56.7" / "-12 34 56" forms, without astropy's general parser
        sign, whole, minutes, seconds = match.groups()
        if int(minutes) < 60 and float(seconds or 0) < 60:
            number = int(whole) + int(minutes) / 60 + float(seconds or 0) / 3600
            number *= 15.0 if unit == u.hourangle else 1.0
            return -number if sign == "-" else number
    try:
        with warnings.catch_warnings():
            # astropy only warns about "24:00:01" or "10:75:00"; refuse them.
            warnings.simplefilter("error", AstropyWarning)
            return float(Angle(value.strip(), unit=unit).to_value(u.deg))
    except (ValueError, u.UnitsError, AstropyWarning) as exc:
        raise InvalidValueError(
            f"{field}={value!r}: expected a number or a sexagesimal string in {unit}"
        ) from exc


def ra_degrees(value: object, field: str = "ra") -> float:
    """Right ascension in degrees from degrees, a ``Quantity`` or ``"HH:MM:SS"``, checked to [0, 360)."""
    deg = _degrees(value, u.hourangle, field)
    if not 0.0 <= deg < 360.0:
        raise InvalidValueError(f"{field}={value!r}: expected 0 <= RA < 360 degrees (0 to 24 hours)")
    return deg


def dec_degrees(value: object, field: str = "dec") -> float:
    """Declination in degrees from degrees, a ``Quantity`` or ``"+DD:MM:SS"``, checked to [-90, 90]."""
    deg = _degrees(value, u.deg, field)
    if not -90.0 <= deg <= 90.0:
        raise InvalidValueError(f"{field}={value!r}: expected -90 <= Dec <= 90 degrees")
    return deg


def parse_ra(value: object, field: str = "ra") -> Angle:
    """Right ascension from degrees, a ``Quantity`` or an ``"HH:MM:SS"`` string.

    Raises
    ------
    InvalidValueError
        If the value is not an angle in [0, 360) degrees (0 to 24 hours).
    """
    return Angle(ra_degrees(value, field), u.deg)


def parse_dec(value: object, field: str = "dec") -> Angle:
    """Declination from degrees, a ``Quantity`` or a ``"+DD:MM:SS"`` string.

    Raises
    ------
    InvalidValueError
        If the value is not an angle in [-90, 90] degrees.
    """
    return Angle(dec_degrees(value, field), u.deg)


def to_icrs(target: object, field: str = "target") -> SkyCoord:
    """Return ``target`` as a scalar ICRS ``SkyCoord``.

    Parameters
    ----------
    target
        A ``SkyCoord`` in any frame astropy can convert to ICRS (an ``AltAz``
        one needs its ``obstime`` and ``location``), or a pair ``(ra, dec)``
        of degrees, ``Quantity`` or sexagesimal strings (RA in hours).
    field
        Name used in error messages.

    Raises
    ------
    InvalidValueError
        If the target cannot be understood or is out of range.
    """
    if isinstance(target, SkyCoord):
        if not target.isscalar:
            raise InvalidValueError(f"{field}: expected one coordinate, got {target.shape}")
        try:
            icrs = target.icrs
        except Exception as exc:  # astropy raises several kinds for a bad frame
            raise InvalidValueError(f"{field}={target}: cannot convert to ICRS: {exc}") from exc
        return SkyCoord(ra=icrs.ra, dec=icrs.dec, frame="icrs")
    if isinstance(target, (tuple, list)) and len(target) == 2:
        ra = parse_ra(target[0], f"{field} ra")
        dec = parse_dec(target[1], f"{field} dec")
        return SkyCoord(ra=ra, dec=dec, frame="icrs")
    raise InvalidValueError(
        f"{field}={target!r}: expected a SkyCoord or an (ra, dec) pair"
    )


def altaz_frame(time: Time, site: EarthLocation) -> AltAz:
    """The horizontal frame at ``site`` and ``time`` (no refraction)."""
    return AltAz(obstime=time, location=site)


def to_altaz(coord: SkyCoord, time: Time, site: EarthLocation) -> SkyCoord:
    """Where ``coord`` stands in the sky of ``site`` at ``time``."""
    with warnings.catch_warnings():
        # Degraded-accuracy IERS warnings are expected offline (configure_iers).
        warnings.simplefilter("ignore", category=Warning)
        return coord.transform_to(altaz_frame(time, site))


def from_altaz(alt: float, az: float, time: Time, site: EarthLocation) -> SkyCoord:
    """ICRS coordinate of the horizontal direction ``(alt, az)`` in degrees."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        horizontal = SkyCoord(alt=alt * u.deg, az=az * u.deg, frame=altaz_frame(time, site))
        icrs = horizontal.icrs
    return SkyCoord(ra=icrs.ra, dec=icrs.dec, frame="icrs")


def airmass(altitude_deg: float) -> float:
    """Airmass at an altitude, by Pickering (2002); valid down to the horizon."""
    h = max(float(altitude_deg), 0.0)
    return float(1.0 / np.sin(np.radians(h + 244.0 / (165.0 + 47.0 * h**1.1))))


#: Equatorial systems a mount may speak: "jnow" is the apparent place of date
#: (topocentric, true equator and equinox: astropy's TETE), the others are mean
#: places of a fixed equinox. ICRS and J2000 differ by under 0.1 arcsec.
EPOCHS = ("jnow", "j2000", "j2050", "b1950")


def _epoch_frame(epoch: str, time: Time, site: EarthLocation):
    if epoch == "jnow":
        return TETE(obstime=time, location=site)
    if epoch == "j2000":
        return FK5(equinox="J2000")
    if epoch == "j2050":
        return FK5(equinox="J2050")
    if epoch == "b1950":
        return FK4(equinox="B1950", obstime=time)
    raise InvalidValueError(f"epoch={epoch!r}: expected one of {EPOCHS}")


def icrs_to_epoch(coord: SkyCoord, epoch: str, time: Time, site: EarthLocation) -> tuple[float, float]:
    """``(ra, dec)`` in degrees of an ICRS coordinate in a mount's equatorial system."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        c = coord.transform_to(_epoch_frame(epoch, time, site))
    return float(c.ra.deg), float(c.dec.deg)


def epoch_to_icrs(ra: float, dec: float, epoch: str, time: Time, site: EarthLocation) -> SkyCoord:
    """ICRS coordinate of ``(ra, dec)`` degrees given in a mount's equatorial system."""
    frame = _epoch_frame(epoch, time, site)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        icrs = SkyCoord(ra * u.deg, dec * u.deg, frame=frame).icrs
    return SkyCoord(ra=icrs.ra, dec=icrs.dec, frame="icrs")


def separation(ra1, dec1, ra2, dec2) -> np.ndarray:
    """Great-circle separation in degrees of places given in degrees (broadcast), by the haversine formula
    (exact at small angles, where the cosine formula loses arcseconds; microseconds, not a SkyCoord's ms)."""
    ra1, dec1, ra2, dec2 = (np.radians(np.asarray(x, dtype=np.float64)) for x in (ra1, dec1, ra2, dec2))
    h = np.sin((dec2 - dec1) / 2) ** 2 + np.cos(dec1) * np.cos(dec2) * np.sin((ra2 - ra1) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0))))


def in_field(ra, dec, centre_ra: float, centre_dec: float, field_of_view: float) -> np.ndarray:
    """Which of the places (degrees) fall in the square field of ``field_of_view`` degrees at the centre
    (aligned with RA and Dec; the RA offset shrunk by cos(Dec), as a camera sees it)."""
    half = field_of_view / 2.0
    ra, dec = np.asarray(ra, dtype=np.float64), np.asarray(dec, dtype=np.float64)
    d_ra = (ra - centre_ra + 180.0) % 360.0 - 180.0
    return (np.abs(dec - centre_dec) <= half) & (np.abs(d_ra) * np.cos(np.radians(dec)) <= half)


_GEODETIC: dict[tuple[bytes, str], tuple[float, float]] = {}


def _lon_lat(site: EarthLocation) -> tuple[float, float]:
    """A site's longitude and latitude in degrees, converted once per site.

    astropy converts an `EarthLocation` to geodetic on every ``.lon`` or
    ``.lat`` (about 0.3 ms each); a safety supervisor asks several times a second.
    """
    key = (site.view(np.ndarray).tobytes(), str(site.unit))
    found = _GEODETIC.get(key)
    if found is None:
        geodetic = site.to_geodetic()
        found = _GEODETIC[key] = (float(geodetic.lon.deg), float(geodetic.lat.deg))
    return found


def local_sidereal_degrees(time: Time, site: EarthLocation) -> float | np.ndarray:
    """Local mean sidereal time in degrees (IAU 1982 GMST, linear: 0.1 s of time over decades).

    Microseconds, for what needs an hour angle often (the Sun's altitude,
    a pointing model on every slew) rather than astropy's apparent sidereal time.
    """
    n = np.asarray(time.utc.jd, dtype=float) - 2451545.0
    return (280.46061837 + 360.98564736629 * n + _lon_lat(site)[0]) % 360.0


def sun_altitude(time: Time, site: EarthLocation) -> float | np.ndarray:
    """The Sun's altitude in degrees, by the Astronomical Almanac's low-precision formulae (0.01 deg).

    Microseconds instead of astropy's ~10 ms ephemeris and frame transform:
    a safety supervisor asks several times a second, a planner for every
    minute of the night (an array of times gives an array). No refraction
    (it lifts the Sun 0.5 deg at the horizon, nothing at twilight limits).
    """
    n = np.asarray(time.utc.jd, dtype=float) - 2451545.0
    g = np.radians((357.528 + 0.9856003 * n) % 360.0)
    ecliptic = np.radians((280.460 + 0.9856474 * n) % 360.0 + 1.915 * np.sin(g) + 0.020 * np.sin(2 * g))
    obliquity = np.radians(23.439 - 0.0000004 * n)
    ra = np.arctan2(np.cos(obliquity) * np.sin(ecliptic), np.cos(ecliptic))
    dec = np.arcsin(np.sin(obliquity) * np.sin(ecliptic))
    hour_angle = np.radians(local_sidereal_degrees(time, site)) - ra
    lat = np.radians(_lon_lat(site)[1])
    altitude = np.degrees(np.arcsin(np.sin(lat) * np.sin(dec) + np.cos(lat) * np.cos(dec) * np.cos(hour_angle)))
    return float(altitude) if altitude.ndim == 0 else altitude


def sun_altaz(time: Time, site: EarthLocation) -> SkyCoord:
    """Where the Sun stands in the sky of ``site`` at ``time``."""
    from astropy.coordinates import get_body

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        return get_body("sun", time, site).transform_to(altaz_frame(time, site))


def moon_altaz_and_phase(time: Time, site: EarthLocation) -> tuple[SkyCoord, float]:
    """Where the Moon stands, and the fraction of its disc that is lit (0 new, 1 full)."""
    from astropy.coordinates import get_body

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        moon = get_body("moon", time, site)
        sun = get_body("sun", time, site)
        elongation = float(sun.separation(moon).rad)
        return moon.transform_to(altaz_frame(time, site)), (1.0 - np.cos(elongation)) / 2.0

