"""The dome daemon: runs Dome work orders (Blink01 and other actions, Shutter, Azimuth, Park, Home)."""

from __future__ import annotations

import time
from typing import Callable

from torosdrivers.config import Config, Devices, build_devices, weather_kinds
from torosdrivers.errors import NotConnectedError

from torosdrivers.observatory.safety import Supervisor
from torosdrivers.daemons.frame.service import OrderCancelled, Service
from torosdrivers.daemons.frame.status import Result
from torosdrivers.daemons.frame.workorders import DomeOrder, validate_dome

__all__ = ["DomeService"]


class DomeService(Service):
    """Dome work orders on the configured dome, commands in the order given."""

    name = "dome"
    address_key = "Dome"

    def __init__(self, config: Config, journal: str | None = None, devices: Devices | None = None) -> None:
        super().__init__(config, journal)
        self.devices = devices or build_devices(config, ("Dome", "Mount") + weather_kinds(config))
        self.dome = self.devices.dome
        self.actions: list[str] | None = None  # read at connect: the order check never asks the dome
        self.supervisor = Supervisor(config, self.devices, self.log, on_unsafe=self.interrupt)

    def status_devices(self) -> Devices:
        return self.devices

    def connect(self) -> None:
        self.dome.connect()
        if self.devices.mount is not None:  # the observatory's clock, and parking when it turns unsafe
            self.devices.mount.connect()
        self.actions = self.dome.supported_actions

    def disconnect(self) -> None:
        self.dome.disconnect()
        if self.devices.mount is not None:
            self.devices.mount.disconnect()

    def ping(self) -> None:
        self.dome.ping()

    def ready(self, order: DomeOrder) -> str | None:
        """An order that opens the shutter waits until it is safe to open."""
        opens = any(command == "Shutter" and value == "open" for command, value in order.commands)
        state = self.supervisor.state
        if opens and not state.safe:
            return "not safe to open: " + "; ".join(state.reasons)
        return None

    def not_ready(self) -> str:
        if self.actions is None:
            return f"the dome's actions are not known yet ({self._device_problem})"
        return ""

    def validate(self, work_order) -> DomeOrder:
        if self.actions is None:
            raise NotConnectedError(f"the dome has not been reached since this daemon started, so its actions are "
                                    f"unknown ({self._device_problem})")
        return validate_dome(work_order, self.actions)

    def run(self, order: DomeOrder, progress: Callable[..., None], cancelled: Callable[[], bool]) -> Result:
        done: list[str] = []
        commands: list[dict] = []
        began = time.monotonic()
        for command, value in order.commands:
            if cancelled():
                raise OrderCancelled()
            progress(f"{command} {value}")
            start = time.monotonic()
            if command == "Shutter":
                if value == "open":
                    self.supervisor.note_opened()
                    self.dome.open_shutter()
                else:
                    self.dome.close_shutter()
                done.append(f"shutter {value}")
            elif command == "Azimuth":
                self.dome.slew_to_azimuth(value)
                done.append(f"azimuth {value:g}")
            elif command == "Park":
                self.dome.park()
                done.append("parked")
            elif command == "Home":
                self.dome.find_home()
                done.append("home")
            else:
                done.append(f"{command}: {self.dome.action(command, value)}")
            commands.append({"Command": command, "Value": str(value), "Outcome": done[-1],
                             "Seconds": round(time.monotonic() - start, 3)})
        return Result("; ".join(done), {"Commands": commands,
                                        "Durations": {"Total": round(time.monotonic() - began, 3)}})
