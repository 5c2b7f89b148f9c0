"""INDI camera (``INDI::CCD``) and filter wheel (``INDI::FilterWheel``): the standard properties, each hook
naming the one it uses.

Camera: ``CCD_INFO`` (CCD_MAX_X/Y, CCD_PIXEL_SIZE_X/Y, CCD_BITSPERPIXEL: read at
connect), ``CCD_BINNING`` (HOR_BIN/VER_BIN; their ``max`` is the largest
binning), ``CCD_FRAME`` (X, Y, WIDTH, HEIGHT in *unbinned* pixels, where our
`Subframe` counts binned ones), ``CCD_FRAME_TYPE`` (FRAME_LIGHT / _DARK /
_BIAS / _FLAT), ``CCD_EXPOSURE.CCD_EXPOSURE_VALUE`` (Busy while exposing),
``CCD_ABORT_EXPOSURE.ABORT``, ``CCD_TEMPERATURE.CCD_TEMPERATURE_VALUE`` (the
sensor's temperature; a new value is the set point), ``CCD_COOLER`` and
``CCD_COOLER_POWER`` where the driver has them.

The image arrives as the ``CCD1`` BLOB, a FITS file (``CCD_TRANSFER_FORMAT``
is set to FITS at connect). BLOBs are enabled for ``CCD1`` alone. The FITS
bytes are not parsed into a second image: the data unit is read in place
(``numpy.frombuffer``) and turned into the native ``uint16`` in one pass,
so a 4k frame is copied once after indipyclient's base64 decoding.

Filter wheel: ``FILTER_SLOT.FILTER_SLOT_VALUE`` (1-based in INDI, 0-based here as in
ASCOM), Busy while the wheel turns; ``FILTER_NAME.FILTER_SLOT_NAME_1..N``
(the names, as many as the wheel has slots).
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
from astropy.io import fits

from ..errors import DeviceTimeoutError, DriverError, InvalidValueError, UnsupportedError
from ..indi import IndiDeviceMixin, IndiLink
from .base import Camera, CameraState, Subframe
from .context import FrameContext
from .filterwheel import FilterWheel

__all__ = ["IndiCamera", "IndiFilterWheel", "fits_image"]


def fits_image(blob: bytes | memoryview) -> np.ndarray:
    """The primary image of a FITS file held in memory, ``[y, x]`` in native byte order.

    16-bit data with ``BZERO = 32768`` (how FITS stores unsigned 16-bit) becomes ``uint16`` by flipping the
    sign bit, in the same pass that swaps the bytes; other types are scaled as FITS says.
    """
    view = memoryview(blob)
    header_end = _header_length(view)
    header = fits.Header.fromstring(bytes(view[:header_end]).decode("ascii", "replace"))
    if header.get("NAXIS") != 2:
        raise DriverError(f"the camera's FITS image has NAXIS={header.get('NAXIS')!r}: expected a 2-D image")
    width, height, bitpix = int(header["NAXIS1"]), int(header["NAXIS2"]), int(header["BITPIX"])
    wire = {8: ">u1", 16: ">i2", 32: ">i4", -32: ">f4", -64: ">f8"}.get(bitpix)
    if wire is None:
        raise DriverError(f"the camera's FITS image has BITPIX={bitpix}: not a FITS image type")
    count = width * height
    if len(view) - header_end < count * np.dtype(wire).itemsize:
        raise DriverError(f"the camera's FITS image is truncated: {len(view)} bytes for {width}x{height}")
    raw = np.frombuffer(view, dtype=wire, count=count, offset=header_end).reshape(height, width)
    zero, scale = float(header.get("BZERO", 0)), float(header.get("BSCALE", 1))
    if bitpix == 16 and zero == 32768 and scale == 1:
        out = np.empty((height, width), dtype=np.uint16)
        np.bitwise_xor(raw.view(">u2"), np.uint16(0x8000), out=out)
        return out
    if zero == 0 and scale == 1:
        return raw.astype(raw.dtype.newbyteorder("="))
    return raw * scale + zero


def _header_length(view: memoryview) -> int:
    """Bytes of the primary header: up to the 2880-byte block holding the END card."""
    for block in range(0, len(view), 2880):
        chunk = bytes(view[block:block + 2880])
        for card in range(0, len(chunk), 80):
            if chunk[card:card + 8] == b"END     ":
                return block + 2880
    raise DriverError("the camera's BLOB is not a FITS file (no END card)")


class IndiCamera(IndiDeviceMixin, Camera):
    """A camera driven by an INDI driver through indiserver.

    Parameters
    ----------
    address
        ``host:port`` of the indiserver.
    device
        The INDI device name (e.g. ``CCD Simulator``, ``ZWO CCD ASI294MM Pro``, ``QHY CCD ...``).
    electrons_per_adu
        The sensor's gain in e-/ADU (``GAIN``): INDI has no standard property for it (``CCD_GAIN`` is a
        setting in the camera's own units).
    timeout
        Seconds for the server and each answer.
    context
        See `FrameContext`.
    """

    _REQUIRED = ("CCD_INFO", "CCD_EXPOSURE", "CCD_FRAME", "CCD_BINNING", "CCD1")

    def __init__(self, address: str, device: str, *, electrons_per_adu: float = 1.0, timeout: float = 10.0,
                 context: FrameContext | None = None, poll_interval: float = 0.1) -> None:
        super().__init__(f"INDI {device}", f"INDI camera {device!r} at {address}", context=context,
                         timeout=max(timeout, 30.0), poll_interval=poll_interval)
        if not electrons_per_adu > 0:
            raise InvalidValueError(f"electrons_per_adu={electrons_per_adu!r}: expected a positive number")
        self._link = IndiLink(address, device, timeout=timeout)
        self._gain = float(electrons_per_adu)
        self._facts: dict = {}
        self._blobs_at_start: int | None = None  # CCD1 updates received when the exposure began
        self._set_point: float | None = None
        self._asked = 0.0  # seconds asked of the driver for the exposure under way

    def _on_connect(self) -> None:
        """``CCD_TRANSFER_FORMAT`` FITS; BLOBs enabled for ``CCD1``; ``CCD_INFO``, ``CCD_BINNING``."""
        link = self._link
        if link.has("CCD_TRANSFER_FORMAT") and not link.switch("CCD_TRANSFER_FORMAT", "FORMAT_FITS"):
            link.set("CCD_TRANSFER_FORMAT", {"FORMAT_FITS": "On", "FORMAT_NATIVE": "Off"})
        if link.has("CCD_COMPRESSION") and link.switch("CCD_COMPRESSION", "INDI_ENABLED"):
            link.set("CCD_COMPRESSION", {"INDI_ENABLED": "Off", "INDI_DISABLED": "On"})
        link.enable_blobs("CCD1")
        bits = int(link.number("CCD_INFO", "CCD_BITSPERPIXEL"))
        self._facts = {
            "size": (int(link.number("CCD_INFO", "CCD_MAX_X")), int(link.number("CCD_INFO", "CCD_MAX_Y"))),
            "pixel": (link.number("CCD_INFO", "CCD_PIXEL_SIZE_X"), link.number("CCD_INFO", "CCD_PIXEL_SIZE_Y")),
            "max_bin": int(min(link.number_range("CCD_BINNING", "HOR_BIN")[1],
                               link.number_range("CCD_BINNING", "VER_BIN")[1])),
            "max_adu": (1 << bits) - 1 if 0 < bits <= 16 else 65535,
            "min_exposure": max(0.0, link.number_range("CCD_EXPOSURE", "CCD_EXPOSURE_VALUE")[0]),
            "max_exposure": link.number_range("CCD_EXPOSURE", "CCD_EXPOSURE_VALUE")[1],
        }
        self._blobs_at_start = None

    def _fact(self, key: str):
        self._require_connected()
        return self._facts[key]

    @property
    def sensor_size(self) -> tuple[int, int]:
        """``CCD_INFO.CCD_MAX_X``, ``CCD_MAX_Y`` (read at connect)."""
        return self._fact("size")

    @property
    def max_binning(self) -> int:
        """``CCD_BINNING``'s ``max`` on either axis, the smaller."""
        return self._fact("max_bin")

    @property
    def gain(self) -> float:
        """The configured e-/ADU (INDI has no standard property for it)."""
        return self._gain

    @property
    def max_adu(self) -> int:
        """``2**CCD_BITSPERPIXEL - 1``."""
        return self._fact("max_adu")

    @property
    def max_exposure(self) -> float:
        """``CCD_EXPOSURE_VALUE``'s ``max`` (longer exposures are refused before they reach the driver)."""
        return float(self._fact("max_exposure"))

    @property
    def pixel_size(self) -> u.Quantity:
        """``CCD_INFO.CCD_PIXEL_SIZE_X``, ``CCD_PIXEL_SIZE_Y`` in micrometres."""
        return self._fact("pixel") * u.um

    # -- exposure ------------------------------------------------------------------
    def _image_ready(self) -> bool:
        """A ``CCD1`` BLOB received since the exposure started."""
        return self._blobs_at_start is not None and self._link.answers("CCD1")[0] > self._blobs_at_start

    def _state(self) -> int:
        """``CCD_EXPOSURE`` Busy: exposing; Alert: error; ended without its image yet: downloading."""
        state = self._link.state("CCD_EXPOSURE")
        if state == "Busy":
            return CameraState.EXPOSING
        if state == "Alert":
            return CameraState.ERROR
        if self._blobs_at_start is not None and not self._image_ready():
            return CameraState.DOWNLOAD
        return CameraState.IDLE

    def _percent_completed(self) -> float:
        """From ``CCD_EXPOSURE_VALUE``, which INDI drivers count down to 0 while the exposure runs."""
        if self._image_ready() or self._blobs_at_start is None:
            return 100.0 if self._image_ready() else 0.0
        if self._link.state("CCD_EXPOSURE") != "Busy" or self._asked <= 0:
            return 100.0
        left = self._link.number("CCD_EXPOSURE", "CCD_EXPOSURE_VALUE")
        return float(min(100.0, max(0.0, 100.0 * (1.0 - left / self._asked))))

    def _start_exposure(self, seconds: float, light: bool, binning: tuple[int, int], subframe: Subframe) -> None:
        """``CCD_BINNING``, ``CCD_FRAME`` (unbinned), ``CCD_FRAME_TYPE``, then ``CCD_EXPOSURE_VALUE``."""
        link = self._link
        bx, by = binning
        # Each sent only when the driver holds another value: a round trip saved per unchanged setting
        self._ensure("CCD_BINNING", {"HOR_BIN": bx, "VER_BIN": by})
        self._ensure("CCD_FRAME", {"X": subframe.x * bx, "Y": subframe.y * by,
                                   "WIDTH": subframe.width * bx, "HEIGHT": subframe.height * by})
        if link.has("CCD_FRAME_TYPE"):
            kind = "FRAME_LIGHT" if light else ("FRAME_BIAS" if seconds == 0 else "FRAME_DARK")
            self._ensure("CCD_FRAME_TYPE", {k: "On" if k == kind else "Off"
                                            for k in ("FRAME_LIGHT", "FRAME_BIAS", "FRAME_DARK", "FRAME_FLAT")})
        self._blobs_at_start = link.answers("CCD1")[0]
        # A bias is the driver's shortest exposure (INDI drivers refuse 0 s)
        self._asked = max(seconds, self._facts["min_exposure"])
        link.send("CCD_EXPOSURE", {"CCD_EXPOSURE_VALUE": self._asked})

    def _ensure(self, vector: str, values: dict) -> None:
        held = self._link.members(vector)
        same = all((held.get(k) == v) if isinstance(v, str) else
                   (k in held and abs(float(held[k]) - v) < 1e-9) for k, v in values.items())
        if not same or self._link.state(vector) == "Alert":
            self._link.set(vector, values)

    def _read_image(self) -> np.ndarray:
        """The ``CCD1`` BLOB's FITS image (see the module notes)."""
        link = self._link
        blob = link.blob("CCD1", "CCD1")
        self._blobs_at_start = None
        # INDI's CCD base sends the image, then CCD_EXPOSURE Ok: until that arrives the vector still says Busy
        # and the next exposure would be refused as one in progress (seen on a loaded machine). A driver that
        # never says so costs a few seconds here, not the frame.
        try:
            self._wait_exposure_ended(min(link.timeout, 5.0))
        except DeviceTimeoutError:
            pass
        return fits_image(blob)

    def _abort_exposure(self) -> None:
        """``CCD_ABORT_EXPOSURE.ABORT``."""
        self._blobs_at_start = None
        link = self._link
        if link.state("CCD_EXPOSURE") == "Busy":
            link.set("CCD_ABORT_EXPOSURE", {"ABORT": "On"})
            # The driver then sends CCD_EXPOSURE Idle (or Alert): until it arrives the vector still says Busy
            self._wait_exposure_ended(link.timeout)

    def _wait_exposure_ended(self, timeout: float) -> None:
        """Until ``CCD_EXPOSURE`` leaves Busy; `DeviceTimeoutError` after ``timeout`` s."""
        link = self._link
        link.wait_until(lambda: link.state("CCD_EXPOSURE") != "Busy", timeout, "the exposure's end")

    # -- cooling -----------------------------------------------------------------------
    def _temperature(self) -> float:
        """``CCD_TEMPERATURE.CCD_TEMPERATURE_VALUE``."""
        if not self._link.has("CCD_TEMPERATURE"):
            raise UnsupportedError(f"{self.name} does not report its temperature (no CCD_TEMPERATURE)")
        return self._link.number("CCD_TEMPERATURE", "CCD_TEMPERATURE_VALUE")

    def _target_temperature(self) -> float:
        """The set point last sent (INDI reports the sensor's temperature only)."""
        if self._set_point is None:
            raise UnsupportedError(f"{self.name}: no set point has been sent")
        return self._set_point

    def _set_temperature(self, celsius: float) -> None:
        """``CCD_TEMPERATURE.CCD_TEMPERATURE_VALUE = celsius`` (Busy while the sensor gets there)."""
        if not self._link.has("CCD_TEMPERATURE"):
            raise UnsupportedError(f"{self.name} cannot set its temperature (no CCD_TEMPERATURE)")
        self._link.send("CCD_TEMPERATURE", {"CCD_TEMPERATURE_VALUE": celsius})
        self._set_point = celsius

    def _cooler_on(self) -> bool:
        """``CCD_COOLER.COOLER_ON``; a driver without it regulates once given a set point."""
        if self._link.has("CCD_COOLER"):
            return self._link.switch("CCD_COOLER", "COOLER_ON")
        return self._set_point is not None

    def _set_cooler_on(self, on: bool) -> None:
        """``CCD_COOLER``: COOLER_ON or COOLER_OFF (nothing to send to a driver without it)."""
        if self._link.has("CCD_COOLER"):
            self._link.set("CCD_COOLER", {"COOLER_ON": "On" if on else "Off", "COOLER_OFF": "Off" if on else "On"},
                           busy_is_done=True)
        elif not on:
            self._set_point = None

    def _cooler_power(self) -> float:
        """``CCD_COOLER_POWER.CCD_COOLER_VALUE`` (percent)."""
        if not self._link.has("CCD_COOLER_POWER"):
            raise UnsupportedError(f"{self.name} does not report cooler power (no CCD_COOLER_POWER)")
        return self._link.number("CCD_COOLER_POWER", "CCD_COOLER_VALUE")


