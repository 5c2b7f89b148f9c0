"""`FrameContext`: a failing device costs its keywords, never the frame."""

from __future__ import annotations

import math

from tests.rigs import NIGHT
from torosdrivers.ccd import FrameContext
from torosdrivers.simulators import SimulatedObservatory


def test_disconnected_mount_leaves_a_comment_not_a_failure(caplog):
    with SimulatedObservatory(time_scale=math.inf, start=NIGHT, width=64, height=64) as obs:
        obs.mount.disconnect()
        frame = obs.camera.expose(0.0, light=False)
        assert "RA" not in frame.header
        assert any("RA/DEC unavailable" in str(c) for c in frame.header["COMMENT"])
        assert "not written to the header" in caplog.text


def test_context_with_observer_and_extra_cards():
    with SimulatedObservatory(time_scale=math.inf, start=NIGHT, width=64, height=64) as obs:
        obs.camera.context = FrameContext(telescope="CTMO", observer="Ana", extra={"PROJECT": "GW"})
        h = obs.camera.expose(0.0, light=False).header
        assert (h["TELESCOP"], h["OBSERVER"], h["PROJECT"]) == ("CTMO", "Ana", "GW")
        assert "FILTER" not in h and "RA" not in h
