"""A toros-alpaca-sim server on an ephemeral loopback port."""

from __future__ import annotations

import pytest

from tests.rigs import small_observatory
from torosdrivers.simulators.alpaca.cli import serve_observatory


@pytest.fixture
def observatory():
    obs = small_observatory(1000.0)
    yield obs
    obs.disconnect()


@pytest.fixture
def server(observatory):
    with serve_observatory(observatory, port=0) as server:
        yield server


@pytest.fixture
def json_server(observatory):
    """A server that does not offer ImageBytes."""
    with serve_observatory(observatory, port=0, imagebytes=False) as server:
        yield server
