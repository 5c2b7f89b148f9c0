"""ASCOM Alpaca camera and filter wheel (ICameraV4, IFilterWheelV3), on alpyca.

Each hook names the ASCOM member it reads or sends. Images come over
ImageBytes when the server offers it (``Accept: application/imagebytes``) and
are built into numpy straight from the reply's bytes; otherwise (or with
``image_transfer="json"``) from the JSON ImageArray, parsed by numpy without
per-pixel Python objects. Either way the ``[x][y]`` wire order is transposed
to a C-ordered ``[y, x]`` array in the camera's own type, in one copy.
"""

from __future__ import annotations

import logging

import astropy.units as u
import numpy as np
from alpaca.camera import Camera as _AlpycaCamera
from alpaca.filterwheel import FilterWheel as _AlpycaFilterWheel
from astropy.time import Time

from ..alpaca.client import AlpacaDeviceMixin
from ..alpaca.protocol import IMAGEBYTES, JsonImageStream, decode_imagebytes, decode_json_image
from ..errors import DriverError, InvalidValueError, UnsupportedError
from .base import Camera, Subframe
from .context import FrameContext
from .filterwheel import FilterWheel

__all__ = ["AlpacaCamera", "AlpacaFilterWheel"]

log = logging.getLogger(__name__)

_TRANSFERS = ("auto", "imagebytes", "json")


