"""INDI telescope mount (``INDI::Telescope``): the standard properties, each hook naming the one it uses.

Coordinates cross the wire as ``EQUATORIAL_EOD_COORD`` (RA hours, DEC
degrees) in JNow, the epoch of date that every INDI mount driver speaks;
they are converted here to and from ICRS (`torosdrivers.coords`, ``jnow``:
apparent place, as Ekos computes it). What a new ``EQUATORIAL_EOD_COORD``
does is chosen by ``ON_COORD_SET`` (TRACK: slew then track, SYNC: sync).
The vector is Busy while the mount slews, Ok once it tracks or stops.

``TELESCOPE_ABORT_MOTION.ABORT``, ``TELESCOPE_TRACK_STATE`` (TRACK_ON /
TRACK_OFF), ``TELESCOPE_PARK`` (PARK / UNPARK; Busy while parking),
``GEOGRAPHIC_COORD`` (LAT, LONG east 0-360, ELEV).
"""

from __future__ import annotations

import astropy.units as u
from astropy.coordinates import EarthLocation, SkyCoord
from astropy.time import Time

from ..coords import epoch_to_icrs, icrs_to_epoch
from ..errors import DriverError
from ..indi import IndiDeviceMixin, IndiLink
from .base import Mount

__all__ = ["IndiMount"]


