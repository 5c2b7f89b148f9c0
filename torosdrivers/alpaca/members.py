"""The Alpaca members of each device kind, served from any torosdrivers `Device`.

One class per ASCOM interface; a method ``get_<member>`` answers a GET of that
member, ``put_<member>`` a PUT, each named exactly as the lower-case member in
the Alpaca device API so a reader can check it against the standard. A
standard member with no method here answers ErrorNumber 0x400
(NotImplemented); the list of standard members is taken from alpyca, whose
classes mirror the standard one for one.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterator

import alpaca.camera
import alpaca.dome
import alpaca.filterwheel
import alpaca.focuser
import alpaca.observingconditions
import alpaca.safetymonitor
import alpaca.telescope
from astropy.time import Time

from torosdrivers._version import __version__
from torosdrivers.ccd.base import Camera, CameraState
from torosdrivers.ccd.filterwheel import FilterWheel
from torosdrivers.ccd.frame import Frame
from torosdrivers.coords import epoch_to_icrs, icrs_to_epoch
from torosdrivers.device import Device
from torosdrivers.dome.base import Dome, ShutterState
from torosdrivers.focuser.base import Focuser
from torosdrivers.errors import (
    ActionNotSupportedError,
    DeviceBusyError,
    InvalidOperationError,
    InvalidValueError,
    ValueNotSetError,
)
from torosdrivers.mount.base import Mount

from .params import Params

__all__ = ["Members", "Move", "members_for", "standard_members"]


def _standard(cls: type) -> frozenset[str]:
    return frozenset(name.lower() for name in dir(cls) if name[:1].isupper())


_STANDARD = {
    "camera": _standard(alpaca.camera.Camera),
    "telescope": _standard(alpaca.telescope.Telescope),
    "dome": _standard(alpaca.dome.Dome),
    "filterwheel": _standard(alpaca.filterwheel.FilterWheel),
    "focuser": _standard(alpaca.focuser.Focuser),
    "safetymonitor": _standard(alpaca.safetymonitor.SafetyMonitor),
    "observingconditions": _standard(alpaca.observingconditions.ObservingConditions),
}


def standard_members(device_type: str) -> frozenset[str]:
    """Lower-case names of the standard members of an ASCOM device type."""
    return _STANDARD.get(device_type, frozenset())


@dataclass
class Move:
    """A move a client started: what, who, when."""

    member: str
    client: int
    started: float
    pending: bool = True  # the device has not yet been told (or has not yet said it moves)


class Members:
    """Members common to every device (IAscomDevice), over a `Device`.

    The server owns the device: a client's ``Connected`` is that client's
    alone (by its ClientID), so one client disconnecting never disconnects
    the hardware that others use. A move (`MOVES`) started while another
    client's move still runs is refused with `DeviceBusyError` naming that
    move; aborts always pass.
    """

    interface_version = 1
    #: PUT members that start a motion or an exposure.
    MOVES: frozenset[str] = frozenset()

    def __init__(self, device: Device, unique_id: str) -> None:
        self.device = device
        self.unique_id = unique_id
        self.lock = threading.RLock()
        #: Connects minus disconnects per ClientID: alpyca gives every device
        #: object of a process one ClientID, so two objects share one count.
        self.clients: Counter[int] = Counter()
        self.move: Move | None = None

    # -- one owner, many clients -------------------------------------------------
    def busy(self) -> bool:
        """Whether the device is moving (exposing) now."""
        return False

    def claim(self, member: str, client: int) -> Move:
        """Record a move by ``client``, or refuse it while another client's move runs.

        Raises
        ------
        DeviceBusyError
            Another client's move has not finished.
        """
        with self.lock:
            running = self.move
            if running is not None and running.client != client and (running.pending or self.busy()):
                age = time.monotonic() - running.started
                raise DeviceBusyError(
                    f"{self.device.name} is busy: {running.member} from client {running.client} "
                    f"started {age:.1f} s ago is still running; wait for it or abort it"
                )
            self.move = Move(member, client, time.monotonic())
            return self.move

    @contextlib.contextmanager
    def moving(self, member: str, client: int) -> Iterator[Move]:
        """`claim` around the command that starts a move: a command that fails leaves no claim behind.

        Every face of the device server (Alpaca, INDI) starts moves through here, so one rule holds.
        """
        move = self.claim(member, client)
        try:
            yield move
        except BaseException:
            with self.lock:
                if self.move is move:
                    self.move = None  # it never started
            raise
        finally:
            move.pending = False

    # -- connection ------------------------------------------------------------
    def is_connected(self, client_id: int) -> bool:
        return self.clients[client_id] > 0

    def get_connected(self, q: Params) -> bool:
        return self.device.connected and self.is_connected(q.client_id)

    def put_connected(self, p: Params) -> None:
        if p.bool("Connected"):
            self.put_connect(p)
        else:
            self.put_disconnect(p)

    def put_connect(self, p: Params) -> None:
        self.device.connect()  # no-op for hardware the server already holds
        with self.lock:
            self.clients[p.client_id] += 1

    def put_disconnect(self, p: Params) -> None:
        with self.lock:  # the hardware stays connected for the others
            if self.clients[p.client_id] > 0:
                self.clients[p.client_id] -= 1

    def get_connecting(self, q: Params) -> bool:
        return False  # connect() completes before it answers

    # -- identity -----------------------------------------------------------------
    def get_name(self, q: Params) -> str:
        return self.device.name

    def get_description(self, q: Params) -> str:
        return self.device.description

    def get_driverinfo(self, q: Params) -> str:
        return f"torosdrivers Alpaca server serving {type(self.device).__name__}"

    def get_driverversion(self, q: Params) -> str:
        return __version__

    def get_interfaceversion(self, q: Params) -> int:
        return self.interface_version

    def get_supportedactions(self, q: Params) -> list[str]:
        return []

    def put_action(self, p: Params) -> str:
        raise ActionNotSupportedError(f"{self.device.name}: action {p.text('Action')!r} is not supported")

    def get_devicestate(self, q: Params) -> list[dict]:
        state = [{"Name": "TimeStamp", "Value": Time.now().isot}]
        for name, read in self.state_members():
            try:
                state.append({"Name": name, "Value": read()})
            except Exception:  # a member that fails is left out of DeviceState, as the standard allows
                continue
        return state

    def state_members(self) -> list[tuple[str, Any]]:
        return []


class CameraMembers(Members):
    """ICameraV4 over a `Camera`. Binning and subframe are held here and applied at StartExposure."""

    interface_version = 4
    MOVES = frozenset({"startexposure"})

    def busy(self) -> bool:
        return self.camera.state in (CameraState.WAITING, CameraState.EXPOSING, CameraState.READING,
                                     CameraState.DOWNLOAD)

    def __init__(self, device: Camera, unique_id: str) -> None:
        super().__init__(device, unique_id)
        self.camera = device
        self.bin = [1, 1]
        self.start = [0, 0]
        self.num: list[int | None] = [None, None]  # None: the full frame at the current binning
        self.frame: Frame | None = None

    def state_members(self):
        c = self.camera
        return [("CameraState", lambda: int(c.state)), ("CCDTemperature", lambda: c.temperature.value),
                ("CoolerPower", lambda: c.cooler_power), ("ImageReady", lambda: self.get_imageready(None)),
                ("PercentCompleted", lambda: c.percent_completed)]

    # -- geometry --------------------------------------------------------------
    def get_cameraxsize(self, q): return self.camera.sensor_size[0]
    def get_cameraysize(self, q): return self.camera.sensor_size[1]
    def get_maxbinx(self, q): return self.camera.max_binning
    def get_maxbiny(self, q): return self.camera.max_binning
    def get_canasymmetricbin(self, q): return True
    def get_binx(self, q): return self.bin[0]
    def get_biny(self, q): return self.bin[1]
    def put_binx(self, p): self._set_bin(0, p.int("BinX"))
    def put_biny(self, p): self._set_bin(1, p.int("BinY"))
    def get_startx(self, q): return self.start[0]
    def get_starty(self, q): return self.start[1]
    def put_startx(self, p): self.start[0] = self._within("StartX", p.int("StartX"), 0, 0)
    def put_starty(self, p): self.start[1] = self._within("StartY", p.int("StartY"), 1, 0)
    def get_numx(self, q): return self._num(0)
    def get_numy(self, q): return self._num(1)

    def _num(self, axis: int) -> int:
        value = self.num[axis]
        return self.camera.sensor_size[axis] // self.bin[axis] if value is None else value
    def put_numx(self, p): self.num[0] = self._within("NumX", p.int("NumX"), 0, 1)
    def put_numy(self, p): self.num[1] = self._within("NumY", p.int("NumY"), 1, 1)

    def _within(self, name: str, value: int, axis: int, least: int) -> int:
        """A subframe value checked when it is set (ASCOM: InvalidValue), against the sensor at the binning."""
        most = self.camera.sensor_size[axis] // self.bin[axis]
        if not least <= value <= most:
            raise InvalidValueError(f"{name}={value}: expected {least} to {most} (the sensor at binning "
                                    f"{self.bin[axis]})")
        return value

    def _set_bin(self, axis: int, value: int) -> None:
        if not 1 <= value <= self.camera.max_binning:
            raise InvalidValueError(f"Bin{'XY'[axis]}={value}: expected 1 to {self.camera.max_binning}")
        self.bin[axis] = value

    def get_pixelsizex(self, q): return float(self.camera.pixel_size[0].value)
    def get_pixelsizey(self, q): return float(self.camera.pixel_size[1].value)
    def get_sensortype(self, q): return 0  # monochrome
    def get_sensorname(self, q): return ""
    def get_electronsperadu(self, q): return self.camera.gain
    def get_maxadu(self, q): return self.camera.max_adu
    def get_readoutmode(self, q): return 0
    def get_readoutmodes(self, q): return ["Normal"]

    def put_readoutmode(self, p):
        if p.int("ReadoutMode") != 0:
            raise InvalidValueError(f"ReadoutMode={p.int('ReadoutMode')}: only mode 0 (Normal) exists")

    # -- capabilities ------------------------------------------------------------
    def get_hasshutter(self, q): return True
    def get_canabortexposure(self, q): return True
    def get_canstopexposure(self, q): return False
    def get_canpulseguide(self, q): return False
    def get_canfastreadout(self, q): return False
    def get_cangetcoolerpower(self, q): return True
    def get_cansetccdtemperature(self, q): return True
    def get_exposuremin(self, q): return 0.0
    def get_exposuremax(self, q): return 36000.0
    def get_exposureresolution(self, q): return 0.001
    def get_ispulseguiding(self, q): return False

    # -- cooling --------------------------------------------------------------------
    def get_ccdtemperature(self, q): return self.camera.temperature.value
    def get_setccdtemperature(self, q): return self.camera.target_temperature.value
    def put_setccdtemperature(self, p): self.camera.set_temperature(p.float("SetCCDTemperature"))
    def get_cooleron(self, q): return self.camera.cooler_on
    def put_cooleron(self, p): self.camera.cooler_on = p.bool("CoolerOn")
    def get_coolerpower(self, q): return self.camera.cooler_power

    # -- exposure ---------------------------------------------------------------------
    def get_camerastate(self, q): return int(self.camera.state)

    def get_imageready(self, q) -> bool:
        return self.frame is not None or self.camera.image_ready

    def get_percentcompleted(self, q): return self.camera.percent_completed

    def put_startexposure(self, p):
        duration, light = p.float("Duration"), p.bool("Light")
        if not self.get_exposuremin(p) <= duration <= self.get_exposuremax(p):
            raise InvalidValueError(f"Duration={duration:g}: expected {self.get_exposuremin(p):g} to "
                                    f"{self.get_exposuremax(p):g} s (ExposureMin to ExposureMax)")
        with self.lock:
            if self.start[0] + self._num(0) > self.camera.sensor_size[0] // self.bin[0] or \
                    self.start[1] + self._num(1) > self.camera.sensor_size[1] // self.bin[1]:
                raise InvalidValueError(f"the subframe {self.start[0]},{self.start[1]} + {self._num(0)}x"
                                        f"{self._num(1)} does not fit the sensor at binning {self.bin[0]}x"
                                        f"{self.bin[1]}")
            self.camera.binning = tuple(self.bin)
            self.camera.subframe = (self.start[0], self.start[1], self._num(0), self._num(1))
            self.frame = None
            self.camera.start_exposure(duration, light)

    def put_abortexposure(self, p):
        with self.lock:
            self.camera.abort_exposure()

    def get_lastexposurestarttime(self, q): return self.camera.last_exposure_start.utc.isot  # the camera's clock
    def get_lastexposureduration(self, q): return self.camera.last_exposure_duration

    def image(self) -> Frame:
        """The last image, read from the camera once and kept for repeated downloads."""
        with self.lock:
            if self.frame is None:
                if self.camera.state == CameraState.ERROR:
                    raise InvalidOperationError(f"{self.camera.name}: the camera is in the Error state")
                self.frame = self.camera.read_frame()
            return self.frame


class TelescopeMembers(Members):
    """ITelescopeV4 over a `Mount`.

    Coordinates on the wire are in ``epoch``: J2000 (EquatorialSystem 2) by
    default, or ``"jnow"`` (1, topocentric) as many real mounts speak.
    """

    interface_version = 4
    _SYSTEMS = {"jnow": 1, "j2000": 2, "j2050": 3, "b1950": 4}
    MOVES = frozenset({"slewtocoordinatesasync", "slewtocoordinates", "slewtotargetasync", "slewtotarget", "park",
                       "findhome", "moveaxis", "slewtoaltazasync", "slewtoaltaz"})

    def busy(self) -> bool:
        return self.mount.slewing

    def __init__(self, device: Mount, unique_id: str, epoch: str = "j2000") -> None:
        super().__init__(device, unique_id)
        self.mount = device
        self.epoch = epoch
        self.target: list[float | None] = [None, None]  # RA hours, Dec degrees

    def state_members(self):
        m = self.mount
        return [("Altitude", lambda: self.get_altitude(None)), ("AtPark", lambda: m.at_park),
                ("Declination", lambda: self.get_declination(None)),
                ("RightAscension", lambda: self.get_rightascension(None)),
                ("Slewing", lambda: m.slewing), ("Tracking", lambda: m.tracking)]

    def _radec(self) -> tuple[float, float]:
        m = self.mount
        ra, dec = icrs_to_epoch(m.position, self.epoch, m.time, m.site)
        return (ra / 15.0) % 24.0, dec

    def _icrs(self, ra_hours: float, dec: float):
        if not 0.0 <= ra_hours < 24.0:
            raise InvalidValueError(f"RightAscension={ra_hours:g}: expected 0 <= RA < 24 hours")
        if not -90.0 <= dec <= 90.0:
            raise InvalidValueError(f"Declination={dec:g}: expected -90 <= Dec <= 90 degrees")
        return epoch_to_icrs(ra_hours * 15.0, dec, self.epoch, self.mount.time, self.mount.site)

    # -- where ------------------------------------------------------------------------
    def get_rightascension(self, q): return self._radec()[0]
    def get_declination(self, q): return self._radec()[1]
    def get_altitude(self, q): return float(self.mount.altaz.alt.deg)
    def get_azimuth(self, q): return float(self.mount.altaz.az.deg)
    def get_equatorialsystem(self, q): return self._SYSTEMS[self.epoch]
    def get_alignmentmode(self, q): return 2  # German polar
    def get_doesrefraction(self, q): return False
    def get_sitelatitude(self, q): return float(self.mount.site.lat.deg)
    def get_sitelongitude(self, q): return float(self.mount.site.lon.deg)
    def get_siteelevation(self, q): return float(self.mount.site.height.to_value("m"))
    def get_utcdate(self, q): return self.mount.time.utc.isot + "Z"

    def get_siderealtime(self, q):
        m = self.mount
        return float(m.time.sidereal_time("apparent", longitude=m.site.lon).hour)

    def get_rightascensionrate(self, q): return 0.0
    def get_declinationrate(self, q): return 0.0
    def get_slewsettletime(self, q): return 0

    # -- capabilities -----------------------------------------------------------------
    def get_canpark(self, q): return True
    def get_canunpark(self, q): return True
    def get_cansetpark(self, q): return False
    def get_canfindhome(self, q): return False
    def get_canslew(self, q): return True
    def get_canslewasync(self, q): return True
    def get_canslewaltaz(self, q): return False
    def get_canslewaltazasync(self, q): return False
    def get_cansync(self, q): return True
    def get_cansyncaltaz(self, q): return False
    def get_cansettracking(self, q): return True
    def get_canpulseguide(self, q): return False
    def get_cansetpierside(self, q): return False
    def get_cansetrightascensionrate(self, q): return False
    def get_cansetdeclinationrate(self, q): return False
    def get_cansetguiderates(self, q): return False
    def get_ispulseguiding(self, q): return False
    def get_athome(self, q): return False

    # -- tracking -----------------------------------------------------------------------
    def get_tracking(self, q): return self.mount.tracking
    def put_tracking(self, p): self.mount.tracking = p.bool("Tracking")
    def get_trackingrate(self, q): return 0  # sidereal
    def get_trackingrates(self, q): return [0]

    def put_trackingrate(self, p):
        if p.int("TrackingRate") != 0:
            raise InvalidValueError(f"TrackingRate={p.int('TrackingRate')}: only 0 (sidereal) is supported")

    # -- target and motion --------------------------------------------------------------
    def get_targetrightascension(self, q): return self._target(0, "TargetRightAscension")
    def get_targetdeclination(self, q): return self._target(1, "TargetDeclination")

    def _target(self, i: int, name: str) -> float:
        if self.target[i] is None:
            raise ValueNotSetError(f"{self.mount.name}: {name} has not been set")
        return self.target[i]  # type: ignore[return-value]

    def put_targetrightascension(self, p):
        value = p.float("TargetRightAscension")
        if not 0.0 <= value < 24.0:
            raise InvalidValueError(f"TargetRightAscension={value:g}: expected 0 <= RA < 24 hours")
        self.target[0] = value

    def put_targetdeclination(self, p):
        value = p.float("TargetDeclination")
        if not -90.0 <= value <= 90.0:
            raise InvalidValueError(f"TargetDeclination={value:g}: expected -90 <= Dec <= 90 degrees")
        self.target[1] = value

    def get_slewing(self, q): return self.mount.slewing

    def _slew(self, ra_hours: float, dec: float, wait: bool) -> None:
        target = self._icrs(ra_hours, dec)
        if self.mount.at_park:
            self.mount.slew_to(target)  # raises ParkedError with the mount's own message
        if not self.mount.tracking:
            raise InvalidOperationError(f"{self.mount.name}: tracking is off; a slew to RA/Dec needs Tracking=True")
        self.target = [ra_hours, dec]
        self.mount.slew_to(target, wait=wait)

    def put_slewtocoordinatesasync(self, p):
        self._slew(p.float("RightAscension"), p.float("Declination"), wait=False)

    def put_slewtocoordinates(self, p):
        self._slew(p.float("RightAscension"), p.float("Declination"), wait=True)

    def put_slewtotargetasync(self, p):
        self._slew(self._target(0, "TargetRightAscension"), self._target(1, "TargetDeclination"), wait=False)

    def put_slewtotarget(self, p):
        self._slew(self._target(0, "TargetRightAscension"), self._target(1, "TargetDeclination"), wait=True)

    def put_synctocoordinates(self, p):
        ra, dec = p.float("RightAscension"), p.float("Declination")
        self.mount.sync(self._icrs(ra, dec))
        self.target = [ra, dec]

    def put_synctotarget(self, p):
        self.mount.sync(self._icrs(self._target(0, "TargetRightAscension"), self._target(1, "TargetDeclination")))

    def put_abortslew(self, p):
        if self.mount.at_park:
            raise InvalidOperationError(f"{self.mount.name}: AbortSlew is not valid while parked")
        self.mount.abort()

    def get_atpark(self, q): return self.mount.at_park
    def put_park(self, p): self.mount.park(wait=False)
    def put_unpark(self, p): self.mount.unpark()


class DomeMembers(Members):
    """IDomeV3 over a `Dome`; device actions pass through Action/SupportedActions."""

    interface_version = 3
    MOVES = frozenset({"slewtoazimuth", "openshutter", "closeshutter", "park", "findhome", "slewtoaltitude"})

    def busy(self) -> bool:
        return self.dome.slewing or self.dome.shutter in (ShutterState.OPENING, ShutterState.CLOSING)

    def __init__(self, device: Dome, unique_id: str) -> None:
        super().__init__(device, unique_id)
        self.dome = device

    def state_members(self):
        d = self.dome
        return [("AtHome", lambda: d.at_home), ("AtPark", lambda: d.at_park), ("Azimuth", lambda: d.azimuth.value),
                ("ShutterStatus", lambda: int(d.shutter)), ("Slewing", lambda: d.slewing)]

    def get_supportedactions(self, q): return self.dome.supported_actions
    def put_action(self, p): return self.dome.action(p.text("Action"), p.text("Parameters", ""))
    def get_azimuth(self, q): return self.dome.azimuth.value
    def get_slewing(self, q): return self.dome.slewing
    def get_shutterstatus(self, q): return int(self.dome.shutter)
    def get_athome(self, q): return self.dome.at_home
    def get_atpark(self, q): return self.dome.at_park
    def get_slaved(self, q): return self.dome.slaved
    def get_canfindhome(self, q): return self.dome.can_find_home
    def get_canpark(self, q): return True
    def get_cansetazimuth(self, q): return True
    def get_cansetshutter(self, q): return True
    def get_cansetaltitude(self, q): return False
    def get_cansetpark(self, q): return False
    def get_canslave(self, q): return self.dome.can_slave
    def get_cansyncazimuth(self, q): return False

    def put_slaved(self, p): self.dome.slaved = p.bool("Slaved")

    def put_slewtoazimuth(self, p):
        self.dome.slew_to_azimuth(p.float("Azimuth"), wait=False)

    def put_abortslew(self, p): self.dome.abort()
    def put_findhome(self, p): self.dome.find_home(wait=False)
    def put_park(self, p): self.dome.park(wait=False)
    def put_openshutter(self, p): self.dome.open_shutter(wait=False)
    def put_closeshutter(self, p): self.dome.close_shutter(wait=False)


class FilterWheelMembers(Members):
    """IFilterWheelV3 over a `FilterWheel`."""

    interface_version = 3
    MOVES = frozenset({"position"})

    def busy(self) -> bool:
        return self.wheel.position is None

    def __init__(self, device: FilterWheel, unique_id: str) -> None:
        super().__init__(device, unique_id)
        self.wheel = device

    def state_members(self):
        return [("Position", lambda: self.get_position(None))]

    def get_names(self, q): return self.wheel.names
    def get_focusoffsets(self, q): return [0] * len(self.wheel.names)

    def get_position(self, q):
        slot = self.wheel.position
        return -1 if slot is None else slot

    def put_position(self, p):
        self.wheel.move_to(p.int("Position"), wait=False)


class FocuserMembers(Members):
    """IFocuserV4 over a `Focuser` (absolute positions)."""

    interface_version = 4
    MOVES = frozenset({"move"})

    def busy(self) -> bool:
        return self.focuser.moving

    def __init__(self, device: Focuser, unique_id: str) -> None:
        super().__init__(device, unique_id)
        self.focuser = device

    def state_members(self):
        return [("IsMoving", lambda: self.focuser.moving), ("Position", lambda: self.focuser.position),
                ("Temperature", lambda: self.focuser.temperature.value)]

    def get_absolute(self, q): return True
    def get_ismoving(self, q): return self.focuser.moving
    def get_maxstep(self, q): return self.focuser.max_step
    def get_maxincrement(self, q): return self.focuser.max_increment
    def get_position(self, q): return self.focuser.position
    def get_stepsize(self, q): return self.focuser.step_size.to_value("um")  # UnsupportedError: not implemented
    def get_temperature(self, q): return self.focuser.temperature.value
    def get_tempcompavailable(self, q): return self.focuser.temp_comp_available
    def get_tempcomp(self, q): return self.focuser.temp_comp

    def put_tempcomp(self, p):
        self.focuser.temp_comp = p.bool("TempComp")

    def put_move(self, p):
        self.focuser.move(p.int("Position"), wait=False)

    def put_halt(self, p):
        self.focuser.halt()


_BY_TYPE = {"camera": CameraMembers, "telescope": TelescopeMembers, "dome": DomeMembers, "filterwheel": FilterWheelMembers,
            "focuser": FocuserMembers}


def members_for(device: Device, unique_id: str) -> Members:
    """The member table that serves ``device`` by its ``device_type``."""
    from .weather_members import ObservingConditionsMembers, SafetyMonitorMembers  # they build on Members

    tables = {**_BY_TYPE, "safetymonitor": SafetyMonitorMembers, "observingconditions": ObservingConditionsMembers}
    try:
        return tables[device.device_type](device, unique_id)  # type: ignore[arg-type]
    except KeyError:
        raise InvalidValueError(
            f"device {device.name!r} of type {device.device_type!r}: expected one of {sorted(tables)}"
        ) from None
