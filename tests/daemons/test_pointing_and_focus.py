"""The telescope daemon acquires, solves, keeps a pointing model and focuses (issue 25), over XML-RPC.

The simulated mount points arcminutes wrong (TPOINT terms), the simulated
optics blur away from best focus, and the sky shows the Tycho-2 stars of the
installed astrometry.net index files: what the frames say is checked
against the simulator's truth.
"""

from __future__ import annotations

import xmlrpc.client

import astropy.units as u
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits

from torosdrivers.astrometry import solver_available
from torosdrivers.ccd.wcs import focal_length
from torosdrivers.daemons.tools.views import optics_lines

from .conftest import DOC_OBSERVATION, Stack, make_config, wait_state

#: 60 deg up at the start, in V
FIELD = {"RA": 95.7, "Dec": -26.1, "Filter": "V"}

pytestmark = pytest.mark.skipif(not solver_available(), reason="astrometry.net is not installed")


@pytest.fixture
def sky_stack(tmp_path):
    # A 68' field (1024 px at 4"/px), what the Tycho-2 index files solve
    config = make_config(
        tmp_path, Telescope={"Focal Length": focal_length(15.0, 4.0)},
        Simulator={"Size": 1024, "Mount Errors": 1.0, "Optics": True, "Catalogue": "auto", "Time Scale": 100.0,
                   "Start": "2026-12-01T04:00:00"},  # a dark night, the Moon down (its light floods 4" pixels)
        Focus={"Enabled": True, "Step": 400, "Exposure": 10.0},
        Acquisition={"Exposure": 3.0})
    s = Stack(config)
    yield s
    s.stop()


def test_an_observation_focuses_acquires_and_writes_the_solved_wcs(sky_stack):
    telescope = sky_stack.proxy(sky_stack.telescope)
    order = {**DOC_OBSERVATION, "ID": "acq-1", "Number of Exposures": 2, "Exposure Time": 10.0,
             "Calibration Frames": "No", **FIELD}
    telescope.front_desk(order)
    status = wait_state(telescope, "acq-1", timeout=180)
    assert status["State"] == "done", status
    details = status["Details"]
    acquisition = details["Acquisition"]
    assert acquisition["Acquired"] and acquisition["Corrections"] <= 2, acquisition
    assert acquisition["First Offset"] > 30.0  # the mount's own error, before any model
    assert details["Focus"]["Reason"] == "start of the night" and details["Focus"]["Exposures"] <= 11
    target = SkyCoord(order["RA"] * u.deg, order["Dec"] * u.deg)
    truth = sky_stack.telescope.devices.observatory.mount.optical_axis()
    assert truth.separation(target).arcsec <= 10.0  # where the tube truly looks, not what anything says
    lights = [f for f in details["Frames"] if f["Type"] == "LIGHT"]
    assert len(lights) == 2
    for light in lights:
        header = fits.getheader(light["Path"])
        assert header["SOLVED"] is True and header["PNTOFF"] >= 0
        solved = SkyCoord(header["SOLVRA"] * u.deg, header["SOLVDEC"] * u.deg)
        assert solved.separation(target).arcsec <= 10.0
        assert abs(header["CRVAL1"] - header["SOLVRA"]) < 1e-3  # the WCS is the solved one...
        assert "RA" in header and "FOCUSPOS" in header  # ...the pointing stays in RA/DEC
    optics = telescope.state()["Optics"]
    assert optics["Acquisition"] == "on" and optics["Last Solve"]["Offset"] is not None
    assert optics["Model"]["Points"] >= 3 and optics["Focus"]["Position"] == details["Focus"]["Position"]
    shown = optics_lines(optics)  # what toros status prints
    assert "POINTING  acquisition on" in shown and "model: IH" in shown and "last acquisition" in shown
    assert f"FOCUS  {details['Focus']['Position']} steps" in shown and "start of the night" in shown
    # The next order of the night neither refocuses nor trusts the first slew blindly: the model learnt
    telescope.front_desk({**order, "ID": "acq-2", "Number of Exposures": 1})
    second = wait_state(telescope, "acq-2", timeout=120)
    assert second["State"] == "done", second
    assert "Focus" not in second["Details"] or "offset" in second["Details"]["Focus"]["Reason"]


def test_focus_and_pointing_model_orders(sky_stack, tmp_path):
    telescope = sky_stack.proxy(sky_stack.telescope)
    telescope.front_desk({"ID": "focus-1", "WOType": "Focus", "Filter": "V"})
    status = wait_state(telescope, "focus-1", timeout=120)
    assert status["State"] == "done", status
    assert "best focus" in status["Result"] and status["Details"]["Focus"]["Filter"] == "V"
    telescope.front_desk({"ID": "model-1", "WOType": "Pointing Model", "Points": 9, "Exposure Time": 2.0})
    status = wait_state(telescope, "model-1", timeout=180)
    assert status["State"] == "done", status
    model = status["Details"]["Pointing Model"]
    assert model["Solved"] == 9 and set(model["Model"]["Terms"]) == {"IH", "ID", "CH", "NP", "MA", "ME", "TF"}
    assert model["Model"]["RMS"] < 10.0
    saved = tmp_path / "data" / "pointing-model.json"
    assert saved.exists()
    with pytest.raises(xmlrpc.client.Fault, match="Points.*from 3 to 500"):
        telescope.front_desk({"ID": "model-2", "WOType": "Pointing Model", "Points": 1})


def test_what_the_telescope_cannot_do_is_refused_by_name(tmp_path):
    """A telescope without a focuser and on a field too small to solve says so, and runs what it can."""
    stack = Stack(make_config(tmp_path))  # 128 px at 1"/px: 2' of sky
    try:
        telescope = stack.proxy(stack.telescope)
        with pytest.raises(xmlrpc.client.Fault, match="does not focus"):
            telescope.front_desk({"ID": "f", "WOType": "Focus"})
        with pytest.raises(xmlrpc.client.Fault, match=r"cannot solve frames \(.*field"):
            telescope.front_desk({**DOC_OBSERVATION, "ID": "a", "Acquire": "Yes"})
        assert telescope.state()["Optics"]["Acquisition"].startswith("off")
    finally:
        stack.stop()
