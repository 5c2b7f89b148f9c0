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


def test_stretch_shows_sky_grey_and_stars_white():
    data = np.random.default_rng(1).normal(1000, 10, (300, 500))
    data[100:110, 200:210] = 5000  # a star
    data[0, 0] = np.nan  # a masked pixel
    out = stretch(data, max_size=100)
    assert out.dtype == np.uint8 and out.shape == (60, 100)
    assert out.max() == 255 and out[21, 41] == 255  # the star
    assert 20 < np.median(out) < 120 and out.min() == 0  # the sky sits low, its noise visible
