"""``toros-devices`` publishing its devices over INDI, driven by clients no one here wrote.

``indi_getprop`` and ``indi_setprop`` (indi-bin) list, read, set, and download a camera's FITS BLOB; our
own INDI backends read the weather and focuser; an Alpaca client and an INDI client share the one-owner
rules; the door holds against what a hostile client sends. The contract suite over the published camera,
wheel, mount and dome runs in tests/contract (rig ``indi``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time

import numpy as np
import pytest
from astropy.io import fits

from tests.daemons.conftest import make_config
from tests.rigs import wait_for
from torosdrivers.config_schema import check
from torosdrivers.daemons.services.devices import DeviceServer
from torosdrivers.dome import ShutterState
from torosdrivers.dome.alpaca import AlpacaDome
from torosdrivers.dome.indi import IndiDome
from torosdrivers.errors import DeviceBusyError, DriverError
from torosdrivers.focuser.indi import IndiFocuser
from torosdrivers.indi import server as indi_server
from torosdrivers.weather.indi import IndiObservingConditions, IndiSafetyMonitor


def _tools() -> None:
    if shutil.which("indi_getprop") is None:
        if os.environ.get("TOROS_REQUIRE_INDI"):
            pytest.fail("indi_getprop is not installed (apt-get install indi-bin)")
        pytest.skip("indi_getprop is not installed (apt-get install indi-bin)")


@pytest.fixture(scope="module")
def owner(tmp_path_factory):
    """A device server with every simulated device, INDI on a free loopback port, the sky at time scale 20."""
    tmp = tmp_path_factory.mktemp("indi-owner")
    config = make_config(tmp, Devices={"Safety Monitor": {"Backend": "simulator"},
                                       "Observing Conditions": {"Backend": "simulator"},
                                       "Focuser": {"Backend": "simulator"}},
                         Simulator={"Time Scale": 20.0})
    with DeviceServer(config, port=0, discovery=False, indi_port=0) as server:
        config.data["Device Server"] = {**config.data["Device Server"], "Enabled": True,
                                        "Port": server.server.port}
        yield config, server


def getprop(server: DeviceServer, *names: str, timeout: float = 2) -> dict[str, str]:
    """``indi_getprop``'s answer as ``{"device.property.member": value}``."""
    args = ["indi_getprop", "-h", "127.0.0.1", "-p", str(server.indi.port), "-t", str(timeout)]
    out = subprocess.run(args + list(names), capture_output=True, text=True, timeout=timeout + 30)
    return dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)


def setprop(server: DeviceServer, *assignments: str) -> subprocess.CompletedProcess:
    return subprocess.run(["indi_setprop", "-h", "127.0.0.1", "-p", str(server.indi.port), *assignments],
                          capture_output=True, text=True, timeout=30)


def test_indi_getprop_lists_every_device_with_the_standard_properties(owner):
    _tools()
    _, server = owner
    props = getprop(server)
    for device, interface in (("TOROS Camera", 2), ("TOROS Filter Wheel", 16), ("TOROS Mount", 1),
                              ("TOROS Dome", 32), ("TOROS Focuser", 8), ("TOROS Weather", 128)):
        assert props[f"{device}.CONNECTION.CONNECT"] == "On"
        assert props[f"{device}.DRIVER_INFO.DRIVER_INTERFACE"] == str(interface)
    for name in ("CCD_EXPOSURE.CCD_EXPOSURE_VALUE", "CCD_INFO.CCD_MAX_X", "CCD_FRAME.WIDTH", "CCD_BINNING.HOR_BIN",
                 "CCD_TEMPERATURE.CCD_TEMPERATURE_VALUE", "CCD_FRAME_TYPE.FRAME_LIGHT"):
        assert f"TOROS Camera.{name}" in props
    assert props["TOROS Camera.CCD_INFO.CCD_MAX_X"] == str(server.devices.camera.sensor_size[0])
    assert props["TOROS Filter Wheel.FILTER_NAME.FILTER_SLOT_NAME_3"] == server.devices.filter_wheel.names[2]
    for name in ("EQUATORIAL_EOD_COORD.RA", "TELESCOPE_PARK.PARK", "TELESCOPE_TRACK_STATE.TRACK_ON",
                 "GEOGRAPHIC_COORD.LAT", "ON_COORD_SET.TRACK", "TELESCOPE_ABORT_MOTION.ABORT"):
        assert f"TOROS Mount.{name}" in props
    assert float(props["TOROS Mount.GEOGRAPHIC_COORD.LAT"]) == pytest.approx(server.devices.mount.site.lat.deg)
    for name in ("ABS_DOME_POSITION.DOME_ABSOLUTE_POSITION", "DOME_SHUTTER.SHUTTER_OPEN", "DOME_PARK.PARK"):
        assert f"TOROS Dome.{name}" in props
    assert "TOROS Focuser.ABS_FOCUS_POSITION.FOCUS_ABSOLUTE_POSITION" in props
    assert props["TOROS Weather.WEATHER_STATUS.SAFETY_MONITOR"] in ("Ok", "Alert")
    assert "TOROS Weather.WEATHER_PARAMETERS.WEATHER_WIND_SPEED" in props


