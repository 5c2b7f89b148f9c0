"""Reading FITS frames by blocks of rows, and the facts of their headers.

A combine of nine 4k frames never loads nine frames: each block of rows is
read from a memory map of the file's data, scaled by BZERO/BSCALE, into a
float32 array the size of the block.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits

__all__ = ["FrameError", "FrameInfo", "read_info", "read_rows", "read_frame"]

_BITPIX = {8: ">u1", 16: ">i2", 32: ">i4", 64: ">i8", -32: ">f4", -64: ">f8"}
IMAGE_TYPES = ("BIAS", "DARK", "FLAT", "LIGHT")


class FrameError(Exception):
    """A file that cannot be used, with its name and why."""

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        super().__init__(f"{Path(path).name}: {reason}")
        self.path = str(path)
        self.reason = reason


@dataclass(frozen=True)
class FrameInfo:
    """What the preprocessing needs to know of a frame, from its header."""

    path: str
    imagetyp: str
    filter: str
    exptime: float
    xbin: int
    ybin: int
    width: int
    height: int
    date_obs: str
    object: str
    data_offset: int
    bitpix: int
    bzero: float
    bscale: float
    size: int
    mtime: float
    master: bool = False

    @property
    def shape(self) -> tuple[int, int]:
        return self.height, self.width

    @property
    def binning(self) -> str:
        return f"{self.xbin}x{self.ybin}"


def _normal_type(value: object) -> str:
    text = str(value).strip().upper()
    aliases = {"OBJECT": "LIGHT", "LIGHT FRAME": "LIGHT", "SCIENCE": "LIGHT", "ZERO": "BIAS",
               "BIAS FRAME": "BIAS", "DARK FRAME": "DARK", "FLAT FIELD": "FLAT", "FLAT FRAME": "FLAT",
               "SKYFLAT": "FLAT", "DOMEFLAT": "FLAT"}
    return aliases.get(text, text)


def read_info(path: str | os.PathLike) -> FrameInfo:
    """Header facts of a FITS frame.

    Raises
    ------
    FrameError
        The file is not a readable 2-D FITS image, or has no usable IMAGETYP
        or EXPTIME.
    """
    path = Path(path)
    try:
        with fits.open(path, memmap=False, lazy_load_hdus=True) as hdul:
            hdu = hdul[0]
            header = hdu.header
            offset = hdul.fileinfo(0)["datLoc"]
    except (OSError, ValueError, TypeError, IndexError, fits.VerifyError) as exc:
        raise FrameError(path, f"not a readable FITS file ({exc})") from None
    if header.get("NAXIS") != 2:
        raise FrameError(path, f"expected a 2-D image, NAXIS={header.get('NAXIS')}")
    if "IMAGETYP" not in header:
        raise FrameError(path, "no IMAGETYP keyword: cannot tell bias, dark, flat or light")
    kind = _normal_type(header["IMAGETYP"])
    master = kind.startswith("MASTER ")
    kind = kind.removeprefix("MASTER ")
    if kind not in IMAGE_TYPES:
        raise FrameError(path, f"IMAGETYP={header['IMAGETYP']!r}: expected one of {list(IMAGE_TYPES)}")
    try:
        exptime = float(header.get("EXPTIME", header.get("EXPOSURE", 0.0 if kind == "BIAS" else math.nan)))
    except (TypeError, ValueError):
        exptime = math.nan
    if not math.isfinite(exptime) or exptime < 0:
        raise FrameError(path, f"EXPTIME={header.get('EXPTIME')!r}: expected seconds >= 0")
    bitpix = int(header["BITPIX"])
    width, height = int(header["NAXIS1"]), int(header["NAXIS2"])
    itemsize = abs(bitpix) // 8
    stat = path.stat()
    if stat.st_size < offset + width * height * itemsize:
        raise FrameError(path, f"truncated: {stat.st_size} bytes, the header promises {offset + width * height * itemsize}")
    return FrameInfo(
        path=str(path),
        imagetyp=kind,
        filter=str(header.get("FILTER", "")).strip(),
        exptime=exptime,
        xbin=int(header.get("XBINNING", 1)),
        ybin=int(header.get("YBINNING", 1)),
        width=width,
        height=height,
        date_obs=str(header.get("DATE-OBS", "")),
        object=str(header.get("OBJECT", "")),
        data_offset=int(offset),
        bitpix=bitpix,
        bzero=float(header.get("BZERO", 0.0)),
        bscale=float(header.get("BSCALE", 1.0)),
        size=stat.st_size,
        mtime=stat.st_mtime,
        master=master,
    )


def _map(info: FrameInfo) -> np.memmap:
    return np.memmap(info.path, dtype=_BITPIX[info.bitpix], mode="r", offset=info.data_offset,
                     shape=(info.height, info.width))


def read_rows(info: FrameInfo, start: int, stop: int, out: np.ndarray | None = None) -> np.ndarray:
    """Rows ``start:stop`` as float32 physical values (BSCALE, BZERO applied)."""
    raw = _map(info)[start:stop]
    if out is None:
        out = np.empty(raw.shape, np.float32)
    np.copyto(out, raw, casting="unsafe")
    if info.bscale != 1.0:
        out *= np.float32(info.bscale)
    if info.bzero:
        out += np.float32(info.bzero)
    return out


def read_frame(info: FrameInfo) -> np.ndarray:
    """The whole frame as float32 physical values."""
    return read_rows(info, 0, info.height)
