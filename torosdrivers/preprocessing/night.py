"""`process_night`: a night's directory of FITS files in, masters and calibrated products out.

The night's files are classified by IMAGETYP, FILTER, EXPTIME and binning;
the masters it can make are made (bias per binning, dark per exposure time,
flat per filter), every light is calibrated with the best masters there are
(this night's, else the newest valid ones in the catalog, which the report
says), and everything goes to ``directory/products/``. A file that cannot be
used is reported by name and skipped; the rest of the night goes on. Masters
and products whose inputs have not changed are not made again.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .calibrate import calibrate_file
from .catalog import Catalog, signature
from .io import FrameError, FrameInfo, read_info
from .masters import DEFAULT_MEMORY_LIMIT, default_executor, make_master_bias, make_master_dark, make_master_flat

__all__ = ["process_night", "NightReport", "default_catalog_path"]

log = logging.getLogger(__name__)

FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.fz")


def default_catalog_path() -> Path:
    """``$TOROS_CATALOG``, else ``~/.toros/catalog.sqlite`` (shared by all nights)."""
    return Path(os.environ.get("TOROS_CATALOG", Path.home() / ".toros" / "catalog.sqlite"))


@dataclass
class NightReport:
    """What a run did, file by file."""

    night: Path
    masters_built: list[Path] = field(default_factory=list)
    masters_reused: list[str] = field(default_factory=list)
    calibrated: list[Path] = field(default_factory=list)
    up_to_date: list[Path] = field(default_factory=list)
    uncalibrated: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> list[tuple[str, int]]:
        return [
            ("masters built", len(self.masters_built)),
            ("calibrated", len(self.calibrated)),
            ("already up to date", len(self.up_to_date)),
            ("left uncalibrated", len(self.uncalibrated)),
            ("skipped files", len(self.skipped)),
        ]


Progress = Callable[[str], None]


def process_night(
    directory: str | os.PathLike,
    *,
    catalog: Catalog | str | os.PathLike | None = None,
    executor: Executor | None = None,
    method: str = "median",
    memory_limit: int = DEFAULT_MEMORY_LIMIT,
    progress: Progress | None = None,
) -> NightReport:
    """Build the masters of a night and calibrate its light frames.

    Parameters
    ----------
    directory
        The night's folder of FITS files (not searched recursively; its
        ``products/`` folder is ignored as input).
    catalog
        A `Catalog`, or the path of its SQLite file (default
        `default_catalog_path`).
    executor
        Where the work runs: any ``concurrent.futures.Executor`` (a Dask
        client's ``get_executor()`` too). Default: a thread pool over every core.
    method
        How masters are combined: ``median``, ``mean``, ``sigma_clip`` (robust, iterated) or
        ``ccdproc_sigma_clip`` (ccdproc's one pass).
    memory_limit
        Bytes the blocks of a combine may hold at once.
    progress
        Called with a line of text at each step.
    """
    night = Path(directory)
    if not night.is_dir():
        raise NotADirectoryError(f"{night} is not a directory")
    owns_catalog = not isinstance(catalog, Catalog)
    cat = catalog if isinstance(catalog, Catalog) else Catalog(catalog or default_catalog_path())
    try:
        return _Night(night, cat, executor or default_executor(), method, memory_limit, progress or log.info).run()
    finally:
        if owns_catalog:
            cat.close()


class _Night:
    def __init__(self, night: Path, catalog: Catalog, executor: Executor, method: str, memory_limit: int,
                 progress: Progress) -> None:
        self.night = night
        self.products = night / "products"
        self.masters_dir = self.products / "masters"
        self.catalog = catalog
        self.executor = executor
        self.method = method
        self.memory_limit = memory_limit
        self.say = progress
        self.report = NightReport(night)
        self.night_id = catalog.night(night)
        self.frame_ids: dict[str, int] = {}

    # -- the steps ----------------------------------------------------------------------
    def run(self) -> NightReport:
        groups = self.classify()
        biases = {key: self.master("BIAS", key, frames, lambda out, fs: make_master_bias(
            fs, out, method=self.method, executor=self.executor, memory_limit=self.memory_limit))
            for key, frames in groups["BIAS"].items()}
        darks = {}
        for key, frames in groups["DARK"].items():
            bias = self.pick("BIAS", biases, key[:3], frames[0])
            darks[key] = self.master("DARK", key, frames, lambda out, fs, b=bias: make_master_dark(
                fs, b, out, method=self.method, executor=self.executor, memory_limit=self.memory_limit), deps=(bias,))
        flats = {}
        for key, frames in groups["FLAT"].items():
            bias = self.pick("BIAS", biases, key[:3], frames[0])
            dark = self.best_dark(darks, key[:3], frames[0])
            flats[key] = self.master("FLAT", key, frames, lambda out, fs, b=bias, d=dark: make_master_flat(
                fs, b, d, out, method=self.method, executor=self.executor, memory_limit=self.memory_limit),
                deps=(bias, dark))
        self.calibrate_lights(groups["LIGHT"], biases, darks, flats)
        self.catalog.mark_processed(self.night_id)
        return self.report

    def classify(self) -> dict[str, dict[tuple, list[FrameInfo]]]:
        groups: dict[str, dict[tuple, list[FrameInfo]]] = {k: defaultdict(list) for k in ("BIAS", "DARK", "FLAT", "LIGHT")}
        files = sorted(p for p in self.night.iterdir() if p.is_file() and p.name.lower().endswith(FITS_SUFFIXES))
        self.say(f"{self.night}: {len(files)} FITS files")
        for path in files:
            try:
                info = read_info(path)
            except FrameError as exc:
                self.skip(path, exc.reason)
                continue
            self.frame_ids[info.path] = self.catalog.add_frame(self.night_id, info)
            geometry = (info.xbin, info.ybin, info.shape)
            key = {
                "BIAS": geometry,
                "DARK": (*geometry, info.exptime),
                "FLAT": (*geometry, info.filter),
                "LIGHT": (*geometry, info.filter, info.exptime),
            }[info.imagetyp]
            groups[info.imagetyp][key].append(info)
        for kind in ("BIAS", "DARK", "FLAT", "LIGHT"):
            count = sum(len(v) for v in groups[kind].values())
            if count:
                self.say(f"  {kind.lower():5s}: {count} in {len(groups[kind])} group(s)")
        return groups

    def skip(self, path: Path | str, reason: str) -> None:
        self.report.skipped.append((Path(path).name, reason))
        self.catalog.add_frame(self.night_id, None, path=str(path), problem=reason)
        self.say(f"  skipped {Path(path).name}: {reason}")

    @staticmethod
    def _name(kind: str, key: tuple) -> str:
        xbin, ybin, shape = key[:3]
        extra = "".join(f"_{str(k).replace(' ', '')}" + ("s" if isinstance(k, float) else "") for k in key[3:])
        return f"master_{kind.lower()}_{xbin}x{ybin}_{shape[1]}x{shape[0]}{extra}.fits"

    def master(self, kind: str, key: tuple, frames: list[FrameInfo], build, deps: tuple = ()) -> FrameInfo | None:
        """Build (or reuse, if its inputs are unchanged) one master."""
        if len(frames) < 1:
            return None
        sig = signature(kind, self.method, *sorted(frames, key=lambda f: f.path), *[d for d in deps if d])
        recorded = self.catalog.master_by_signature(sig)
        if recorded is not None:
            self.say(f"  master {kind.lower()} {Path(recorded['path']).name}: up to date")
            return read_info(recorded["path"])
        out = self.masters_dir / self._name(kind, key)
        self.say(f"  building {out.name} from {len(frames)} frame(s)")
        try:
            result = build(out, frames)
        except FrameError as exc:
            self.report.notes.append(f"no master {kind.lower()} for {key}: {exc}")
            self.say(f"  no master {kind.lower()}: {exc}")
            return None
        for rejected in result.rejected:
            self.skip(rejected.path, rejected.reason)
        self.catalog.add_master(self.night_id, result.info, kind, self.method, sig, result.used)
        self.report.masters_built.append(result.path)
        return result.info

    def pick(self, kind: str, tonight: dict, geometry: tuple, frame: FrameInfo) -> FrameInfo | None:
        """Tonight's master for this geometry, else the catalog's newest valid one."""
        for key, info in tonight.items():
            if info is not None and key[:3] == geometry and (kind != "FLAT" or key[3] == frame.filter):
                return info
        row = self.catalog.masters_for(frame).get(kind)
        if row is None:
            return None
        note = f"{kind.lower()} for {frame.binning} {frame.filter or ''} from the catalog: {Path(row['path']).name}"
        if note not in self.report.masters_reused:
            self.report.masters_reused.append(note)
            self.say(f"  using {note}")
        return read_info(row["path"])

    def best_dark(self, darks: dict, geometry: tuple, frame: FrameInfo) -> FrameInfo | None:
        """Tonight's dark of the same exposure time, else tonight's longest, else the catalog's."""
        tonight = [(k, v) for k, v in darks.items() if v is not None and k[:3] == geometry]
        exact = [v for k, v in tonight if k[3] == frame.exptime]
        if exact:
            return exact[0]
        if tonight:
            return max(tonight, key=lambda kv: kv[0][3])[1]
        return self.pick("DARK", {}, geometry, frame)

    def calibrate_lights(self, lights: dict, biases: dict, darks: dict, flats: dict) -> None:
        jobs = []
        for key, frames in lights.items():
            geometry = key[:3]
            sample = frames[0]
            bias = self.pick("BIAS", biases, geometry, sample)
            dark = self.best_dark(darks, geometry, sample)
            flat = self.pick("FLAT", flats, geometry, sample)
            if bias is None and dark is None and flat is None:
                for frame in frames:
                    reason = (f"no bias, dark or flat for {frame.binning} {frame.filter} "
                              f"({frame.width}x{frame.height}) in this night or the catalog")
                    self.report.uncalibrated.append((Path(frame.path).name, reason))
                    self.say(f"  left {Path(frame.path).name} uncalibrated: {reason}")
                continue
            missing = [k for k, m in (("bias", bias), ("dark", dark), ("flat", flat)) if m is None]
            notes = tuple(f"no {k} available: not applied" for k in missing)
            for frame in frames:
                frame_id = self.frame_ids[frame.path]
                sig = signature(frame, bias, dark, flat)
                out = self.products / (Path(frame.path).name.split(".")[0] + "_cal.fits")
                if self.catalog.product_signature(frame_id) == sig and out.exists():
                    self.report.up_to_date.append(out)
                    continue
                future = self.executor.submit(calibrate_file, frame, out, bias=bias, dark=dark, flat=flat, notes=notes)
                jobs.append((frame, frame_id, sig, out, (bias, dark, flat), notes, future))
        total = len(jobs)
        for done, (frame, frame_id, sig, out, masters, notes, future) in enumerate(jobs, 1):
            try:
                future.result()
            except FrameError as exc:
                self.skip(frame.path, exc.reason)
                continue
            ids = {kind: self.catalog.master_id(m.path) if m else None for kind, m in zip(("BIAS", "DARK", "FLAT"), masters)}
            self.catalog.add_product(frame_id, out, ids, sig, note="; ".join(notes))
            self.report.calibrated.append(out)
            self.say(f"  [{done}/{total}] {out.name}" + (f" ({'; '.join(notes)})" if notes else ""))

