"""The telescope daemon: runs Observation work orders.

Opens the dome if needed, slews the mount to the order's RA/Dec (ICRS), turns
the dome to the telescope, selects the filter, takes the calibration frames
the night needs when ``Calibration Frames`` is ``Yes``, takes the exposures,
writes every frame with full headers (the WO ID and User included) into the
night's folder, and hands the folder to the preprocessor.
"""

from __future__ import annotations

import re
import time
import xmlrpc.client
from pathlib import Path
from typing import Callable

from astropy.io import fits
from astropy.time import Time, TimeDelta

from torosdrivers.config import KINDS, Config, Devices, build_devices, weather_kinds
from torosdrivers.coords import to_altaz
from torosdrivers.dome import ShutterState
from torosdrivers.errors import DriverError, NotConnectedError, UnsupportedError

from .service import OrderCancelled, Service
from .safety import Supervisor
from .security import service_proxy
from .slaving import DomeSlave
from .status import Result
from .workorders import DERIVED_ID_SUFFIX, Observation, validate_observation

__all__ = ["TelescopeService", "night_folder", "frame_entry"]

CALIBRATION_COUNT = 5
FLAT_SECONDS = 2.0


def night_folder(data: Path, when: Time) -> Path:
    """The folder of the night ``when`` belongs to: named by the local date it began on (UTC-12 h)."""
    return data / (when - TimeDelta(12 * 3600, format="sec")).strftime("%Y-%m-%d")


def frame_entry(path: Path, header) -> dict:
    """A written frame as the status API describes it: Path, Type, Object, Filter, Exposure, Start."""
    return {"Path": str(path), "Type": str(header.get("IMAGETYP", "")).strip(), "Object": str(header.get("OBJECT", "")),
            "Filter": str(header.get("FILTER", "")), "Exposure": float(header.get("EXPTIME", 0.0)),
            "Start": str(header.get("DATE-OBS", ""))}


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:64]


