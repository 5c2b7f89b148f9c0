"""Observatory logic that commands or reads several devices at once, usable from a script with any backends.

- `record`: what the dome, mount and camera did while a light was exposed
  (`ExposureWatch`), checked against `Limits`.
- `imagecheck`: whether the pixels agree that sky reached the sensor (``sep``).
- `frames`: a frame's name, unique to its order and index, and whether a file
  on disk is a verified frame of that order.
"""

from .imagecheck import BiasLevel, ImageStats, bias_level, check_light, measure
from .record import ExposureRecord, ExposureWatch, Limits, Sample, sample_observatory

__all__ = ["BiasLevel", "ImageStats", "bias_level", "check_light", "measure", "ExposureRecord", "ExposureWatch",
           "Limits", "Sample", "sample_observatory"]
