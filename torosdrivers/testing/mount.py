"""Contract of `torosdrivers.mount.Mount`, run over every backend."""

from __future__ import annotations

import astropy.units as u
import pytest
from astropy.coordinates import EarthLocation, SkyCoord

from torosdrivers.testing import wait_for
from torosdrivers.coords import from_altaz, to_altaz
from torosdrivers.errors import InvalidValueError, NotConnectedError, OperationCancelledError, ParkedError


def sky_at(mount, alt, az):
    """ICRS coordinate now at (alt, az) above the mount."""
    return from_altaz(alt, az, mount.time, mount.site)


@pytest.fixture
def ready(mount):
    mount.unpark()
    mount.tracking = True
    return mount


def test_site_is_a_location(mount):
    assert isinstance(mount.site, EarthLocation)
    assert -90 <= mount.site.lat.deg <= 90


def test_slew_arrives_and_tracks(ready, pointing_tolerance, motion_timeout):
    target = sky_at(ready, 55.0, 120.0)
    ready.slew_to(target, timeout=motion_timeout)
    assert not ready.slewing
    assert ready.position.separation(target) < pointing_tolerance * u.arcsec
    altaz = ready.altaz  # compared at its own instant: the sky turns on the simulated clock between two calls
    assert altaz.alt.deg == pytest.approx(to_altaz(target, altaz.obstime, ready.site).alt.deg, abs=0.5)


def test_slew_accepts_a_pair_of_degrees_and_strings(ready, pointing_tolerance, motion_timeout):
    target = sky_at(ready, 60.0, 200.0)
    ready.slew_to((target.ra.deg, target.dec.deg), timeout=motion_timeout)
    assert ready.position.separation(target) < pointing_tolerance * u.arcsec
    ra = target.ra.to_string(unit="hourangle", sep=":", precision=3)
    dec = target.dec.to_string(unit="deg", sep=":", precision=2, alwayssign=True)
    ready.slew_to((ra, dec), timeout=motion_timeout)
    assert ready.position.separation(target) < pointing_tolerance * u.arcsec


def test_below_minimum_altitude_is_refused_with_the_altitude(ready):
    low = sky_at(ready, 5.0, 90.0)
    before = ready.position
    with pytest.raises(InvalidValueError, match=r"altitude 5\.\d deg, below the minimum altitude of 10\.0 deg"):
        ready.slew_to(low)
    assert not ready.slewing
    assert ready.position.separation(before) < 20 * u.arcsec  # the sky drifts past a parked mount
    ready.min_altitude = 2.0
    assert ready.min_altitude == 2.0 * u.deg


@pytest.mark.parametrize(
    "target, match",
    [
        ((10.0, 120.0), r"dec=120.0: expected -90 <= Dec <= 90"),
        ((400.0, 10.0), r"ra=400.0: expected 0 <= RA < 360"),
        (("25:00:00", "+10:00:00"), r"ra='25:00:00'"),
        (("garbage", 10.0), r"ra='garbage'"),
        ("M31", r"expected a SkyCoord or an \(ra, dec\) pair"),
    ],
)
def test_bad_target_names_the_value(ready, target, match):
    with pytest.raises(InvalidValueError, match=match):
        ready.slew_to(target)


def test_abort_mid_slew(slow_mount, motion_timeout):
    mount = slow_mount
    mount.unpark()
    mount.tracking = True
    start = sky_at(mount, 50.0, 90.0)
    mount.slew_to(start, timeout=motion_timeout)
    target = sky_at(mount, 50.0, 270.0)
    mount.slew_to(target, wait=False)
    assert mount.slewing
    wait_for(lambda: mount.position.separation(start) > 1 * u.deg, timeout=10)
    mount.abort()
    assert not mount.slewing
    here = mount.position
    assert here.separation(start) > 1 * u.deg
    assert here.separation(target) > 1 * u.deg


def test_abort_cancels_a_waiting_slew(slow_mount, motion_timeout):
    import threading

    mount = slow_mount
    mount.unpark()
    target = sky_at(mount, 45.0, 300.0)
    threading.Timer(0.05, mount.abort).start()
    with pytest.raises(OperationCancelledError, match="slew"):
        mount.slew_to(target, timeout=motion_timeout)


def test_park_and_unpark(ready, motion_timeout):
    ready.park(timeout=motion_timeout)
    assert ready.at_park
    assert not ready.tracking
    with pytest.raises(ParkedError, match="unpark"):
        ready.slew_to(sky_at(ready, 60.0, 0.0))
    with pytest.raises(ParkedError):
        ready.tracking = True
    ready.unpark()
    assert not ready.at_park
    ready.slew_to(sky_at(ready, 60.0, 0.0), timeout=motion_timeout)
    assert ready.tracking  # a slew to sky coordinates ends tracking them


def test_tracking_toggles(ready):
    assert ready.tracking
    ready.tracking = False
    assert not ready.tracking
    ready.tracking = True
    assert ready.tracking
    with pytest.raises(InvalidValueError, match="tracking='yes'"):
        ready.tracking = "yes"


def test_sync_corrects_the_reported_position(ready, pointing_tolerance, motion_timeout):
    target = sky_at(ready, 60.0, 45.0)
    ready.slew_to(target, timeout=motion_timeout)
    truth = SkyCoord(ra=target.ra + 0.05 * u.deg, dec=target.dec - 0.03 * u.deg)
    ready.sync(truth)
    assert ready.position.separation(truth) < pointing_tolerance * u.arcsec


def test_time_is_utc_now_of_the_mount(mount):
    t = mount.time
    assert t.scale == "utc"


def test_min_altitude_is_validated(mount):
    with pytest.raises(InvalidValueError, match="min_altitude=95"):
        mount.min_altitude = 95


def test_not_connected(mount):
    mount.disconnect()
    with pytest.raises(NotConnectedError):
        _ = mount.position
    mount.connect()
