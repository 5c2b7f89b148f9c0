"""The simulated CCD: what light and electronics turn into pixel values.

Per pixel, in electrons: ``response * (sky + stars + lamp) + dark + hot
pixels + cosmic rays``, then shot noise and read noise, the full well, the
gain and the bias, clipped to 16 bits. Shot noise is drawn from the normal
approximation to the Poisson distribution (variance = signal) with the read
noise added in quadrature: one normal draw per pixel, which keeps a 4k frame
fast; it differs from Poisson only below a few electrons, where the read noise
dominates. The flat-field response (vignetting, dust donuts, pixel-to-pixel
sensitivity, different in every filter) is computed once per filter and
geometry and cached.

The hot path works on blocks of rows so that each block's dozen passes stay
in the processor's cache, and the blocks run on a small thread pool (numpy
releases the GIL in these loops). Each block has its own random stream spawned
from the frame's seed, so results do not depend on the thread schedule.
"""

from __future__ import annotations

import math
import os
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from torosdrivers.ccd.base import Subframe

from .sky import Projection, StarField, render_stars

__all__ = ["Band", "DEFAULT_BANDS", "SensorSpec", "Scene", "Sensor"]

_BLOCK_ROWS = 128
_POOL = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="toros-sensor")


@dataclass(frozen=True)
class Band:
    """Photometric facts of one filter.

    Attributes
    ----------
    zero_point
        Magnitude that gives 1 e-/s above the atmosphere.
    sky
        Sky surface brightness, mag/arcsec^2.
    extinction
        Magnitudes lost per airmass.
    lamp
        Flat-lamp signal, e-/s per unbinned pixel.
    """

    zero_point: float
    sky: float
    extinction: float
    lamp: float


DEFAULT_BANDS: dict[str, Band] = {
    "U": Band(22.6, 22.0, 0.50, 400.0),
    "B": Band(24.4, 22.7, 0.25, 1500.0),
    "V": Band(24.6, 21.8, 0.15, 2500.0),
    "R": Band(24.7, 20.9, 0.10, 3000.0),
    "I": Band(24.1, 19.9, 0.07, 2200.0),
    "Clear": Band(25.6, 20.8, 0.15, 6000.0),
}


@dataclass(frozen=True)
class SensorSpec:
    """Fixed facts of the simulated sensor and optics."""

    width: int = 4096
    height: int = 4096
    pixel_um: float = 15.0
    plate_scale: float = 1.0  # arcsec per unbinned pixel
    seeing: float = 2.0  # arcsec FWHM
    gain: float = 1.5  # e-/ADU
    read_noise: float = 9.0  # e-
    bias: float = 1000.0  # ADU
    full_well: float = 100_000.0  # e- per unbinned pixel
    max_adu: int = 65535
    dark_ref: float = 0.05  # e-/s/pixel at dark_ref_temp
    dark_ref_temp: float = -20.0  # C
    dark_doubling: float = 6.3  # C per doubling of dark current
    hot_fraction: float = 2e-5
    cosmic_rate: float = 0.025  # hits per cm^2 per second
    max_binning: int = 4


@dataclass(frozen=True)
class Scene:
    """What reaches the sensor during one exposure."""

    duration: float
    binning: tuple[int, int]
    subframe: Subframe
    temperature: float
    filter: str | None = None
    pointing: tuple[float, float] | None = None  # true ICRS (ra, dec) deg
    airmass: float = 1.0
    sky: bool = False  # sky light reaches the sensor
    lamp: bool = False  # the flat lamp lights the sensor
    cloud_cover: float = 0.0  # percent
    sun_alt: float = -90.0  # degrees
    moon_alt: float = -90.0  # degrees
    moon_phase: float = 0.0  # lit fraction
    defocus: float = 0.0  # arcsec FWHM that the optics out of focus add to the seeing (in quadrature)
    seed: tuple[int, ...] = field(default=(0,))


