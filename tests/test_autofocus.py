"""Autofocus over the simulated optics (issue 25): a V-curve sampled, fitted and its bottom found."""

from __future__ import annotations

import numpy as np
import pytest

from torosdrivers.errors import DriverError
from torosdrivers.observatory.autofocus import MAX_EXPOSURES, autofocus, fit_v_curve
from torosdrivers.simulators import SimulatedObservatory
from torosdrivers.simulators.optics import Optics

SEEING = 2.0  # arcsec: the simulated sensor's


def test_the_fit_finds_the_vertex_of_a_hyperbola_and_refuses_a_cap():
    x = np.arange(29700, 30400, 100)
    hyperbola = 1.1 * np.sqrt(1 + ((x - 30037.0) / 90.0) ** 2)
    assert fit_v_curve(x, hyperbola) == pytest.approx(30037.0, abs=0.5)
    assert fit_v_curve(x, 5.0 - hyperbola) is None  # opens downwards: no minimum to go to
    assert fit_v_curve(x[:2], hyperbola[:2]) is None


def _observatory(optics):
    obs = SimulatedObservatory(time_scale=float("inf"), seed=4, width=1024, height=1024,
                               start="2026-06-21T04:00:00", optics=optics)
    obs.connect()
    obs.open_on_sky()
    return obs


@pytest.mark.parametrize("depths", [-5, 5])
def test_from_up_to_five_depths_of_focus_away_it_ends_within_the_depth_of_focus(depths):
    optics = Optics()
    depth = optics.depth_of_focus(SEEING)
    obs = _observatory(optics)
    try:
        best = optics.best_at(obs.focuser.temperature.value)
        obs.focuser.move(int(best + depths * depth))
        result = autofocus(obs.camera, obs.focuser, exposure=30.0, step=int(2 * depth) - 12)
        assert abs(obs.focuser.true_position() - best) <= depth, result.as_dict()
        assert result.exposures <= MAX_EXPOSURES and result.position == obs.focuser.position
        assert result.hfr < 1.2 and result.fitted is not None
    finally:
        obs.disconnect()


def test_best_focus_follows_the_temperature():
    """The night cools 8 degrees: best focus moves 160 steps, and a new run finds it."""
    optics = Optics()
    obs = _observatory(optics)
    try:
        first = autofocus(obs.camera, obs.focuser, exposure=30.0, step=80)
        obs.focuser._probe = lambda: 5.0 - 8.0  # the tube's air, later that night
        second = autofocus(obs.camera, obs.focuser, exposure=30.0, step=80)
        assert second.position - first.position == pytest.approx(8.0 * -optics.drift, abs=optics.depth_of_focus(SEEING))
    finally:
        obs.disconnect()


def test_no_sky_no_focus_and_the_reason():
    obs = _observatory(Optics())
    try:
        obs.dome.close_shutter()
        with pytest.raises(DriverError, match="autofocus: no stars in 7 frames"):
            autofocus(obs.camera, obs.focuser, exposure=5.0, step=80)
    finally:
        obs.disconnect()


def test_the_keeper_refocuses_at_a_new_night_and_a_temperature_change_and_follows_filter_offsets():
    """No frames needed: the keeper's rules over a remembered run, and the optics' truth per filter."""
    from torosdrivers.observatory.autofocus import FocusResult
    from torosdrivers.observatory.focuskeeper import FocusKeeper

    optics = Optics(filter_offsets={"V": 0.0, "R": 60.0, "I": 110.0})
    obs = _observatory(optics)
    try:
        keeper = FocusKeeper(obs.camera, obs.focuser, filter_offsets={"V": 0, "R": 60, "I": 110},
                             temperature_change=1.0)
        assert keeper.due("2026-06-20") == "start of the night" and keeper.follow_filter("R") is None
        celsius = obs.focuser.temperature.value
        best_v = optics.best_at(celsius, "V")
        keeper.last, keeper.last_filter, keeper.night = FocusResult(int(best_v), 1.0, temperature=celsius), "V", \
            "2026-06-20"
        assert keeper.due("2026-06-20") == ""
        assert keeper.due("2026-06-21") == "start of the night"
        for name in ("R", "I", "V"):  # each filter's focus by its offset, no run: the optics agree
            obs.filter_wheel.select(name)
            keeper.follow_filter(name)
            assert abs(obs.focuser.true_position() - optics.best_at(celsius, name)) <= 1
            assert obs.camera.expose(1.0).header["SIMBLUR"] < 0.05
        obs.focuser._probe = lambda: celsius - 1.5  # the night cools
        assert keeper.due("2026-06-20").startswith("temperature") and "more than 1 C" in keeper.due("2026-06-20")
    finally:
        obs.disconnect()
