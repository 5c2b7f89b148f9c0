"""Our devices as INDI devices: one class per device kind, its standard INDI properties, one method each.

What `torosdrivers.indi.IndiServer` publishes. Each class defines the
properties the INDI standard gives its kind (the names a reader can check
against INDI's "Standard Properties" and ``indi_simulator_*``), fills them
from the device in `refresh`, and answers a client's ``new*Vector`` in a
``new_<property>`` method named after the property. A command that fails
leaves its property in Alert with the error as the message until the next
command to it; a move started while another client's move runs (over INDI
or Alpaca) is refused by the same `torosdrivers.alpaca.members.Members`
rules the Alpaca face applies, and aborts always pass.

INDI's ``CONNECTION`` is each client's own (`torosdrivers.indi.server`):
the device server holds the hardware for all its clients, so Ekos
disconnecting must not close the dome a daemon observes with.

Device names and ``DRIVER_INTERFACE`` bits: ``TOROS Camera`` (CCD, 2),
``TOROS Filter Wheel`` (FILTER, 16), ``TOROS Mount`` (TELESCOPE, 1),
``TOROS Dome`` (DOME, 32), ``TOROS Focuser`` (FOCUSER, 8), ``TOROS Weather``
(WEATHER, 128).
"""

from __future__ import annotations

import io
import logging
import math
import threading
import time
from typing import Any, Callable

import astropy.units as u
from astropy.coordinates import SkyCoord

from .._version import __version__
from ..alpaca.members import CameraMembers, Members
from ..ccd.base import Camera, CameraState
from ..ccd.filterwheel import FilterWheel
from ..ccd.frame import Frame
from ..coords import epoch_to_icrs, icrs_to_epoch
from ..dome.base import Dome, ShutterState
from ..errors import DriverError, InvalidValueError
from ..focuser.base import Focuser
from ..mount.base import Mount
from ..weather.base import ObservingConditions, SafetyMonitor
from ..weather.indi import PARAMETERS
from .protocol import Member, Vector

__all__ = ["Published", "publish", "PublishedCamera", "PublishedDome", "PublishedFilterWheel", "PublishedFocuser",
           "PublishedMount", "PublishedWeather"]

log = logging.getLogger(__name__)

MAIN, INFO, OPTIONS, SITE = "Main Control", "General Info", "Options", "Site Management"


def _numbers(name: str, label: str, group: str, members: list[tuple], perm: str = "rw") -> Vector:
    """A number vector from ``(name, label, format, min, max, step, value)`` tuples."""
    return Vector("Number", name, label, group, [Member(*m[:2], value=m[6], format=m[2], min=m[3], max=m[4],
                                                        step=m[5]) for m in members], perm=perm)


def _switches(name: str, label: str, group: str, members: list[tuple[str, str]], on: str | None,
              rule: str = "OneOfMany") -> Vector:
    return Vector("Switch", name, label, group, [Member(n, lab, "On" if n == on else "Off") for n, lab in members],
                  perm="rw", rule=rule)


