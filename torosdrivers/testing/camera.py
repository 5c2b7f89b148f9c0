"""Contract of `torosdrivers.ccd.Camera`, run over every backend."""

from __future__ import annotations

import threading

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits

from torosdrivers.testing import wait_for
from torosdrivers.ccd import CameraState, Frame, Subframe
from torosdrivers.errors import (
    DeviceTimeoutError,
    InvalidOperationError,
    InvalidValueError,
    NotConnectedError,
    OperationCancelledError,
)

REQUIRED_KEYS = ("DATE-OBS", "EXPTIME", "IMAGETYP", "INSTRUME", "XBINNING", "YBINNING", "GAIN", "CCD-TEMP")


def test_bias_frame_has_shape_type_and_header(camera):
    frame = camera.expose(0.0, light=False)
    width, height = camera.sensor_size
    assert isinstance(frame, Frame)
    assert frame.data.shape == (height, width)
    assert frame.data.dtype == np.uint16
    assert frame.imagetyp == "BIAS"
    assert frame.exptime == 0.0
    for key in REQUIRED_KEYS:
        assert key in frame.header, key


def test_image_type_follows_shutter_and_duration(camera):
    assert camera.expose(1.0, light=False).imagetyp == "DARK"
    assert camera.expose(1.0, light=True).imagetyp == "LIGHT"
    assert camera.expose(1.0, imagetyp="flat").imagetyp == "FLAT"


def test_duration_accepts_quantity(camera):
    frame = camera.expose(2 * u.min, light=False)
    assert frame.exptime == 120.0


def test_extra_header_and_object_are_written(camera):
    frame = camera.expose(0.0, light=False, object="NGC 253", header={"WO_ID": "42"})
    assert frame.header["OBJECT"] == "NGC 253"
    assert frame.header["WO_ID"] == "42"


def test_second_exposure_is_refused_while_one_runs(camera):
    camera.start_exposure(3600.0)
    assert camera.state == CameraState.EXPOSING
    assert not camera.image_ready
    with pytest.raises(InvalidOperationError, match="in progress"):
        camera.start_exposure(1.0)
    camera.abort_exposure()


def test_asynchronous_exposure(camera):
    camera.start_exposure(5.0, light=False)
    wait_for(lambda: camera.image_ready, timeout=10)
    assert camera.percent_completed == pytest.approx(100.0)
    assert camera.state == CameraState.IDLE
    frame = camera.read_frame()
    assert frame.exptime == 5.0
    assert not camera.image_ready
    with pytest.raises(InvalidOperationError, match="no image is ready"):
        camera.read_frame()


