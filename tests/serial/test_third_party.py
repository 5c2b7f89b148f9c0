"""The serial simulators in front of software no one here wrote, and the reproductions of issue 13.

A "stock client" here sends exactly what INDI's LX200 and QHY CFW3 drivers
send (commands prefixed with ``#``, a one-byte ACK, a 25 s wait for the
CFW3's greeting) and checks each reply against the format those drivers
parse, byte for byte.
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import time

import pytest
import serial

from tests.rigs import small_observatory
from torosdrivers.ccd.qhycfw import QHYFilterWheel
from torosdrivers.coords import from_altaz
from torosdrivers.dome import ShutterState
from torosdrivers.dome.ddw import DDWDome
from torosdrivers.errors import DeviceBusyError, DeviceTimeoutError, InvalidValueError, ParkedError
from torosdrivers.mount.lx200 import LX200Mount
from torosdrivers.serialio import SerialLink
from torosdrivers.simulators.serial import DDWResponder, LX200Responder, QHYCFWResponder, SerialSimServer
from torosdrivers.wire import set_wire_trace


@pytest.fixture
def obs():
    o = small_observatory(1000.0)
    yield o
    o.disconnect()


def ask(port: serial.Serial, command: bytes, *, until: bytes | None = b"#", size: int = 1, wait: float = 2.0) -> bytes:
    """What INDI's tty helpers do: write, then read up to a terminator (or ``size`` bytes) within a timeout."""
    port.reset_input_buffer()
    port.write(command)
    deadline = time.monotonic() + wait
    out = b""
    while time.monotonic() < deadline:
        out += port.read(1)
        if (until is not None and out.endswith(until)) or (until is None and len(out) >= size):
            return out
    return out


# Every query INDI's LX200 generic driver sends on connect and while polling, with the reply it parses.
CONNECT_AND_POLL = {
    b"#:GVP#": rb"(On-Step|LX200GPS)#",
    b"#:GVN#": rb"[\w.]+#",
    b"#:Gc#": rb"24#",
    b"#:GM#": rb"TOROS#",
    b"#:GT#": rb"\d\d\.\d+#",
    b"#:GC#": rb"\d\d/\d\d/\d\d#",
    b"#:GL#": rb"\d\d:\d\d:\d\d#",
    b"#:GG#": rb"[+-]\d\d#",
    b"#:Gt#": rb"[+-]\d\d\*\d\d#",
    b"#:Gg#": rb"[+-]\d\d\d\*\d\d#",
    b"#:GS#": rb"\d\d:\d\d:\d\d#",
    b"#:GR#": rb"\d\d:\d\d\.\d#",  # low precision after power-on
    b"#:GD#": rb"[+-]\d\d\*\d\d#",
    b"#:GA#": rb"[+-]\d\d\*\d\d#",
    b"#:GZ#": rb"\d\d\d\*\d\d#",
    b"#:D#": rb"#",
    b"#:GVD#": rb"\w{3} \d\d \d{4}#",
    b"#:GVT#": rb"\d\d:\d\d:\d\d#",
    b"#:Gr#": rb"\d\d:\d\d\.\d#",
    b"#:Gd#": rb"[+-]\d\d\*\d\d#",
    b"#:Ga#": rb"\d\d:\d\d:\d\d#",
    b"#:GN#": rb"Site 2#",
    b"#:Gh#": rb"[+-]\d\d\*#",
    b"#:Go#": rb"\d\d\*#",
}
#: OnStep's own status queries (a Meade mount does not answer them).
ONSTEP_ONLY = {b"#:GU#": rb"[nNpPI]*#", b"#:GW#": rb"G[TN][PH]#"}


