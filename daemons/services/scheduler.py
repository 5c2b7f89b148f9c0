"""The scheduler daemon: priorities on receipt, a night plan, and the telescope fed one order at a time.

``front_desk`` takes Observation orders (``Priority`` may be absent) and
Target Lists (many targets at once: a transient follow-up campaign); each
gets its priority from the configuration's rules (`torosdrivers.scheduling.
priority`), recorded with the rule that set it. Every target becomes a
block; the worker, each turn:

- follows the blocks handed to the telescope daemon (done, failed,
  cancelled) and ends the orders whose blocks have all ended;
- asks the telescope daemon whether it is safe to open: while it is not,
  nothing is handed on, and the plan is made again when it is;
- plans the pending blocks from now, on the observatory's clock
  (`torosdrivers.scheduling.planner`), and hands the telescope the first
  block when its time comes (the telescope's queue stays short);
- a Time Critical block (a transient) is handed on at once with priority
  10, and the order running at the telescope is preempted at its next safe
  point (between exposures): it goes back in the telescope's queue and
  resumes where it stopped, without retaking its frames.

What was handed on, and how it ended, is kept in the journal beside the
orders, so a restarted scheduler resumes the night and observes nothing
twice.
"""

from __future__ import annotations

import functools
import json
import time
import xmlrpc.client
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np
from astropy.coordinates import SkyCoord
from astropy.time import Time, TimeDelta

from torosdrivers.config import Config, Devices, build_devices
from torosdrivers.coords import in_field
from torosdrivers.errors import NotConnectedError
from torosdrivers.scheduling import Block, Limits, Overheads, Plan, assign_priority, night_grid, observable, \
    plan_night, rules_from_config

from torosdrivers.scheduling.sky import chart_data
from torosdrivers.daemons.frame.security import reach, service_proxy
from torosdrivers.daemons.frame.service import Service
from torosdrivers.daemons.frame.workorders import FAULT_DEVICE, FAULT_SERVER, FAULT_UNKNOWN_ORDER, ScheduledOrder, Target, \
    validate_scheduled

__all__ = ["SchedulerService", "BlockState", "limits_of"]

#: Seconds (real) between two turns of the scheduler.
TURN = 0.2
#: Seconds (real) between two plans while the telescope is busy and nothing may interrupt it: the plan is
#: then only what ``plan()`` shows (a plan of 1,000 targets costs ~0.1 s: not five times a second).
REPLAN_WHILE_BUSY = 10.0
#: Hours of sky a plan looks ahead.
HORIZON_HOURS = 14.0
_FINAL = ("done", "failed", "unobservable", "cancelled")
#: Times a block is handed to the telescope before a failure there for a passing cause is final.
MAX_HAND_ONS = 3


def limits_of(config: Config) -> Limits:
    """When a target may be observed, as the configuration says (the Sun as the safety supervisor opens)."""
    s = config["Scheduler"]
    return Limits(sun=float(config["Safety"]["Sun Open Altitude"]), altitude=float(s["Minimum Altitude"]),
                  airmass=float(s["Maximum Airmass"]), moon_separation=float(s["Moon Separation"]))


def _handed_priority(block: "BlockState") -> float:
    """The priority a block is handed to the telescope with: 10 for a time-critical one, else below 10."""
    return 10.0 if block.time_critical else min(block.priority, 9.9)


@dataclass
class BlockState:
    """One target of one order, as the scheduler keeps it (in the journal, under ``block:<id>``)."""

    id: str  # the target's ID: the order's, or "<order>/<name>"
    order: str
    name: str
    ra: float
    dec: float
    filter: str
    exposure: float
    count: int
    priority: float
    why: str  # how the priority was decided
    window: tuple[str, str]
    time_critical: bool
    user: str = ""
    job: str = ""
    state: str = "pending"  # pending, dispatched, done, failed, unobservable, cancelled
    dispatched: str = ""  # the telescope order's ID ("<id>#<attempt>")
    first: str = ""  # the first attempt's ID: later attempts resume its frames
    attempts: int = 0
    outcome: str = ""

    @functools.cached_property
    def ends_jd(self) -> float:
        """The window's end as a Julian date (inf without one): compared every turn, so a plain float."""
        return float(Time(self.window[1]).jd) if self.window[1] else float("inf")

    @functools.cached_property
    def block(self) -> Block:
        """What the planner plans (made once: its fields do not change, and a ``Time`` costs ~50 us)."""
        window = tuple(Time(w) if w else None for w in self.window)
        return Block(self.id, self.ra, self.dec, self.priority, self.exposure, self.count, self.filter, window)


