"""Download a 4096x4096 16-bit frame from toros-alpaca-sim over loopback, four ways.

(a) AlpacaCamera over ImageBytes into numpy; (b) alpyca's ``ImageArray`` +
``numpy.asarray``, as a user would (alpyca also asks for ImageBytes, then
builds nested rows); (c) AlpacaCamera's JSON fallback; (d) alpyca's JSON path
(a server that does not offer ImageBytes). Each path runs in a child process
of its own, against server processes of their own, so its time and its peak
memory are its own: peak memory is the growth of the child's peak RSS during
the downloads (Linux: reset through /proc/self/clear_refs).

Targets (issue 8): (a) at most 0.15 s, faster than (b), peak extra memory at
most 2x the frame, and the frame's own dtype; (c) at least 2.5x faster than (d) (issue 28)
at no more than half its peak memory; the server serves a 4k ImageBytes frame
in under 0.1 s.

Run: ``.venv/bin/python benchmarks/bench_alpaca_image.py [--size 4096] [--repeat 3] [--quick]``
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from verdict import short_mode, verdict

PATHS = {
    "a": "AlpacaCamera, ImageBytes -> numpy",
    "b": "alpyca ImageArray (ImageBytes) + asarray",
    "c": "AlpacaCamera, JSON fallback",
    "d": "alpyca ImageArray (JSON server) + asarray",
}


def _rss_kib(field: str) -> int:
    return int(re.search(rf"{field}:\s+(\d+)", Path("/proc/self/status").read_text()).group(1))


def child(path: str, address: str, repeat: int) -> None:
    """Time one path and print its figures as JSON."""
    if path in "ac":
        from torosdrivers.ccd.alpaca import AlpacaCamera

        camera = AlpacaCamera(address, image_transfer="json" if path == "c" else "auto", timeout=60)
        camera.connect()
        fetch = camera._read_image  # the download step of read_frame, without a new exposure
    else:
        from alpaca.camera import Camera

        camera = Camera(address, 0)
        camera.Connected = True

        def fetch():
            return np.asarray(camera.ImageArray)

    Path("/proc/self/clear_refs").write_text("5")
    before = _rss_kib("VmRSS")
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        image = fetch()
        times.append(time.perf_counter() - t0)
        shape, dtype = image.shape, str(image.dtype)
        del image
    peak = (_rss_kib("VmHWM") - before) / 1024.0
    print(json.dumps({"times": times, "peak_mb": peak, "shape": shape, "dtype": dtype}))


def start_server(size: int, *extra: str) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "torosdrivers.simulators.alpaca.cli", "--port", "0", "--size", str(size),
         "--time-scale", "inf", *extra],
        stdout=subprocess.PIPE, text=True,
    )
    line = process.stdout.readline()
    address = line.split("http://")[1].split()[0]
    from torosdrivers.ccd.alpaca import AlpacaCamera

    camera = AlpacaCamera(address)  # leave a bias frame in the camera to download again and again
    camera.connect()
    camera.start_exposure(0.0, light=False)
    while not camera.image_ready:
        time.sleep(0.05)
    return process, address


def server_serve_time(address: str, repeat: int) -> float:
    import requests

    base = f"http://{address}/api/v1/camera/0"
    times = []
    with requests.Session() as session:
        # Connected is kept per client (ASCOM Platform 7): this raw client says who it is and connects first
        session.put(f"{base}/connected", data={"Connected": "true", "ClientID": 4242}, timeout=10).raise_for_status()
        for _ in range(repeat + 1):
            t0 = time.perf_counter()
            with session.get(f"{base}/imagearray", params={"ClientID": 4242}, headers={"Accept": "application/imagebytes"},
                             stream=True, timeout=60) as r:
                assert r.headers["Content-Type"] == "application/imagebytes", r.text[:200]
                for _ in r.iter_content(1 << 20):
                    pass
            times.append(time.perf_counter() - t0)
    return statistics.median(times[1:])  # the first read renders and caches the frame


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=4096)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="short mode (CI): small sizes, the figures printed, no target judged by them")
    p.add_argument("--child", choices=sorted(PATHS), help=argparse.SUPPRESS)
    p.add_argument("--address", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.child, args.address, args.repeat)
        return
    if short_mode(args.quick):
        args.size, args.repeat = 256, 1

    frame_mb = args.size * args.size * 2 / 2**20
    servers = {"imagebytes": start_server(args.size), "json": start_server(args.size, "--no-imagebytes")}
    try:
        serve = server_serve_time(servers["imagebytes"][1], args.repeat)
        results = {}
        for path in sorted(PATHS):
            address = servers["json" if path == "d" else "imagebytes"][1]
            out = subprocess.run(
                [sys.executable, __file__, "--child", path, "--address", address, "--repeat", str(args.repeat)],
                capture_output=True, text=True, check=True,
            ).stdout
            results[path] = json.loads(out.strip().splitlines()[-1])
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(timeout=10)

    t = {k: statistics.median(v["times"]) for k, v in results.items()}
    m = {k: v["peak_mb"] for k, v in results.items()}
    print(f"{args.size}x{args.size} uint16 frame ({frame_mb:.0f} MB) from toros-alpaca-sim over loopback, "
          f"median of {args.repeat}")
    print(f"  {'path':48s} {'time':>8s} {'peak extra':>11s}  result")
    for k in sorted(PATHS):
        r = results[k]
        print(f"  ({k}) {PATHS[k]:44s} {t[k]:7.3f}s {m[k]:9.0f} MB  {tuple(r['shape'])} {r['dtype']}")
    print(f"  server: ImageBytes reply received in full (no parsing) in {serve:.3f} s")
    print("ratios and targets:")
    checks = [
        (f"(a) {t['a']:.3f} s <= 0.15 s", t["a"] <= 0.15),
        (f"(a) faster than (b): {t['b'] / t['a']:.1f}x", t["a"] < t["b"]),
        (f"(a) peak extra {m['a']:.0f} MB <= 2x frame ({2 * frame_mb:.0f} MB)", m["a"] <= 2 * frame_mb),
        (f"(a) keeps the frame's dtype: {results['a']['dtype']}", results["a"]["dtype"] == "uint16"),
        (f"(c) {t['d'] / t['c']:.1f}x faster than (d) (>= 2.5x)", t["d"] >= 2.5 * t["c"]),
        (f"(c) peak {m['c']:.0f} MB <= half of (d)'s {m['d']:.0f} MB", m["c"] <= m["d"] / 2),
        (f"server serves ImageBytes in {serve:.3f} s (< 0.1 s)", serve < 0.1),
    ]
    for text, ok in checks:
        print(f"  {verdict(ok)} {text}")


if __name__ == "__main__":
    main()