@pytest.mark.parametrize("dialect", ["onstep", "meade"])
def test_a_stock_lx200_client_gets_every_reply_it_parses(obs, dialect, caplog):
    caplog.set_level(logging.WARNING)
    with SerialSimServer(LX200Responder(obs.mount, dialect=dialect), tcp=False) as server, \
            serial.Serial(server.url, 9600, timeout=0.05) as port:
        assert ask(port, b"\x06", until=None) == b"P"  # Meade: A, L or P
        queries = CONNECT_AND_POLL | (ONSTEP_ONLY if dialect == "onstep" else {})
        for command, reply in queries.items():
            got = ask(port, command)
            assert re.fullmatch(reply, got), f"{command!r} answered {got!r}, expected {reply!r}"
        assert ask(port, b":U#", until=None, wait=0.2) == b""  # no reply
        high = {b"#:GR#": rb"\d\d:\d\d:\d\d#", b"#:GD#": rb"[+-]\d\d\*\d\d:\d\d#",
                b"#:GA#": rb"[+-]\d\d\*\d\d:\d\d#", b"#:GZ#": rb"\d\d\d\*\d\d:\d\d#", b"#:GS#": rb"\d\d:\d\d:\d\d#"}
        for command, reply in high.items():
            got = ask(port, command)
            assert re.fullmatch(reply, got), f"high precision: {command!r} answered {got!r}"
        assert ask(port, b"#:Sr 12:00:00#", until=None) == b"1"
        assert not obs.mount.at_park  # a powered-up LX200 is not parked; stock clients never send :hR#
    assert not [r for r in caplog.records if "unknown command" in r.getMessage()]


