"""A night plan: which block runs when, to observe the most priority, with slews and filter changes paid.

Why this algorithm. astroplan's `PriorityScheduler` places the blocks one
by one in priority order, each at the best-scoring free time of its own;
the night ends up in fragments too short for the blocks still waiting, and
each placement scores a whole ``time x block`` array again (13 s for 100
targets, 262 s for 1,000 on this machine). Here the night is walked
forward, as a telescope lives it: at each free moment, of the blocks that
can start once the telescope has slewed and changed filter and that stay
observable to their end, the one with the highest priority runs; between
equal priorities the one whose observable time runs out first, then the
nearest. Nothing is left fragmented, each block's "can start at minute i"
is one cumulative sum over the whole ``block x time`` visibility array, and
each decision is one vectorised pass over the blocks (about a hundred
decisions a night). Re-planning from any moment is the same walk from
there.

A block that cannot start anywhere in the night is reported with why
(`Unobservable`): never above the altitude or airmass limit while it is
dark, too close to the Moon, or outside its own window.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.time import Time, TimeDelta

from .sky import NightGrid, airmass_of, altitudes, moon_separation, separation

#: Seconds a move between blocks takes, about (for estimates only; each move is computed).
TYPICAL_OVERHEAD = 30.0

__all__ = ["Block", "Limits", "Overheads", "Slot", "Plan", "Unobservable", "observable", "plan_night"]


@dataclass(frozen=True)
class Block:
    """One thing to observe: a target, its exposures, its priority and its window.

    ``priority`` is TOROS's: 0-10, higher first. ``window`` is ``(start, end)``
    (either may be None) within which the whole block must fall.
    """

    id: str
    ra: float  # degrees ICRS
    dec: float
    priority: float
    exposure: float  # seconds
    count: int = 1
    filter: str = ""
    window: tuple[Time | None, Time | None] = (None, None)

    def seconds(self, readout: float) -> float:
        return self.count * (self.exposure + readout)


@dataclass(frozen=True)
class Limits:
    """When a target may be observed: the Sun below ``sun``, the target above ``altitude`` and at
    most ``airmass``, and at least ``moon_separation`` degrees from the Moon while it is up and more
    than ``moon_illumination`` lit."""

    sun: float = -18.0
    altitude: float = 30.0
    airmass: float = 2.0
    moon_separation: float = 0.0
    moon_illumination: float = 0.25


@dataclass(frozen=True)
class Overheads:
    """What moving between blocks costs: slew speed (deg/s) plus settling, a filter change, the readout."""

    slew_rate: float = 3.0
    settle: float = 10.0
    filter_change: float = 15.0
    readout: float = 5.0

    def between(self, ra0, dec0, filter0, ra, dec, filters) -> np.ndarray:
        """Seconds from pointing ``(ra0, dec0)`` with ``filter0`` to each target in the arrays."""
        slew = separation(ra0, dec0, ra, dec) / self.slew_rate + self.settle
        change = np.where(np.asarray(filters) != filter0, self.filter_change, 0.0)
        return np.maximum(slew, change)  # the wheel turns while the mount slews


@dataclass(frozen=True)
class Slot:
    """A planned block: it starts (after ``overhead`` s of slewing and filter change) and ends."""

    block: Block
    start: Time
    end: Time
    overhead: float


@dataclass
class Unobservable:
    block: Block
    why: str


@dataclass
class Plan:
    """The night's plan: slots in time order, and the blocks left out (unobservable, or no room)."""

    slots: list[Slot]
    unobservable: list[Unobservable] = field(default_factory=list)
    unplanned: list[Block] = field(default_factory=list)

    @property
    def priority(self) -> float:
        """The summed priority of the planned blocks."""
        return float(sum(s.block.priority for s in self.slots))


