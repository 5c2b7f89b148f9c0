"""Simulated equatorial mount: slew rate, settling, tracking, park, sync.

The mount holds its true pointing either fixed on the sky (tracking) or fixed
on the Earth (not tracking, parked), so with tracking off the sky drifts past
at the sidereal rate computed by astropy from the site and the clock. What it
reports is the true pointing plus a pointing-model offset that `sync`
corrects; the simulated camera sees the true pointing.
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
from astropy.coordinates import EarthLocation, SkyCoord

from torosdrivers.coords import from_altaz, to_altaz
from torosdrivers.mount.base import Mount

from .clock import SimClock, Timer

__all__ = ["SimulatedMount"]


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
    def _position(self) -> SkyCoord:
        ra, dec = self._true_radec()
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
        self._start_slew(ra, dec)

    def _abort(self) -> None:
        with self._lock:
            if self._slew is not None:
                here = self._true_radec()
                self._parking = False
                self._finish_at(here)

    def _sync(self, target: SkyCoord) -> None:
        ra, dec = self._true_radec()
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
