"""The safety supervisor: the one place that decides whether the observatory may be open.

Open only when all of these hold (``Safety`` section of the configuration):

- the Sun is below ``Sun Open Altitude`` (-12 deg); once open, until it
  rises past ``Sun Close Altitude`` (the morning limit);
- the SafetyMonitor says safe;
- the ObservingConditions are within the limits (rain, wind, gust,
  humidity, cloud), with data no older than ``Max Data Age``;
- ``Hold Off`` seconds have passed since the weather (or a silent source)
  was last unsafe, so a passing shower does not cycle the shutter.

Fail-safe: a source that does not answer, or answers with stale data, is
unsafe. When it turns unsafe (or the morning comes) the supervisor aborts the
exposure, closes the dome and parks the mount at once and in parallel,
within ``Close Within`` seconds of device time, logs why and how long it
took, and tells its daemon, which interrupts the running order and keeps it
queued until it is safe again. Times are the observatory's (the mount's
clock), so a simulated night keeps its own time.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

import astropy.units as u
from astropy.coordinates import EarthLocation
from astropy.time import Time

from torosdrivers.config import Config, Devices
from torosdrivers.coords import sun_altitude
from torosdrivers.dome import ShutterState
from torosdrivers.errors import DriverError, UnsupportedError

__all__ = ["Supervisor", "SafetyState"]

#: Observing-conditions limits: config key, ASCOM sensor, what it says.
_LIMITS = (("Max Rain Rate", "RainRate", "rain", "mm/h"), ("Max Wind Speed", "WindSpeed", "wind", "m/s"),
           ("Max Wind Gust", "WindGust", "gusts", "m/s"), ("Max Humidity", "Humidity", "humidity", "%"),
           ("Max Cloud Cover", "CloudCover", "cloud cover", "%"))


@dataclass
class SafetyState:
    """One verdict of the supervisor."""

    safe: bool
    reasons: list[str]
    checked: Time
    sun_altitude: float | None = None
    conditions: dict[str, float] = field(default_factory=dict)
    since: Time | None = None  # when it last changed between safe and unsafe
    opens_at: Time | None = None  # while holding off: when it may open

    def as_dict(self) -> dict[str, Any]:
        """For XML-RPC and ``toros status``."""
        return {"Safe": self.safe, "Reasons": list(self.reasons), "Checked": self.checked.utc.isot,
                "Sun Altitude": None if self.sun_altitude is None else round(self.sun_altitude, 2),
                "Conditions": {k: round(v, 3) for k, v in self.conditions.items()},
                "Since": self.since.utc.isot if self.since is not None else "",
                "Opens At": self.opens_at.utc.isot if self.opens_at is not None else ""}


class Supervisor:
    """Watches the Sun and the weather; closes and parks when it is not safe.

    Parameters
    ----------
    config
        The configuration (its ``Safety`` section, ``Site``, ``Simulator``).
    devices
        The dome, mount and camera to make safe, and the weather devices to read.
    log
        Where its decisions go.
    on_unsafe
        Called (from the supervisor's thread) with the reason when it turns unsafe.
    on_morning
        Called once when the morning Sun closes an observatory that was open (warm the camera).
    """

    def __init__(self, config: Config, devices: Devices, log: logging.Logger,
                 on_unsafe: Callable[[str], None] | None = None, on_morning: Callable[[], None] | None = None) -> None:
        self.limits = dict(config["Safety"])
        self.devices = devices
        self.site = config.site
        self.log = log
        self.on_unsafe = on_unsafe
        self.events: list[tuple[str, str]] = []  # (observatory time, what happened): the night's timeline
        simulated = any(spec["Backend"] == "simulator" for spec in config["Devices"].values())
        #: Device seconds per real second: the simulator's time scale when the devices are simulated.
        self.scale = float(config["Simulator"]["Time Scale"]) if simulated else 1.0
        self.period = max(0.05, float(self.limits["Check Interval"]) / self.scale)  # real seconds between checks
        self.on_morning = on_morning
        self._state: SafetyState | None = None
        self._last_failure = ""
        self._unsafe_since: Time | None = None
        self._was_open = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- time ----------------------------------------------------------------------------
    def now(self) -> Time:
        """The observatory's time: the mount's clock, else this computer's."""
        try:
            return self.devices.mount.time
        except (DriverError, AttributeError):
            return Time.now()

    # -- the verdict -----------------------------------------------------------------------
    @property
    def state(self) -> SafetyState:
        """The latest verdict (checked now if there is none yet)."""
        return self._state if self._state is not None else self.check()

    @property
    def safe(self) -> bool:
        return self.state.safe

    def evaluate(self, now: Time) -> SafetyState:
        """Judge the conditions at ``now`` without acting on them."""
        reasons: list[str] = []
        sun = self.sun_altitude(now)
        limit = self.limits["Sun Close Altitude"] if self._was_open else self.limits["Sun Open Altitude"]
        if sun > limit:
            reasons.append(f"the Sun is at {sun:+.1f} deg (open only below {limit:+.1f})")
        monitor = self.devices.safety
        if monitor is not None:
            try:
                self._ensure(monitor)
                if not monitor.is_safe:
                    reasons.append(f"{monitor.name} says unsafe")
            except DriverError as exc:
                reasons.append(f"safety monitor unreachable: {exc}")
                self._drop(monitor)
        conditions: dict[str, float] = {}
        station = self.devices.conditions
        if station is not None:
            try:
                self._ensure(station)
                age = station.time_since_last_update().value
                if age > self.limits["Max Data Age"]:
                    reasons.append(f"weather data {age:.0f} s old (limit {self.limits['Max Data Age']:g} s)")
                for key, sensor, words, unit in _LIMITS:
                    try:
                        value = float(station.condition(sensor).value)
                    except UnsupportedError:
                        continue
                    conditions[sensor] = value
                    if value > self.limits[key]:
                        reasons.append(f"{words} {value:g} {unit} (limit {self.limits[key]:g})")
            except DriverError as exc:
                reasons.append(f"weather station unreachable: {exc}")
                self._drop(station)
        return SafetyState(not reasons, reasons, now, sun, conditions)

    def sun_altitude(self, now: Time) -> float:
        """The Sun's altitude (`torosdrivers.coords.sun_altitude`: 0.01 deg, in microseconds)."""
        return sun_altitude(now, self.site)

    @staticmethod
    def _ensure(device) -> None:
        if not device.connected:
            device.connect()

    @staticmethod
    def _drop(device) -> None:
        """Forget a connection that failed, so the next check connects afresh (a restarted server)."""
        try:
            device.disconnect()
        except DriverError:
            pass

    def check(self) -> SafetyState:
        """Judge now, apply the hold-off, and close up on a turn to unsafe."""
        with self._lock:
            now = self.now()
            verdict = self.evaluate(now)
            previous = self._state
            if self._unsafe_since is not None and now < self._unsafe_since:
                self._unsafe_since = now  # the clock went back (a simulator restarted): hold off from now
            if any(not r.startswith("the Sun") for r in verdict.reasons):
                self._unsafe_since = now  # weather holds off; the Sun's limits are their own hysteresis
            if verdict.safe and self._unsafe_since is not None:
                opens = self._unsafe_since + self.limits["Hold Off"] * u.s
                if now < opens:
                    verdict = SafetyState(False, [f"holding off after the last unsafe spell until {opens.utc.isot[:19]}"],
                                          now, verdict.sun_altitude, verdict.conditions, opens_at=opens)
                else:
                    self._unsafe_since = None
            turned = previous is None or previous.safe != verdict.safe
            verdict.since = now if turned else previous.since
            self._state = verdict
        if turned:
            what = "safe" if verdict.safe else "unsafe: " + "; ".join(verdict.reasons)
            self._event(now, what)
            (self.log.info if verdict.safe else self.log.warning)("safety: %s", what)
        morning = (verdict.sun_altitude is not None and verdict.sun_altitude > self.limits["Sun Close Altitude"]
                   and self._was_open and _ante_meridiem(now, self.site))
        if morning:
            self._was_open = False  # the next evening opens at the evening limit again
            self._event(now, f"morning: the Sun at {verdict.sun_altitude:+.1f} deg; closed for the day")
        if not verdict.safe and (turned or self._dome_open()):
            reason = "; ".join(verdict.reasons)
            if self.on_unsafe is not None:
                self.on_unsafe(reason)
            self.close_up(reason)
        if morning and self.on_morning is not None:
            self.on_morning()
        return verdict

    def note_opened(self) -> None:
        """The dome was opened: from now on the morning limit applies to the Sun."""
        self._was_open = True

    def _dome_open(self) -> bool:
        dome = self.devices.dome
        try:
            return dome is not None and dome.shutter != ShutterState.CLOSED
        except DriverError:
            return True  # unknown counts as open: closing again is harmless

    def _event(self, now: Time, what: str) -> None:
        self.events.append((now.utc.isot[:19], what))

    # -- making safe -----------------------------------------------------------------------
    def close_up(self, reason: str, *, urgent: bool = True) -> float:
        """Abort the exposure, close the dome and park the mount, in parallel.

        Returns the device seconds the dome took to close. ``urgent`` closes
        hold the dome to ``Close Within`` (an error in the log when over it):
        the shutter is what keeps the rain out; the park, a slew of its own
        length, is reported beside it.
        """
        start = self.now()
        bound = float(self.limits["Close Within"])
        camera, dome, mount = self.devices.camera, self.devices.dome, self.devices.mount
        try:  # a shutter already shut has nothing to close in time: the bound is not for it
            was_closed = dome is None or dome.shutter == ShutterState.CLOSED
        except DriverError:
            was_closed = False
        steps: list[tuple[str, Callable[[], None]]] = []
        if camera is not None:
            steps.append(("abort the exposure", camera.abort_exposure))
        if dome is not None:
            steps.append(("close the dome", lambda: _close(dome)))
        if mount is not None:
            steps.append(("park the mount", mount.park))

        def timed(step: Callable[[], None]) -> float:
            step()
            return float((self.now() - start).sec)

        failures, took = [], {}
        with ThreadPoolExecutor(max(1, len(steps))) as pool:
            futures = [(what, pool.submit(timed, step)) for what, step in steps]
            for what, future in futures:
                try:
                    took[what] = future.result()
                except DriverError as exc:
                    failures.append(f"{what}: {exc}")
        closed = took.get("close the dome", 0.0)
        failure = "; ".join(failures)
        if failures:
            if failure != self._last_failure:  # tried again at every check; said once
                self._event(self.now(), f"closing up ({reason}) failed: {failure}")
                self.log.error("safety: closing up failed (trying again at every check): %s", failure)
            self._last_failure = failure
            return closed
        self._last_failure = ""
        parked = took.get("park the mount", 0.0)
        self._event(self.now(), f"closed in {closed:.1f} s, parked in {parked:.1f} s ({reason})")
        if urgent and closed > bound and not was_closed:
            self.log.error("safety: the dome took %.1f s to close, over the %.0f s bound", closed, bound)
        else:
            self.log.warning("safety: closed in %.1f s (bound %.0f s), parked in %.1f s: %s", closed, bound, parked,
                             reason)
        return closed

    # -- the watch -------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._watch, name="toros-safety", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except Exception:  # the watch must never stop: log and look again
                self.log.exception("safety: check failed")
            self._stop.wait(self.period)


def _ante_meridiem(now: Time, site: EarthLocation) -> bool:
    """Whether it is local morning (the Sun rising), by the site's longitude."""
    local_hours = (now.utc.datetime.hour + now.utc.datetime.minute / 60 + site.lon.deg / 15.0) % 24.0
    return local_hours < 12.0


def _close(dome) -> None:
    if dome.slewing:
        dome.abort()  # a rotation under way would make the close wait its turn
    dome.close_shutter()

