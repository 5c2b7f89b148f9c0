"""Real-time cycle times of each serial backend over each kind of line (time scale 1).

The simulated devices are set fast (mount 20 deg/s, dome 30 deg/s with a 2 s
shutter, wheel 0.3 s per slot) and the backends poll every 0.2 s (0.1 s for
the wheel), as in ``tests/serial/test_realtime.py``. Each step's time is the
device's own motion plus what the line and the driver add; the ideal is
printed beside it. A driver that falls behind a streaming controller shows
here as a step far over its ideal (or a timeout).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.serial.cycles, from a checkout

from tests.serial.cycles import realtime_cycle  # noqa: E402
from torosdrivers.simulators.serial.lines import LINE_KINDS  # noqa: E402

#: Device time of each step with the speeds above.
IDEAL = {
    "slew 60 deg": None,  # depends on where the park position lies; see the other lines
    ":MS# refusal": 0.0,
    "open (home, then shutter)": 8.0,  # 180 deg home at 30 deg/s, then 2 s of shutter
    "goto 90 deg": 3.0,
    "close": 2.0,
    "goto, abort": 1.0,
    "change 0 -> 4": 0.6,  # shortest way round 6 slots: 2 slots
    "change 4 -> 1": 0.9,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="short mode (CI): the first kind of line, the mount and the wheel (the dome's cycle "
                             "alone takes 14 s of real time)")
    quick = parser.parse_args().quick
    kinds = LINE_KINDS[:1] if quick else LINE_KINDS
    print(f"{'backend':8} {'step':28} " + " ".join(f"{kind:>9}" for kind in kinds) + "     ideal")
    for backend in ("lx200", "qhycfw") if quick else ("lx200", "ddw", "qhycfw"):
        results = {kind: realtime_cycle(backend, kind) for kind in kinds}
        for step in results[LINE_KINDS[0]]:
            ideal = IDEAL.get(step)
            cells = " ".join(f"{results[kind][step]:8.2f}s" for kind in kinds)
            print(f"{backend:8} {step:28} {cells}  {'' if ideal is None else f'{ideal:7.2f}s'}")
        totals = " ".join(f"{sum(results[kind].values()):8.2f}s" for kind in kinds)
        print(f"{backend:8} {'whole cycle':28} {totals}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
