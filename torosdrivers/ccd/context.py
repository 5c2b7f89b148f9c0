"""`FrameContext`: the observatory facts a camera writes into each header.

A camera knows its own exposure (EXPTIME, CCD-TEMP, binning, gain); where the
telescope points, which filter is in the beam and who observes are known to
other devices. A `FrameContext` names those devices once. The camera takes a
`Snapshot` of them at the start of every exposure, whatever their backends
are, and once the exposure's own start and length are known adds what
depends on the time: altitude, azimuth, airmass, hour angle and sidereal
time at mid-exposure, and the TAN WCS of the pointing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import astropy.units as u
from astropy.coordinates import EarthLocation, SkyCoord
from astropy.time import Time, TimeDelta

from ..coords import airmass, to_altaz
from ..errors import DriverError, UnsupportedError

if TYPE_CHECKING:
    from ..mount.base import Mount
    from ..focuser.base import Focuser
    from .filterwheel import FilterWheel

__all__ = ["FrameContext", "Card", "Snapshot"]

log = logging.getLogger(__name__)

Card = tuple[str, Any, str]


@dataclass
class Snapshot:
    """What the other devices said at the start of an exposure."""

    cards: list[Card]
    pointing: SkyCoord | None = None  # ICRS, as the mount reports it
    site: EarthLocation | None = None


@dataclass
class FrameContext:
    """Devices and names that fill the observatory keywords of a header.

    Attributes
    ----------
    telescope
        ``TELESCOP``.
    observer
        ``OBSERVER``.
    observatory
        ``OBSERVAT`` (the site's name).
    mount
        Source of ``RA``, ``DEC``, ``AIRMASS``, altitude, azimuth and the WCS.
    filter_wheel
        Source of ``FILTER``.
    focuser
        Source of ``FOCUSPOS`` (steps) and ``FOCTEMP`` (its probe, Celsius).
    site
        Source of ``SITELAT``/``SITELONG``/``SITEELEV``; the mount's site when
        not given.
    focal_length
        Millimetres (``FOCALLEN``); with the camera's pixel size it gives the
        WCS plate scale. None: no WCS.
    rotation
        Degrees from north to the frame's +y axis, towards east (the WCS).
    extra
        Further cards added to every header, as ``{keyword: value}``.
    """

    telescope: str = ""
    observer: str = ""
    mount: "Mount | None" = None
    filter_wheel: "FilterWheel | None" = None
    focuser: "Focuser | None" = None
    site: EarthLocation | None = None
    observatory: str = ""
    focal_length: float | None = None
    rotation: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def snapshot(self) -> Snapshot:
        """Read the devices now (at exposure start) and return their cards and the pointing.

        A device that fails to answer does not lose the exposure: its
        keywords are left out and a ``COMMENT`` card says why (and a warning
        is logged).
        """
        cards: list[Card] = []
        for key, value, comment in (("TELESCOP", self.telescope, "telescope"), ("OBSERVER", self.observer, "observer"),
                                    ("OBSERVAT", self.observatory, "observatory")):
            if value:
                cards.append((key, value, comment))
        if self.focal_length:
            cards.append(("FOCALLEN", round(float(self.focal_length), 2), "[mm] focal length"))
        if self.filter_wheel is not None:
            try:
                name = self.filter_wheel.filter
            except DriverError as exc:
                cards.append(self._unavailable("FILTER", exc))
            else:
                cards.append(("FILTER", name if name is not None else "MOVING", "filter in the beam"))
        if self.focuser is not None:
            try:
                cards.append(("FOCUSPOS", int(self.focuser.position), "[step] focuser position"))
            except DriverError as exc:
                cards.append(self._unavailable("FOCUSPOS", exc))
            try:
                cards.append(("FOCTEMP", round(float(self.focuser.temperature.value), 2), "[C] focuser temperature"))
            except UnsupportedError:
                pass  # a focuser without a probe: no card, no complaint
            except DriverError as exc:
                cards.append(self._unavailable("FOCTEMP", exc))
        site, pointing = self.site, None
        if self.mount is not None:
            try:
                pointing = self.mount.position
                if site is None:
                    site = self.mount.site
            except DriverError as exc:
                cards.append(self._unavailable("RA/DEC", exc))
            else:
                cards.extend(_pointing_cards(pointing))
        if site is not None:
            cards.append(("SITELAT", round(site.lat.deg, 6), "[deg] site latitude, north positive"))
            cards.append(("SITELONG", round(site.lon.deg, 6), "[deg] site longitude, east positive"))
            cards.append(("SITEELEV", round(site.height.to_value("m"), 1), "[m] site elevation"))
        cards.extend((key, value, "") for key, value in self.extra.items())
        return Snapshot(cards, pointing, site)

    @staticmethod
    def timed_cards(snapshot: Snapshot, start: Time, duration: float) -> list[Card]:
        """Where the pointing stood at mid-exposure: OBJCTALT/AZ, AIRMASS (above the horizon only), HA, LST."""
        if snapshot.pointing is None or snapshot.site is None:
            return []
        mid = start + TimeDelta(duration / 2.0, format="sec")
        horizontal = to_altaz(snapshot.pointing, mid, snapshot.site)
        alt = float(horizontal.alt.deg)
        lst = mid.sidereal_time("apparent", longitude=snapshot.site.lon)
        hour_angle = (lst - snapshot.pointing.ra).wrap_at(180 * u.deg)
        cards: list[Card] = [
            ("OBJCTALT", round(alt, 4), "[deg] altitude at mid-exposure"),
            ("OBJCTAZ", round(float(horizontal.az.deg), 4), "[deg] azimuth at mid-exposure"),
        ]
        if alt > 0:
            cards.append(("AIRMASS", round(airmass(alt), 5), "at mid-exposure (Pickering 2002)"))
        cards.append(("LST", lst.to_string(unit="hourangle", sep=":", precision=2, pad=True),
                      "[h] local apparent sidereal time, mid"))
        cards.append(("HA", hour_angle.to_string(unit="hourangle", sep=":", precision=2, pad=True, alwayssign=True),
                      "[h] hour angle at mid-exposure"))
        return cards

    @staticmethod
    def _unavailable(what: str, exc: DriverError) -> Card:
        log.warning("%s not written to the header: %s", what, exc)
        return ("COMMENT", f"{what} unavailable: {exc}", "")


def _pointing_cards(position: SkyCoord) -> list[Card]:
    return [
        ("RA", round(float(position.ra.deg), 6), "[deg] ICRS right ascension of the pointing"),
        ("DEC", round(float(position.dec.deg), 6), "[deg] ICRS declination of the pointing"),
        ("OBJCTRA", position.ra.to_string(unit="hourangle", sep=" ", precision=2, pad=True), "[h m s] ICRS"),
        ("OBJCTDEC", position.dec.to_string(unit="deg", sep=" ", precision=1, alwayssign=True, pad=True), "[d m s] ICRS"),
        ("RADESYS", "ICRS", "reference frame of RA, DEC and the WCS"),
        ("EQUINOX", 2000.0, "equinox of RA and DEC"),
    ]
