"""The safety supervisor through a whole simulated night (issue 16), and its fail-safe rules."""

from __future__ import annotations

import time
import xmlrpc.client
from pathlib import Path

import pytest
from astropy.io import fits
from astropy.time import Time

from tests.daemons.conftest import DOC_DOME, DOC_OBSERVATION, make_config, wait_state
from torosdrivers.daemons.services.dome import DomeService
from torosdrivers.daemons.services.telescope import TelescopeService
from torosdrivers.dome import ShutterState

#: 2026-09-24, the evening before the documented field transits at 05:45 UTC: the Sun is at -6 deg
#: (it reaches -12 at 23:16), the field rises past 15 deg at 01:22 and the Sun climbs past -10 at 09:35.
DUSK = "2026-09-24T22:50:00"


def _service(tmp_path, weather: list, scale: float = 6000.0, **safety) -> TelescopeService:
    config = make_config(tmp_path, Simulator={"Time Scale": scale, "Size": 64, "Seed": 3, "Start": DUSK,
                                              "Weather": weather},
                         Safety={"Hold Off": 900.0, **safety})
    service = TelescopeService(config)
    service.serve(0)
    return service


def _proxy(service) -> xmlrpc.client.ServerProxy:
    return xmlrpc.client.ServerProxy(f"http://127.0.0.1:{service.server.port}", allow_none=True)


