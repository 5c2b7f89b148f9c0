"""The scheduler daemon: priorities on receipt, a plan, the telescope fed one order at a time, transients first."""

from __future__ import annotations

import time

import numpy as np
import pytest

from tests.daemons.conftest import DOC_OBSERVATION, Stack, make_config, wait_state
from torosdrivers.daemons.services.scheduler import SchedulerService

DUSK = {"RA": 300.0, "Dec": -30.0}  # high over TOROS as the night begins (the documented field rises later)
RULES = [{"Name": "transients", "When": {"Type of job": "Transient"}, "Priority": 9},
         {"Name": "guests", "When": {"User": "Guest"}, "Cap": 6}]


class Night:
    """The three daemons and the scheduler on one simulated observatory."""

    def __init__(self, tmp_path, **sections) -> None:
        # The whole night from dusk: at x1000 about 35 s of test before dawn.
        simulator = {"Start": "2026-09-24T23:50:00"} | sections.pop("Simulator", {})
        # The plans are of 600 s blocks in V under a nearly full Moon: such frames saturate, and the frame checks
        # (tests/daemons/test_frame_checks.py) would reject them; here the plan is under test, not the frames.
        sections["Telescope"] = {"Max Saturated": 1.0} | sections.get("Telescope", {})
        config = make_config(tmp_path, Scheduler={"Priority Rules": RULES}, Simulator=simulator, **sections)
        self.stack = Stack(config)
        config.data["Telescope Address"]["Port"] = self.stack.telescope.server.port
        self.config = config
        self.start()

    def start(self) -> None:
        self.scheduler = SchedulerService(self.config, devices=self.stack.telescope.devices)
        self.scheduler.serve(0)
        self.proxy = self.stack.proxy(self.scheduler)
        deadline = time.monotonic() + 30
        while self.scheduler.filters is None:  # connected to the telescope daemon
            assert time.monotonic() < deadline
            time.sleep(0.05)

    def telescope_orders(self) -> list[dict]:
        return self.stack.proxy(self.stack.telescope).list_orders()

    def stop(self) -> None:
        self.scheduler.stop()
        self.stack.stop()


@pytest.fixture
def night(tmp_path):
    n = Night(tmp_path)
    yield n
    n.stop()


def _galaxies(n: int, seed: int = 7, ra: tuple[float, float] = (0, 360)) -> list[dict]:
    rng = np.random.default_rng(seed)
    return [{"Name": f"g{i:03d}", "RA": float(rng.uniform(*ra)), "Dec": float(rng.uniform(-80, 10)),
             "Probability": round(float(rng.uniform(0, 1)), 3)} for i in range(n)]


def test_priorities_are_assigned_on_receipt_by_the_rules(night):
    base = {k: v for k, v in DOC_OBSERVATION.items() if k != "Priority"} | DUSK
    receipts = [night.proxy.front_desk({**base, "ID": "p1"}),
                night.proxy.front_desk({**base, "ID": "p2", "Type of job": "Transient"}),
                night.proxy.front_desk({**base, "ID": "p3", "Type of job": "Transient", "User": "Guest"}),
                night.proxy.front_desk({**base, "ID": "p4", "Priority": 1.3}),
                night.proxy.front_desk({**base, "ID": "p5", "Probability": 0.42})]
    assert [r["Priority"] for r in receipts] == [5.0, 9.0, 6.0, 1.3, pytest.approx(4.2)]
    status = wait_state(night.proxy, "p3", timeout=60)
    assert "rule 'transients' set 9; capped at 6 by rule 'guests'" in [s["Text"] for s in status["Steps"]][0]
    target = status["Details"]["Targets"][0]
    assert target["Priority Rule"] == "rule 'transients' set 9; capped at 6 by rule 'guests'"


