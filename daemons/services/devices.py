"""``toros-devices``: the one owner of the observatory's devices, published over ASCOM Alpaca and INDI.

It opens the hardware the configuration's ``Devices`` section names (serial
LX200, DDW and QHY CFW lines, Alpaca devices elsewhere, or the simulated
observatory), holds it for as long as it runs, and serves each device with
`torosdrivers.alpaca.AlpacaServer` on ``Device Server: {IP, Port}``:
camera 0, filterwheel 0, telescope 0 and dome 0. The daemons, scripts, and
any third-party Alpaca client (NINA, Ekos through its Alpaca bridge, ASCOM
Remote) reach the devices through it, so a serial port is opened by one
process only and a serial mount or dome becomes an Alpaca device.

With ``Device Server: {INDI Port: 7624}`` the same devices are also INDI
devices on that port (`torosdrivers.indi.server`: ``TOROS Camera``, ``TOROS
Mount``...), for Ekos/KStars and ``indi_getprop``/``indi_setprop``, under
the same one-owner rules and the ``Security`` rules INDI can carry.

The server keeps each client's ``Connected`` apart (a daemon that stops does
not disconnect the dome another daemon uses) and refuses a move while another
client's move runs, naming it. Stops cleanly on SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import logging
import sys
import threading

from torosdrivers.alpaca import AlpacaServer
from torosdrivers.alpaca.protocol import DISCOVERY_PORT
from torosdrivers.config import KINDS, Config, Devices, build_hardware, focuser_kinds, weather_kinds
from torosdrivers.errors import DriverError
from torosdrivers.indi.published import publish
from torosdrivers.indi.server import IndiServer
from torosdrivers.lifecycle import wait_for_stop

from torosdrivers.daemons.frame.cli import start_process
from torosdrivers.daemons.frame.logs import fatal
from torosdrivers.daemons.frame.security import guard_of

__all__ = ["DeviceServer", "main"]

log = logging.getLogger("toros.devices")


class DeviceServer:
    """The configured hardware, connected, behind one Alpaca server.

    Parameters
    ----------
    config
        The loaded configuration.
    port
        Overrides ``Device Server.Port`` (0: any free one).
    discovery
        Answer Alpaca discovery on its standard UDP port; None follows
        ``Device Server.Discovery``.
    """

    def __init__(self, config: Config, *, port: int | None = None, discovery: bool | None = None,
                 indi_port: int | None = None) -> None:
        self.config = config
        section = config["Device Server"]
        #: Where INDI is served (None: not at all); see `indi`.
        self.indi_port: int | None = section.get("INDI Port") if indi_port is None else indi_port
        self.indi: IndiServer | None = None
        if discovery is None:
            discovery = section["Discovery"]
        self.devices: Devices = build_hardware(config, KINDS + weather_kinds(config) + focuser_kinds(config))
        #: Everything it owns and serves: the observation's devices, the weather's, the focuser.
        self.owned = [*self.devices.all(), *self.devices.weather(),
                      *([self.devices.focuser] if self.devices.focuser is not None else [])]
        self._stopping = threading.Event()
        self._keeper: threading.Thread | None = None
        self.server = AlpacaServer(
            [self.devices.camera, self.devices.filter_wheel, self.devices.mount, self.devices.dome,
             *self.devices.weather(), *([self.devices.focuser] if self.devices.focuser is not None else [])],
            host=str(section["IP"]),
            port=int(section["Port"]) if port is None else port,
            discovery_port=DISCOVERY_PORT if discovery else None,
            server_name="TOROS device server",
            location=str(config["Site"]["Name"]),
            # The daemons' Security rules on this door too; the token as HTTP Basic, as Alpaca clients send it.
            guard=guard_of(config, "the device server", basic=True),
        )

    def start(self) -> "DeviceServer":
        """Connect every device (a failure names the device and closes the others), then serve."""
        connected = []
        try:
            for device in self.owned:
                device.connect()
                connected.append(device)
                log.info("connected %s", device.name)
        except BaseException:
            for device in reversed(connected):
                device.disconnect()
            raise
        self._resume_the_night()
        self.server.start()
        if self.indi_port is not None:
            try:
                # The Alpaca face's member tables: one claim per device, whichever face a move comes by
                self.indi = IndiServer(publish(list(self.server.members.values())),
                                       host=str(self.config["Device Server"]["IP"]), port=int(self.indi_port),
                                       guard=guard_of(self.config, "the device server's INDI port")).start()
            except BaseException:
                self.stop()
                raise
        return self

    def _resume_the_night(self) -> None:
        """A simulated observatory with a ``Simulator: State File`` goes on with the night it had, and keeps
        its state there every second (and at the stop)."""
        world = self.devices.observatory
        path = self.config["Simulator"].get("State File")
        if world is None or not path:
            return
        from torosdrivers.simulators import state

        if state.restore(world, path):
            log.info("resumed the simulated night from %s at %s", path, world.clock.now().utc.isot[:19])

        def keep() -> None:
            while not self._stopping.wait(1.0):
                try:
                    state.save(world, path)
                except OSError as exc:
                    log.warning("cannot keep the simulated observatory's state in %s: %s", path, exc)

        self._keeper = threading.Thread(target=keep, name="toros-devices-state", daemon=True)
        self._keeper.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._keeper is not None:
            self._keeper.join(timeout=5)
            try:
                from torosdrivers.simulators import state

                state.save(self.devices.observatory, self.config["Simulator"]["State File"])
            except OSError as exc:
                log.warning("cannot keep the simulated observatory's state: %s", exc)
        if self.indi is not None:
            self.indi.stop()
        self.server.stop()
        for device in reversed(self.owned):
            try:
                device.disconnect()
            except DriverError as exc:
                log.warning("disconnecting %s: %s", device.name, exc)

    def __enter__(self) -> "DeviceServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    args, config = start_process("devices", __doc__.splitlines()[0], argv,
                                 port_help="override Device Server.Port (0: any free one)")
    if config is None:
        return 2
    try:
        owner = DeviceServer(config, port=args.port).start()
    except (DriverError, OSError) as exc:
        fatal(log, "toros-devices", f"cannot start: {exc}")
        return 1
    kinds = ", ".join(f"{kind} {number}: {m.device.name}" for (kind, number), m in sorted(owner.server.members.items()))
    indi = f"; INDI on {owner.indi.address} ({', '.join(owner.indi.devices)})" if owner.indi is not None else ""
    print(f"toros-devices: Alpaca server on http://{owner.server.address} ({kinds}{indi}; config: {config.source})",
          flush=True)
    try:
        wait_for_stop()
    finally:
        owner.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
