"""Daemons on loopback, in-process, with a configuration under a temporary folder."""

from __future__ import annotations

import copy
import dataclasses
import xmlrpc.client

import numpy as np
import pytest
import yaml
from astropy.coordinates import SkyCoord
from astropy.time import Time, TimeDelta

from torosdrivers.config import DEFAULTS, Config
from torosdrivers.config_schema import check
from torosdrivers.coords import TOROS_SITE, to_altaz
from torosdrivers.daemons.services.dome import DomeService
from torosdrivers.daemons.services.preprocessor import PreprocessorService
from torosdrivers.daemons.services.telescope import TelescopeService
from torosdrivers.daemons.frame.workorders import EXAMPLE_DOME, EXAMPLE_OBSERVATION

DOC_OBSERVATION, DOC_DOME = EXAMPLE_OBSERVATION, EXAMPLE_DOME  # the documentation's, verbatim


def transit_of(ra: float, dec: float) -> Time:
    """A time on 2026-09-25 when (ra, dec) stands highest over the TOROS site (the documented field: at
    05:45 UTC, 52 deg up, the Sun 57 deg below the horizon: a dark night the safety supervisor keeps open)."""
    times = Time("2026-09-25T00:00:00") + TimeDelta(np.arange(0, 86400, 900), format="sec")
    alts = to_altaz(SkyCoord(ra, dec, unit="deg"), times, TOROS_SITE).alt.deg
    return times[int(np.argmax(alts))]


def make_config(tmp_path, **sections) -> Config:
    data = copy.deepcopy(DEFAULTS)
    data["Database"] = {"Journal": str(tmp_path / "journal.sqlite"), "Catalog": str(tmp_path / "catalog.sqlite")}
    data["Data Directory"] = str(tmp_path / "data")
    data["Logging"]["File"] = str(tmp_path / "toros.log")
    data["Device Server"] = {**data["Device Server"], "Enabled": False}  # one in-process Devices, shared
    # The sky runs at the time scale too: at 1000 a second of test is 17 minutes of night.
    data["Simulator"] = {"Time Scale": 1e3, "Size": 128, "Seed": 1, "Weather": [],
                         "Start": transit_of(DOC_OBSERVATION["RA"], DOC_OBSERVATION["Dec"]).isot}
    for key, value in sections.items():
        name = key.replace("_", " ")
        data[name] = {**data[name], **value} if isinstance(value, dict) and isinstance(data[name], dict) else value
    problems = check(data)
    assert not problems, problems
    return Config(data, "test")


class Stack:
    """The three daemons, sharing one simulated observatory, and a proxy to each."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.preprocessor = PreprocessorService(config)
        port = self.preprocessor.serve(0).port
        config.data["Preprocessor Address"].update(Port=port, HTTP=f"http://127.0.0.1:{port}")
        self.telescope = TelescopeService(config)
        self.telescope.serve(0)
        # As in the field: the dome daemon drives the dome and reads the mount (no camera to abort).
        self.dome = DomeService(config, devices=dataclasses.replace(self.telescope.devices, camera=None,
                                                                    filter_wheel=None))
        self.dome.serve(0)

    def proxy(self, service) -> xmlrpc.client.ServerProxy:
        return xmlrpc.client.ServerProxy(f"http://127.0.0.1:{service.server.port}", allow_none=True)

    def stop(self) -> None:
        for service in (self.dome, self.telescope, self.preprocessor):
            service.stop()


@pytest.fixture
def stack(tmp_path):
    s = Stack(make_config(tmp_path))
    yield s
    s.stop()


def wait_state(proxy, order_id: str, timeout: float = 60.0) -> dict:
    import time

    deadline = time.monotonic() + timeout
    while True:
        status = proxy.status(order_id)
        if status["State"] in ("done", "failed", "cancelled"):
            return status
        assert time.monotonic() < deadline, f"order {order_id} still {status['State']}: {status['Progress']}"
        time.sleep(0.05)


def client_config(stack, tmp_path) -> str:
    path = tmp_path / "client.yaml"
    ports = {name: getattr(stack, name).server.port for name in ("preprocessor", "telescope", "dome")}
    path.write_text(yaml.safe_dump({
        "Preprocessor Address": {"HTTP": f"http://127.0.0.1:{ports['preprocessor']}", "IP": "127.0.0.1",
                                 "Port": ports["preprocessor"]},
        "Telescope Address": {"IP": "127.0.0.1", "Port": ports["telescope"]},
        "Dome Address": {"IP": "127.0.0.1", "Port": ports["dome"]},
    }))
    return str(path)
