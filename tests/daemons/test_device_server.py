"""``toros-devices``: one owner per device, the daemons and third-party Alpaca clients as its clients.

The reproduction of issue 13: the telescope and dome daemons configured with
one serial DDW dome used to open its port twice and fail each other's
orders. Through the device server both reach the one dome; concurrent moves
wait their turn instead of failing.
"""

from __future__ import annotations

import time

import alpaca.dome
import pytest
import requests

from tests.daemons.conftest import DOC_DOME, DOC_OBSERVATION, make_config, wait_state
from tests.rigs import small_observatory
from torosdrivers.daemons.services.devices import DeviceServer
from torosdrivers.daemons.services.dome import DomeService
from torosdrivers.daemons.services.telescope import TelescopeService
from torosdrivers.dome import ShutterState
from torosdrivers.dome.alpaca import AlpacaDome
from torosdrivers.errors import DeviceBusyError
from torosdrivers.simulators.serial import DDWResponder, SerialSimServer


@pytest.fixture
def owner(tmp_path):
    """A device server owning a serial DDW dome (on the simulator's TCP line) and simulated others."""
    world = small_observatory(200.0)  # the dome behind the DDW line
    with SerialSimServer(DDWResponder(world.dome), tcp=True) as line:
        config = make_config(tmp_path, Devices={"Camera": {"Backend": "simulator"},
                                                "Filter Wheel": {"Backend": "simulator"},
                                                "Mount": {"Backend": "simulator"},
                                                "Dome": {"Backend": "ddw", "Port": line.url}})
        with DeviceServer(config, port=0, discovery=False) as server:
            config.data["Device Server"] = {"Enabled": True, "IP": "127.0.0.1", "Port": server.server.port,
                                            "Discovery": False}
            yield config, server, world
    world.disconnect()


def test_a_client_that_disconnects_leaves_the_device_to_the_others(owner):
    config, server, _ = owner
    first, second = AlpacaDome(config.device_server, 0), AlpacaDome(config.device_server, 0)
    first.connect()
    second.connect()
    first.disconnect()
    assert second.shutter == ShutterState.CLOSED  # the DDW line is still open and answering
    assert server.devices.dome.connected
    second.disconnect()
    assert server.devices.dome.connected  # the owner holds it as long as it runs


def test_a_move_while_another_clients_move_runs_is_refused_by_name(owner):
    config, server, _ = owner
    base = f"http://{config.device_server}/api/v1/dome/0"
    for client in (1, 2):
        assert requests.put(f"{base}/connected", data={"Connected": "true", "ClientID": client},
                            timeout=5).json()["ErrorNumber"] == 0
    assert requests.put(f"{base}/openshutter", data={"ClientID": 1}, timeout=5).json()["ErrorNumber"] == 0
    refused = requests.put(f"{base}/slewtoazimuth", data={"Azimuth": "90", "ClientID": 2}, timeout=5).json()
    assert refused["ErrorNumber"] == DeviceBusyError.ascom_code
    assert "openshutter from client 1" in refused["ErrorMessage"]
    assert requests.put(f"{base}/abortslew", data={"ClientID": 2}, timeout=5).json()["ErrorNumber"] == 0  # always
    not_connected = requests.get(f"{base}/shutterstatus", params={"ClientID": 3}, timeout=5).json()
    assert not_connected["ErrorNumber"] == 0x407


def test_a_stock_alpaca_client_drives_the_serial_dome(owner):
    config, _, world = owner
    dome = alpaca.dome.Dome(config.device_server, 0)  # alpyca, as any third-party client
    dome.Connected = True
    dome.OpenShutter()
    deadline = time.monotonic() + 60
    while dome.ShutterStatus != 0:  # Open
        assert time.monotonic() < deadline, "the shutter did not open over Alpaca"
        time.sleep(0.05)
    assert world.dome.shutter == ShutterState.OPEN
    dome.Connected = False


def test_telescope_and_dome_daemons_share_one_serial_dome(owner):
    config, server, world = owner
    telescope = TelescopeService(config)
    telescope.serve(0)
    dome = DomeService(config)
    dome.serve(0)
    try:
        observation = dict(DOC_OBSERVATION, **{"Calibration Frames": "No"})
        telescope.front_desk(observation)
        plain = {k: v for k, v in DOC_DOME.items() if k != "Blink01"}  # the DDW has no Blink01
        orders = [dict(plain, ID="d0", Shutter="open"), dict(plain, ID="d1", Azimuth=90),
                  dict(plain, ID="d2", Shutter="close")]
        for order in orders:
            dome.front_desk(order)
        for order in orders:
            assert wait_state(dome, order["ID"], timeout=120)["State"] == "done"
        status = wait_state(telescope, observation["ID"], timeout=120)
        assert status["State"] == "done", status["Error"]
    finally:
        telescope.stop()  # disconnects its clients only
        assert server.devices.dome.connected
        dome.stop()



def test_stopping_one_daemon_leaves_the_shared_dome_to_the_other(owner):
    """Issue 14's reproduction: stopping the telescope daemon disconnected the dome the dome daemon used."""
    config, server, _ = owner
    telescope, dome = TelescopeService(config), DomeService(config)
    telescope.serve(0)
    dome.serve(0)
    try:
        telescope.stop()
        dome.front_desk({"ID": "after-stop", "WOType": "Dome", "Shutter": "open"})
        assert wait_state(dome, "after-stop", timeout=120)["State"] == "done"
    finally:
        dome.stop()


def test_a_restarted_device_server_is_reconnected_and_the_order_waits_for_it(owner, caplog):
    import logging

    caplog.set_level(logging.INFO, "toros")
    config, server, _ = owner
    dome = DomeService(config)
    dome.serve(0)
    try:
        port = server.server.port
        server.stop()  # the device server restarts: it forgets every client's Connected
        dome.front_desk({"ID": "meanwhile", "WOType": "Dome", "Shutter": "open"})  # checked from the cached actions
        time.sleep(0.5)
        assert dome.status("meanwhile")["State"] == "queued"
        with DeviceServer(config, port=port, discovery=False):
            assert wait_state(dome, "meanwhile", timeout=120)["State"] == "done"
            assert dome.health()["Devices"] == "connected"
        assert "back in the queue until the devices are back" in caplog.text
        assert "reconnecting the devices" in caplog.text
    finally:
        dome.stop()


def test_a_daemon_started_before_its_device_server_serves_and_connects_when_it_comes(tmp_path):
    import socket
    import xmlrpc.client

    with socket.socket() as probe:  # a free port, where nothing listens yet
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = make_config(tmp_path)
    config.data["Device Server"] = {"Enabled": True, "IP": "127.0.0.1", "Port": port, "Discovery": False}
    dome = DomeService(config)
    dome.serve(0)
    proxy = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{dome.server.port}", allow_none=True)
    try:
        t0 = time.monotonic()
        with pytest.raises(xmlrpc.client.Fault) as fault:
            proxy.front_desk(DOC_DOME)
        assert time.monotonic() - t0 < 1.0  # refused at once, not after a device timeout
        assert fault.value.faultCode == 3 and "has not been reached since this daemon started" in fault.value.faultString
        assert "cannot connect" in proxy.health()["Devices"]
        with DeviceServer(config, port=port, discovery=False):
            deadline = time.monotonic() + 30
            while proxy.health()["Devices"] != "connected":  # the backoff: 1 s, 2 s, 4 s...
                assert time.monotonic() < deadline
                time.sleep(0.2)
            assert wait_state(proxy, proxy.front_desk(DOC_DOME)["ID"])["State"] == "done"
    finally:
        dome.stop()
