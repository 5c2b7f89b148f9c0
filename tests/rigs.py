"""Backends the contract suites run over.

A rig is one set of devices of one backend kind. Each later backend (Alpaca,
serial) adds a factory here and every contract test runs over it unchanged.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

from astropy.time import Time

from torosdrivers.ccd import Camera, FilterWheel, FrameContext
from torosdrivers.testing import wait_for  # noqa: F401  (tests import it from here too)
from torosdrivers.ccd.alpaca import AlpacaCamera, AlpacaFilterWheel
from torosdrivers.dome import Dome
from torosdrivers.dome.alpaca import AlpacaDome
from torosdrivers.mount import Mount
from torosdrivers.mount.alpaca import AlpacaMount
from torosdrivers.simulators import SimulatedObservatory
from torosdrivers.simulators.alpaca.cli import serve_observatory
from torosdrivers.simulators.serial.ddw import DDWResponder
from torosdrivers.simulators.serial.lx200 import LX200Responder
from torosdrivers.simulators.serial.moonlite import MoonliteResponder
from torosdrivers.simulators.serial.qhycfw import QHYCFWResponder
from torosdrivers.simulators.serial.transport import SerialSimServer
from torosdrivers.ccd.qhycfw import QHYFilterWheel
from torosdrivers.dome.ddw import DDWDome
from torosdrivers.focuser import Focuser
from torosdrivers.focuser.alpaca import AlpacaFocuser
from torosdrivers.focuser.moonlite import MoonliteFocuser
from torosdrivers.mount.lx200 import LX200Mount
from torosdrivers.alpaca.members import members_for
from torosdrivers.ccd.indi import IndiCamera, IndiFilterWheel
from torosdrivers.dome.indi import IndiDome
from torosdrivers.indi.published import publish
from torosdrivers.indi.server import IndiServer
from torosdrivers.mount.indi import IndiMount

#: A fixed night at the TOROS site, so every run sees the same sky.
NIGHT = Time("2026-06-21T04:00:00", scale="utc")
#: Device seconds per real second for the contract suites.
TIME_SCALE = 1000.0


@dataclass
class Rig:
    camera: Camera
    filter_wheel: FilterWheel
    mount: Mount
    dome: Dome
    time_scale: float
    #: How close a reported position comes to a target (the protocol's precision).
    pointing_tolerance: float = 1.0  # arcsec


def small_observatory(time_scale: float) -> SimulatedObservatory:
    return SimulatedObservatory(time_scale=time_scale, seed=7, start=NIGHT, width=256, height=192)


@contextmanager
def simulator_rig(time_scale: float = TIME_SCALE) -> Iterator[Rig]:
    """The in-process simulators."""
    with small_observatory(time_scale) as obs:
        yield Rig(obs.camera, obs.filter_wheel, obs.mount, obs.dome, time_scale)


@contextmanager
def alpaca_rig(time_scale: float = TIME_SCALE) -> Iterator[Rig]:
    """The Alpaca backends talking over HTTP on loopback to toros-alpaca-sim's server."""
    obs = small_observatory(time_scale)
    with serve_observatory(obs, port=0) as server:
        fast = {"timeout": 5.0, "poll_interval": 0.005}
        mount = AlpacaMount(server.address, **fast)
        wheel = AlpacaFilterWheel(server.address, **fast)
        camera = AlpacaCamera(
            server.address, context=FrameContext(telescope="TOROS-SIM", mount=mount, filter_wheel=wheel), **fast
        )
        dome = AlpacaDome(server.address, **fast)
        devices = (mount, wheel, camera, dome)
        for device in devices:
            device.connect()
        try:
            yield Rig(camera, wheel, mount, dome, time_scale)
        finally:
            for device in devices:
                device.disconnect()
    obs.disconnect()


