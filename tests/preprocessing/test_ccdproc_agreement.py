"""Our masters and calibrated frames agree with ccdproc's equivalent pipeline.

Tolerance: 1e-5 relative, taken against each frame's largest value: we
compute in float32 where ccdproc computes in float64, so values near zero
(a dark, a bias-subtracted sky) differ by float32 rounding of the larger
numbers they were made from.
"""

from __future__ import annotations

import math

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits

ccdproc = pytest.importorskip("ccdproc")

from torosdrivers.preprocessing import Catalog, process_night  # noqa: E402


def close(ours: np.ndarray, theirs: np.ndarray) -> None:
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5 * float(np.nanmax(np.abs(theirs))))


@pytest.fixture
def both(night):
    report = process_night(night, catalog=Catalog(":memory:"))
    assert len(report.calibrated) == 3
    read = lambda p: ccdproc.CCDData.read(p, unit="adu")  # noqa: E731
    files = lambda pattern: sorted(str(p) for p in night.glob(pattern))  # noqa: E731
    bias = ccdproc.combine(files("bias_*.fits"), method="median", unit="adu")
    dark = ccdproc.combine([ccdproc.subtract_bias(read(p), bias) for p in files("dark_*.fits")], method="median")

    def calibrate(p):
        return ccdproc.subtract_dark(ccdproc.subtract_bias(read(p), bias), dark, exposure_time="EXPTIME",
                                     exposure_unit=u.s, scale=True)

    flat = ccdproc.combine([calibrate(p) for p in files("flat_V_*.fits")], method="median",
                           scale=lambda a: 1.0 / np.ma.median(a))
    flat = flat.divide(np.median(flat.data) * u.dimensionless_unscaled)
    light = ccdproc.flat_correct(calibrate(files("light_V_*.fits")[0]), flat, norm_value=1.0)
    ours = {name: fits.getdata(night / "products" / "masters" / name) for name in
            ("master_bias_1x1_128x128.fits", "master_dark_1x1_128x128_30.0s.fits", "master_flat_1x1_128x128_V.fits")}
    ours["light"] = fits.getdata(night / "products" / "light_V_000_cal.fits")
    return ours, {"bias": bias.data, "dark": dark.data, "flat": flat.data, "light": light.data}


def test_master_bias(both):
    ours, theirs = both
    close(ours["master_bias_1x1_128x128.fits"], theirs["bias"])


def test_master_dark(both):
    ours, theirs = both
    close(ours["master_dark_1x1_128x128_30.0s.fits"], theirs["dark"])


def test_master_flat(both):
    ours, theirs = both
    close(ours["master_flat_1x1_128x128_V.fits"], theirs["flat"])


def test_calibrated_light(both):
    ours, theirs = both
    close(ours["light"], theirs["light"])


@pytest.mark.parametrize("method", ["mean", "ccdproc_sigma_clip"])
def test_other_combine_methods(night, method):
    from torosdrivers.preprocessing import make_master_bias, read_info

    frames = [read_info(p) for p in sorted(night.glob("dark_*.fits"))]
    ours = fits.getdata(make_master_bias(frames, night / f"m_{method}.fits", method=method).path)
    paths = [str(p) for p in sorted(night.glob("dark_*.fits"))]
    if method == "mean":
        theirs = ccdproc.combine(paths, method="average", unit="adu")
    else:
        theirs = ccdproc.combine(paths, method="average", unit="adu", sigma_clip=True, sigma_clip_low_thresh=3,
                                 sigma_clip_high_thresh=3, sigma_clip_func=np.ma.median, sigma_clip_dev_func=np.ma.std)
    close(ours, theirs.data)
    assert not math.isnan(float(ours.sum()))


def test_sigma_clip_with_cosmic_rays_agrees(tmp_path):
    from torosdrivers.preprocessing import make_master_bias, read_info

    rng = np.random.default_rng(5)
    paths = []
    for i in range(15):
        data = rng.normal(1000.0, 8.0, (40, 50)).round().astype(np.uint16)
        data[rng.integers(0, 40, 6), rng.integers(0, 50, 6)] = 30000  # cosmic-ray hits
        hdu = fits.PrimaryHDU(data)
        hdu.header["IMAGETYP"] = "BIAS"
        hdu.header["EXPTIME"] = 0.0
        paths.append(tmp_path / f"b{i:02d}.fits")
        hdu.writeto(paths[-1])
    ours = fits.getdata(make_master_bias([read_info(p) for p in paths], tmp_path / "m.fits",
                                         method="ccdproc_sigma_clip").path)
    theirs = ccdproc.combine([str(p) for p in paths], method="average", unit="adu", sigma_clip=True,
                             sigma_clip_low_thresh=3, sigma_clip_high_thresh=3, sigma_clip_func=np.ma.median,
                             sigma_clip_dev_func=np.ma.std)
    close(ours, theirs.data)
    plain = ccdproc.combine([str(p) for p in paths], method="average", unit="adu").data
    assert np.abs(plain - theirs.data).max() > 1000  # the rays were clipped, not averaged in
