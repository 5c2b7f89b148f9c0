"""Time to produce one simulated 4096x4096 light frame with stars.

Target (issue 2): at most 0.5 s on a 2-core machine, so the simulator is never
what makes the tests slow. Prints the first frame in a filter (which builds
and caches that filter's flat-field response) and the steady state, both for
the sensor alone and for ``Camera.expose`` (which adds the header and the
device calls), and the peak memory of the process.

Run: ``.venv/bin/python benchmarks/bench_simulator.py [--size 4096] [--repeat 7] [--quick]``
"""

from __future__ import annotations

import argparse
import math
import resource
import statistics
import time

from astropy.time import Time

from torosdrivers.simulators import SimulatedObservatory
from verdict import short_mode, verdict

TARGET = 0.5


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=4096)
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--quick", action="store_true", help="short mode (CI): small sizes, the figures printed, no target judged by them")
    args = p.parse_args()
    if short_mode(args.quick):
        args.size, args.repeat = 256, 2

    night = Time("2026-06-21T04:00:00")
    with SimulatedObservatory(time_scale=math.inf, seed=1, start=night, width=args.size, height=args.size) as obs:
        obs.open_on_sky()
        camera = obs.camera

        t0 = time.perf_counter()
        camera.expose(30.0)
        first = time.perf_counter() - t0

        expose_times, render_times = [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            frame = camera.expose(30.0)
            expose_times.append(time.perf_counter() - t0)
        scene = camera.last_scene
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            camera.sensor.render(scene)
            render_times.append(time.perf_counter() - t0)

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    render = statistics.median(render_times)
    expose = statistics.median(expose_times)
    print(f"simulated {args.size}x{args.size} uint16 light frame, filter V, 30 s, {frame.header['AIRMASS']:.2f} airmass")
    print(f"  first frame in a filter (builds the flat response): {first:.3f} s")
    print(f"  Sensor.render, median of {args.repeat}:              {render:.3f} s  (min {min(render_times):.3f})")
    print(f"  Camera.expose, median of {args.repeat}:              {expose:.3f} s  (min {min(expose_times):.3f})")
    print(f"  peak RSS of the process:                          {peak_mb:.0f} MB")
    verdict_text = verdict(expose <= TARGET).strip()
    print(f"  target <= {TARGET} s per frame: {verdict_text} ({expose / TARGET:.0%} of the budget)")


if __name__ == "__main__":
    main()
