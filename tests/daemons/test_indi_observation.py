"""An Observation through the telescope daemon with its mount and filter wheel on the INDI project's own
simulators (indi_simulator_telescope and _wheel under a real indiserver), configured as `Backend: indi`. The simulated camera sees the sky through that INDI mount, as it does through an Alpaca
or serial one; the INDI simulators keep the wall clock, so the test puts its site where it is night now and
observes a field near the zenith there."""

from __future__ import annotations

import xmlrpc.client
from pathlib import Path

from astropy.coordinates import get_sun
from astropy.io import fits
from astropy.time import Time

from tests.daemons.conftest import DOC_OBSERVATION, make_config, wait_state
from tests.indi_server import IndiServer, require
from torosdrivers.coords import separation
from torosdrivers.daemons.services.telescope import TelescopeService
from torosdrivers.mount.indi import IndiMount


def test_an_observation_with_an_indi_mount_and_wheel(tmp_path):
    require()
    now = Time.now()
    gmst = float(now.sidereal_time("mean", "greenwich").deg)
    # The Sun's hour angle 180 deg at this longitude: local midnight, whatever the hour of the test
    longitude = (float(get_sun(now).ra.deg) + 180.0 - gmst + 180.0) % 360.0 - 180.0
    latitude = -24.6228
    zenith_ra = (gmst + longitude) % 360.0
    server = IndiServer("indi_simulator_telescope", "indi_simulator_wheel")
    indi = {"Backend": "indi", "Address": server.address}
    config = make_config(
        tmp_path, Site={"Latitude": latitude, "Longitude": longitude},
        # The simulated camera and dome run four times the wall clock's pace (their sky a minute ahead by the
        # end: 0.25 deg, inside the slit), and would still take a minute to cool to -20 C: a set point a
        # degree below the camera's 10 C ambient keeps the test to the INDI simulators' own pace
        Telescope={"CCD Set Point": 9.0},
        Simulator={"Time Scale": 4.0, "Start": now.isot, "Size": 128},
        Devices={"Mount": {**indi, "Device": "Telescope Simulator"},
                 "Filter Wheel": {**indi, "Device": "Filter Simulator"}})
    service = TelescopeService(config)
    try:
        assert isinstance(service.devices.mount, IndiMount)
        proxy = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{service.serve(0).port}", allow_none=True)
        ra, dec = (zenith_ra + 5.0) % 360.0, latitude - 5.0
        proxy.front_desk({**DOC_OBSERVATION, "RA": ra, "Dec": dec, "Filter": "Red", "Exposure Time": 8.0,
                          "Number of Exposures": 2, "Calibration Frames": "No"})
        status = wait_state(proxy, "1", timeout=180)
        assert status["State"] == "done", status
        night = Path(status["Result"].split(" frames in ")[1].split(";")[0])
        for n in range(2):
            header = fits.getheader(night / f"1_light_{n:03d}.fits")
            # The pointing as the INDI mount reports it (JNow over the wire, ICRS in the header)
            assert separation(header["RA"], header["DEC"], ra, dec) < 30 / 3600
            assert header["FILTER"] == "Red" and header["FRAMECHK"] == "PASSED"
        link = service.devices.filter_wheel._link  # and the INDI wheel's own slot holds it
        slot = int(link.number("FILTER_SLOT", "FILTER_SLOT_VALUE"))
        assert link.members("FILTER_NAME")[f"FILTER_SLOT_NAME_{slot}"] == "Red"
    finally:
        service.stop()
        server.stop()
