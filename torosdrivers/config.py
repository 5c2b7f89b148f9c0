"""The one configuration loader: YAML with the TOROS Manager's keys, and the devices it names.

Where the file is: ``--config PATH``, else ``$TOROS_CONFIG``, else
``/etc/toros/toros.conf.yaml``; if none of those exists, the embedded default
(everything on simulators, files under ``~/.toros``). The documented keys
(``Preprocessor Address``, ``Logging``, ``Database``) keep their spelling;
the others follow their style. An invalid file is refused with the key and
the problem.
"""

from __future__ import annotations

import copy
import difflib
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .config_schema import check
from .errors import InvalidValueError

__all__ = ["ConfigError", "DEFAULT_PATH", "DEFAULTS", "KINDS", "WEATHER_KINDS", "weather_kinds", "Config", "config_path", "load_config", "build_devices",
           "build_hardware", "Devices", "focuser_kinds"]

DEFAULT_PATH = Path("/etc/toros/toros.conf.yaml")
_HOME = Path(os.environ.get("TOROS_HOME", Path.home() / ".toros"))

DEFAULTS: dict[str, Any] = {
    "Preprocessor Address": {"HTTP": "http://127.0.0.1:9001", "IP": "127.0.0.1", "Port": 9001},
    "Telescope Address": {"IP": "127.0.0.1", "Port": 9002},
    "Dome Address": {"IP": "127.0.0.1", "Port": 9003},
    "Scheduler Address": {"IP": "127.0.0.1", "Port": 9004},
    "Alerts Address": {"IP": "127.0.0.1", "Port": 9005},
    "Device Server": {"Enabled": True, "IP": "127.0.0.1", "Port": 11111, "Discovery": False,
                      "INDI Port": None},
    "Logging": {"File": str(_HOME / "logs" / "toros.log"), "Log Level": "INFO", "Wire Trace": False},
    "Database": {"Journal": str(_HOME / "journal.sqlite"), "Catalog": str(_HOME / "catalog.sqlite")},
    "Data Directory": str(_HOME / "data"),
    "Security": {"Allowed Networks": ["127.0.0.0/8", "::1/128"], "Allowed Hosts": [], "Allowed Origins": [],
                 "Max Request Bytes": 262144, "Max Connections": 128, "Client Timeout": 10.0,
                 "Token File": "", "TLS Certificate": "", "TLS Key": ""},
    "Site": {"Name": "TOROS", "Latitude": -24.6228, "Longitude": -67.3283, "Elevation": 4650.0},
    "Telescope": {"Name": "TOROS", "On Fault": "close", "Minimum Altitude": 15.0, "Focal Length": 3094.0,
                  "Rotation": 0.0, "Dome Tolerance": 4.0, "CCD Set Point": -20.0, "CCD Tolerance": 1.0,
                  "Cooling Timeout": 1800.0, "CCD Warm Up": 5.0, "Slit Tolerance": 10.0, "Pointing Tolerance": 6.0,
                  "Min Stars": 5, "Star Density": 100.0, "Max Saturated": 0.02, "Max Retries": 5},
    "Web": {"IP": "127.0.0.1", "Port": 8080, "Allow Orders": False, "Refresh": 1.0, "Users File": "",
            "Stale After": 30.0},
    "Scheduler": {"Default Priority": 5.0, "Probability Scale": 10.0, "Priority Rules": [], "Minimum Altitude": 30.0,
                  "Maximum Airmass": 2.0, "Moon Separation": 30.0, "Slew Rate": 3.0, "Settle": 10.0,
                  "Filter Change": 15.0, "Readout": 5.0, "Max Request Bytes": 4 * 2**20},
    "Alerts": {"Catalogue": "", "Magnitude": "B", "Folder": "", "Events": ["real"], "Pointings": 20,
               "Field of View": 1.0, "Credible Level": 0.9, "Time Critical": "significant",
               "Rules": [{"Filter": "R", "Exposure Time": 60.0, "Number of Exposures": 1}],
               "Kafka": False, "Kafka Credentials": "", "Kafka Domain": "gcn.nasa.gov", "Kafka Servers": "",
               "Kafka Topic": "igwn.gwalert", "Kafka Group": "toros", "Kafka From": "latest", "Max Alert Bytes": 16 * 2**20},
    "Simulator": {"Time Scale": 100.0, "Size": 1024, "Seed": 0, "Start": "", "Weather": [], "Slaving Dome": False,
                  "State File": None, "Catalogue": "auto", "Mount Errors": 0.0, "Optics": False},
    "Acquisition": {"Enabled": "auto", "Tolerance": 10.0, "Exposure": 5.0, "Max Corrections": 2,
                    "Solve Lights": True, "Index Directory": "/usr/share/astrometry", "Search Radius": 2.0,
                    "Pointing Model": "", "Apply Model": True},
    "Focus": {"Enabled": False, "Step": 100, "Exposure": 5.0, "Temperature Change": 1.0, "Filter Offsets": {}},
    "Safety": {"Sun Open Altitude": -12.0, "Sun Close Altitude": -10.0, "Max Rain Rate": 0.0, "Max Wind Speed": 12.0,
               "Max Wind Gust": 18.0, "Max Humidity": 90.0, "Max Cloud Cover": 70.0, "Max Data Age": 300.0,
               "Hold Off": 900.0, "Close Within": 60.0, "Check Interval": 10.0, "Idle Close": 1800.0},
    "Devices": {
        "Camera": {"Backend": "simulator"},
        "Filter Wheel": {"Backend": "simulator"},
        "Mount": {"Backend": "simulator"},
        "Dome": {"Backend": "simulator"},
        "Safety Monitor": {"Backend": "simulator"},
        "Observing Conditions": {"Backend": "simulator"},
        "Focuser": {"Backend": "simulator"},
    },
}

