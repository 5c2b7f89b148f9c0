"""The telescope daemon: runs Observation work orders.

Opens the dome if needed, slews the mount to the order's RA/Dec (ICRS), turns
the dome to the telescope, selects the filter, takes the calibration frames
the night needs when ``Calibration Frames`` is ``Yes``, takes the exposures,
writes every frame with full headers (the WO ID and User included) into the
night's folder, and hands the folder to the preprocessor.

A light counts only when verified (`torosdrivers.observing`): the dome, mount
and camera are sampled through the exposure, and the image is measured.
Anything that moves the dome or mount under an exposure, from whatever
client, aborts it and interrupts the order with the reason (a WARNING); a
frame that fails its checks is kept in the night's ``rejected/`` folder with
the reason in its header and the order's Details, and is taken again when
the order resumes. Where astrometry.net is installed, the telescope first
acquires the target (slew, solve, correct: `torosdrivers.observatory.acquisition`)
through a pointing model refitted from every solve, and each light's header
gets its solved WCS; with a focuser and ``Focus: Enabled``, it focuses at
the start of the night, on a temperature change and on request, and follows
each filter's offset. ``Focus`` and ``Pointing Model`` work orders run those
alone. Frame names are unique to the order and index
(`torosdrivers.observing.frames`), and an order that resumes (after an
interruption, the daemon's death, or as a scheduler's ``Resume``) counts a
file on disk only when its header says it is that frame and it passed.
"""

from __future__ import annotations

import os
import re
import time
import xmlrpc.client
from pathlib import Path
from typing import Callable

import astropy.units as u
from astropy.io import fits
from astropy.time import Time, TimeDelta
from astropy.coordinates import SkyCoord
from astropy.wcs import WCS

from torosdrivers.astrometry import PlateSolver
from torosdrivers.ccd.wcs import plate_scale
from torosdrivers.config import KINDS, Config, Devices, build_devices, focuser_kinds, weather_kinds
from torosdrivers.coords import from_altaz, local_sidereal_degrees, to_altaz
from torosdrivers.dome import ShutterState
from torosdrivers.ccd.frame import fits_text
from torosdrivers.errors import CommunicationError, DeviceTimeoutError, DriverError, NotConnectedError, \
    OperationCancelledError, UnsupportedError
from torosdrivers.observing import BiasLevel, ExposureWatch, Limits, bias_level, check_light, measure
from torosdrivers.observing.frames import frame_path, identity_cards, series_hash, verified

from torosdrivers.daemons.frame.service import OrderCancelled, OrderInterrupted, Service
from torosdrivers.observatory.safety import Supervisor
from torosdrivers.daemons.frame.security import service_proxy
from torosdrivers.observatory.slaving import DomeSlave
from torosdrivers.daemons.frame.status import Result
from torosdrivers.daemons.frame.workorders import DERIVED_ID_SUFFIX, FAULT_UNSUPPORTED, FocusOrder, Observation, \
    PointingOrder, WorkOrderError, validate_focus, validate_observation, validate_pointing
from torosdrivers.observatory.focuskeeper import FocusKeeper
from torosdrivers.observatory.pointing import TelescopePointing, acquisition_off_because

__all__ = ["TelescopeService", "night_folder", "frame_entry"]

CALIBRATION_COUNT = 5
FLAT_SECONDS = 2.0


def night_folder(data: Path, when: Time) -> Path:
    """The folder of the night ``when`` belongs to: named by the local date it began on (UTC-12 h)."""
    return data / (when - TimeDelta(12 * 3600, format="sec")).strftime("%Y-%m-%d")


def frame_entry(path: Path, header) -> dict:
    """A written frame as the status API describes it: Path, Type, Object, Filter, Exposure, Start, Check
    (PASSED or FAILED: its verification, from its header)."""
    return {"Path": str(path), "Type": str(header.get("IMAGETYP", "")).strip(), "Object": str(header.get("OBJECT", "")),
            "Filter": str(header.get("FILTER", "")), "Exposure": float(header.get("EXPTIME", 0.0)),
            "Start": str(header.get("DATE-OBS", "")), "Check": str(header.get("FRAMECHK", ""))}


