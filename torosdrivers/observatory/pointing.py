"""A telescope's pointing: its plate solver, its pointing model and how it acquires, in one object.

`TelescopePointing` is what the telescope daemon holds and what a script
can hold: it sends the mount through the model (`demand`), acquires a
target (`acquire`), solves each light and writes the solution into its
header (`solve_frame`), runs a calibration grid (`calibrate`), and feeds
every solve back into the model, refitted and saved as the points come.
"""

from __future__ import annotations

import logging
import math
import threading
from pathlib import Path
from typing import Callable

import astropy.units as u
from astropy.coordinates import SkyCoord
from astropy.time import Time

from ..astrometry import PlateSolver, Solution, SolveError, smallest_field, solver_available
from ..ccd.frame import Frame
from ..coords import local_sidereal_degrees
from ..mount.pointing_model import PointingModel, PointingPoint
from .acquisition import Acquisition, acquire, calibration_grid

__all__ = ["TelescopePointing", "acquisition_off_because"]

log = logging.getLogger(__name__)


def acquisition_off_because(config, field_arcmin: float) -> str:
    """Why the ``Acquisition`` section leaves acquisition off (empty: it is on)."""
    section = config["Acquisition"]
    enabled = section["Enabled"]
    if enabled is False:
        return "Acquisition: Enabled is false"
    directory = section["Index Directory"]
    if not solver_available(directory):
        return f"no astrometry.net solve-field or index files in {directory}"
    smallest = smallest_field(directory)
    if enabled == "auto" and smallest is not None and field_arcmin < smallest:
        return (f"the camera's field ({field_arcmin:.1f}') is smaller than the installed index files solve "
                f"({smallest:g}' and up)")
    return ""


class TelescopePointing:
    """Solver, model and acquisition settings.

    Parameters
    ----------
    solver
        The plate solver.
    model_path
        Where the model's points are kept between nights (loaded now, saved on each new point).
    latitude
        The site's.
    tolerance, exposure, max_corrections
        `acquire`'s.
    apply_model
        Send slews through the model (else it is only fitted and shown).
    """

    def __init__(self, solver: PlateSolver, model_path: Path, latitude: float, *, tolerance: float = 10.0,
                 exposure: float = 5.0, max_corrections: int = 2, apply_model: bool = True) -> None:
        self.solver = solver
        self.model_path = Path(model_path)
        self.model = PointingModel.load(self.model_path, latitude)
        self.tolerance, self.exposure = float(tolerance), float(exposure)
        self.max_corrections, self.apply_model = int(max_corrections), bool(apply_model)
        self.last_solve: dict = {}
        self.last_acquisition: dict = {}
        self._lock = threading.Lock()

    def demand(self, target: SkyCoord, mount) -> SkyCoord:
        """Where to send ``mount`` so the telescope looks at ``target`` (the model applied, when asked)."""
        if not self.apply_model or not self.model.terms:
            return target
        ra, dec = self.model.demand(float(target.ra.deg), float(target.dec.deg),
                                    float(local_sidereal_degrees(mount.time, mount.site)))
        return SkyCoord(ra * u.deg, dec * u.deg)

    def _learn(self, points: list[PointingPoint]) -> None:
        if not points:
            return
        with self._lock:
            self.model.points.extend(points)
            self.model.fit()
            try:
                self.model.save(self.model_path)
            except OSError as exc:
                log.warning("pointing model not saved to %s: %s", self.model_path, exc)

    def acquire(self, mount, camera, target: SkyCoord, settle: Callable[[], None] | None = None) -> Acquisition:
        """`acquire` with this telescope's settings; its solves join the model."""
        result = acquire(mount, camera, self.solver, target, tolerance=self.tolerance,
                         max_corrections=self.max_corrections, exposure=self.exposure,
                         model=self.model if self.apply_model and self.model.terms else None, settle=settle)
        self._learn(result.points)
        self.last_acquisition = result.as_dict() | {"Time": Time.now().isot[:19]}
        if result.solves:
            self.last_solve = result.solves[-1].as_dict() | {"Time": Time.now().isot[:19], "Frame": "acquisition"}
        return result

    def solve_frame(self, frame: Frame, demand: SkyCoord | None, lst_deg: float | None) -> Solution | None:
        """Solve a light; its header gets the solved WCS (``SOLVED`` T) or why not (``SOLVED`` F, ``SOLVWHY``).

        ``demand`` (where the mount was sent) and ``lst_deg`` make the solve a point of the model.
        """
        try:
            solution = self.solver.solve(frame.data, frame.header)
        except SolveError as exc:
            frame.header["SOLVED"] = (False, "astrometry.net found no solution")
            frame.header["SOLVWHY"] = str(exc)[:68]
            log.warning("light not solved: %s", exc)
            return None
        for key, value, comment in solution.cards():
            frame.header[key] = (value, comment)
        if demand is not None and lst_deg is not None:
            self._learn([PointingPoint.from_solve((float(demand.ra.deg), float(demand.dec.deg)),
                                                  (solution.ra, solution.dec), lst_deg)])
        self.last_solve = solution.as_dict() | {"Time": Time.now().isot[:19],
                                                "Frame": str(frame.header.get("OBJECT", ""))}
        return solution

    def calibrate(self, mount, camera, points: int, *, min_altitude: float = 30.0,
                  settle: Callable[[], None] | None = None,
                  progress: Callable[[str], None] | None = None) -> dict:
        """Solve ``points`` positions over the sky (no model applied, no correction) and refit the model."""
        latitude = float(mount.site.lat.deg)
        grid = calibration_grid(points, latitude, min_altitude=min_altitude)
        solved, failed = 0, []
        for n, (ha, dec) in enumerate(grid, 1):
            if progress is not None:
                progress(f"pointing model: position {n} of {len(grid)} (HA {ha:+.1f}, Dec {dec:+.1f})")
            lst = float(local_sidereal_degrees(mount.time, mount.site))
            target = SkyCoord(((lst - ha) % 360.0) * u.deg, dec * u.deg)
            result = acquire(mount, camera, self.solver, target, tolerance=math.inf, max_corrections=0,
                             exposure=self.exposure, model=None, settle=settle)
            self._learn(result.points)
            solved += len(result.points)
            failed.extend(result.failures)
        summary = {"Positions": len(grid), "Solved": solved, "Failed": failed[:10], "Model": self.model.as_dict(),
                   "Describe": self.model.describe()}
        log.info("pointing model run: %d of %d solved; %s", solved, len(grid), self.model.describe())
        return summary

    def state(self) -> dict:
        """For status and the page: the last solve, the last acquisition, the model."""
        return {"Last Solve": self.last_solve, "Last Acquisition": self.last_acquisition,
                "Model": self.model.as_dict() | {"Describe": self.model.describe()}}
