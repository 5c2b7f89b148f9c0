"""Discovery on loopback, and toros-alpaca-sim as a process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from tests.rigs import small_observatory
from torosdrivers.alpaca.client import discover
from torosdrivers.ccd.alpaca import AlpacaCamera
from torosdrivers.simulators.alpaca.cli import serve_observatory


def test_discovery_finds_the_server_and_its_devices():
    obs = small_observatory(1000.0)
    with serve_observatory(obs, port=0, discovery_port=0) as server:
        host, port = server.discovery_address
        found = discover(broadcast=host, port=port, timeout=1.0)
    assert [s.address for s in found] == [server.address]
    assert found[0].server_name == "TOROS simulated observatory"
    assert sorted(d["DeviceType"] for d in found[0].devices) == ["Camera", "Dome", "FilterWheel", "Focuser",
                                                                "ObservingConditions", "SafetyMonitor", "Telescope"]


def test_discovery_with_nobody_listening_finds_nothing():
    assert discover(broadcast="127.0.0.1", port=9, timeout=0.3) == []


def test_console_script_serves_a_camera():
    process = subprocess.Popen(
        [sys.executable, "-m", "torosdrivers.simulators.alpaca.cli", "--port", "0", "--size", "64",
         "--time-scale", "1000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = process.stdout.readline()
        assert "Alpaca server on http://127.0.0.1:" in line, process.stderr.read()
        address = line.split("http://")[1].split()[0]
        with AlpacaCamera(address, poll_interval=0.01) as camera:
            assert camera.expose(0.0, light=False).data.shape == (64, 64)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
