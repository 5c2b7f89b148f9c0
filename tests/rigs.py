"""Backends the contract suites run over.

A rig is one set of devices of one backend kind. Each later backend (Alpaca,
serial) adds a factory here and every contract test runs over it unchanged.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

from astropy.time import Time

from torosdrivers.ccd import Camera, FilterWheel
from torosdrivers.dome import Dome
from torosdrivers.mount import Mount
from torosdrivers.simulators import SimulatedObservatory

#: A fixed night at the TOROS site, so every run sees the same sky.
NIGHT = Time("2026-06-21T04:00:00", scale="utc")
#: Device seconds per real second for the contract suites.
TIME_SCALE = 1000.0


@dataclass
class Rig:
    camera: Camera
    filter_wheel: FilterWheel
    mount: Mount
    dome: Dome
    time_scale: float


@contextmanager
def simulator_rig(time_scale: float = TIME_SCALE) -> Iterator[Rig]:
    obs = SimulatedObservatory(time_scale=time_scale, seed=7, start=NIGHT, width=256, height=192)
    with obs:
        yield Rig(obs.camera, obs.filter_wheel, obs.mount, obs.dome, time_scale)


RIGS: dict[str, Callable[..., "contextmanager[Rig]"]] = {
    "simulator": simulator_rig,
}


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.002) -> None:
    """Poll ``predicate`` until true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)
