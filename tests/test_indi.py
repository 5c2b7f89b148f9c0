"""INDI backends against a real indiserver and the INDI simulator drivers: configured as `Backend: indi`,
and their faults (a driver killed, the server gone, a property the driver sets to Alert), each a clear
error naming what happened, after which a reconnect works. The contracts run in tests/contract/test_indi.py."""

from __future__ import annotations

import pytest

from tests.indi_server import IndiServer, require
from torosdrivers.ccd.indi import IndiFilterWheel
from torosdrivers.errors import CommunicationError, DriverError
from torosdrivers.focuser.indi import IndiFocuser
from torosdrivers.indi import IndiLink


@pytest.fixture
def indiserver():
    require()
    server = IndiServer("indi_simulator_focus", "indi_simulator_wheel")
    yield server
    server.stop()


def test_a_property_in_alert_is_an_error_with_the_drivers_message(indiserver):
    with IndiFilterWheel(indiserver.address, "Filter Simulator") as wheel:
        link: IndiLink = wheel._link
        with pytest.raises(DriverError, match=r"FILTER_SLOT .*refused \(Alert\)"):
            link.set("FILTER_SLOT", {"FILTER_SLOT_VALUE": 99})  # past the wheel: the driver refuses it
        wheel.select("Blue")  # and the wheel goes on working
        assert wheel.filter == "Blue"


def test_no_server_and_no_device_are_named(indiserver):
    host, port = indiserver.address.split(":")
    with pytest.raises(DriverError, match="no device 'Nonesuch'.*Focuser Simulator"):
        IndiFocuser(indiserver.address, "Nonesuch", timeout=3.0).connect()
    indiserver.stop()
    with pytest.raises(CommunicationError, match=f"no INDI server at 127.0.0.1:{port}"):
        IndiFocuser(indiserver.address, "Focuser Simulator", timeout=2.0).connect()


def test_the_server_gone_is_seen_by_ping_and_calls(indiserver):
    focuser = IndiFocuser(indiserver.address, "Focuser Simulator", timeout=3.0)
    focuser.connect()
    try:
        focuser.ping()
        indiserver.stop()
        link = focuser._link
        link.wait_until(lambda: not link.is_open, 10.0, "the loss seen")
        with pytest.raises(CommunicationError, match="is gone"):
            focuser.ping()
        with pytest.raises(CommunicationError, match="lost"):
            _ = focuser.position
    finally:
        focuser.disconnect()


def test_a_killed_driver_is_restarted_by_indiserver_and_a_reconnect_works(indiserver):
    focuser = IndiFocuser(indiserver.address, "Focuser Simulator", timeout=5.0)
    focuser.connect()
    try:
        focuser.move(12000)
        indiserver.kill_driver("indi_simulator_focus")
        link = focuser._link
        # The restarted driver defines its properties anew, disconnected from its (simulated) hardware
        link.wait_until(lambda: not link.switch("CONNECTION", "CONNECT"), 15.0, "the driver's restart seen")
        with pytest.raises(CommunicationError, match="no longer connected"):
            focuser.ping()
        focuser.disconnect()
        focuser.connect()
        focuser.move(13000)
        assert focuser.position == 13000
    finally:
        focuser.disconnect()


def test_backend_indi_in_the_configuration(indiserver, tmp_path):
    """`Devices: {Focuser: {Backend: indi, Address, Device}}`: what toros-devices and the daemons build."""
    from tests.daemons.conftest import make_config
    from torosdrivers.config import build_hardware

    config = make_config(tmp_path, Devices={
        "Filter Wheel": {"Backend": "indi", "Address": indiserver.address, "Device": "Filter Simulator"},
        "Focuser": {"Backend": "indi", "Address": indiserver.address, "Device": "Focuser Simulator"}})
    devices = build_hardware(config, ("Filter Wheel", "Focuser"))
    assert isinstance(devices.filter_wheel, IndiFilterWheel) and isinstance(devices.focuser, IndiFocuser)
    with devices.filter_wheel as wheel, devices.focuser as focuser:
        wheel.select("OIII")
        focuser.move(31000)
        assert wheel.filter == "OIII" and focuser.position == 31000


def test_a_bad_indi_section_names_the_key(tmp_path):
    from torosdrivers.config_schema import check
    from torosdrivers.config import DEFAULTS
    import copy

    data = copy.deepcopy(DEFAULTS)
    data["Devices"]["Focuser"] = {"Backend": "indi", "Address": "127.0.0.1:7624"}
    data["Devices"]["Mount"] = {"Backend": "indigo", "Address": "127.0.0.1:7624", "Device": "Telescope Simulator"}
    problems = "\n".join(check(data))
    assert "Devices.Focuser" in problems and "Device" in problems
    assert "Devices.Mount" in problems and "indigo" in problems and "indi" in problems


