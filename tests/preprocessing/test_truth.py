"""Frames from the simulated camera, calibrated, recover the simulator's true sky."""

from __future__ import annotations

import math

import numpy as np
from astropy.io import fits

from tests.rigs import NIGHT
from torosdrivers.preprocessing import Catalog, process_night
from torosdrivers.simulators import SimulatedObservatory
from torosdrivers.simulators.night import observe_night


def test_calibration_recovers_the_true_sky(tmp_path):
    size = 192
    with SimulatedObservatory(time_scale=math.inf, seed=4, start=NIGHT, width=size, height=size,
                              star_density=20000) as obs:
        observe_night(obs, tmp_path, biases=9, darks=9, flats=9, flat_time=4.0, lights={"V": 1}, light_time=60.0)
        scene = obs.camera.last_scene
        sensor = obs.camera.sensor
        truth = sensor.photon_image(scene) / sensor.spec.gain  # ADU of light, before the flat, no dark
        response = sensor.response("V", scene.binning, scene.subframe)
        raw = fits.getdata(tmp_path / "light_V_000.fits").astype(float)
    process_night(tmp_path, catalog=Catalog(":memory:"))
    with fits.open(tmp_path / "products" / "light_V_000_cal.fits") as hdul:
        calibrated, mask = hdul[0].data.astype(float), hdul["MASK"].data
    k = np.median(response)  # the master flat is normalised to a median of 1
    expected = k * truth
    spec = sensor.spec
    noise = np.sqrt(truth * spec.gain * response + spec.read_noise**2) / spec.gain * k / response
    chi = (calibrated - expected) / noise
    usable = (mask == 0) & (truth < 20 * np.median(truth))  # sky and faint stars
    assert abs(np.median(chi[usable])) < 0.1
    robust_sigma = 1.4826 * np.median(np.abs(chi[usable] - np.median(chi[usable])))
    assert 0.9 < robust_sigma < 1.25  # the residual is the noise: photons, read noise, masters
    # The flat field is gone: the large-scale structure of the raw sky follows
    # the true response (vignetting, dust); that of the calibrated sky does not.
    def blocks(image):
        return np.median(image.reshape(size // 16, 16, size // 16, 16).swapaxes(1, 2).reshape(size // 16, size // 16, -1), axis=2).ravel()

    shape_of_flat = blocks(response)
    assert np.corrcoef(blocks(raw - 1000.0), shape_of_flat)[0, 1] > 0.8
    assert abs(np.corrcoef(blocks(calibrated), shape_of_flat)[0, 1]) < 0.3
