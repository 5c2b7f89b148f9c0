"""The `Mount` interface (after ASCOM ITelescopeV4).

Positions cross the interface as ICRS ``SkyCoord``; a backend whose device
speaks another epoch (JNow for LX200, ``EquatorialSystem`` for Alpaca)
converts in its own module. This class checks every target once for all
backends: its range, the park state and the minimum altitude.
"""

from __future__ import annotations

import abc

import astropy.units as u
import numpy as np
from astropy.coordinates import EarthLocation, SkyCoord
from astropy.time import Time

from ..coords import to_altaz, to_icrs
from ..device import Device
from ..errors import InvalidValueError, ParkedError
from ..quantities import QuantityLike, as_degrees

__all__ = ["Mount"]


def _describe(coord: SkyCoord) -> str:
    return (
        f"RA={coord.ra.to_string(unit='hourangle', sep=':', precision=1, pad=True)} "
        f"Dec={coord.dec.to_string(unit='deg', sep=':', precision=0, alwayssign=True, pad=True)}"
    )


class Mount(Device):
    """A telescope mount.

    Parameters
    ----------
    name, description, timeout, poll_interval
        See `Device`.
    min_altitude
        Targets below this altitude (degrees) are refused.
    """

    device_type = "telescope"

    def __init__(self, name: str, description: str = "", *, min_altitude: QuantityLike = 10.0, **kwargs) -> None:
        super().__init__(name, description, **kwargs)
        self._min_altitude = as_degrees(min_altitude, "min_altitude", minimum=-90.0, maximum=90.0)

    # -- where and when --------------------------------------------------------
    @property
    def site(self) -> EarthLocation:
        """Geographic location of the mount."""
        self._require_connected()
        return self._site()

    @property
    def time(self) -> Time:
        """The mount's UTC clock."""
        self._require_connected()
        return self._now()

    @property
    def position(self) -> SkyCoord:
        """Where the mount points, ICRS."""
        self._require_connected()
        return self._position()

    @property
    def altaz(self) -> SkyCoord:
        """Where the mount points, in the site's horizontal frame now."""
        self._require_connected()
        return to_altaz(self._position(), self._now(), self._site())

    @property
    def min_altitude(self) -> u.Quantity:
        """Lowest altitude a slew may go to."""
        return self._min_altitude * u.deg

    @min_altitude.setter
    def min_altitude(self, value: QuantityLike) -> None:
        self._min_altitude = as_degrees(value, "min_altitude", minimum=-90.0, maximum=90.0)

    # -- motion ------------------------------------------------------------------
    @property
    def slewing(self) -> bool:
        """Whether the mount is slewing."""
        self._require_connected()
        return self._slewing()

    def slew_to(self, target: object, *, wait: bool = True, timeout: float | None = None) -> None:
        """Slew to a target, tracking it, and with ``wait`` return when it has arrived.

        Tracking is switched on first if it is off: a slew to sky coordinates
        ends following them (ASCOM mounts refuse the slew otherwise).

        Parameters
        ----------
        target
            A ``SkyCoord`` or an ``(ra, dec)`` pair (see `torosdrivers.coords.to_icrs`).
        wait
            Wait for the slew to finish.
        timeout
            Bound on the wait, seconds; None uses the device's ``timeout``.

        Raises
        ------
        InvalidValueError
            Target out of range or below the minimum altitude.
        ParkedError
            The mount is parked.
        DeviceTimeoutError, OperationCancelledError
            The wait ran out, or `abort` was called.
        """
        icrs = to_icrs(target)

        def start() -> None:
            if self._at_park():
                raise ParkedError(f"{self.name}: cannot slew while parked; call unpark() first")
            self.check_altitude(icrs)
            if not self._tracking():
                self._set_tracking(True)
            self._slew_to(icrs)

        self._start_then_wait(
            start, done=lambda: not self._slewing(), what=f"slew to {_describe(icrs)}", wait=wait, timeout=timeout
        )

    def check_altitude(self, target: SkyCoord) -> float:
        """Altitude of ``target`` now, in degrees, or raise if below the limit.

        Raises
        ------
        InvalidValueError
            The target is below ``min_altitude``.
        """
        alt = float(to_altaz(target, self._now(), self._site()).alt.deg)
        if alt < self._min_altitude:
            raise InvalidValueError(
                f"{self.name}: target {_describe(target)} is at altitude {alt:.1f} deg, "
                f"below the minimum altitude of {self._min_altitude:.1f} deg"
            )
        return alt

    def wait_for_slew(self, *, timeout: float | None = None, what: str = "slew") -> None:
        """Wait until the mount stops slewing."""
        self._wait_until(lambda: not self._slewing(), what=what, timeout=timeout)

    def abort(self) -> None:
        """Stop any motion at once; a waiting `slew_to` raises `OperationCancelledError`."""
        self._abort_with(self._abort)

    def sync(self, target: object) -> None:
        """Tell the mount that it points at ``target`` (corrects its model).

        Raises
        ------
        ParkedError
            The mount is parked.
        """
        icrs = to_icrs(target)
        with self._lock:
            self._require_connected()
            if self._at_park():
                raise ParkedError(f"{self.name}: cannot sync while parked")
            self._sync(icrs)

    @property
    def tracking(self) -> bool:
        """Whether the mount follows the sky at the sidereal rate."""
        self._require_connected()
        return self._tracking()

    @tracking.setter
    def tracking(self, value: bool) -> None:
        if not isinstance(value, (bool, np.bool_)):
            raise InvalidValueError(f"tracking={value!r}: expected True or False")
        with self._lock:
            self._require_connected()
            if value and self._at_park():
                raise ParkedError(f"{self.name}: cannot track while parked")
            self._set_tracking(bool(value))

    # -- park ----------------------------------------------------------------------
    @property
    def at_park(self) -> bool:
        """Whether the mount is parked."""
        self._require_connected()
        return self._at_park()

    def park(self, *, wait: bool = True, timeout: float | None = None) -> None:
        """Slew to the park position and stop tracking."""
        self._start_then_wait(self._park, done=self._at_park, what="park", wait=wait, timeout=timeout)

    def unpark(self) -> None:
        """Leave the park state so the mount can slew."""
        with self._lock:
            self._require_connected()
            self._unpark()

    # -- hooks ---------------------------------------------------------------------
    @abc.abstractmethod
    def _site(self) -> EarthLocation: ...

    @abc.abstractmethod
    def _position(self) -> SkyCoord: ...

    @abc.abstractmethod
    def _slewing(self) -> bool: ...

    @abc.abstractmethod
    def _slew_to(self, target: SkyCoord) -> None:
        """Start a slew to an ICRS target already checked by the base class."""

    @abc.abstractmethod
    def _abort(self) -> None: ...

    @abc.abstractmethod
    def _sync(self, target: SkyCoord) -> None: ...

    @abc.abstractmethod
    def _tracking(self) -> bool: ...

    @abc.abstractmethod
    def _set_tracking(self, on: bool) -> None: ...

    @abc.abstractmethod
    def _at_park(self) -> bool: ...

    @abc.abstractmethod
    def _park(self) -> None:
        """Start the move to park; `_at_park` turns true on arrival."""

    @abc.abstractmethod
    def _unpark(self) -> None: ...