def expected_stars(header, pixels: int, density: float, most: int) -> int:
    """How many stars a frame must show: ``density`` per square degree over its field (from its WCS), at most
    ``most``; 0 when the header has no usable WCS."""
    try:
        area = WCS(header).proj_plane_pixel_area().to_value(u.deg ** 2) * pixels
    except Exception:  # astropy raises many kinds on a header without a celestial WCS
        return 0
    return int(min(most, density * area))


def _rejected_before(night: Path, series: str) -> list[dict]:
    """The lights of ``series`` that earlier attempts kept in ``rejected/``, with why (from their headers)."""
    entries = []
    mine = re.compile(re.escape(frame_path(Path(), series, "light", 0).stem[:-3]) + r"\d{3}\.\d+\.fits")
    for path in sorted((night / "rejected").glob("*.fits")):
        if not mine.fullmatch(path.name):  # another series whose stem begins as this one's
            continue
        try:
            header = fits.getheader(path)
        except (OSError, ValueError):
            header = fits.Header()
        why = header.get("FRAMEWHY", "") if header.get("WOHASH") == series_hash(series) else \
            "set aside: its header names another order"
        entries.append(frame_entry(path, header) | {"Index": header.get("FRAMEIDX", -1), "Why": str(why)})
    return entries


def _rejected_path(path: Path) -> Path:
    """Where a frame that may not stand at ``path`` is kept: ``rejected/<name>.<attempt>.fits`` beside it."""
    folder = path.parent / "rejected"
    folder.mkdir(exist_ok=True)
    return folder / f"{path.stem}.{1 + len(list(folder.glob(path.stem + '.*.fits')))}.fits"


def _set_cards(header, cards: dict) -> None:
    for key, value in cards.items():
        header[key] = fits_text(value) if isinstance(value, str) else value


