"""A night of raw frames taken by the simulated observatory, written as FITS files."""

from __future__ import annotations

import os
from pathlib import Path

from astropy.coordinates import SkyCoord

from torosdrivers.coords import from_altaz

from .observatory import SimulatedObservatory

__all__ = ["observe_night"]


def observe_night(
    obs: SimulatedObservatory,
    directory: str | os.PathLike,
    *,
    biases: int = 5,
    darks: int = 5,
    dark_time: float = 30.0,
    flats: int = 5,
    flat_time: float = 2.0,
    lights: dict[str, int] | None = None,
    light_time: float = 30.0,
    target: SkyCoord | None = None,
) -> list[Path]:
    """Take a night's frames with a connected observatory and write them to ``directory``.

    Bias and dark frames first (shutter shut), dome flats with the flat lamp in
    each filter that has lights, then the lights at ``target`` (by default the
    sky at 60 degrees altitude) with the dome open in front of the telescope.

    Returns
    -------
    list of Path
        The files written, in the order taken.
    """
    lights = {"V": 2} if lights is None else lights
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    camera, dome, wheel, mount = obs.camera, obs.dome, obs.filter_wheel, obs.mount
    written: list[Path] = []

    def save(frame, name: str) -> None:
        written.append(frame.write(out / name, overwrite=True))

    for i in range(biases):
        save(camera.expose(0.0, light=False), f"bias_{i:03d}.fits")
    for i in range(darks):
        save(camera.expose(dark_time, light=False), f"dark_{dark_time:g}s_{i:03d}.fits")
    dome.close_shutter()
    dome.action("FlatLamp", "on")
    for name in lights:
        wheel.select(name)
        for i in range(flats):
            save(camera.expose(flat_time, imagetyp="FLAT"), f"flat_{name}_{i:03d}.fits")
    dome.action("FlatLamp", "off")
    mount.unpark()
    mount.slew_to(target if target is not None else from_altaz(60.0, 100.0, mount.time, mount.site))
    dome.open_shutter()
    dome.slew_to_azimuth(round(mount.altaz.az.deg, 1) % 360.0)
    for name, count in lights.items():
        wheel.select(name)
        for i in range(count):
            save(camera.expose(light_time, object="field"), f"light_{name}_{i:03d}.fits")
    return written
