"""The TAN world coordinate system of a frame, from the pointing and the optics.

FITS WCS Paper II (Calabretta & Greisen 2002): ``RA---TAN``/``DEC--TAN`` with
the pointing as ``CRVAL``, the optical axis (the sensor's centre) as
``CRPIX`` in the frame's own binned, subframed pixels, and a ``CD`` matrix
from the pixel size, the binning, the focal length and the camera's
rotation. With rotation 0, north is up (+y) and east left (-x), as a
telescope without a diagonal images the sky.
"""

from __future__ import annotations

import math

from astropy.coordinates import SkyCoord

from .context import Card

__all__ = ["tan_wcs_cards", "plate_scale", "focal_length"]


def plate_scale(pixel_um: float, focal_mm: float) -> float:
    """Arcseconds per (unbinned) pixel of ``pixel_um`` at focal length ``focal_mm``."""
    return math.degrees(pixel_um * 1e-3 / focal_mm) * 3600.0


def focal_length(pixel_um: float, plate_scale: float) -> float:
    """Millimetres that give ``plate_scale`` arcsec per pixel of ``pixel_um``."""
    return pixel_um * 1e-3 / math.radians(plate_scale / 3600.0)


def tan_wcs_cards(pointing: SkyCoord, *, pixel_um: tuple[float, float], focal_mm: float, rotation_deg: float,
                  sensor: tuple[int, int], binning: tuple[int, int], origin: tuple[int, int]) -> list[Card]:
    """Header cards of the TAN projection of a frame.

    Parameters
    ----------
    pointing
        ICRS direction of the optical axis.
    pixel_um, focal_mm, rotation_deg
        Unbinned pixel size (x, y), focal length, and the angle from north to
        the frame's +y axis, counted towards east.
    sensor
        Unbinned ``(width, height)``; the optical axis is at its centre.
    binning, origin
        The frame's binning and its subframe origin in binned pixels.
    """
    bx, by = binning
    centre_x, centre_y = (sensor[0] - 1) / 2.0, (sensor[1] - 1) / 2.0  # 0-based unbinned
    crpix1 = (centre_x + 0.5) / bx - 0.5 - origin[0] + 1.0  # FITS pixels count from 1
    crpix2 = (centre_y + 0.5) / by - 0.5 - origin[1] + 1.0
    sx = math.degrees(pixel_um[0] * bx * 1e-3 / focal_mm)
    sy = math.degrees(pixel_um[1] * by * 1e-3 / focal_mm)
    c, s = math.cos(math.radians(rotation_deg)), math.sin(math.radians(rotation_deg))
    return [
        ("WCSAXES", 2, "two world coordinate axes"),
        ("CTYPE1", "RA---TAN", "gnomonic projection"),
        ("CTYPE2", "DEC--TAN", "gnomonic projection"),
        ("CUNIT1", "deg", ""),
        ("CUNIT2", "deg", ""),
        ("CRVAL1", float(pointing.ra.deg), "[deg] RA of the optical axis"),
        ("CRVAL2", float(pointing.dec.deg), "[deg] Dec of the optical axis"),
        ("CRPIX1", crpix1, "optical axis: the sensor's centre"),
        ("CRPIX2", crpix2, "optical axis: the sensor's centre"),
        ("CD1_1", -sx * c, "[deg/px]"),
        ("CD1_2", sy * s, "[deg/px]"),
        ("CD2_1", sx * s, "[deg/px]"),
        ("CD2_2", sy * c, "[deg/px]"),
    ]
