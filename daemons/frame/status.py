"""The status API's structures: orders with structured results, and the devices as they stand.

Every daemon answers these over XML-RPC (all keys are text; times are UTC
ISO 8601 with a ``Z``; no value is nil):

``status(ID)``, ``list_orders()``, ``cancel(ID)``: an order (`order_status`)
    ``ID``, ``WOType``, ``Priority``, ``Service``, ``State`` (queued, running,
    done, failed, cancelled), ``Received``, ``Started``, ``Finished``
    (empty until then), ``Elapsed`` (seconds running, so far or in all),
    ``Progress`` (the current step), ``Steps`` (every step: ``{At, Text}``),
    ``Step`` (the running step's ``{Text, At, Seconds, Ends}``: ``Seconds``
    of device work it is expected to take, and the UTC time it ``Ends`` at
    the simulator's time scale; empty when not running), ``Result`` (one
    sentence), ``Details`` (the structured result, below), ``Error``.

``Details`` of a done order, by service
    telescope: ``Frames`` (``{Path, Type, Object, Filter, Exposure, Start}``
    per frame written), ``Night`` (its folder), ``Preprocessor Order``,
    ``Durations`` (seconds of ``Cooling``, ``Opening``, ``Slewing``,
    ``Calibration``, ``Exposures``, ``Total``), ``Dome``
    (``{Turns, Worst Offset, Slaved}``); preprocessor: ``Products`` (paths),
    ``Counts`` (``{label: n}``), ``Problems``, ``Durations``; dome:
    ``Commands`` (``{Command, Value, Outcome}``), ``Durations``.

``state()``: the daemon at a glance (`Service.state`)
    ``Service``, ``Version``, ``Process`` (PID and start time: changes when
    the daemon restarts), ``Time``, ``Health`` (as ``health()``),
    ``Safety`` (as ``safety()``), ``Devices`` (`device_state`, sampled in
    the background at ``Devices Sampled``), ``Queue`` (queued and
    running orders, as ``status``), ``Recent`` (the latest 20 orders),
    ``Latest Frame`` (``{Path, Object, Filter, Exposure, Start, Type,
    Order}``, or empty), ``Log`` (``[number, line]`` pairs, after the
    ``log_after`` argument).
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from torosdrivers.errors import DriverError, UnsupportedError

from torosdrivers.daemons.frame.journal import steps_of, utc_stamp

__all__ = ["Result", "order_status", "device_state", "StatePoller", "parse_stamp"]

log = logging.getLogger(__name__)


def parse_stamp(stamp: str) -> datetime | None:
    """A time of the status API as an aware UTC ``datetime`` (None for an empty one)."""
    if not stamp:
        return None
    return datetime.fromisoformat(stamp.rstrip("Z")).replace(tzinfo=timezone.utc)


@dataclass
class Result:
    """What an order did: the sentence people read, and the structure programs read."""

    summary: str
    details: dict[str, Any] = field(default_factory=dict)


def order_status(row: dict, step: dict | None = None) -> dict[str, Any]:
    """An order as the status API answers it (see the module docstring)."""
    started, finished = parse_stamp(row["started"] or ""), parse_stamp(row["finished"] or "")
    elapsed = ((finished or datetime.now(timezone.utc)) - started).total_seconds() if started else 0.0
    try:
        details = json.loads(row.get("details") or "{}")
    except ValueError:
        details = {}
    return {"ID": row["id"], "State": row["state"], "Priority": row["priority"], "WOType": row["wotype"],
            "Received": row["received"], "Service": row["service"], "Started": row["started"] or "",
            "Finished": row["finished"] or "", "Elapsed": round(max(elapsed, 0.0), 3),
            "Progress": row["progress"] or "", "Steps": [{"At": at, "Text": text} for at, text in steps_of(row)],
            "Step": step if step and row["state"] == "running" else {},
            "Result": row["result"] or "", "Details": details, "Error": row["error"] or ""}


def _read(out: dict[str, Any], key: str, read: Callable[[], Any], *, keep: bool = True) -> Any:
    """One field (kept in ``out`` unless ``keep`` is false) and its value; a member the device lacks is left
    out, a failing one noted; None for either."""
    try:
        value = read()
    except UnsupportedError:
        return None
    except DriverError as exc:
        out.setdefault("Errors", []).append(f"{key}: {exc}"[:200])
        return None
    if value is not None and keep:
        out[key] = value
    return value


def _camera(camera) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _read(out, "State", lambda: camera.state.name.title())
    _read(out, "Temperature", lambda: round(float(camera.temperature.value), 2))
    _read(out, "Set Point", lambda: round(float(camera.target_temperature.value), 2))
    _read(out, "Cooler Power", lambda: round(float(camera.cooler_power), 1))
    _read(out, "Percent Completed", lambda: round(float(camera.percent_completed), 1))
    return out


def _filter_wheel(wheel) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _read(out, "Filter", lambda: wheel.filter or "")
    _read(out, "Moving", lambda: bool(wheel.moving))
    _read(out, "Names", lambda: list(wheel.names))
    return out


def _mount(mount) -> dict[str, Any]:
    out: dict[str, Any] = {}
    # Each read once: a simulated mount's position and altaz are astropy transforms (5 and 9 ms here); read
    # twice each, they were a poll of 33 ms every second, taken from a busy daemon's accepts.
    position = _read(out, "Position", lambda: mount.position, keep=False)
    if position is not None:
        out["RA"], out["Dec"] = round(float(position.ra.deg), 5), round(float(position.dec.deg), 5)
    altaz = _read(out, "Altitude and Azimuth", lambda: mount.altaz, keep=False)
    if altaz is not None:
        out["Altitude"], out["Azimuth"] = round(float(altaz.alt.deg), 3), round(float(altaz.az.deg), 3)
    _read(out, "Tracking", lambda: bool(mount.tracking))
    _read(out, "Slewing", lambda: bool(mount.slewing))
    _read(out, "Parked", lambda: bool(mount.at_park))
    _read(out, "Time", lambda: mount.time.isot + "Z")
    return out


def _dome(dome) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _read(out, "Shutter", lambda: dome.shutter.name.title())
    _read(out, "Azimuth", lambda: round(float(dome.azimuth.value), 2))
    _read(out, "Slewing", lambda: bool(dome.slewing))
    _read(out, "Parked", lambda: bool(dome.at_park))
    _read(out, "Slaved", lambda: bool(dome.slaved))
    return out


_READERS = {"Camera": ("camera", _camera), "Filter Wheel": ("filter_wheel", _filter_wheel),
            "Mount": ("mount", _mount), "Dome": ("dome", _dome)}


def device_state(devices) -> dict[str, Any]:
    """Each configured device's state: ``{"Camera": {"Connected": true, "Name": ..., ...}, ...}``.

    Camera: ``State``, ``Temperature``, ``Set Point`` (C), ``Cooler Power``
    (%), ``Percent Completed``. Filter Wheel: ``Filter``, ``Moving``,
    ``Names``. Mount: ``RA``, ``Dec``, ``Altitude``, ``Azimuth`` (deg),
    ``Tracking``, ``Slewing``, ``Parked``, ``Time``. Dome: ``Shutter``,
    ``Azimuth``, ``Slewing``, ``Parked``, ``Slaved``. A member a device
    lacks is left out; one that fails is named in ``Errors``.
    """
    out: dict[str, Any] = {}
    for kind, (attribute, reader) in _READERS.items():
        device = getattr(devices, attribute, None)
        if device is None:
            continue
        entry: dict[str, Any] = {"Name": device.name, "Connected": bool(device.connected)}
        if device.connected:
            entry |= reader(device)
        out[kind] = entry
    return out


class StatePoller:
    """Samples `device_state` every ``period`` seconds in a thread, so ``state()`` never waits on a device."""

    def __init__(self, devices, period: float = 1.0) -> None:
        self.devices, self.period = devices, float(period)
        self._latest: tuple[str, dict[str, Any]] = ("", {})
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="toros-state", daemon=True)

    def start(self) -> "StatePoller":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def latest(self) -> tuple[str, dict[str, Any]]:
        """The time of the last sample and the sample (``""`` and empty before the first)."""
        return self._latest

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._latest = (utc_stamp(), device_state(self.devices))
            except Exception:  # a reader bug must not end the sampling (or the daemon)
                log.exception("sampling the device state failed")
            self._stop.wait(self.period)