class IndiMount(IndiDeviceMixin, Mount):
    """A mount driven by an INDI driver through indiserver.

    Parameters
    ----------
    address
        ``host:port`` of the indiserver.
    device
        The INDI device name (e.g. ``Telescope Simulator``, ``EQMod Mount``, ``LX200 GPS``).
    site
        Where the mount stands. Given, it is sent to the driver at connect (``GEOGRAPHIC_COORD``), as Ekos
        does, so that the driver's horizon and JNow agree with ours; None reads the driver's.
    timeout
        Seconds for the server and each answer.
    min_altitude
        See `Mount`.
    """

    _REQUIRED = ("EQUATORIAL_EOD_COORD", "ON_COORD_SET", "TELESCOPE_ABORT_MOTION", "GEOGRAPHIC_COORD")

    def __init__(self, address: str, device: str, *, site: EarthLocation | None = None, timeout: float = 10.0,
                 min_altitude: float = 10.0, poll_interval: float = 0.1) -> None:
        super().__init__(f"INDI {device}", f"INDI mount {device!r} at {address}", min_altitude=min_altitude,
                         timeout=max(timeout, 300.0), poll_interval=poll_interval)
        self._link = IndiLink(address, device, timeout=timeout)
        self._given_site = site
        self._location: EarthLocation | None = None

    def _on_connect(self) -> None:
        """``GEOGRAPHIC_COORD``: sent when a site was given, read otherwise."""
        link = self._link
        if self._given_site is not None:
            site = self._given_site
            link.set("GEOGRAPHIC_COORD", {"LAT": float(site.lat.deg), "LONG": float(site.lon.deg) % 360.0,
                                          "ELEV": float(site.height.to_value(u.m))})
        lon = link.number("GEOGRAPHIC_COORD", "LONG")
        self._location = EarthLocation.from_geodetic(
            lon=(lon - 360.0 if lon > 180.0 else lon) * u.deg, lat=link.number("GEOGRAPHIC_COORD", "LAT") * u.deg,
            height=link.number("GEOGRAPHIC_COORD", "ELEV") * u.m)

    def _site(self) -> EarthLocation:
        assert self._location is not None
        return self._location

    def _now(self) -> Time:
        """The driver's ``TIME_UTC`` where the driver keeps it running, else the computer's clock.

        INDI clients set a driver's TIME_UTC from their own clock and most drivers never update it, so a
        value is trusted only from a driver seen to keep it current (updated twice since the definitions,
        the last within 5 s): a simulated observatory's clock, or a mount with its own GPS.
        """
        link = self._link
        if link.has("TIME_UTC") and link.answers("TIME_UTC")[0] >= 3 and link.age("TIME_UTC") < 5.0:
            try:
                told = Time(link.text("TIME_UTC", "UTC"), format="isot", scale="utc")
            except ValueError:
                return super()._now()
            return told + link.age("TIME_UTC") * u.s
        return super()._now()

    def _position(self) -> SkyCoord:
        """``EQUATORIAL_EOD_COORD`` (RA hours, DEC degrees, JNow), converted to ICRS."""
        ra = self._link.number("EQUATORIAL_EOD_COORD", "RA") * 15.0
        dec = self._link.number("EQUATORIAL_EOD_COORD", "DEC")
        return epoch_to_icrs(ra, dec, "jnow", self._now(), self._site())

    def _coordinates(self, target: SkyCoord, action: str) -> dict[str, float]:
        """``ON_COORD_SET.<action>`` On; the ``EQUATORIAL_EOD_COORD`` members (RA hours, DEC) in JNow."""
        if not self._link.switch("ON_COORD_SET", action):
            self._link.set("ON_COORD_SET", {"TRACK": "On" if action == "TRACK" else "Off",
                                            "SLEW": "Off", "SYNC": "On" if action == "SYNC" else "Off"})
        ra, dec = icrs_to_epoch(target, "jnow", self._now(), self._site())
        return {"RA": (ra / 15.0) % 24.0, "DEC": dec}

    def _slewing(self) -> bool:
        """``EQUATORIAL_EOD_COORD`` Busy (Alert: the slew failed, with the driver's message)."""
        state = self._link.state("EQUATORIAL_EOD_COORD")
        if state == "Alert":
            raise DriverError(f"{self.name}: the slew failed (EQUATORIAL_EOD_COORD is Alert): "
                              f"{self._link.last_message() or 'no message'}")
        return state == "Busy"

    def _slew_to(self, target: SkyCoord) -> None:
        """``ON_COORD_SET.TRACK``, ``EQUATORIAL_EOD_COORD``; Busy until the driver reports arrival."""
        link = self._link
        answered, busy = link.answers("EQUATORIAL_EOD_COORD")
        link.send("EQUATORIAL_EOD_COORD", self._coordinates(target, "TRACK"))

        # The driver sends the vector every poll while it tracks: an Ok sent just before our command
        # must not read as the slew's end. It answers a goto Busy (or Alert); a goto to where the mount
        # already is may be answered Ok at once, so that counts too.
        def started() -> bool:
            count, turned = link.answers("EQUATORIAL_EOD_COORD")
            return turned > busy or (count > answered and self._position().separation(target).deg < 1 / 60)

        link.wait_until(started, link.timeout, "the slew's start (EQUATORIAL_EOD_COORD Busy)")
        self._slewing()  # refused (Alert): raised now, with the driver's message, not at the first poll

    def _abort(self) -> None:
        """``TELESCOPE_ABORT_MOTION.ABORT``."""
        self._link.set("TELESCOPE_ABORT_MOTION", {"ABORT": "On"})

    def _sync(self, target: SkyCoord) -> None:
        """``ON_COORD_SET.SYNC``, ``EQUATORIAL_EOD_COORD``, then back to TRACK."""
        self._link.set("EQUATORIAL_EOD_COORD", self._coordinates(target, "SYNC"))
        self._link.set("ON_COORD_SET", {"TRACK": "On", "SLEW": "Off", "SYNC": "Off"})

    def _tracking(self) -> bool:
        """``TELESCOPE_TRACK_STATE.TRACK_ON``."""
        return self._link.switch("TELESCOPE_TRACK_STATE", "TRACK_ON")

    def _set_tracking(self, on: bool) -> None:
        """``TELESCOPE_TRACK_STATE``: TRACK_ON or TRACK_OFF."""
        self._link.set("TELESCOPE_TRACK_STATE", {"TRACK_ON": "On" if on else "Off", "TRACK_OFF": "Off" if on else "On"},
                       busy_is_done=True)  # INDI marks tracking Busy: "on", not "under way"

    def _at_park(self) -> bool:
        """``TELESCOPE_PARK.PARK`` On and the vector no longer Busy (Alert: the park failed)."""
        if not self._link.has("TELESCOPE_PARK"):
            return False
        if self._link.state("TELESCOPE_PARK") == "Alert":
            raise DriverError(f"{self.name}: the park failed (TELESCOPE_PARK is Alert): "
                              f"{self._link.last_message() or 'no message'}")
        return self._link.switch("TELESCOPE_PARK", "PARK") and self._link.state("TELESCOPE_PARK") != "Busy"

    def _park(self) -> None:
        """``TELESCOPE_PARK.PARK`` (Busy while the mount moves to its park position)."""
        self._link.send("TELESCOPE_PARK", {"PARK": "On", "UNPARK": "Off"})

    def _unpark(self) -> None:
        """``TELESCOPE_PARK.UNPARK``."""
        if self._link.has("TELESCOPE_PARK") and not self._link.switch("TELESCOPE_PARK", "UNPARK"):
            self._link.set("TELESCOPE_PARK", {"PARK": "Off", "UNPARK": "On"})
