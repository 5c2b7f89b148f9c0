"""Master bias, dark and flat frames, combined by blocks of rows on any executor.

Every unit of work is a plain function of picklable arguments (file facts and
row numbers), so the same code runs on a thread pool, a process pool or a
Dask cluster (``Client.get_executor()``): workers read their own rows from
the files, and only combined blocks travel back.
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.time import Time

from .._version import __version__
from ..ccd.frame import write_fits_atomic
from .combine import METHODS, reduce_stack
from .io import FrameError, FrameInfo, read_frame, read_rows
from .matching import crop_slices

__all__ = [
    "StackSpec",
    "DEFAULT_MEMORY_LIMIT",
    "default_executor",
    "combine_frames",
    "make_master_bias",
    "make_master_dark",
    "make_master_flat",
    "MasterResult",
]

DEFAULT_MEMORY_LIMIT = 384 * 2**20  # bytes for the blocks in flight
_STACK_COPIES = 2.5  # the stack, plus the temporaries of the reduction

_DEFAULT: Executor | None = None


def default_executor() -> Executor:
    """A thread pool over every core (numpy releases the GIL in these loops)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="toros-preprocess")
    return _DEFAULT


@dataclass(frozen=True)
class StackSpec:
    """A stack to combine: frames, what to subtract and scale, and how to combine.

    Each frame ``i`` enters as ``(frame - bias - dark * dark_scales[i]) * scales[i]``.
    """

    frames: tuple[FrameInfo, ...]
    method: str = "median"
    options: tuple[tuple[str, float | str], ...] = ()
    bias: FrameInfo | None = None
    dark: FrameInfo | None = None
    dark_scales: tuple[float, ...] = ()
    scales: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method={self.method!r}: expected one of {METHODS}")
        shapes = {f.shape for f in self.frames}
        if len(shapes) != 1:
            raise ValueError(f"frames of different shapes cannot be combined: {sorted(shapes)}")


def master_rows(master: FrameInfo, frame: FrameInfo, start: int, stop: int) -> np.ndarray:
    """Rows ``start:stop`` of the part of ``master`` under ``frame`` (a full-frame master, cropped)."""
    region = crop_slices(master, frame)
    if region is None:
        raise FrameError(frame.path, f"master {Path(master.path).name} does not cover this frame's region")
    ys, xs = region
    return read_rows(master, ys.start + start, ys.start + stop)[:, xs]


def combine_block(spec: StackSpec, start: int, stop: int) -> np.ndarray:
    """Combine rows ``start:stop`` of a stack (a task for an executor)."""
    first = spec.frames[0]
    stack = np.empty((len(spec.frames), stop - start, first.width), np.float32)
    for i, frame in enumerate(spec.frames):
        read_rows(frame, start, stop, out=stack[i])
    if spec.bias is not None:
        stack -= master_rows(spec.bias, first, start, stop)
    if spec.dark is not None:
        dark = master_rows(spec.dark, first, start, stop)
        for i, scale in enumerate(spec.dark_scales):
            stack[i] -= dark * np.float32(scale)
    for i, scale in enumerate(spec.scales):
        stack[i] *= np.float32(scale)
    return reduce_stack(stack, spec.method, **dict(spec.options))