def test_a_target_list_is_observed_by_weight_while_up_and_the_telescope_queue_stays_short(night):
    # 120 galaxies of ten minutes each: more than one night holds, so the weights decide.
    targets = _galaxies(120) + [{"Name": "north", "RA": 10.0, "Dec": 80.0, "Probability": 1.0}]
    receipt = night.proxy.front_desk({"ID": "gw", "WOType": "Target List", "User": "LVC", "Filter": "V",
                                      "Exposure Time": 600.0, "Number of Exposures": 1, "Targets": targets})
    assert receipt["Priority"] == 10.0  # the most probable target's
    longest, done = 0, []
    deadline = time.monotonic() + 40
    while len(done) < 3:
        assert time.monotonic() < deadline
        orders = night.telescope_orders()
        longest = max(longest, sum(o["State"] in ("queued", "running") for o in orders))
        done = [o for o in orders if o["State"] == "done"]
        time.sleep(0.05)
    assert longest <= 1  # handed on one at a time
    plan = night.proxy.plan()
    never = {u["ID"]: u["Why"] for u in plan["Unobservable"]}
    assert never["gw/north"].startswith("not observable tonight: never above 30 deg")
    assert all(not o["ID"].startswith("gw/north") for o in night.telescope_orders())  # reported, not run
    weights = {f"gw/{t['Name']}": t["Probability"] for t in targets}
    planned = {slot["ID"] for slot in plan["Slots"]} | {o["ID"].split("#")[0] for o in night.telescope_orders()}
    left = [w for i, w in weights.items() if i not in planned and i not in never]
    assert 30 < len(plan["Slots"]) < 110 and left
    assert np.mean([weights[i] for i in planned]) > np.mean(left) + 0.2
    assert [s["Start"] for s in plan["Slots"]] == sorted(s["Start"] for s in plan["Slots"])


def test_a_transient_interrupts_between_exposures_and_the_interrupted_order_resumes(night):
    long = {k: v for k, v in DOC_OBSERVATION.items() if k not in ("Priority", "Calibration Frames")} | DUSK
    night.proxy.front_desk({**long, "ID": "survey", "Number of Exposures": 12, "Exposure Time": 120.0})
    telescope = night.stack.proxy(night.stack.telescope)
    deadline = time.monotonic() + 60
    while "exposure 2 of 12" not in telescope.status("survey#1")["Progress"] if _known(telescope, "survey#1") else True:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    night.proxy.front_desk({**long, "ID": "grb", "Time Critical": True, "Number of Exposures": 2, "RA": 320.0,
                            "Dec": -40.0, "Filter": "R"})
    grb = wait_state(telescope, "grb#1", timeout=60) if _wait_known(telescope, "grb#1") else None
    assert grb and grb["State"] == "done" and grb["Priority"] == 10.0
    survey = wait_state(telescope, "survey#1", timeout=120)
    texts = [s["Text"] for s in survey["Steps"]]
    interrupted = next(i for i, t in enumerate(texts) if t.startswith("interrupted: preempted by time-critical grb"))
    exposures_before = [t for t in texts[:interrupted] if t.startswith("exposure ")]
    assert len(exposures_before) <= 3  # it stopped at the next exposure boundary
    assert survey["State"] == "done" and len(survey["Details"]["Frames"]) == 12  # resumed, nothing retaken
    assert grb["Started"] < survey["Finished"]
    assert wait_state(night.proxy, "grb", timeout=30)["State"] == "done"


def test_a_restarted_scheduler_observes_nothing_twice(tmp_path):
    night = Night(tmp_path)
    try:
        night.proxy.front_desk({"ID": "cmp", "WOType": "Target List", "Filter": "V", "Exposure Time": 20.0,
                                "Targets": _galaxies(10, seed=3, ra=(280, 330))})  # all up at dusk
        deadline = time.monotonic() + 40
        while len([o for o in night.telescope_orders() if o["State"] == "done"]) < 3:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        night.scheduler.stop()
        night.start()  # the same journal
        status = wait_state(night.proxy, "cmp", timeout=90)
        ids = [o["ID"].split("#")[0] for o in night.telescope_orders() if o["State"] == "done"]
        assert len(ids) == len(set(ids)) >= 5 and status["State"] == "done"
    finally:
        night.stop()


def _known(proxy, order_id: str) -> bool:
    return any(o["ID"] == order_id for o in proxy.list_orders())


