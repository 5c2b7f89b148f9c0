"""Plate solving with astrometry.net: where a frame truly points.

astrometry.net (Lang et al. 2010) is the solver POCS and most robotic
observatories run, packaged by Debian with its Tycho-2 index files; it is
driven here through its stock command, ``solve-field``, not re-implemented.
What this module adds is speed from what we already know:

- **Our own star list.** ``sep`` (the same extraction the image checks
  use, `torosdrivers.observing.imagecheck.extract`) finds the stars, on a
  frame summed 2x2 when it is wider than 2k (0.1 s for a 4k frame); the brightest `MAX_STARS` go to
  ``solve-field`` as an x/y list, so it skips its own ``image2xy``, its
  image conversions and its plots.
- **A short list.** The brightest `MAX_STARS` (40) in two depths (20,
  40): a 68' field holds some 60 Tycho-2 stars, and astrometry.net finds a
  match among the brightest 20 almost always. Handed 150 stars, a frame that
  matches nothing took 20 s (solve-field runs its backend again for each
  further slice, each up to the CPU limit); with 40, about 2 s.
- **No helper scripts.** ``--no-remove-lines --uniformize 0``: solve-field
  otherwise starts two Python helpers on the star list (to drop satellite
  trails and to spread the stars over the field), 0.9 s of its 1.0 s here;
  the engine itself matches in 0.04 s. Our list is already the brightest
  stars, cosmic rays and hot pixels excluded by sep's minimum area.
- **Hints.** The pointing (``RA``/``DEC`` of the frame, with a search
  radius) and the plate scale (``±SCALE_SLACK``) from the header narrow the
  index search from the whole sky to a few healpixes; ``--no-verify`` is
  not used, so a match is still verified by astrometry.net's own Bayesian
  test.

The solution is astrometry.net's TAN WCS (linear tweak), read from its
``.wcs`` file; `Solution.offset` is how far the true centre lies from the
pointing. ``benchmarks/bench_solve.py`` measures the whole path beside
``solve-field`` run with its defaults on the same file.
"""

from __future__ import annotations

import logging
import math
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .coords import separation
from .errors import DriverError

__all__ = ["PlateSolver", "Solution", "SolveError", "solver_available", "smallest_field", "MAX_STARS"]

log = logging.getLogger(__name__)

#: The brightest stars handed to solve-field (astrometry.net tries quads from the brightest first).
MAX_STARS = 40
#: Frames wider than this are summed in blocks before extraction (`_stars`).
EXTRACT_SIZE = 2048
#: Plate-scale hint range: the header's scale times 1 ± this.
SCALE_SLACK = 0.1


class SolveError(DriverError):
    """A frame could not be solved (too few stars, no match, solver missing or failed)."""


#: The smallest quad (arcmin) of each astrometry.net index scale (its documented 2.0'-2.8' ... 1400'-2000'
#: series); a field smaller than the smallest scale installed holds none of its quads.
_SCALE_ARCMIN = (2.0, 2.8, 4.0, 5.6, 8.0, 11.0, 16.0, 22.0, 30.0, 42.0, 60.0, 85.0, 120.0, 170.0, 240.0, 340.0,
                 480.0, 680.0, 1000.0, 1400.0)
_SCALE_NAME = re.compile(r"index-(?:tycho2-|4[12]|52)(\d\d)")


def smallest_field(index_directory: str | Path | None = None) -> float | None:
    """Arcminutes: the smallest field the installed index files can solve (None: their scale is not known)."""
    folder = Path(index_directory) if index_directory else Path("/usr/share/astrometry")
    scales = [int(m.group(1)) for f in folder.glob("index-*.fits") if (m := _SCALE_NAME.match(f.name))]
    scales = [s for s in scales if 0 <= s < len(_SCALE_ARCMIN)]
    return _SCALE_ARCMIN[min(scales)] if scales else None


def solver_available(index_directory: str | Path | None = None) -> bool:
    """Whether ``solve-field`` and at least one index file are installed."""
    folder = Path(index_directory) if index_directory else Path("/usr/share/astrometry")
    return shutil.which("solve-field") is not None and any(folder.glob("index-*.fits"))


