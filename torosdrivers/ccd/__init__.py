"""Cameras and filter wheels: interfaces, `Frame`, and their backends."""

from .base import Camera, CameraState, Subframe
from .context import FrameContext
from .filterwheel import FilterWheel
from .frame import Frame, ImageType, write_fits_atomic

__all__ = [
    "Camera",
    "CameraState",
    "Subframe",
    "FilterWheel",
    "Frame",
    "FrameContext",
    "ImageType",
    "write_fits_atomic",
]