def observable(blocks: list[Block], grid: NightGrid, limits: Limits) -> tuple[np.ndarray, list[str | None]]:
    """Whether each block's target may be observed at each time: ``[block, time]``, with why not for the
    blocks that never may (None for the others)."""
    # Arrays, not lists: a list makes astropy build one Angle per value (0.8 s for 5,000 targets).
    coords = SkyCoord(np.array([b.ra for b in blocks], float), np.array([b.dec for b in blocks], float), unit="deg")
    alt = altitudes(coords, grid)
    dark = grid.sun[None, :] <= limits.sun
    high = (alt >= limits.altitude) & (airmass_of(alt) <= limits.airmass)
    ok = dark & high
    moon_ok = np.ones_like(ok)
    if limits.moon_separation > 0 and grid.moon_illumination > limits.moon_illumination:
        moon_ok = (moon_separation(coords, grid) >= limits.moon_separation) | (grid.moon_altitude[None, :] < 0)
        ok &= moon_ok
    in_window = np.ones_like(ok)
    for i, block in enumerate(blocks):
        begin, end = block.window
        if begin is not None:
            in_window[i, : grid.index(begin)] = False
        if end is not None:
            in_window[i, grid.index(end):] = False
    ok &= in_window
    why: list[str | None] = [None] * len(blocks)
    # Each reduced once over the whole array, not once per unobservable block (2,500 of them: 1.7 s).
    seen_dark_high = (dark & high).any(axis=1)
    seen_with_moon = (dark & high & moon_ok).any(axis=1)
    best_dark = alt[:, dark[0]].max(axis=1) if dark.any() else np.full(len(blocks), np.nan)
    for i in np.flatnonzero(~ok.any(axis=1)):
        if not seen_dark_high[i]:
            best = float(best_dark[i])
            why[i] = (f"never above {limits.altitude:g} deg (airmass {limits.airmass:g}) while the Sun is below "
                      f"{limits.sun:g} deg: at most {best:.1f} deg")
        elif not seen_with_moon[i]:
            why[i] = f"within {limits.moon_separation:g} deg of the Moon whenever it is high enough"
        else:
            why[i] = "not observable within its window"
    return ok, why