def test_binning_reduces_shape_and_is_recorded(camera):
    camera.binning = 2
    frame = camera.expose(0.0, light=False)
    width, height = camera.sensor_size
    assert frame.data.shape == (height // 2, width // 2)
    assert (frame.header["XBINNING"], frame.header["YBINNING"]) == (2, 2)
    camera.binning = (1, 2)
    assert camera.expose(0.0, light=False).data.shape == (height // 2, width)


def test_subframe(camera):
    camera.subframe = (10, 20, 64, 32)
    assert camera.subframe == Subframe(10, 20, 64, 32)
    frame = camera.expose(0.0, light=False)
    assert frame.data.shape == (32, 64)
    assert (frame.header["XORGSUBF"], frame.header["YORGSUBF"]) == (10, 20)
    camera.subframe = None
    assert camera.expose(0.0, light=False).data.shape == camera.sensor_size[::-1]


@pytest.mark.parametrize(
    "setting, match",
    [
        ({"binning": 0}, "binning x=0"),
        ({"binning": 99}, "binning x=99"),
        ({"binning": (1, 2, 3)}, "binning"),
        ({"subframe": (0, 0, 100000, 10)}, r"subframe=\(0, 0, 100000, 10\)"),
        ({"subframe": (-1, 0, 10, 10)}, r"subframe=\(-1, 0, 10, 10\)"),
    ],
)
def test_bad_geometry_is_refused(camera, setting, match):
    (name, value), = setting.items()
    with pytest.raises(InvalidValueError, match=match):
        setattr(camera, name, value)


@pytest.mark.parametrize("duration", [-1.0, float("nan"), "ten", -3 * u.s, 5 * u.m])
def test_bad_duration_names_the_value(camera, duration):
    with pytest.raises(InvalidValueError, match="duration"):
        camera.expose(duration)
    assert camera.state == CameraState.IDLE


def test_negative_exposure_message(camera):
    with pytest.raises(InvalidValueError, match=r"duration=-1 s: expected at least 0 s"):
        camera.start_exposure(-1.0)


def test_bad_header_card_is_refused(camera):
    with pytest.raises(InvalidValueError, match="TOOLONGKEYWORD"):
        camera.expose(0.0, header={"TOOLONGKEYWORD": 1})


def test_abort_discards_the_exposure(camera):
    camera.start_exposure(3600.0)
    camera.abort_exposure()
    assert camera.state == CameraState.IDLE
    assert not camera.image_ready
    with pytest.raises(InvalidOperationError):
        camera.read_frame()


def test_timeout_aborts_and_names_the_wait(camera):
    longest = min(36000.0, camera.max_exposure)
    with pytest.raises(DeviceTimeoutError, match=f"exposure of {longest:g} s"):
        camera.expose(longest, timeout=0.05)
    assert camera.state == CameraState.IDLE
    camera.expose(0.0, light=False)  # the camera is usable again


def test_abort_from_another_thread_cancels_expose(camera):
    timer = threading.Timer(0.1, camera.abort_exposure)
    timer.start()
    try:
        with pytest.raises(OperationCancelledError):
            camera.expose(min(36000.0, camera.max_exposure), timeout=30)
    finally:
        timer.cancel()


def test_cool_to_waits_for_the_set_point(camera):
    camera.cool_to(-15.0, tolerance=0.5, timeout=20)
    assert camera.cooler_on
    assert abs(camera.temperature.value + 15.0) <= 0.5
    with pytest.raises(InvalidValueError, match="setpoint=-300"):
        camera.cool_to(-300.0)


def test_cooling_reaches_set_point(camera):
    camera.cooler_on = True
    camera.set_temperature(-20.0)
    assert camera.target_temperature == -20.0 * u.deg_C
    wait_for(lambda: abs(camera.temperature.value + 20.0) < 0.5, timeout=20)
    assert camera.cooler_power > 0
    frame = camera.expose(0.0, light=False)
    assert frame.header["CCD-TEMP"] == pytest.approx(-20.0, abs=0.5)
    camera.cooler_on = False


@pytest.mark.parametrize("value", [-200.0, "cold", 300 * u.K * 2])
def test_bad_temperature(camera, value):
    with pytest.raises(InvalidValueError, match="set_temperature"):
        camera.set_temperature(value)


def test_temperature_accepts_kelvin(camera):
    camera.set_temperature(253.15 * u.K)
    assert camera.target_temperature.value == pytest.approx(-20.0)


def test_frame_round_trips_through_fits(camera, tmp_path):
    frame = camera.expose(1.0, light=False, object="round trip")
    path = frame.write(tmp_path / "dark.fits")
    again = Frame.read(path)
    assert again.data.dtype == np.uint16
    np.testing.assert_array_equal(again.data, frame.data)
    assert again.header["OBJECT"] == "round trip"
    assert again.date_obs == frame.date_obs
    with pytest.raises(FileExistsError):
        frame.write(path)
    frame.write(path, overwrite=True)
    assert list(tmp_path.iterdir()) == [path]  # no temporary left behind
    with fits.open(path) as hdul:
        assert hdul[0].header["IMAGETYP"] == "DARK"


def test_not_connected_is_refused(camera):
    camera.disconnect()
    with pytest.raises(NotConnectedError, match="not connected"):
        camera.expose(0.0)
    with pytest.raises(NotConnectedError):
        _ = camera.temperature
    camera.connect()
    assert camera.connected


def test_an_exposure_past_the_longest_is_refused_by_name(camera):
    longest = camera.max_exposure
    with pytest.raises(InvalidValueError, match=f"duration={longest * 2:g} s: expected at most {longest:g} s"):
        camera.start_exposure(longest * 2)
    assert camera.state == CameraState.IDLE
