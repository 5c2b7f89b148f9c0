"""The mount contract over INDI: our backend against the INDI project's own indi_simulator_telescope under a
real indiserver (EQUATORIAL_EOD_COORD in JNow, ON_COORD_SET, TELESCOPE_PARK, TELESCOPE_ABORT_MOTION,
TELESCOPE_TRACK_STATE, GEOGRAPHIC_COORD), used as a third party uses the contract suite."""

from __future__ import annotations

import pytest

from tests.indi_server import module_server
from torosdrivers.coords import TOROS_SITE
from torosdrivers.mount.indi import IndiMount
from torosdrivers.testing.mount import *  # noqa: F401,F403


indiserver = module_server("indi_simulator_telescope")


@pytest.fixture
def mount(indiserver):
    with IndiMount(indiserver.address, "Telescope Simulator", site=TOROS_SITE, poll_interval=0.05) as device:
        # The simulator parks at the eastern horizon and goes at 6.5 deg/s: park near the zenith instead
        # (TELESCOPE_PARK_POSITION, as an operator sets it), which keeps this module's run to seconds
        device._link.set("POLLING_PERIOD", {"PERIOD_MS": 250})
        device._link.set("TELESCOPE_PARK_POSITION", {"PARK_HA": 0.0, "PARK_DEC": TOROS_SITE.lat.deg + 20.0})
        yield device


@pytest.fixture
def slow_mount(mount):
    return mount  # the simulator slews at its own pace (tests/contract/conftest.py slows only ours)


@pytest.fixture
def pointing_tolerance():
    # The simulator ends a goto within a few arcseconds, and its RA, updated at each 250 ms poll, trails the
    # sky by up to 15"/s of the poll's delay on a busy machine
    return 10.0


def test_the_given_site_is_sent_to_the_driver(mount):
    """GEOGRAPHIC_COORD is the configured site: the driver's JNow and horizon agree with ours."""
    link = mount._link
    assert link.number("GEOGRAPHIC_COORD", "LAT") == pytest.approx(TOROS_SITE.lat.deg, abs=1e-4)
    assert link.number("GEOGRAPHIC_COORD", "LONG") == pytest.approx(TOROS_SITE.lon.deg % 360, abs=1e-4)
    assert mount.site.lon.deg == pytest.approx(TOROS_SITE.lon.deg, abs=1e-4)


def test_the_wire_speaks_jnow(ready):
    """EQUATORIAL_EOD_COORD holds the target's apparent place of date, not its J2000 coordinates."""
    from torosdrivers.coords import icrs_to_epoch
    from torosdrivers.testing.mount import sky_at

    target = sky_at(ready, 60.0, 10.0)
    ready.slew_to(target, timeout=60)
    ra, dec = icrs_to_epoch(target, "jnow", ready.time, ready.site)
    wire_ra = ready._link.number("EQUATORIAL_EOD_COORD", "RA") * 15.0
    wire_dec = ready._link.number("EQUATORIAL_EOD_COORD", "DEC")
    # (after the contract's sync the simulator's gotos land, and track, up to half an arcminute off)
    assert abs(wire_dec - dec) * 3600 < 5 and abs((wire_ra - ra + 180) % 360 - 180) * 3600 < 60
    assert abs(wire_ra - target.ra.deg) * 3600 > 300  # J2000 is 20' away in RA in 2026