class TelescopeService(Service):
    """Observation work orders on the configured camera, filter wheel, mount and dome."""

    name = "telescope"
    address_key = "Telescope"

    def __init__(self, config: Config, journal: str | None = None, devices: Devices | None = None) -> None:
        super().__init__(config, journal)
        self.devices = devices or build_devices(config, KINDS + weather_kinds(config))
        self.data = Path(config["Data Directory"])
        self.filters: list[str] | None = None  # read at connect: the order check never asks the wheel
        self.supervisor = Supervisor(config, self.devices, self.log, on_unsafe=self.interrupt,
                                     on_morning=self.warm_up)

    def status_devices(self) -> Devices:
        return self.devices

    def connect(self) -> None:
        for device in self.devices.all():
            device.connect()
        self.filters = self.devices.filter_wheel.names

    def ping(self) -> None:
        for device in self.devices.all():
            device.ping()

    def disconnect(self) -> None:
        for device in reversed(self.devices.all()):
            try:
                device.disconnect()
            except DriverError as exc:
                self.log.warning("disconnecting %s: %s", device.name, exc)

    def validate(self, work_order) -> Observation:
        if self.filters is None:
            raise NotConnectedError(f"the filter wheel has not been reached since this daemon started, so its "
                                    f"filters are unknown ({self._device_problem})")
        return validate_observation(work_order, filters=self.filters)

    def ready(self, order: Observation) -> str | None:
        """Safe to open, and the target above the altitude limit: checked before anything moves."""
        state = self.supervisor.state
        if not state.safe:
            return "not safe to open: " + "; ".join(state.reasons)
        limit = float(self.config["Telescope"]["Minimum Altitude"])
        altitude = float(to_altaz(order.target, self.supervisor.now(), self.supervisor.site).alt.deg)
        if altitude < limit:
            return f"the target is at {altitude:.1f} deg, below the minimum altitude of {limit:g} deg"
        return None

    def idle(self) -> None:
        """Nothing to run: after ``Safety: Idle Close`` seconds, close the dome and park (end of the night's work)."""
        now = self.supervisor.now()
        if self._idle_since is None:
            self._idle_since = now
            return
        if (now - self._idle_since).sec < float(self.config["Safety"]["Idle Close"]):
            return
        try:
            still_open = self.devices.dome.shutter != ShutterState.CLOSED or not self.devices.mount.at_park
        except DriverError:
            return
        if still_open:
            self.supervisor.close_up(f"nothing to run for {self.config['Safety']['Idle Close']:g} s", urgent=False)

    def abort_running(self) -> None:
        """A cancel aborts the exposure under way (its frame is not written), as a safety close does."""
        self.devices.camera.abort_exposure()

    def on_fault(self, error: Exception) -> None:
        if str(self.config["Telescope"]["On Fault"]).lower() != "close":
            return
        try:
            self.devices.dome.close_shutter()
            self.log.info("fault: dome shutter closed")
        except DriverError as exc:
            self.log.error("fault: could not close the dome: %s", exc)

    def run(self, order: Observation, progress: Callable[..., None], cancelled: Callable[[], bool]) -> Result:
        d = self.devices
        camera, wheel, mount, dome = d.camera, d.filter_wheel, d.mount, d.dome
        durations: dict[str, float] = {}
        began = time.monotonic()
        phase = ["", began]  # the phase being timed and since when (wall seconds)

        def step(text: str, seconds: float = 0.0, timing: str = "") -> None:
            if cancelled():
                raise OrderCancelled()
            if timing and timing != phase[0]:
                if phase[0]:
                    durations[phase[0]] = durations.get(phase[0], 0.0) + time.monotonic() - phase[1]
                phase[:] = [timing, time.monotonic()]
            progress(text, seconds)
            self.log.info("%s: %s", order.id, text)

        night = night_folder(self.data, mount.time)
        night.mkdir(parents=True, exist_ok=True)
        self._cool(camera, step)
        stem = _safe(order.resume or order.id)  # an order resuming an earlier one finds its frames
        cards = {"WO_ID": order.id, "OBSERVER": order.user}  # transliterated to ASCII, long ones CONTINUEd
        if order.object_type:
            cards["OBJTYPE"] = order.object_type
        written: list[Path] = []
        frames: list[dict] = []

        def save(frame, kind: str, i: int) -> None:
            path = frame.write(night / f"{stem}_{kind}_{i:03d}.fits", overwrite=True)
            written.append(path)
            frames.append(frame_entry(path, frame.header))
            self.latest_frame = frames[-1] | {"Order": order.id}

        if order.calibration_frames:
            biases = list(night.glob("*_bias_*.fits"))
            darks = [p for p in night.glob("*_dark*_*.fits") if f"_dark{order.exposure_time:g}s_" in p.name]
            for i in range(max(0, CALIBRATION_COUNT - len(biases))):
                step(f"bias {i + 1}", timing="Calibration")
                save(camera.expose(0.0, light=False, header=cards), "bias", i)
            for i in range(max(0, CALIBRATION_COUNT - len(darks))):
                step(f"dark {i + 1} of {order.exposure_time:g} s", order.exposure_time, timing="Calibration")
                save(camera.expose(order.exposure_time, light=False, header=cards), f"dark{order.exposure_time:g}s", i)
            if "FlatLamp" in dome.supported_actions:
                step(f"flats in {order.filter}", timing="Calibration")
                wheel.select(order.filter)
                dome.action("FlatLamp", "on")
                try:
                    for i in range(CALIBRATION_COUNT):
                        step(f"flat {i + 1} in {order.filter}", FLAT_SECONDS)
                        save(camera.expose(FLAT_SECONDS, imagetyp="FLAT", header=cards), f"flat{order.filter}", i)
                finally:
                    dome.action("FlatLamp", "off")
        step("opening the dome", timing="Opening")
        if dome.shutter != ShutterState.OPEN:
            self.supervisor.note_opened()
            dome.open_shutter()
        step(f"slewing to RA {order.target.ra.deg:.4f} Dec {order.target.dec.deg:.4f}", timing="Slewing")
        if mount.at_park:
            mount.unpark()
        mount.slew_to(order.target)
        dome.slew_to_azimuth(round(float(mount.altaz.az.deg), 1) % 360.0)
        step(f"filter {order.filter}")
        wheel.select(order.filter)
        # OBJECT names the target: the order's Object, else the order ("Type of object" is only "Galaxy").
        name = order.object or f"WO {order.id}"
        slave = DomeSlave(dome, mount, tolerance=float(self.config["Telescope"]["Dome Tolerance"]),
                          period=self.supervisor.period, stopped=cancelled, log=self.log)
        with slave:  # the slit follows the telescope through the whole sequence
            for i in range(order.count):
                done = night / f"{stem}_light_{i:03d}.fits"
                if done.exists():  # taken before a safety interruption: resumed, not taken twice
                    written.append(done)
                    frames.append(frame_entry(done, fits.getheader(done)))
                    continue
                step(f"exposure {i + 1} of {order.count}, {order.exposure_time:g} s", order.exposure_time,
                     timing="Exposures")
                save(camera.expose(order.exposure_time, object=name, header=cards), "light", i)
        step("handing the night to the preprocessor", timing="Hand-off")
        handed, receipt = self._hand_to_preprocessor(order, night)
        durations[phase[0]] = durations.get(phase[0], 0.0) + time.monotonic() - phase[1]
        durations["Total"] = time.monotonic() - began
        following = "dome slaved itself" if slave.by_itself else f"dome re-centred {slave.turns} times"
        details = {"Frames": frames, "Night": str(night), "Preprocessor Order": receipt,
                   "Durations": {k: round(v, 3) for k, v in durations.items()},
                   "Dome": {"Turns": slave.turns, "Worst Offset": round(float(slave.worst), 2),
                            "Slaved": bool(slave.by_itself)}}
        return Result(f"{len(written)} frames in {night}; {following}, at most {slave.worst:.1f} deg off the "
                      f"telescope; {handed}", details)

    def _cool(self, camera, step: Callable[[str], None]) -> None:
        """Cool to the set point before the first frame; every frame (darks too) is then taken at it."""
        setpoint = self.config["Telescope"]["CCD Set Point"]
        if setpoint is None:
            return
        tolerance = float(self.config["Telescope"]["CCD Tolerance"])
        try:
            if abs(camera.temperature.value - setpoint) <= tolerance:
                return
        except UnsupportedError:
            return  # a camera without a sensor thermometer: nothing to wait for
        step(f"cooling the camera to {setpoint:g} C", timing="Cooling")
        camera.cool_to(setpoint, tolerance=tolerance,
                       timeout=float(self.config["Telescope"]["Cooling Timeout"]) / self.supervisor.scale)

    def warm_up(self) -> None:
        """The morning close: turn the set point up, so the sensor warms at the cooler's own pace."""
        try:
            self.devices.camera.set_temperature(float(self.config["Telescope"]["CCD Warm Up"]))
            self.log.info("camera warming to %g C", self.config["Telescope"]["CCD Warm Up"])
        except DriverError as exc:
            self.log.warning("cannot warm the camera: %s", exc)

    def _hand_to_preprocessor(self, order: Observation, night: Path) -> tuple[str, str]:
        """Send the night to the preprocessor: the sentence, and its order's ID (empty if not taken)."""
        request = {"ID": order.id + DERIVED_ID_SUFFIX, "WOType": "Calibration", "User": order.user,
                   "Priority": order.priority, "Request": "Exposure Calibration", "File Location": str(night)}
        try:
            with service_proxy(self.config, "Preprocessor") as proxy:
                receipt = proxy.front_desk(request)
        except (OSError, xmlrpc.client.Error) as exc:
            self.log.warning("%s: the preprocessor did not take the night: %s", order.id, exc)
            return f"not handed to the preprocessor ({exc})", ""
        return f"preprocessor order {receipt['ID']} {receipt['State']}", receipt["ID"]
