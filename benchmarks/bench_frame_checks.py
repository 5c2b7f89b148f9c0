"""What verifying a light costs, beside what a pipeline pays for the same look at a frame.

Every light the telescope daemon takes is measured before it counts
(`torosdrivers.observing.imagecheck.measure`: sep's meshed background and
RMS, source extraction, the saturated fraction). Printed per frame size, in
the same run:

- ours: ``measure`` on a simulated light (stars, sky, noise);
- the peer: astropy's ``sigma_clipped_stats`` (the background and noise most
  pipelines take first, without finding a single star);
- the readout the check follows, at the simulated camera's 1 Mpixel/s: the
  check must stay a small fraction of it, or it slows the night.

Run: ``.venv/bin/python benchmarks/bench_frame_checks.py [--quick]`` (``--quick``: 512 and 1024 pixels only).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from astropy.coordinates import SkyCoord
from astropy.stats import sigma_clipped_stats

from torosdrivers.observing import measure
from torosdrivers.simulators import SimulatedObservatory


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="512 and 1024 pixels only")
    sizes = (512, 1024) if parser.parse_args().quick else (512, 1024, 2048, 4096)
    print(f"{'size':>6} {'measure (sep)':>14} {'stars':>6} {'sigma_clipped_stats':>20} {'readout':>9} "
          f"{'check/readout':>14}")
    for size in sizes:
        with SimulatedObservatory(time_scale=math.inf, width=size, height=size, seed=4,
                                  start="2026-09-25T05:45:00") as obs:
            obs.mount.unpark()
            obs.mount.slew_to(SkyCoord(23.1, 13.2, unit="deg"))
            obs.dome.open_shutter()
            obs.dome.slew_to_azimuth(float(obs.mount.altaz.az.deg))
            obs.filter_wheel.select("V")
            data = obs.camera.expose(10.0).data
        repeat = 3 if size >= 2048 else 5
        ours = _best(lambda: measure(data, 65535), repeat)
        stats = measure(data, 65535)
        peer = _best(lambda: sigma_clipped_stats(data.astype(np.float32), sigma=3.0), repeat)
        readout = 0.5 + size * size / 1e6
        print(f"{size:>6} {ours * 1e3:>11.1f} ms {stats.stars:>6} {peer * 1e3:>17.1f} ms {readout:>7.1f} s "
              f"{100 * ours / readout:>13.1f}%")


if __name__ == "__main__":
    main()