def test_indi_setprop_turns_the_wheel_and_opens_the_dome(owner):
    _tools()
    _, server = owner
    wheel, dome = server.devices.filter_wheel, server.devices.dome
    target = 4 if wheel.position != 3 else 2
    assert setprop(server, f"TOROS Filter Wheel.FILTER_SLOT.FILTER_SLOT_VALUE={target + 1}").returncode == 0
    wait_for(lambda: wheel.position == target and not wheel.moving, timeout=30)
    assert getprop(server, "TOROS Filter Wheel.FILTER_SLOT.FILTER_SLOT_VALUE") == {
        "TOROS Filter Wheel.FILTER_SLOT.FILTER_SLOT_VALUE": str(target + 1)}
    assert setprop(server, "TOROS Dome.DOME_SHUTTER.SHUTTER_OPEN=On").returncode == 0
    wait_for(lambda: dome.shutter == ShutterState.OPEN, timeout=60)
    assert setprop(server, "TOROS Dome.DOME_SHUTTER.SHUTTER_CLOSE=On").returncode == 0
    wait_for(lambda: dome.shutter == ShutterState.CLOSED, timeout=60)


def test_a_frame_exposed_by_indi_setprop_arrives_as_a_fits_blob_in_indi_getprop(owner, tmp_path):
    """indi_getprop saves each BLOB it receives as a file (device.property.element.format): the FITS must open
    and hold the frame."""
    _tools()
    _, server = owner
    args = ["indi_getprop", "-h", "127.0.0.1", "-p", str(server.indi.port), "-m", "-t", "20", "TOROS Camera.CCD1.CCD1"]
    listener = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: server.indi.clients >= 1, timeout=10)
        assert setprop(server, "TOROS Camera.CCD_FRAME_TYPE.FRAME_DARK=On").returncode == 0
        assert setprop(server, "TOROS Camera.CCD_EXPOSURE.CCD_EXPOSURE_VALUE=2").returncode == 0
        wait_for(lambda: list(tmp_path.glob("*.fits")), timeout=60)
    finally:
        listener.kill()
        listener.communicate()
    saved = next(tmp_path.glob("*.fits"))
    with fits.open(saved) as hdul:
        data, header = hdul[0].data, hdul[0].header
    w, h = server.devices.camera.sensor_size
    assert data.shape == (h, w) and data.dtype.kind in "ui" and np.ptp(data) > 0
    assert header["EXPTIME"] == pytest.approx(2.0) and header["IMAGETYP"].upper().startswith("DARK")
    assert setprop(server, "TOROS Camera.CCD_FRAME_TYPE.FRAME_LIGHT=On").returncode == 0


def test_our_indi_weather_and_focuser_backends_read_the_published_devices(owner):
    config, server = owner
    address = server.indi.address
    with IndiSafetyMonitor(address, "TOROS Weather", timeout=5) as monitor, \
            IndiObservingConditions(address, "TOROS Weather", timeout=5) as station, \
            IndiFocuser(address, "TOROS Focuser", timeout=5) as focuser:
        assert monitor.is_safe == server.devices.weather()[0].is_safe
        truth = [d for d in server.devices.weather() if d.device_type == "observingconditions"][0]
        assert station.wind_speed.value == pytest.approx(truth.wind_speed.value, abs=0.05)
        target = 1000 if focuser.position != 1000 else 1200
        focuser.move(target, timeout=60)
        assert focuser.position == target == server.devices.focuser.position


def test_one_owner_across_alpaca_and_indi(owner):
    """A dome rotation an Alpaca client started is refused to an INDI client by name; its abort passes; an
    INDI DISCONNECT leaves the dome connected for the Alpaca client."""
    config, server = owner
    with AlpacaDome(config.device_server, 0) as alpaca_dome, IndiDome(server.indi.address, "TOROS Dome",
                                                                     timeout=5) as indi_dome:
        start = alpaca_dome.azimuth.value
        alpaca_dome.slew_to_azimuth((start + 170.0) % 360.0, wait=False)
        with pytest.raises((DeviceBusyError, DriverError), match="busy: slewtoazimuth from client"):
            indi_dome.slew_to_azimuth((start + 90.0) % 360.0, wait=False)
        indi_dome.abort()
        wait_for(lambda: not alpaca_dome.slewing, timeout=10)
        assert abs((alpaca_dome.azimuth.value - start + 180) % 360 - 180) < 169.0  # stopped short
        indi_dome.disconnect()
        assert alpaca_dome.connected and server.devices.dome.connected
        alpaca_dome.slew_to_azimuth(start, timeout=120)


