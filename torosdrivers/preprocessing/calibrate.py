"""Calibrating one light frame: ``(light - bias - dark x t) / flat``, in float32.

The product is a FITS file with the calibrated image in the primary HDU (the
raw header, plus provenance: the masters used, HISTORY, the software version)
and a ``MASK`` extension: bit 1 saturated in the raw frame, bit 2 a bad flat
pixel (the image holds NaN there).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.time import Time

from .._version import __version__
from ..ccd.frame import atomic_output
from .io import FitsImageWriter, FrameError, FrameInfo, load_master, read_header, read_rows
from .matching import crop_slices

__all__ = ["SATURATED", "BAD_FLAT", "calibrate_data", "calibrate_file"]

SATURATED = 1
BAD_FLAT = 2
_FLAT_FLOOR = 0.1  # flat response below which a pixel is taken as dead
_BLOCK_ROWS = 128


def calibrate_data(
    light: np.ndarray,
    *,
    bias: np.ndarray | None = None,
    dark: np.ndarray | None = None,
    dark_scale: float = 1.0,
    flat: np.ndarray | None = None,
    saturation: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Calibrate float32 arrays in place; returns the image and its mask.

    Parameters
    ----------
    light
        Raw light frame (float32, overwritten with the result).
    bias, dark, flat
        Masters (float32); each is optional.
    dark_scale
        Light exposure time over the master dark's.
    saturation
        Raw level at and above which a pixel is saturated.
    """
    mask = np.zeros(light.shape, np.uint8)
    if saturation is not None:
        mask[light >= saturation] |= SATURATED
    if bias is not None:
        light -= bias
    if dark is not None:
        light -= dark * np.float32(dark_scale)
    if flat is not None:
        good = flat > _FLAT_FLOOR
        np.divide(light, flat, out=light, where=good)
        light[~good] = np.nan
        mask[~good] |= BAD_FLAT
    return light, mask


def calibrate_file(
    light: FrameInfo,
    path: str | os.PathLike,
    *,
    bias: FrameInfo | None = None,
    dark: FrameInfo | None = None,
    flat: FrameInfo | None = None,
    notes: tuple[str, ...] = (),
) -> Path:
    """Calibrate a light frame file into a product at ``path`` (a task for an executor).

    A master larger than the light (a full-frame master for a subframe light)
    is cropped to the light's region.

    Raises
    ------
    FrameError
        A master does not cover the light's region.
    """
    regions = {}
    for name, master in (("bias", bias), ("dark", dark), ("flat", flat)):
        if master is not None:
            regions[name] = crop_slices(master, light)
            if regions[name] is None:
                raise FrameError(light.path, f"master {Path(master.path).name} ({master.width}x{master.height} at "
                                             f"{master.x0},{master.y0}) does not cover the light ({light.width}x"
                                             f"{light.height} at {light.x0},{light.y0})")
    header = read_header(light)
    saturation = header.get("SATURATE")
    if saturation is None and light.bitpix == 16 and light.bzero == 32768:
        saturation = 65535.0  # a 16-bit unsigned camera's ceiling
    dark_scale = light.exptime / dark.exptime if dark and dark.exptime else 0.0
    for key in ("BZERO", "BSCALE"):
        header.remove(key, ignore_missing=True)
    header["BUNIT"] = ("adu", "calibrated counts")
    header["CALSTAT"] = ("".join(k for k, m in (("B", bias), ("D", dark), ("F", flat)) if m), "calibrations applied")
    for key, master in (("MBIAS", bias), ("MDARK", dark), ("MFLAT", flat)):
        header[key] = (Path(master.path).name if master else "", f"master {key[1:].lower()} used")
    header["PROCVER"] = (__version__, "torosdrivers version")
    header["DATE"] = (Time.now().isot, "UTC of calibration")
    header.add_history(f"calibrated from {Path(light.path).name} by torosdrivers {__version__}")
    if dark is not None:
        header.add_history(f"dark scaled by {light.exptime:g} / {dark.exptime:g} s")
    for note in notes:
        header.add_history(note)
    # Block by block, each block's arithmetic in cache and written as it is
    # made: no full-frame float array is ever held, only the small mask.
    mask = np.empty(light.shape, np.uint8)
    masters = {name: load_master(info) if info else None for name, info in (("bias", bias), ("dark", dark), ("flat", flat))}
    light_rows = np.empty((_BLOCK_ROWS, light.width), np.float32)

    def rows(name: str, start: int, stop: int) -> np.ndarray | None:
        master = masters[name]
        if master is None:
            return None
        ys, xs = regions[name]
        return master[ys.start + start:ys.start + stop, xs]  # a view: no copy of the master

    with atomic_output(path, overwrite=True) as stream:
        writer = FitsImageWriter(stream, header, light.shape)
        for start in range(0, light.height, _BLOCK_ROWS):
            stop = min(start + _BLOCK_ROWS, light.height)
            block, mask[start:stop] = calibrate_data(
                read_rows(light, start, stop, out=light_rows[: stop - start]),
                bias=rows("bias", start, stop),
                dark=rows("dark", start, stop),
                dark_scale=dark_scale,
                flat=rows("flat", start, stop),
                saturation=saturation,
            )
            writer.write_rows(block)
        writer.finish(fits.ImageHDU(mask, name="MASK"))
    return Path(path)