class Sensor:
    """Turns a `Scene` into a 16-bit image.

    Parameters
    ----------
    spec
        Sensor and optics.
    seed
        Fixes the sensor's defects (dust, hot pixels, bias pattern, PRNU).
    stars
        The sky's stars.
    bands
        Filter name -> `Band`; unknown filters get ``V``'s facts.
    """

    def __init__(self, spec: SensorSpec, seed: int, stars: StarField, bands: dict[str, Band] | None = None) -> None:
        self.spec = spec
        self.seed = int(seed)
        self.stars = stars
        self.bands = dict(bands or DEFAULT_BANDS)
        rng = np.random.default_rng((self.seed, 1))
        n_hot = int(spec.width * spec.height * spec.hot_fraction)
        self._hot_x = rng.integers(0, spec.width, n_hot)
        self._hot_y = rng.integers(0, spec.height, n_hot)
        self._hot_rate = rng.uniform(20.0, 200.0, n_hot) * spec.dark_ref  # x dark at the same temperature
        columns = np.arange(spec.width)
        self._bias_columns = (
            2.0 * np.sin(2 * np.pi * columns / spec.width * 3.0) + rng.normal(0.0, 0.5, spec.width)
        ).astype(np.float32)
        self._responses: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._prnu: dict[tuple[int, int], np.ndarray] = {}

    # -- physics in electrons --------------------------------------------------
    def band(self, name: str | None) -> Band:
        return self.bands.get(name or "V", self.bands.get("V", next(iter(self.bands.values()))))

    def dark_rate(self, temperature: float) -> float:
        """Dark current in e-/s per unbinned pixel at a temperature (C)."""
        s = self.spec
        return s.dark_ref * 2.0 ** ((temperature - s.dark_ref_temp) / s.dark_doubling)

    def sky_rate(self, scene: Scene) -> float:
        """Sky signal in e-/s per unbinned pixel for the scene's filter, airmass, Sun, Moon and clouds.

        The dark-sky brightness of the band grows with airmass (a longer path
        through glowing air; van Rhijn's law, to first order proportional to
        it), by about 0.8 mag per degree of twilight from the Sun at -18 deg up
        to the horizon, with a Moon above the horizon (up to some 3 mag when
        full and high), and with cloud lit from below.
        """
        b = self.band(scene.filter)
        area = self.spec.plate_scale**2
        dark = area * 10.0 ** (-0.4 * (b.sky - b.zero_point)) * max(scene.airmass, 1.0)
        twilight = 10.0 ** (0.4 * 0.8 * min(max(scene.sun_alt + 18.0, 0.0), 18.0))
        moon = 1.0 + 15.0 * scene.moon_phase * max(math.sin(math.radians(scene.moon_alt)), 0.0)
        cloud = 1.0 + 2.0 * scene.cloud_cover / 100.0
        return dark * twilight * moon * cloud

    def _geometry(self, binning: tuple[int, int], sub: Subframe) -> tuple[np.ndarray, np.ndarray]:
        """Unbinned coordinates of the binned pixel centres of a subframe."""
        bx, by = binning
        xs = (np.arange(sub.x, sub.x + sub.width) + 0.5) * bx - 0.5
        ys = (np.arange(sub.y, sub.y + sub.height) + 0.5) * by - 0.5
        return xs, ys

    def response(self, filter_name: str | None, binning: tuple[int, int], sub: Subframe) -> np.ndarray:
        """Relative sensitivity per binned pixel (flat field), float32, mean near 1."""
        key = (filter_name, binning, sub)
        cached = self._responses.get(key)
        if cached is not None:
            self._responses.move_to_end(key)
            return cached
        s = self.spec
        xs, ys = self._geometry(binning, sub)
        # Vignetting: smooth radial fall-off, a little stronger in the blue.
        dx = ((xs - (s.width - 1) / 2) / (s.width / 2)).astype(np.float32) ** 2
        dy = ((ys - (s.height - 1) / 2) / (s.height / 2)).astype(np.float32) ** 2
        depth = {"U": 0.16, "B": 0.14}.get(filter_name or "", 0.12)
        resp = np.empty((ys.size, xs.size), np.float32)
        np.add(dy[:, None], dx[None, :], out=resp)
        resp *= -depth / 2.0
        resp += 1.0
        # Dust donuts: some on the window (every filter), some on this filter.
        for tag, count in (("window", 4), (filter_name or "none", 6)):
            rng = np.random.default_rng((self.seed, 2, *tag.encode()))
            for _ in range(count):
                self._donut(resp, xs, ys, rng)
        prnu = self._prnu_for(binning)
        resp *= prnu[sub.y : sub.y + sub.height, sub.x : sub.x + sub.width]
        self._responses[key] = resp
        if len(self._responses) > 6:
            self._responses.popitem(last=False)
        return resp

    def _donut(self, resp: np.ndarray, xs: np.ndarray, ys: np.ndarray, rng: np.random.Generator) -> None:
        s = self.spec
        cx, cy = rng.uniform(0, s.width), rng.uniform(0, s.height)
        radius = rng.uniform(30.0, 90.0)
        width = radius / 4.0
        depth = rng.uniform(0.02, 0.06)
        reach = radius + 4 * width
        ci = np.flatnonzero(np.abs(xs - cx) < reach)
        ri = np.flatnonzero(np.abs(ys - cy) < reach)
        if ci.size == 0 or ri.size == 0:
            return
        r = np.hypot(xs[ci][None, :] - cx, ys[ri][:, None] - cy)
        ring = 1.0 - depth * np.exp(-0.5 * ((r - radius) / width) ** 2)
        resp[ri[0] : ri[-1] + 1, ci[0] : ci[-1] + 1] *= ring.astype(np.float32)

    def _prnu_for(self, binning: tuple[int, int]) -> np.ndarray:
        prnu = self._prnu.get(binning)
        if prnu is None:
            bx, by = binning
            shape = (self.spec.height // by, self.spec.width // bx)
            rng = np.random.default_rng((self.seed, 3, bx, by))
            prnu = rng.standard_normal(shape, dtype=np.float32)
            prnu *= 0.01 / math.sqrt(bx * by)  # averaging bx*by pixels of 1 % rms
            prnu += 1.0
            self._prnu[binning] = prnu
        return prnu

    def photon_image(self, scene: Scene) -> np.ndarray:
        """Light arriving per binned pixel during the exposure, e- before the flat, float32.

        This is the truth a calibrated frame should recover (times the exposure).
        """
        sub, (bx, by) = scene.subframe, scene.binning
        image = np.zeros((sub.height, sub.width), np.float32)
        if scene.sky and scene.pointing is not None and scene.filter is not None:
            b = self.band(scene.filter)
            image += self.sky_rate(scene) * bx * by * scene.duration
            self._add_stars(image, scene, b)
        if scene.lamp and scene.filter is not None:
            image += self.band(scene.filter).lamp * bx * by * scene.duration
        return image

    def _add_stars(self, image: np.ndarray, scene: Scene, band: Band) -> None:
        s = self.spec
        ra0, dec0 = scene.pointing  # type: ignore[misc]
        proj = Projection(ra0, dec0, s.plate_scale, s.width, s.height)
        ra, dec, mag = self.stars.stars_near(ra0, dec0, proj.radius)
        if ra.size == 0:
            return
        x, y, front = proj.to_pixels(ra, dec)
        bx, by = scene.binning
        sub = scene.subframe
        xb = (x + 0.5) / bx - 0.5 - sub.x
        yb = (y + 0.5) / by - 0.5 - sub.y
        flux = scene.duration * 10.0 ** (-0.4 * (mag - band.zero_point + band.extinction * scene.airmass))
        flux *= 1.0 - 0.95 * scene.cloud_cover / 100.0  # cloud stops the starlight
        sigma = math.hypot(s.seeing, scene.defocus) / s.plate_scale / 2.3548
        render_stars(image, xb[front], yb[front], flux[front], sigma / bx, sigma / by)

    # -- the frame ----------------------------------------------------------------
    def render(self, scene: Scene) -> np.ndarray:
        """The 16-bit image of a scene, ``[y, x]``."""
        s = self.spec
        sub, (bx, by) = scene.subframe, scene.binning
        shape = (sub.height, sub.width)
        signal = self.photon_image(scene)
        lit = scene.sky or scene.lamp
        response = self.response(scene.filter, scene.binning, sub) if lit else None
        dark = self.dark_rate(scene.temperature) * bx * by * scene.duration
        sparse_index, sparse_value = self._sparse_charge(scene)
        bias = self._bias_columns.reshape(-1, bx).mean(axis=1) if s.width % bx == 0 else self._bias_columns[::bx]
        bias_row = (bias[sub.x : sub.x + sub.width] + np.float32(s.bias + 0.5)).astype(np.float32)
        out = np.empty(shape, np.uint16)
        full_well = np.float32(s.full_well * bx * by)
        streams = np.random.SeedSequence(scene.seed).spawn((shape[0] + _BLOCK_ROWS - 1) // _BLOCK_ROWS)

        def block(i: int) -> None:
            r0, r1 = i * _BLOCK_ROWS, min((i + 1) * _BLOCK_ROWS, shape[0])
            lam = signal[r0:r1]  # scratch: each block owns its rows
            if response is not None:
                lam *= response[r0:r1]
            lam += np.float32(dark)
            lo, hi = np.searchsorted(sparse_index, (r0 * shape[1], r1 * shape[1]))
            if hi > lo:
                np.add.at(lam.reshape(-1), sparse_index[lo:hi] - r0 * shape[1], sparse_value[lo:hi])
            noise = np.random.default_rng(streams[i]).standard_normal(lam.shape, dtype=np.float32)
            sigma = lam + np.float32(s.read_noise**2)
            np.maximum(sigma, 0.0, out=sigma)
            np.sqrt(sigma, out=sigma)
            noise *= sigma
            lam += noise
            np.minimum(lam, full_well, out=lam)
            lam *= np.float32(1.0 / s.gain)
            lam += bias_row
            np.clip(lam, 0.0, np.float32(s.max_adu), out=lam)
            np.copyto(out[r0:r1], lam, casting="unsafe")

        list(_POOL.map(block, range(len(streams))))
        return out

    def _sparse_charge(self, scene: Scene) -> tuple[np.ndarray, np.ndarray]:
        """Hot pixels and cosmic rays as sorted flat indices and electrons."""
        s = self.spec
        sub, (bx, by) = scene.subframe, scene.binning
        xs = self._hot_x // bx - sub.x
        ys = self._hot_y // by - sub.y
        inside = (xs >= 0) & (xs < sub.width) & (ys >= 0) & (ys < sub.height)
        scale = 2.0 ** ((scene.temperature - s.dark_ref_temp) / s.dark_doubling)
        index = [ys[inside] * sub.width + xs[inside]]
        value = [self._hot_rate[inside] * scale * scene.duration]
        if scene.duration > 0:
            rng = np.random.default_rng((*scene.seed, 7))
            area_cm2 = (sub.width * bx * s.pixel_um * 1e-4) * (sub.height * by * s.pixel_um * 1e-4)
            hits = rng.poisson(s.cosmic_rate * area_cm2 * scene.duration)
            for _ in range(hits):
                length = rng.uniform(1.0, 12.0)
                angle = rng.uniform(0.0, np.pi)
                x0, y0 = rng.uniform(0, sub.width), rng.uniform(0, sub.height)
                t = np.linspace(0.0, length, max(2, int(length) + 1))
                px = np.floor(x0 + t * np.cos(angle) / bx).astype(np.int64)
                py = np.floor(y0 + t * np.sin(angle) / by).astype(np.int64)
                ok = (px >= 0) & (px < sub.width) & (py >= 0) & (py < sub.height)
                index.append(py[ok] * sub.width + px[ok])
                value.append(np.full(ok.sum(), rng.lognormal(np.log(1500.0), 0.5)))
        flat = np.concatenate(index).astype(np.int64)
        charge = np.concatenate(value).astype(np.float32)
        order = np.argsort(flat, kind="stable")
        return flat[order], charge[order]
