"""Issue 15: files every user can read, compressed and multi-extension nights, re-runs that do nothing."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import numpy as np
from astropy.io import fits

from torosdrivers.preprocessing import process_night
from torosdrivers.preprocessing.cli import main as preprocess


def test_files_are_written_with_the_umask_mode(night, catalog):
    old = os.umask(0o022)
    try:
        report = process_night(night, catalog=catalog)
    finally:
        os.umask(old)
    written = [*report.calibrated, *report.masters_built]
    assert written and all(stat.S_IMODE(p.stat().st_mode) == 0o644 for p in written)


def test_a_relative_path_rerun_does_nothing(night, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(night.parent)
    args = [night.name, "--catalog", str(tmp_path / "catalog.sqlite")]
    assert preprocess(args) == 0
    first = capsys.readouterr().out
    assert "building" in first
    for _ in range(3):
        assert preprocess(args) == 0
        out = capsys.readouterr().out
        assert "building" not in out, out
        assert re.search(r"masters built\s+0\n", out) and re.search(r"\n\s+calibrated\s+0\n", out), out


def test_a_compressed_and_multi_extension_night_is_calibrated(night, catalog):
    """Lights and flats as Rice-compressed .fits.fz, darks as an image extension after an empty primary."""
    for path in sorted(night.glob("*.fits")):
        with fits.open(path) as hdul:
            header, data = hdul[0].header.copy(), hdul[0].data
        kind = header["IMAGETYP"]
        if kind in ("LIGHT", "FLAT"):
            fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(data, header, compression_type="RICE_1")]).writeto(
                path.with_suffix(".fits.fz"))
            path.unlink()
        elif kind == "DARK":
            primary = fits.PrimaryHDU()
            for key in ("IMAGETYP", "EXPTIME", "DATE-OBS", "CCD-TEMP"):
                if key in header:
                    primary.header[key] = header[key]
            image = fits.ImageHDU(data, name="SCI")
            for key in ("XBINNING", "YBINNING", "FILTER"):
                if key in header:
                    image.header[key] = header[key]
            fits.HDUList([primary, image]).writeto(path, overwrite=True)
    report = process_night(night, catalog=catalog)
    assert not report.skipped, report.skipped
    assert len(report.calibrated) == 3 and len(report.masters_built) == 4
    product = fits.open(report.calibrated[0])
    assert product[0].header["CALSTAT"] == "BDF"
    assert np.isfinite(product[0].data).mean() > 0.99
    assert Path(product[0].header["MFLAT"]).name.startswith("master_flat")