def test_an_indi_mount_and_dome_in_the_configuration_get_the_site(tmp_path):
    """`Backend: indi` for Mount and Dome; the mount's driver is told the configured Site (GEOGRAPHIC_COORD)."""
    from tests.daemons.conftest import make_config
    from torosdrivers.config import build_hardware
    from torosdrivers.dome.indi import IndiDome
    from torosdrivers.mount.indi import IndiMount

    require()
    server = IndiServer("indi_simulator_telescope", "indi_simulator_dome")
    try:
        config = make_config(tmp_path, Devices={
            "Mount": {"Backend": "indi", "Address": server.address, "Device": "Telescope Simulator"},
            "Dome": {"Backend": "indi", "Address": server.address, "Device": "Dome Simulator"}})
        devices = build_hardware(config, ("Mount", "Dome"))
        assert isinstance(devices.mount, IndiMount) and isinstance(devices.dome, IndiDome)
        with devices.mount as mount, devices.dome as dome:
            assert mount._link.number("GEOGRAPHIC_COORD", "LAT") == pytest.approx(config["Site"]["Latitude"])
            assert mount.site.lon.deg == pytest.approx(config["Site"]["Longitude"])
            assert mount.min_altitude.value == config["Telescope"]["Minimum Altitude"]
            assert dome.shutter.name == "CLOSED"
    finally:
        server.stop()


@pytest.fixture
def weather_server():
    require()
    server = IndiServer("indi_simulator_weather")
    yield server
    server.stop()


def test_an_indi_weather_device_as_safety_monitor_and_station(weather_server, tmp_path):
    """`Backend: indi` for both: safe while WEATHER_STATUS is Ok; rain and wind past the simulator's limits
    (its WEATHER_CONTROL) turn it Alert, named per light; readings in ASCOM units; a lost server is unsafe."""
    import astropy.units as u

    from tests.daemons.conftest import make_config
    from torosdrivers.config import build_hardware
    from torosdrivers.errors import UnsupportedError
    from torosdrivers.weather.indi import IndiObservingConditions, IndiSafetyMonitor

    spec = {"Backend": "indi", "Address": weather_server.address, "Device": "Weather Simulator"}
    config = make_config(tmp_path, Devices={"Safety Monitor": spec, "Observing Conditions": spec})
    devices = build_hardware(config, ("Safety Monitor", "Observing Conditions"))
    monitor, station = devices.safety, devices.conditions
    assert isinstance(monitor, IndiSafetyMonitor) and isinstance(station, IndiObservingConditions)
    with monitor, station:
        assert monitor.is_safe and monitor.unsafe_because() == []
        assert station.temperature == 15 * u.deg_C and station.rain_rate == 0 * u.mm / u.hour
        with pytest.raises(UnsupportedError, match="no CloudCover sensor"):
            _ = station.cloud_cover
        # The simulator defines WEATHER_CONTROL after the vectors the backends wait for
        station._link.wait_until(lambda: station._link.has("WEATHER_CONTROL"), 10, "WEATHER_CONTROL defined")
        station._link.set("WEATHER_CONTROL", {"Precip": 5, "Wind": 36})
        station.refresh()
        monitor._link.wait_until(lambda: not monitor.is_safe, 10, "unsafe")
        assert sorted(monitor.unsafe_because()) == ["WEATHER_RAIN_HOUR=Alert", "WEATHER_WIND_SPEED=Alert"]
        # The station has its own connection: the driver's new readings may reach it after the monitor's lights
        station._link.wait_until(lambda: station.wind_speed.to_value(u.m / u.s) > 1, 10, "the new readings")
        assert station.wind_speed.to_value(u.m / u.s) == pytest.approx(10.0)  # 36 kph
        assert station.rain_rate == 5 * u.mm / u.hour and station.time_since_last_update("RainRate") < 10 * u.s
        station.disconnect()
        assert monitor._link.switch("CONNECTION", "CONNECT")  # the shared driver stays connected
        weather_server.stop()
        monitor._link.wait_until(lambda: not monitor._link.is_open, 10, "the loss seen")
        assert monitor.is_safe is False


def test_a_connect_failing_after_the_definitions_closes_its_link(indiserver):
    """What a backend reads once connected may fail (a value it cannot parse): the link is closed again, no
    client thread left behind, and a later connect starts afresh."""

    class Failing(IndiFocuser):
        fail = True

        def _on_connect(self) -> None:
            if self.fail:
                raise ValueError("a value the backend cannot read")

    focuser = Failing(indiserver.address, "Focuser Simulator", timeout=5.0)
    with pytest.raises(ValueError, match="cannot read"):
        focuser.connect()
    assert not focuser.connected and focuser._link._thread is None and not focuser._link.is_open
    focuser.fail = False
    with focuser:
        focuser.move(2000)
        assert focuser.position == 2000


def test_backend_indi_for_the_camera_takes_its_gain_from_the_configuration(tmp_path):
    """INDI has no e-/ADU property: `Electrons Per ADU` in the Camera's section is the frames' GAIN."""
    from tests.daemons.conftest import make_config
    from torosdrivers.ccd.indi import IndiCamera
    from torosdrivers.config import build_hardware

    config = make_config(tmp_path, Devices={"Camera": {"Backend": "indi", "Address": "127.0.0.1:7624",
                                                       "Device": "CCD Simulator", "Electrons Per ADU": 0.9}})
    camera = build_hardware(config, ("Camera",)).camera
    assert isinstance(camera, IndiCamera) and camera.gain == 0.9 and not camera.connected