def _startable(ok: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``[block, i]``: the block can run from time ``i`` for its length, observable all along."""
    n = ok.shape[1]
    cumulative = np.zeros((ok.shape[0], n + 1), dtype=np.int32)
    np.cumsum(ok, axis=1, out=cumulative[:, 1:])
    starts = np.arange(n)[None, :]
    ends = np.minimum(starts + lengths[:, None], n)
    rows = np.arange(ok.shape[0])[:, None]
    full = (cumulative[rows, ends] - cumulative[rows, starts]) == lengths[:, None]
    return full & (starts + lengths[:, None] <= n)


def _marginal(pending: np.ndarray, priority: np.ndarray, seconds: np.ndarray, left: float) -> float:
    """The priority below which blocks will not fit in the ``left`` seconds of the night (-inf: all fit)."""
    waiting = np.flatnonzero(pending)
    order = waiting[np.argsort(-priority[waiting], kind="stable")]
    used = np.cumsum(seconds[order] + TYPICAL_OVERHEAD)
    cut = int(np.searchsorted(used, left))
    return float(priority[order[cut]]) if cut < order.size else -np.inf


def _choose(candidates: np.ndarray, priority: np.ndarray, deadline: np.ndarray, begin: np.ndarray,
            seconds: np.ndarray, cost: np.ndarray, marginal: float) -> int:
    """The block to run now, of those that can start.

    The highest priority (then the earliest deadline, then the nearest);
    unless a block worth its time (above the ``marginal`` priority the
    night has room for) could not start after that one, and can run first
    with that one still startable afterwards: then it runs now, and neither
    is lost.
    """
    order = np.lexsort((cost[candidates], deadline[candidates], -priority[candidates]))
    best = int(candidates[order[0]])
    finish = begin[best] + seconds[best]
    urgent = candidates[(deadline[candidates] < finish) & (candidates != best) & (priority[candidates] > marginal)]
    if urgent.size:
        first = int(urgent[np.lexsort((deadline[urgent], -priority[urgent]))[0]])
        # Coming back to ``best`` costs at most about twice its slew from here.
        if begin[first] + seconds[first] + 2 * cost[best] + TYPICAL_OVERHEAD <= deadline[best]:
            return first
    return best


def plan_night(blocks: list[Block], grid: NightGrid, limits: Limits = Limits(),
               overheads: Overheads = Overheads(), *, start: Time | None = None,
               pointing: tuple[float, float, str] | None = None,
               visibility: tuple[np.ndarray, list[str | None]] | None = None) -> Plan:
    """Plan ``blocks`` on ``grid`` from ``start`` (default: the grid's start).

    Time runs continuously (a block of 195 s takes 195 s, not four grid
    minutes); a block may start when its target is observable at every grid
    time from the one before its start to the one after its end.

    Parameters
    ----------
    pointing
        Where the telescope points and which filter it has, ``(ra, dec, filter)``; None: the first
        block costs only its settling.
    visibility
        `observable`'s answer for these blocks and grid, when already known (a re-plan reuses it).
    """
    if not blocks:
        return Plan([])
    ok, why = visibility if visibility is not None else observable(blocks, grid, limits)
    step, n = grid.step, len(grid)
    seconds = np.array([b.seconds(overheads.readout) for b in blocks])
    points = np.ceil(seconds / step).astype(int) + 1  # grid times a block spans, started on one
    can_start = _startable(ok, points)
    deadline = np.where(can_start.any(axis=1), (n - 1 - np.argmax(can_start[:, ::-1], axis=1)) * step, -1.0)
    cumulative = np.zeros((len(blocks), n + 1), dtype=np.int32)
    np.cumsum(ok, axis=1, out=cumulative[:, 1:])
    priority = np.array([b.priority for b in blocks])
    ra = np.array([b.ra for b in blocks])
    dec = np.array([b.dec for b in blocks])
    filters = np.array([b.filter for b in blocks])
    end = (n - 1) * step
    t = max(0.0, float((start - grid.start).to_value(u.s))) if start is not None else 0.0
    # A block whose last chance to start has passed is gone for this grid (it has set, or its window ended).
    gone = np.array([w is None for w in why]) & can_start.any(axis=1) & (deadline < t - step)
    pending = np.array([w is None for w in why]) & can_start.any(axis=1) & ~gone
    slots: list[Slot] = []
    while t < end and pending.any():
        if pointing is None:
            cost = np.full(len(blocks), overheads.settle)
        else:
            cost = overheads.between(pointing[0], pointing[1], pointing[2], ra, dec, filters)
        begin = t + cost
        first = np.floor(begin / step + 1e-9).astype(int)
        last = np.ceil((begin + seconds) / step - 1e-9).astype(int)
        ready = pending & (last <= n - 1)
        which = np.flatnonzero(ready)
        ready[which] = (cumulative[which, last[which] + 1] - cumulative[which, first[which]]) \
            == last[which] - first[which] + 1
        if not ready.any():
            t = (np.floor(t / step + 1e-9) + 1) * step  # nothing can start: the next grid time
            continue
        marginal = _marginal(pending & (deadline >= t), priority, seconds, end - t)
        k = _choose(np.flatnonzero(ready), priority, deadline, begin, seconds, cost, marginal)
        slots.append(Slot(blocks[k], grid.start + TimeDelta(begin[k], format="sec"),
                          grid.start + TimeDelta(begin[k] + seconds[k], format="sec"), float(cost[k])))
        pending[k] = False
        pointing = (ra[k], dec[k], filters[k])
        t = float(begin[k] + seconds[k])
    known = np.array([w is None for w in why])
    unobservable = [Unobservable(blocks[i], w) for i, w in enumerate(why) if w is not None]
    unobservable += [Unobservable(blocks[i], "its last chance to start was at "
                                  f"{(grid.start + TimeDelta(deadline[i], format='sec')).isot[11:16]} UTC")
                     for i in np.flatnonzero(gone)]
    unobservable += [Unobservable(blocks[i], "no time in the night when it stays observable for its "
                                  f"{seconds[i]:g} s") for i in np.flatnonzero(known & ~can_start.any(axis=1))]
    return Plan(slots, unobservable, [blocks[i] for i in np.flatnonzero(pending)])
