"""The `Camera` interface (after ASCOM ICameraV4) and its exposure logic.

A backend implements the underscored hooks; this class validates every input
once for all backends, keeps binning and subframe, waits with bounds, and
builds the `Frame` header from the camera and its `FrameContext`.
"""

from __future__ import annotations

import abc
import enum
import logging
import re
import time
from dataclasses import dataclass

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.time import Time

from ..device import Device
from ..errors import (
    DriverError,
    InvalidOperationError,
    InvalidValueError,
    OperationCancelledError,
    UnsupportedError,
    ValueNotSetError,
)
from ..quantities import QuantityLike, as_celsius, as_seconds
from .context import Card, FrameContext, Snapshot
from .frame import Frame, ImageType, fits_text
from .wcs import tan_wcs_cards

log = logging.getLogger(__name__)

__all__ = ["Camera", "CameraState", "Subframe"]

_KEYWORD = re.compile(r"[A-Z0-9_-]{1,8}")


class CameraState(enum.IntEnum):
    """ASCOM ``CameraState`` values."""

    IDLE = 0
    WAITING = 1
    EXPOSING = 2
    READING = 3
    DOWNLOAD = 4
    ERROR = 5


@dataclass(frozen=True)
class Subframe:
    """Region read out, in binned pixels (ASCOM StartX, StartY, NumX, NumY)."""

    x: int
    y: int
    width: int
    height: int


@dataclass
class _Exposure:
    duration: float
    light: bool
    start: Time  # the camera's own start (LastExposureStartTime), else when StartExposure was acknowledged
    binning: tuple[int, int]
    subframe: Subframe
    cards: list[Card]
    snapshot: Snapshot