class Published:
    """One of our devices as an INDI device.

    Parameters
    ----------
    name
        Its INDI device name.
    members
        The device's one-owner rules (shared with the Alpaca face when the device server has both).
    """

    #: ``DRIVER_INFO.DRIVER_INTERFACE`` bits (INDI::BaseDevice::DRIVER_INTERFACE).
    interface = 0
    #: Least seconds between two reads of the device by the poll (a command's answer always reads it).
    read_interval = 0.0

    def __init__(self, name: str, members: Members) -> None:
        self.name = name
        self.members = members
        self.device = members.device
        self.lock = threading.RLock()
        self.vectors: dict[str, Vector] = {}
        #: A failed command's property stays Alert, with its message, until the next command to it.
        self.alerts: dict[str, str] = {}
        self._sent: dict[str, tuple] = {}
        self._read_at = -math.inf
        self._add(_switches("CONNECTION", "Connection", MAIN, [("CONNECT", "Connect"), ("DISCONNECT", "Disconnect")],
                            "CONNECT"))
        self.vectors["CONNECTION"].state = "Ok"
        self._add(Vector("Text", "DRIVER_INFO", "Driver Info", INFO, [
            Member("DRIVER_NAME", "Name", "TOROS device server"), Member("DRIVER_EXEC", "Exec", "toros-devices"),
            Member("DRIVER_VERSION", "Version", __version__),
            Member("DRIVER_INTERFACE", "Interface", str(self.interface))]))
        self.define()
        self.refresh()

    def _add(self, vector: Vector) -> None:
        self.vectors[vector.name] = vector

    def define(self) -> None:
        """Add the kind's vectors (subclasses)."""

    def read(self) -> None:
        """Fill the vectors from the device (subclasses)."""

    def refresh(self, *, now: bool = False) -> list[Vector]:
        """Read the device (``now``, or once `read_interval` has passed); the vectors whose values or state
        changed since they were last sent."""
        with self.lock:
            if now or time.monotonic() - self._read_at >= self.read_interval:
                self._read_at = time.monotonic()
                try:
                    self.read()
                except DriverError as exc:  # a device that cannot be read now keeps its last values
                    log.debug("%s: %s", self.name, exc)
            for name in self.alerts:
                self.vectors[name].state = "Alert"
            return [v for v in self.vectors.values() if v.kind != "BLOB" and self._sent.get(v.name) != v.snapshot()]

    def sent(self, vector: Vector) -> None:
        """Note what clients have now seen of ``vector``."""
        self._sent[vector.name] = vector.snapshot()

    def apply(self, vector: Vector, values: dict[str, Any], client: int) -> str | None:
        """Do what a client's ``new*Vector`` asks (``new_<property>``); a message for the clients, or None.

        Raises
        ------
        DriverError
            The device refused; the caller leaves the property Alert with this message.
        """
        handler: Callable | None = getattr(self, f"new_{vector.name.lower()}", None)
        if handler is None:
            raise InvalidValueError(f"{self.name}: {vector.name} cannot be set")
        with self.lock:
            self.alerts.pop(vector.name, None)
            said = handler(vector, values, client)
            self.refresh(now=True)
            return said

    def failed(self, vector: Vector, text: str) -> None:
        with self.lock:
            self.alerts[vector.name] = text
            vector.state = "Alert"

    def blob(self) -> tuple[str, str, Callable[[], bytes | memoryview], str] | None:
        """A BLOB to send now, once (subclasses): vector, member, a function that encodes it (called only
        when a client takes BLOBs), format."""
        return None

    @staticmethod
    def _switch(values: dict, vector: Vector) -> str | None:
        on = [n for n, v in values.items() if v == "On"]
        return on[0] if on else None


