"""Issue 15: frames with a WCS that fits the sky, one clock per frame, and the keywords pipelines expect."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.nddata import CCDData
from astropy.time import Time
from astropy.wcs import WCS

from tests.rigs import NIGHT, alpaca_rig
from torosdrivers.ccd import FrameContext
from torosdrivers.ccd.context import Snapshot
from torosdrivers.ccd.wcs import focal_length
from torosdrivers.coords import TOROS_SITE, from_altaz, to_altaz
from torosdrivers.simulators import SimulatedObservatory
from torosdrivers.simulators.sky import Projection


@pytest.fixture(scope="module")
def sky():
    with SimulatedObservatory(time_scale=math.inf, seed=3, start=NIGHT, width=512, height=384,
                              star_density=20000) as obs:
        obs.mount.unpark()
        obs.mount.slew_to(from_altaz(65.0, 120.0, obs.mount.time, obs.mount.site))
        obs.dome.open_shutter()
        obs.dome.slew_to_azimuth(round(obs.mount.altaz.az.deg, 1) % 360.0)
        obs.filter_wheel.select("V")
        yield obs


def _rendered(obs, scene):
    """Where the simulator put each star of a scene, in the frame's 0-based pixels."""
    spec = obs.camera.sensor.spec
    ra0, dec0 = scene.pointing
    projection = Projection(ra0, dec0, spec.plate_scale, spec.width, spec.height)
    ra, dec, mag = obs.stars.stars_near(ra0, dec0, projection.radius)
    x, y, front = projection.to_pixels(ra, dec)
    (bx, by), sub = scene.binning, scene.subframe
    xb, yb = (x + 0.5) / bx - 0.5 - sub.x, (y + 0.5) / by - 0.5 - sub.y
    inside = front & (xb > 0) & (xb < sub.width - 1) & (yb > 0) & (yb < sub.height - 1)
    return ra[inside], dec[inside], xb[inside], yb[inside], mag[inside]


@pytest.mark.parametrize("binning, subframe", [((1, 1), None), ((2, 2), (40, 30, 150, 120))])
def test_the_wcs_puts_the_stars_where_they_were_rendered(sky, binning, subframe):
    camera = sky.camera
    camera.binning = binning
    camera.subframe = subframe
    try:
        frame = camera.expose(10.0)
    finally:
        camera.binning, camera.subframe = (1, 1), None
    wcs = WCS(frame.header)
    assert wcs.has_celestial and frame.header["CTYPE1"] == "RA---TAN"
    ra, dec, x, y, mag = _rendered(sky, camera.last_scene)
    assert ra.size > 20
    px, py = wcs.world_to_pixel(SkyCoord(ra, dec, unit="deg"))
    assert np.max(np.hypot(px - x, py - y)) < 0.1
    brightest = int(np.argmin(mag))  # and in the pixels: the brightest star's light-weighted centre
    cx, cy = int(round(x[brightest])), int(round(y[brightest]))
    if 4 <= cx < frame.data.shape[1] - 4 and 4 <= cy < frame.data.shape[0] - 4:
        stamp = frame.data[cy - 4:cy + 5, cx - 4:cx + 5].astype(float)
        stamp -= np.median(frame.data)
        stamp = np.clip(stamp, 0, None)
        gy, gx = np.mgrid[cy - 4:cy + 5, cx - 4:cx + 5]
        measured = (np.sum(stamp * gx) / stamp.sum(), np.sum(stamp * gy) / stamp.sum())
        assert math.hypot(measured[0] - px[brightest], measured[1] - py[brightest]) < 0.5


def test_keywords_a_pipeline_expects_and_ccddata_reads_every_frame(sky, tmp_path):
    frame = sky.camera.expose(10.0, object="NGC 5236")
    header = frame.header
    for key in ("BUNIT", "RDNOISE", "SATURATE", "OBSERVAT", "XPIXSZ", "YPIXSZ", "FOCALLEN", "DATE-END", "LST", "HA",
                "AIRMASS", "OBJCTALT", "INSTRUME"):
        assert key in header, key
    assert header["OBJECT"] == "NGC 5236" and header["INSTRUME"] == sky.camera.name
    ccd = CCDData.read(frame.write(tmp_path / "light.fits", overwrite=True))
    assert ccd.unit == "adu" and ccd.wcs.has_celestial


