"""`Frame`: pixel data plus its FITS header, and safe FITS writing."""

from __future__ import annotations

import enum
import os
import tempfile
import threading
import unicodedata
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np
from astropy.io import fits
from astropy.time import Time

__all__ = ["Frame", "ImageType", "write_fits_atomic", "atomic_output", "fits_text"]

# Letters NFKD does not decompose into an ASCII base letter.
_LETTERS = str.maketrans({"ß": "ss", "Æ": "AE", "æ": "ae", "Ø": "O", "ø": "o", "Œ": "OE", "œ": "oe", "Đ": "D",
                          "đ": "d", "Ł": "L", "ł": "l", "Þ": "Th", "þ": "th", "ı": "i", "¿": "?", "¡": "!"})


def fits_text(text: str) -> str:
    """``text`` as a FITS header value may hold it: printable ASCII.

    FITS header cards are ASCII (FITS 4.0, section 4.2.1), so names are
    transliterated: accents dropped (``José Pérez`` becomes ``Jose Perez``),
    a few letters spelled out (``ß``, ``ø``), anything else left is ``?``.
    Length is not cut here: astropy writes a value over 68 characters as a
    long string (``CONTINUE`` cards). The exact text stays in the journal.
    """
    folded = unicodedata.normalize("NFKD", text.translate(_LETTERS))
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return "".join(c if " " <= c <= "~" else "?" for c in plain)


class ImageType(str, enum.Enum):
    """Values of the FITS ``IMAGETYP`` keyword."""

    LIGHT = "LIGHT"
    BIAS = "BIAS"
    DARK = "DARK"
    FLAT = "FLAT"


_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process's umask, read without changing it where the system says it (Linux 4.7+)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _UMASK_LOCK:  # elsewhere the only way to read it is to set it, briefly
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


@contextmanager
def atomic_output(path: str | os.PathLike, *, overwrite: bool) -> Iterator[BinaryIO]:
    """A binary stream that becomes ``path`` only if the block completes.

    Written to a temporary file beside ``path`` and renamed over it at the
    end: a reader never sees a half-written file, and a crash leaves either
    the old file or none. The file gets the mode a plain ``open`` would give
    it (0666 less the umask), not the temporary file's private 0600.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is false.
    """
    target = Path(path)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} exists; pass overwrite=True to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as stream:
            yield stream
            os.fchmod(stream.fileno(), 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_fits_atomic(hdul: fits.HDUList, path: str | os.PathLike, *, overwrite: bool) -> Path:
    """Write ``hdul`` to ``path`` atomically (see `atomic_output`)."""
    with atomic_output(path, overwrite=overwrite) as stream:
        hdul.writeto(stream)
    return Path(path)


class Frame:
    """One image from a camera.

    Parameters
    ----------
    data
        Pixels as a 2-D numpy array indexed ``[y, x]`` (row, column), in the
        camera's native type (``uint16`` for a 16-bit CCD). Not copied.
    header
        FITS header; a new empty one if not given.
    """

    __slots__ = ("data", "header")

    def __init__(self, data: np.ndarray, header: fits.Header | None = None) -> None:
        if data.ndim != 2:
            raise ValueError(f"Frame data must be 2-D [y, x], got shape {data.shape}")
        self.data = data
        self.header = header if header is not None else fits.Header()

    def __repr__(self) -> str:
        return (
            f"<Frame {self.data.shape[1]}x{self.data.shape[0]} {self.data.dtype} "
            f"{self.header.get('IMAGETYP', '?')} {self.header.get('EXPTIME', '?')} s "
            f"filter={self.header.get('FILTER', '-')}>"
        )

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)`` of the data."""
        return self.data.shape  # type: ignore[return-value]

    @property
    def imagetyp(self) -> str | None:
        """The ``IMAGETYP`` keyword."""
        return self.header.get("IMAGETYP")

    @property
    def exptime(self) -> float | None:
        """The ``EXPTIME`` keyword, in seconds."""
        value = self.header.get("EXPTIME")
        return None if value is None else float(value)

    @property
    def filter(self) -> str | None:
        """The ``FILTER`` keyword."""
        return self.header.get("FILTER")

    @property
    def date_obs(self) -> Time | None:
        """Start of the exposure (``DATE-OBS``, UTC)."""
        value = self.header.get("DATE-OBS")
        return None if value is None else Time(value, format="isot", scale="utc")

    def to_hdu(self) -> fits.PrimaryHDU:
        """A FITS primary HDU sharing this frame's data (not copied)."""
        return fits.PrimaryHDU(data=self.data, header=self.header.copy())

    def write(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the frame as a FITS file, atomically (see `write_fits_atomic`).

        Returns
        -------
        Path
            The path written.
        """
        return write_fits_atomic(fits.HDUList([self.to_hdu()]), path, overwrite=overwrite)

    @classmethod
    def read(cls, path: str | os.PathLike) -> "Frame":
        """Read the primary HDU of a FITS file into a Frame."""
        with fits.open(path, memmap=False) as hdul:
            hdu = hdul[0]
            return cls(np.asarray(hdu.data), hdu.header.copy())