def test_an_unknown_command_is_logged_at_warning(obs, caplog):
    caplog.set_level(logging.WARNING)
    with SerialSimServer(LX200Responder(obs.mount), tcp=True) as server, \
            serial.serial_for_url(server.url, timeout=0.05) as port:
        assert ask(port, b":Gx#", wait=0.3) == b""
    assert any(":Gx# ignored" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


@pytest.mark.parametrize("dialect, reply", [("meade", b"1Object Below Horizon#"), ("onstep", b"1")])
def test_ms_refusal_in_each_dialect_and_lx200mount_says_why(obs, dialect, reply):
    with SerialSimServer(LX200Responder(obs.mount, dialect=dialect), tcp=True) as server:
        with serial.serial_for_url(server.url, timeout=0.05) as port:
            alt_az = from_altaz(5.0, 150.0, obs.mount.time, obs.mount.site)
            ra, dec = alt_az.ra.hour, alt_az.dec.deg
            sign = "-" if dec < 0 else "+"
            ask(port, f":Sr {int(ra):02d}:{int(ra * 60) % 60:02d}:{int(ra * 3600) % 60:02d}#".encode(), until=None)
            ask(port, f":Sd {sign}{int(abs(dec)):02d}*{int(abs(dec) * 60) % 60:02d}:00#".encode(), until=None)
            assert ask(port, b":MS#", until=reply[-1:], wait=1.0) == reply
        with LX200Mount(server.url, timeout=0.5) as mount:
            mount.min_altitude = 0.0
            with pytest.raises(InvalidValueError, match=r"refused the slew: .*[Hh]orizon.*\(:MS# answered 1\)"):
                mount.slew_to(from_altaz(5.0, 150.0, mount.time, mount.site))


def test_onstep_parked_refusal_is_a_parked_error_not_a_timeout(obs):
    with SerialSimServer(LX200Responder(obs.mount), tcp=True) as server, LX200Mount(server.url, timeout=0.5) as mount:
        obs.mount.park(timeout=30)
        mount._parked_cache = False  # as if our view were stale: the mount itself must say no
        target = from_altaz(60.0, 100.0, mount.time, mount.site)
        with pytest.raises(ParkedError, match=r"the mount is parked \(:MS# answered 4\)"):
            mount._slew_to(target)


@pytest.mark.parametrize("tcp", [True, False], ids=["tcp", "pty"])
def test_a_stock_cfw3_client_is_greeted_then_handshakes(obs, tcp):
    responder = QHYCFWResponder(obs.filter_wheel)  # connects the wheel: the hardware is on
    obs.filter_wheel.move_to(2, timeout=10)
    with SerialSimServer(responder, tcp=tcp) as server, \
            serial.serial_for_url(server.url, 9600, timeout=0.05) as port:
        deadline, greeting = time.monotonic() + 25, b""
        while not greeting and time.monotonic() < deadline:  # INDI waits 25 s for this byte
            greeting = port.read(1)
        assert greeting == b"2"
        port.write(b"VRS")
        version = b""
        while len(version) < 8 and time.monotonic() < deadline:
            version += port.read(8 - len(version))
        assert version == b"20141117"


def test_ddw_abort_to_an_idle_controller_and_noise_never_shift_its_framing(obs):
    with SerialSimServer(DDWResponder(obs.dome), tcp=True) as server, \
            serial.serial_for_url(server.url, timeout=0.05) as port:
        for junk in (b"!!", b"xyz", b"G", b"GX", b"!"):
            port.write(junk)
            reply = ask(port, b"GINF", until=b"\r")
            assert re.fullmatch(rb"V(-?\d+,){22}-?\d+\r", reply), f"after {junk!r}: {reply!r}"


def test_ddw_failed_abort_keeps_the_state_true():
    obs = small_observatory(1.0)
    with SerialSimServer(DDWResponder(obs.dome), tcp=True) as server, \
            DDWDome(server.url, timeout=0.3, poll_interval=0.005) as dome:
        dome.slew_to_azimuth((dome.azimuth.value + 120.0) % 360.0, wait=False)  # 24 s at 5 deg/s
        assert dome.slewing
        server.faults.mute = True  # the controller hears the abort but its answer is lost
        with pytest.raises(DeviceTimeoutError, match="no reply to GINF after an abort"):
            dome.abort()
        assert dome.slewing  # not "idle" on a failed abort: still the move it knows of
        server.faults.mute = False
        dome.abort()
        assert not dome.slewing


def test_a_port_has_one_owner_and_the_refusal_names_the_holder(obs):
    with SerialSimServer(DDWResponder(obs.dome), tcp=True) as server:
        with DDWDome(server.url, timeout=0.5):
            second = DDWDome(server.url, timeout=0.5)
            with pytest.raises(DeviceBusyError, match=rf"port {server.url} is in use by PID \d+"):
                second.connect()
            holder = subprocess.run(
                [sys.executable, "-c", "from torosdrivers.dome.ddw import DDWDome\n"
                 f"DDWDome({server.url!r}, timeout=0.5).connect()"], capture_output=True, text=True, timeout=60)
            assert holder.returncode != 0 and "is in use by PID" in holder.stderr
        with DDWDome(server.url, timeout=0.5) as third:  # released on disconnect
            assert third.shutter == ShutterState.CLOSED


def test_wire_trace_logs_every_command_and_reply_only_when_on(obs, caplog):
    caplog.set_level(logging.DEBUG)
    with SerialSimServer(QHYCFWResponder(obs.filter_wheel), tcp=True) as server:
        link = SerialLink(server.url, name="QHY test", timeout=0.5)
        link.open()
        try:
            link.transact(b"NOW", lambda r: r.byte())
            assert not [r for r in caplog.records if r.name.startswith("torosdrivers.wire")]
            set_wire_trace(True)
            link.transact(b"NOW", lambda r: r.byte())
        finally:
            set_wire_trace(False)
            link.close()
    wire = [r.getMessage() for r in caplog.records if r.name == "torosdrivers.wire.serial"]
    assert "QHY test > b'NOW'" in wire and any(m.startswith("QHY test < b'") for m in wire)


def test_a_wheel_behind_a_port_server_that_never_greets_still_connects(obs):
    class Silent(QHYCFWResponder):
        def greeting(self) -> bytes:
            return b""

    with SerialSimServer(Silent(obs.filter_wheel), tcp=True) as server, \
            QHYFilterWheel(server.url, timeout=0.5, greeting_timeout=0.3) as wheel:
        assert wheel.firmware == "20141117"
