"""A simulated observatory's state kept on disk, so a restarted ``toros-devices`` goes on with the same night.

Without it a device server restarted under a running night started the
night again at ``Simulator: Start``: the clock jumped back hours, the dome
shut and the mount parked under the daemons' orders. `save` writes what a
restart must keep (the observatory's time, the dome's shutter and azimuth,
where the mount points and whether it tracks or is parked, the filter in
the beam, the cooler) as JSON, atomically; `restore` puts a new observatory
in that state, its clock advanced by the real time the process was away
times the time scale (the sky did not wait). Motions under way are saved
where they had got to: a restart ends them, as a power cut ends a real one.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from astropy.time import Time, TimeDelta

from torosdrivers.dome import ShutterState

__all__ = ["save", "restore", "snapshot"]

VERSION = 1


def snapshot(obs) -> dict:
    """What a restart of ``obs`` (a `SimulatedObservatory`) must keep."""
    shutter, azimuth = obs.dome.slit()
    mount = obs.mount
    ra, dec = mount._true_radec()
    with mount._lock:
        tracking, parked = bool(mount._tracking_on), bool(mount._parked)
    camera = obs.camera
    return {"Version": VERSION, "Seed": obs.seed, "Time": obs.clock.now().utc.isot, "Saved": time.time(),
            "Dome": {"Shutter": "open" if shutter == ShutterState.OPEN else "closed", "Azimuth": float(azimuth),
                     "Parked": bool(obs.dome._parked)},
            "Mount": {"RA": float(ra), "Dec": float(dec), "Tracking": tracking, "Parked": parked},
            "Filter": obs.filter_wheel.filter_in_beam(),
            "Camera": {"Cooler": bool(camera._cooler), "Set Point": float(camera._setpoint),
                       "Temperature": float(camera._temperature())}}


def save(obs, path: str | os.PathLike) -> None:
    """Write ``obs``'s state to ``path`` (atomically: a crash leaves the previous state, never half of one)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(snapshot(obs)))
    os.replace(temporary, path)


def restore(obs, path: str | os.PathLike) -> bool:
    """Put ``obs`` in the state saved at ``path``; False (nothing changed) when there is none or it is of
    another observatory (another seed) or unreadable."""
    try:
        state = json.loads(Path(path).read_text())
        if state.get("Version") != VERSION or state.get("Seed") != obs.seed:
            return False
        away = max(0.0, time.time() - float(state["Saved"]))
        scale = obs.clock.time_scale if obs.clock.time_scale != float("inf") else 0.0
        obs.clock.set_now(Time(state["Time"], scale="utc") + TimeDelta(away * scale, format="sec"))
        dome, mount, camera = state["Dome"], state["Mount"], state["Camera"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    d = obs.dome
    with d._lock:
        d._az = float(dome["Azimuth"]) % 360.0
        d._parked = bool(dome["Parked"])
        if dome["Shutter"] == "open":
            d._shutter_state, d._opened_at = ShutterState.OPEN, obs.clock.now()
    m = obs.mount
    with m._lock:
        m._parked, m._tracking_on = bool(mount["Parked"]), bool(mount["Tracking"])
        if m._parked:
            m._fixed_sky, m._fixed_earth = None, m.park_altaz
        elif m._tracking_on:
            m._fixed_sky, m._fixed_earth = (float(mount["RA"]), float(mount["Dec"])), None
    if not m._parked and not m._tracking_on:
        m._freeze_on_earth((float(mount["RA"]), float(mount["Dec"])))
    wheel = obs.filter_wheel
    if state.get("Filter") in wheel._filter_names:
        with wheel._lock:
            wheel._slot = wheel._target = wheel._filter_names.index(state["Filter"])
            wheel._move_timer = None
    c = obs.camera
    c._cooler, c._setpoint = bool(camera["Cooler"]), float(camera["Set Point"])
    c._temp_ref, c._temp_stamp = float(camera["Temperature"]), obs.clock.stamp()
    return True
