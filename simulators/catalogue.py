"""A sky of real stars: the Tycho-2 stars held in astrometry.net's index files.

For a simulated frame to be solved by stock ``solve-field`` against stock
index files, the frame must show the stars those files hold, where they are
and about as bright. astrometry.net's own ``query-starkd`` reads them (RA,
Dec and the ``MAG_VT`` tag-along column of the Debian Tycho-2 packages), so
no catalogue is copied or parsed here. Each index scale holds its own subset
of Tycho-2; their union (duplicates dropped) is the bright sky, and a seeded
random field fainter than Tycho-2's limit (`StarField` from magnitude 12.5)
fills in the rest, so a frame has the faint stars focus and the image checks
count. Where no index file is installed, `installed_sky` says so and callers
keep the random field.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from .sky import StarField

__all__ = ["CatalogueSky", "index_files", "DEFAULT_INDEX_DIRECTORY"]

#: Where Debian's astrometry-data-* packages put the index files.
DEFAULT_INDEX_DIRECTORY = Path("/usr/share/astrometry")
#: Tycho-2 is complete to about V = 11.5; the random field starts below it.
FAINT_FIELD_FROM = 12.5


def index_files(directory: Path | str | None = None) -> list[Path]:
    """The astrometry.net index files in ``directory`` (Debian's by default), if ``query-starkd`` is there too."""
    folder = Path(directory) if directory is not None else DEFAULT_INDEX_DIRECTORY
    if shutil.which("query-starkd") is None or not folder.is_dir():
        return []
    return sorted(folder.glob("index-*.fits"))


class CatalogueSky:
    """Stars from astrometry.net index files, with a random faint field below them.

    Parameters
    ----------
    files
        Index files (`index_files`).
    seed, density
        The faint random field's seed and stars per square degree (to magnitude 20).
    """

    def __init__(self, files: Sequence[Path], seed: int = 0, *, density: float = 1500.0) -> None:
        if not files:
            raise ValueError("CatalogueSky needs at least one astrometry.net index file")
        self.files = tuple(Path(f) for f in files)
        self.faint = StarField(seed, density=density, brightest=FAINT_FIELD_FROM)
        self._query = lru_cache(maxsize=256)(self._catalogue)

    def _catalogue(self, ra: float, dec: float, radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        from astropy.io import fits

        parts = []
        with tempfile.TemporaryDirectory(prefix="toros-sky-") as tmp:
            for n, path in enumerate(self.files):
                out = Path(tmp) / f"{n}.fits"
                subprocess.run(["query-starkd", "-r", repr(ra), "-d", repr(dec), "-R", repr(radius), "-T",
                                "-o", str(out), str(path)], check=True, capture_output=True, timeout=60)
                if not out.exists():
                    continue  # query-starkd writes no file when nothing is within the radius
                with fits.open(out, memmap=False) as hdus:
                    rows = hdus[1].data
                    if rows is None or len(rows) == 0:
                        continue
                    names = rows.columns.names
                    mag = rows["MAG_VT"] if "MAG_VT" in names else rows["MAG"] if "MAG" in names \
                        else np.full(len(rows), 10.0)
                    parts.append((np.asarray(rows["RA"], float), np.asarray(rows["DEC"], float),
                                  np.asarray(mag, float)))
        if not parts:
            empty = np.empty(0)
            return empty, empty, empty
        ra_all, dec_all, mag_all = (np.concatenate(p) for p in zip(*parts))
        # The same Tycho-2 star is in several scales' files: keep one (positions agree to the bit)
        _, first = np.unique(np.round(np.stack([ra_all, dec_all], axis=1), 6), axis=0, return_index=True)
        return ra_all[first], dec_all[first], mag_all[first]

    def stars_near(self, ra: float, dec: float, radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Stars within about ``radius`` degrees of ``(ra, dec)`` (as `StarField.stars_near`)."""
        # Queried on a half-degree grid with a margin (half a cell's diagonal), so a tracking mount's frames,
        # and a parked one's as the sky drifts by, reuse one query (11 files: 0.1 s)
        key = (round(ra * 2) / 2, round(dec * 2) / 2, round(radius + 0.4, 1))
        bright = self._query(*key)
        faint = self.faint.stars_near(ra, dec, radius)
        return tuple(np.concatenate([b, f]) for b, f in zip(bright, faint))  # type: ignore[return-value]