class SchedulerService(Service):
    """Plans the night over the orders it accepts and hands them to the telescope daemon."""

    name = "scheduler"
    address_key = "Scheduler"
    resumes_running = True  # every block handed on is in the journal: the night goes on where it was

    def __init__(self, config: Config, journal: str | None = None, devices: Devices | None = None) -> None:
        super().__init__(config, journal)
        self.devices = devices or build_devices(config, ("Mount",))  # the observatory's clock
        self._own_devices = devices is None  # shared devices (one process, a test) are the lender's to close
        s = config["Scheduler"]
        self.rules = rules_from_config(s["Priority Rules"])
        self.limits = limits_of(config)
        self.overheads = Overheads(slew_rate=float(s["Slew Rate"]), settle=float(s["Settle"]),
                                   filter_change=float(s["Filter Change"]), readout=float(s["Readout"]))
        self.filters: list[str] | None = None
        self.blocks: dict[str, BlockState] = {}
        self._notes: dict[str, str] = {}  # order ID -> the last "next:"/"waiting:" note, said once per change
        self._expanded: set[str] = set()
        self._grid = None
        self._visibility: tuple[frozenset, list[Block], Any] | None = None  # pending IDs, their blocks, observable()
        self.last_plan: Plan | None = None
        self._safe, self._unsafe_why = True, ""
        self._pointing: tuple[float, float, str] | None = None
        self._planned_at = -np.inf  # monotonic time of the last plan

    # -- devices: the mount's clock, and the telescope daemon ------------------------------
    def _telescope(self, timeout: float = 10.0) -> xmlrpc.client.ServerProxy:
        return service_proxy(self.config, "Telescope", timeout=timeout)

    def connect(self) -> None:
        if not self.devices.mount.connected:
            self.devices.mount.connect()
        try:
            with self._telescope() as telescope:
                wheel = telescope.state(0)["Devices"].get("Filter Wheel", {})
        except (OSError, xmlrpc.client.Error) as exc:
            raise NotConnectedError(f"the telescope daemon at {self.config.url('Telescope')}: {exc}") from None
        if not wheel.get("Names"):
            raise NotConnectedError("the telescope daemon has not read its filter wheel yet")
        self.filters = list(wheel["Names"])
        self._load()

    def disconnect(self) -> None:
        if self._own_devices:
            self.devices.mount.disconnect()

    def ping(self) -> None:
        self.devices.mount.ping()
        reach(self.config, "Telescope", "the telescope daemon")

    # -- orders ----------------------------------------------------------------------------
    def max_request_bytes(self) -> int:
        """Target Lists are large (5,000 targets are about 2 MB of XML-RPC): ``Scheduler: Max Request Bytes``,
        or the daemons' limit if that is larger."""
        return max(int(self.config["Scheduler"]["Max Request Bytes"]), super().max_request_bytes())

    def not_ready(self) -> str:
        if self.filters is None:
            return f"the telescope daemon's filters are not known yet ({self._device_problem})"
        return ""

    def validate(self, work_order: Any) -> ScheduledOrder:
        if self.filters is None:
            raise NotConnectedError(f"the telescope daemon has not been reached since this daemon started, so its "
                                    f"filters are unknown ({self._device_problem})")
        order = validate_scheduled(work_order, self.filters)
        order.priority = max(self._assign(order, target)[0] for target in order.targets)
        return order

    def _assign(self, order: ScheduledOrder, target: Target) -> tuple[float, str]:
        fields = {k: v for k, v in order.raw.items() if k != "Targets"}
        if target.probability is not None:
            fields["Probability"] = target.probability
        if order.asked:
            fields["Priority"] = order.raw["Priority"]
        assigned = assign_priority(fields, self.rules, default=float(self.config["Scheduler"]["Default Priority"]),
                                   probability_scale=float(self.config["Scheduler"]["Probability Scale"]))
        return assigned.priority, assigned.why

    def run(self, order, progress: Callable[..., None], cancelled: Callable[[], bool]) -> str:
        raise RuntimeError("the scheduler hands its orders on block by block (work_once); it runs none itself")

    def rpc_methods(self) -> list[Callable[..., Any]]:
        return super().rpc_methods() + [self.plan, self.targets]

    def targets(self, order_id: str) -> list[dict[str, Any]]:
        """Each target of an order as planned and observed so far: ID, Object, RA, Dec, State (pending,
        dispatched, done, failed, unobservable, cancelled), Telescope Order, Outcome ([] before it is planned)."""
        if self.journal.get(str(order_id)) is None:
            raise xmlrpc.client.Fault(FAULT_UNKNOWN_ORDER, f"ID={str(order_id)[:120]!r}: no such work order at the "
                                                           "scheduler")
        return [{"ID": b.id, "Object": b.name, "RA": b.ra, "Dec": b.dec, "State": b.state,
                 "Telescope Order": b.dispatched, "Outcome": b.outcome}
                for b in list(self.blocks.values()) if b.order == order_id]

    def plan(self) -> dict[str, Any]:
        """The current plan: the slots to come, the blocks at the telescope, and the unobservable ones."""
        plan, blocks = self.last_plan, dict(self.blocks)  # a copy: the worker adds blocks meanwhile
        slots = [] if plan is None else [
            {"ID": s.block.id, "Object": blocks[s.block.id].name, "RA": s.block.ra, "Dec": s.block.dec,
             "Start": s.start.isot + "Z", "End": s.end.isot + "Z", "Priority": s.block.priority,
             "Filter": s.block.filter, "Exposure": s.block.exposure, "Count": s.block.count}
            for s in plan.slots if s.block.id in blocks and blocks[s.block.id].state == "pending"]
        grid, chart = self._grid, {}
        if grid is not None and plan is not None and slots:  # the chart's numbers, from the grid the plan used
            kept = [s for s in plan.slots if s.block.id in blocks and blocks[s.block.id].state == "pending"]
            chart = chart_data(grid, SkyCoord([s.block.ra for s in kept], [s.block.dec for s in kept], unit="deg"),
                               min(s.start for s in kept), max(s.end for s in kept))
        return {"Safe": self._safe, "Why Not": self._unsafe_why, "Slots": slots, "Chart": chart,
                "At The Telescope": [b.dispatched for b in blocks.values() if b.state == "dispatched"],
                "Unobservable": [{"ID": b.id, "Why": b.outcome} for b in blocks.values() if b.state == "unobservable"]}

    # -- bookkeeping, kept in the journal ---------------------------------------------------
    def _load(self) -> None:
        """What a previous run handed on and saw end: nothing is observed twice after a restart."""
        for key, value in self.journal.recall("block:").items():
            data = json.loads(value)
            data["window"] = tuple(data["window"])
            self.blocks[key[len("block:"):]] = BlockState(**data)
        self._expanded = {key[len("order:"):] for key in self.journal.recall("order:")}

    def _keep(self, *blocks: BlockState, orders: tuple[str, ...] = ()) -> None:
        items = {f"block:{b.id}": json.dumps(asdict(b)) for b in blocks}
        items |= {f"order:{o}": "expanded" for o in orders}
        self.journal.remember(items)

    def _expand(self) -> None:
        """New orders become blocks, each with its priority and the rule that set it."""
        for row in reversed(self.journal.list(1000, states=("queued",))):
            if row["id"] in self._expanded:
                continue
            order = self.validate(json.loads(row["body"]))
            new = []
            for target in order.targets:
                obs = target.observation
                priority, why = self._assign(order, target)
                new.append(BlockState(obs.id, order.id, obs.object or order.id, obs.ra, obs.dec, obs.filter,
                                      obs.exposure_time, obs.count, priority, why, target.window,
                                      order.time_critical, user=order.user, job=obs.job))
            replaced = self._replaced(order, new) if order.replaces else []
            for block in new:
                self.blocks[block.id] = block
            self._expanded.add(order.id)
            self._keep(*new, *replaced, orders=(order.id,))
            urgent = "; time-critical: handed to the telescope at priority 10 when observable, preempting what " \
                     "runs there" if order.time_critical else ""
            self.journal.start(order.id, f"{len(new)} target(s) planned; priority {order.priority:g}: {new[0].why}"
                                         f"{urgent}")
            self.log.info("%s: %d target(s), priority %g (%s)", order.id, len(new), order.priority, new[0].why)

    def _replaced(self, order, new: list[BlockState]) -> list[BlockState]:
        """An UPDATE's list replaces the pending targets of the list it names; what is at the telescope or done
        stays as it is (nothing observed is thrown away, nothing under way is stopped), and with a ``Field of
        View`` a new target centred in one of those fields is not planned again (it may have been handed on
        after the list was made)."""
        row = self.journal.get(order.replaces)
        if row is not None and row["state"] == "queued":  # not planned yet: nothing of it to keep
            self.journal.cancel(order.replaces)
        gone = [b for b in self.blocks.values() if b.order == order.replaces and b.state == "pending"]
        for block in gone:
            block.state, block.outcome = "cancelled", f"replaced by {order.id}"
        kept = [b for b in self.blocks.values() if b.order == order.replaces and b.state in ("dispatched", "done")]
        if order.field_of_view and kept and new:
            ra, dec = np.array([b.ra for b in new]), np.array([b.dec for b in new])
            for old in kept:
                for i in np.flatnonzero(in_field(ra, dec, old.ra, old.dec, order.field_of_view)):
                    if new[i].state == "pending":
                        new[i].state, new[i].outcome = "cancelled", f"its field was observed as {old.id}"
        if row is None:
            self.log.warning("%s replaces %s, which this scheduler does not know", order.id, order.replaces)
        else:
            self.log.info("%s replaces %s: %d pending target(s) dropped", order.id, order.replaces, len(gone))
        return gone

    def _follow(self, telescope) -> None:
        """How the blocks at the telescope are doing."""
        for block in [b for b in self.blocks.values() if b.state == "dispatched"]:
            try:
                status = telescope.status(block.dispatched)
            except xmlrpc.client.Fault:  # the telescope lost it (a new journal): plan it again
                block.state, block.outcome = "pending", f"the telescope no longer knows {block.dispatched}"
                self._keep(block)
                continue
            waiting = status["Progress"]
            if status["State"] == "queued" and "below the minimum altitude" in waiting:
                # Its moment passed at the telescope (the target set while an urgent order or the weather
                # held it): back into the plan, to resume with the exposures it still needs.
                try:
                    telescope.cancel(block.dispatched)
                except xmlrpc.client.Fault:
                    pass
                block.state, block.outcome = "pending", f"back from the telescope ({waiting})"
                self._keep(block)
                self.log.info("%s back into the plan: %s", block.id, waiting)
                continue
            cause = (status.get("Details") or {}).get("Cause", "final")
            if status["State"] == "failed" and cause != "final" and block.attempts < MAX_HAND_ONS:
                # It ended for a cause that passes (not a bad order, not its deadline): planned again, to resume
                # with the frames it still needs.
                block.state, block.outcome = "pending", f"back from the telescope ({status['Error'][:200]})"
                self._keep(block)
                self.log.warning("%s back into the plan: %s", block.id, status["Error"][:200])
                continue
            if status["State"] in ("done", "failed", "cancelled"):
                block.state = {"done": "done", "failed": "failed", "cancelled": "cancelled"}[status["State"]]
                block.outcome = status["Result"] or status["Error"]
                self._keep(block)
                self.log.info("%s %s at the telescope: %s", block.id, status["State"], block.outcome[:200])

    def _cancelled(self, telescope) -> None:
        # An order cancelled while queued was never expanded; one cancelled while running stays running,
        # flagged, until _end_orders ends it: only those have blocks to call back.
        for row in self.journal.list(1000, states=("running",)):
            if not row["cancel_requested"]:
                continue
            for block in [b for b in self.blocks.values() if b.order == row["id"] and b.state not in _FINAL]:
                if block.state == "dispatched":
                    try:
                        telescope.cancel(block.dispatched)
                    except xmlrpc.client.Fault:
                        pass
                block.state, block.outcome = "cancelled", "the order was cancelled"
                self._keep(block)

    def _end_orders(self) -> None:
        """Orders whose blocks have all ended are finished, with what became of each."""
        for row in self.journal.list(1000, states=("running",)):
            mine = [b for b in self.blocks.values() if b.order == row["id"]]
            if not mine or any(b.state not in _FINAL for b in mine):
                continue
            counts = {state: sum(b.state == state for b in mine) for state in _FINAL}
            summary = f"observed {counts['done']} of {len(mine)} target(s)" + "".join(
                f"; {n} {state}" for state, n in counts.items() if n and state != "done")
            details = {"Targets": [{"ID": b.id, "Object": b.name, "State": b.state, "Priority": b.priority,
                                    "Priority Rule": b.why, "Telescope Order": b.dispatched, "Outcome": b.outcome}
                                   for b in mine]}
            replaced = counts["cancelled"] == len(mine)  # every target dropped by an UPDATE's list
            state = "cancelled" if row["cancel_requested"] or replaced else ("done" if counts["done"] else "failed")
            self.journal.finish(row["id"], state, result=summary if state == "done" else "",
                                error="" if state == "done" else summary, details=json.dumps(details))
            self.log.info("%s %s: %s", row["id"], state, summary)

    # -- the turn -------------------------------------------------------------------------
    def work_once(self) -> None:
        if not self._devices_ready():
            self._doing = f"waiting for the telescope daemon ({self._device_problem})"
            self._stop.wait(TURN)
            return
        if self._grid is None:  # the night's Sun and Moon at the first turn (~1 s cold), not when a transient comes
            self._doing = "computing the night's Sun and Moon"
            self._grid_for(self._now())
        self._doing = "planning"
        try:
            with self._telescope() as telescope:
                self._expand()
                self._follow(telescope)
                self._cancelled(telescope)
                self._end_orders()
                safety = telescope.safety()
                self._safe, self._unsafe_why = bool(safety["Safe"]), "; ".join(safety.get("Reasons", []))
                if self._safe:
                    self._dispatch(telescope)
        except (OSError, xmlrpc.client.ProtocolError) as exc:  # the telescope daemon went away: reconnect
            self._dropped(f"the telescope daemon: {exc}")
        self._doing = "idle" if not any(b.state == "pending" for b in self.blocks.values()) else "waiting for a slot"
        self._stop.wait(TURN)

    def _now(self) -> Time:
        return self.devices.mount.time

    def _grid_for(self, now: Time):
        if self._grid is None or now < self._grid.start or now > self._grid.times[-1] - TimeDelta(3600, format="sec"):
            self._grid = night_grid(now, now + TimeDelta(HORIZON_HOURS * 3600, format="sec"), self.devices.mount.site)
            self._visibility = None
        return self._grid

    def _dispatch(self, telescope) -> None:
        """Plan the pending blocks from now; hand the first on when its time comes (a transient at once)."""
        now = self._now()
        self._expire(now)
        pending = [b for b in self.blocks.values() if b.state == "pending"]
        if not pending:
            self.last_plan = Plan([])
            return
        at_telescope = [b for b in self.blocks.values() if b.state == "dispatched"]
        urgent = [b for b in pending if b.time_critical]
        may_interrupt = urgent and not any(b.time_critical for b in at_telescope)
        if at_telescope and not may_interrupt and time.monotonic() - self._planned_at < REPLAN_WHILE_BUSY:
            return  # busy, and the plan shown is recent enough
        self._planned_at = time.monotonic()
        grid = self._grid_for(now)
        plan = self._plan(pending, grid, now)
        gone_blocks = []
        for gone in plan.unobservable:
            block = self.blocks[gone.block.id]
            block.state, block.outcome = "unobservable", f"not observable tonight: {gone.why}"
            gone_blocks.append(block)
            self.log.warning("%s: %s", block.id, block.outcome)
        if gone_blocks:
            self._keep(*gone_blocks)  # one commit for them all (one each was 2,500 fsyncs for a large list)
        self.last_plan = plan
        self._say_what_waits(plan, now)
        urgent = [b for b in urgent if b.state == "pending"]
        if may_interrupt and urgent:
            first = self._plan(urgent, grid, now).slots[:1]
            if first and self._due(first[0], now, grid):
                self._hand_on(telescope, self.blocks[first[0].block.id], preempt=at_telescope)
                return
        if at_telescope or not plan.slots or not self._due(plan.slots[0], now, grid):
            return  # the telescope is busy, or the first block's time has not come (planned again next turn)
        self._hand_on(telescope, self.blocks[plan.slots[0].block.id], preempt=[])

    def _say_what_waits(self, plan: Plan, now: Time) -> None:
        """Each running order's next planned target and when (or that none has a slot tonight yet), as a step
        when it changes: an operator sees why a planned block waits, not only that it was planned."""
        first: dict[str, Any] = {}
        for slot in plan.slots:
            order = self.blocks[slot.block.id].order
            first.setdefault(order, slot)
        for order in {b.order for b in self.blocks.values() if b.state == "pending"}:
            slot = first.get(order)
            if slot is None:
                note = "waiting: none of its pending targets has a slot tonight yet (Moon, altitude, window " \
                       "or the night's other targets)"
            else:
                block = self.blocks[slot.block.id]
                wait = (slot.start - now).to_value("s")
                when = "now" if wait <= 60 else f"at {slot.start.utc.isot[11:16]} UTC"
                note = f"next: {block.name} {when}, priority {_handed_priority(block):g}"
            if self._notes.get(order) != note:
                self._notes[order] = note
                self.journal.progress(order, note)

    @staticmethod
    def _due(slot, now: Time, grid) -> bool:
        return (slot.start - now).to_value("s") <= grid.step + slot.overhead

    def _plan(self, blocks: list[BlockState], grid, now: Time) -> Plan:
        ids = frozenset(b.id for b in blocks)
        planned = [b.block for b in blocks]
        if self._visibility is None or not ids <= self._visibility[0]:
            everything = [b.block for b in self.blocks.values() if b.state == "pending"]
            self._visibility = (frozenset(b.id for b in everything), everything, observable(everything, grid,
                                                                                               self.limits))
        _, everything, (ok, why) = self._visibility
        rows = {b.id: i for i, b in enumerate(everything)}
        index = [rows[b.id] for b in planned]
        return plan_night(planned, grid, self.limits, self.overheads, start=now, pointing=self._pointing,
                          visibility=(ok[index], [why[i] for i in index]))

    def _expire(self, now: Time) -> None:
        now_jd = float(now.jd)
        for block in [b for b in self.blocks.values() if b.state == "pending"]:
            end = block.window[1]
            if end and block.ends_jd < now_jd:
                block.state, block.outcome = "failed", f"its window ended at {end}"
                self._keep(block)

    def _hand_on(self, telescope, block: BlockState, preempt: list[BlockState]) -> None:
        before = (block.attempts, block.dispatched, block.first)
        block.attempts += 1
        block.dispatched = f"{block.id}#{block.attempts}"
        block.first = block.first or block.dispatched
        order = {"ID": block.dispatched, "WOType": "Observation", "Priority": _handed_priority(block),
                 "User": block.user, "RA": block.ra, "Dec": block.dec,
                 "Filter": block.filter, "Exposure Time": block.exposure, "Number of Exposures": block.count,
                 "Object": block.name, "Type of job": block.job}
        if block.window[1]:
            order["Deadline"] = block.window[1]
        if block.first != block.dispatched:
            order["Resume"] = block.first
        try:
            telescope.front_desk(order)
        except xmlrpc.client.Fault as fault:
            if fault.faultCode in (FAULT_DEVICE, FAULT_SERVER):  # the telescope's trouble, not the order's: again
                block.attempts, block.dispatched, block.first = before  # not handed on: no attempt spent
                outcome = f"the telescope could not take it yet: {fault.faultString[:200]}"
                if outcome != block.outcome:  # said once, not at every turn while it lasts
                    block.outcome = outcome
                    self._keep(block)
                    self.log.warning("%s: %s", block.id, block.outcome)
                return
            block.state, block.outcome = "failed", f"the telescope refused it: {fault.faultString}"
            self._keep(block)
            self.log.error("%s: %s", block.id, block.outcome)
            return
        block.state, block.outcome = "dispatched", ""
        self._keep(block)
        self._pointing = (block.ra, block.dec, block.filter)
        self.journal.progress(block.order, f"{block.name} to the telescope as {block.dispatched}")
        self.log.info("%s handed to the telescope as %s (priority %g)", block.id, block.dispatched, order["Priority"])
        for running in preempt:
            try:
                telescope.preempt(running.dispatched, f"time-critical {block.id}")
                self.log.info("%s preempted for the time-critical %s", running.dispatched, block.id)
            except xmlrpc.client.Fault:
                pass
