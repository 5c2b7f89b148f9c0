"""One full cycle of each serial backend against its simulator, at time scale 1 (tests and benchmark)."""

from __future__ import annotations

import time

from astropy.time import Time

from torosdrivers.ccd.qhycfw import QHYFilterWheel
from torosdrivers.coords import from_altaz
from torosdrivers.dome import ShutterState
from torosdrivers.dome.ddw import DDWDome
from torosdrivers.errors import InvalidValueError
from torosdrivers.mount.lx200 import LX200Mount
from torosdrivers.simulators import SimulatedObservatory
from torosdrivers.simulators.serial import DDWResponder, LX200Responder, QHYCFWResponder
from torosdrivers.simulators.serial.lines import serve_line

NIGHT = Time("2026-06-21T04:00:00", scale="utc")


def _observatory() -> SimulatedObservatory:
    obs = SimulatedObservatory(time_scale=1.0, seed=3, start=NIGHT, width=64, height=64)
    # Fast hardware, real time: a 90-degree dome turn is 3 s of DDW progress stream.
    obs.mount.slew_rate = 20.0
    obs.dome.rate = 30.0
    obs.dome.shutter_time = 2.0
    obs.filter_wheel.slot_time = 0.3
    return obs


def realtime_cycle(backend: str, line: str) -> dict[str, float]:
    """Run the cycle of ``backend`` (``lx200``, ``ddw``, ``qhycfw``) over ``line``; seconds per step."""
    obs = _observatory()
    steps: dict[str, float] = {}

    def step(name, action):
        t0 = time.monotonic()
        action()
        steps[name] = time.monotonic() - t0

    try:
        if backend == "lx200":
            with serve_line(LX200Responder(obs.mount), line) as url, \
                    LX200Mount(url, timeout=2.0, poll_interval=0.2) as mount:
                step("slew 60 deg", lambda: mount.slew_to(from_altaz(60.0, 120.0, mount.time, mount.site),
                                                          timeout=30))
                mount.min_altitude = 0.0

                def refused():
                    try:
                        mount.slew_to(from_altaz(5.0, 200.0, mount.time, mount.site))
                    except InvalidValueError as exc:
                        assert "below the horizon" in str(exc), exc
                    else:
                        raise AssertionError("the mount's own limit did not refuse a slew to 5 deg")
                step(":MS# refusal", refused)
        elif backend == "ddw":
            with serve_line(DDWResponder(obs.dome), line) as url, DDWDome(url, timeout=2.0, poll_interval=0.2) as dome:
                step("open (home, then shutter)", lambda: dome.open_shutter(timeout=30))
                step("goto 90 deg", lambda: dome.slew_to_azimuth(90.0, timeout=20))
                step("close", lambda: dome.close_shutter(timeout=20))

                def abort():
                    dome.slew_to_azimuth(300.0, wait=False)
                    time.sleep(1.0)  # mid-turn, with the position reports streaming
                    dome.abort()
                    assert not dome.slewing and dome.shutter == ShutterState.CLOSED
                    assert abs(dome.azimuth.value - obs.dome.azimuth.value) < 1.0
                step("goto, abort", abort)
        elif backend == "qhycfw":
            with serve_line(QHYCFWResponder(obs.filter_wheel, greeting_delay=0.5), line) as url, \
                    QHYFilterWheel(url, timeout=2.0, poll_interval=0.1, greeting_timeout=3.0) as wheel:
                step("change 0 -> 4", lambda: wheel.move_to(4, timeout=10))
                step("change 4 -> 1", lambda: wheel.move_to(1, timeout=10))
                assert wheel.position == obs.filter_wheel.position == 1
        else:
            raise ValueError(backend)
    finally:
        obs.disconnect()
    return steps