def block_rows(frames: int, width: int, memory_limit: int, workers: int) -> int:
    """Rows per block so that the blocks in flight fit in ``memory_limit`` bytes."""
    per_row = frames * width * 4 * _STACK_COPIES
    return max(8, int(memory_limit // max(1, 2 * workers) // per_row))


def combine_frames(
    spec: StackSpec, *, executor: Executor | None = None, memory_limit: int = DEFAULT_MEMORY_LIMIT
) -> np.ndarray:
    """Combine a stack into one float32 frame, block by block on ``executor``.

    At most two blocks per worker are in flight, so the memory held besides
    the result stays within ``memory_limit``.
    """
    pool = executor or default_executor()
    workers = getattr(pool, "_max_workers", None) or 2
    height, width = spec.frames[0].shape
    step = block_rows(len(spec.frames), width, memory_limit, workers)
    out = np.empty((height, width), np.float32)
    pending: deque = deque()
    starts = iter(range(0, height, step))
    for start in starts:
        pending.append((start, pool.submit(combine_block, spec, start, min(start + step, height))))
        if len(pending) >= 2 * workers:
            break
    while pending:
        start, future = pending.popleft()
        block = future.result()
        out[start : start + block.shape[0]] = block
        del block
        nxt = next(starts, None)
        if nxt is not None:
            pending.append((nxt, pool.submit(combine_block, spec, nxt, min(nxt + step, height))))
    return out


def frame_median(frame: FrameInfo, bias: FrameInfo | None, dark: FrameInfo | None, dark_scale: float) -> float:
    """Median of a frame after bias and dark subtraction (a task: a flat's scale)."""
    data = read_frame(frame)
    if bias is not None:
        data -= master_rows(bias, frame, 0, frame.height)
    if dark is not None:
        data -= master_rows(dark, frame, 0, frame.height) * np.float32(dark_scale)
    return float(np.median(data))


@dataclass
class MasterResult:
    """A master written to disk, and the inputs left out with why."""

    path: Path
    info: FrameInfo
    used: list[FrameInfo]
    rejected: list[FrameError] = field(default_factory=list)


def _write_master(data: np.ndarray, path: Path, kind: str, frames: list[FrameInfo], method: str,
                  extra: dict[str, object]) -> FrameInfo:
    from .io import read_info

    header = fits.Header()
    first = frames[0]
    header["IMAGETYP"] = (kind, "a master calibration frame")
    header["MASTER"] = (True, "combined by torosdrivers.preprocessing")
    header["EXPTIME"] = (extra.pop("EXPTIME", first.exptime), "[s]")
    header["FILTER"] = first.filter
    header["BUNIT"] = ("adu", "counts")
    header["XBINNING"], header["YBINNING"] = first.xbin, first.ybin
    header["XORGSUBF"], header["YORGSUBF"] = (first.x0, "subframe origin, binned"), (first.y0, "subframe origin, binned")
    if first.readout:
        header["READOUTM"] = (first.readout, "readout mode")
    if first.gain is not None:
        header["GAIN"] = (first.gain, "[e-/ADU]")
    temps = [f.ccd_temp for f in frames if f.ccd_temp is not None]
    if temps:
        header["CCD-TEMP"] = (round(float(np.mean(temps)), 2), "[C] mean sensor temperature of the inputs")
        header["TEMPSPRD"] = (round(max(temps) - min(temps), 2), "[C] spread of the inputs' temperatures")
    header["NCOMBINE"] = (len(frames), "frames combined")
    header["COMBMETH"] = (method, "combination method")
    first_start = min((f.date_obs for f in frames if f.date_obs), default="")
    header["DATE-OBS"] = (first_start, "first input's start")
    if first_start:
        try:
            header["MJD-OBS"] = (round(Time(first_start).mjd, 8), "first input's start")
        except ValueError:
            pass  # an input with a DATE-OBS astropy cannot read: the text stays
    header["PROCVER"] = (__version__, "torosdrivers version")
    header["DATE"] = (Time.now().isot, "UTC of creation")
    for key, value in extra.items():
        header[key] = value
    for frame in frames:
        header.add_history(f"input {Path(frame.path).name}")
    write_fits_atomic(fits.HDUList([fits.PrimaryHDU(data, header)]), path, overwrite=True)
    return read_info(path)


def make_master_bias(frames: list[FrameInfo], path: str | os.PathLike, *, method: str = "median",
                     executor: Executor | None = None, memory_limit: int = DEFAULT_MEMORY_LIMIT,
                     **options: float | str) -> MasterResult:
    """Combine bias frames into a master bias at ``path``."""
    spec = StackSpec(tuple(frames), method, tuple(sorted(options.items())))
    data = combine_frames(spec, executor=executor, memory_limit=memory_limit)
    info = _write_master(data, Path(path), "MASTER BIAS", frames, method, {"EXPTIME": 0.0})
    return MasterResult(Path(path), info, list(frames))


def make_master_dark(frames: list[FrameInfo], bias: FrameInfo | None, path: str | os.PathLike, *,
                     method: str = "median", executor: Executor | None = None,
                     memory_limit: int = DEFAULT_MEMORY_LIMIT, **options: float | str) -> MasterResult:
    """Combine bias-subtracted darks of one exposure time into a master dark at ``path``.

    The master keeps that EXPTIME; calibration scales it to each light's.
    """
    times = {f.exptime for f in frames}
    if len(times) != 1:
        raise ValueError(f"darks of several exposure times cannot be combined: {sorted(times)}")
    spec = StackSpec(tuple(frames), method, tuple(sorted(options.items())), bias=bias)
    data = combine_frames(spec, executor=executor, memory_limit=memory_limit)
    extra = {"EXPTIME": frames[0].exptime, "MBIAS": Path(bias.path).name if bias else ""}
    info = _write_master(data, Path(path), "MASTER DARK", frames, method, extra)
    return MasterResult(Path(path), info, list(frames))


def make_master_flat(frames: list[FrameInfo], bias: FrameInfo | None, dark: FrameInfo | None,
                     path: str | os.PathLike, *, method: str = "median", executor: Executor | None = None,
                     memory_limit: int = DEFAULT_MEMORY_LIMIT, **options: float | str) -> MasterResult:
    """Combine flats of one filter into a master flat normalised to a median of 1.

    Each flat is bias- and dark-subtracted and divided by its own median
    before the combination; a flat whose median is not positive is rejected
    (named in `MasterResult.rejected`).
    """
    pool = executor or default_executor()
    scales = [f.exptime / dark.exptime if dark and dark.exptime else 0.0 for f in frames]
    medians = [pool.submit(frame_median, f, bias, dark, s) for f, s in zip(frames, scales)]
    used, kept_scales, inverse, rejected = [], [], [], []
    for frame, scale, future in zip(frames, scales, medians):
        level = future.result()
        if not np.isfinite(level) or level <= 0:
            rejected.append(FrameError(frame.path, f"flat with median {level:g} after calibration: cannot normalise"))
            continue
        used.append(frame)
        kept_scales.append(scale)
        inverse.append(1.0 / level)
    if not used:
        raise FrameError(frames[0].path, "no usable flat in this group: " + "; ".join(str(r) for r in rejected))
    spec = StackSpec(tuple(used), method, tuple(sorted(options.items())), bias=bias,
                     dark=dark, dark_scales=tuple(kept_scales) if dark else (), scales=tuple(inverse))
    data = combine_frames(spec, executor=pool, memory_limit=memory_limit)
    data /= np.float32(np.median(data))
    extra = {"MBIAS": Path(bias.path).name if bias else "", "MDARK": Path(dark.path).name if dark else ""}
    info = _write_master(data, Path(path), "MASTER FLAT", used, method, extra)
    return MasterResult(Path(path), info, used, rejected)
