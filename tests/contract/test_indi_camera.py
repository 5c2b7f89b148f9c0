"""The camera contract over INDI: our backend against the INDI project's own indi_simulator_ccd under a real
indiserver (CCD_EXPOSURE, the CCD1 FITS BLOB, CCD_BINNING, CCD_FRAME, CCD_FRAME_TYPE, CCD_TEMPERATURE)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from astropy.io import fits

from tests.indi_server import module_server
from torosdrivers.ccd.indi import IndiCamera, fits_image
from torosdrivers.errors import UnsupportedError
from torosdrivers.testing import wait_for
from torosdrivers.testing.camera import *  # noqa: F401,F403


indiserver = module_server("indi_simulator_ccd")


@pytest.fixture
def camera(indiserver):
    with IndiCamera(indiserver.address, "CCD Simulator", electrons_per_adu=1.5, poll_interval=0.02) as device:
        # The simulator's clock a hundred times faster (its own SIM_TIME_FACTOR: the contract's 2-minute
        # dark takes 1.2 s) and its state sent ten times a second (it ends exposures and ramps at each poll)
        device._link.set("SIMULATOR_SETTINGS", {"SIM_TIME_FACTOR": 0.01})
        device._link.set("POLLING_PERIOD", {"PERIOD_MS": 100})
        yield device
        if device.connected:
            device.abort_exposure()


def test_cooling_reaches_set_point(camera):  # noqa: F811
    """The simulator has no CCD_COOLER_POWER: the contract's check, with the cooler power refused by name."""
    import astropy.units as u

    camera.cooler_on = True
    camera.set_temperature(-20.0)
    assert camera.target_temperature == -20.0 * u.deg_C
    wait_for(lambda: abs(camera.temperature.value + 20.0) < 0.5, timeout=60)
    with pytest.raises(UnsupportedError, match="CCD_COOLER_POWER"):
        _ = camera.cooler_power
    frame = camera.expose(0.0, light=False)
    assert frame.header["CCD-TEMP"] == pytest.approx(-20.0, abs=0.5)
    camera.cooler_on = False


def test_the_image_is_the_drivers_fits_pixel_for_pixel(camera):
    """The frame's data is exactly what astropy reads from the CCD1 BLOB, with the simulator's own stars
    and noise (not zeros): the in-place conversion loses nothing."""
    frame = camera.expose(1.0)
    with fits.open(io.BytesIO(camera._link.blob("CCD1", "CCD1"))) as hdul:
        expected = hdul[0].data
    np.testing.assert_array_equal(frame.data, expected)
    assert frame.data.std() > 0 and frame.data.dtype == np.uint16
    assert frame.header["GAIN"] == 1.5 and frame.header["INSTRUME"]


def test_the_frame_type_and_binned_subframe_reach_the_driver(camera):
    """CCD_FRAME is in unbinned pixels on the wire; CCD_FRAME_TYPE follows the shutter and duration."""
    camera.binning = 2
    camera.subframe = (10, 20, 100, 50)
    frame = camera.expose(0.5, light=False)
    link = camera._link
    assert frame.data.shape == (50, 100)
    assert [link.number("CCD_FRAME", k) for k in ("X", "Y", "WIDTH", "HEIGHT")] == [20, 40, 200, 100]
    assert link.switch("CCD_FRAME_TYPE", "FRAME_DARK") and frame.header["XBINNING"] == 2
    camera.binning = 1
    camera.expose(0.0, light=False)
    assert link.switch("CCD_FRAME_TYPE", "FRAME_BIAS")


@pytest.mark.parametrize("bitpix, values", [(16, [0, 1, 32767, 32768, 65535]), (8, [0, 7, 255]),
                                            (32, [-5, 0, 70000]), (-32, [0.5, -1.25, 3e4])])
def test_fits_image_reads_what_astropy_writes(bitpix, values):
    dtype = {16: np.uint16, 8: np.uint8, 32: np.int32, -32: np.float32}[bitpix]
    data = np.array([values, values[::-1]], dtype=dtype)
    buffer = io.BytesIO()
    fits.PrimaryHDU(data).writeto(buffer)
    image = fits_image(buffer.getvalue())
    np.testing.assert_array_equal(image, data)
    assert image.dtype.isnative


def test_fits_image_refuses_what_is_not_an_image():
    from torosdrivers.errors import DriverError

    with pytest.raises(DriverError, match="no END card"):
        fits_image(b"SIMPLE  =                    T" + b" " * 3000)
    buffer = io.BytesIO()
    fits.PrimaryHDU(np.zeros((4, 4), np.uint16)).writeto(buffer)
    with pytest.raises(DriverError, match="truncated"):
        fits_image(buffer.getvalue()[:2890])