def _wait(predicate, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_a_whole_night_dusk_rising_target_rain_hold_off_and_dawn(tmp_path):
    weather = [{"at": DUSK, "sky": "clear"}, {"at": "2026-09-25T01:35:00", "sky": "overcast"},
               {"at": "2026-09-25T01:45:00", "sky": "rain"}, {"at": "2026-09-25T02:00:00", "sky": "clear"}]
    # x2000, not x6000: the supervisor looks every 0.05 s of real time, 100 s of sky here, and on a machine at
    # load 10 a close took 24 ms (143 s of sky at x6000): the cloud's 10-minute warning must outlast both.
    service = _service(tmp_path, weather, scale=2000.0)
    obs = service.devices.observatory
    proxy = _proxy(service)
    try:
        # B, not the documented I: under this night's Moon a 300 s light in I saturates, and is rejected.
        order = {**DOC_OBSERVATION, "ID": "night", "Calibration Frames": "No", "Exposure Time": 300.0,
                 "Number of Exposures": 4, "Filter": "B"}
        assert proxy.front_desk(order)["State"] == "queued"  # accepted in daylight: it waits, it does not fail
        _wait(lambda: "waiting" in proxy.status("night")["Progress"], "the order to wait")
        assert obs.dome.shutter == ShutterState.CLOSED
        done = wait_state(proxy, "night", timeout=120)
        assert done["State"] == "done", done["Error"]
        events = [e.split(" ", 1) for e in proxy.safety()["Events"]]
        kinds = [what.split(":")[0] for _, what in events]
        assert kinds[0] == "unsafe" and "the Sun is at" in events[0][1]  # dusk: too bright yet
        opened = [t for t, what in events if what == "safe"]
        assert opened and opened[0] >= "2026-09-24T23:1"  # safe once the Sun is 12 deg down
        closing = [what for _, what in events if what.startswith("closed in") and "cloud cover" in what]
        assert closing, events  # its time against the bound is measured at x100 (over Alpaca, below): at x6000
        # a millisecond of thread start-up is six device seconds
        lights = sorted(Path(done["Result"].split(" frames in ")[1].split(";")[0]).glob("night_light_*.fits"))
        assert len(lights) == 4  # the interrupted sequence resumed; nothing was taken twice
        starts = [Time(fits.getheader(p)["DATE-OBS"]) for p in lights]
        assert min(starts) > Time("2026-09-25T01:20:00")  # not before the field rose past 15 deg
        assert any(s > Time("2026-09-25T02:14:00") for s in starts)  # resumed after the hold-off
        _wait(lambda: any("the Sun is at" in e and "unsafe" in e for e in proxy.safety()["Events"][1:]), "dawn")
        _wait(lambda: obs.dome.shutter == ShutterState.CLOSED and obs.mount.at_park, "closed and parked at dawn")
        _wait(lambda: obs.camera.target_temperature.value == 5.0, "the camera to warm up for the day (CCD Warm Up)")
        assert obs.rain_on_open_dome() == []  # the rain never fell on an open dome
    finally:
        service.stop()


def test_a_dead_weather_station_closes_the_dome(tmp_path):
    service = _service(tmp_path, [], scale=1000.0, **{"Hold Off": 0.0})
    obs = service.devices.observatory
    try:
        _wait(lambda: service.supervisor.safe, "a safe night")  # 22:50 + the minutes to -12 deg
        obs.dome.open_shutter()
        obs.conditions.fail()  # the station loses power
        _wait(lambda: obs.dome.shutter == ShutterState.CLOSED, "the dome to close")
        state = _proxy(service).safety()
        assert state["Safe"] is False and any("weather station unreachable" in r for r in state["Reasons"])
    finally:
        service.stop()


def test_an_unsafe_monitor_keeps_a_closed_dome_closed(tmp_path):
    config = make_config(tmp_path, Simulator={"Time Scale": 1000.0, "Size": 64, "Seed": 3, "Start": "2026-09-25T03:00:00",
                                              "Weather": [{"at": "2026-09-25T00:00:00", "sky": "overcast"}]})
    dome = DomeService(config)
    dome.serve(0)
    proxy = _proxy(dome)
    try:
        proxy.front_desk({**DOC_DOME, "ID": "open", "Shutter": "Open", "Blink01": False,
                          "Deadline": "2026-09-25T04:00:00"})
        state = wait_state(proxy, "open", timeout=60)  # an hour of simulated night: 3.6 s
        assert state["State"] == "failed" and "not run by its deadline" in state["Error"]
        assert "Simulated safety monitor says unsafe" in state["Error"]
        assert dome.dome.shutter == ShutterState.CLOSED
    finally:
        dome.stop()


def test_an_order_whose_target_never_rises_fails_at_its_deadline(tmp_path):
    service = _service(tmp_path, [], scale=2000.0)
    proxy = _proxy(service)
    try:
        proxy.front_desk({**DOC_OBSERVATION, "ID": "south", "Dec": -89.0, "RA": 0.0, "Calibration Frames": "No",
                          "Deadline": "2026-09-25T00:30:00"})  # near the south pole: always about 24 deg up
        proxy.front_desk({**DOC_OBSERVATION, "ID": "never", "Dec": 80.0, "Calibration Frames": "No",
                          "Deadline": "2026-09-25T00:30:00"})
        never = wait_state(proxy, "never", timeout=60)
        assert never["State"] == "failed" and "below the minimum altitude" in never["Error"]
        assert wait_state(proxy, "south", timeout=60)["State"] == "done"
    finally:
        service.stop()


def test_the_safety_state_over_xml_rpc(tmp_path):
    service = _service(tmp_path, [], scale=100.0)
    try:
        state = _proxy(service).safety()
        assert state["Supervised"] is True and state["Safe"] is False  # the Sun at -6 deg
        assert state["Sun Altitude"] > -12 and "Conditions" in state and state["Checked"].startswith("2026-09-24")
    finally:
        service.stop()


def test_toros_status_shows_health_and_safety(tmp_path, capsys):
    import yaml

    from torosdrivers.daemons.tools.client import main as toros

    service = _service(tmp_path, [], scale=100.0)
    try:
        service.config.data["Telescope Address"]["Port"] = service.server.port
        path = tmp_path / "client.yaml"
        path.write_text(yaml.safe_dump({k: service.config.data[k] for k in ("Telescope Address",)}))
        assert toros(["--config", str(path), "status", "--service", "telescope"]) == 0
        out = capsys.readouterr().out
        assert out.startswith("telescope: healthy") and "NOT safe: the Sun is at" in out and "Sun at -" in out
    finally:
        service.stop()


@pytest.mark.parametrize("by_itself", [False, True])
def test_the_dome_follows_the_telescope_through_an_hour_and_frames_are_cooled(tmp_path, by_itself):
    """Twelve 300 s frames across the meridian, where the azimuth moves fastest: turned by the daemon, or
    (ASCOM Slaved) by a dome that can follow the telescope itself."""
    config = make_config(tmp_path, Simulator={"Time Scale": 2000.0, "Size": 64, "Seed": 3,
                                              "Start": "2026-09-25T05:15:00", "Weather": [],
                                              "Slaving Dome": by_itself})
    service = TelescopeService(config)
    service.serve(0)
    proxy = _proxy(service)
    try:
        proxy.front_desk({**DOC_OBSERVATION, "ID": "hour", "Calibration Frames": "No", "Exposure Time": 300.0,
                          "Number of Exposures": 12, "Filter": "B"})  # 300 s in I would saturate under this Moon
        done = wait_state(proxy, "hour", timeout=120)
        assert done["State"] == "done", done["Error"]
        worst = float(done["Result"].split(", at most ")[1].split()[0])
        # The slaving's tolerance is 4 deg and a look's drift adds to it (at x2000 a 10 ms late look is 20 s of
        # sky); what must hold is that every frame had the slit on the telescope, as its record verified.
        assert worst <= 10.0
        if by_itself:
            assert "dome slaved itself" in done["Result"] and not service.devices.dome.slaved  # and released
        else:
            assert int(done["Result"].split("dome re-centred ")[1].split()[0]) >= 1
        lights = sorted(Path(done["Result"].split(" frames in ")[1].split(";")[0]).glob("hour_light_*.fits"))
        assert all(fits.getheader(p)["CHKREC"] == "PASSED" and fits.getheader(p)["CHKSLIT"] <= 10.0 for p in lights)
        temps = [fits.getheader(p)["CCD-TEMP"] for p in lights]
        assert len(temps) == 12 and all(abs(t + 20.0) <= 1.0 for t in temps)  # cooled to the set point first
    finally:
        service.stop()


def test_an_idle_observatory_closes_and_parks(tmp_path):
    service = _service(tmp_path, [], scale=2000.0, **{"Idle Close": 600.0})
    obs = service.devices.observatory
    try:
        _wait(lambda: service.supervisor.safe, "a safe night")
        obs.mount.unpark()
        # Left open by hand, nothing queued. Not waited on: at x2000 the idle close may come while it opens.
        obs.dome.open_shutter(wait=False)
        _wait(lambda: obs.dome.shutter == ShutterState.CLOSED and obs.mount.at_park, "the idle close")
        _wait(lambda: any("nothing to run for 600 s" in e for e in _proxy(service).safety()["Events"]), "its event")
    finally:
        service.stop()


def test_over_alpaca_the_dome_daemon_closes_when_the_rain_comes(tmp_path):
    """The supervisor as deployed: its devices (dome, mount, weather station, monitor) behind toros-devices."""
    from torosdrivers.daemons.services.devices import DeviceServer

    # x25: a check over Alpaca reads the station and the monitor over HTTP; on a loaded machine a check took
    # half a second, at x100 50 s of sky between checks (rain fell 77 s on the open dome). At x25, 12 s.
    config = make_config(tmp_path, Simulator={"Time Scale": 25.0, "Size": 64, "Seed": 3,
                                              "Start": "2026-09-25T03:00:00",
                                              "Weather": [{"at": "2026-09-25T03:05:00", "sky": "rain"}]},
                         Safety={"Check Interval": 5.0})
    with DeviceServer(config, port=0, discovery=False) as owner:
        config.data["Device Server"] = {"Enabled": True, "IP": "127.0.0.1", "Port": owner.server.port,
                                        "Discovery": False}
        dome = DomeService(config)
        dome.serve(0)
        world = owner.devices.observatory
        try:
            proxy = _proxy(dome)
            proxy.front_desk({"ID": "open", "WOType": "Dome", "Shutter": "Open"})
            assert wait_state(proxy, "open", timeout=30)["State"] == "done"
            _wait(lambda: world.dome.shutter == ShutterState.CLOSED, "the close on rain", timeout=60)
            # The rain's humidity and cloud may be what a check sees first: any reason closes (and parks).
            _wait(lambda: any("closed in" in e for e in proxy.safety()["Events"]), "the park", timeout=60)
            closing = [e for e in proxy.safety()["Events"] if "closed in" in e]
            assert float(closing[-1].split(" closed in ")[1].split()[0]) <= 60.0
            # Rain with no warning cloud: it fell on the open dome only until a check saw it and the shutter shut.
            wet = sum((end - start).sec for start, end in world.rain_on_open_dome())
            assert 0 < wet <= 5.0 + 60.0
        finally:
            dome.stop()
