"""The same observation with the serial mount (LX200 over the byte stream) behind the telescope daemon.

(The Alpaca backends run the documented orders in ``test_the_main_job``.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
from astropy.io import fits
from astropy.time import Time

from tests.daemons.conftest import DOC_OBSERVATION, make_config, wait_state
from torosdrivers.config import Devices
from torosdrivers.daemons.services.telescope import TelescopeService
from torosdrivers.mount.lx200 import LX200Mount
from torosdrivers.simulators import SimulatedObservatory
from torosdrivers.simulators.serial import LX200Responder, SerialSimServer


def test_observation_with_the_lx200_mount(tmp_path):
    config = make_config(tmp_path)
    sim = config["Simulator"]
    obs = SimulatedObservatory(time_scale=sim["Time Scale"], seed=1, start=Time(sim["Start"]), width=64, height=64)
    with SerialSimServer(LX200Responder(obs.mount), tcp=False) as line:  # a pty, as a USB adapter appears
        mount = LX200Mount(line.url, timeout=2.0, poll_interval=0.01)
        service = TelescopeService(config, devices=Devices(obs.camera, obs.filter_wheel, mount, obs.dome, obs))
        try:
            server = service.serve(0)
            import xmlrpc.client

            proxy = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{server.port}", allow_none=True)
            proxy.front_desk({**DOC_OBSERVATION, "Calibration Frames": "No"})
            status = wait_state(proxy, "1")
            assert status["State"] == "done", status
            night = Path(status["Result"].split(" frames in ")[1].split(";")[0])
            header = fits.getheader(night / "1_light_000.fits")
            # The pointing went over the serial line (JNow, 1 s of RA): the header's RA/Dec
            # come from the LX200 mount, the pixels from where the simulator truly points.
            assert header["RA"] == pytest.approx(23.1, abs=10 / 3600) and header["DEC"] == pytest.approx(13.2, abs=10 / 3600)
            assert obs.mount.optical_axis().separation(mount.position).arcsec < 10
        finally:
            service.stop()
            obs.disconnect()
