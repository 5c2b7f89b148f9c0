"""`process_night`: a night's directory of FITS files in, masters and calibrated products out.

The night's files are classified by IMAGETYP, FILTER, EXPTIME, readout
(binning, region, mode, gain) and CCD temperature; the masters it can make
are made (bias per setup and temperature, dark also per exposure time, flat
per filter), every light is calibrated with the masters that fit it
(`matching.why_not`: this night's, else the newest in the catalog, which the
report says; a full-frame master is cropped to a subframe light), and
everything goes to ``directory/products/``. A light no master of some kind
fits is calibrated without it, and CALSTAT, the catalog's note, the product's
HISTORY and the run's summary say which and why. A file that cannot be
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
from .matching import DEFAULT_TEMPERATURE_TOLERANCE, temperature_groups, why_not

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
    incomplete: list[tuple[str, str]] = field(default_factory=list)  # calibrated without some master, and why
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> list[tuple[str, int]]:
        return [
            ("masters built", len(self.masters_built)),
            ("calibrated", len(self.calibrated)),
            ("calibrated without some master", len(self.incomplete)),
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
    temperature_tolerance: float = DEFAULT_TEMPERATURE_TOLERANCE,
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
    temperature_tolerance
        Degrees C a bias or dark may differ from the frames it calibrates
        (`torosdrivers.preprocessing.matching`).
    """
    night = Path(directory)
    if not night.is_dir():
        raise NotADirectoryError(f"{night} is not a directory")
    owns_catalog = not isinstance(catalog, Catalog)
    cat = catalog if isinstance(catalog, Catalog) else Catalog(catalog or default_catalog_path())
    try:
        return _Night(night, cat, executor or default_executor(), method, memory_limit, progress or log.info,
                      temperature_tolerance).run()
    finally:
        if owns_catalog:
            cat.close()


