"""`FrameContext`: the observatory facts a camera writes into each header.

A camera knows its own exposure (EXPTIME, CCD-TEMP, binning, gain); where the
telescope points, which filter is in the beam and who observes are known to
other devices. A `FrameContext` names those devices once, and the camera reads
them at the start of every exposure, whatever their backends are.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from astropy.coordinates import EarthLocation
from astropy.time import Time

from ..coords import airmass, to_altaz
from ..errors import DriverError

if TYPE_CHECKING:
    from ..mount.base import Mount
    from .filterwheel import FilterWheel

__all__ = ["FrameContext", "Card"]

log = logging.getLogger(__name__)

Card = tuple[str, Any, str]


@dataclass
class FrameContext:
    """Devices and names that fill the observatory keywords of a header.

    Attributes
    ----------
    telescope
        ``TELESCOP``.
    observer
        ``OBSERVER``.
    mount
        Source of ``RA``, ``DEC``, ``AIRMASS``, altitude and azimuth.
    filter_wheel
        Source of ``FILTER``.
    site
        Source of ``SITELAT``/``SITELONG``/``SITEELEV``; the mount's site when
        not given.
    extra
        Further cards added to every header, as ``{keyword: value}``.
    """

    telescope: str = ""
    observer: str = ""
    mount: "Mount | None" = None
    filter_wheel: "FilterWheel | None" = None
    site: EarthLocation | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def cards(self, time: Time) -> list[Card]:
        """Read the devices now and return the header cards for an exposure.

        A device that fails to answer does not lose the exposure: its
        keywords are left out and a ``COMMENT`` card says why (and a warning
        is logged).
        """
        cards: list[Card] = []
        if self.telescope:
            cards.append(("TELESCOP", self.telescope, "telescope"))
        if self.observer:
            cards.append(("OBSERVER", self.observer, "observer"))
        if self.filter_wheel is not None:
            try:
                name = self.filter_wheel.filter
            except DriverError as exc:
                cards.append(self._unavailable("FILTER", exc))
            else:
                cards.append(("FILTER", name if name is not None else "MOVING", "filter in the beam"))
        site = self.site
        if self.mount is not None:
            try:
                cards.extend(self._mount_cards(time))
                site = site or self.mount.site
            except DriverError as exc:
                cards.append(self._unavailable("RA/DEC", exc))
        if site is not None:
            cards.append(("SITELAT", round(site.lat.deg, 6), "[deg] site latitude, north positive"))
            cards.append(("SITELONG", round(site.lon.deg, 6), "[deg] site longitude, east positive"))
            cards.append(("SITEELEV", round(site.height.to_value("m"), 1), "[m] site elevation"))
        cards.extend((key, value, "") for key, value in self.extra.items())
        return cards

    def _mount_cards(self, time: Time) -> list[Card]:
        mount = self.mount
        assert mount is not None
        position = mount.position
        horizontal = to_altaz(position, time, mount.site)
        alt = float(horizontal.alt.deg)
        return [
            ("RA", round(float(position.ra.deg), 6), "[deg] ICRS right ascension of the pointing"),
            ("DEC", round(float(position.dec.deg), 6), "[deg] ICRS declination of the pointing"),
            ("OBJCTRA", position.ra.to_string(unit="hourangle", sep=" ", precision=2, pad=True), "[h m s] ICRS"),
            ("OBJCTDEC", position.dec.to_string(unit="deg", sep=" ", precision=1, alwayssign=True, pad=True), "[d m s] ICRS"),
            ("RADESYS", "ICRS", "reference frame of RA and DEC"),
            ("EQUINOX", 2000.0, "equinox of RA and DEC"),
            ("OBJCTALT", round(alt, 4), "[deg] altitude at exposure start"),
            ("OBJCTAZ", round(float(horizontal.az.deg), 4), "[deg] azimuth at exposure start"),
            ("AIRMASS", round(airmass(alt), 5), "airmass at exposure start (Pickering 2002)"),
        ]

    @staticmethod
    def _unavailable(what: str, exc: DriverError) -> Card:
        log.warning("%s not written to the header: %s", what, exc)
        return ("COMMENT", f"{what} unavailable: {exc}", "")
