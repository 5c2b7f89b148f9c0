"""`SimulatedObservatory`: camera, filter wheel, mount and dome in one world."""

from __future__ import annotations

from pathlib import Path

from astropy.coordinates import EarthLocation
from astropy.time import Time

from torosdrivers.ccd.context import FrameContext
from torosdrivers.ccd.wcs import focal_length
from torosdrivers.coords import TOROS_SITE, from_altaz

from .camera import SimulatedCamera
from .catalogue import CatalogueSky, index_files
from .clock import SimClock
from .dome import SimulatedDome
from .filterwheel import DEFAULT_FILTERS, SimulatedFilterWheel
from .focuser import SimulatedFocuser
from .optics import Optics
from .mount import SimulatedMount
from .sensor import Sensor, SensorSpec
from .sky import StarField
from .weather import SimulatedObservingConditions, SimulatedSafetyMonitor, WeatherTimeline

__all__ = ["SimulatedObservatory"]


class SimulatedObservatory:
    """A whole simulated observatory sharing one clock and one sky.

    Parameters
    ----------
    time_scale
        Device seconds per real second; ``math.inf`` for instant motion.
    seed
        Fixes the sky, the sensor's defects and the noise sequence.
    site
        Where the observatory stands (TOROS, Cordón Macón, by default).
    start
        UTC at which the clock starts, a ``Time`` or ISO string (now by default).
    width, height
        Sensor size in pixels (4096 x 4096 by default; tests use less).
    filters
        Filter names in the wheel.
    star_density
        Stars per square degree down to magnitude 20.
    telescope, observer, observatory
        ``TELESCOP``, ``OBSERVER`` and ``OBSERVAT`` for the headers.
    weather
        A `WeatherTimeline`, its steps (a list), or YAML text or a file; a
        clear night when not given. It drives `conditions` (ObservingConditions),
        `safety` (SafetyMonitor) and the camera's clouds.
    slaving_dome
        Give the dome a slaving controller (ASCOM ``CanSlave``): slaved, it
        follows the telescope by itself.
    optics
        `Optics` that can be out of focus (the stars blur as the focuser leaves
        best focus, which drifts with the temperature); None (the default): the
        stars are always sharp, whatever the focuser does.
    catalogue
        ``"auto"``: the real stars of the astrometry.net index files installed
        (Debian's folder), so frames plate-solve; a folder: those index files;
        None (the default), or nothing installed: the seeded random field.
    mount_errors
        The simulated mount's pointing errors, TPOINT terms in arcsec (see
        `SimulatedMount`, `typical_errors`), with 2" RMS per slew that no model
        removes; None: it points perfectly.
    sensor
        Further `SensorSpec` fields (read noise, gain, plate scale...).

    Examples
    --------
    >>> with SimulatedObservatory(time_scale=1000, width=512, height=512) as obs:
    ...     frame = obs.camera.expose(0.0, light=False)
    """

    def __init__(
        self,
        *,
        time_scale: float = 1.0,
        seed: int = 0,
        site: EarthLocation = TOROS_SITE,
        start: Time | str | None = None,
        width: int = 4096,
        height: int = 4096,
        filters: tuple[str, ...] = DEFAULT_FILTERS,
        star_density: float = 1500.0,
        telescope: str = "TOROS-SIM",
        observer: str = "",
        observatory: str = "TOROS (simulated)",
        weather: "WeatherTimeline | list | str | None" = None,
        slaving_dome: bool = False,
        optics: Optics | None = None,
        catalogue: "str | Path | None" = None,
        mount_errors: "dict[str, float] | None" = None,
        **sensor: object,
    ) -> None:
        self.clock = SimClock(time_scale, start)
        self.site = site
        self.seed = seed
        files = index_files(None if catalogue in (None, "auto") else catalogue) if catalogue is not None else []
        #: Whether the sky shows real catalogue stars (frames solve) rather than the random field.
        self.catalogue = bool(files)
        self.stars = CatalogueSky(files, seed, density=star_density) if files else StarField(seed, density=star_density)
        spec = SensorSpec(width=width, height=height, **sensor)  # type: ignore[arg-type]
        timeout = 300.0 if time_scale < 100 else 30.0
        self.mount = SimulatedMount(self.clock, site, seed=seed, timeout=timeout, errors=mount_errors,
                                    repeatability=2.0 if mount_errors else 0.0)
        self.dome = SimulatedDome(self.clock, timeout=timeout)
        self.dome.slave_to = self.mount if slaving_dome else None
        self.filter_wheel = SimulatedFilterWheel(self.clock, tuple(filters), timeout=timeout)
        if isinstance(weather, WeatherTimeline):
            self.weather = weather
        elif isinstance(weather, (str, Path)):
            self.weather = WeatherTimeline.from_yaml(weather, start=self.clock.start)
        else:
            self.weather = WeatherTimeline(list(weather or []), start=self.clock.start)
        self.conditions = SimulatedObservingConditions(self.clock, self.weather, timeout=timeout)
        self.safety = SimulatedSafetyMonitor(self.clock, self.weather, timeout=timeout)
        # Its probe reads the air the weather station reads
        self.focuser = SimulatedFocuser(self.clock, temperature=lambda: self.weather.at(self.clock.now()).Temperature,
                                        timeout=timeout)
        self.camera = SimulatedCamera(
            self.clock,
            Sensor(spec, seed, self.stars),
            mount=self.mount,
            filter_wheel=self.filter_wheel,
            dome=self.dome,
            weather=self.weather,
            focuser=self.focuser,
            optics=optics,
            seed=seed,
            timeout=timeout,
            context=FrameContext(
                telescope=telescope, observer=observer, mount=self.mount, filter_wheel=self.filter_wheel,
                focuser=self.focuser,
                focal_length=focal_length(spec.pixel_um, spec.plate_scale), observatory=observatory,
            ),
        )

    @property
    def devices(self) -> tuple:
        """All seven devices, mount first."""
        return (self.mount, self.dome, self.filter_wheel, self.camera, self.conditions, self.safety, self.focuser)

    def open_on_sky(self, altitude: float = 60.0, azimuth: float = 100.0, filter_name: str = "V") -> None:
        """Unpark and track at ``(altitude, azimuth)``, open the dome towards it, put ``filter_name`` in the beam:
        ready for a light of a starry field (the tests, the benchmarks)."""
        self.mount.unpark()
        self.mount.tracking = True
        self.mount.slew_to(from_altaz(altitude, azimuth, self.mount.time, self.mount.site))
        self.dome.open_shutter()
        self.dome.slew_to_azimuth(self.mount.altaz.az.deg % 360.0)
        self.filter_wheel.select(filter_name)

    def rain_on_open_dome(self) -> list[tuple[Time, Time]]:
        """When rain fell while the shutter was not closed: what a safe observatory never lets happen."""
        wet = []
        for opened, closed in self.dome.open_spans():
            wet.extend(self.weather.rain_between(opened, closed))
        return wet

    def connect(self) -> None:
        """Connect every device."""
        for device in self.devices:
            device.connect()

    def disconnect(self) -> None:
        """Disconnect every device."""
        for device in reversed(self.devices):
            device.disconnect()

    def __enter__(self) -> "SimulatedObservatory":
        self.connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.disconnect()
