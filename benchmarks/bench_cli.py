"""What the ``toros`` command costs an operator: its start-up, ``toros status``, and ``toros plan`` with its chart.

Starts the daemons and the scheduler in this process on the simulated
observatory (time scale 1: the plan stays put), gives the scheduler a Target
List of 400 galaxies, then runs each command as a user does, a new process
each time, and times it from the outside (median of 3). Beside ``toros plan``
runs its peer in the same run: the chart drawn from the slots alone (how
``toros plan`` drew it before the scheduler sent the chart's numbers: the
client imported astropy and computed the Sun, the Moon and every altitude
again).

Targets (issue 28): ``toros plan`` with the chart in at most 2 s; every
command that talks to daemons within 1 s of its own start-up (``toros
--version`` is that start-up).

Run: ``.venv/bin/python benchmarks/bench_cli.py [--targets 400] [--quick]``
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.daemons.test_scheduler import Night, _galaxies  # noqa: E402
from verdict import short_mode, verdict  # noqa: E402

TOROS = [sys.executable, "-m", "torosdrivers.daemons.tools.client"]


def timed(args: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        run = subprocess.run(args, capture_output=True, text=True, timeout=300)
        times.append(time.perf_counter() - t0)
        assert run.returncode in (0, 3), run.stderr[-2000:]
    return statistics.median(times)


OLD_WAY = """
import sys, xmlrpc.client
from torosdrivers.config import load_config
from torosdrivers.scheduling.chart import plan_chart
config = load_config(sys.argv[1])
plan = xmlrpc.client.ServerProxy(config.url("Scheduler"), allow_none=True).plan()
plan_chart(plan["Slots"], config.site, sys.argv[2])
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--targets", type=int, default=400)
    p.add_argument("--quick", action="store_true", help="short mode (CI): 40 targets, one run of each")
    args = p.parse_args()
    repeat = 3
    if short_mode(args.quick):
        args.targets, repeat = 40, 1
    with tempfile.TemporaryDirectory(prefix="toros-bench-cli-") as tmp:
        folder = Path(tmp)
        # No CCD set point: at time scale 1 the order handed on would cool the camera for minutes of real time,
        # and the stop lets the step under way end (a CI run waited 4 minutes here)
        night = Night(folder, Simulator={"Time Scale": 1.0}, Telescope={"CCD Set Point": None})
        try:
            night.proxy.front_desk({"ID": "tl", "WOType": "Target List", "Filter": "V", "Exposure Time": 60.0,
                                    "Targets": _galaxies(args.targets, ra=(280, 330))})
            deadline = time.monotonic() + 120
            while len(night.proxy.plan()["Slots"]) == 0:
                assert time.monotonic() < deadline, "the scheduler made no plan"
                time.sleep(0.1)
            slots = len(night.proxy.plan()["Slots"])
            config = folder / "client.yaml"
            config.write_text(yaml.safe_dump({
                "Scheduler Address": {"IP": "127.0.0.1", "Port": night.scheduler.server.port},
                "Telescope Address": {"IP": "127.0.0.1", "Port": night.stack.telescope.server.port},
                "Dome Address": {"IP": "127.0.0.1", "Port": night.stack.dome.server.port},
                "Preprocessor Address": {"IP": "127.0.0.1", "Port": night.stack.preprocessor.server.port,
                                         "HTTP": f"http://127.0.0.1:{night.stack.preprocessor.server.port}"},
                "Logging": {"File": str(folder / "client.log")}}))
            start_up = timed([*TOROS, "--version"], repeat)
            status = timed([*TOROS, "--config", str(config), "status"], repeat)
            plan = timed([*TOROS, "--config", str(config), "plan", "--png", str(folder / "plan.png")], repeat)
            table = timed([*TOROS, "--config", str(config), "plan", "--png", ""], repeat)
            old = timed([sys.executable, "-c", OLD_WAY, str(config), str(folder / "old.png")], repeat)
        finally:
            night.stop()
    print(f"toros, each command a new process, median of {repeat}; a Target List of {args.targets} "
          f"({slots} planned):")
    print(f"  toros --version (the start-up)        {start_up:6.2f} s")
    print(f"  toros status (four daemons)           {status:6.2f} s")
    print(f"  toros plan, table only                {table:6.2f} s")
    print(f"  toros plan with its chart             {plan:6.2f} s")
    print(f"  peer: the chart from the slots alone  {old:6.2f} s  (astropy in the client; {old / plan:.1f}x)")
    for ok, text in ((plan <= 2.0, f"toros plan with the chart {plan:.2f} s <= 2 s"),
                     (status - start_up <= 1.0, f"toros status {status - start_up:.2f} s past its start-up <= 1 s"),
                     (start_up <= 1.0, f"start-up {start_up:.2f} s <= 1 s")):
        print(f"  {verdict(ok)} {text}")


if __name__ == "__main__":
    main()
