"""Acquisition: put the target on the frame's centre by solving where the telescope really points.

A mount points where its model says, arcminutes from where it was sent.
`acquire` slews (through the `PointingModel` when there is one), takes a
short light, plate-solves it (`torosdrivers.astrometry`), and while the
solved centre is farther from the target than the tolerance, sends the
mount again, to its last demand plus the error just measured (an offset
and re-slew: it needs nothing of the mount but ``slew_to``, and leaves the
mount's own model, and any other client's view of it, alone). A mount
error that is the same a few arcminutes away is removed by one correction;
what remains is the solve's and the mount's settling, arcseconds.

Every solve is also a point for the pointing model (demanded against
solved), handed back in `Acquisition.points`: the night refits its model
from them, so the first slew lands closer as the night goes on.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import astropy.units as u
from astropy.coordinates import SkyCoord

from ..astrometry import PlateSolver, Solution, SolveError
from ..ccd import Camera
from ..coords import local_sidereal_degrees, separation
from ..mount import Mount
from ..mount.pointing_model import PointingModel, PointingPoint

__all__ = ["Acquisition", "acquire", "calibration_grid", "DEFAULT_TOLERANCE"]

log = logging.getLogger(__name__)

#: Arcseconds from the target the solved centre must come within.
DEFAULT_TOLERANCE = 10.0


@dataclass
class Acquisition:
    """What an acquisition did: each try's solve, the final offset, the demand the mount was left on."""

    target: tuple[float, float]  # ICRS deg
    demand: tuple[float, float]  # where the mount was last sent (ICRS deg): the exposure watch's reference
    tolerance: float  # arcsec
    solves: list[Solution] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # why a try's frame did not solve
    points: list[PointingPoint] = field(default_factory=list)
    first_offset: float | None = None  # arcsec: where the first slew landed, from the target
    offset: float | None = None  # arcsec: the last solve's centre from the target
    seconds: float = 0.0  # on the mount's clock (simulated seconds on a simulator)

    @property
    def acquired(self) -> bool:
        """Whether the last solve put the target within the tolerance."""
        return self.offset is not None and self.offset <= self.tolerance

    @property
    def corrections(self) -> int:
        """Re-slews made after the first."""
        return max(0, len(self.solves) + len(self.failures) - 1)

    def summary(self) -> str:
        if self.offset is None:
            return f"not acquired: no frame solved ({'; '.join(self.failures) or 'no try'})"
        verdict = "acquired" if self.acquired else f"not within {self.tolerance:g}\""
        return (f"{verdict}: {self.offset:.1f}\" from the target after {self.corrections} correction(s) "
                f"(first slew {self.first_offset:.1f}\" off)")

    def as_dict(self) -> dict:
        return {"Acquired": self.acquired, "Offset": None if self.offset is None else round(self.offset, 2),
                "First Offset": None if self.first_offset is None else round(self.first_offset, 2),
                "Tolerance": self.tolerance, "Tries": len(self.solves) + len(self.failures),
                "Corrections": self.corrections, "Seconds": round(self.seconds, 2),
                "Solves": [s.as_dict() for s in self.solves], "Failures": list(self.failures)}


def acquire(mount: Mount, camera: Camera, solver: PlateSolver, target: SkyCoord, *,
            tolerance: float = DEFAULT_TOLERANCE, max_corrections: int = 2, exposure: float = 5.0,
            model: PointingModel | None = None, settle=None) -> Acquisition:
    """Slew to ``target`` and correct until the solved centre is within ``tolerance`` arcsec.

    Parameters
    ----------
    mount, camera
        Connected; the dome open towards the target and a filter in the beam (the caller's).
    solver
        The plate solver.
    tolerance
        Arcseconds.
    max_corrections
        Re-slews after the first slew at most (so ``max_corrections + 1`` frames at most).
    exposure
        Seconds per acquisition frame.
    model
        Applied to the first slew; None: the target as it is.
    settle
        Called after each slew (the caller's dome follows the telescope there).

    Returns
    -------
    Acquisition
        Never raises for a frame that does not solve: `Acquisition.acquired` says how it went, and
        the caller decides (the science frames still have their own checks).
    """
    goal = (float(target.ra.deg) % 360.0, float(target.dec.deg))
    lst = float(local_sidereal_degrees(mount.time, mount.site))
    demand = model.demand(*goal, lst) if model is not None else goal
    result = Acquisition(goal, demand, float(tolerance))
    began = mount.time
    for attempt in range(max_corrections + 1):
        mount.slew_to(SkyCoord(demand[0] * u.deg, demand[1] * u.deg))
        if not mount.tracking:
            mount.tracking = True
        if settle is not None:
            settle()
        result.demand = demand
        frame = camera.expose(exposure, object="acquisition")
        try:
            solution = solver.solve(frame.data, frame.header)
        except SolveError as exc:
            result.failures.append(str(exc))
            log.warning("acquisition try %d: %s", attempt + 1, exc)
            continue  # the same demand again: a frame may fail (a cosmic-ray storm, a passing cloud)
        solved = (solution.ra, solution.dec)
        result.solves.append(solution)
        lst = float(local_sidereal_degrees(mount.time, mount.site))
        result.points.append(PointingPoint.from_solve(demand, solved, lst))
        result.offset = float(separation(*solved, *goal)) * 3600.0
        if result.first_offset is None:
            result.first_offset = result.offset
        log.info("acquisition try %d: %.1f\" from the target", attempt + 1, result.offset)
        if result.offset <= tolerance:
            break
        if attempt == max_corrections:
            break
        # The error just measured, taken off the demand: true = demand - error, so demand + (goal - true)
        d_ra = (goal[0] - solved[0] + 180.0) % 360.0 - 180.0
        demand = ((demand[0] + d_ra) % 360.0, max(-90.0, min(90.0, demand[1] + goal[1] - solved[1])))
    result.seconds = float((mount.time - began).sec)
    return result


def calibration_grid(n: int, latitude: float, *, min_altitude: float = 30.0) -> list[tuple[float, float]]:
    """``n`` (hour angle, Dec) positions (deg) spread over the sky above ``min_altitude``, for a model run.

    A Fibonacci lattice on the sphere, kept where it is above the altitude limit: nearly even
    coverage for any ``n``, what a pointing model needs to tell its terms apart.
    """
    points: list[tuple[float, float]] = []
    phi = math.radians(latitude)
    golden = math.pi * (3.0 - math.sqrt(5.0))
    floor = math.sin(math.radians(min_altitude))
    for k in range(n):
        # Even in area over the sky above the limit: sin(alt) evenly spaced, azimuth by the golden angle
        alt = math.asin(1.0 - (k + 0.5) / n * (1.0 - floor))
        az = (k * golden) % (2 * math.pi)
        sin_dec = math.sin(phi) * math.sin(alt) + math.cos(phi) * math.cos(alt) * math.cos(az)
        dec = math.asin(max(-1.0, min(1.0, sin_dec)))
        ha = math.atan2(-math.sin(az) * math.cos(alt),
                        math.cos(phi) * math.sin(alt) - math.sin(phi) * math.cos(alt) * math.cos(az))
        points.append((math.degrees(ha), math.degrees(dec)))
    return points