class AlpacaCamera(AlpacaDeviceMixin, Camera):
    """A camera on an Alpaca server.

    Parameters
    ----------
    address
        ``host:port`` of the server.
    device_number
        Camera number on the server.
    timeout
        Seconds for each HTTP request (and the default bound of waits).
    image_timeout
        Seconds for the image download.
    image_transfer
        ``"auto"`` (ImageBytes when offered, else JSON), ``"imagebytes"``
        (the same; named for clarity) or ``"json"`` (never ask for
        ImageBytes, for servers that mishandle it).
    context
        See `FrameContext`.
    """

    def __init__(
        self,
        address: str,
        device_number: int = 0,
        *,
        timeout: float = 10.0,
        image_timeout: float = 120.0,
        image_transfer: str = "auto",
        context: FrameContext | None = None,
        poll_interval: float = 0.1,
    ) -> None:
        if image_transfer not in _TRANSFERS:
            raise InvalidValueError(f"image_transfer={image_transfer!r}: expected one of {_TRANSFERS}")
        label = self._init_alpaca(_AlpycaCamera, "camera", address, device_number, timeout)
        super().__init__(label, context=context, timeout=max(timeout, 30.0), poll_interval=poll_interval)
        self.image_transfer = image_transfer
        self.image_timeout = float(image_timeout)
        self._facts: dict = {}

    def _on_connect(self) -> None:
        link = self._link
        self._facts = {
            "size": (int(link.get("CameraXSize")), int(link.get("CameraYSize"))),
            "max_bin": min(int(link.get("MaxBinX")), int(link.get("MaxBinY"))),
            "gain": float(link.get("ElectronsPerADU")),
            "max_adu": int(link.get("MaxADU")),
            "name": str(link.get("Name")),
        }
        try:
            self._facts["full_well"] = float(link.get("FullWellCapacity"))
        except UnsupportedError:
            pass
        try:
            self._facts["max_exposure"] = float(link.get("ExposureMax"))
        except (UnsupportedError, ValueError):
            pass
        try:
            self._facts["pixel"] = (float(link.get("PixelSizeX")), float(link.get("PixelSizeY")))
        except UnsupportedError:
            pass
        self._facts["dtype"] = np.dtype(np.uint16 if self._facts["max_adu"] <= 65535 else np.int32)

    def _fact(self, key: str):
        self._require_connected()
        return self._facts[key]

    @property
    def sensor_size(self) -> tuple[int, int]:
        """``CameraXSize``, ``CameraYSize`` (read at connect)."""
        return self._fact("size")

    @property
    def max_binning(self) -> int:
        """``MaxBinX``/``MaxBinY``, the smaller (read at connect)."""
        return self._fact("max_bin")

    @property
    def gain(self) -> float:
        """``ElectronsPerADU`` (read at connect)."""
        return self._fact("gain")

    @property
    def max_adu(self) -> int:
        """``MaxADU`` (read at connect)."""
        return self._fact("max_adu")

    @property
    def max_exposure(self) -> float:
        """``ExposureMax`` (read at connect)."""
        self._require_connected()
        return float(self._facts.get("max_exposure", 36000.0))

    @property
    def instrument(self) -> str:
        """``Name``: the camera's own name (read at connect)."""
        return self._fact("name")

    @property
    def saturation(self) -> float:
        """``MaxADU``, or ``FullWellCapacity / ElectronsPerADU`` where lower."""
        full_well = self._facts.get("full_well")
        limit = float(self.max_adu)
        return min(limit, full_well / self.gain) if full_well and self.gain > 0 else limit

    @property
    def pixel_size(self) -> u.Quantity:
        """``PixelSizeX``, ``PixelSizeY`` in micrometres."""
        self._require_connected()
        if "pixel" not in self._facts:
            raise UnsupportedError(f"{self.name} does not report its pixel size")
        return self._facts["pixel"] * u.um

    # -- exposure ------------------------------------------------------------------
    def _state(self) -> int:
        """``CameraState``."""
        return int(self._link.get("CameraState"))

    def _image_ready(self) -> bool:
        """``ImageReady``."""
        return bool(self._link.get("ImageReady"))

    def _percent_completed(self) -> float:
        """``PercentCompleted``."""
        return float(self._link.get("PercentCompleted"))

    def _start_exposure(self, seconds: float, light: bool, binning: tuple[int, int], subframe: Subframe) -> None:
        """``BinX``, ``BinY``, ``StartX``, ``StartY``, ``NumX``, ``NumY``, then ``StartExposure``."""
        link = self._link
        link.set("BinX", binning[0])
        link.set("BinY", binning[1])
        link.set("StartX", subframe.x)
        link.set("StartY", subframe.y)
        link.set("NumX", subframe.width)
        link.set("NumY", subframe.height)
        link.call("StartExposure", seconds, light)

    def _abort_exposure(self) -> None:
        """``AbortExposure``."""
        self._link.call("AbortExposure")

    def _exposure_start(self) -> Time | None:
        """``LastExposureStartTime`` (the camera's clock, FITS UTC), read right after ``StartExposure``."""
        try:
            return Time(str(self._link.get("LastExposureStartTime")), format="isot", scale="utc")
        except (DriverError, ValueError) as exc:
            log.info("%s: no LastExposureStartTime (%s): the start is when StartExposure was acknowledged",
                     self.name, exc)
            return None

    def _exposure_duration(self) -> float | None:
        """``LastExposureDuration``."""
        try:
            return float(self._link.get("LastExposureDuration"))
        except (DriverError, ValueError):
            return None

    def _read_image(self) -> np.ndarray:
        """GET ``imagearray`` as ImageBytes or JSON (see the module notes)."""
        accept = "application/json" if self.image_transfer == "json" else f"{IMAGEBYTES}, application/json"
        stream = JsonImageStream(self._facts["dtype"])
        with self._link.translate("ImageArray"):
            kind, body = self._link.download("ImageArray", accept=accept, timeout=self.image_timeout, stream=stream)
            if IMAGEBYTES in kind:
                return decode_imagebytes(body, self._facts["dtype"])
            if body:  # a reply without a Content-Length
                return decode_json_image(body, self._facts["dtype"])
            return stream.finish()

    # -- cooling -----------------------------------------------------------------------
    def _temperature(self) -> float:
        """``CCDTemperature``."""
        return float(self._link.get("CCDTemperature"))

    def _target_temperature(self) -> float:
        """``SetCCDTemperature`` (GET)."""
        return float(self._link.get("SetCCDTemperature"))

    def _set_temperature(self, celsius: float) -> None:
        """``SetCCDTemperature`` (PUT)."""
        self._link.set("SetCCDTemperature", celsius)

    def _cooler_on(self) -> bool:
        """``CoolerOn`` (GET)."""
        return bool(self._link.get("CoolerOn"))

    def _set_cooler_on(self, on: bool) -> None:
        """``CoolerOn`` (PUT)."""
        self._link.set("CoolerOn", on)

    def _cooler_power(self) -> float:
        """``CoolerPower``."""
        return float(self._link.get("CoolerPower"))


class AlpacaFilterWheel(AlpacaDeviceMixin, FilterWheel):
    """A filter wheel on an Alpaca server; ``Names`` is read once at connect."""

    def __init__(self, address: str, device_number: int = 0, *, timeout: float = 10.0, poll_interval: float = 0.1) -> None:
        label = self._init_alpaca(_AlpycaFilterWheel, "filterwheel", address, device_number, timeout)
        super().__init__(label, timeout=max(timeout, 60.0), poll_interval=poll_interval)
        self._filter_names: list[str] = []

    def _on_connect(self) -> None:
        self._filter_names = [str(n) for n in self._link.get("Names")]

    def _names(self) -> list[str]:
        """``Names`` (read at connect)."""
        return self._filter_names

    def _position(self) -> int:
        """``Position`` (GET; -1 while moving)."""
        return int(self._link.get("Position"))

    def _move(self, slot: int) -> None:
        """``Position`` (PUT)."""
        self._link.set("Position", slot)
