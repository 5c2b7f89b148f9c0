"""Interrupted work resumes; "ready" means ready; a device server back is found within seconds (issue 23)."""

from __future__ import annotations

import socket
import time
import xmlrpc.client
from pathlib import Path

import pytest
from astropy.io import fits

from torosdrivers.daemons.services.devices import DeviceServer
from torosdrivers.dome import ShutterState
from torosdrivers.daemons.services.telescope import TelescopeService
from torosdrivers.daemons.frame.workorders import FAULT_DEVICE

from tests.daemons.conftest import DOC_OBSERVATION, make_config, transit_of, wait_state

ORDER = {**DOC_OBSERVATION, "Calibration Frames": "No", "Filter": "B"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(tmp_path, port: int):
    config = make_config(tmp_path, Simulator={"Time Scale": 100.0, "Size": 64, "Seed": 3, "Weather": [],
                                              "Start": transit_of(ORDER["RA"], ORDER["Dec"]).isot},
                         Telescope={"CCD Set Point": None})
    config.data["Device Server"] = {"Enabled": True, "IP": "127.0.0.1", "Port": port, "Discovery": False}
    return config


def _proxy(service) -> xmlrpc.client.ServerProxy:
    return xmlrpc.client.ServerProxy(f"http://127.0.0.1:{service.server.port}", allow_none=True)


def _until(predicate, what: str, timeout: float) -> float:
    began = time.monotonic()
    while not predicate():
        assert time.monotonic() - began < timeout, f"timed out waiting for {what}"
        time.sleep(0.02)
    return time.monotonic() - began


def test_ready_only_when_orders_are_accepted_and_the_device_server_is_found_within_seconds(tmp_path):
    port = _free_port()
    config = _config(tmp_path, port)
    service = TelescopeService(config)  # the device server is not there yet
    service.serve(0)
    proxy = _proxy(service)
    try:
        health = proxy.health()
        assert health["Healthy"] and not health["Ready"] and "filter wheel" in health["Not Ready"]
        with pytest.raises(xmlrpc.client.Fault) as refused:
            proxy.front_desk({**ORDER, "ID": "early"})
        assert refused.value.faultCode == FAULT_DEVICE
        time.sleep(4)  # long enough for the reconnect backoff to reach its longest wait (0.5 + 1 + 2 s)
        with DeviceServer(config, port=port, discovery=False):
            waited = _until(lambda: proxy.health()["Ready"], "ready", timeout=30)
            # The backoff's longest wait is 4 s; a loaded machine may add to it, the bound does not.
            assert waited <= 4.0 + 3.0, waited
            assert proxy.front_desk({**ORDER, "ID": "now", "Number of Exposures": 1})["State"] == "queued"
            assert wait_state(proxy, "now", timeout=60)["State"] == "done"
    finally:
        service.stop()


def test_an_order_running_when_the_device_server_dies_resumes_when_it_is_back_with_the_same_night(tmp_path):
    port = _free_port()
    config = _config(tmp_path, port)
    config.data["Simulator"]["State File"] = str(tmp_path / "simulator-state.json")
    owner = DeviceServer(config, port=port, discovery=False).start()
    service = TelescopeService(config)
    service.serve(0)
    proxy = _proxy(service)
    try:
        proxy.front_desk({**ORDER, "ID": "seq", "Exposure Time": 60.0, "Number of Exposures": 4})
        _until(lambda: "exposure 3 of 4" in proxy.status("seq")["Progress"], "exposure 3", timeout=60)
        owner.stop()  # the device server dies mid-exposure
        was = owner.devices.observatory.clock.now()
        _until(lambda: proxy.status("seq")["State"] == "queued", "the order back in the queue", timeout=30)
        waiting = proxy.status("seq")
        # Its own call, or the safety supervisor's look at the weather station, finds the server gone first.
        assert any(w in waiting["Progress"] for w in ("devices dropped", "unreachable")), waiting["Progress"]
        assert len(waiting["Details"]["Frames"]) == 2
        owner = DeviceServer(config, port=port, discovery=False).start()
        world = owner.devices.observatory
        assert world.clock.now() >= was  # the same night goes on: no jump back to Simulator: Start
        assert world.dome.shutter == ShutterState.OPEN and not world.mount.at_park  # as the night left them
        done = wait_state(proxy, "seq", timeout=120)
        assert done["State"] == "done", done
        assert "4 of 4 lights verified" in done["Result"]
        names = sorted(Path(f["Path"]).name for f in done["Details"]["Frames"])
        assert names == [f"seq_light_{i:03d}.fits" for i in range(4)]
        assert all(fits.getheader(f["Path"])["FRAMECHK"] == "PASSED" for f in done["Details"]["Frames"])
    finally:
        service.stop()
        owner.stop()