class TelescopeService(Service):
    """Observation work orders on the configured camera, filter wheel, mount and dome."""

    name = "telescope"
    address_key = "Telescope"
    requeues_interrupted = True  # its observations recognise their verified frames on disk

    def __init__(self, config: Config, journal: str | None = None, devices: Devices | None = None) -> None:
        super().__init__(config, journal)
        focusing = focuser_kinds(config) if config["Focus"]["Enabled"] else ()
        self.devices = devices or build_devices(config, KINDS + weather_kinds(config) + focusing)
        self.data = Path(config["Data Directory"])
        self.filters: list[str] | None = None  # read at connect: the order check never asks the wheel
        self.supervisor = Supervisor(config, self.devices, self.log, on_unsafe=self.interrupt,
                                     on_morning=self.warm_up)
        section = config["Telescope"]
        self.max_retries = int(section["Max Retries"])
        self.limits = Limits(slit=float(section["Slit Tolerance"]), pointing=float(section["Pointing Tolerance"]) / 60)
        self._partial: tuple[str, dict] | None = None  # (order ID, its Details so far)
        self._bias: dict[tuple[str, tuple[int, int]], BiasLevel] = {}  # (night, binning) -> its bias level
        self.pointing: TelescopePointing | None = None  # set at connect, where a solver can solve the field
        self.pointing_off = "not connected yet"
        self.focus: FocusKeeper | None = None  # set at connect, with a focuser and Focus: Enabled

    def status_devices(self) -> Devices:
        return self.devices

    def connect(self) -> None:
        for device in self.devices.all():
            device.connect()
        if self.config["Focus"]["Enabled"] and self.devices.focuser is not None:
            self.devices.focuser.connect()
            if self.focus is None:
                section = self.config["Focus"]
                self.focus = FocusKeeper(self.devices.camera, self.devices.focuser, step=int(section["Step"]),
                                         exposure=float(section["Exposure"]),
                                         temperature_change=float(section["Temperature Change"]),
                                         filter_offsets=section["Filter Offsets"])
        if self.pointing is None:
            self._set_up_pointing()
        self.filters = self.devices.filter_wheel.names

    def _set_up_pointing(self) -> None:
        """Acquisition and solving where astrometry.net is installed and can solve the camera's field."""
        camera = self.devices.camera
        focal = float(self.config["Telescope"]["Focal Length"])
        width, height = camera.sensor_size
        try:
            scale = plate_scale(float(camera.pixel_size[0].to_value("um")), focal)
        except UnsupportedError:
            scale = None  # its frames carry no WCS to start a solve from: no acquisition, and not a connect failure
        field = min(width, height) * scale / 60.0 if scale else 0.0
        why = "the camera does not say its pixel size (its frames have no WCS)" if scale is None else \
            acquisition_off_because(self.config, field)
        if why:
            if why != self.pointing_off:
                self.log.info("acquisition and plate solving off: %s", why)
            self.pointing_off = why
            return
        section = self.config["Acquisition"]
        path = Path(section["Pointing Model"] or self.data / "pointing-model.json")
        self.pointing = TelescopePointing(
            PlateSolver(section["Index Directory"], search_radius=float(section["Search Radius"])), path,
            float(self.config.site.lat.deg), tolerance=float(section["Tolerance"]),
            exposure=float(section["Exposure"]), max_corrections=int(section["Max Corrections"]),
            apply_model=bool(section["Apply Model"]))
        self.pointing_off = ""
        self.log.info("acquisition on: %.0f' field at %.2f\"/px, tolerance %g\"; pointing model %s: %s", field, scale,
                      self.pointing.tolerance, path, self.pointing.model.describe())

    def extra_state(self) -> dict:
        """The last solve, acquisition and focus, and the pointing model, for status and the page."""
        optics: dict = {"Acquisition": "on" if self.pointing is not None else f"off: {self.pointing_off}"}
        if self.pointing is not None:
            optics |= self.pointing.state()
        optics["Focus"] = (self.focus.as_dict() or {"Reason": "no run yet"}) if self.focus is not None else \
            {"Reason": "off (Focus: Enabled is false, or no focuser)"}
        return {"Optics": optics}

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
        kind = work_order.get("WOType") if isinstance(work_order, dict) else None
        if kind == "Focus":
            if self.focus is None:
                raise WorkOrderError("WOType 'Focus': this telescope does not focus (it needs a focuser in Devices "
                                     "and Focus: Enabled: true)", FAULT_UNSUPPORTED)
            return validate_focus(work_order, filters=self.filters)
        if kind == "Pointing Model":
            if self.pointing is None:
                raise WorkOrderError(f"WOType 'Pointing Model': this telescope cannot solve frames "
                                     f"({self.pointing_off})", FAULT_UNSUPPORTED)
            return validate_pointing(work_order, filters=self.filters)
        order = validate_observation(work_order, filters=self.filters)
        if order.autofocus and self.focus is None:
            raise WorkOrderError("Autofocus: Yes: this telescope does not focus (it needs a focuser in Devices and "
                                 "Focus: Enabled: true)", FAULT_UNSUPPORTED)
        if order.acquire and self.pointing is None:
            raise WorkOrderError(f"Acquire: Yes: this telescope cannot solve frames ({self.pointing_off})",
                                 FAULT_UNSUPPORTED)
        return order

    def not_ready(self) -> str:
        if self.filters is None:
            return f"the filter wheel has not been read yet ({self._device_problem})"
        return ""

    def partial_details(self) -> dict | None:
        if self._partial is None or self._partial[0] != self._running:
            return None
        return self._partial[1]

    def ready(self, order: Observation) -> str | None:
        """Safe to open, and the target above the altitude limit: checked before anything moves."""
        state = self.supervisor.state
        if not state.safe:
            return "not safe to open: " + "; ".join(state.reasons)
        if not isinstance(order, Observation):
            return None  # a Focus or Pointing Model order chooses its own fields above the limit
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

    def run(self, order, progress: Callable[..., None], cancelled: Callable[[], bool]) -> Result:
        if isinstance(order, FocusOrder):
            return self._run_focus(order, progress, cancelled)
        if isinstance(order, PointingOrder):
            return self._run_pointing(order, progress, cancelled)
        return self._observe(order, progress, cancelled)

    def _stepper(self, order, progress: Callable[..., None], cancelled: Callable[[], bool]):
        def step(text: str, seconds: float = 0.0) -> None:
            if cancelled():
                raise OrderCancelled()
            progress(text, seconds)
            self.log.info("%s: %s", order.id, text)
        return step

    def _open_and_unpark(self, cancelled: Callable[[], bool]) -> None:
        if self.devices.dome.shutter != ShutterState.OPEN:
            self.supervisor.note_opened()
            self._open(self.devices.dome, cancelled)
        if self.devices.mount.at_park:
            self.devices.mount.unpark()

    def _slave(self, cancelled: Callable[[], bool]) -> DomeSlave:
        """A dome slave for one sequence (the slit follows the telescope while it is entered)."""
        return DomeSlave(self.devices.dome, self.devices.mount,
                         tolerance=float(self.config["Telescope"]["Dome Tolerance"]), period=self.supervisor.period,
                         stopped=cancelled, log=self.log)

    def _point(self, target: SkyCoord) -> SkyCoord:
        """Slew (through the pointing model), track, turn the dome: where the mount was sent."""
        mount, dome = self.devices.mount, self.devices.dome
        demand = self.pointing.demand(target, mount) if self.pointing is not None else target
        mount.slew_to(demand)
        if not mount.tracking:
            mount.tracking = True  # a slew leaves most mounts tracking; one that does not is told to
        dome.slew_to_azimuth(round(float(mount.altaz.az.deg), 1) % 360.0)
        return demand

    def _run_focus(self, order: FocusOrder, progress, cancelled) -> Result:
        """A Focus order: open, point at the field (near the zenith unless named), autofocus."""
        assert self.focus is not None
        step = self._stepper(order, progress, cancelled)
        d = self.devices
        night = night_folder(self.data, d.mount.time)
        step("opening the dome")
        self._open_and_unpark(cancelled)
        if order.ra is None:
            # 75 deg up, towards the equator: stars at any time, away from the zenith's dome-slit corner
            target = from_altaz(75.0, 0.0 if float(d.mount.site.lat.deg) < 0 else 180.0, d.mount.time, d.mount.site)
        else:
            target = SkyCoord(order.ra * u.deg, order.dec * u.deg)
        step(f"slewing to the focus field RA {float(target.ra.deg):.4f} Dec {float(target.dec.deg):.4f}")
        self._point(target)
        filter_name = order.filter or d.filter_wheel.filter
        if order.filter:
            d.filter_wheel.select(order.filter)
        step(f"autofocus in {filter_name}")
        with self._slave(cancelled):
            result = self.focus.focus(night.name, filter_name, f"Focus order {order.id}",
                                      exposure=order.exposure_time, step=order.step)
        return Result(f"best focus {result.position} steps, HFR {result.hfr:.2f} px in {filter_name}, from "
                      f"{result.exposures} frames", {"Focus": self.focus.as_dict()})

    def _run_pointing(self, order: PointingOrder, progress, cancelled) -> Result:
        """A Pointing Model order: solve a grid of positions and refit the model."""
        assert self.pointing is not None
        step = self._stepper(order, progress, cancelled)
        d = self.devices
        step("opening the dome")
        self._open_and_unpark(cancelled)
        if order.filter:
            d.filter_wheel.select(order.filter)
        if order.exposure_time:
            self.pointing.exposure = order.exposure_time
        limit = max(order.minimum_altitude, float(self.config["Telescope"]["Minimum Altitude"]) + 5.0)

        def settle() -> None:
            if cancelled():
                raise OrderCancelled()
            d.dome.slew_to_azimuth(round(float(d.mount.altaz.az.deg), 1) % 360.0)

        try:
            summary = self.pointing.calibrate(d.mount, d.camera, order.points, min_altitude=limit, settle=settle,
                                              progress=step)
        finally:
            self.pointing.exposure = float(self.config["Acquisition"]["Exposure"])
        return Result(f"{summary['Solved']} of {summary['Positions']} positions solved; {summary['Describe']}",
                      {"Pointing Model": summary})

    def _observe(self, order: Observation, progress: Callable[..., None], cancelled: Callable[[], bool]) -> Result:
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
        series = order.resume or order.id  # an order resuming an earlier one finds that one's frames
        frames: list[dict] = []
        rejected: list[dict] = []
        reference = order.target  # where the mount is sent: the exposure watch's reference
        # The Details so far; the acquisition's and the focus run's records join them as they are made
        extra: dict = {"Frames": frames, "Rejected": rejected, "Night": str(night)}
        self._partial = (order.id, extra)
        self._cool(camera, step)
        cards = {"WO_ID": order.id, "OBSERVER": order.user}  # transliterated to ASCII, long ones CONTINUEd
        if order.object_type:
            cards["OBJTYPE"] = order.object_type

        def save(frame, kind: str, i: int) -> None:
            _set_cards(frame.header, identity_cards(series, i, []))
            path = frame.write(frame_path(night, series, kind, i), overwrite=True)
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
        rejected.extend(_rejected_before(night, series))
        todo = []
        for i in range(order.count):  # what earlier attempts left: verified frames count, anything else is moved
            path = frame_path(night, series, "light", i)
            ok, why = verified(path, series, i)
            if ok:
                frames.append(frame_entry(path, fits.getheader(path)))
                continue
            if why:
                rejected.append(self._set_aside(path, order.id, i, f"found on disk but {why}"))
            todo.append(i)
        if len(todo) < order.count:
            self.log.info("%s: %d of %d frames verified on disk; taking the other %d", order.id,
                          order.count - len(todo), order.count, len(todo))
        if todo:
            bias = self._bias_level(night, camera, cards, step)
            step("opening the dome", timing="Opening")
            if dome.shutter != ShutterState.OPEN:
                self.supervisor.note_opened()
                self._open(dome, cancelled)
            step(f"slewing to RA {order.target.ra.deg:.4f} Dec {order.target.dec.deg:.4f}", timing="Slewing")
            if mount.at_park:
                mount.unpark()
            reference = self._point(order.target)
            step(f"filter {order.filter}")
            wheel.select(order.filter)
            with self._slave(cancelled):  # the slit follows through the focus and acquisition frames too
                if self.focus is not None:
                    self._keep_focus(order, night, step, extra)
                if self.pointing is not None and order.acquire is not False:
                    step("acquiring the target", timing="Acquisition")
                    acquired = self.pointing.acquire(mount, camera, order.target)
                    extra["Acquisition"] = acquired.as_dict()
                    (self.log.info if acquired.acquired else self.log.warning)("%s: %s", order.id,
                                                                               acquired.summary())
                    reference = SkyCoord(acquired.demand[0] * u.deg, acquired.demand[1] * u.deg)
        # OBJECT names the target: the order's Object, else the order ("Type of object" is only "Galaxy").
        name = order.object or f"WO {order.id}"
        slave = self._slave(cancelled)
        if todo:
            with slave:  # the slit follows the telescope through the whole sequence
                for i in todo:
                    step(f"exposure {i + 1} of {order.count}, {order.exposure_time:g} s", order.exposure_time,
                         timing="Exposures")
                    frame, problems = self._light(order, i, name, cards, bias, cancelled, reference)
                    if problems:
                        rejected.append(self._keep_rejected(frame, night, series, order.id, i, problems))
                        raise OrderInterrupted(f"frame {i + 1} rejected: {'; '.join(problems)}")
                    _set_cards(frame.header, identity_cards(series, i, []))
                    path = frame.write(frame_path(night, series, "light", i), overwrite=True)
                    frames.append(frame_entry(path, frame.header))
                    self.latest_frame = frames[-1] | {"Order": order.id}
        step("handing the night to the preprocessor", timing="Hand-off")
        handed, receipt = self._hand_to_preprocessor(order, night)
        durations[phase[0]] = durations.get(phase[0], 0.0) + time.monotonic() - phase[1]
        durations["Total"] = time.monotonic() - began
        following = "dome slaved itself" if slave.by_itself else f"dome re-centred {slave.turns} times"
        lights = sum(f["Type"] == "LIGHT" for f in frames)
        details = {"Frames": frames, "Rejected": rejected, "Night": str(night), "Preprocessor Order": receipt,
                   "Durations": {k: round(v, 3) for k, v in durations.items()},
                   "Dome": {"Turns": slave.turns, "Worst Offset": round(float(slave.worst), 2),
                            "Slaved": bool(slave.by_itself)}} | extra
        self._partial = None
        rejects = f" ({len(rejected)} rejected and retaken)" if rejected else ""
        return Result(f"{lights} of {order.count} lights verified{rejects}, {len(frames)} frames in {night}; "
                      f"{following}, at most {slave.worst:.1f} deg off the telescope; {handed}", details)

    def _open(self, dome, cancelled: Callable[[], bool]) -> None:
        """Open the shutter, watching for the supervisor's interruption and for a close by anyone: a wait for
        OPEN while the supervisor shuts it for rain would otherwise last the device's whole timeout."""
        dome.open_shutter(wait=False)
        began = time.monotonic()
        while (state := dome.shutter) != ShutterState.OPEN:
            if cancelled():
                raise OrderCancelled()
            waited = time.monotonic() - began
            # CLOSED just after the command may be a dome not yet started (a serial one polls): 10 s of grace.
            if state in (ShutterState.CLOSING, ShutterState.ERROR) or (state == ShutterState.CLOSED and waited > 10.0):
                raise OrderInterrupted(f"the shutter went {state.name.lower()} while it was being opened")
            if waited > dome.timeout:
                raise DeviceTimeoutError(f"{dome.name}: the shutter did not open within {dome.timeout:g} s")
            time.sleep(min(0.05, self.supervisor.period))

    def _light(self, order: Observation, i: int, name: str, cards: dict, bias: BiasLevel | None,
               cancelled: Callable[[], bool], reference: SkyCoord):
        """Take light ``i`` under an `ExposureWatch`; returns the frame and why it fails (empty: verified).

        Raises `OrderInterrupted` when the dome or mount break the limits before or during the exposure
        (the exposure is then aborted: nothing blind is written)."""
        d = self.devices
        exposing = [False]
        breaches: list[str] = []

        def on_breach(sentence: str) -> None:
            breaches.append(sentence)
            if exposing[0]:
                self.log.warning("%s: exposure %d: %s; aborting it", order.id, i + 1, sentence)
                try:
                    d.camera.abort_exposure()
                except DriverError as exc:
                    self.log.warning("%s: cannot abort the exposure: %s", order.id, exc)

        with ExposureWatch(d.dome, d.mount, reference, camera=d.camera, limits=self.limits,
                           period=self.supervisor.period, on_breach=on_breach) as watch:
            if "unreadable" in watch.record.breaches:  # the link, not the sky: the devices dropped
                raise CommunicationError(watch.record.breaches["unreadable"])
            if breaches:
                raise OrderInterrupted(f"exposure {i + 1} not started: {'; '.join(breaches)}")
            exposing[0] = True
            try:
                frame = d.camera.expose(order.exposure_time, object=name, header=cards)
            except OperationCancelledError:
                if breaches and not cancelled():
                    raise OrderInterrupted(f"exposure {i + 1} aborted: {'; '.join(breaches)}") from None
                raise
            finally:
                exposing[0] = False
        problems = watch.record.problems
        stats = measure(frame.data, float(d.camera.max_adu))
        telescope = self.config["Telescope"]
        problems += check_light(stats, bias=bias, max_saturated=float(telescope["Max Saturated"]),
                                expected_stars=expected_stars(frame.header, frame.data.size,
                                                              float(telescope["Star Density"]),
                                                              int(telescope["Min Stars"])))
        _set_cards(frame.header, watch.record.cards() | stats.cards())
        if not problems and self.pointing is not None and self.config["Acquisition"]["Solve Lights"]:
            self.pointing.solve_frame(frame, reference, float(local_sidereal_degrees(d.mount.time, d.mount.site)))
        return frame, problems

    def _keep_focus(self, order: Observation, night: Path, step, extra: dict) -> None:
        """Focus when the rules or the order say so; else follow the filter's offset."""
        assert self.focus is not None
        reason = "asked by the order" if order.autofocus else "" if order.autofocus is False else \
            self.focus.due(night.name)
        if not reason:
            position = self.focus.follow_filter(order.filter)
            if position is not None:
                extra["Focus"] = {"Position": position, "Reason": f"{order.filter}'s offset from the last run"}
            return
        step(f"autofocus ({reason})", timing="Focus")
        try:
            self.focus.focus(night.name, order.filter, reason)
        except DriverError as exc:
            # Not the order's end: the lights have their own checks, and the next order tries again
            self.log.warning("%s: autofocus failed: %s", order.id, exc)
            extra["Focus"] = {"Error": str(exc), "Reason": reason}
            return
        extra["Focus"] = self.focus.as_dict()

    def _bias_level(self, night: Path, camera, cards: dict, step) -> BiasLevel:
        """The level and noise of a bias of this camera and binning tonight, the image check's floor: the night's
        own bias frames, else one taken now and kept in the night (``reference_bias_BxB.fits``)."""
        binning = tuple(camera.binning)
        key = (str(night), binning)
        if key not in self._bias:
            for path in sorted(night.glob("*_bias_*.fits")):
                try:
                    header = fits.getheader(path)
                    if (header.get("XBINNING", 1), header.get("YBINNING", 1)) == binning:
                        self._bias[key] = bias_level(fits.getdata(path))
                        break
                except (OSError, ValueError):
                    continue
            else:
                step("a reference bias for the image checks", timing="Calibration")
                frame = camera.expose(0.0, light=False, header=cards)
                frame.write(night / f"reference_bias_{binning[0]}x{binning[1]}.fits", overwrite=True)
                self._bias[key] = bias_level(frame.data)
        return self._bias[key]

    def _keep_rejected(self, frame, night: Path, series: str, order_id: str, i: int, problems: list[str]) -> dict:
        """Write a frame that failed its checks to ``rejected/``, marked; the Details' entry for it."""
        _set_cards(frame.header, identity_cards(series, i, problems))
        path = frame.write(_rejected_path(frame_path(night, series, "light", i)), overwrite=False)
        self.log.warning("%s: frame %d rejected, kept as %s: %s", order_id, i + 1, path, "; ".join(problems))
        return frame_entry(path, frame.header) | {"Index": i, "Why": "; ".join(problems)}

    def _set_aside(self, path: Path, order_id: str, i: int, why: str) -> dict:
        """Move a file that stands where frame ``i`` goes but is not a verified frame of it into ``rejected/``."""
        moved = _rejected_path(path)
        os.replace(path, moved)
        self.log.warning("%s: %s %s; moved to %s and taken again", order_id, path.name, why, moved)
        try:
            header = fits.getheader(moved)
        except (OSError, ValueError):
            header = fits.Header()
        return frame_entry(moved, header) | {"Index": i, "Why": why}

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
