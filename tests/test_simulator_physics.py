"""The simulated observatory behaves like the sky and the hardware."""

from __future__ import annotations

import math
import time

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from tests.rigs import NIGHT
from torosdrivers.coords import from_altaz
from torosdrivers.simulators import SimulatedObservatory
from torosdrivers.simulators.sky import Projection

SIZE = 512


@pytest.fixture
def obs():
    """An instant observatory, pointed at a rich field with the dome open in front."""
    with SimulatedObservatory(
        time_scale=math.inf, seed=11, start=NIGHT, width=SIZE, height=SIZE, star_density=20000
    ) as obs:
        obs.mount.unpark()
        obs.mount.tracking = True
        point(obs, from_altaz(60.0, 100.0, obs.mount.time, obs.mount.site))
        obs.dome.open_shutter()
        obs.filter_wheel.select("V")
        yield obs


def point(obs, target):
    obs.mount.slew_to(target)
    obs.dome.slew_to_azimuth(obs.mount.altaz.az.deg % 360.0)


def median(frame) -> float:
    return float(np.median(frame.data))


def shift_between(a: np.ndarray, b: np.ndarray) -> tuple[int, int]:
    """Integer (dy, dx) such that b[y, x] ~ a[y - dy, x - dx], by cross-correlation."""
    fa = np.clip(a - np.median(a), 0, None)
    fb = np.clip(b - np.median(b), 0, None)
    corr = np.fft.irfft2(np.fft.rfft2(fb) * np.conj(np.fft.rfft2(fa)), s=a.shape)
    dy, dx = np.unravel_index(np.argmax(corr), corr.shape)
    return (int(dy) if dy < a.shape[0] // 2 else int(dy) - a.shape[0],
            int(dx) if dx < a.shape[1] // 2 else int(dx) - a.shape[1])


def test_stars_move_with_the_pointing(obs):
    centre = obs.mount.position
    a = obs.camera.expose(30.0).data.astype(float)
    point(obs, SkyCoord(centre.ra, centre.dec + 30 * u.arcsec))
    north = obs.camera.expose(30.0).data.astype(float)
    point(obs, SkyCoord(centre.ra + 40 * u.arcsec / math.cos(centre.dec.rad), centre.dec))
    east = obs.camera.expose(30.0).data.astype(float)
    # 1 arcsec per pixel, north up (+y), east left (-x): pointing north moves
    # the stars south by the same number of pixels; pointing east moves them west.
    assert shift_between(a, north) == (-30, 0)
    assert shift_between(a, east) == (0, 40)


def test_brightest_star_sits_at_its_catalogue_position(obs):
    frame = obs.camera.expose(10.0)
    ra0, dec0 = frame.header["RA"], frame.header["DEC"]
    spec = obs.camera.sensor.spec
    proj = Projection(ra0, dec0, spec.plate_scale, spec.width, spec.height)
    ra, dec, mag = obs.stars.stars_near(ra0, dec0, proj.radius)
    x, y, _ = proj.to_pixels(ra, dec)
    inside = (x > 10) & (x < SIZE - 10) & (y > 10) & (y < SIZE - 10)
    brightest = np.argmin(np.where(inside, mag, np.inf))
    ex, ey = x[brightest], y[brightest]
    iy, ix = int(round(ey)), int(round(ex))
    stamp = frame.data[iy - 4 : iy + 5, ix - 4 : ix + 5].astype(float) - median(frame)
    yy, xx = np.mgrid[-4:5, -4:5]
    cy = iy + (stamp * yy).sum() / stamp.sum()
    cx = ix + (stamp * xx).sum() / stamp.sum()
    assert math.hypot(cx - ex, cy - ey) < 0.5


def test_dark_signal_grows_with_exposure_time(obs):
    camera = obs.camera
    bias = median(camera.expose(0.0, light=False))
    rate = camera.sensor.dark_rate(camera.temperature.value)
    for seconds in (100.0, 400.0):
        dark = median(camera.expose(seconds, light=False))
        expected = rate * seconds / camera.gain
        assert dark - bias == pytest.approx(expected, rel=0.05)
    assert expected > 50  # the test can tell a dark from a bias


def test_cooling_lowers_the_dark_current(obs):
    camera = obs.camera
    bias = median(camera.expose(0.0, light=False))
    warm = median(camera.expose(400.0, light=False)) - bias
    camera.cooler_on = True
    camera.set_temperature(-25.0)
    cold = median(camera.expose(400.0, light=False)) - bias
    assert cold < warm / 10


def test_bias_noise_matches_the_read_noise(obs):
    camera = obs.camera
    b1 = camera.expose(0.0, light=False).data.astype(float)
    b2 = camera.expose(0.0, light=False).data.astype(float)
    measured = np.std(b1 - b2) / math.sqrt(2.0)
    spec = camera.sensor.spec
    assert measured == pytest.approx(spec.read_noise / spec.gain, rel=0.03)
    assert np.mean(b1) == pytest.approx(spec.bias, abs=5)


def test_a_closed_dome_gives_no_sky(obs):
    camera, dome = obs.camera, obs.dome
    dark = median(camera.expose(60.0, light=False))
    sky = median(camera.expose(60.0))
    dome.close_shutter()
    closed = median(camera.expose(60.0))
    dome.open_shutter()
    dome.slew_to_azimuth((dome.azimuth.value + 180.0) % 360.0)
    blocked = median(camera.expose(60.0))
    assert sky - dark > 100
    assert abs(closed - dark) < 1.0
    assert abs(blocked - dark) < 1.0


def test_sky_level_follows_the_filter(obs):
    levels = {}
    for name in ("U", "V", "I"):
        obs.filter_wheel.select(name)
        levels[name] = median(obs.camera.expose(60.0))
    assert levels["U"] < levels["V"] < levels["I"]


def test_flat_field_differs_per_filter(obs):
    obs.dome.close_shutter()
    obs.dome.action("FlatLamp", "on")

    def flat(name):
        obs.filter_wheel.select(name)
        f = obs.camera.expose(5.0, imagetyp="FLAT")
        assert f.imagetyp == "FLAT"
        d = f.data.astype(float) - obs.camera.sensor.spec.bias
        return d / np.median(d)

    def smooth(ratio):
        return ratio.reshape(SIZE // 8, 8, SIZE // 8, 8).mean(axis=(1, 3))

    v1, v2, b = flat("V"), flat("V"), flat("B")
    same = np.std(smooth(v1 / v2))
    other = np.std(smooth(v1 / b))
    assert other > 3 * same
    # Vignetting: the corners get less light than the centre.
    assert v1[:32, :32].mean() < 0.97 * v1[240:272, 240:272].mean()


def test_saturation_clips_at_the_top(obs):
    obs.dome.action("FlatLamp", "on")
    obs.filter_wheel.select("Clear")
    data = obs.camera.expose(200.0).data
    assert data.max() == 65535
    assert np.mean(data == 65535) > 0.99


def test_cosmic_rays_hit_long_darks(obs):
    camera = obs.camera
    d1 = camera.expose(1200.0, light=False).data.astype(float)
    d2 = camera.expose(1200.0, light=False).data.astype(float)
    threshold = 200.0  # ADU; hot pixels are in both frames and cancel
    assert np.count_nonzero(d1 - d2 > threshold) >= 1
    assert np.count_nonzero(d2 - d1 > threshold) >= 1


def test_same_seed_same_frames():
    frames = []
    for _ in range(2):
        with SimulatedObservatory(time_scale=math.inf, seed=5, start=NIGHT, width=128, height=96) as o:
            frames.append(o.camera.expose(10.0, light=False).data)
    np.testing.assert_array_equal(frames[0], frames[1])
    with SimulatedObservatory(time_scale=math.inf, seed=6, start=NIGHT, width=128, height=96) as o:
        assert not np.array_equal(o.camera.expose(10.0, light=False).data, frames[0])


def test_untracked_sky_drifts_at_the_sidereal_rate(obs):
    mount = obs.mount
    mount.tracking = False
    ra0 = mount.position.ra
    t0 = time.monotonic()
    time.sleep(1.0)
    ra1 = mount.position.ra
    elapsed = time.monotonic() - t0
    drift = (ra1 - ra0).wrap_at(180 * u.deg).to_value(u.arcsec)
    assert drift == pytest.approx(15.041 * elapsed, abs=2.0)


def test_headers_describe_the_pointing(obs):
    frame = obs.camera.expose(1.0, object="field")
    h = frame.header
    pos = obs.mount.position
    assert h["RA"] == pytest.approx(pos.ra.deg, abs=1e-3)
    assert h["DEC"] == pytest.approx(pos.dec.deg, abs=1e-3)
    assert h["FILTER"] == "V"
    assert h["AIRMASS"] == pytest.approx(1.0 / math.sin(math.radians(60.0)), rel=0.01)
    assert h["SITELAT"] == pytest.approx(obs.site.lat.deg)
    assert h["SITELONG"] == pytest.approx(obs.site.lon.deg)
    assert h["TELESCOP"] == "TOROS-SIM"
    assert h["DATE-OBS"].startswith(NIGHT.isot[:10])


def test_lowered_altitude_limit_lets_a_low_target_through(obs):
    low = from_altaz(5.0, 200.0, obs.mount.time, obs.mount.site)
    obs.mount.min_altitude = 2.0
    obs.mount.slew_to(low)
    assert obs.mount.altaz.alt.deg == pytest.approx(5.0, abs=0.1)


def test_simulated_dome_blinks_its_indicator(obs):
    assert "Blink01" in obs.dome.supported_actions
    before = obs.dome.blinks
    assert obs.dome.action("Blink01", "3") == "indicator blinked 3 times"
    assert obs.dome.blinks == before + 3


def test_out_of_focus_stars_blur_on_a_v_curve_and_frames_say_where_the_focuser_stood():
    """Issue 25: with Optics the measured half-flux radius grows either side of best focus (sep, as autofocus will
    fit it); without (the default) the stars stay sharp wherever the focuser is."""
    from torosdrivers.observing.imagecheck import measure
    from torosdrivers.simulators.optics import Optics

    optics = Optics()

    def hfr_at(offsets, optics_or_none):
        with SimulatedObservatory(time_scale=float("inf"), seed=2, width=1024, height=1024,
                                  start="2026-06-21T04:00:00", optics=optics_or_none) as obs:
            obs.open_on_sky()
            best = optics.best_at(obs.focuser.temperature.value)
            out = []
            for offset in offsets:
                obs.focuser.move(int(best + offset))
                frame = obs.camera.expose(30.0)
                assert frame.header["FOCUSPOS"] == int(best + offset)
                assert frame.header["FOCTEMP"] == pytest.approx(obs.focuser.temperature.value)
                out.append(measure(frame.data, 65535).hfr)
            return out

    minus, at, plus, far = hfr_at((-200, 0, 100, 400), optics)
    assert at < plus < minus < far and at < 1.3 and far > 3.0  # a V, sharpest at best focus
    sharp = hfr_at((0, 400), None)
    assert sharp[1] == pytest.approx(sharp[0], rel=0.15)  # no optics: the focuser changes nothing


def test_the_weather_read_by_julian_date_agrees_with_astropy_time_on_every_boundary():
    """The station reads its timeline by float Julian dates (a supervisor asks often): a step that starts on
    the very minute of an update is seen at that update, as the ``Time`` comparison sees it."""
    from astropy.time import TimeDelta

    from torosdrivers.simulators.clock import SimClock
    from torosdrivers.simulators.weather import WeatherTimeline

    clock = SimClock(1.0, "2026-06-21T01:00:00")
    timeline = WeatherTimeline([{"at": "+01:00", "sky": "rain"}, {"at": "2026-06-21T02:17:00", "sky": "clear"}],
                               clock.start)
    for minute in range(200):
        seconds = minute * 60.0
        assert timeline.at_jd(clock.jd(seconds)) == timeline.at(clock.start + TimeDelta(seconds, format="sec"))
        assert (timeline.at_jd(clock.jd(seconds)).RainRate > 0) == (60 <= minute < 77), minute
