"""Which master may calibrate which frame: matched as a careful observer matches them.

A master fits a frame when it was read out the same way (binning, readout
mode, gain), covers the frame's region of the sensor (a full-frame master is
cropped to a subframe light), and, for bias and dark, was taken at the
frame's CCD temperature within a tolerance: dark current doubles every ~6 C,
so a dark taken 30 C warmer is eight times too bright and must never be used
silently. Flats also need the frame's filter. `why_not` says in words why a
master does not fit; `crop` gives the part of a master under a frame.
"""

from __future__ import annotations

import math

from .io import FrameInfo

__all__ = ["DEFAULT_TEMPERATURE_TOLERANCE", "why_not", "crop_slices", "temperature_groups"]

#: Degrees C a bias or dark may differ from the frame it calibrates.
DEFAULT_TEMPERATURE_TOLERANCE = 2.0
_GAIN_RTOL = 1e-3


def why_not(master: FrameInfo, frame: FrameInfo, kind: str, tolerance: float = DEFAULT_TEMPERATURE_TOLERANCE) -> str | None:
    """Why ``master`` (of ``kind`` BIAS, DARK or FLAT) cannot calibrate ``frame``; None when it can."""
    name = master.path.rsplit("/", 1)[-1]
    if (master.xbin, master.ybin) != (frame.xbin, frame.ybin):
        return f"{name} is binned {master.binning}, the frame {frame.binning}"
    if master.readout != frame.readout:
        return f"{name} was read out in mode {master.readout!r}, the frame in {frame.readout!r}"
    if master.gain is not None and frame.gain is not None and not math.isclose(master.gain, frame.gain,
                                                                                rel_tol=_GAIN_RTOL):
        return f"{name} has gain {master.gain:g} e-/ADU, the frame {frame.gain:g}"
    if crop_slices(master, frame) is None:
        return (f"{name} covers x {master.x0}-{master.x0 + master.width}, y {master.y0}-{master.y0 + master.height}; "
                f"the frame x {frame.x0}-{frame.x0 + frame.width}, y {frame.y0}-{frame.y0 + frame.height}")
    if kind == "FLAT" and master.filter != frame.filter:
        return f"{name} is a flat in {master.filter!r}, the frame was taken in {frame.filter!r}"
    if kind in ("BIAS", "DARK") and master.ccd_temp is not None and frame.ccd_temp is not None:
        if abs(master.ccd_temp - frame.ccd_temp) > tolerance:
            return (f"{name} was taken at {master.ccd_temp:+.1f} C, the frame at {frame.ccd_temp:+.1f} C "
                    f"(more than {tolerance:g} C apart)")
    return None


def crop_slices(master: FrameInfo, frame: FrameInfo) -> tuple[slice, slice] | None:
    """Rows and columns of ``master`` under ``frame`` (same binning), or None if it does not cover it."""
    dx, dy = frame.x0 - master.x0, frame.y0 - master.y0
    if dx < 0 or dy < 0 or dx + frame.width > master.width or dy + frame.height > master.height:
        return None
    return slice(dy, dy + frame.height), slice(dx, dx + frame.width)


def temperature_groups(frames: list[FrameInfo], tolerance: float = DEFAULT_TEMPERATURE_TOLERANCE) -> list[list[FrameInfo]]:
    """Frames split where their CCD temperatures spread beyond ``tolerance`` (unknown temperatures together)."""
    known = sorted((f for f in frames if f.ccd_temp is not None), key=lambda f: f.ccd_temp)  # type: ignore[arg-type, return-value]
    groups: list[list[FrameInfo]] = []
    for frame in known:
        if groups and frame.ccd_temp - groups[-1][0].ccd_temp <= tolerance:  # type: ignore[operator]
            groups[-1].append(frame)
        else:
            groups.append([frame])
    unknown = [f for f in frames if f.ccd_temp is None]
    return groups + ([unknown] if unknown else [])