@dataclass(frozen=True)
class Solution:
    """Where a frame truly points, by astrometry.net."""

    ra: float  # deg ICRS of the frame's centre
    dec: float
    scale: float  # arcsec per (binned) pixel
    rotation: float  # deg, north through east, of the frame's +y axis
    offset: float  # arcsec: the true centre from the pointing (the header's RA/DEC)
    offset_ra: float  # arcsec on the sky (RA * cos Dec), true minus pointing
    offset_dec: float  # arcsec
    stars: int  # stars handed to the solver
    seconds: float  # extraction plus solve, wall clock
    wcs_cards: tuple[tuple[str, object, str], ...]  # the solved TAN WCS, ready for a header

    def cards(self) -> list[tuple[str, object, str]]:
        """Header cards: the solved WCS and the solve's record (the pointing stays in ``RA``/``DEC``)."""
        return [*self.wcs_cards,
                ("SOLVED", True, "WCS from astrometry.net, not the pointing"),
                ("SOLVRA", round(self.ra, 7), "[deg] solved RA of the frame centre"),
                ("SOLVDEC", round(self.dec, 7), "[deg] solved Dec of the frame centre"),
                ("PNTOFF", round(self.offset, 2), "[arcsec] solved centre from the pointing"),
                ("PNTOFFRA", round(self.offset_ra, 2), "[arcsec] RA*cos(Dec) offset, solved - pointing"),
                ("PNTOFFDE", round(self.offset_dec, 2), "[arcsec] Dec offset, solved - pointing")]

    def as_dict(self) -> dict:
        return {"RA": round(self.ra, 6), "Dec": round(self.dec, 6), "Offset": round(self.offset, 2),
                "Offset RA": round(self.offset_ra, 2), "Offset Dec": round(self.offset_dec, 2),
                "Scale": round(self.scale, 4), "Rotation": round(self.rotation, 3), "Stars": self.stars,
                "Seconds": round(self.seconds, 2)}


def _header_hints(header) -> tuple[float, float, float]:
    """Pointing RA, Dec (deg) and scale (arcsec/px) from a frame's header."""
    try:
        ra, dec = float(header["CRVAL1"]), float(header["CRVAL2"])
        cd = np.array([[header["CD1_1"], header.get("CD1_2", 0.0)], [header.get("CD2_1", 0.0), header["CD2_2"]]],
                      float)
    except KeyError as exc:
        raise SolveError(f"the frame has no pointing WCS to start from (missing {exc.args[0]})") from None
    scale = math.sqrt(abs(np.linalg.det(cd))) * 3600.0
    return ra, dec, scale


class PlateSolver:
    """Solves frames with astrometry.net's ``solve-field``.

    Parameters
    ----------
    index_directory
        Folder of index files (Debian's ``/usr/share/astrometry`` by default).
    search_radius
        Degrees around the pointing to search (a mount's error is arcminutes).
    timeout
        Seconds ``solve-field`` may take (its ``--cpulimit``).
    """

    def __init__(self, index_directory: str | Path | None = None, *, search_radius: float = 2.0,
                 timeout: float = 30.0) -> None:
        self.index_directory = Path(index_directory) if index_directory else Path("/usr/share/astrometry")
        self.search_radius = float(search_radius)
        self.timeout = float(timeout)
        if shutil.which("solve-field") is None:
            raise SolveError("solve-field is not installed (Debian: apt-get install astrometry.net)")
        if not any(self.index_directory.glob("index-*.fits")):
            raise SolveError(f"no astrometry.net index files in {self.index_directory} "
                             "(Debian: apt-get install astrometry-data-tycho2)")

    def solve(self, data: np.ndarray, header) -> Solution:
        """Solve one frame, its header's WCS giving the hints.

        Raises
        ------
        SolveError
            Too few stars, no match within the hints, or solve-field failing.
        """
        from astropy.io import fits

        started = time.perf_counter()
        ra0, dec0, scale = _header_hints(header)
        height, width = data.shape
        found = _stars(data)
        if found is None or len(found) < 5:
            raise SolveError(f"{0 if found is None else len(found)} stars in the frame: too few to solve (5 or more)")
        order = np.argsort(found["flux"])[::-1][:MAX_STARS]
        with tempfile.TemporaryDirectory(prefix="toros-solve-") as tmp:
            folder = Path(tmp)
            xy = folder / "stars.xyls"
            columns = [fits.Column("X", "D", array=found["x"][order] + 1.0),  # FITS pixels count from 1
                       fits.Column("Y", "D", array=found["y"][order] + 1.0),
                       fits.Column("FLUX", "D", array=found["flux"][order])]
            fits.BinTableHDU.from_columns(columns).writeto(xy)
            config = folder / "astrometry.cfg"
            config.write_text(f"cpulimit {self.timeout:g}\nadd_path {self.index_directory}\nautoindex\n")
            command = ["solve-field", str(xy), "--config", str(config), "--width", str(width), "--height",
                       str(height), "--x-column", "X", "--y-column", "Y", "--sort-column", "FLUX",
                       "--scale-units", "arcsecperpix", "--scale-low", f"{scale * (1 - SCALE_SLACK):.6f}",
                       "--scale-high", f"{scale * (1 + SCALE_SLACK):.6f}", "--ra", f"{ra0:.7f}", "--dec",
                       f"{dec0:.7f}", "--radius", f"{self.search_radius:g}", "--tweak-order", "1",
                       "--crpix-center", "--no-remove-lines", "--uniformize", "0", "--cpulimit", f"{self.timeout:g}", "--depth", "20,40", "--no-plots", "--overwrite", "--dir", str(folder),
                       "--new-fits", "none", "--index-xyls", "none", "--rdls", "none", "--corr", "none",
                       "--match", "none", "--solved", "none", "--temp-dir", str(folder)]
            try:
                run = subprocess.run(command, capture_output=True, text=True, timeout=self.timeout + 30.0)
            except subprocess.TimeoutExpired:
                raise SolveError(f"solve-field took longer than {self.timeout + 30:g} s") from None
            wcs_file = folder / "stars.wcs"
            if not wcs_file.exists():
                detail = (run.stderr.strip().splitlines() or run.stdout.strip().splitlines() or ["no output"])[-1]
                raise SolveError(f"astrometry.net found no match for {len(order)} stars within "
                                 f"{self.search_radius:g} deg of RA {ra0:.4f}, Dec {dec0:.4f} at "
                                 f"{scale:.3f}\"/px (solve-field exit {run.returncode}: {detail})")
            solved = fits.getheader(wcs_file)
        return _solution(solved, ra0, dec0, width, height, len(order), time.perf_counter() - started)


