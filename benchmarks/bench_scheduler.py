"""Planning a night: torosdrivers.scheduling against astroplan's PriorityScheduler, side by side.

The same input for both: random targets over the whole sky (fixed seed),
priorities 0-10, three 60 s exposures each (5 s readout), a filter each from
UBVRI (15 s to change it), slews at 3 deg/s, altitude >= 30 deg, airmass
<= 2, the astronomical night of 2026-09-24 at TOROS, 1-minute resolution.
astroplan's priorities run the other way (lower first): a TOROS priority p
is given to it as 10 - p. The summed TOROS priority of what each plans is
compared.

Targets (issue 18): for 1,000 targets, at least 50x faster than astroplan
and a summed priority at least as high; under 1 s (the visibility grid
included); re-planning after an interruption under 100 ms.

Both run on 100 and on 1,000 targets; astroplan takes about a minute on
1,000 here (``--quick`` runs 100 targets only). ``--targets N`` changes the large
size.

Run: ``.venv/bin/python benchmarks/bench_scheduler.py [--quick]``
"""

from __future__ import annotations

import argparse
import time
import warnings

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.time import Time

from torosdrivers.coords import TOROS_SITE
from torosdrivers.scheduling import Block, Limits, Overheads, night_grid, observable, plan_night
from verdict import short_mode, verdict

EVENING = Time("2026-09-24T22:00:00")
LIMITS = Limits(sun=-18.0, altitude=30.0, airmass=2.0)
OVERHEADS = Overheads(slew_rate=3.0, settle=0.0, filter_change=15.0, readout=5.0)


def _report(ok: bool, text: str) -> None:
    print(f"  {verdict(ok)} {text}")


def targets(n: int, seed: int = 18) -> list[Block]:
    rng = np.random.default_rng(seed)
    ra = rng.uniform(0.0, 360.0, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, n)))
    priority = rng.integers(0, 11, n).astype(float)
    filters = rng.choice(list("UBVRI"), n)
    return [Block(f"t{i}", float(ra[i]), float(dec[i]), float(priority[i]), 60.0, 3, str(filters[i]))
            for i in range(n)]


def astronomical_night() -> tuple[Time, Time]:
    grid = night_grid(EVENING, EVENING + 14 * u.hour, TOROS_SITE)
    dark = np.flatnonzero(grid.sun <= LIMITS.sun)
    return grid.times[dark[0]], grid.times[dark[-1]]


def ours(blocks: list[Block], start: Time, end: Time) -> tuple[float, float, float]:
    """Seconds to plan (grid included), summed priority, seconds to re-plan from mid-night."""
    t0 = time.perf_counter()
    grid = night_grid(start, end, TOROS_SITE)
    visibility = observable(blocks, grid, LIMITS)
    plan = plan_night(blocks, grid, LIMITS, OVERHEADS, visibility=visibility)
    took = time.perf_counter() - t0
    # An interruption at mid-night: the blocks done so far are out; plan the rest from where the telescope is.
    middle = grid.times[len(grid) // 2]
    done = {s.block.id for s in plan.slots if s.start < middle}
    last = [s for s in plan.slots if s.start < middle][-1].block
    keep = [i for i, b in enumerate(blocks) if b.id not in done]
    kept = (visibility[0][keep], [visibility[1][i] for i in keep])
    t1 = time.perf_counter()
    plan_night([blocks[i] for i in keep], grid, LIMITS, OVERHEADS, start=middle, pointing=(last.ra, last.dec,
               last.filter), visibility=kept)
    return took, plan.priority, time.perf_counter() - t1


def astroplans(blocks: list[Block], start: Time, end: Time) -> tuple[float, float]:
    """Seconds astroplan's PriorityScheduler takes, and the summed TOROS priority it schedules."""
    from astroplan import FixedTarget, ObservingBlock, Observer, PriorityScheduler, Schedule, Transitioner
    from astroplan.constraints import AirmassConstraint, AltitudeConstraint, AtNightConstraint

    t0 = time.perf_counter()
    observer = Observer(location=TOROS_SITE)
    constraints = [AltitudeConstraint(min=LIMITS.altitude * u.deg), AirmassConstraint(max=LIMITS.airmass),
                   AtNightConstraint.twilight_astronomical()]
    coords = SkyCoord([b.ra for b in blocks], [b.dec for b in blocks], unit="deg")
    plan_blocks = [ObservingBlock.from_exposures(FixedTarget(coords[i], name=b.id), 10 - b.priority, 60 * u.s, 3,
                                                 OVERHEADS.readout * u.s, configuration={"filter": b.filter})
                   for i, b in enumerate(blocks)]
    transitioner = Transitioner(slew_rate=OVERHEADS.slew_rate * u.deg / u.s,
                                instrument_reconfig_times={"filter": {"default": OVERHEADS.filter_change * u.s}})
    scheduler = PriorityScheduler(constraints=constraints, observer=observer, transitioner=transitioner,
                                  time_resolution=1 * u.min)
    schedule = Schedule(start, end)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler(plan_blocks, schedule)
    priority = {b.id: b.priority for b in blocks}
    total = sum(priority[s.target.name] for s in schedule.observing_blocks)
    return time.perf_counter() - t0, float(total)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="short mode (CI): 100 targets only, both planners")
    args = parser.parse_args()
    short_mode(args.quick)
    start, end = astronomical_night()
    print(f"astronomical night at TOROS: {start.isot[:16]} to {end.isot[:16]} UTC "
          f"({float((end - start).to_value(u.h)):.1f} h, {int((end - start).to_value(u.min)) + 1} minutes)")
    ours(targets(50), start, end)  # warm-up: astropy's tables load once per process
    sizes = [100] if args.quick else [100, args.targets]
    for n in sizes:
        blocks = targets(n)
        took, total, replan = ours(blocks, start, end)
        print(f"{n} targets: torosdrivers plans in {took * 1e3:.0f} ms, summed priority {total:g}; "
              f"re-plan from mid-night {replan * 1e3:.0f} ms")
        if n == sizes[-1]:
            _report(took < 1.0, f"plan of {n} targets {took:.2f} s < 1 s")
            _report(replan < 0.1, f"re-plan of {n} targets {replan * 1e3:.0f} ms < 100 ms")
        if n == 100 or not args.quick:
            seconds, theirs = astroplans(blocks, start, end)
            print(f"{n} targets: astroplan PriorityScheduler {seconds:.1f} s, summed priority {theirs:g}; "
                  f"torosdrivers {seconds / took:.0f}x faster")
            if n == sizes[-1]:
                _report(seconds / took >= 50, f"{seconds / took:.0f}x faster than astroplan >= 50x ({n} targets)")
            _report(total >= theirs, f"summed priority {total:g} >= astroplan's {theirs:g} ({n} targets)")


if __name__ == "__main__":
    main()
