"""Nights of simulated raw frames, made once per test session."""

from __future__ import annotations

import math
import shutil

import pytest

from tests.rigs import NIGHT
from torosdrivers.preprocessing import Catalog
from torosdrivers.simulators import SimulatedObservatory
from torosdrivers.simulators.night import observe_night

SIZE = 128


@pytest.fixture(scope="session")
def night_template(tmp_path_factory):
    """A night: 5 biases, 5 darks of 30 s, 5 flats in V and R, 2 lights in V and 1 in R."""
    folder = tmp_path_factory.mktemp("night-template")
    with SimulatedObservatory(time_scale=math.inf, seed=21, start=NIGHT, width=SIZE, height=SIZE,
                              star_density=20000) as obs:
        observe_night(obs, folder, lights={"V": 2, "R": 1})
    return folder


@pytest.fixture
def night(night_template, tmp_path):
    """A fresh copy of the template night to process."""
    folder = tmp_path / "2026-06-21"
    shutil.copytree(night_template, folder)
    return folder


@pytest.fixture
def catalog(tmp_path):
    with Catalog(tmp_path / "catalog.sqlite") as cat:
        yield cat