class ConfigError(InvalidValueError):
    """A configuration that cannot be used: names the file, the key and the problem."""


def config_path(cli: str | os.PathLike | None = None) -> Path | None:
    """The configuration file to read, or None for the embedded default."""
    for candidate in (cli, os.environ.get("TOROS_CONFIG")):
        if candidate:
            return Path(candidate)
    return DEFAULT_PATH if DEFAULT_PATH.exists() else None


def _merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


@dataclass
class Config:
    """A validated configuration: ``config["Logging"]["Log Level"]`` and typed helpers."""

    data: dict[str, Any]
    source: str

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def address(self, service: str) -> tuple[str, int]:
        """``(IP, Port)`` of ``"Preprocessor"``, ``"Telescope"``, ``"Dome"``, ``"Scheduler"`` or ``"Alerts"``."""
        section = self.data[f"{service} Address"]
        return str(section["IP"]), int(section["Port"])

    def url(self, service: str) -> str:
        """The XML-RPC URL a client uses to reach a service (``https:`` when TLS is configured)."""
        section = self.data[f"{service} Address"]
        scheme = "https" if self.data["Security"]["TLS Certificate"] else "http"
        if service == "Preprocessor" and section.get("HTTP"):
            return scheme + ":" + str(section["HTTP"]).partition(":")[2]
        host, port = self.address(service)
        return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"

    @property
    def device_server(self) -> str | None:
        """``host:port`` of the device server when the daemons reach their devices through it, else None."""
        section = self.data["Device Server"]
        if not section["Enabled"]:
            return None
        host = str(section["IP"])
        return f"[{host}]:{section['Port']}" if ":" in host else f"{host}:{section['Port']}"

    @property
    def site(self):
        """The observatory (``Site``) as an astropy ``EarthLocation``."""
        import astropy.units as u
        from astropy.coordinates import EarthLocation

        site = self.data["Site"]
        return EarthLocation.from_geodetic(site["Longitude"] * u.deg, site["Latitude"] * u.deg, site["Elevation"] * u.m)

    def token(self) -> str | None:
        """The shared secret of ``Security.Token File`` (its one line), or None when none is configured."""
        path = self.data["Security"]["Token File"]
        return Path(path).read_text().strip() if path else None

    @property
    def allowed_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(n, strict=False) for n in self.data["Security"]["Allowed Networks"]]


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Read, merge over the defaults, and check a configuration.

    Parameters
    ----------
    path
        The file; None looks in the usual places (`config_path`).

    Raises
    ------
    ConfigError
        The file cannot be read or parsed, or a key holds a bad value.
    """
    chosen = Path(path) if path is not None else config_path()
    if chosen is None:
        return _check(copy.deepcopy(DEFAULTS), "embedded default")
    try:
        size = chosen.stat().st_size
        if size > MAX_CONFIG_BYTES:  # a configuration is a few kilobytes; 60 MB of YAML is 20 s of CPU
            raise ConfigError(f"{chosen}: {size} bytes; a configuration is at most {MAX_CONFIG_BYTES} bytes")
        loaded = yaml.safe_load(chosen.read_text()) or {}
    except OSError as exc:
        raise ConfigError(f"{chosen}: cannot read the configuration: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{chosen}: not a text file (byte {exc.start} is not UTF-8)") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{chosen}: {_yaml_problem(exc)}") from None
    except RecursionError:
        raise ConfigError(f"{chosen}: nested too deep to be a configuration") from None
    if nesting_depth(loaded, MAX_CONFIG_DEPTH + 1) > MAX_CONFIG_DEPTH:
        raise ConfigError(f"{chosen}: nested deeper than {MAX_CONFIG_DEPTH} levels; a configuration is not")
    if not isinstance(loaded, dict):
        raise ConfigError(f"{chosen}: expected a mapping of sections at the top, got {type(loaded).__name__}")
    unknown = [key for key in loaded if key not in DEFAULTS]
    if unknown:
        lines = []
        for key in unknown:
            close = difflib.get_close_matches(str(key), list(DEFAULTS), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"expected some of {sorted(DEFAULTS)}"
            lines.append(f"{chosen}: {str(key)[:60]!r}: unknown section; {hint}")
        raise ConfigError("\n".join(lines))
    return _check(_merge(DEFAULTS, loaded), str(chosen))


#: Bounds on a configuration file: its size and how deep its values nest.
MAX_CONFIG_BYTES = 1 << 20
MAX_CONFIG_DEPTH = 20


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """A YAML error as one line with its line and column (PyYAML's are four or five)."""
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    return f"not valid YAML: {where}{what}" + (f" ({context})" if context else "")


def nesting_depth(value: object, limit: int) -> int:
    """How deep ``value`` nests, counted no further than ``limit`` (no recursion: a hostile file is deep)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth >= limit:
            return depth
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def _check(data: dict, source: str) -> Config:
    problems = check(data)
    if problems:
        raise ConfigError("\n".join(f"{source}: {line}" for line in problems))
    data["Logging"]["Log Level"] = data["Logging"]["Log Level"].upper()
    return Config(data, source)


@dataclass
class Devices:
    """The devices a configuration names (unconnected)."""

    camera: Any
    filter_wheel: Any
    mount: Any
    dome: Any
    observatory: Any = None  # the in-process simulator, when any device uses it
    safety: Any = None  # the SafetyMonitor, if one is configured
    conditions: Any = None  # the ObservingConditions, if one is configured
    focuser: Any = None  # the Focuser, if one is configured

    def all(self) -> list:
        """The devices an observation drives (the weather devices are the safety supervisor's)."""
        return [d for d in (self.mount, self.dome, self.filter_wheel, self.camera) if d is not None]

    def weather(self) -> list:
        return [d for d in (self.safety, self.conditions) if d is not None]


KINDS = ("Camera", "Filter Wheel", "Mount", "Dome")
WEATHER_KINDS = ("Safety Monitor", "Observing Conditions")


def focuser_kinds(config: Config) -> tuple[str, ...]:
    """``("Focuser",)`` when the configuration has a focuser (``Backend: none`` has none)."""
    return ("Focuser",) if config["Devices"]["Focuser"]["Backend"] != "none" else ()


def weather_kinds(config: Config) -> tuple[str, ...]:
    """The weather kinds the configuration has a backend for (``none`` leaves one out)."""
    return tuple(k for k in WEATHER_KINDS if config["Devices"][k]["Backend"] != "none")


def build_devices(config: Config, kinds: tuple[str, ...] = KINDS) -> Devices:
    """The devices a daemon or script uses: through the device server when it is enabled.

    With ``Device Server: {Enabled: true}`` (the default) every device is an
    Alpaca client of ``toros-devices``, which alone opens the hardware (one
    owner per device); otherwise the configured backends themselves
    (`build_hardware`).
    """
    address = config.device_server
    if address is None:
        return build_hardware(config, kinds)
    built = {kind: _ALPACA[kind]()(address, 0) for kind in kinds}
    token, certificate = config.token(), config["Security"]["TLS Certificate"] or None
    for device in built.values():  # the device server applies the daemons' Security rules: so do its clients
        device.use_security(token, certificate)
    return _finish(config, built, None)


def _lazy_class(module: str, name: str):
    def load():
        import importlib

        return getattr(importlib.import_module(module, __package__), name)

    return load


#: The INDI backend of each kind that has one (``Backend: indi``, ``Address``, ``Device``).
_INDI = {"Camera": _lazy_class(".ccd.indi", "IndiCamera"),
         "Filter Wheel": _lazy_class(".ccd.indi", "IndiFilterWheel"),
         "Mount": _lazy_class(".mount.indi", "IndiMount"),
         "Dome": _lazy_class(".dome.indi", "IndiDome"),
         "Safety Monitor": _lazy_class(".weather.indi", "IndiSafetyMonitor"),
         "Observing Conditions": _lazy_class(".weather.indi", "IndiObservingConditions"),
         "Focuser": _lazy_class(".focuser.indi", "IndiFocuser")}

_ALPACA = {"Camera": _lazy_class(".ccd.alpaca", "AlpacaCamera"),
           "Filter Wheel": _lazy_class(".ccd.alpaca", "AlpacaFilterWheel"),
           "Mount": _lazy_class(".mount.alpaca", "AlpacaMount"),
           "Dome": _lazy_class(".dome.alpaca", "AlpacaDome"),
           "Safety Monitor": _lazy_class(".weather.alpaca", "AlpacaSafetyMonitor"),
           "Observing Conditions": _lazy_class(".weather.alpaca", "AlpacaObservingConditions"),
           "Focuser": _lazy_class(".focuser.alpaca", "AlpacaFocuser")}


def _mount_errors(sim: dict) -> dict[str, float] | None:
    """The simulated mount's TPOINT terms: ``Mount Errors`` times a typical mount's, seeded by ``Seed``."""
    scale = float(sim.get("Mount Errors") or 0.0)
    if not scale:
        return None
    from .simulators.mount import typical_errors

    return typical_errors(int(sim.get("Seed", 0)), scale)


def build_hardware(config: Config, kinds: tuple[str, ...] = KINDS) -> Devices:
    """Construct the configured backend of each device kind asked for (what ``toros-devices`` owns)."""
    from .ccd.wcs import plate_scale

    section = config["Devices"]
    site = config["Site"]
    built: dict[str, Any] = {}
    observatory = None
    for kind in kinds:
        spec = section[kind]
        backend = spec["Backend"]
        if backend == "simulator":
            if observatory is None:
                from .simulators import SimulatedObservatory
                from .simulators.optics import Optics

                sim = config["Simulator"]
                location = config.site
                observatory = SimulatedObservatory(
                    time_scale=float(sim["Time Scale"]), seed=int(sim["Seed"]), width=int(sim["Size"]),
                    height=int(sim["Size"]), site=location, start=sim.get("Start") or None,
                    telescope=config["Telescope"]["Name"], observatory=str(site["Name"]),
                    plate_scale=plate_scale(15.0, float(config["Telescope"]["Focal Length"])),
                    weather=list(sim.get("Weather") or []), slaving_dome=bool(sim.get("Slaving Dome")),
                    catalogue=None if sim.get("Catalogue", "auto") == "none" else sim.get("Catalogue", "auto"),
                    mount_errors=_mount_errors(sim), optics=Optics() if sim.get("Optics") else None)
            built[kind] = {"Camera": observatory.camera, "Filter Wheel": observatory.filter_wheel,
                           "Mount": observatory.mount, "Dome": observatory.dome, "Safety Monitor": observatory.safety,
                           "Observing Conditions": observatory.conditions, "Focuser": observatory.focuser}[kind]
        elif backend == "none":
            continue
        elif backend == "alpaca":
            built[kind] = _ALPACA[kind]()(spec["Address"], int(spec.get("Device Number", 0)))
        elif backend == "lx200":
            from .mount.lx200 import LX200Mount

            built[kind] = LX200Mount(spec["Port"], baudrate=int(spec.get("Baud Rate", 9600)),
                                     elevation=float(site["Elevation"]))
        elif backend == "ddw":
            from .dome.ddw import DDWDome

            built[kind] = DDWDome(spec["Port"], baudrate=int(spec.get("Baud Rate", 9600)),
                                  park_azimuth=float(spec.get("Park Azimuth", 0.0)))
        elif backend == "qhycfw":
            from .ccd.qhycfw import QHYFilterWheel

            built[kind] = QHYFilterWheel(spec["Port"], names=spec.get("Names"))
        elif backend == "moonlite":
            from .focuser.moonlite import MoonliteFocuser

            built[kind] = MoonliteFocuser(spec["Port"], baudrate=int(spec.get("Baud Rate", 9600)),
                                          max_step=int(spec.get("Max Step", 65535)), step_size=spec.get("Step Size"))
        elif backend == "indi":
            # An INDI mount is told the configured site, as Ekos tells it (its driver's JNow and horizon agree)
            extra = {"site": config.site} if kind == "Mount" else {}
            if kind == "Camera" and "Electrons Per ADU" in spec:
                extra = {"electrons_per_adu": float(spec["Electrons Per ADU"])}
            built[kind] = _INDI[kind]()(spec["Address"], spec["Device"], **extra)
    return _finish(config, built, observatory)


def _finish(config: Config, built: dict[str, Any], observatory: Any) -> Devices:
    from .ccd.context import FrameContext

    mount = built.get("Mount")
    if mount is not None:
        mount.min_altitude = float(config["Telescope"]["Minimum Altitude"])
    camera = built.get("Camera")
    if observatory is not None and camera is observatory.camera:
        # One world: the simulated camera sees through the devices configured beside it, a serial dome or an
        # Alpaca mount included, not through simulated ones that nothing drives.
        for attribute, kind in (("dome", "Dome"), ("mount", "Mount"), ("filter_wheel", "Filter Wheel")):
            if built.get(kind) is not None:
                setattr(camera, attribute, built[kind])
    if camera is not None:
        noise = config["Devices"]["Camera"].get("Read Noise")
        if noise is not None:
            camera.stated_read_noise = float(noise)
        site = config["Site"]
        camera.context = FrameContext(
            telescope=config["Telescope"]["Name"], mount=mount, filter_wheel=built.get("Filter Wheel"),
            focuser=built.get("Focuser"),
            observatory=str(site["Name"]), focal_length=float(config["Telescope"]["Focal Length"]),
            rotation=float(config["Telescope"]["Rotation"]), site=config.site)
    return Devices(built.get("Camera"), built.get("Filter Wheel"), mount, built.get("Dome"), observatory,
                   built.get("Safety Monitor"), built.get("Observing Conditions"), built.get("Focuser"))
