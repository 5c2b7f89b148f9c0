"""front_desk accept latency and throughput, 4 client processes, durable journal.

Starts a real daemon process from a configuration under a temporary folder
(SQLite journal in WAL mode with synchronous=FULL: each receipt waits for its
order to be on disk) and runs 4 client processes, each submitting orders one
after another over XML-RPC on loopback. Two kinds of order, each fully
validated: Dome orders (Blink01) at the dome daemon, whose worker runs them
as they come; and Observation orders (RA/Dec parsed, filter checked against
the wheel) at the telescope daemon while its worker is busy with a long
observation on a real-time simulator, waiting on the hardware as on a real
night, so the orders queue behind it.

Targets (issue 10): median under 5 ms, p99 under 20 ms, at least 500 orders/s.

Run: ``.venv/bin/python benchmarks/bench_daemons.py [--orders 400]``
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import xmlrpc.client
from pathlib import Path

import yaml

CLIENTS = 4


def client(url: str, kind: str, n: int, start: float, out) -> None:
    proxy = xmlrpc.client.ServerProxy(url, allow_none=True)
    while time.time() < start:
        time.sleep(0.001)
    latencies = []
    for i in range(n):
        order_id = f"{os.getpid()}-{i}"
        if kind == "dome":
            order = {"ID": order_id, "WOType": "Dome", "User": "bench", "Blink01": True}
        else:
            order = {"ID": order_id, "WOType": "Observation", "User": "bench", "RA": "12:00:00", "Dec": "-30:00:00",
                     "Filter": "V", "Exposure Time": 1.0, "Number of Exposures": 1, "Calibration Frames": "No"}
        t0 = time.perf_counter()
        receipt = proxy.front_desk(order)
        latencies.append(time.perf_counter() - t0)
        assert receipt["ID"] == order_id
    out.put(latencies)


def _transit(ra: float, dec: float) -> str:
    import numpy as np
    from astropy.coordinates import SkyCoord
    from astropy.time import Time, TimeDelta

    from torosdrivers.coords import TOROS_SITE, to_altaz

    times = Time.now() + TimeDelta(np.arange(0, 86400, 900), format="sec")
    return times[int(np.argmax(to_altaz(SkyCoord(ra, dec, unit="deg"), times, TOROS_SITE).alt.deg))].isot


def run(kind: str, folder: Path, orders: int) -> tuple[list[float], float]:
    config = folder / f"{kind}.yaml"
    config.write_text(yaml.safe_dump({
        "Database": {"Journal": str(folder / f"{kind}-journal.sqlite"), "Catalog": str(folder / "catalog.sqlite")},
        "Data Directory": str(folder / "data"),
        "Logging": {"File": str(folder / f"{kind}.log"), "Log Level": "WARNING"},
        "Preprocessor Address": {"HTTP": "http://127.0.0.1:9", "IP": "127.0.0.1", "Port": 9},
        "Simulator": {"Time Scale": 1e4 if kind == "dome" else 1.0, "Size": 64, "Seed": 0,
                      "Start": _transit(180.0, -30.0)},
    }))
    daemon = subprocess.Popen([sys.executable, "-m", "torosdrivers.daemons.cli", kind, "--config", str(config),
                               "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = daemon.stdout.readline().split(" on ")[1].split()[0]
    if kind == "telescope":  # the telescope is busy observing, waiting on its hardware
        proxy = xmlrpc.client.ServerProxy(url, allow_none=True)
        proxy.front_desk({"ID": "busy", "WOType": "Observation", "Priority": 10, "RA": 180.0, "Dec": -30.0,
                          "Filter": "V", "Exposure Time": 3600.0})
        while proxy.status("busy")["State"] != "running":
            time.sleep(0.05)
    queue = multiprocessing.Queue()
    start = time.time() + 1.0
    procs = [multiprocessing.Process(target=client, args=(url, kind, orders, start, queue)) for _ in range(CLIENTS)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=600) for _ in procs]
    wall = time.time() - start
    for p in procs:
        p.join()
    daemon.send_signal(signal.SIGKILL)  # the busy observation would run for an hour
    daemon.wait(timeout=60)
    return [x for r in results for x in r], wall


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--orders", type=int, default=400, help="orders per client (default: %(default)s)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="toros-bench-") as tmp:
        for kind in ("dome", "telescope"):
            latencies, wall = run(kind, Path(tmp), args.orders)
            latencies.sort()
            median = statistics.median(latencies) * 1000
            p99 = latencies[int(0.99 * (len(latencies) - 1))] * 1000
            rate = len(latencies) / wall
            print(f"{kind} daemon, {CLIENTS} client processes x {args.orders} orders, durable journal:")
            print(f"  accept latency median {median:.2f} ms, p99 {p99:.2f} ms; sustained {rate:.0f} orders/s")
            for text, ok in ((f"median {median:.2f} ms < 5 ms", median < 5), (f"p99 {p99:.2f} ms < 20 ms", p99 < 20),
                             (f"{rate:.0f} orders/s >= 500", rate >= 500)):
                print(f"  {'meets ' if ok else 'MISSES'} {text}")


if __name__ == "__main__":
    main()