class _Night:
    def __init__(self, night: Path, catalog: Catalog, executor: Executor, method: str, memory_limit: int,
                 progress: Progress, tolerance: float) -> None:
        self.night = night
        self.products = night / "products"
        self.masters_dir = self.products / "masters"
        inside = night.resolve()
        for folder in (self.products, self.masters_dir):  # written only inside the night: no link leads out
            if folder.is_symlink() or (folder.exists() and inside not in folder.resolve().parents):
                raise NotADirectoryError(f"{folder} is a link (to {folder.resolve()}): products are written only "
                                         f"inside {night}; remove the link")
        self.catalog = catalog
        self.executor = executor
        self.method = method
        self.memory_limit = memory_limit
        self.tolerance = tolerance
        self.say = progress
        self.report = NightReport(night)
        self.night_id = catalog.night(night)
        self.frame_ids: dict[str, int] = {}
        self._names_used: set[Path] = set()

    # -- the steps ----------------------------------------------------------------------
    def run(self) -> NightReport:
        groups = self.classify()
        options = {"method": self.method, "executor": self.executor, "memory_limit": self.memory_limit}
        biases = [self.master("BIAS", frames, lambda out, fs: make_master_bias(fs, out, **options))
                  for frames in groups["BIAS"]]
        darks = []
        for frames in groups["DARK"]:
            bias, _ = self.choose("BIAS", biases, frames[0])
            darks.append(self.master("DARK", frames, lambda out, fs, b=bias: make_master_dark(fs, b, out, **options),
                                     deps=(bias,)))
        flats = []
        for frames in groups["FLAT"]:
            bias, _ = self.choose("BIAS", biases, frames[0])
            dark, _ = self.choose("DARK", darks, frames[0])
            flats.append(self.master("FLAT", frames, lambda out, fs, b=bias, d=dark: make_master_flat(
                fs, b, d, out, **options), deps=(bias, dark)))
        self.calibrate_lights(groups["LIGHT"], biases, darks, flats)
        self.catalog.mark_processed(self.night_id)
        return self.report

    def classify(self) -> dict[str, list[list[FrameInfo]]]:
        """Frames by type, in groups that may be combined: same readout, region, exposure, filter, temperature."""
        keyed: dict[str, dict[tuple, list[FrameInfo]]] = {k: defaultdict(list) for k in ("BIAS", "DARK", "FLAT", "LIGHT")}
        files = sorted(p for p in self.night.iterdir() if p.is_file() and p.name.lower().endswith(FITS_SUFFIXES))
        self.say(f"{self.night}: {len(files)} FITS files")
        for path in files:
            try:
                info = read_info(path)
            except FrameError as exc:
                self.skip(path, exc.reason)
                continue
            self.frame_ids[info.path] = self.catalog.add_frame(self.night_id, info)
            readout = (info.xbin, info.ybin, info.x0, info.y0, info.width, info.height, info.readout, info.gain)
            key = {
                "BIAS": readout,
                "DARK": (*readout, info.exptime),
                "FLAT": (*readout, info.filter),
                "LIGHT": (*readout, info.filter, info.exptime),
            }[info.imagetyp]
            keyed[info.imagetyp][key].append(info)
        groups: dict[str, list[list[FrameInfo]]] = {}
        for kind, by_key in keyed.items():
            # Bias and dark levels follow the sensor's temperature: never combine across it.
            split = kind in ("BIAS", "DARK", "LIGHT")
            groups[kind] = [g for frames in by_key.values()
                            for g in (temperature_groups(frames, self.tolerance) if split else [frames])]
            count = sum(len(g) for g in groups[kind])
            if count:
                self.say(f"  {kind.lower():5s}: {count} in {len(groups[kind])} group(s)")
        return groups

    def skip(self, path: Path | str, reason: str) -> None:
        self.report.skipped.append((Path(path).name, reason))
        self.catalog.add_frame(self.night_id, None, path=str(path), problem=reason)
        self.say(f"  skipped {Path(path).name}: {reason}")

    def _name(self, kind: str, frames: list[FrameInfo]) -> str:
        f = frames[0]
        name = f"master_{kind.lower()}_{f.xbin}x{f.ybin}_{f.width}x{f.height}"
        if (f.x0, f.y0) != (0, 0):
            name += f"_at{f.x0}-{f.y0}"
        if f.readout:
            name += "_" + "".join(c for c in f.readout if c.isalnum())
        if kind == "DARK":
            name += f"_{float(f.exptime)}s"
        if kind == "FLAT":
            name += f"_{f.filter.replace(' ', '')}"
        out = self.masters_dir / f"{name}.fits"
        if kind in ("BIAS", "DARK") and f.ccd_temp is not None and out in self._names_used:
            out = self.masters_dir / f"{name}_{f.ccd_temp:+.0f}C.fits"  # another temperature, same setup
        self._names_used.add(out)
        return out.name

    def master(self, kind: str, frames: list[FrameInfo], build, deps: tuple = ()) -> FrameInfo | None:
        """Build (or reuse, if its inputs are unchanged) one master."""
        name = self._name(kind, frames)
        sig = signature(kind, self.method, *sorted(frames, key=lambda f: f.path), *[d for d in deps if d])
        recorded = self.catalog.master_by_signature(sig)
        if recorded is not None:
            self.say(f"  master {kind.lower()} {Path(recorded['path']).name}: up to date")
            return read_info(recorded["path"])
        out = self.masters_dir / name
        self.say(f"  building {out.name} from {len(frames)} frame(s)")
        try:
            result = build(out, frames)
        except FrameError as exc:
            self.report.notes.append(f"no master {kind.lower()} {name}: {exc}")
            self.say(f"  no master {kind.lower()}: {exc}")
            return None
        for rejected in result.rejected:
            self.skip(rejected.path, rejected.reason)
        self.catalog.add_master(self.night_id, result.info, kind, self.method, sig, result.used)
        self.report.masters_built.append(result.path)
        return result.info

    def choose(self, kind: str, tonight: list[FrameInfo | None], frame: FrameInfo) -> tuple[FrameInfo | None, str]:
        """The master of ``kind`` for ``frame``: tonight's first, else the catalog's newest; or None and why.

        A dark of the frame's own exposure time is preferred, then the longest
        (scaled). What does not fit (`matching.why_not`) is never used.
        """
        others = [m for m in tonight if m is not None]
        fitting = [m for m in others if why_not(m, frame, kind, self.tolerance) is None]
        source = "tonight"
        if not fitting:
            source = "catalog"
            candidates = []
            for row in self.catalog.masters_for(frame, kind):
                try:
                    candidates.append(read_info(row["path"]))
                except FrameError:
                    continue
            fitting = [m for m in candidates if why_not(m, frame, kind, self.tolerance) is None]
            others += candidates
        if not fitting:
            reasons = [why_not(m, frame, kind, self.tolerance) for m in others[:3]]
            why = "; ".join(r for r in reasons if r) or "none in this night or the catalog"
            return None, f"no {kind.lower()} fits ({why})"
        if kind == "DARK":
            fitting.sort(key=lambda m: (m.exptime != frame.exptime, -m.exptime))
        chosen = fitting[0]
        if source == "catalog":
            note = f"{kind.lower()} for {frame.binning} {frame.filter or ''} from the catalog: {Path(chosen.path).name}"
            if note not in self.report.masters_reused:
                self.report.masters_reused.append(note)
                self.say(f"  using {note}")
        return chosen, ""

    def calibrate_lights(self, lights: list[list[FrameInfo]], biases: list, darks: list, flats: list) -> None:
        jobs = []
        for frames in lights:
            sample = frames[0]
            chosen = {kind: self.choose(kind, pool, sample) for kind, pool in
                      (("BIAS", biases), ("DARK", darks), ("FLAT", flats))}
            bias, dark, flat = (chosen[k][0] for k in ("BIAS", "DARK", "FLAT"))
            notes = tuple(f"{why}: not applied" for _, why in chosen.values() if why)
            if bias is None and dark is None and flat is None:
                for frame in frames:
                    reason = "; ".join(why for _, why in chosen.values())
                    self.report.uncalibrated.append((Path(frame.path).name, reason))
                    self.say(f"  left {Path(frame.path).name} uncalibrated: {reason}")
                continue
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
            if notes:
                self.report.incomplete.append((out.name, "; ".join(notes)))
            self.say(f"  [{done}/{total}] {out.name}" + (f" ({'; '.join(notes)})" if notes else ""))