def _raw(server: DeviceServer, payload: bytes, wait: float = 2.0, until: bytes | None = None) -> bytes:
    """What the server sends a raw client that connects and sends ``payload``: read until the server closes,
    ``until`` has come, or ``wait`` seconds (a bound for a busy machine, not the expected time)."""
    with socket.create_connection(("127.0.0.1", server.indi.port), timeout=wait) as sock:
        sock.sendall(payload)
        got = b""
        deadline = time.monotonic() + wait
        try:
            while time.monotonic() < deadline and (until is None or until not in got):
                chunk = sock.recv(1 << 16)
                if not chunk:
                    break
                got += chunk
        except (socket.timeout, ConnectionResetError):
            pass
    return got


@pytest.mark.parametrize("value, problem", [("1_0", "expected a number"), ("nan", "expected a number"),
                                            ("inf", "expected a number"), ("500", "expected 0 to 360")])
def test_a_bad_number_is_refused_by_name_and_nothing_moves(owner, value, problem):
    _, server = owner
    before = server.devices.dome.azimuth.value
    got = _raw(server, b'<getProperties version="1.7" device="TOROS Dome"/>'
                       b'<newNumberVector device="TOROS Dome" name="ABS_DOME_POSITION"><oneNumber '
                       b'name="DOME_ABSOLUTE_POSITION">' + value.encode() + b"</oneNumber></newNumberVector>", 30.0,
               until=problem.encode())  # the answer's message (a definition may still show the last Alert)
    assert b'state="Alert"' in got
    assert f"DOME_ABSOLUTE_POSITION={value}".encode() in got.replace(b"'", b"") and problem.encode() in got
    assert not server.devices.dome.slewing and server.devices.dome.azimuth.value == pytest.approx(before, abs=0.01)


@pytest.mark.parametrize("payload, reason", [
    (b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]><getProperties version="1.7"/>', b"not well-formed"),
    (b"<getProperties version='1.7'/>\xff\xfe<", b"not well-formed"),
    (b"<newTextVector device='TOROS Dome' name='X'>" + b"a" * (2 << 20), b"longer than"),
    (b"<a><b><c><d><e/></d></c></b></a>", b"nested"),
])
def test_a_hostile_stream_is_closed_with_its_reason_and_the_server_serves_on(owner, payload, reason):
    _, server = owner
    got = _raw(server, payload, 30.0)  # the server closes it
    assert reason in got and b"closed:" in got
    # the others are unaffected: a fresh client still gets the definitions
    assert b"defNumberVector" in _raw(server, b'<getProperties version="1.7" device="TOROS Mount"/>', 30.0,
                                      until=b"defNumberVector")


def test_a_client_outside_the_allowed_networks_is_closed_unanswered(tmp_path):
    config = make_config(tmp_path, Security={"Allowed Networks": ["10.99.0.0/16"]})
    with DeviceServer(config, port=0, discovery=False, indi_port=0) as server:
        assert _raw(server, b'<getProperties version="1.7"/>', 1.0) == b""


def test_a_client_that_does_not_read_is_dropped(owner, monkeypatch):
    """Its queue bounded (indiserver's -m): the others' updates and the server's memory are not held by it."""
    _, server = owner
    monkeypatch.setattr(indi_server, "MAX_QUEUE", 64 * 1024)
    sock = socket.create_connection(("127.0.0.1", server.indi.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        for _ in range(400):  # each answer is every definition: ~40 kB
            sock.sendall(b'<getProperties version="1.7"/>')
        wait_for(lambda: server.indi.clients == 0, timeout=20)
    finally:
        sock.close()


def test_indi_beyond_loopback_with_a_token_is_a_configuration_error(tmp_path):
    token = tmp_path / "token"
    token.write_text("s3cret-token-for-tests\n")
    token.chmod(0o600)
    data = make_config(tmp_path).data
    data["Security"] = {**data["Security"], "Token File": str(token)}
    data["Device Server"] = {**data["Device Server"], "Enabled": True, "IP": "0.0.0.0", "INDI Port": 7624}
    assert any("INDI has neither tokens nor TLS" in p for p in check(data))
    data["Device Server"]["IP"] = "127.0.0.1"
    assert not check(data)
    data["Device Server"]["INDI Port"] = data["Device Server"]["Port"]
    assert any("INDI Port 11111 on 127.0.0.1 is Device Server's too" in p for p in check(data))


def test_connections_leave_no_descriptor_or_thread_behind(owner):
    _, server = owner
    _raw(server, b'<getProperties version="1.7" device="TOROS Dome"/>', 0.3)
    wait_for(lambda: server.indi.clients == 0, timeout=10)
    fds, threads = len(os.listdir("/proc/self/fd")), threading.active_count()
    for i in range(16):
        payload = b"<a></b>" if i % 2 else b'<getProperties version="1.7" device="TOROS Dome"/>'
        _raw(server, payload, 0.2)
    wait_for(lambda: server.indi.clients == 0, timeout=10)
    wait_for(lambda: len(os.listdir("/proc/self/fd")) <= fds and threading.active_count() <= threads, timeout=10)
