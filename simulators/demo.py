"""``toros-demo``: the simulated observatory observes a field end to end.

It cools the camera, opens the dome, slews to the highest of a few southern
showpiece fields, turns the dome to the telescope, selects a filter, takes a
bias, a dark and a light frame, writes them as FITS (and a PNG preview of the
light), closes up and prints what it did.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from astropy.coordinates import SkyCoord
from astropy.time import Time

from torosdrivers._version import add_version
from torosdrivers.coords import to_altaz
from torosdrivers.preview import stretch, write_png

from .observatory import SimulatedObservatory

__all__ = ["main", "FIELDS"]

#: Southern fields the demo chooses from (ICRS).
FIELDS = {
    "NGC 253": SkyCoord("00h47m33s", "-25d17m18s"),
    "47 Tuc": SkyCoord("00h24m05s", "-72d04m53s"),
    "NGC 1365": SkyCoord("03h33m36s", "-36d08m25s"),
    "Orion Nebula": SkyCoord("05h35m17s", "-05d23m28s"),
    "NGC 3372": SkyCoord("10h45m09s", "-59d52m04s"),
    "omega Cen": SkyCoord("13h26m47s", "-47d28m46s"),
    "M 83": SkyCoord("13h37m01s", "-29d51m57s"),
    "Galactic Centre": SkyCoord("17h45m40s", "-29d00m28s"),
    "NGC 6744": SkyCoord("19h09m46s", "-63d51m27s"),
    "NGC 7293": SkyCoord("22h29m39s", "-20d50m14s"),
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="toros-sim-demo", description=__doc__.splitlines()[0])
    p.add_argument("--output", type=Path, default=Path("demo-output"), help="folder for the FITS files (default: %(default)s)")
    p.add_argument("--filter", default="V", help="filter for the light frame (default: %(default)s)")
    p.add_argument("--exposure", type=float, default=60.0, help="light and dark exposure, seconds (default: %(default)s)")
    p.add_argument("--size", type=int, default=4096, help="sensor width and height, pixels (default: %(default)s)")
    p.add_argument("--time-scale", type=float, default=100.0, help="device seconds per real second; inf for instant (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed of the simulated sky and sensor (default: %(default)s)")
    p.add_argument("--start", help="UTC start of the simulated clock, ISO (default: now)")
    return p


def _step(text: str) -> float:
    print(f"  {text} ...", end="", flush=True)
    return time.monotonic()


def _done(t0: float, detail: str = "") -> None:
    print(f" done in {time.monotonic() - t0:.2f} s{'  ' + detail if detail else ''}")


def main(argv: list[str] | None = None) -> int:
    """Run the demo; returns the process exit code."""
    args = add_version(_parser()).parse_args(argv)
    start = Time(args.start) if args.start else None
    obs = SimulatedObservatory(
        time_scale=args.time_scale, seed=args.seed, start=start, width=args.size, height=args.size, observer="toros-demo"
    )
    print(f"Simulated observatory at lat {obs.site.lat.deg:.4f}, lon {obs.site.lon.deg:.4f} "
          f"(time scale {args.time_scale:g}, {args.size}x{args.size} CCD)")
    with obs:
        mount, dome, wheel, camera = obs.mount, obs.dome, obs.filter_wheel, obs.camera
        now = mount.time
        name, target = max(FIELDS.items(), key=lambda kv: to_altaz(kv[1], now, obs.site).alt.deg)
        alt = to_altaz(target, now, obs.site).alt.deg
        print(f"Target: {name} ({target.to_string('hmsdms', precision=0)}), altitude {alt:.1f} deg at {now.isot[:19]} UTC")
        if alt < mount.min_altitude.value:
            print(f"No field is above {mount.min_altitude.value:.0f} deg now; try --start with a night time.", file=sys.stderr)
            return 1

        t = _step("cooling the camera to -20 C")
        camera.cool_to(-20.0, timeout=600)
        _done(t, f"CCD at {camera.temperature.value:.1f} C")

        t = _step("unparking and slewing the mount")
        mount.unpark()
        mount.tracking = True
        mount.slew_to(target)
        _done(t, f"at alt {mount.altaz.alt.deg:.1f} deg, az {mount.altaz.az.deg:.1f} deg")

        t = _step("opening the dome and turning it to the telescope")
        dome.open_shutter()
        dome.slew_to_azimuth(round(mount.altaz.az.deg, 1) % 360.0)
        _done(t, f"shutter {dome.shutter.name.lower()}, azimuth {dome.azimuth.value:.1f} deg")

        t = _step(f"selecting filter {args.filter}")
        wheel.select(args.filter)
        _done(t)

        args.output.mkdir(parents=True, exist_ok=True)
        stamp = now.strftime("%Y%m%dT%H%M%S")
        shots = [("bias", 0.0, False), ("dark", args.exposure, False), ("light", args.exposure, True)]
        written = []
        for kind, seconds, light in shots:
            t = _step(f"{kind} frame of {seconds:g} s")
            frame = camera.expose(seconds, light, object=name if light else None)
            path = frame.write(args.output / f"{stamp}_{kind}.fits", overwrite=True)
            data = frame.data
            _done(t, f"median {np.median(data):.0f} ADU, std {np.std(data):.1f}, max {data.max()} -> {path}")
            written.append((kind, frame, path))

        light = written[-1][1]
        preview = write_png(args.output / f"{stamp}_light.png", stretch(light.data))
        t = _step("closing the dome and parking")
        dome.close_shutter()
        mount.park()
        dome.park()
        _done(t)

    h = light.header
    print("\nLight frame header (excerpt):")
    for key in ("DATE-OBS", "OBJECT", "FILTER", "EXPTIME", "RA", "DEC", "AIRMASS", "CCD-TEMP", "TELESCOP", "INSTRUME"):
        print(f"  {key:8s} = {h.get(key)}")
    print(f"\nWrote {len(written)} FITS files and a preview to {args.output.resolve()}:")
    for kind, _, path in written:
        print(f"  {kind:5s} {path.name}")
    print(f"  png   {preview.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
