"""Reading FITS frames by blocks of rows, and the facts of their headers.

A combine of nine 4k frames never loads nine frames: each block of rows is
read from the file's data, scaled by BZERO/BSCALE, into a float32 array the
size of the block.

The image is the first 2-D image HDU: the primary, or an extension of a
multi-extension file (the primary's keywords apply to it too). Uncompressed
images are read directly at their data offset; tile-compressed ones
(``.fits.fz``, Rice or any other) through astropy's ``section``, which
decompresses only the tiles a block needs.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from astropy.io import fits

__all__ = ["FrameError", "FrameInfo", "FitsImageWriter", "read_info", "read_header", "read_rows", "read_frame",
           "load_master"]

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
    hdu: int = 0  # index of the image HDU in the file
    compressed: bool = False  # a tile-compressed image (read through astropy)
    ccd_temp: float | None = None  # CCD-TEMP, C
    gain: float | None = None  # GAIN (or EGAIN), e-/ADU
    readout: str = ""  # READOUTM
    x0: int = 0  # XORGSUBF: subframe origin, binned pixels
    y0: int = 0  # YORGSUBF

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
    path = Path(path).resolve()  # one name per file, whatever the caller's working folder
    try:
        with fits.open(path, memmap=False, lazy_load_hdus=True) as hdul:
            index, header, compressed = _image_hdu(hdul)
            offset = -1 if compressed else hdul.fileinfo(index)["datLoc"]
    except (OSError, ValueError, TypeError, IndexError, KeyError, fits.VerifyError) as exc:
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
    if not compressed and stat.st_size < offset + width * height * itemsize:
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
        hdu=index,
        compressed=compressed,
        ccd_temp=_number(header.get("CCD-TEMP", header.get("CCD_TEMP"))),
        gain=_number(header.get("GAIN", header.get("EGAIN"))),
        readout=str(header.get("READOUTM", "")).strip(),
        x0=int(_number(header.get("XORGSUBF")) or 0),
        y0=int(_number(header.get("YORGSUBF")) or 0),
    )


def _number(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


_STRUCTURE = {"SIMPLE", "XTENSION", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "EXTEND", "PCOUNT", "GCOUNT",
              "BZERO", "BSCALE", "EXTNAME", "CHECKSUM", "DATASUM", ""}


def _image_hdu(hdul: fits.HDUList) -> tuple[int, fits.Header, bool]:
    """Index, header (the primary's keywords under the image's own) and compression of the image HDU."""
    for index, hdu in enumerate(hdul):
        compressed = isinstance(hdu, fits.CompImageHDU)
        if (compressed or isinstance(hdu, (fits.PrimaryHDU, fits.ImageHDU))) and hdu.header.get("NAXIS") == 2:
            if index == 0:
                return 0, hdu.header, False
            header = fits.Header([card for card in hdul[0].header.cards if card.keyword not in _STRUCTURE])
            header.update(hdu.header)
            return index, header, compressed
    return 0, hdul[0].header, False


def read_header(info: FrameInfo) -> fits.Header:
    """The header of a frame's image (for a multi-extension file, the primary's keywords under the image's)."""
    with fits.open(info.path, memmap=False, lazy_load_hdus=True) as hdul:
        header = _image_hdu(hdul)[1].copy()
    for key in ("XTENSION", "PCOUNT", "GCOUNT", "EXTNAME"):  # it becomes a primary header again
        header.remove(key, ignore_missing=True)
    return header


