"""The Moonlite protocol: its codecs, the simulated controller as a stock client sees it, and the device server
publishing the focuser (issue 25)."""

from __future__ import annotations

import socket

import pytest

from torosdrivers.config import build_devices
from torosdrivers.errors import DriverError
from torosdrivers.focuser.moonlite import MoonliteFocuser
from torosdrivers.serialio import moonlite
from torosdrivers.simulators import SimulatedObservatory
from torosdrivers.simulators.serial.moonlite import MoonliteResponder
from torosdrivers.simulators.serial.transport import SerialSimServer

from tests.rigs import NIGHT


@pytest.mark.parametrize("reply, celsius", [(b"0028#", 20.0), (b"FFF6#", -5.0), (b"0000#", 0.0), (b"FF9C#", -50.0)])
def test_temperature_is_signed_half_degrees(reply, celsius):
    assert moonlite.temperature_of(reply) == celsius


@pytest.mark.parametrize("bad", [b"#", b"12G4#", b"", b"--#"])
def test_a_garbled_number_is_refused(bad):
    with pytest.raises(ValueError):
        moonlite.parse_hex(bad)


def test_positions_are_four_hex_digits_within_sixteen_bits():
    assert moonlite.set_target(0x1A2B) == b":SN1A2B#" and moonlite.set_position(7) == b":SP0007#"
    with pytest.raises(ValueError):
        moonlite.set_target(65536)


@pytest.fixture
def controller():
    obs = SimulatedObservatory(time_scale=1000, seed=3, start=NIGHT, width=32, height=32)
    server = SerialSimServer(MoonliteResponder(obs.focuser), tcp=True).start()
    yield obs, server
    server.stop()
    obs.disconnect()


def _ask(sock: socket.socket, command: bytes, size: int) -> bytes:
    sock.sendall(command)
    out = b""
    while len(out) < size:
        out += sock.recv(64)
    return out


def test_the_controller_answers_as_a_stock_client_expects(controller):
    """As INDI's moonlite.cpp talks: :GV# two characters and no '#', hex answers, commands split and noisy."""
    obs, server = controller
    host, port = server.url.removeprefix("socket://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        assert _ask(s, b":GV#", 2) == b"10"
        assert _ask(s, b":GP#", 5) == b"7530#"  # 30000
        assert _ask(s, b"\x00garbage:G", 0) == b"" and _ask(s, b"I#", 3) == b"00#"  # split, after noise
        s.sendall(b":SN7918#:FG#")  # 31000, go
        assert _ask(s, b":GN#", 5) == b"7918#"
        while _ask(s, b":GI#", 3) != b"00#":
            pass
        assert _ask(s, b":GP#", 5) == b"7918#" and obs.focuser.position == 31000
        s.sendall(b":SP0064#")  # sync: the position is now called 100; the optics stay where they are
        assert _ask(s, b":GP#", 5) == b"0064#" and obs.focuser.true_position() == 31000
        assert _ask(s, b":C#:GT#", 5) == f"{int(obs.focuser.temperature.value * 2) & 0xFFFF:04X}#".encode()
        assert _ask(s, b":GH#", 3) == b"00#" and _ask(s, b":SH#:GH#", 3) == b"FF#"


def test_a_focuser_that_does_not_answer_is_never_reported_connected(controller):
    obs, server = controller
    server.faults.mute = True
    focuser = MoonliteFocuser(server.url, timeout=0.3, retries=0)
    with pytest.raises(DriverError, match="GV"):  # no reply in time, naming the command
        focuser.connect()
    assert not focuser.connected


def test_the_device_server_publishes_the_focuser_to_the_daemons(tmp_path):
    from tests.daemons.conftest import make_config
    from torosdrivers.daemons.services.devices import DeviceServer

    config = make_config(tmp_path, Simulator={"Time Scale": 1e4, "Size": 32, "Seed": 1, "Weather": [], "Start": ""})
    owner = DeviceServer(config, port=0, discovery=False).start()
    try:
        config.data["Device Server"] = {"Enabled": True, "IP": "127.0.0.1", "Port": owner.server.port,
                                        "Discovery": False}
        focuser = build_devices(config, ("Focuser",)).focuser
        focuser.connect()
        focuser.move(12345)
        assert owner.devices.focuser.position == 12345 == focuser.position
        focuser.disconnect()
    finally:
        owner.stop()
