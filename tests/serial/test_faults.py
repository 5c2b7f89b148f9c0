"""A misbehaving line: each fault ends in a clear error or a successful retry,
never a hang, never a wrong position reported as right."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import astropy.units as u
import pytest

from tests.rigs import small_observatory
from torosdrivers.ccd.qhycfw import QHYFilterWheel
from torosdrivers.coords import from_altaz
from torosdrivers.dome.ddw import DDWDome
from torosdrivers.errors import CommunicationError, DeviceTimeoutError, InvalidValueError
from torosdrivers.mount.lx200 import LX200Mount
from torosdrivers.simulators.serial import DDWResponder, LX200Responder, QHYCFWResponder, SerialSimServer

TIMEOUT = 0.3


@pytest.fixture
def obs():
    o = small_observatory(1000.0)
    yield o
    o.disconnect()


@pytest.fixture(params=["tcp", "pty"])
def lx200(request, obs):
    with SerialSimServer(LX200Responder(obs.mount), tcp=request.param == "tcp") as server:
        mount = LX200Mount(server.url, timeout=TIMEOUT, poll_interval=0.005)
        mount.connect()
        mount.unpark()
        mount.slew_to(from_altaz(60.0, 80.0, mount.time, mount.site), timeout=20)
        yield server, mount, obs
        mount.disconnect()


def truth(obs):
    return obs.mount.position


def test_reply_split_across_reads(lx200):
    server, mount, obs = lx200
    server.faults.split = True
    assert mount.position.separation(truth(obs)) < 10 * u.arcsec


def test_noise_before_each_reply(lx200):
    server, mount, obs = lx200
    server.faults.noise = b"\x00\xfe~?"
    assert mount.position.separation(truth(obs)) < 10 * u.arcsec


def test_no_reply_is_a_timeout_naming_port_and_command(lx200):
    server, mount, _ = lx200
    server.faults.mute = True
    t0 = time.monotonic()
    with pytest.raises(DeviceTimeoutError, match=rf"LX200 on {server.url}: no reply to :GR# within 0.3 s"):
        _ = mount.position
    assert time.monotonic() - t0 < 3 * TIMEOUT + 1.0  # the retries are bounded too


def test_reply_without_its_terminator_is_never_taken(lx200):
    server, mount, _ = lx200
    server.faults.no_terminator = True
    with pytest.raises(DeviceTimeoutError, match=r"reply to :GR# incomplete after 0.3 s: b'\d\d:\d\d:\d\d'"):
        _ = mount.position


def test_garbled_reply_is_named(lx200, monkeypatch):
    server, mount, _ = lx200
    monkeypatch.setattr(server.responder, "_GR", lambda arg: b"ab:cd:ef#")
    with pytest.raises(CommunicationError, match=r"garbled reply to :GR#: b'ab:cd:ef#'"):
        _ = mount.position


def test_a_fault_that_clears_is_retried(lx200, monkeypatch):
    server, mount, obs = lx200
    calls = []
    real = server.responder._GR

    def flaky(arg):
        calls.append(arg)
        return b"" if len(calls) == 1 else real(arg)  # the first query goes unanswered

    monkeypatch.setattr(server.responder, "_GR", flaky)
    assert mount.position.separation(truth(obs)) < 10 * u.arcsec
    assert len(calls) == 2


def test_port_closing_mid_slew_and_reopening(obs):
    obs.clock.time_scale = 20.0  # a slew of seconds, to drop the line in the middle
    with SerialSimServer(LX200Responder(obs.mount), tcp=True) as server:
        mount = LX200Mount(server.url, timeout=TIMEOUT, poll_interval=0.01)
        with mount:
            mount.unpark()
            target = from_altaz(45.0, 250.0, mount.time, mount.site)
            mount.slew_to(target, wait=False)
            assert mount.slewing
            server.drop_connection()
            mount.wait_for_slew(timeout=30)
            assert server.connections == 2  # it reconnected
            assert mount.position.separation(target) < 10 * u.arcsec


def test_port_that_cannot_be_opened_is_not_connected():
    mount = LX200Mount("/dev/ttyTOROS-does-not-exist", timeout=TIMEOUT)
    with pytest.raises(CommunicationError, match="LX200 on /dev/ttyTOROS-does-not-exist: cannot open"):
        mount.connect()
    assert not mount.connected


def test_nothing_listening_on_a_socket_port():
    dome = DDWDome("socket://127.0.0.1:9", timeout=TIMEOUT)
    with pytest.raises(CommunicationError, match="cannot open"):
        dome.connect()
    assert not dome.connected


def test_ddw_keepalive_keeps_the_watchdog_quiet(obs, monkeypatch):
    responder = DDWResponder(obs.dome)
    seen = []
    real = responder.command
    monkeypatch.setattr(responder, "command", lambda c: (seen.append(c), real(c))[1])
    with SerialSimServer(responder, tcp=True) as server:
        with DDWDome(server.url, timeout=TIMEOUT, keepalive=0.2):
            time.sleep(1.0)  # an idle client: nobody calls anything
    assert seen.count(b"GINF") >= 1 + 3  # the connect, then at least one every 0.2-0.25 s


def test_ddw_stream_noise_does_not_confuse_the_azimuth(obs):
    with SerialSimServer(DDWResponder(obs.dome), tcp=True) as server:
        with DDWDome(server.url, timeout=TIMEOUT, poll_interval=0.005) as dome:
            server.faults.split = True
            dome.slew_to_azimuth(200.0, timeout=20)
            assert dome.azimuth.value == pytest.approx(200.0, abs=0.5)


def test_qhy_wheel_that_never_arrives_times_out(obs, monkeypatch):
    responder = QHYCFWResponder(obs.filter_wheel)
    with SerialSimServer(responder, tcp=True) as server:
        with QHYFilterWheel(server.url, timeout=TIMEOUT, poll_interval=0.005) as wheel:
            monkeypatch.setattr(responder, "tick", lambda: b"")  # the arrival digit never comes
            t0 = time.monotonic()
            with pytest.raises(DeviceTimeoutError, match=r"filter wheel move to slot 3 \(R\) did not complete within 0.5 s"):
                wheel.select("R", timeout=0.5)
            assert time.monotonic() - t0 < 1.5


@pytest.mark.parametrize("device, where", [("lx200", "--pty"), ("qhycfw", "--tcp"), ("qhycfw", "--rfc2217")])
def test_console_script(device, where):
    args = [sys.executable, "-m", "torosdrivers.simulators.serial.cli", device, "--time-scale", "1000"]
    if where == "--pty":
        args.append("--pty")
    else:
        args += [where, "127.0.0.1:0"]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = process.stdout.readline()
        assert line.startswith("toros-serial-sim: "), process.stderr.read()
        url = line.rsplit(" on ", 1)[1].strip()
        assert url.startswith({"--pty": "/dev/pts/", "--tcp": "socket://127.0.0.1:",
                               "--rfc2217": "rfc2217://127.0.0.1:"}[where])
        if device == "lx200":
            with LX200Mount(url, timeout=2.0) as mount:
                assert mount.product == "On-Step"
        else:
            with QHYFilterWheel(url, timeout=2.0, poll_interval=0.01, greeting_timeout=1.0) as wheel:
                wheel.select("I", timeout=10)
                assert wheel.filter == "I"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_ms_refusal_from_the_mount_becomes_a_clear_error(lx200):
    server, mount, obs = lx200
    mount.min_altitude = 0.0  # our limit lets it through; the mount's own (10 deg) refuses
    low = from_altaz(5.0, 150.0, mount.time, mount.site)
    before = truth(obs)
    with pytest.raises(InvalidValueError, match=r"refused the slew: below the horizon limit \(:MS# answered 1\)"):
        mount.slew_to(low)
    assert not mount.slewing and truth(obs).separation(before) < 1 * u.arcmin
