"""Each serial backend at the device's own speed (time scale 1), over every kind of line.

The contract suites run at time scale 1000, where a driver that drains a
streaming controller too slowly still passes. Here one full cycle of each
backend runs in real time over ``socket://`` (serial-over-Ethernet), a pty
(a local serial port) and ``rfc2217://`` (a port server), the three lines
of a backend in parallel. Device speeds are set fast so the whole set takes
about a minute, yet the DDW still streams its progress at its real rate for
seconds: a driver that falls behind the stream runs out of its timeouts.
Cycle times are printed by ``benchmarks/bench_serial_realtime.py``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.serial.cycles import realtime_cycle
from torosdrivers.simulators.serial.lines import LINE_KINDS as LINES

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("backend", ["lx200", "ddw", "qhycfw"])
def test_full_cycle_in_real_time_over_every_line(backend):
    with ThreadPoolExecutor(len(LINES)) as pool:
        results = dict(zip(LINES, pool.map(lambda line: realtime_cycle(backend, line), LINES)))
    for line, steps in results.items():
        assert steps, f"{backend} over {line}: no steps ran"