def _wait_known(proxy, order_id: str, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while not _known(proxy, order_id):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.fixture
def slow_night(tmp_path):
    # At x100 the night lasts six minutes of test: on a loaded machine the x1000 night (35 s) could end, its
    # galaxies all observed, before the plan is printed ("nothing left to plan tonight")
    n = Night(tmp_path, Simulator={"Time Scale": 100.0})
    yield n
    n.stop()


def test_toros_plan_prints_the_night(slow_night, tmp_path, capsys):
    import yaml

    from torosdrivers.daemons.tools.client import main as toros

    night = slow_night
    night.proxy.front_desk({"ID": "tl", "WOType": "Target List", "Filter": "V", "Exposure Time": 600.0,
                            "Targets": _galaxies(8, ra=(280, 330)) + [{"Name": "north", "RA": 10.0, "Dec": 80.0}]})
    deadline = time.monotonic() + 30
    while not night.proxy.plan()["Unobservable"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    path = tmp_path / "client.yaml"
    path.write_text(yaml.safe_dump({"Scheduler Address": {"IP": "127.0.0.1", "Port": night.scheduler.server.port}}))
    chart = tmp_path / "plan.png"
    assert toros(["--config", str(path), "plan", "--png", str(chart)]) == 0
    out = capsys.readouterr().out
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"chart: {chart}" in out
    assert "START     END       ID" in out and "tl/g0" in out and "1 x 600 s" in out
    assert "NOT OBSERVABLE TONIGHT\n  tl/north: not observable tonight: never above 30 deg" in out


def test_rain_closes_for_an_hour_and_the_plan_goes_on_after(tmp_path):
    # x500, and the rain half an hour after the start: the first target must reach the telescope before it, and
    # at x1000 a busy machine's start-up alone (the night grid, ~1 s cold) was 20 minutes of sky
    rain = [{"at": "2026-09-25T00:35:00", "sky": "rain"}, {"at": "2026-09-25T01:35:00", "sky": "clear"}]
    night = Night(tmp_path, Simulator={"Weather": rain, "Start": "2026-09-25T00:05:00", "Time Scale": 500.0})
    try:
        night.proxy.front_desk({"ID": "wet", "WOType": "Target List", "Filter": "V", "Exposure Time": 600.0,
                                "Targets": _galaxies(60, seed=11, ra=(270, 345))})
        handed_while_unsafe: dict[str, bool] = {}  # telescope order -> whether it appeared while unsafe
        before = None  # the telescope's orders when the rain was first seen
        unsafe_turns = 0
        deadline = time.monotonic() + 90
        while True:
            assert time.monotonic() < deadline, (unsafe_turns, handed_while_unsafe)
            safe = night.proxy.plan()["Safe"]
            for order in night.telescope_orders():
                handed_while_unsafe.setdefault(order["ID"], not safe)
            unsafe_turns += not safe
            if not safe and before is None:
                before = set(handed_while_unsafe)
            if before is not None and safe and len(set(handed_while_unsafe) - before) >= 2:
                break  # open again, and the plan goes on
            time.sleep(0.05)
        assert unsafe_turns > 3 and before  # the rain was seen, for a while, with an order at the telescope
        assert not any(handed_while_unsafe.values())  # nothing was handed on while it was unsafe
        telescope = night.stack.proxy(night.stack.telescope)
        for order in before:  # the ones caught by the rain resumed and ended
            status = wait_state(telescope, order, timeout=30)
            assert status["State"] == "done", status
    finally:
        night.stop()


def test_an_order_resumes_an_earlier_ones_frames_and_a_set_target_comes_back_into_the_plan(night, tmp_path):
    telescope = night.stack.proxy(night.stack.telescope)
    base = {"WOType": "Observation", "Filter": "V", "Exposure Time": 60.0, "Number of Exposures": 6} | DUSK
    telescope.front_desk({**base, "ID": "a"})
    deadline = time.monotonic() + 30
    while "exposure 3 of 6" not in telescope.status("a")["Progress"]:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    telescope.preempt("a", "a test")
    while telescope.status("a")["State"] != "queued":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    telescope.cancel("a")
    night_folder = next((tmp_path / "data").iterdir())
    taken = {p.name: p.stat().st_mtime_ns for p in night_folder.glob("a_light_*.fits")}
    assert 2 <= len(taken) < 6
    done = wait_state(telescope, telescope.front_desk({**base, "ID": "b", "Resume": "a"})["ID"])
    assert done["State"] == "done" and len(list(night_folder.glob("a_light_*.fits"))) == 6
    assert all((night_folder / name).stat().st_mtime_ns == t for name, t in taken.items())  # none retaken
    assert not list(night_folder.glob("b_light_*"))

    # The scheduler's side: an order its telescope holds for a target that has set comes back into the plan.
    class Telescope:
        cancelled: list[str] = []
        handed: list[dict] = []

        def status(self, order_id):
            return {"State": "queued", "Result": "", "Error": "",
                    "Progress": "waiting: the target is at 21.3 deg, below the minimum altitude of 25 deg"}

        def cancel(self, order_id):
            self.cancelled.append(order_id)

        def front_desk(self, order):
            self.handed.append(order)
            return {"ID": order["ID"]}

    from torosdrivers.daemons.services.scheduler import BlockState

    config = make_config(tmp_path / "other")
    scheduler = SchedulerService(config, devices=night.stack.telescope.devices)
    try:
        block = BlockState("s/t", "s", "t", 235.0, -10.0, "V", 60.0, 12, 5.0, "default 5", ("", ""), False,
                           state="dispatched", dispatched="s/t#1", first="s/t#1", attempts=1)
        scheduler.blocks[block.id] = block
        stub = Telescope()
        scheduler._follow(stub)
        assert block.state == "pending" and stub.cancelled == ["s/t#1"] and "below the minimum altitude" in block.outcome
        scheduler._hand_on(stub, block, preempt=[])
        assert stub.handed[0]["ID"] == "s/t#2" and stub.handed[0]["Resume"] == "s/t#1"
    finally:
        scheduler.journal.close()


def test_cancelling_a_list_calls_back_what_the_telescope_has(night):
    night.proxy.front_desk({"ID": "stop", "WOType": "Target List", "Filter": "V", "Exposure Time": 600.0,
                            "Targets": _galaxies(6, ra=(280, 330))})
    telescope = night.stack.proxy(night.stack.telescope)
    deadline = time.monotonic() + 30
    while not any(o["State"] == "running" for o in telescope.list_orders()):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    night.proxy.cancel("stop")
    status = wait_state(night.proxy, "stop", timeout=30)
    assert status["State"] == "cancelled"
    assert {t["State"] for t in status["Details"]["Targets"]} <= {"cancelled", "done"}
    handed = [o for o in telescope.list_orders() if o["ID"].startswith("stop/")]
    assert all(wait_state(telescope, o["ID"], timeout=30)["State"] in ("cancelled", "done") for o in handed)


def test_a_target_list_of_5000_is_taken_with_the_shipped_limits_and_the_worker_stays_healthy(night):
    """Issue 24: the README promises 5,000 targets; the daemons' 256 KB limit refused 600 (413)."""
    targets = [{"Name": f"g{i:04d}", "RA": (i * 0.072) % 360, "Dec": -60.0 + (i % 120), "Probability": (i % 97) / 97}
               for i in range(5000)]
    receipt = night.proxy.front_desk({"ID": "big", "WOType": "Target List", "User": "LVC", "Filter": "V",
                                      "Exposure Time": 60.0, "Number of Exposures": 1, "Targets": targets})
    assert receipt["State"] == "queued"
    deadline = time.monotonic() + 120
    while not night.proxy.plan()["Slots"]:
        assert time.monotonic() < deadline, "no plan of the 5,000 targets"
        time.sleep(0.2)
    health = night.proxy.health()
    assert health["Healthy"] and health["Ready"], health
    assert len(night.proxy.plan()["Unobservable"]) > 0  # the southern sky's north is reported, not dropped
