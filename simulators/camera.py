"""Simulated CCD camera that sees the simulated sky through the other devices.

At the start of an exposure the camera takes a snapshot of the world: where
the mount truly points, which filter is in the beam, whether the dome's slit
is open in front of the telescope, whether the flat lamp is on. The image is
rendered from that snapshot when it is read (`Sensor.render`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import math

import astropy.units as u
import numpy as np

from torosdrivers.ccd.base import Camera, CameraState, Subframe
from torosdrivers.ccd.filterwheel import FilterWheel
from torosdrivers.coords import airmass, moon_altaz_and_phase, sun_altaz, to_altaz
from torosdrivers.dome.base import Dome, ShutterState
from torosdrivers.errors import InvalidOperationError
from torosdrivers.mount.base import Mount

from .clock import SimClock, Timer
from .dome import SimulatedDome
from .filterwheel import SimulatedFilterWheel
from .mount import SimulatedMount
from .optics import Optics
from .sensor import Scene, Sensor
from .weather import WeatherTimeline

if TYPE_CHECKING:
    from .focuser import SimulatedFocuser

__all__ = ["SimulatedCamera"]


class SimulatedCamera(Camera):
    """A cooled 16-bit CCD.

    Parameters
    ----------
    clock
        The observatory's clock.
    sensor
        The sensor model that renders images.
    mount, filter_wheel, dome
        The devices whose state decides what light arrives (any backend).
    ambient
        Ambient temperature, Celsius.
    seed
        Seeds the noise of successive frames.
    """

    #: Device seconds for the cooler to close 63 % of the gap to its goal.
    COOLING_TIME_CONSTANT = 60.0
    #: Most the cooler can hold below ambient, C.
    MAX_COOLING = 45.0
    #: Slit half-width: how far the dome azimuth may be from the telescope's.
    SLIT_HALF_WIDTH = 12.0

    def __init__(
        self,
        clock: SimClock,
        sensor: Sensor,
        *,
        mount: Mount | None = None,
        filter_wheel: FilterWheel | None = None,
        dome: Dome | None = None,
        ambient: float = 10.0,
        seed: int = 0,
        weather: "WeatherTimeline | None" = None,
        focuser: "SimulatedFocuser | None" = None,
        optics: Optics | None = None,
        **kwargs,
    ) -> None:
        kwargs.setdefault("poll_interval", clock.poll_interval)
        super().__init__("Simulated CCD", "TOROS simulated 16-bit cooled CCD", **kwargs)
        self._clock = clock
        self.sensor = sensor
        self.mount = mount
        self.filter_wheel = filter_wheel
        self.dome = dome
        self.weather = weather
        #: With ``optics``, the stars blur as the focuser (its true position) leaves best focus; None: always sharp.
        self.focuser = focuser
        self.optics = optics
        self.ambient = ambient
        self._seed = int(seed)
        self._frames = 0
        self._cooler = False
        self._setpoint = ambient
        self._temp_ref = ambient
        self._temp_stamp = clock.stamp()
        self._timer: Timer | None = None
        self._exposing_for = 0.0
        self._scene: Scene | None = None
        self._error = False
        #: The scene of the last exposure started (for tests and diagnostics).
        self.last_scene: Scene | None = None

    def _now(self):
        return self._clock.now()

    _started = None  # simulated time of the last StartExposure

    # -- facts ---------------------------------------------------------------------
    @property
    def sensor_size(self) -> tuple[int, int]:
        return self.sensor.spec.width, self.sensor.spec.height

    @property
    def max_binning(self) -> int:
        return self.sensor.spec.max_binning

    @property
    def gain(self) -> float:
        return self.sensor.spec.gain

    @property
    def max_adu(self) -> int:
        return self.sensor.spec.max_adu

    @property
    def pixel_size(self) -> u.Quantity:
        p = self.sensor.spec.pixel_um
        return (p, p) * u.um

    @property
    def read_noise(self) -> float:
        return self.sensor.spec.read_noise

    @property
    def readout_time(self) -> float:
        """Device seconds to read the current subframe (1 Mpixel/s plus 0.5 s)."""
        sub = self.subframe
        return 0.5 + sub.width * sub.height / 1e6

    # -- cooling ---------------------------------------------------------------------
    def _goal(self) -> float:
        return max(self._setpoint, self.ambient - self.MAX_COOLING) if self._cooler else self.ambient

    def _temperature(self) -> float:
        dt = self._clock.device_seconds_since(self._temp_stamp)
        decay = 0.0 if math.isinf(dt) else math.exp(-dt / self.COOLING_TIME_CONSTANT)
        goal = self._goal()
        return goal + (self._temp_ref - goal) * decay

    def _retarget(self) -> None:
        self._temp_ref = self._temperature()
        self._temp_stamp = self._clock.stamp()

    def _target_temperature(self) -> float:
        return self._setpoint

    def _set_temperature(self, celsius: float) -> None:
        self._retarget()
        self._setpoint = celsius

    def _cooler_on(self) -> bool:
        return self._cooler

    def _set_cooler_on(self, on: bool) -> None:
        self._retarget()
        self._cooler = on

    def _cooler_power(self) -> float:
        if not self._cooler:
            return 0.0
        return float(np.clip(100.0 * (self.ambient - self._temperature()) / self.MAX_COOLING, 0.0, 100.0))

    # -- exposure ----------------------------------------------------------------------
    def _state(self) -> int:
        if self._error:
            return CameraState.ERROR
        timer = self._timer
        if timer is None or timer.done:
            return CameraState.IDLE
        return CameraState.EXPOSING if timer.elapsed() < self._exposing_for else CameraState.READING

    def _image_ready(self) -> bool:
        return self._scene is not None and self._timer is not None and self._timer.done

    def _percent_completed(self) -> float:
        if self._timer is None:
            return 0.0
        return 100.0 * self._timer.fraction()

    def _start_exposure(self, seconds: float, light: bool, binning: tuple[int, int], subframe: Subframe) -> None:
        self._frames += 1
        self._started = self._clock.now()  # the sky below is rendered for this instant
        self._scene = self._snapshot(seconds, light, binning, subframe)
        self.last_scene = self._scene
        self._exposing_for = seconds
        self._timer = Timer(self._clock, seconds + self.readout_time)

    def _exposure_start(self):
        return self._started

    def _read_image(self) -> np.ndarray:
        if self._scene is None:
            raise InvalidOperationError(f"{self.name}: no image is ready to read")
        scene, self._scene, self._timer = self._scene, None, None
        return self.sensor.render(scene)

    def read_frame(self):
        """The frame, with the simulator's truth beside the mount's word: where the tube really looked
        (``SIMRA``/``SIMDEC``) and the defocus blur, so a solve made elsewhere can be checked against it."""
        scene = self._scene
        frame = super().read_frame()
        if scene is not None and scene.pointing is not None:
            frame.header["SIMRA"] = (round(scene.pointing[0], 7), "[deg] simulator's truth: RA of the optical axis")
            frame.header["SIMDEC"] = (round(scene.pointing[1], 7), "[deg] simulator's truth: Dec of the axis")
            frame.header["SIMBLUR"] = (round(scene.defocus, 3), "[arcsec] simulator's truth: defocus FWHM")
        return frame

    def _abort_exposure(self) -> None:
        self._scene = None
        self._timer = None

    def fail(self, failed: bool = True) -> None:
        """Put the camera into (or out of) the Error state, as a fault would."""
        self._error = failed

    # -- the world -----------------------------------------------------------------------
    def _snapshot(self, seconds: float, light: bool, binning: tuple[int, int], subframe: Subframe) -> Scene:
        # The world as it physically is: a filter is in the beam whether or not
        # any client has connected to the wheel.
        filter_name = _filter_in_beam(self.filter_wheel) if light else None
        pointing = None
        mass = 1.0
        sky = False
        heavens: dict = {}
        if light and self.mount is not None:
            axis, site = _optical_axis(self.mount)
            now = self._now()
            horizontal = to_altaz(axis, now, site)
            alt, az = float(horizontal.alt.deg), float(horizontal.az.deg)
            pointing = (float(axis.ra.deg), float(axis.dec.deg))
            mass = airmass(alt)
            sky = alt > 0.0 and self._slit_open_towards(alt, az)
            if sky:
                moon, phase = moon_altaz_and_phase(now, site)
                heavens = {"sun_alt": float(sun_altaz(now, site).alt.deg), "moon_alt": float(moon.alt.deg),
                           "moon_phase": phase,
                           "cloud_cover": self.weather.at(now).CloudCover if self.weather is not None else 0.0}
        if light and self.optics is not None and self.focuser is not None:
            heavens["defocus"] = self.optics.defocus(self.focuser.true_position(), float(self.focuser._temperature()),
                                                     filter_name)
        lamp = light and self.dome is not None and bool(getattr(self.dome, "lamp_on", False))
        if self.filter_wheel is not None and filter_name is None:
            sky = lamp = False  # the wheel is between filters: its body blocks the beam
        return Scene(
            duration=seconds,
            binning=binning,
            subframe=subframe,
            temperature=self._temperature(),
            filter=filter_name,
            pointing=pointing,
            airmass=mass,
            sky=sky,
            lamp=lamp,
            **heavens,
            seed=(self._seed, self._frames),
        )

    def _slit_open_towards(self, alt: float, az: float) -> bool:
        if self.dome is None:
            return True  # no dome: an open-air telescope
        shutter, dome_az = _slit(self.dome)
        if shutter != ShutterState.OPEN:
            return False
        if alt > 80.0:
            return True  # the slit runs over the zenith
        return abs((dome_az - az + 180.0) % 360.0 - 180.0) <= self.SLIT_HALF_WIDTH


# The neighbours may be simulated (read their physical state) or any backend
# (read them through their interface, which needs them connected).

def _filter_in_beam(wheel: FilterWheel | None) -> str | None:
    if wheel is None:
        return None
    return wheel.filter_in_beam() if isinstance(wheel, SimulatedFilterWheel) else wheel.filter


def _optical_axis(mount: Mount):
    if isinstance(mount, SimulatedMount):
        return mount.optical_axis(), mount.location
    return mount.position, mount.site


def _slit(dome: Dome) -> tuple[ShutterState, float]:
    if isinstance(dome, SimulatedDome):
        return dome.slit()
    return dome.shutter, float(dome.azimuth.value)
