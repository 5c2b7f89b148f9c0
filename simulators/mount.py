"""Simulated equatorial mount: slew rate, settling, tracking, park, sync.

The mount holds its true pointing either fixed on the sky (tracking) or fixed
on the Earth (not tracking, parked), so with tracking off the sky drifts past
at the sidereal rate computed by astropy from the site and the clock. What it
reports is the true pointing plus a pointing-model offset that `sync`
corrects; the simulated camera sees the true pointing.

Like a real mount, it can point wrong: ``errors`` are TPOINT terms (index
errors, cone, non-perpendicularity, polar misalignment, tube flexure; see
`torosdrivers.mount.pointing_model`), so the sky it truly looks at differs
from what it was sent to (and reports) by arcminutes that vary over the sky
as a real mount's do; `typical_errors` draws a seeded set.
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
from astropy.coordinates import EarthLocation, SkyCoord

from torosdrivers.coords import from_altaz, local_sidereal_degrees, to_altaz
from torosdrivers.mount.base import Mount
from torosdrivers.mount.pointing_model import TERMS, term_offsets

from .clock import SimClock, Timer

__all__ = ["SimulatedMount", "typical_errors"]

#: RMS of each TPOINT term of a small observatory's mount before any model, arcsec (a few arcminutes in all).
_TYPICAL_RMS = {"IH": 120.0, "ID": 90.0, "CH": 60.0, "NP": 30.0, "MA": 90.0, "ME": 90.0, "TF": 30.0}


def typical_errors(seed: int = 0, scale: float = 1.0) -> dict[str, float]:
    """A seeded set of TPOINT terms (arcsec) as a real, unmodelled mount has them, ``scale`` times typical."""
    rng = np.random.default_rng((seed, 29))
    return {term: float(rng.normal(0.0, _TYPICAL_RMS[term] * scale)) for term in TERMS}


def _wrap180(angle: float) -> float:
    return (angle + 180.0) % 360.0 - 180.0


class SimulatedMount(Mount):
    """A German equatorial mount on a simulated sky.

    Parameters
    ----------
    clock
        The observatory's clock.
    site
        Where the mount stands.
    slew_rate
        Degrees per device second on each axis.
    settle
        Device seconds to settle after a slew.
    pointing_error
        RMS error of the initial pointing model, arcsec (0: perfect).
    seed
        Fixes the pointing error.
    errors
        TPOINT terms, arcsec (`typical_errors`); None: it points where it is sent.
    repeatability
        RMS per axis, arcsec, of a random error of each slew that no model can
        remove (gear backlash, settling); 0: none.
    """

    def __init__(
        self,
        clock: SimClock,
        site: EarthLocation,
        *,
        slew_rate: float = 4.0,
        settle: float = 2.0,
        pointing_error: float = 0.0,
        seed: int = 0,
        errors: dict[str, float] | None = None,
        repeatability: float = 0.0,
        **kwargs,
    ) -> None:
        kwargs.setdefault("poll_interval", clock.poll_interval)
        super().__init__("Simulated mount", "TOROS simulated German equatorial mount", **kwargs)
        self._clock = clock
        self._location = site
        self.slew_rate = slew_rate
        self.settle = settle
        # Park: pointing at the visible celestial pole, counterweight down.
        lat = float(site.lat.deg)
        self.park_altaz = (abs(lat), 0.0 if lat >= 0 else 180.0)
        rng = np.random.default_rng((seed, 11))
        self._offset = tuple(rng.normal(0.0, pointing_error / 3600.0, 2)) if pointing_error else (0.0, 0.0)
        #: TPOINT terms of the mount's true errors, arcsec (empty: none).
        self.errors = {k: float(v) for k, v in (errors or {}).items() if v}
        self.repeatability = float(repeatability)
        self._scatter = np.random.default_rng((seed, 31))
        self._fixed_sky: tuple[float, float] | None = None
        self._fixed_earth: tuple[float, float] | None = self.park_altaz
        self._slew: tuple[tuple[float, float], tuple[float, float], Timer, float] | None = None
        self._tracking_on = False
        self._parked = True
        self._parking = False

    def _now(self):
        return self._clock.now()

    def _site(self) -> EarthLocation:
        return self._location

    # -- true pointing -------------------------------------------------------------
    def _update(self) -> None:
        with self._lock:
            if self._slew is not None and self._slew[2].done:
                self._finish_at(self._slew[1])

    def _finish_at(self, radec: tuple[float, float]) -> None:
        self._slew = None
        if self._parking:
            self._parking, self._parked = False, True
            self._tracking_on = False
            self._fixed_sky, self._fixed_earth = None, self.park_altaz
        elif self._tracking_on:
            self._fixed_sky, self._fixed_earth = radec, None
        else:
            self._freeze_on_earth(radec)

    def _freeze_on_earth(self, radec: tuple[float, float]) -> None:
        horizontal = to_altaz(SkyCoord(radec[0] * u.deg, radec[1] * u.deg), self._now(), self._location)
        self._fixed_sky, self._fixed_earth = None, (float(horizontal.alt.deg), float(horizontal.az.deg))

    def _true_radec(self) -> tuple[float, float]:
        with self._lock:
            self._update()
            if self._slew is not None:
                (ra0, dec0), (ra1, dec1), timer, travel = self._slew
                f = 1.0 if travel == 0 else min(timer.elapsed() / travel, 1.0)
                return (ra0 + f * _wrap180(ra1 - ra0)) % 360.0, dec0 + f * (dec1 - dec0)
            if self._fixed_sky is not None:
                return self._fixed_sky
            alt, az = self._fixed_earth  # type: ignore[misc]
            c = from_altaz(alt, az, self._now(), self._location)
            return float(c.ra.deg), float(c.dec.deg)

    @property
    def parking(self) -> bool:
        """Whether a park slew is under way."""
        self._update()
        return self._parking

    @property
    def location(self) -> EarthLocation:
        """Where the mount stands."""
        return self._location

    def optical_axis(self) -> SkyCoord:
        """Where the telescope truly points (ICRS), whatever the model says, connected or not."""
        ra, dec = self._true_radec()
        return SkyCoord(ra * u.deg, dec * u.deg, frame="icrs")

    # -- Mount hooks --------------------------------------------------------------------
    # -- where the encoders say and where the tube looks ----------------------------------
    def _encoders_for(self, ra: float, dec: float) -> tuple[float, float]:
        """The encoders' reading (as RA, Dec) when the tube truly looks at ``(ra, dec)``."""
        if not self.errors:
            return ra, dec
        lst = float(local_sidereal_degrees(self._now(), self._location))
        d_h, d_d = term_offsets(self.errors, lst - ra, dec, float(self._location.lat.deg))
        return (ra - float(d_h) / 3600.0) % 360.0, float(np.clip(dec + float(d_d) / 3600.0, -90.0, 90.0))

    def _sky_for(self, ra: float, dec: float) -> tuple[float, float]:
        """Where the tube truly looks when the encoders read ``(ra, dec)`` (two fixed-point steps: 0.01")."""
        sky = (ra, dec)
        for _ in range(3):
            enc = self._encoders_for(*sky)
            sky = ((sky[0] + _wrap180(ra - enc[0])) % 360.0, float(np.clip(sky[1] + dec - enc[1], -90.0, 90.0)))
        return sky

    def _position(self) -> SkyCoord:
        ra, dec = self._encoders_for(*self._true_radec())
        ra = (ra + self._offset[0]) % 360.0
        dec = float(np.clip(dec + self._offset[1], -90.0, 90.0))
        return SkyCoord(ra * u.deg, dec * u.deg, frame="icrs")

    def _slewing(self) -> bool:
        self._update()
        return self._slew is not None

    def _start_slew(self, ra: float, dec: float) -> None:
        start = self._true_radec()
        travel = max(abs(_wrap180(ra - start[0])), abs(dec - start[1])) / self.slew_rate
        settle = self.settle if travel > 0 else 0.0
        self._slew = (start, (ra, dec), Timer(self._clock, travel + settle), travel)
        self._fixed_sky = self._fixed_earth = None

    def _slew_to(self, target: SkyCoord) -> None:
        ra = (float(target.ra.deg) - self._offset[0]) % 360.0
        dec = float(np.clip(float(target.dec.deg) - self._offset[1], -90.0, 90.0))
        ra, dec = self._sky_for(ra, dec)
        if self.repeatability:
            d_ra, d_dec = self._scatter.normal(0.0, self.repeatability / 3600.0, 2)
            ra, dec = (ra + d_ra / max(np.cos(np.radians(dec)), 0.01)) % 360.0, float(np.clip(dec + d_dec, -90, 90))
        self._start_slew(ra, dec)

    def _abort(self) -> None:
        with self._lock:
            if self._slew is not None:
                here = self._true_radec()
                self._parking = False
                self._finish_at(here)

    def _sync(self, target: SkyCoord) -> None:
        ra, dec = self._encoders_for(*self._true_radec())
        self._offset = (_wrap180(float(target.ra.deg) - ra), float(target.dec.deg) - dec)

    def _tracking(self) -> bool:
        return self._tracking_on

    def _set_tracking(self, on: bool) -> None:
        with self._lock:
            self._update()
            if on == self._tracking_on:
                return
            if self._slew is None:
                here = self._true_radec()
                if on:
                    self._fixed_sky, self._fixed_earth = here, None
                else:
                    self._freeze_on_earth(here)
            self._tracking_on = on

    def _at_park(self) -> bool:
        self._update()
        return self._parked

    def _park(self) -> None:
        if self._parked:
            return
        alt, az = self.park_altaz
        park = from_altaz(alt, az, self._now(), self._location)
        self._start_slew(float(park.ra.deg), float(park.dec.deg))
        self._parking = True

    def _unpark(self) -> None:
        self._parked = False
