"""The night planner: visibility grids against astropy, and plans that keep every constraint."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import AltAz, SkyCoord
from astropy.time import Time

from torosdrivers.coords import TOROS_SITE
from torosdrivers.scheduling import Block, Limits, Overheads, altitudes, night_grid, observable, plan_night
from torosdrivers.scheduling.sky import airmass_of

EVENING, MORNING = Time("2026-09-24T23:43:00"), Time("2026-09-25T08:59:00")  # astronomical night at TOROS
LIMITS = Limits(sun=-18.0, altitude=30.0, airmass=2.0)
OVERHEADS = Overheads(slew_rate=3.0, settle=5.0, filter_change=15.0, readout=5.0)


@pytest.fixture(scope="module")
def grid():
    return night_grid(EVENING, MORNING, TOROS_SITE)


def _random_blocks(n: int, seed: int) -> list[Block]:
    rng = np.random.default_rng(seed)
    ra, dec = rng.uniform(0, 360, n), np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    return [Block(f"b{i}", float(ra[i]), float(dec[i]), float(rng.integers(0, 11)), 60.0, 3,
                  str(rng.choice(list("UBVRI")))) for i in range(n)]


def test_altitudes_agree_with_astropy_altaz(grid):
    coords = SkyCoord([10.0, 150.0, 250.0, 300.0], [-60.0, -20.0, 5.0, 40.0], unit="deg")
    picks = [0, 200, 400, len(grid) - 1]
    ours = altitudes(coords, grid)[:, picks]
    frame = AltAz(obstime=grid.times[picks][None, :], location=TOROS_SITE)
    theirs = coords[:, None].transform_to(frame).alt.deg
    assert np.max(np.abs(ours - theirs)) < 0.01
    assert airmass_of(np.array([90.0, 30.0, -1.0])) == pytest.approx([1.0, 1.995, np.inf], abs=0.01)


def test_a_plan_keeps_every_constraint_and_pays_every_overhead(grid):
    blocks = _random_blocks(300, seed=3)
    plan = plan_night(blocks, grid, LIMITS, OVERHEADS)
    assert len(plan.slots) > 60 and len(plan.slots) + len(plan.unobservable) + len(plan.unplanned) == 300
    coords = SkyCoord([s.block.ra for s in plan.slots], [s.block.dec for s in plan.slots], unit="deg")
    alt = altitudes(coords, grid)
    previous = None
    for i, slot in enumerate(plan.slots):
        first = int(np.floor((slot.start - grid.start).to_value(u.s) / grid.step + 1e-6))
        last = int(np.ceil((slot.end - grid.start).to_value(u.s) / grid.step - 1e-6))
        assert (slot.end - slot.start).to_value(u.s) == pytest.approx(slot.block.seconds(OVERHEADS.readout), abs=1e-3)
        assert np.all(alt[i, first:last + 1] >= 30.0) and np.all(grid.sun[first:last + 1] <= -18.0)
        if previous is not None:
            gap = (slot.start - previous.end).to_value(u.s)
            expected = OVERHEADS.between(previous.block.ra, previous.block.dec, previous.block.filter,
                                         np.array([slot.block.ra]), np.array([slot.block.dec]),
                                         np.array([slot.block.filter]))[0]
            assert gap >= expected - 1e-3 and slot.overhead == pytest.approx(expected)
        previous = slot
    assert plan.slots[-1].end <= MORNING


def test_the_higher_priority_wins_the_time_and_an_urgent_block_is_not_lost():
    # Three hours of night, two targets near the zenith all along and one setting in the first hour.
    # Taken by priority alone, the setting one would be lost; it goes first, and all three are observed.
    short = night_grid(EVENING, EVENING + 3 * u.hour, TOROS_SITE)
    zenith = float(np.degrees(short.lst[len(short) // 2]))
    candidates = [Block(f"ra{ra:.0f}", float(ra), -30.0, 2.0, 600.0, 3) for ra in (zenith - np.arange(30, 90, 2))]
    ok, _ = observable(candidates, short, LIMITS)
    setting = next(b for b, row in zip(candidates, ok) if row[0] and 45 <= np.argmin(row) <= 60)
    blocks = [setting, Block("high", zenith, -25.0, 9.0, 600.0, 3), Block("higher", zenith + 5, -20.0, 10.0, 600.0, 3)]
    plan = plan_night(blocks, short, LIMITS, OVERHEADS)
    assert [s.block.id for s in plan.slots] == [setting.id, "higher", "high"]
    # With room for only one of two, priority decides.
    shorter = night_grid(EVENING, EVENING + 40 * u.min, TOROS_SITE)
    plan = plan_night([Block("low", zenith, -25.0, 3.0, 600.0, 3), Block("top", zenith + 5, -20.0, 8.0, 600.0, 3)],
                      shorter, LIMITS, OVERHEADS)
    assert [s.block.id for s in plan.slots] == ["top"] and [b.id for b in plan.unplanned] == ["low"]


def test_unobservable_blocks_are_reported_with_why(grid):
    north = Block("north", 0.0, 70.0, 10.0, 60.0)  # never above 30 deg from latitude -24.6
    late = Block("window", 0.0, -80.0, 10.0, 60.0, window=(Time("2026-09-26T00:00"), None))
    long = Block("too long", 0.0, -80.0, 10.0, 3600.0, 12)  # 12 h of exposures in a 9 h night
    plan = plan_night([north, late, long], grid, LIMITS, OVERHEADS)
    reasons = {u.block.id: u.why for u in plan.unobservable}
    assert reasons["north"].startswith("never above 30 deg (airmass 2) while the Sun is below -18 deg: at most")
    assert reasons["window"] == "not observable within its window"
    assert reasons["too long"].startswith("no time in the night when it stays observable for its 43260 s")
    assert plan.slots == []


def test_the_moon_keeps_its_distance(grid):
    middle = len(grid) // 2
    near = Block("near the Moon", float(grid.moon_ra[middle]), float(grid.moon_dec[middle]), 10.0, 60.0)
    assert grid.moon_illumination > 0.5  # 2026-09-25: a gibbous Moon
    limits = Limits(sun=-18.0, altitude=0.0, airmass=50.0, moon_separation=30.0)
    ok, _ = observable([near], grid, limits)
    up = grid.moon_altitude > 0
    assert not ok[0, middle] or not up[middle]
    assert ok[0][~up].any() or not (~up).any()


def test_a_replan_starts_where_the_telescope_is_and_is_fast(grid):
    blocks = _random_blocks(1000, seed=5)
    visibility = observable(blocks, grid, LIMITS)
    first = plan_night(blocks, grid, LIMITS, OVERHEADS, visibility=visibility)
    middle = grid.times[len(grid) // 2]
    done = {s.block.id for s in first.slots if s.start < middle}
    keep = [i for i, b in enumerate(blocks) if b.id not in done]
    rest = plan_night([blocks[i] for i in keep], grid, LIMITS, OVERHEADS, start=middle, pointing=(0.0, -30.0, "V"),
                      visibility=(visibility[0][keep], [visibility[1][i] for i in keep]))
    assert rest.slots and rest.slots[0].start >= middle and not done & {s.block.id for s in rest.slots}
    assert rest.priority >= sum(s.block.priority for s in first.slots if s.start >= middle) * 0.9


def test_a_block_whose_last_chance_has_passed_is_reported_when_planning_later(grid):
    lst = float(np.degrees(grid.lst[0]))
    setting = Block("setting", lst - 55.0, -10.0, 9.0, 60.0)  # west, low: gone within the first hours
    later = plan_night([setting], grid, LIMITS, OVERHEADS, start=grid.times[-60])
    assert later.slots == [] and later.unobservable[0].why.startswith("its last chance to start was at ")
    assert plan_night([setting], grid, LIMITS, OVERHEADS).slots  # from dusk it is observed