def _stars(data: np.ndarray) -> np.ndarray | None:
    """sep's sources with ``x``, ``y`` (0-based, full-frame pixels) and ``flux``; None: a flooded frame.

    A frame wider than `EXTRACT_SIZE` is summed in blocks first (a 4k frame into 2k): its extraction costs a
    quarter (0.1 s, not 0.4-1.4 s here), and a centroid of the summed star is still a tenth of a pixel.
    """
    from .observing.imagecheck import extract

    factor = max(1, math.ceil(max(data.shape) / EXTRACT_SIZE))
    if factor == 1:
        return extract(data)[2]
    h, w = (n - n % factor for n in data.shape)
    summed = data[:h, :w].astype(np.float32).reshape(h // factor, factor, w // factor, factor).sum(axis=(1, 3))
    found = extract(summed)[2]
    if found is None:
        return None
    found = found.copy()
    found["x"] = (found["x"] + 0.5) * factor - 0.5  # block centres back to full-frame pixels
    found["y"] = (found["y"] + 0.5) * factor - 0.5
    return found


def _solution(solved, ra0: float, dec0: float, width: int, height: int, stars: int, seconds: float) -> Solution:
    from astropy.wcs import WCS

    keys = ("CTYPE1", "CTYPE2", "CRVAL1", "CRVAL2", "CRPIX1", "CRPIX2", "CD1_1", "CD1_2", "CD2_1", "CD2_2")
    cards = tuple((k, solved[k], "astrometry.net") for k in keys if k in solved)
    cards = (("WCSAXES", 2, "two world coordinate axes"), *cards,
             ("CUNIT1", "deg", ""), ("CUNIT2", "deg", ""))
    wcs = WCS({k: v for k, v, _ in cards})
    centre = wcs.pixel_to_world_values((width - 1) / 2.0, (height - 1) / 2.0)
    ra, dec = float(centre[0]) % 360.0, float(centre[1])
    d_ra = ((ra - ra0 + 180.0) % 360.0 - 180.0) * math.cos(math.radians(dec)) * 3600.0
    d_dec = (dec - dec0) * 3600.0
    cd = np.array([[solved["CD1_1"], solved["CD1_2"]], [solved["CD2_1"], solved["CD2_2"]]], float)
    scale = math.sqrt(abs(np.linalg.det(cd))) * 3600.0
    rotation = math.degrees(math.atan2(cd[0, 1], cd[1, 1]))
    return Solution(ra, dec, scale, rotation, float(separation(ra0, dec0, ra, dec)) * 3600.0, d_ra, d_dec, stars,
                    seconds, cards)
