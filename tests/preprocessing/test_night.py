"""process_night: products, the catalog, no work twice, reuse across nights, bad input."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from torosdrivers.preprocessing import BAD_FLAT, SATURATED, Catalog, process_night, read_info
from torosdrivers.preprocessing.cli import main as cli_main


def test_products_masters_and_catalog_queries(night, catalog):
    report = process_night(night, catalog=catalog)
    assert sorted(p.name for p in report.calibrated) == ["light_R_000_cal.fits", "light_V_000_cal.fits", "light_V_001_cal.fits"]
    assert len(report.masters_built) == 4  # bias, dark, flat V, flat R
    assert not report.skipped and not report.uncalibrated
    assert [r["imagetyp"] for r in catalog.frames(night, "light")] == ["LIGHT"] * 3
    assert len(catalog.frames(night)) == 23
    light = read_info(night / "light_V_000.fits")
    assert all(catalog.masters_for(light, kind) for kind in ("BIAS", "DARK", "FLAT"))
    inputs = catalog.inputs_of(night / "products" / "light_V_000_cal.fits")
    assert inputs["LIGHT"] == [str((night / "light_V_000.fits").resolve())]
    assert len(inputs["BIAS"]) == 1 + 5 and inputs["FLAT"][0].endswith("master_flat_1x1_128x128_V.fits")
    assert all(Path(p).name.startswith("flat_V_") for p in inputs["FLAT"][1:])
    assert not list(night.rglob("*.part"))  # every file was written whole, then renamed


def test_product_header_has_provenance_and_mask(night, catalog):
    process_night(night, catalog=catalog)
    with fits.open(night / "products" / "light_V_000_cal.fits") as hdul:
        h = hdul[0].header
        assert hdul[0].header["BITPIX"] == -32  # float32
        assert h["CALSTAT"] == "BDF"
        assert h["MBIAS"] == "master_bias_1x1_128x128.fits" and h["MFLAT"] == "master_flat_1x1_128x128_V.fits"
        assert h["PROCVER"] and any("light_V_000.fits" in str(line) for line in h["HISTORY"])
        assert hdul["MASK"].header["BITPIX"] == 8


def test_rerun_does_no_work_twice(night, catalog):
    process_night(night, catalog=catalog)
    again = process_night(night, catalog=catalog)
    assert not again.calibrated and not again.masters_built and len(again.up_to_date) == 3
    light = night / "light_V_001.fits"
    os.utime(light, (light.stat().st_atime, light.stat().st_mtime + 10))  # the file changed
    third = process_night(night, catalog=catalog)
    assert [p.name for p in third.calibrated] == ["light_V_001_cal.fits"] and not third.masters_built


def test_missing_calibrations_come_from_the_catalog_and_are_said(night, catalog, tmp_path):
    process_night(night, catalog=catalog)
    second = tmp_path / "2026-06-22"
    second.mkdir()
    for name in ("light_R_000.fits", "light_V_000.fits"):
        shutil.copy(night / name, second / name)
    report = process_night(second, catalog=catalog)
    assert len(report.calibrated) == 2
    assert any("flat for 1x1 R from the catalog: master_flat_1x1_128x128_R.fits" in n for n in report.masters_reused)
    assert fits.getheader(second / "products" / "light_R_000_cal.fits")["MFLAT"] == "master_flat_1x1_128x128_R.fits"


def test_no_calibration_anywhere_leaves_the_light_uncalibrated_with_why(night, tmp_path):
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    shutil.copy(night / "light_V_000.fits", lonely)
    report = process_night(lonely, catalog=Catalog(":memory:"))
    [(name, why)] = report.uncalibrated
    assert name == "light_V_000.fits" and why == ("no bias fits (none in this night or the catalog); no dark fits "
                                                  "(none in this night or the catalog); no flat fits (none in this "
                                                  "night or the catalog)")
    assert not (lonely / "products" / "light_V_000_cal.fits").exists()


def test_bad_files_are_named_and_skipped_and_the_night_goes_on(night, catalog):
    (night / "corrupt.fits").write_bytes(b"SIMPLE  =  this is not a FITS file" * 10)
    fits.PrimaryHDU(np.zeros((8, 8), np.uint16)).writeto(night / "no_type.fits")
    odd = fits.PrimaryHDU(np.full((64, 64), 1200, np.uint16), fits.getheader(night / "light_V_000.fits"))
    odd.header["XBINNING"] = odd.header["YBINNING"] = 2  # no master of this binning anywhere
    odd.writeto(night / "light_small.fits")
    zero = fits.open(night / "bias_000.fits")[0]
    zero.header["IMAGETYP"], zero.header["FILTER"], zero.header["EXPTIME"] = "FLAT", "V", 2.0
    zero.writeto(night / "flat_V_zero.fits")  # after bias subtraction its median is about 0
    report = process_night(night, catalog=catalog)
    skipped = dict(report.skipped)
    assert "not a readable FITS file" in skipped["corrupt.fits"]
    assert "no IMAGETYP" in skipped["no_type.fits"]
    assert "cannot normalise" in skipped["flat_V_zero.fits"]
    assert "master_bias_1x1_128x128.fits is binned 1x1, the frame 2x2" in dict(report.uncalibrated)["light_small.fits"]
    assert len(report.calibrated) == 3  # the good frames were all calibrated
    assert fits.getheader(night / "products" / "masters" / "master_flat_1x1_128x128_V.fits")["NCOMBINE"] == 5
    assert catalog.frame_row(night / "corrupt.fits")["problem"].startswith("not a readable FITS file")


def test_saturated_pixels_are_masked(night, catalog):
    with fits.open(night / "light_V_000.fits", mode="update") as hdul:
        hdul[0].data[10:12, 20:22] = 65535
    process_night(night, catalog=catalog)
    mask = fits.getdata(night / "products" / "light_V_000_cal.fits", "MASK")
    assert (mask[10:12, 20:22] & SATURATED).all()
    assert not (mask & BAD_FLAT).any()


def test_dask_executor_gives_the_same_products(night, tmp_path):
    distributed = pytest.importorskip("distributed")
    reference = tmp_path / "reference"
    shutil.copytree(night, reference)
    process_night(reference, catalog=Catalog(":memory:"))
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            report = process_night(night, catalog=Catalog(":memory:"), executor=client.get_executor())
    assert len(report.calibrated) == 3
    for product in report.calibrated:
        np.testing.assert_array_equal(fits.getdata(product), fits.getdata(reference / "products" / product.name))


def test_console_script(night, tmp_path, capsys):
    assert cli_main([str(night), "--catalog", str(tmp_path / "c.sqlite"), "--workers", "2"]) == 0
    out = capsys.readouterr().out
    assert "[3/3] light_V_001_cal.fits" in out
    assert "calibrated                 3" in out
    assert cli_main([str(tmp_path / "nope")]) == 2


def test_a_master_rebuilt_with_more_frames_recalibrates_its_products(night, catalog):
    process_night(night, catalog=catalog)
    shutil.copy(night / "flat_V_000.fits", night / "flat_V_005.fits")  # one more V flat arrives
    report = process_night(night, catalog=catalog)
    assert [p.name for p in report.masters_built] == ["master_flat_1x1_128x128_V.fits"]
    assert sorted(p.name for p in report.calibrated) == ["light_V_000_cal.fits", "light_V_001_cal.fits"]
    inputs = catalog.inputs_of(night / "products" / "light_V_000_cal.fits")
    assert len(inputs["FLAT"]) == 1 + 6