def read_rows(info: FrameInfo, start: int, stop: int, out: np.ndarray | None = None) -> np.ndarray:
    """Rows ``start:stop`` as float32 physical values (BSCALE, BZERO applied).

    The raw rows are read with ``readinto`` (no memory map: its page faults
    cost more than the copy) and converted into ``out`` in one pass. Callers
    that read many blocks pass an ``out`` buffer to reuse, since fresh memory
    is slow to touch for the first time.
    """
    shape = (stop - start, info.width)
    if info.compressed:
        return _read_compressed(info, start, stop, out)
    raw = np.empty(shape, _BITPIX[info.bitpix])
    with open(info.path, "rb") as stream:
        stream.seek(info.data_offset + start * info.width * raw.itemsize)
        if stream.readinto(memoryview(raw).cast("B")) != raw.nbytes:
            raise FrameError(info.path, f"rows {start}:{stop} could not be read: the file is truncated")
    if out is None:
        out = np.empty(shape, np.float32)
    np.copyto(out, raw, casting="unsafe")
    if info.bscale != 1.0:
        out *= np.float32(info.bscale)
    if info.bzero:
        out += np.float32(info.bzero)
    return out


def _read_compressed(info: FrameInfo, start: int, stop: int, out: np.ndarray | None) -> np.ndarray:
    try:
        with fits.open(info.path, memmap=False, lazy_load_hdus=True) as hdul:
            rows = hdul[info.hdu].section[start:stop]  # decompresses the tiles of these rows, scaled
    except (OSError, ValueError, TypeError, IndexError) as exc:
        raise FrameError(info.path, f"rows {start}:{stop} could not be decompressed ({exc})") from None
    if out is None:
        return rows.astype(np.float32)
    np.copyto(out, rows, casting="unsafe")
    return out


def read_frame(info: FrameInfo) -> np.ndarray:
    """The whole frame as float32 physical values."""
    return read_rows(info, 0, info.height)


@lru_cache(maxsize=6)
def _cached(path: str, size: int, mtime: float, info: FrameInfo) -> np.ndarray:
    data = read_frame(info)
    data.flags.writeable = False  # shared between the threads that calibrate a night's lights
    return data


def load_master(info: FrameInfo) -> np.ndarray:
    """A master frame, read once and kept (read-only) while it is unchanged on disk.

    A night calibrates many lights against the same few masters; keeping the
    last six in memory saves reading them again for every light.
    """
    return _cached(info.path, info.size, info.mtime, info)


class FitsImageWriter:
    """Writes a float32 primary image to a FITS stream block by block, then extensions.

    Used where a result is made by blocks of rows: each block goes to disk as
    it is made, so no full-frame result array is ever held.
    """

    _BLOCK = 2880

    def __init__(self, stream, header: fits.Header, shape: tuple[int, int]) -> None:
        self.stream = stream
        self.shape = shape
        hdu = fits.PrimaryHDU(np.zeros((1, 1), np.float32), header=header)
        hdu.header["NAXIS1"], hdu.header["NAXIS2"] = shape[1], shape[0]
        hdu.header.set("EXTEND", True, after="NAXIS2")
        stream.write(hdu.header.tostring().encode("ascii"))
        self._buffer = np.empty(0, ">f4")
        self._written = 0

    def write_rows(self, block: np.ndarray) -> None:
        """Append rows (any float dtype) as big-endian float32."""
        if self._buffer.size < block.size:
            self._buffer = np.empty(block.size, ">f4")
        out = self._buffer[: block.size].reshape(block.shape)
        np.copyto(out, block, casting="same_kind")
        self.stream.write(memoryview(out).cast("B"))
        self._written += out.nbytes

    def _pad(self, size: int) -> None:
        self.stream.write(b"\0" * (-size % self._BLOCK))

    def finish(self, *extensions: fits.ImageHDU) -> None:
        """Pad the primary data and append the extensions."""
        expected = 4 * self.shape[0] * self.shape[1]
        if self._written != expected:
            raise ValueError(f"wrote {self._written} bytes of image, expected {expected}")
        self._pad(self._written)
        for hdu in extensions:
            data = np.asarray(hdu.data)
            wire = data if data.dtype.itemsize == 1 else data.astype(data.dtype.newbyteorder(">"), copy=False)
            self.stream.write(hdu.header.tostring().encode("ascii"))
            self.stream.write(memoryview(np.ascontiguousarray(wire)).cast("B"))
            self._pad(wire.nbytes)