def serial_rig(tcp: bool):
    """The serial backends talking to the serial responders over TCP or a pty."""

    @contextmanager
    def rig(time_scale: float = TIME_SCALE) -> Iterator[Rig]:
        obs = small_observatory(time_scale)
        servers = [
            SerialSimServer(LX200Responder(obs.mount), tcp=tcp).start(),
            SerialSimServer(DDWResponder(obs.dome), tcp=tcp).start(),
            SerialSimServer(QHYCFWResponder(obs.filter_wheel), tcp=tcp).start(),
        ]
        fast = {"timeout": 2.0, "poll_interval": 0.005}
        mount = LX200Mount(servers[0].url, **fast)
        dome = DDWDome(servers[1].url, **fast)
        wheel = QHYFilterWheel(servers[2].url, greeting_timeout=1.0, **fast)  # a fast pty reopen is not seen
        obs.camera.context = FrameContext(telescope="TOROS-SIM", mount=mount, filter_wheel=wheel)
        devices = (mount, dome, wheel, obs.camera)
        try:
            for device in devices:
                device.connect()
            yield Rig(obs.camera, wheel, mount, dome, time_scale, pointing_tolerance=10.0)
        finally:
            # In parallel: pyserial's socket:// close() sleeps 0.3 s by design.
            with ThreadPoolExecutor(len(devices)) as pool:
                list(pool.map(lambda d: d.disconnect(), devices))
            for server in servers:
                server.stop()
            obs.disconnect()

    return rig


@contextmanager
def indi_rig(time_scale: float = TIME_SCALE) -> Iterator[Rig]:
    """Our INDI backends talking to our INDI server (the device server's INDI face) over loopback."""
    obs = small_observatory(time_scale)
    owned = (obs.camera, obs.filter_wheel, obs.mount, obs.dome)
    for device in owned:
        device.connect()
    fast = {"timeout": 5.0, "poll_interval": 0.005}
    published = publish([members_for(d, f"rig-{i}") for i, d in enumerate(owned)])
    with IndiServer(published, port=0, poll_interval=0.02) as server:
        mount = IndiMount(server.address, "TOROS Mount", site=obs.mount.site, **fast)
        wheel = IndiFilterWheel(server.address, "TOROS Filter Wheel", **fast)
        camera = IndiCamera(server.address, "TOROS Camera", electrons_per_adu=obs.camera.gain,
                            context=FrameContext(telescope="TOROS-SIM", mount=mount, filter_wheel=wheel), **fast)
        dome = IndiDome(server.address, "TOROS Dome", **fast)
        devices = (mount, wheel, camera, dome)
        try:
            with ThreadPoolExecutor(len(devices)) as pool:
                list(pool.map(lambda d: d.connect(), devices))
            # JNow on the wire, computed each way at slightly different times: arcseconds, not the protocol's
            yield Rig(camera, wheel, mount, dome, time_scale, pointing_tolerance=2.0)
        finally:
            with ThreadPoolExecutor(len(devices)) as pool:
                list(pool.map(lambda d: d.disconnect(), devices))
    obs.disconnect()


def focuser_rig(kind: str):
    """A focuser alone, simulated, over Alpaca, or over Moonlite on TCP or a pty."""

    @contextmanager
    def rig(time_scale: float = TIME_SCALE) -> Iterator[Focuser]:
        obs = small_observatory(time_scale)
        fast = {"timeout": 5.0, "poll_interval": 0.005}
        try:
            if kind == "simulator":
                with obs.focuser as focuser:
                    yield focuser
            elif kind == "alpaca":
                with serve_observatory(obs, port=0) as server, AlpacaFocuser(server.address, **fast) as focuser:
                    yield focuser
            else:
                server = SerialSimServer(MoonliteResponder(obs.focuser), tcp=kind == "serial-tcp").start()
                try:
                    with MoonliteFocuser(server.url, max_step=obs.focuser.max_step, step_size=4.0,
                                         timeout=2.0, poll_interval=0.005) as focuser:
                        yield focuser
                finally:
                    server.stop()
        finally:
            obs.disconnect()

    return rig


FOCUSER_RIGS = {kind: focuser_rig(kind) for kind in ("simulator", "alpaca", "serial-tcp", "serial-pty")}

RIGS: dict[str, Callable[..., "contextmanager[Rig]"]] = {
    "simulator": simulator_rig,
    "alpaca": alpaca_rig,
    "serial-tcp": serial_rig(tcp=True),
    "serial-pty": serial_rig(tcp=False),
    "indi": indi_rig,
}