class IndiFilterWheel(IndiDeviceMixin, FilterWheel):
    """A filter wheel driven by an INDI driver through indiserver.

    Parameters
    ----------
    address
        ``host:port`` of the indiserver.
    device
        The INDI device name (e.g. ``Filter Simulator``, ``QHYCFW2``).
    """

    _REQUIRED = ("FILTER_SLOT", "FILTER_NAME")

    def __init__(self, address: str, device: str, *, timeout: float = 10.0, poll_interval: float = 0.1) -> None:
        super().__init__(f"INDI {device}", f"INDI filter wheel {device!r} at {address}",
                         timeout=max(timeout, 120.0), poll_interval=poll_interval)
        self._link = IndiLink(address, device, timeout=timeout)

    def _names(self) -> list[str]:
        """``FILTER_NAME.FILTER_SLOT_NAME_1..N``, in slot order."""
        names = self._link.members("FILTER_NAME")
        count = int(self._link.number_range("FILTER_SLOT", "FILTER_SLOT_VALUE")[1])
        return [str(names.get(f"FILTER_SLOT_NAME_{i}", f"Filter {i}")) for i in range(1, count + 1)]

    def _position(self) -> int:
        """``FILTER_SLOT.FILTER_SLOT_VALUE`` - 1; -1 while the vector is Busy (Alert: the move failed)."""
        state = self._link.state("FILTER_SLOT")
        if state == "Busy":
            return -1
        if state == "Alert":
            raise DriverError(f"{self.name}: the wheel reports a failed move (FILTER_SLOT is Alert)")
        return int(round(self._link.number("FILTER_SLOT", "FILTER_SLOT_VALUE"))) - 1

    def _move(self, slot: int) -> None:
        """``FILTER_SLOT.FILTER_SLOT_VALUE = slot + 1``."""
        self._link.send("FILTER_SLOT", {"FILTER_SLOT_VALUE": slot + 1})