class Camera(Device):
    """A CCD or CMOS camera.

    Parameters
    ----------
    name, description, timeout, poll_interval
        See `Device`.
    context
        Where observatory keywords come from (see `FrameContext`).
    """

    device_type = "camera"

    def __init__(self, name: str, description: str = "", *, context: FrameContext | None = None, **kwargs) -> None:
        super().__init__(name, description, **kwargs)
        self.context = context if context is not None else FrameContext()
        self._binning: tuple[int, int] = (1, 1)
        self._subframe: Subframe | None = None
        self._exposure: _Exposure | None = None
        self._last_start: Time | None = None
        self._last_duration: float | None = None

    # -- facts a backend provides ------------------------------------------
    @property
    @abc.abstractmethod
    def sensor_size(self) -> tuple[int, int]:
        """``(width, height)`` of the sensor in unbinned pixels."""

    @property
    @abc.abstractmethod
    def max_binning(self) -> int:
        """Largest binning factor on either axis."""

    @property
    @abc.abstractmethod
    def gain(self) -> float:
        """Electrons per ADU."""

    @property
    def max_adu(self) -> int:
        """Largest pixel value."""
        return 65535

    @property
    def max_exposure(self) -> float:
        """Longest exposure the camera takes, seconds (ASCOM ``ExposureMax``)."""
        return 36000.0

    @property
    def pixel_size(self) -> u.Quantity:
        """Unbinned pixel size ``(x, y)`` in micrometres."""
        raise UnsupportedError(f"{self.name} does not report its pixel size")

    @property
    def instrument(self) -> str:
        """The camera's own name (``INSTRUME``), not how we reach it."""
        return self.name

    #: Read noise in electrons to write where the device cannot say it (ASCOM ICamera has no such member): the
    #: configuration's ``Devices: {Camera: {Read Noise: ...}}``, or set by a script. None: no ``RDNOISE`` card.
    stated_read_noise: float | None = None

    @property
    def read_noise(self) -> float | None:
        """Read noise in electrons (``RDNOISE``): the device's where it says, else `stated_read_noise`."""
        return self.stated_read_noise

    @property
    def saturation(self) -> float:
        """Raw level (ADU) at which pixels saturate (``SATURATE``): the ADC's top, or the full well if lower."""
        return float(self.max_adu)

    @property
    def last_exposure_start(self) -> Time:
        """UTC start of the last exposure, by the camera's own clock (ASCOM ``LastExposureStartTime``)."""
        if self._last_start is None:
            raise ValueNotSetError(f"{self.name}: no exposure has been started")
        return self._last_start

    @property
    def last_exposure_duration(self) -> float:
        """Seconds the last exposure lasted (ASCOM ``LastExposureDuration``)."""
        if self._last_duration is None:
            raise ValueNotSetError(f"{self.name}: no exposure has been started")
        return self._last_duration

    # -- binning and subframe ------------------------------------------------
    @property
    def binning(self) -> tuple[int, int]:
        """``(bin_x, bin_y)``. Setting it resets the subframe to the full frame."""
        return self._binning

    @binning.setter
    def binning(self, value: int | tuple[int, int]) -> None:
        pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
        if len(pair) != 2:
            raise InvalidValueError(f"binning={value!r}: expected an int or a pair (bin_x, bin_y)")
        for axis, b in zip("xy", pair):
            if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or not 1 <= b <= self.max_binning:
                raise InvalidValueError(
                    f"binning {axis}={b!r}: expected an integer from 1 to {self.max_binning}"
                )
        with self._lock:
            self._binning = (int(pair[0]), int(pair[1]))
            self._subframe = None

    @property
    def subframe(self) -> Subframe:
        """Region read out, in binned pixels. Set ``None`` for the full frame."""
        if self._subframe is not None:
            return self._subframe
        width, height = self.sensor_size
        return Subframe(0, 0, width // self._binning[0], height // self._binning[1])

    @subframe.setter
    def subframe(self, value: Subframe | tuple[int, int, int, int] | None) -> None:
        if value is None:
            with self._lock:
                self._subframe = None
            return
        try:
            x, y, width, height = (int(v) for v in value)  # type: ignore[union-attr]
        except (TypeError, ValueError) as exc:
            raise InvalidValueError(f"subframe={value!r}: expected (x, y, width, height)") from exc
        full_w = self.sensor_size[0] // self._binning[0]
        full_h = self.sensor_size[1] // self._binning[1]
        if not (0 <= x and 0 <= y and width >= 1 and height >= 1 and x + width <= full_w and y + height <= full_h):
            raise InvalidValueError(
                f"subframe=({x}, {y}, {width}, {height}): expected a region inside "
                f"{full_w}x{full_h} binned pixels"
            )
        with self._lock:
            self._subframe = Subframe(x, y, width, height)

    # -- cooling ---------------------------------------------------------------
    @property
    def temperature(self) -> u.Quantity:
        """Sensor temperature in Celsius."""
        self._require_connected()
        return self._temperature() * u.deg_C

    @property
    def target_temperature(self) -> u.Quantity:
        """Cooler set point in Celsius."""
        self._require_connected()
        return self._target_temperature() * u.deg_C

    def set_temperature(self, value: QuantityLike) -> None:
        """Set the cooler set point (Celsius, or a temperature ``Quantity``)."""
        celsius = as_celsius(value, "set_temperature", minimum=-100.0, maximum=50.0)
        with self._lock:
            self._require_connected()
            self._set_temperature(celsius)

    def cool_to(
        self, setpoint: QuantityLike, *, tolerance: float = 0.5, wait: bool = True, timeout: float | None = None
    ) -> None:
        """Switch the cooler on, set the set point and wait until the sensor is within ``tolerance`` C.

        Raises
        ------
        InvalidValueError
            Set point outside -100 to 50 C.
        DeviceTimeoutError
            The sensor did not get there in ``timeout`` seconds (a cooler
            that cannot reach the set point in the ambient heat, say).
        """
        celsius = as_celsius(setpoint, "setpoint", minimum=-100.0, maximum=50.0)

        def start() -> None:
            self._set_cooler_on(True)
            self._set_temperature(celsius)

        self._start_then_wait(
            start,
            done=lambda: abs(self._temperature() - celsius) <= tolerance,
            what=f"cooling to {celsius:g} C",
            wait=wait,
            timeout=timeout,
        )

    @property
    def cooler_on(self) -> bool:
        """Whether the cooler runs."""
        self._require_connected()
        return self._cooler_on()

    @cooler_on.setter
    def cooler_on(self, value: bool) -> None:
        if not isinstance(value, (bool, np.bool_)):
            raise InvalidValueError(f"cooler_on={value!r}: expected True or False")
        with self._lock:
            self._require_connected()
            self._set_cooler_on(bool(value))

    @property
    def cooler_power(self) -> float:
        """Cooler power in percent."""
        self._require_connected()
        return self._cooler_power()

    # -- exposure --------------------------------------------------------------
    @property
    def state(self) -> CameraState:
        """Current `CameraState`."""
        self._require_connected()
        return CameraState(self._state())

    @property
    def image_ready(self) -> bool:
        """Whether an exposure has finished and its image can be read."""
        self._require_connected()
        return self._exposure is not None and self._image_ready()

    @property
    def percent_completed(self) -> float:
        """Progress of the current exposure and readout, 0 to 100."""
        self._require_connected()
        return self._percent_completed()

    def start_exposure(
        self,
        duration: QuantityLike,
        light: bool = True,
        *,
        imagetyp: str | ImageType | None = None,
        object: str | None = None,
        header: dict | None = None,
    ) -> None:
        """Start an exposure and return at once.

        Parameters
        ----------
        duration
            Seconds (or a time ``Quantity``); 0 gives a bias frame.
        light
            Open the shutter (a light or flat frame) or keep it shut (bias, dark).
        imagetyp
            ``IMAGETYP``; by default LIGHT when ``light``, else BIAS for a zero
            duration and DARK otherwise.
        object
            ``OBJECT``.
        header
            Further ``{keyword: value}`` cards for this frame (a work order
            ID, say).

        Raises
        ------
        InvalidValueError
            A negative or non-finite duration, a bad image type or keyword.
        InvalidOperationError
            An exposure is already running.
        """
        seconds = as_seconds(duration, "duration", minimum=0.0)
        if seconds > self.max_exposure:
            raise InvalidValueError(f"duration={seconds:g} s: expected at most {self.max_exposure:g} s, "
                                    f"the longest exposure {self.name} takes")
        if not isinstance(light, (bool, np.bool_)):
            raise InvalidValueError(f"light={light!r}: expected True or False")
        kind = self._image_type(imagetyp, seconds, bool(light))
        extra = self._validate_cards(header or {})
        with self._lock:
            self._require_connected()
            if self._state() in (CameraState.EXPOSING, CameraState.WAITING, CameraState.READING, CameraState.DOWNLOAD):
                raise InvalidOperationError(f"{self.name}: an exposure is already in progress")
            self._begin_operation()
            snapshot = self.context.snapshot()  # the devices as they stand for this exposure
            cards = self._camera_cards(kind)
            if object:
                cards.append(("OBJECT", fits_text(str(object)), "target name"))
            cards.extend(snapshot.cards)
            cards.extend(extra)
            binning, subframe = self._binning, self.subframe
            self._start_exposure(seconds, bool(light), binning, subframe)
            acknowledged = self._now()
            start = self._exposure_start() or acknowledged
            self._last_start, self._last_duration = start, seconds
            self._exposure = _Exposure(seconds, bool(light), start, binning, subframe, cards, snapshot)
        log.info("%s: %s exposure of %g s started at %s", self.name, kind, seconds, start.isot)

    def read_frame(self) -> Frame:
        """Read the image of the finished exposure.

        Raises
        ------
        InvalidOperationError
            No exposure has finished since the last read.
        """
        with self._lock:
            self._require_connected()
            exposure = self._exposure
            if exposure is None or not self._image_ready():
                raise InvalidOperationError(f"{self.name}: no image is ready to read")
            data = self._read_image()
            expected = (exposure.subframe.height, exposure.subframe.width)
            if data.shape != expected:
                raise DriverError(
                    f"{self.name}: image has shape {data.shape}, expected {expected} [y, x]"
                )
            self._exposure = None
            duration = self._exposure_duration()
            if duration is None:
                duration = exposure.duration
            self._last_duration = duration
        header = fits.Header()
        for key, value, comment in self._timed_cards(exposure, duration) + exposure.cards:
            if key == "COMMENT":
                header.add_comment(value)
            elif key == "HISTORY":
                header.add_history(value)
            else:
                header[key] = (value, comment)
        return Frame(data, header)

    def abort_exposure(self) -> None:
        """Abort the exposure; its image is discarded and waits on it raise."""
        def stop() -> None:
            self._abort_exposure()
            self._exposure = None

        self._abort_with(stop)

    def expose(
        self,
        duration: QuantityLike,
        light: bool = True,
        *,
        timeout: float | None = None,
        imagetyp: str | ImageType | None = None,
        object: str | None = None,
        header: dict | None = None,
    ) -> Frame:
        """Take one exposure and return its frame.

        Parameters
        ----------
        duration, light, imagetyp, object, header
            As for `start_exposure`.
        timeout
            Bound on the whole wait, in seconds; by default the duration plus
            the device's ``timeout``. On a timeout the exposure is aborted.

        Raises
        ------
        DeviceTimeoutError
            The image was not ready in time.
        OperationCancelledError
            `abort_exposure` was called from another thread.
        DriverError
            The camera went to the Error state.
        """
        self.start_exposure(duration, light, imagetyp=imagetyp, object=object, header=header)
        seconds = as_seconds(duration, "duration")
        began = time.monotonic()
        bound = seconds + self.timeout if timeout is None else timeout
        try:
            self._wait_until(
                lambda: self.image_ready,
                what=f"exposure of {seconds:g} s",
                timeout=bound,
                failed=lambda: "camera reported the Error state" if self.state == CameraState.ERROR else None,
            )
        except OperationCancelledError:
            raise
        except DriverError:
            self._abort_quietly()
            raise
        frame = self.read_frame()
        log.info("%s: exposure of %g s read out; %.1f s from start to image", self.name, seconds,
                 time.monotonic() - began)
        return frame

    def _abort_quietly(self) -> None:
        try:
            with self._lock:
                if self._connected:
                    self._abort_exposure()
                self._exposure = None
        except DriverError:
            pass  # the original error is the one worth reporting

    # -- header ----------------------------------------------------------------
    @staticmethod
    def _image_type(imagetyp: str | ImageType | None, seconds: float, light: bool) -> str:
        if imagetyp is None:
            if light:
                return ImageType.LIGHT.value
            return ImageType.BIAS.value if seconds == 0 else ImageType.DARK.value
        try:
            return ImageType(str(getattr(imagetyp, "value", imagetyp)).upper()).value
        except ValueError as exc:
            raise InvalidValueError(
                f"imagetyp={imagetyp!r}: expected one of {[t.value for t in ImageType]}"
            ) from exc

    @staticmethod
    def _validate_cards(header: dict) -> list[Card]:
        cards = []
        for key, value in header.items():
            if isinstance(value, str):
                value = fits_text(value)  # names in any script reach the header transliterated
            keyword = str(key).upper()
            if not _KEYWORD.fullmatch(keyword):
                raise InvalidValueError(
                    f"header[{key!r}]: expected a FITS keyword of 1 to 8 characters A-Z, 0-9, '-' or '_'"
                )
            try:
                fits.Card(keyword, value).verify("exception")
            except (ValueError, fits.VerifyError) as exc:
                raise InvalidValueError(f"header[{key!r}]={value!r}: not a valid FITS value: {exc}") from exc
            cards.append((keyword, value, ""))
        return cards

    def _camera_cards(self, kind: str) -> list[Card]:
        bx, by = self._binning
        sub = self.subframe
        cards: list[Card] = [
            ("IMAGETYP", kind, "type of image"),
            ("BUNIT", "adu", "raw counts"),
            ("INSTRUME", fits_text(self.instrument), "camera"),
            ("XBINNING", bx, "binning factor in x"),
            ("YBINNING", by, "binning factor in y"),
            ("XORGSUBF", sub.x, "subframe origin in x, binned pixels"),
            ("YORGSUBF", sub.y, "subframe origin in y, binned pixels"),
            ("GAIN", round(self.gain, 4), "[e-/ADU] detector gain"),
            ("SATURATE", round(self.saturation, 1), "[adu] raw saturation level"),
        ]
        if self.read_noise is not None:
            cards.append(("RDNOISE", round(self.read_noise, 3), "[e-] read noise"))
        try:
            px, py = self.pixel_size.to_value(u.um)
            cards.append(("XPIXSZ", round(px * bx, 4), "[um] pixel size in x, binned"))
            cards.append(("YPIXSZ", round(py * by, 4), "[um] pixel size in y, binned"))
        except UnsupportedError:
            pass
        try:
            cards.append(("CCD-TEMP", round(self._temperature(), 2), "[C] sensor temperature at start"))
            cards.append(("SET-TEMP", round(self._target_temperature(), 2), "[C] cooler set point"))
        except UnsupportedError:
            pass
        return cards

    def _timed_cards(self, exposure: _Exposure, duration: float) -> list[Card]:
        """What needs the exposure's true start and length: its times, where it pointed, its WCS."""
        start = exposure.start.utc
        end = start + duration * u.s
        cards: list[Card] = [
            ("DATE-OBS", start.isot, "UTC start, by the camera's clock"),
            ("DATE-END", end.isot, "UTC end of the exposure"),
            ("MJD-OBS", round(start.mjd, 8), "MJD start of the exposure"),
            ("MJD-END", round(end.mjd, 8), "MJD end of the exposure"),
            ("EXPTIME", duration, "[s] exposure time"),
        ]
        snapshot = exposure.snapshot
        cards.extend(self.context.timed_cards(snapshot, start, duration))
        if exposure.light and snapshot.pointing is not None and self.context.focal_length:
            try:
                pixel = tuple(self.pixel_size.to_value(u.um))
            except UnsupportedError:
                return cards
            sub = exposure.subframe
            cards.extend(tan_wcs_cards(snapshot.pointing, pixel_um=pixel, focal_mm=float(self.context.focal_length),
                                       rotation_deg=self.context.rotation, sensor=self.sensor_size,
                                       binning=exposure.binning, origin=(sub.x, sub.y)))
        return cards

    # -- hooks for backends ------------------------------------------------------
    @abc.abstractmethod
    def _state(self) -> int:
        """The ASCOM camera state."""

    @abc.abstractmethod
    def _image_ready(self) -> bool:
        """Whether the device holds a finished image."""

    def _percent_completed(self) -> float:
        raise UnsupportedError(f"{self.name} does not report exposure progress")

    @abc.abstractmethod
    def _start_exposure(self, seconds: float, light: bool, binning: tuple[int, int], subframe: Subframe) -> None:
        """Apply binning and subframe, then start the exposure."""

    @abc.abstractmethod
    def _read_image(self) -> np.ndarray:
        """The finished image as a 2-D array ``[y, x]`` in its native type."""

    @abc.abstractmethod
    def _abort_exposure(self) -> None:
        """Stop the exposure and discard it."""

    def _exposure_start(self) -> Time | None:
        """The device's own start time of the exposure just started (LastExposureStartTime); None if it has none."""
        return None

    def _exposure_duration(self) -> float | None:
        """The device's own length of the last exposure (LastExposureDuration); None if it has none."""
        return None

    def _temperature(self) -> float:
        raise UnsupportedError(f"{self.name} does not report its temperature")

    def _target_temperature(self) -> float:
        raise UnsupportedError(f"{self.name} has no cooler set point")

    def _set_temperature(self, celsius: float) -> None:
        raise UnsupportedError(f"{self.name} cannot set its temperature")

    def _cooler_on(self) -> bool:
        raise UnsupportedError(f"{self.name} has no cooler")

    def _set_cooler_on(self, on: bool) -> None:
        raise UnsupportedError(f"{self.name} has no cooler")

    def _cooler_power(self) -> float:
        raise UnsupportedError(f"{self.name} does not report cooler power")
