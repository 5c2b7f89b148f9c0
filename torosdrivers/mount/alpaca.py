"""ASCOM Alpaca telescope mount (ITelescopeV4), on alpyca.

Coordinates cross the wire in the mount's ``EquatorialSystem`` (read at
connect): 1 topocentric/JNow, 2 J2000, 3 J2050, 4 B1950; 0 ("other") is taken
as J2000. RA goes in hours, Dec in degrees. The conversion to and from ICRS is
`torosdrivers.coords.icrs_to_epoch` / `epoch_to_icrs`, in the mount's own time
(``UTCDate``) at its own site (``SiteLatitude``...).
"""

from __future__ import annotations

import astropy.units as u
from alpaca.telescope import Telescope as _AlpycaTelescope
from astropy.coordinates import EarthLocation, SkyCoord
from astropy.time import Time

from ..alpaca.client import AlpacaDeviceMixin
from ..coords import epoch_to_icrs, icrs_to_epoch
from .base import Mount

__all__ = ["AlpacaMount", "EQUATORIAL_SYSTEMS"]

#: ASCOM EquatorialSystem values -> `torosdrivers.coords.EPOCHS`.
EQUATORIAL_SYSTEMS = {0: "j2000", 1: "jnow", 2: "j2000", 3: "j2050", 4: "b1950"}


class AlpacaMount(AlpacaDeviceMixin, Mount):
    """A telescope mount on an Alpaca server.

    Parameters
    ----------
    address
        ``host:port`` of the server.
    device_number
        Telescope number on the server.
    timeout
        Seconds for each HTTP request.
    min_altitude
        See `Mount`.
    """

    def __init__(
        self,
        address: str,
        device_number: int = 0,
        *,
        timeout: float = 10.0,
        min_altitude: float = 10.0,
        poll_interval: float = 0.1,
    ) -> None:
        label = self._init_alpaca(_AlpycaTelescope, "telescope", address, device_number, timeout)
        super().__init__(label, min_altitude=min_altitude, timeout=max(timeout, 300.0), poll_interval=poll_interval)
        self._epoch = "j2000"
        self._location: EarthLocation | None = None

    def _on_connect(self) -> None:
        """``EquatorialSystem``, ``SiteLatitude``, ``SiteLongitude``, ``SiteElevation``."""
        link = self._link
        self._epoch = EQUATORIAL_SYSTEMS.get(int(link.get("EquatorialSystem")), "j2000")
        self._location = EarthLocation.from_geodetic(
            lon=float(link.get("SiteLongitude")) * u.deg,
            lat=float(link.get("SiteLatitude")) * u.deg,
            height=float(link.get("SiteElevation")) * u.m,
        )

    @property
    def epoch(self) -> str:
        """The mount's equatorial system (``"jnow"``, ``"j2000"``...)."""
        return self._epoch

    def _site(self) -> EarthLocation:
        assert self._location is not None
        return self._location

    def _now(self) -> Time:
        """``UTCDate``: the mount's clock."""
        value = self._link.get("UTCDate")
        with self._link.translate("UTCDate"):
            return Time(value, scale="utc")

    def _position(self) -> SkyCoord:
        """``RightAscension`` (hours) and ``Declination``, converted to ICRS."""
        ra_hours = float(self._link.get("RightAscension"))
        dec = float(self._link.get("Declination"))
        return epoch_to_icrs(ra_hours * 15.0, dec, self._epoch, self._now(), self._site())

    def _wire(self, target: SkyCoord) -> tuple[float, float]:
        ra, dec = icrs_to_epoch(target, self._epoch, self._now(), self._site())
        return (ra / 15.0) % 24.0, dec

    def _slewing(self) -> bool:
        """``Slewing``."""
        return bool(self._link.get("Slewing"))

    def _slew_to(self, target: SkyCoord) -> None:
        """``SlewToCoordinatesAsync`` (``RightAscension`` hours, ``Declination``)."""
        self._link.call("SlewToCoordinatesAsync", *self._wire(target))

    def _abort(self) -> None:
        """``AbortSlew``."""
        self._link.call("AbortSlew")

    def _sync(self, target: SkyCoord) -> None:
        """``SyncToCoordinates``."""
        self._link.call("SyncToCoordinates", *self._wire(target))

    def _tracking(self) -> bool:
        """``Tracking`` (GET)."""
        return bool(self._link.get("Tracking"))

    def _set_tracking(self, on: bool) -> None:
        """``Tracking`` (PUT)."""
        self._link.set("Tracking", on)

    def _at_park(self) -> bool:
        """``AtPark``."""
        return bool(self._link.get("AtPark"))

    def _park(self) -> None:
        """``Park`` (asynchronous in ITelescopeV4: ``AtPark`` turns true on arrival)."""
        self._link.call("Park")

    def _unpark(self) -> None:
        """``Unpark``."""
        self._link.call("Unpark")