# -- CCD (INDI::CCD) ---------------------------------------------------------------------------------------
class PublishedCamera(Published):
    """``CCD_INFO``, ``CCD_EXPOSURE`` (Busy, counting down), ``CCD_ABORT_EXPOSURE``, ``CCD_FRAME`` (unbinned
    pixels), ``CCD_BINNING``, ``CCD_FRAME_TYPE``, ``CCD_TEMPERATURE``, ``CCD_COOLER``, ``CCD_COOLER_POWER``,
    and the image as the ``CCD1`` BLOB, a FITS file (``.fits``) with the frame's header."""

    interface = 2
    members: CameraMembers
    device: Camera

    def define(self) -> None:
        c = self.device
        (w, h), (px, py) = c.sensor_size, c.pixel_size.to_value(u.um)
        self._exposing: float | None = None  # seconds, while an exposure a client here started runs
        self._image: Frame | None = None  # the finished frame, until `blob` takes it
        self._set_point: float | None = None
        self._add(_numbers("CCD_INFO", "CCD Information", "Image Info", [
            ("CCD_MAX_X", "Max. Width", "%4.0f", 1, 16000, 0, w), ("CCD_MAX_Y", "Max. Height", "%4.0f", 1, 16000, 0, h),
            ("CCD_PIXEL_SIZE", "Pixel size (um)", "%5.2f", 0, 100, 0, px),
            ("CCD_PIXEL_SIZE_X", "Pixel size X", "%5.2f", 0, 100, 0, px),
            ("CCD_PIXEL_SIZE_Y", "Pixel size Y", "%5.2f", 0, 100, 0, py),
            ("CCD_BITSPERPIXEL", "Bits per pixel", "%3.0f", 8, 64, 0, int(c.max_adu).bit_length())], perm="ro"))
        self._add(_numbers("CCD_EXPOSURE", "Expose", MAIN, [
            ("CCD_EXPOSURE_VALUE", "Duration (s)", "%5.2f", 0, float(c.max_exposure), 0.001, 0.0)]))
        self._add(_switches("CCD_ABORT_EXPOSURE", "Abort", MAIN, [("ABORT", "Abort")], None, "AtMostOne"))
        self._add(_numbers("CCD_FRAME", "Frame", "Image Settings", [
            ("X", "Left", "%4.0f", 0, w - 1, 1, 0), ("Y", "Top", "%4.0f", 0, h - 1, 1, 0),
            ("WIDTH", "Width", "%4.0f", 1, w, 1, w), ("HEIGHT", "Height", "%4.0f", 1, h, 1, h)]))
        self._add(_numbers("CCD_BINNING", "Binning", "Image Settings", [
            ("HOR_BIN", "X", "%2.0f", 1, c.max_binning, 1, 1), ("VER_BIN", "Y", "%2.0f", 1, c.max_binning, 1, 1)]))
        self._add(_switches("CCD_FRAME_TYPE", "Frame Type", "Image Settings", [
            ("FRAME_LIGHT", "Light"), ("FRAME_BIAS", "Bias"), ("FRAME_DARK", "Dark"), ("FRAME_FLAT", "Flat")],
            "FRAME_LIGHT"))
        try:
            c.temperature
            self._add(_numbers("CCD_TEMPERATURE", "Temperature", MAIN, [
                ("CCD_TEMPERATURE_VALUE", "Temperature (C)", "%5.2f", -100, 50, 0, 0.0)]))
            self._add(_switches("CCD_COOLER", "Cooler", MAIN, [("COOLER_ON", "On"), ("COOLER_OFF", "Off")],
                                "COOLER_OFF"))
            c.cooler_power
            self._add(_numbers("CCD_COOLER_POWER", "Cooling Power", MAIN, [
                ("CCD_COOLER_VALUE", "Cooling Power (%)", "%3.0f", 0, 100, 0, 0.0)], perm="ro"))
        except DriverError:  # a camera without a sensor thermometer or cooler has none of these
            pass
        self._add(Vector("BLOB", "CCD1", "Image Data", "Image Info", [Member("CCD1", "Image")]))

    def read(self) -> None:
        c, v = self.device, self.vectors
        exposure = v["CCD_EXPOSURE"]
        if self._exposing is not None:
            state = c.state
            if state == CameraState.ERROR:
                self._exposing = None
                self.alerts["CCD_EXPOSURE"] = f"{c.name}: the exposure failed (the camera is in its Error state)"
            elif self.members.frame is not None or c.image_ready:
                # Read here to end the exposure (and kept there too, for an Alpaca client that asks)
                self._image, self._exposing = self.members.image(), None
                exposure.state, exposure["CCD_EXPOSURE_VALUE"] = "Ok", 0.0
            else:
                exposure.state = "Busy"
                exposure["CCD_EXPOSURE_VALUE"] = self._exposing * (1.0 - c.percent_completed / 100.0)
        elif self.members.busy():  # an exposure another face's client started: shown, its image left to it
            exposure.state = "Busy"
        elif exposure.state == "Busy":
            exposure.state = "Ok"
        if "CCD_TEMPERATURE" in v:
            now = float(c.temperature.to_value(u.deg_C))
            v["CCD_TEMPERATURE"]["CCD_TEMPERATURE_VALUE"] = now
            cooling = c.cooler_on
            v["CCD_COOLER"].choose("COOLER_ON" if cooling else "COOLER_OFF")
            v["CCD_COOLER"].state = "Ok" if cooling else "Idle"
            if self._set_point is None or not cooling:
                v["CCD_TEMPERATURE"].state = "Idle" if self._set_point is None else "Ok"
            else:
                v["CCD_TEMPERATURE"].state = "Busy" if abs(now - self._set_point) > 0.5 else "Ok"
            if "CCD_COOLER_POWER" in v:
                v["CCD_COOLER_POWER"]["CCD_COOLER_VALUE"] = float(c.cooler_power)
                v["CCD_COOLER_POWER"].state = "Ok"

    def blob(self) -> tuple[str, str, Callable[[], bytes | memoryview], str] | None:
        """The finished frame as a FITS file, encoded only if a client takes it."""
        with self.lock:
            frame, self._image = self._image, None
        if frame is None:
            return None

        def encode() -> memoryview:
            buffer = io.BytesIO()
            frame.to_hdu().writeto(buffer)
            return buffer.getbuffer()  # no copy of the file

        return "CCD1", "CCD1", encode, ".fits"

    def new_ccd_exposure(self, vector: Vector, values: dict, client: int) -> None:
        """Start an exposure with the held binning, frame and frame type; Busy until the BLOB is sent."""
        c, v = self.device, self.vectors
        seconds = values["CCD_EXPOSURE_VALUE"]
        bx, by = int(v["CCD_BINNING"]["HOR_BIN"]), int(v["CCD_BINNING"]["VER_BIN"])
        x, y, width, height = (int(v["CCD_FRAME"][k]) for k in ("X", "Y", "WIDTH", "HEIGHT"))
        w, h = c.sensor_size
        if x + width > w or y + height > h:
            raise InvalidValueError(f"CCD_FRAME {x},{y} {width}x{height}: does not fit the {w}x{h} sensor")
        kind = v["CCD_FRAME_TYPE"].on() or "FRAME_LIGHT"
        with self.members.moving("startexposure", client), self.members.lock:
            c.binning = (bx, by)
            c.subframe = (x // bx, y // by, max(1, width // bx), max(1, height // by))
            self.members.frame = None
            c.start_exposure(seconds, light=kind in ("FRAME_LIGHT", "FRAME_FLAT"),
                             imagetyp={"FRAME_FLAT": "FLAT", "FRAME_BIAS": "BIAS"}.get(kind))
        self._exposing, self._image = seconds, None
        vector.state, vector["CCD_EXPOSURE_VALUE"] = "Busy", seconds

    def new_ccd_abort_exposure(self, vector: Vector, values: dict, client: int) -> None:
        """Abort (always passes); ``CCD_EXPOSURE`` goes Idle."""
        with self.members.lock:
            self.device.abort_exposure()
        self._exposing = None
        self.alerts.pop("CCD_EXPOSURE", None)
        self.vectors["CCD_EXPOSURE"].state = "Idle"
        vector.choose(None)
        vector.state = "Ok"

    def _settings(self, vector: Vector, values: dict) -> None:
        if self._exposing is not None:
            raise InvalidValueError(f"{vector.name}: not while an exposure runs (abort it first)")
        for name, value in values.items():
            if value != int(value):
                raise InvalidValueError(f"{vector.name}.{name}={value:g}: expected a whole number of pixels")
            vector[name] = int(value)
        vector.state = "Ok"

    def new_ccd_frame(self, vector: Vector, values: dict, client: int) -> None:
        """Held and applied at the next exposure (INDI counts it in unbinned pixels)."""
        self._settings(vector, values)

    def new_ccd_binning(self, vector: Vector, values: dict, client: int) -> None:
        self._settings(vector, values)

    def new_ccd_frame_type(self, vector: Vector, values: dict, client: int) -> None:
        vector.choose(self._switch(values, vector) or vector.on())
        vector.state = "Ok"

    def new_ccd_temperature(self, vector: Vector, values: dict, client: int) -> None:
        """A new set point, and the cooler on (Busy until within 0.5 C)."""
        celsius = values["CCD_TEMPERATURE_VALUE"]
        self.device.set_temperature(celsius)
        self.device.cooler_on = True
        self._set_point = celsius

    def new_ccd_cooler(self, vector: Vector, values: dict, client: int) -> None:
        self.device.cooler_on = values.get("COOLER_ON") == "On" or values.get("COOLER_OFF") == "Off"


# -- filter wheel (INDI::FilterWheel) ------------------------------------------------------------------------
class PublishedFilterWheel(Published):
    """``FILTER_SLOT.FILTER_SLOT_VALUE`` (1-based; Busy while the wheel turns) and ``FILTER_NAME`` (read-only:
    the names are the configuration's)."""

    interface = 16
    device: FilterWheel

    def define(self) -> None:
        names = self.device.names
        self._add(_numbers("FILTER_SLOT", "Filter Slot", "Filter Wheel", [
            ("FILTER_SLOT_VALUE", "Filter", "%3.0f", 1, len(names), 1, 1)]))
        self._add(Vector("Text", "FILTER_NAME", "Filter", "Filter Wheel",
                         [Member(f"FILTER_SLOT_NAME_{i}", f"Filter#{i}", n) for i, n in enumerate(names, 1)]))

    def read(self) -> None:
        slot, w = self.vectors["FILTER_SLOT"], self.device
        moving = w.moving
        position = None if moving else w.position
        if position is not None:
            slot["FILTER_SLOT_VALUE"] = position + 1
        slot.state = "Busy" if moving else "Ok"

    def new_filter_slot(self, vector: Vector, values: dict, client: int) -> None:
        value = values["FILTER_SLOT_VALUE"]
        if value != int(value):
            raise InvalidValueError(f"FILTER_SLOT.FILTER_SLOT_VALUE={value:g}: expected a whole slot number")
        with self.members.moving("position", client):
            self.device.move_to(int(value) - 1, wait=False)
        vector.state = "Busy"


# -- telescope (INDI::Telescope) -----------------------------------------------------------------------------
class PublishedMount(Published):
    """``EQUATORIAL_EOD_COORD`` (RA hours, DEC degrees in JNow; Busy while slewing) with ``ON_COORD_SET``
    (TRACK: slew and track, SLEW: slew, SYNC), ``TELESCOPE_ABORT_MOTION``, ``TELESCOPE_TRACK_STATE`` (Busy
    while tracking, as INDI drivers show it), ``TELESCOPE_PARK``, ``HORIZONTAL_COORD`` (read-only),
    ``GEOGRAPHIC_COORD`` (the configured site: a client may send it, not move it) and ``TIME_UTC``."""

    interface = 1
    device: Mount

    def define(self) -> None:
        site = self.device.site
        self._parking = False
        self._converted: tuple | None = None  # the position last converted to JNow, and when
        self._converted_at = -math.inf
        self._was_slewing = False
        self._add(_numbers("EQUATORIAL_EOD_COORD", "Eq. Coordinates", MAIN, [
            ("RA", "RA (hh:mm:ss)", "%010.6m", 0, 24, 0, 0.0), ("DEC", "DEC (dd:mm:ss)", "%010.6m", -90, 90, 0, 0.0)]))
        self._add(_switches("ON_COORD_SET", "On Set", MAIN, [("TRACK", "Track"), ("SLEW", "Slew"), ("SYNC", "Sync")],
                            "TRACK"))
        self.vectors["ON_COORD_SET"].state = "Ok"
        self._add(_switches("TELESCOPE_ABORT_MOTION", "Abort Motion", MAIN, [("ABORT", "Abort")], None, "AtMostOne"))
        self._add(_switches("TELESCOPE_TRACK_STATE", "Tracking", MAIN, [("TRACK_ON", "On"), ("TRACK_OFF", "Off")],
                            "TRACK_OFF"))
        self._add(_switches("TELESCOPE_PARK", "Parking", MAIN, [("PARK", "Park(ed)"), ("UNPARK", "UnPark(ed)")],
                            "UNPARK"))
        self._add(_numbers("HORIZONTAL_COORD", "Horizontal Coordinates", MAIN, [
            ("ALT", "Alt (dd:mm:ss)", "%010.6m", -90, 90, 0, 0.0), ("AZ", "Az (dd:mm:ss)", "%010.6m", 0, 360, 0, 0.0)],
            perm="ro"))
        self._add(_numbers("GEOGRAPHIC_COORD", "Location", SITE, [
            ("LAT", "Lat (dd:mm:ss)", "%010.6m", -90, 90, 0, float(site.lat.deg)),
            ("LONG", "Lon (dd:mm:ss)", "%010.6m", 0, 360, 0, float(site.lon.deg) % 360.0),
            ("ELEV", "Elevation (m)", "%g", -500, 9000, 0, float(site.height.to_value(u.m)))]))
        self.vectors["GEOGRAPHIC_COORD"].state = "Ok"
        self._add(Vector("Text", "TIME_UTC", "UTC", SITE, [Member("UTC", "UTC Time", ""),
                                                            Member("OFFSET", "UTC Offset", "0.00")]))

    def read(self) -> None:
        m, v = self.device, self.vectors
        # The state before the values: a slew that ends between the two reads then shows Busy at its target
        # (and Ok at the next poll), never Ok short of it
        slewing, parked, tracking = m.slewing, m.at_park, m.tracking
        now, position = m.time, m.position
        # astropy's ICRS -> JNow and -> AltAz take ~25 ms together, too much for every poll. A tracked
        # position's JNow changes by milliarcseconds a minute: redone when it moves, or once a second at
        # most as device time passes. A parked or stopped mount's position drifts with the sky at every
        # read: redone every 0.25 s at most, while a slewing one is redone at every read (a client that
        # sees a slew end reads its final position)
        key = (round(float(position.ra.deg), 6), round(float(position.dec.deg), 6))
        since = time.monotonic() - self._converted_at
        moved = key != self._converted
        if (moved and (slewing or self._was_slewing or tracking or since >= 0.25)) or (not moved and since >= 1.0):
            self._converted, self._converted_at = key, time.monotonic()
            ra, dec = icrs_to_epoch(position, "jnow", now, m.site)
            eq = v["EQUATORIAL_EOD_COORD"]
            eq["RA"], eq["DEC"] = (ra / 15.0) % 24.0, dec
            altaz = m.altaz
            v["HORIZONTAL_COORD"]["ALT"], v["HORIZONTAL_COORD"]["AZ"] = float(altaz.alt.deg), float(altaz.az.deg)
        eq = v["EQUATORIAL_EOD_COORD"]
        eq.state = "Busy" if slewing and not self._parking else "Ok"
        self._was_slewing = slewing
        v["HORIZONTAL_COORD"].state = "Ok"
        v["TELESCOPE_TRACK_STATE"].choose("TRACK_ON" if tracking else "TRACK_OFF")
        v["TELESCOPE_TRACK_STATE"].state = "Busy" if tracking else "Idle"
        park = v["TELESCOPE_PARK"]
        if self._parking and not parked and slewing:
            park.choose("PARK")
            park.state = "Busy"
        else:
            self._parking = False
            park.choose("PARK" if parked else "UNPARK")
            park.state = "Ok"
        v["TIME_UTC"]["UTC"] = now.utc.isot[:19]
        v["TIME_UTC"].state = "Ok"

    def _target(self, values: dict) -> SkyCoord:
        eq = self.vectors["EQUATORIAL_EOD_COORD"]
        ra = values.get("RA", eq["RA"])
        dec = values.get("DEC", eq["DEC"])
        m = self.device
        return epoch_to_icrs(ra * 15.0, dec, "jnow", m.time, m.site)

    def new_equatorial_eod_coord(self, vector: Vector, values: dict, client: int) -> None:
        """What ``ON_COORD_SET`` says: TRACK (slew, tracking on), SLEW (slew), SYNC."""
        m = self.device
        target = self._target(values)
        action = self.vectors["ON_COORD_SET"].on() or "TRACK"
        if action == "SYNC":
            m.sync(target)
            vector.state = "Ok"
            return
        with self.members.moving("slewtocoordinatesasync", client):
            if action == "TRACK" and not m.at_park and not m.tracking:
                m.tracking = True
            m.slew_to(target, wait=False)
        self._parking = False
        vector.state = "Busy"

    def new_on_coord_set(self, vector: Vector, values: dict, client: int) -> None:
        vector.choose(self._switch(values, vector) or vector.on())
        vector.state = "Ok"

    def new_telescope_abort_motion(self, vector: Vector, values: dict, client: int) -> None:
        """Stop any motion (always passes; a parked mount has none)."""
        if not self.device.at_park:
            self.device.abort()
        self._parking = False
        vector.choose(None)
        vector.state = "Ok"

    def new_telescope_track_state(self, vector: Vector, values: dict, client: int) -> None:
        self.device.tracking = values.get("TRACK_ON") == "On" or values.get("TRACK_OFF") == "Off"

    def new_telescope_park(self, vector: Vector, values: dict, client: int) -> None:
        if values.get("PARK") == "On":
            with self.members.moving("park", client):
                self.device.park(wait=False)
            self._parking = True
        elif values.get("UNPARK") == "On":
            self.device.unpark()

    def new_geographic_coord(self, vector: Vector, values: dict, client: int) -> str | None:
        """The site is the device server's configuration: the same one is Ok, another is refused by name."""
        site = self.device.site
        held = {"LAT": float(site.lat.deg), "LONG": float(site.lon.deg) % 360.0,
                "ELEV": float(site.height.to_value(u.m))}
        for name, value in values.items():
            off = abs((value - held[name] + 180.0) % 360.0 - 180.0) if name == "LONG" else abs(value - held[name])
            if off > (1.0 if name == "ELEV" else 1e-4):
                raise InvalidValueError(f"GEOGRAPHIC_COORD.{name}={value:g}: this mount stands at {held[name]:g} "
                                        "(the device server's Site); change the site in its configuration")
        vector.state = "Ok"
        return None


# -- dome (INDI::Dome) ---------------------------------------------------------------------------------------
class PublishedDome(Published):
    """``ABS_DOME_POSITION`` (degrees; Busy while the dome turns), ``DOME_SHUTTER`` (Busy while it moves,
    Alert on a shutter error), ``DOME_ABORT_MOTION`` and ``DOME_PARK``."""

    interface = 32
    device: Dome

    def define(self) -> None:
        self._turning = self._parking = self._unparked = False
        self._last_azimuth: float | None = None
        self._add(_numbers("ABS_DOME_POSITION", "Absolute Position", MAIN, [
            ("DOME_ABSOLUTE_POSITION", "Degrees", "%6.2f", 0, 360, 1, 0.0)]))
        self._add(_switches("DOME_SHUTTER", "Shutter", MAIN, [("SHUTTER_OPEN", "Open"), ("SHUTTER_CLOSE", "Close")],
                            "SHUTTER_CLOSE"))
        self._add(_switches("DOME_ABORT_MOTION", "Abort Motion", MAIN, [("ABORT", "Abort")], None, "AtMostOne"))
        self._add(_switches("DOME_PARK", "Parking", MAIN, [("PARK", "Park(ed)"), ("UNPARK", "UnPark(ed)")], "UNPARK"))

    def read(self) -> None:
        d, v = self.device, self.vectors
        slewing = d.slewing  # before the values (see PublishedMount.read)
        shutter = d.shutter
        azimuth = float(d.azimuth.to_value(u.deg)) % 360.0
        turned = self._last_azimuth is not None and abs((azimuth - self._last_azimuth + 180) % 360 - 180) > 0.01
        self._last_azimuth = azimuth
        if not slewing:
            self._turning = self._parking = False
        position = v["ABS_DOME_POSITION"]
        position["DOME_ABSOLUTE_POSITION"] = azimuth
        position.state = "Busy" if slewing and (self._turning or self._parking or turned) else "Ok"
        v["DOME_SHUTTER"].choose("SHUTTER_OPEN" if shutter in (ShutterState.OPEN, ShutterState.OPENING)
                                 else "SHUTTER_CLOSE")
        v["DOME_SHUTTER"].state = {ShutterState.OPENING: "Busy", ShutterState.CLOSING: "Busy",
                                   ShutterState.ERROR: "Alert"}.get(shutter, "Ok")
        park = v["DOME_PARK"]
        parked = self._parking or (d.at_park and not self._unparked)
        park.choose("PARK" if parked else "UNPARK")
        park.state = "Busy" if self._parking else "Ok"

    def new_abs_dome_position(self, vector: Vector, values: dict, client: int) -> None:
        with self.members.moving("slewtoazimuth", client):
            self.device.slew_to_azimuth(values["DOME_ABSOLUTE_POSITION"] % 360.0, wait=False)
        self._turning, self._parking, self._unparked = True, False, True
        vector.state = "Busy"

    def new_dome_shutter(self, vector: Vector, values: dict, client: int) -> None:
        opening = values.get("SHUTTER_OPEN") == "On" or values.get("SHUTTER_CLOSE") == "Off"
        with self.members.moving("openshutter" if opening else "closeshutter", client):
            (self.device.open_shutter if opening else self.device.close_shutter)(wait=False)
        vector.choose("SHUTTER_OPEN" if opening else "SHUTTER_CLOSE")
        vector.state = "Busy"

    def new_dome_abort_motion(self, vector: Vector, values: dict, client: int) -> None:
        """Stop the rotation and the shutter (always passes)."""
        self.device.abort()
        self._turning = self._parking = False
        vector.choose(None)
        vector.state = "Ok"

    def new_dome_park(self, vector: Vector, values: dict, client: int) -> None:
        """PARK turns to the park azimuth; UNPARK lets the dome move again (ASCOM domes leave park by moving)."""
        if values.get("PARK") == "On":
            with self.members.moving("park", client):
                self.device.park(wait=False)
            self._parking, self._unparked = True, False
        elif values.get("UNPARK") == "On":
            self._unparked = True


# -- focuser (INDI::Focuser) ---------------------------------------------------------------------------------
class PublishedFocuser(Published):
    """``ABS_FOCUS_POSITION`` (steps; Busy while moving), ``FOCUS_MAX``, ``FOCUS_ABORT_MOTION`` and
    ``FOCUS_TEMPERATURE`` where the focuser has a probe."""

    interface = 8
    device: Focuser

    def define(self) -> None:
        top = self.device.max_step
        self._add(_numbers("ABS_FOCUS_POSITION", "Absolute Position", MAIN, [
            ("FOCUS_ABSOLUTE_POSITION", "Steps", "%6.0f", 0, top, 1, 0)]))
        self._add(_numbers("FOCUS_MAX", "Max. Position", MAIN, [("FOCUS_MAX_VALUE", "Steps", "%6.0f", 0, top, 0, top)],
                           perm="ro"))
        self._add(_switches("FOCUS_ABORT_MOTION", "Abort Motion", MAIN, [("ABORT", "Abort")], None, "AtMostOne"))
        try:
            self.device.temperature
            self._add(_numbers("FOCUS_TEMPERATURE", "Temperature", MAIN, [
                ("TEMPERATURE", "Celsius", "%6.2f", -100, 100, 0, 0.0)], perm="ro"))
        except DriverError:
            pass

    def read(self) -> None:
        f, v = self.device, self.vectors
        moving = f.moving
        v["ABS_FOCUS_POSITION"]["FOCUS_ABSOLUTE_POSITION"] = f.position
        v["ABS_FOCUS_POSITION"].state = "Busy" if moving else "Ok"
        if "FOCUS_TEMPERATURE" in v:
            v["FOCUS_TEMPERATURE"]["TEMPERATURE"] = float(f.temperature.to_value(u.deg_C))
            v["FOCUS_TEMPERATURE"].state = "Ok"

    def new_abs_focus_position(self, vector: Vector, values: dict, client: int) -> None:
        value = values["FOCUS_ABSOLUTE_POSITION"]
        if value != int(value):
            raise InvalidValueError(f"ABS_FOCUS_POSITION.FOCUS_ABSOLUTE_POSITION={value:g}: expected whole steps")
        with self.members.moving("move", client):
            self.device.move(int(value), wait=False)
        vector.state = "Busy"

    def new_focus_abort_motion(self, vector: Vector, values: dict, client: int) -> None:
        self.device.halt()
        vector.choose(None)
        vector.state = "Ok"


# -- weather (INDI::Weather) ---------------------------------------------------------------------------------
class PublishedWeather(Published):
    """One INDI weather device from a safety monitor and/or a weather station.

    ``WEATHER_STATUS``: one light, ``SAFETY_MONITOR``, Ok while the monitor says safe and Alert otherwise
    (the vector's state with it, which is what Ekos's observatory module reads). ``WEATHER_PARAMETERS``: the
    station's sensors in INDI's units (wind in kph). ``WEATHER_REFRESH``: asks the station for new readings.
    """

    interface = 128
    read_interval = 2.0  # weather changes over minutes (INDI weather drivers update every 60 s)

    def __init__(self, name: str, monitor: Members | None, station: Members | None) -> None:
        if monitor is None and station is None:
            raise ValueError("a weather device needs a safety monitor or a weather station")
        self.monitor: SafetyMonitor | None = monitor.device if monitor is not None else None  # type: ignore
        self.station: ObservingConditions | None = station.device if station is not None else None  # type: ignore
        super().__init__(name, monitor or station)  # type: ignore[arg-type]

    def define(self) -> None:
        if self.monitor is not None:
            self._add(Vector("Light", "WEATHER_STATUS", "Status", "Parameters",
                             [Member("SAFETY_MONITOR", self.monitor.name, "Idle")]))
        if self.station is not None:
            # The INDI backend's own table (`torosdrivers.weather.indi.PARAMETERS`), read the other way
            self._sensors = []
            for ascom, (member, to_ascom) in PARAMETERS.items():
                try:
                    self.station.condition(ascom)
                except DriverError:
                    continue
                self._sensors.append((member, ascom, 1.0 / to_ascom))
            self._add(_numbers("WEATHER_PARAMETERS", "Parameters", "Parameters",
                               [(member, ascom, "%6.2f", -1e6, 1e6, 0, 0.0) for member, ascom, _ in self._sensors],
                               perm="ro"))
            self._add(_switches("WEATHER_REFRESH", "Weather", MAIN, [("REFRESH", "Refresh")], None, "OneOfMany"))

    def read(self) -> None:
        v = self.vectors
        if self.monitor is not None:
            light = "Ok" if self.monitor.is_safe else "Alert"
            v["WEATHER_STATUS"]["SAFETY_MONITOR"] = light
            v["WEATHER_STATUS"].state = light
        if self.station is not None:
            params = v["WEATHER_PARAMETERS"]
            for member, ascom, to_indi in self._sensors:
                params[member] = float(self.station.condition(ascom).value) * to_indi
            params.state = "Ok"

    def new_weather_refresh(self, vector: Vector, values: dict, client: int) -> None:
        if self.station is not None:
            self.station.refresh()
        vector.choose(None)
        vector.state = "Ok"


#: INDI device names and classes by ASCOM device type.
_KINDS = {"camera": ("TOROS Camera", PublishedCamera), "filterwheel": ("TOROS Filter Wheel", PublishedFilterWheel),
          "telescope": ("TOROS Mount", PublishedMount), "dome": ("TOROS Dome", PublishedDome),
          "focuser": ("TOROS Focuser", PublishedFocuser)}


def publish(members: list[Members]) -> list[Published]:
    """Each device as its INDI device (see the module notes for the names); a second of a kind gets " 2".

    A safety monitor and a weather station become one ``TOROS Weather`` device, as an INDI weather driver is.
    """
    published: list[Published] = []
    counts: dict[str, int] = {}
    weather: dict[str, list[Members]] = {"safetymonitor": [], "observingconditions": []}
    for m in members:
        kind = m.device.device_type
        if kind in weather:
            weather[kind].append(m)
            continue
        name, cls = _KINDS[kind]
        counts[kind] = counts.get(kind, 0) + 1
        published.append(cls(name if counts[kind] == 1 else f"{name} {counts[kind]}", m))
    monitors, stations = weather["safetymonitor"], weather["observingconditions"]
    for i in range(max(len(monitors), len(stations))):
        published.append(PublishedWeather("TOROS Weather" if i == 0 else f"TOROS Weather {i + 1}",
                                          monitors[i] if i < len(monitors) else None,
                                          stations[i] if i < len(stations) else None))
    return published
