"""Preprocessing speed and memory, side by side with ccdproc, on 4096x4096 16-bit frames.

Measures, each in a child process of its own (time, and the growth of its
peak RSS over the baseline after imports):

- median combine of 9 frames from disk: ours (default and with a 256 MB
  memory limit) and ccdproc's ``combine(..., method="median")``;
- sigma-clipped mean combine of the same 9 frames, both (ours: ccdproc's one-pass method,
  and the robust iterated one);
- calibrating and writing a light frame: ours (``calibrate_file``) and
  ccdproc's ``subtract_bias`` + ``subtract_dark`` + ``flat_correct`` + write,
  five lights in a row: the figure is the median per light once the masters
  are loaded (as in a night's run); the first light, which loads them, is
  printed beside it.

Targets (issue 9): median >= 15x faster than ccdproc at peak under 0.6 GB, and
under 0.45 GB with a 256 MB limit; sigma clip >= 8x faster; calibration >= 2.5x.

Run: ``.venv/bin/python benchmarks/bench_preprocessing.py [--size 4096] [--frames 9] [--quick]``
(needs the test extra for ccdproc).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from verdict import short_mode, verdict
from astropy.io import fits

LIGHTS = 5  # lights calibrated in a row; the first also loads the masters

CASES = {
    "median-ours": "median combine, torosdrivers",
    "median-ours-256": "median combine, torosdrivers, 256 MB limit",
    "median-ccdproc": "median combine, ccdproc",
    "clip-ours": "sigma-clipped mean, torosdrivers (one pass)",
    "robust-clip-ours": "robust iterated sigma clip, torosdrivers",
    "clip-ccdproc": "sigma-clipped mean, ccdproc",
    "calib-ours": "calibrate + write a light, torosdrivers",
    "calib-ccdproc": "calibrate + write a light, ccdproc",
}


def _kib(field: str) -> int:
    return int(re.search(rf"{field}:\s+(\d+)", Path("/proc/self/status").read_text()).group(1))


def make_night(folder: Path, size: int, frames: int) -> None:
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
    vignette = (1.0 - 0.2 * (x**2 + y**2)).astype(np.float32)
    for i in range(frames):
        data = rng.normal(1000.0, 6.0, (size, size)).astype(np.float32)
        data[rng.integers(0, size, 200), rng.integers(0, size, 200)] = 20000.0  # cosmic rays
        hdu = fits.PrimaryHDU(data.round().astype(np.uint16))
        hdu.header.update(IMAGETYP="BIAS", EXPTIME=0.0)
        hdu.writeto(folder / f"frame_{i:02d}.fits", overwrite=True)
    masters = {"bias": np.full((size, size), 1000.0, np.float32),
               "dark": np.full((size, size), 20.0, np.float32),
               "flat": vignette}
    for name, data in masters.items():
        hdu = fits.PrimaryHDU(data)
        hdu.header.update(IMAGETYP=f"MASTER {name.upper()}", EXPTIME=30.0 if name == "dark" else 0.0)
        hdu.writeto(folder / f"master_{name}.fits", overwrite=True)
    light = (1000.0 + 20.0 + 300.0 * vignette + rng.normal(0, 10, (size, size))).astype(np.float32)
    hdu = fits.PrimaryHDU(light.round().astype(np.uint16))
    hdu.header.update(IMAGETYP="LIGHT", EXPTIME=30.0, FILTER="V")
    hdu.writeto(folder / "light.fits", overwrite=True)


def child(case: str, folder: Path) -> None:
    import astropy.units as u

    frames = sorted(str(p) for p in folder.glob("frame_*.fits"))
    out = folder / f"out_{case}.fits"
    if case.endswith("ccdproc"):
        import ccdproc
    else:
        from torosdrivers.preprocessing import calibrate_file, make_master_bias, read_info
    Path("/proc/self/clear_refs").write_text("5")
    before = _kib("VmRSS")
    t0 = time.perf_counter()
    if case.startswith("median-ours"):
        limit = 256 * 2**20 if case.endswith("256") else 384 * 2**20
        make_master_bias([read_info(p) for p in frames], out, method="median", memory_limit=limit)
    elif case == "median-ccdproc":
        ccdproc.combine(frames, method="median", unit="adu")
    elif case == "clip-ours":  # the same one-pass method as ccdproc's, for a like-for-like figure
        make_master_bias([read_info(p) for p in frames], out, method="ccdproc_sigma_clip")
    elif case == "robust-clip-ours":
        make_master_bias([read_info(p) for p in frames], out, method="sigma_clip")
    elif case == "clip-ccdproc":
        ccdproc.combine(frames, method="average", unit="adu", sigma_clip=True, sigma_clip_low_thresh=3,
                        sigma_clip_high_thresh=3, sigma_clip_func=np.ma.median, sigma_clip_dev_func=np.ma.std)
    elif case == "calib-ours":
        m = {k: read_info(folder / f"master_{k}.fits") for k in ("bias", "dark", "flat")}
        light = read_info(folder / "light.fits")

        def calibrate(i: int) -> None:
            calibrate_file(light, folder / f"{case}_{i}.fits", bias=m["bias"], dark=m["dark"], flat=m["flat"])
    elif case == "calib-ccdproc":
        read = lambda name: ccdproc.CCDData.read(folder / name, unit="adu")  # noqa: E731
        masters: dict = {}

        def calibrate(i: int) -> None:
            if not masters:  # the first light loads the masters, as in a night's run
                masters.update(bias=read("master_bias.fits"), dark=read("master_dark.fits"), flat=read("master_flat.fits"))
            light = ccdproc.subtract_bias(read("light.fits"), masters["bias"])
            light = ccdproc.subtract_dark(light, masters["dark"], exposure_time="EXPTIME", exposure_unit=u.s, scale=True)
            ccdproc.flat_correct(light, masters["flat"], norm_value=1.0).write(folder / f"{case}_{i}.fits", overwrite=True)
    if case.startswith("calib"):
        times = []
        for i in range(LIGHTS):
            t1 = time.perf_counter()
            calibrate(i)
            times.append(time.perf_counter() - t1)
        seconds, first = statistics.median(times[1:]), times[0]
    else:
        seconds = first = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "first": first, "peak_mb": (_kib("VmHWM") - before) / 1024.0}))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=4096)
    p.add_argument("--frames", type=int, default=9)
    p.add_argument("--child", choices=sorted(CASES), help=argparse.SUPPRESS)
    p.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--quick", action="store_true", help="short mode (CI): small sizes, the figures printed, no target judged by them")
    args = p.parse_args()
    if args.child:
        child(args.child, args.folder)
        return
    if short_mode(args.quick):
        args.size, args.frames = 256, 3
    with tempfile.TemporaryDirectory(prefix="toros-bench-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        make_night(folder, args.size, args.frames)
        print(f"synthetic night: {args.frames} frames of {args.size}x{args.size} uint16 "
              f"(+ masters and a light) in {time.perf_counter() - t0:.1f} s")
        r = {}
        for case in CASES:
            run = subprocess.run([sys.executable, __file__, "--child", case, "--folder", str(folder)],
                                 capture_output=True, text=True)
            if run.returncode:
                print(f"  {case}: failed\n{run.stderr[-2000:]}")
                return
            r[case] = json.loads(run.stdout.strip().splitlines()[-1])
            first = f"  (first, loading the masters: {r[case]['first']:.2f} s)" if case.startswith("calib") else ""
            print(f"  {CASES[case]:44s} {r[case]['seconds']:7.2f} s  peak +{r[case]['peak_mb']:6.0f} MB{first}", flush=True)
    s = {k: v["seconds"] for k, v in r.items()}
    m = {k: v["peak_mb"] / 1024.0 for k, v in r.items()}
    print("ratios and targets:")
    checks = [
        (f"median {s['median-ccdproc'] / s['median-ours']:.1f}x faster than ccdproc (>= 15x)",
         s["median-ccdproc"] >= 15 * s["median-ours"]),
        (f"median peak {m['median-ours']:.2f} GB (< 0.6 GB; ccdproc {m['median-ccdproc']:.2f} GB)", m["median-ours"] < 0.6),
        (f"median with a 256 MB limit: peak {m['median-ours-256']:.2f} GB (< 0.45 GB)", m["median-ours-256"] < 0.45),
        (f"sigma clip {s['clip-ccdproc'] / s['clip-ours']:.1f}x faster than ccdproc (>= 8x)",
         s["clip-ccdproc"] >= 8 * s["clip-ours"]),
        (f"calibrate + write, per light with masters loaded: {s['calib-ccdproc'] / s['calib-ours']:.1f}x faster "
         "than ccdproc (>= 2.5x)",
         s["calib-ccdproc"] >= 2.5 * s["calib-ours"]),
    ]
    for text, ok in checks:
        print(f"  {verdict(ok)} {text}")


if __name__ == "__main__":
    main()
