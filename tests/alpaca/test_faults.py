"""A server that dies, a camera that fails, a server that is slow: clear errors, never a hang."""

from __future__ import annotations

import threading
import time

import pytest

from torosdrivers.ccd.alpaca import AlpacaCamera
from torosdrivers.dome.alpaca import AlpacaDome
from torosdrivers.errors import CommunicationError, DeviceTimeoutError, DriverError, InvalidValueError


def camera_on(server, **kwargs):
    camera = AlpacaCamera(server.address, poll_interval=0.005, **kwargs)
    camera.connect()
    return camera


def test_server_stopped_mid_exposure(server):
    camera = camera_on(server, timeout=2.0)
    threading.Timer(0.2, server.stop).start()
    t0 = time.monotonic()
    with pytest.raises(CommunicationError, match=r"Alpaca camera 0 at 127\.0\.0\.1:\d+"):
        camera.expose(3600.0, timeout=30)
    assert time.monotonic() - t0 < 5


def test_camera_error_state_ends_the_wait_at_once(server, observatory):
    camera = camera_on(server, timeout=2.0)
    threading.Timer(0.2, observatory.camera.fail).start()
    t0 = time.monotonic()
    with pytest.raises(DriverError, match="Error state"):
        camera.expose(3600.0, timeout=30)
    assert time.monotonic() - t0 < 2
    observatory.camera.fail(False)


def test_slow_server_times_out_with_the_member_named(server):
    camera = camera_on(server, timeout=0.3)
    server.delay = 1.0
    t0 = time.monotonic()
    with pytest.raises(DeviceTimeoutError, match="no reply to CameraState within 0.3 s"):
        _ = camera.state
    assert time.monotonic() - t0 < 1.0
    server.delay = 0.0


def test_unreachable_server_fails_to_connect():
    dome = AlpacaDome("127.0.0.1:9", timeout=1.0)  # the discard port: nothing listens
    with pytest.raises(CommunicationError, match="cannot reach the server"):
        dome.connect()
    assert not dome.connected


@pytest.mark.parametrize("address", ["localhost", "127.0.0.1:0", "127.0.0.1:99999", "http://x:1", 11111])
def test_bad_address(address):
    with pytest.raises(InvalidValueError, match="address="):
        AlpacaDome(address)


def test_bad_image_transfer(server):
    with pytest.raises(InvalidValueError, match="image_transfer='fast'"):
        AlpacaCamera(server.address, image_transfer="fast")
