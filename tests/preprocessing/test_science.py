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


def _set(path: Path, **cards) -> None:
    with fits.open(path, mode="update") as hdul:
        for key, value in cards.items():
            hdul[0].header[key] = value


def _crop(source: Path, target: Path, x0: int, y0: int, size: int) -> None:
    with fits.open(source) as hdul:
        header, data = hdul[0].header.copy(), hdul[0].data[y0:y0 + size, x0:x0 + size]
    header["XORGSUBF"], header["YORGSUBF"] = x0, y0
    fits.PrimaryHDU(data, header).writeto(target)


def test_a_dark_at_another_temperature_is_never_used(night, catalog, tmp_path):
    """Issue 15: lights at -20 C took an earlier night's +10 C master dark without a word (13% wrong)."""
    import shutil

    warm = tmp_path / "warm-night"
    shutil.copytree(night, warm)
    for path in warm.glob("dark_*.fits"):
        _set(path, **{"CCD-TEMP": 10.0})
    assert process_night(warm, catalog=catalog).masters_built  # a +10 C master dark is in the catalog now
    for path in night.glob("*.fits"):
        _set(path, **{"CCD-TEMP": -20.0})
    for path in night.glob("dark_*.fits"):
        path.unlink()
    report = process_night(night, catalog=catalog)
    product = fits.getheader(night / "products" / "light_V_000_cal.fits")
    assert product["CALSTAT"] == "BF" and product["MDARK"] == ""
    reasons = dict(report.incomplete)["light_V_000_cal.fits"]
    assert "was taken at +10.0 C, the frame at -20.0 C" in reasons
    assert dict(report.summary())["calibrated without some master"] == 3
    row = catalog.frame_row(night / "light_V_000.fits")
    assert "+10.0 C" in catalog._run("SELECT note FROM products WHERE frame_id = ?", (row["id"],)).fetchone()["note"]


def test_a_subframe_light_is_calibrated_with_cropped_full_frame_masters(night, catalog):
    _crop(night / "light_V_000.fits", night / "sub_V.fits", 40, 24, 64)
    process_night(night, catalog=catalog)
    full = fits.getdata(night / "products" / "light_V_000_cal.fits")
    sub = fits.open(night / "products" / "sub_V_cal.fits")
    assert sub[0].header["CALSTAT"] == "BDF"
    np.testing.assert_array_equal(sub[0].data, full[24:88, 40:104])


def test_a_flat_that_does_not_cover_the_light_is_refused(night, catalog):
    """Issue 15: flats at subframe origin 0 were applied to a light at another origin (3% rms error)."""
    for path in sorted(night.glob("flat_V_*.fits")):
        _crop(path, path.with_name("sub_" + path.name), 0, 0, 64)
        path.unlink()
    _crop(night / "light_V_000.fits", night / "sub_V.fits", 64, 64, 64)
    report = process_night(night, catalog=catalog)
    header = fits.getheader(night / "products" / "sub_V_cal.fits")
    assert "F" not in header["CALSTAT"]
    assert "covers x 0-64, y 0-64; the frame x 64-128, y 64-128" in dict(report.incomplete)["sub_V_cal.fits"]


def test_ccddata_reads_every_file_the_project_writes(night, catalog):
    from astropy.nddata import CCDData

    report = process_night(night, catalog=catalog)
    files = [night / "bias_000.fits", night / "light_V_000.fits", *report.masters_built, *report.calibrated]
    for path in files:
        ccd = CCDData.read(path)  # no unit given: BUNIT says it
        assert ccd.unit == "adu", path
    product = CCDData.read(report.calibrated[0])
    assert product.mask is not None and product.mask.shape == product.data.shape
