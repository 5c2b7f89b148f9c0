"""What the observatory did while a light frame was exposed, and whether sky from the target reached it.

A camera reports an exposure as taken whatever stood in front of it: a
shutter closed by another client, a mount parked under the exposure, a slit
turned away. `ExposureWatch` samples the dome, the mount and the camera at the
start of an exposure, every ``period`` seconds during it and at its end, and
checks each sample against `Limits`:

- the camera is not in its Error state;
- the shutter is open;
- the slit faces the telescope (the azimuths agree within ``slit``
  degrees; above ``zenith`` degrees of altitude the slit runs over the
  telescope whatever its azimuth);
- the mount is unparked, not slewing, tracking, and points within
  ``pointing`` degrees of the target.

The first breach of each kind is kept with the observatory time it was seen,
and the watch's ``on_breach`` is called at once (the telescope daemon aborts
the exposure and interrupts the order: whoever moved the devices, the frame
would be blind). The record is written into the frame's header
(`ExposureRecord.cards`) so the file itself says what was checked.

Any backend works: the watch only reads the `Dome`, `Mount` and `Camera`
interfaces (Alpaca, serial or simulated), from its own thread, as the
status poller and the dome slaving do.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Callable

from astropy.coordinates import SkyCoord
from astropy.time import Time

from torosdrivers.ccd.base import CameraState
from torosdrivers.dome import ShutterState
from torosdrivers.errors import DriverError

__all__ = ["Limits", "Sample", "ExposureRecord", "ExposureWatch", "sample_observatory"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    """What a light exposure must keep to.

    Parameters
    ----------
    slit
        Degrees the dome's azimuth may differ from the telescope's (about the
        slit's half-width seen from the telescope).
    pointing
        Degrees the mount may point away from the target.
    zenith
        Above this altitude (degrees) the slit covers the telescope at any azimuth.
    """

    slit: float = 10.0
    pointing: float = 0.1
    zenith: float = 80.0


@dataclass(frozen=True)
class Sample:
    """The observatory at one instant of an exposure (None: the device did not answer)."""

    when: str  # "start", "during" or "end"
    at: Time
    shutter: ShutterState | None
    slit_offset: float | None  # degrees, telescope azimuth minus dome azimuth, -180..180
    altitude: float | None
    tracking: bool | None
    slewing: bool | None
    parked: bool | None
    pointing_error: float | None  # degrees from the target
    camera: CameraState | None = None  # None: no camera given, or it did not answer
    error: str = ""  # what could not be read

    def breaches(self, limits: Limits) -> list[tuple[str, str]]:
        """``(kind, sentence)`` for every limit this sample breaks."""
        out = []
        if self.error:
            out.append(("unreadable", f"the devices could not be read: {self.error}"))
        if self.camera == CameraState.ERROR:
            out.append(("camera", "the camera was in its Error state"))
        # The mount first: a mount moved away also leaves the slit behind, and the cause is worth naming first.
        if self.parked:
            out.append(("parked", "the mount was parked"))
        if self.slewing:
            out.append(("slewing", "the mount was slewing"))
        if self.tracking is False:
            out.append(("tracking", "the mount was not tracking"))
        if self.pointing_error is not None and self.pointing_error > limits.pointing:
            out.append(("pointing", f"the mount pointed {self.pointing_error:.3f} deg from the target "
                                    f"(at most {limits.pointing:g})"))
        if self.shutter is not None and self.shutter != ShutterState.OPEN:
            out.append(("shutter", f"the dome shutter was {self.shutter.name.lower()}"))
        if (self.slit_offset is not None and self.altitude is not None and self.altitude <= limits.zenith
                and abs(self.slit_offset) > limits.slit):
            out.append(("slit", f"the slit was {abs(self.slit_offset):.1f} deg from the telescope's azimuth "
                                f"(at most {limits.slit:g})"))
        return out


def _read(what: Callable[[], object], errors: list[str], name: str):
    try:
        return what()
    except DriverError as exc:
        errors.append(f"{name}: {exc}")
        return None


def sample_observatory(dome, mount, target: SkyCoord, when: str, camera=None) -> Sample:
    """Read what a light exposure depends on from ``dome`` (None: open air), ``mount`` and ``camera`` (None: not
    sampled)."""
    errors: list[str] = []
    state = None if camera is None else _read(lambda: CameraState(camera.state), errors, "camera state")
    at = _read(lambda: mount.time, errors, "mount time") or Time.now()
    altaz = _read(lambda: mount.altaz, errors, "mount alt/az")
    position = _read(lambda: mount.position, errors, "mount position")
    shutter = slit = None
    if dome is not None:
        shutter = _read(lambda: dome.shutter, errors, "dome shutter")
        azimuth = _read(lambda: float(dome.azimuth.value), errors, "dome azimuth")
        if azimuth is not None and altaz is not None:
            slit = (float(altaz.az.deg) - azimuth + 180.0) % 360.0 - 180.0
    return Sample(
        when=when, at=at, shutter=shutter, slit_offset=slit,
        altitude=None if altaz is None else float(altaz.alt.deg),
        tracking=_read(lambda: bool(mount.tracking), errors, "mount tracking"),
        slewing=_read(lambda: bool(mount.slewing), errors, "mount slewing"),
        parked=_read(lambda: bool(mount.at_park), errors, "mount at park"),
        pointing_error=None if position is None else float(position.separation(target).deg), camera=state,
        error=errors[0] + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else "") if errors else "")


@dataclass
class ExposureRecord:
    """The samples of one exposure and the breaches found in them."""

    target: SkyCoord
    limits: Limits
    samples: list[Sample] = field(default_factory=list)
    #: kind -> the first breach of that kind, with the observatory time and the moment it was seen.
    breaches: dict[str, str] = field(default_factory=dict)

    def add(self, sample: Sample) -> list[str]:
        """Keep ``sample``; returns the sentences of the breaches it is the first to show."""
        self.samples.append(sample)
        new = []
        for kind, sentence in sample.breaches(self.limits):
            if kind not in self.breaches:
                moment = {"start": "at the start of", "during": "during", "end": "at the end of"}[sample.when]
                self.breaches[kind] = f"{sentence} ({moment} the exposure, {sample.at.utc.isot[11:19]} UTC)"
                new.append(self.breaches[kind])
        return new

    @property
    def ok(self) -> bool:
        """Whether every sample kept to the limits."""
        return not self.breaches

    @property
    def problems(self) -> list[str]:
        return list(self.breaches.values())

    def worst(self) -> dict[str, float]:
        """The largest slit offset and pointing error seen (degrees)."""
        slit = [abs(s.slit_offset) for s in self.samples if s.slit_offset is not None]
        point = [s.pointing_error for s in self.samples if s.pointing_error is not None]
        return {"Slit": round(max(slit), 3) if slit else -1.0, "Pointing": round(max(point), 4) if point else -1.0}

    def cards(self) -> dict[str, object]:
        """Header cards: how many samples, the worst offsets, and the record's verdict."""
        worst = self.worst()
        return {"CHKSAMPL": len(self.samples), "CHKSLIT": worst["Slit"], "CHKPOINT": worst["Pointing"],
                "CHKREC": "PASSED" if self.ok else "FAILED"}


class ExposureWatch:
    """Samples the observatory through one light exposure (a context manager around it).

    Parameters
    ----------
    dome
        The dome (None for a telescope in the open air).
    mount
        The mount.
    target
        Where the exposure must point.
    camera
        The camera taking the exposure (None: not sampled).
    limits
        What the exposure must keep to.
    period
        Real seconds between samples during the exposure.
    on_breach
        Called from the watch's thread with the sentence of each new breach.

    Examples
    --------
    >>> with ExposureWatch(dome, mount, target, period=1.0) as watch:   # doctest: +SKIP
    ...     frame = camera.expose(30)
    >>> watch.record.ok                                                 # doctest: +SKIP
    True
    """

    def __init__(self, dome, mount, target: SkyCoord, *, camera=None, limits: Limits = Limits(), period: float = 1.0,
                 on_breach: Callable[[str], None] | None = None) -> None:
        self.dome, self.mount, self.camera, self.target = dome, mount, camera, target
        self.period = float(period)
        self.on_breach = on_breach
        self.record = ExposureRecord(target, limits)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="toros-exposure-watch", daemon=True)

    def sample(self, when: str) -> None:
        """Take one sample now; report its new breaches."""
        taken = sample_observatory(self.dome, self.mount, self.target, when, self.camera)
        with self._lock:
            new = self.record.add(taken)
        for sentence in new:
            if self.on_breach is not None:
                try:
                    self.on_breach(sentence)
                except Exception:  # the watch must keep watching whatever the callback does
                    log.exception("exposure watch: on_breach failed")

    def __enter__(self) -> "ExposureWatch":
        self.sample("start")
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        if exc_info[0] is None:
            self.sample("end")

    def _watch(self) -> None:
        while not self._stop.wait(self.period):
            self.sample("during")
