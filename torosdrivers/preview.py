"""PNG previews of frames, with the standard library only (zlib)."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np

__all__ = ["stretch", "write_png", "png_bytes"]


def stretch(data: np.ndarray, *, low: float = 2.0, high: float = 30.0, max_size: int = 1024) -> np.ndarray:
    """8-bit display image: sky-based limits and an asinh stretch.

    The image is first shrunk by an integer factor (block mean) so its longer
    side is at most ``max_size`` pixels. Black is ``low`` robust standard
    deviations below the sky (the median), white ``high`` above it, so faint
    stars show and bright ones do not wash out.
    """
    factor = max(1, -(-max(data.shape) // max_size))
    h, w = (data.shape[0] // factor) * factor, (data.shape[1] // factor) * factor
    small = data[:h, :w].astype(np.float32).reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))
    small = np.nan_to_num(small, nan=float(np.nanmedian(small)))
    sky = float(np.median(small))
    sigma = 1.4826 * float(np.median(np.abs(small - sky))) or 1.0
    lo, hi = sky - low * sigma, sky + high * sigma
    scaled = np.clip((small - lo) / (hi - lo), 0.0, 1.0)
    scaled = np.arcsinh(10.0 * scaled) / np.arcsinh(10.0)
    return (scaled * 255.0 + 0.5).astype(np.uint8)


def write_png(path: str | os.PathLike, image: np.ndarray) -> Path:
    """Write an 8-bit grey image ``[y, x]`` as PNG, flipped so north (+y) is up."""
    target = Path(path)
    target.write_bytes(png_bytes(image))
    return target


def png_bytes(image: np.ndarray) -> bytes:
    """An 8-bit grey image ``[y, x]`` as the bytes of a PNG file, flipped so north (+y) is up."""
    rows = np.ascontiguousarray(image[::-1], dtype=np.uint8)
    height, width = rows.shape
    raw = np.empty((height, width + 1), np.uint8)
    raw[:, 0] = 0  # filter type "none" for every scanline
    raw[:, 1:] = rows

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw.tobytes(), 6))
        + chunk(b"IEND", b"")
    )
    return png
