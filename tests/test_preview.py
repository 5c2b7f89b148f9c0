"""PNG previews decode to the image they were given."""

from __future__ import annotations

import struct
import zlib

import numpy as np

from torosdrivers.preview import stretch, write_png


def test_png_holds_the_pixels_north_up(tmp_path):
    image = np.arange(12, dtype=np.uint8).reshape(3, 4)
    raw = write_png(tmp_path / "p.png", image).read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", raw[16:24])
    assert (width, height) == (4, 3)
    start = raw.index(b"IDAT") + 4
    length = struct.unpack(">I", raw[start - 8 : start - 4])[0]
    rows = np.frombuffer(zlib.decompress(raw[start : start + length]), np.uint8).reshape(3, 5)
    assert (rows[:, 0] == 0).all()
    np.testing.assert_array_equal(rows[:, 1:], image[::-1])


def test_stretch_spans_the_byte_range_and_shrinks():
    data = np.random.default_rng(1).normal(1000, 10, (300, 500)).astype(np.uint16)
    out = stretch(data, max_size=100)
    assert out.dtype == np.uint8
    assert out.shape == (60, 100)
    assert out.min() == 0 and out.max() == 255