def test_airmass_is_at_mid_exposure_and_absent_below_the_horizon():
    with SimulatedObservatory(time_scale=math.inf, seed=3, start=NIGHT, width=64, height=64) as obs:
        obs.mount.unpark()
        obs.mount.slew_to(from_altaz(15.0, 200.0, obs.mount.time, obs.mount.site))
        obs.mount.tracking = True
        frame = obs.camera.expose(300.0)
        start = Time(frame.header["DATE-OBS"])
        mid = start + (Time(frame.header["DATE-END"]) - start) / 2
        pointing = SkyCoord(frame.header["RA"], frame.header["DEC"], unit="deg")
        alt = to_altaz(pointing, mid, obs.mount.site).alt.deg
        assert frame.header["OBJCTALT"] == pytest.approx(alt, abs=1e-3)
        assert frame.header["DATE-END"] > frame.header["DATE-OBS"]
        obs.mount.tracking = False
    # Below the horizon (the simulated mount refuses to slew there, so the context is asked directly):
    # the north celestial region from TOROS, 24.6 deg south.
    below = Snapshot([], SkyCoord(0.0, 80.0, unit="deg"), TOROS_SITE)
    cards = {key: value for key, value, _ in FrameContext.timed_cards(below, NIGHT, 60.0)}
    assert cards["OBJCTALT"] < 0 and "AIRMASS" not in cards


def test_over_alpaca_frames_carry_the_simulated_clock():
    """The simulator started on 2026-06-21 at time scale 1000: three 60 s frames are 60 s apart in its time."""
    with alpaca_rig() as rig:
        rig.camera.context = FrameContext(telescope="TOROS-SIM", mount=rig.mount, filter_wheel=rig.filter_wheel,
                                          focal_length=focal_length(15.0, 1.0))
        rig.mount.unpark()
        rig.mount.slew_to(from_altaz(50.0, 150.0, rig.mount.time, rig.mount.site))
        frames = [rig.camera.expose(60.0) for _ in range(3)]
        starts = [Time(f.header["DATE-OBS"]) for f in frames]
        assert all(abs((s - NIGHT).sec) < 3600 for s in starts)  # the simulated night, not today
        gaps = [(b - a).sec for a, b in zip(starts, starts[1:])]
        assert all(60.5 <= g < 600.0 for g in gaps), gaps  # 60 s plus readout (and our polling), simulated
        for f, s in zip(frames, starts):
            assert f.header["EXPTIME"] == 60.0
            assert (Time(f.header["DATE-END"]) - s).sec == pytest.approx(60.0, abs=1e-3)
            assert 45.0 < f.header["OBJCTALT"] < 55.0 and 1.2 < f.header["AIRMASS"] < 1.4
        assert starts[-1] == rig.camera.last_exposure_start
        assert frames[0].header["INSTRUME"] != rig.camera.name  # the camera's own name, not the connection
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert WCS(frames[0].header).has_celestial


def test_rdnoise_comes_from_the_configuration_where_the_camera_cannot_say(tmp_path):
    """Issue 25: ASCOM's ICamera has no read-noise member, so an Alpaca camera's frames lacked RDNOISE."""
    from tests.daemons.conftest import make_config
    from torosdrivers.config import build_devices
    from torosdrivers.daemons.services.devices import DeviceServer

    config = make_config(tmp_path, Simulator={"Time Scale": 1e4, "Size": 32, "Seed": 1, "Weather": [], "Start": ""},
                         Devices={"Camera": {"Backend": "simulator", "Read Noise": 7.5}})
    owner = DeviceServer(config, port=0, discovery=False).start()
    try:
        config.data["Device Server"] = {"Enabled": True, "IP": "127.0.0.1", "Port": owner.server.port,
                                        "Discovery": False}
        camera = build_devices(config, ("Camera",)).camera  # the Alpaca client of the device server
        camera.connect()
        assert camera.expose(0.0, light=False).header["RDNOISE"] == 7.5
        camera.disconnect()
    finally:
        owner.stop()
