"""The weather station and the safety monitor, in-process and over Alpaca (issue 16)."""

from __future__ import annotations

import time
from contextlib import contextmanager

import astropy.units as u
import pytest

from tests.rigs import NIGHT
from torosdrivers.errors import CommunicationError, InvalidValueError, UnsupportedError
from torosdrivers.simulators import SimulatedObservatory
from torosdrivers.simulators.alpaca.cli import serve_observatory
from torosdrivers.weather import CONDITIONS
from torosdrivers.weather.alpaca import AlpacaObservingConditions, AlpacaSafetyMonitor

#: Clear, then rain from one simulated minute after the start.
RAIN_AFTER_A_MINUTE = [{"at": "+00:00", "sky": "clear"}, {"at": "+00:01", "sky": "rain"}]


@contextmanager
def simulated():
    with SimulatedObservatory(time_scale=1000, seed=2, start=NIGHT, width=64, height=64,
                              weather=RAIN_AFTER_A_MINUTE) as obs:
        yield obs, obs.conditions, obs.safety


@contextmanager
def alpaca():
    with SimulatedObservatory(time_scale=1000, seed=2, start=NIGHT, width=64, height=64,
                              weather=RAIN_AFTER_A_MINUTE) as obs:
        with serve_observatory(obs, port=0) as server:
            station = AlpacaObservingConditions(server.address, timeout=5.0)
            monitor = AlpacaSafetyMonitor(server.address, timeout=5.0)
            station.connect()
            monitor.connect()
            try:
                yield obs, station, monitor
            finally:
                station.disconnect()
                monitor.disconnect()


@pytest.fixture(params=["simulator", "alpaca"])
def weather(request):
    with {"simulator": simulated, "alpaca": alpaca}[request.param]() as rig:
        yield rig


def _wait_for_rain(station) -> None:
    deadline = time.monotonic() + 10
    while station.rain_rate.value == 0:
        assert time.monotonic() < deadline, "the scripted rain never came"
        time.sleep(0.02)


def test_conditions_follow_the_timeline_and_the_monitor_turns_unsafe(weather):
    obs, station, monitor = weather
    rain, safe = station.rain_rate, monitor.is_safe
    assert station.cloud_cover.unit == u.percent and station.wind_gust.unit == u.m / u.s
    if (obs.clock.now() - NIGHT).sec < 60:  # read before the rain's minute (the clock read after them): clear
        assert rain == 0 * u.mm / u.hour and safe
    _wait_for_rain(station)
    assert station.rain_rate.value > 0 and station.cloud_cover.value == 100.0
    assert not monitor.is_safe
    assert station.humidity.value > 90 and station.dew_point.value < station.temperature.value + 0.01


def test_every_sensor_and_the_age_of_its_data(weather):
    obs, station, _ = weather
    values = station.conditions()
    assert set(values) == set(CONDITIONS) - {"SkyBrightness", "SkyQuality"}
    with pytest.raises(UnsupportedError):
        station.sky_quality
    assert 0 <= station.time_since_last_update("RainRate").to_value(u.s) <= 60.0
    assert 0 <= station.time_since_last_update().to_value(u.s) <= 60.0
    assert "RainRate" in station.sensor_description("RainRate")
    assert station.average_period.value == 0.0
    station.refresh()
    with pytest.raises(InvalidValueError, match="sensor 'Rain'"):
        station.condition("Rain")


def test_a_stuck_station_ages_and_a_dead_one_fails(weather):
    obs, station, monitor = weather
    obs.conditions.freeze()
    time.sleep(0.2)  # 200 simulated seconds
    assert station.time_since_last_update().to_value(u.s) > 150
    obs.conditions.freeze(False)
    obs.conditions.fail()
    with pytest.raises(CommunicationError):
        station.rain_rate
    obs.conditions.fail(False)
    obs.safety.fail()
    with pytest.raises(CommunicationError):
        monitor.is_safe


def test_a_disconnected_monitor_is_never_safe():
    with simulated() as (obs, _, monitor):
        monitor.disconnect()
        assert monitor.is_safe is False


def test_rain_on_an_open_dome_is_recorded():
    with simulated() as (obs, station, _):
        assert obs.rain_on_open_dome() == []
        obs.dome.open_shutter()
        _wait_for_rain(station)
        obs.dome.close_shutter()
        wet = obs.rain_on_open_dome()
        assert wet and (wet[0][1] - wet[0][0]).sec > 0


@pytest.mark.parametrize("slaving", [False, True])
def test_dome_slaved_in_process_and_over_alpaca(slaving):
    from torosdrivers.dome.alpaca import AlpacaDome
    from torosdrivers.coords import from_altaz

    with SimulatedObservatory(time_scale=1000, seed=2, start=NIGHT, width=64, height=64,
                              slaving_dome=slaving) as obs:
        with serve_observatory(obs, port=0) as server:
            remote = AlpacaDome(server.address, timeout=5.0)
            remote.connect()
            try:
                for dome in (obs.dome, remote):
                    assert dome.can_slave is slaving and dome.slaved is False
                if not slaving:
                    with pytest.raises(UnsupportedError, match="CanSlave is False"):
                        remote.slaved = True
                    return
                obs.mount.unpark()
                obs.mount.slew_to(from_altaz(50.0, 100.0, obs.mount.time, obs.mount.site))
                remote.slaved = True
                assert obs.dome.slaved
                deadline = time.monotonic() + 10
                while abs((obs.mount.altaz.az.deg - remote.azimuth.value + 180) % 360 - 180) > 2.5 or remote.slewing:
                    assert time.monotonic() < deadline, "the slaved dome did not follow"
                    time.sleep(0.01)
                remote.slaved = False
            finally:
                remote.disconnect()
