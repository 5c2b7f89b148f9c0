"""alpyca, the ASCOM Initiative's own client, used as a user would against our server."""

from __future__ import annotations

import time

import numpy as np
import pytest
from alpaca import management
from alpaca.camera import Camera, CameraStates
from alpaca.dome import Dome, ShutterState
from alpaca.exceptions import InvalidValueException, NotConnectedException, ParkedException
from alpaca.filterwheel import FilterWheel
from alpaca.focuser import Focuser
from alpaca.telescope import Telescope

from torosdrivers.coords import from_altaz, icrs_to_epoch, to_altaz


def wait(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_management_api(server):
    assert management.apiversions(server.address) == [1]
    description = management.description(server.address)
    assert description["ServerName"] == "TOROS simulated observatory"
    devices = management.configureddevices(server.address)
    kinds = sorted((d["DeviceType"], d["DeviceNumber"]) for d in devices)
    assert kinds == [("Camera", 0), ("Dome", 0), ("FilterWheel", 0), ("Focuser", 0), ("ObservingConditions", 0),
                     ("SafetyMonitor", 0), ("Telescope", 0)]
    assert len({d["UniqueID"] for d in devices}) == 7


def test_slew(server, observatory):
    t = Telescope(server.address, 0)
    with pytest.raises(NotConnectedException):
        t.Unpark()
    t.Connected = True
    assert t.EquatorialSystem == 2  # J2000
    assert t.AtPark
    target = from_altaz(50.0, 120.0, observatory.mount.time, observatory.site)
    ra, dec = icrs_to_epoch(target, "j2000", observatory.mount.time, observatory.site)
    with pytest.raises(ParkedException):
        t.SlewToCoordinatesAsync(ra / 15.0, dec)
    t.Unpark()
    t.Tracking = True
    t.SlewToCoordinatesAsync(ra / 15.0, dec)
    wait(lambda: not t.Slewing)
    assert t.RightAscension == pytest.approx(ra / 15.0, abs=1e-4)
    assert t.Declination == pytest.approx(dec, abs=1e-3)
    now = observatory.mount.time  # the simulated sky has turned since the target was chosen
    assert t.Altitude == pytest.approx(to_altaz(target, now, observatory.site).alt.deg, abs=0.5)
    with pytest.raises(InvalidValueException):
        t.SlewToCoordinatesAsync(25.0, 0.0)
    t.Connected = False


def test_shutter_cycle_and_blink(server):
    d = Dome(server.address, 0)
    d.Connected = True
    assert d.ShutterStatus == ShutterState.shutterClosed
    d.OpenShutter()
    wait(lambda: d.ShutterStatus == ShutterState.shutterOpen)
    d.CloseShutter()
    wait(lambda: d.ShutterStatus == ShutterState.shutterClosed)
    assert "Blink01" in d.SupportedActions
    assert "blinked" in d.Action("Blink01", "3")
    d.Connected = False


def test_filter_change(server):
    w = FilterWheel(server.address, 0)
    w.Connected = True
    names = w.Names
    w.Position = names.index("I")
    wait(lambda: w.Position == names.index("I"))
    assert w.FocusOffsets == [0] * len(names)
    with pytest.raises(InvalidValueException):
        w.Position = 99
    w.Connected = False


def test_focuser_from_a_stock_alpyca_client(server, observatory):
    f = Focuser(server.address, 0)
    f.Connected = True
    assert f.Absolute and f.MaxStep == observatory.focuser.max_step and f.StepSize == 4.0
    assert -60 < f.Temperature < 70 and f.TempCompAvailable
    f.Move(f.Position - 5000)
    wait(lambda: not f.IsMoving)
    assert f.Position == observatory.focuser.position == 25000
    f.Move(1000)
    f.Halt()
    wait(lambda: not f.IsMoving)
    assert 1000 <= f.Position < 25000  # halted on the way (or, on a slow machine, arrived first)
    with pytest.raises(InvalidValueException):
        f.Move(f.MaxStep + 1)
    f.TempComp = True
    assert f.TempComp
    f.TempComp = False
    f.Connected = False


def _exposure(address: str) -> tuple[np.ndarray, Camera]:
    c = Camera(address, 0)
    c.Connected = True
    c.BinX = c.BinY = 1
    c.StartExposure(2.0, False)
    wait(lambda: c.ImageReady)
    assert c.CameraState == CameraStates.cameraIdle
    return np.asarray(c.ImageArray), c


def test_exposure_download_over_imagebytes(server, observatory):
    image, camera = _exposure(server.address)
    assert image.shape == (camera.CameraXSize, camera.CameraYSize)  # alpyca keeps the [x][y] order
    assert camera.ImageArrayInfo.ImageElementType == 8  # UInt16 on the wire
    assert 900 < image.mean() < 1200
    again = np.asarray(camera.ImageArray)  # the image can be downloaded twice
    np.testing.assert_array_equal(again, image)


def test_exposure_download_over_json(json_server):
    image, camera = _exposure(json_server.address)
    assert image.shape == (camera.CameraXSize, camera.CameraYSize)
    assert 900 < image.mean() < 1200
