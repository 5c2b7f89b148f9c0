"""Every key of the configuration: its type, range and meaning, checked at once.

`check` walks a merged configuration against `SCHEMA` and returns every
problem as one line naming the key, the value and what was expected
(misspelled keys get the closest known one). Numbers must be finite (YAML's
``.inf`` and ``.nan`` are refused), ports 1-65535, files where files are
expected. `torosdrivers.config.load_config` turns the lines into one
`ConfigError`; the daemons print each line and exit non-zero.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import os
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

__all__ = ["SCHEMA", "BACKEND_KEYS", "KIND_KEYS", "check"]

Check = Callable[[Any], "str | None"]  # the problem with a value, or None
_EPOCH = "2000-01-01T00:00:00"  # any start, to check relative weather times


def _number(low: float, high: float, *, integer: bool = False, above: bool = False) -> Check:
    def check(value: Any) -> str | None:
        kind = "a whole number" if integer else "a number"
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
            return f"expected {kind}"
        if not math.isfinite(value):
            return f"expected a finite {kind[2:]}"
        if above and not low < value <= high:
            return f"expected {kind} above {low:g}, at most {high:g}"
        if not above and not low <= value <= high:
            return f"expected {kind} from {low:g} to {high:g}"
        return None

    return check


def _optional(check: Check) -> Check:
    return lambda value: None if value is None else check(value)


def _port(value: Any) -> str | None:
    return _number(1, 65535, integer=True)(value) and "expected a port number 1-65535"


def _bool(value: Any) -> str | None:
    return None if isinstance(value, bool) else "expected true or false"


def _text(value: Any) -> str | None:
    return None if isinstance(value, str) else "expected text"


def _words(*choices: str, fold: bool = True) -> Check:
    def check(value: Any) -> str | None:
        ok = isinstance(value, str) and (value.lower() if fold else value) in [c.lower() if fold else c for c in choices]
        return None if ok else f"expected one of {list(choices)}"

    return check


def _ip(value: Any) -> str | None:
    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        return "expected an IP address (e.g. 127.0.0.1)"
    return None


def _networks(value: Any) -> str | None:
    if not isinstance(value, list) or not value:
        return "expected a list of networks, e.g. [127.0.0.0/8, '::1/128']"
    for net in value:
        try:
            ipaddress.ip_network(str(net), strict=False)
        except ValueError:
            return f"{str(net)[:60]!r} is not a network (e.g. 192.168.1.0/24)"
    return None


def _texts(value: Any) -> str | None:
    ok = isinstance(value, list) and all(isinstance(v, str) and v for v in value)
    return None if ok else "expected a list of text, e.g. [toros.local]"


def _file(*, must_exist: bool = False, optional: bool = False) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, str) or (not value and not optional):
            return "expected a file path"
        if not value:
            return None
        path = Path(os.path.expanduser(value))
        if path.is_dir():
            return "is a folder; expected a file"
        if must_exist and not (path.is_file() and os.access(path, os.R_OK)):
            return "no readable file there"
        return None

    return check


def _secret(*, token: bool) -> Check:
    """A token file or TLS key, held as sshd holds its keys: readable, not by every user, a token not empty."""
    readable = _file(must_exist=True, optional=True)

    def check(value: Any) -> str | None:
        problem = readable(value)
        if problem or not value:
            return problem
        path = Path(os.path.expanduser(value))
        mode = path.stat().st_mode & 0o777
        if mode & 0o004:  # the whole path named: the value shown before it may be cut
            return (f"{path} is readable by every user of this machine (mode {mode:o}): 'chmod o-rwx' it, as sshd "
                    "asks of its keys")
        if token and not path.read_bytes().strip():
            return f"{path} is empty: a token file holds one secret line (an empty secret would let anyone in)"
        return None

    return check


def _tls_pair(certificate: str, key: str) -> str | None:
    """Why a certificate and key cannot serve TLS (a garbage file, a key of another certificate), or None."""
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(os.path.expanduser(certificate), os.path.expanduser(key))
    except (ssl.SSLError, OSError, ValueError) as exc:
        return (f"Security: TLS Certificate {certificate!r} and TLS Key {key!r}: cannot be loaded as a PEM "
                f"certificate and its key ({exc})")
    return None


def _folder(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return "expected a folder path"
    path = Path(os.path.expanduser(value))
    return "is a file; expected a folder" if path.exists() and not path.is_dir() else None


def _url(value: Any) -> str | None:
    ok = isinstance(value, str) and (value == "" or value.startswith(("http://", "https://")))
    return None if ok else "expected an http:// or https:// URL, or empty"


def _start(value: Any) -> str | None:
    if value in ("", None):
        return None
    from astropy.time import Time

    try:
        Time(value)
    except (ValueError, TypeError):
        return "expected an ISO 8601 time (e.g. 2026-06-21T03:00:00), or empty for now"
    return None


def _weather(value: Any) -> str | None:
    if not isinstance(value, list):
        return "expected a list of weather steps, e.g. [{at: '+01:00', sky: rain}]"
    if not value:
        return None  # (the simulator and astropy, checked only when there is a step to check)
    from astropy.time import Time

    from torosdrivers.simulators.weather import WeatherTimeline

    try:
        WeatherTimeline(value, start=Time(_EPOCH))
    except (ValueError, TypeError) as exc:
        return str(exc)
    return None


def _names(value: Any) -> str | None:
    if value is None:
        return None
    ok = isinstance(value, list) and all(isinstance(v, str) and v for v in value) and len(set(value)) == len(value)
    return None if ok else "expected a list of distinct filter names"


def _rules(value: Any) -> str | None:
    from torosdrivers.scheduling.priority import rules_from_config

    if not isinstance(value, list):
        return "expected a list of rules, e.g. [{Name: transients, When: {Type of job: Transient}, Priority: 9}]"
    try:
        rules_from_config(value)
    except ValueError as exc:
        return str(exc)
    return None


def _catalogue(value: Any) -> str | None:
    if value in ("auto", "none"):
        return None
    if not isinstance(value, str) or not value:
        return "expected auto (the installed astrometry.net index files), none (a random sky) or a folder"
    return _folder(value)


def _auto_bool(value: Any) -> str | None:
    return None if isinstance(value, bool) or value == "auto" else "expected true, false or auto"


def _offsets(value: Any) -> str | None:
    ok = isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
                                         for k, v in value.items())
    return None if ok else "expected filter name: steps (whole numbers), e.g. {V: 0, R: 35}"


def _optional_folder(value: Any) -> str | None:
    return None if value == "" else _folder(value)


def _optional_text(value: Any) -> str | None:
    return None if isinstance(value, str) else "expected text (empty for the default)"


def _events(value: Any) -> str | None:
    kinds = ("real", "mock", "test")
    ok = isinstance(value, list) and all(v in kinds for v in value) and len(set(value)) == len(value)
    return None if ok else f"expected a list of the event kinds acted upon, of {list(kinds)} (e.g. [real])"


def _alert_rules(value: Any) -> str | None:
    from torosdrivers.alerts.rules import rules_from_config

    try:
        rules_from_config(value)
    except ValueError as exc:
        return str(exc)
    return None


_ADDRESS = {"IP": _ip, "Port": _port}

#: Each section's keys and their checks; a section given as a check is one value.
SCHEMA: dict[str, dict[str, Check] | Check] = {
    "Preprocessor Address": {"HTTP": _url, **_ADDRESS},
    "Telescope Address": _ADDRESS,
    "Dome Address": _ADDRESS,
    "Scheduler Address": _ADDRESS,
    "Alerts Address": _ADDRESS,
    "Device Server": {"Enabled": _bool, **_ADDRESS, "Discovery": _bool, "INDI Port": _optional(_port)},
    "Web": {**_ADDRESS, "Allow Orders": _bool, "Refresh": _number(0.05, 60), "Stale After": _number(1, 3600),
            "Users File": _file(must_exist=True, optional=True)},
    "Scheduler": {"Default Priority": _number(0, 10), "Probability Scale": _number(0, 100),
                  "Priority Rules": _rules, "Minimum Altitude": _number(0, 89), "Maximum Airmass": _number(1, 40),
                  "Moon Separation": _number(0, 180), "Slew Rate": _number(0, 90, above=True),
                  "Settle": _number(0, 3600), "Filter Change": _number(0, 3600), "Readout": _number(0, 3600),
                  "Max Request Bytes": _number(1024, 64 * 2**20, integer=True)},
    "Alerts": {"Catalogue": _file(must_exist=True, optional=True), "Magnitude": _words("B", "K", fold=False),
               "Folder": _optional_folder, "Events": _events, "Pointings": _number(1, 5000, integer=True),
               "Field of View": _number(0, 30, above=True), "Credible Level": _number(0.5, 0.999),
               "Time Critical": _words("significant", "always", "never"), "Rules": _alert_rules,
               "Kafka": _bool, "Kafka Credentials": _secret(token=True), "Kafka Domain": _text,
               "Kafka Servers": _optional_text, "Kafka Topic": _text, "Kafka Group": _text,
               "Kafka From": _words("latest", "earliest"),
               "Max Alert Bytes": _number(1024, 256 * 2**20, integer=True)},
    "Logging": {"File": _file(), "Log Level": _words("DEBUG", "INFO", "WARNING", "ERROR"), "Wire Trace": _bool},
    "Database": {"Journal": _file(), "Catalog": _file()},
    "Data Directory": _folder,
    "Security": {
        "Allowed Networks": _networks, "Allowed Hosts": _texts, "Allowed Origins": _texts,
        "Max Request Bytes": _number(1024, 64 * 2**20, integer=True),
        "Max Connections": _number(1, 4096, integer=True),
        "Client Timeout": _number(0, 3600, above=True),
        "Token File": _secret(token=True),
        "TLS Certificate": _file(must_exist=True, optional=True), "TLS Key": _secret(token=False),
    },
    "Site": {"Name": _text, "Latitude": _number(-90, 90), "Longitude": _number(-180, 360),
             "Elevation": _number(-500, 9000)},
    "Telescope": {"Name": _text, "On Fault": _words("close", "leave"), "Minimum Altitude": _number(0, 89),
                  "Focal Length": _number(1, 1e6, above=True), "Rotation": _number(-360, 360),
                  "Dome Tolerance": _number(0, 90, above=True), "CCD Set Point": _optional(_number(-100, 50)),
                  "CCD Tolerance": _number(0, 20, above=True), "Cooling Timeout": _number(0, 86400, above=True),
                  "CCD Warm Up": _number(-100, 50), "Slit Tolerance": _number(0, 90, above=True),
                  "Pointing Tolerance": _number(0, 600, above=True), "Min Stars": _number(0, 1000, integer=True),
                  "Star Density": _number(0, 1e6), "Max Saturated": _number(0, 1),
                  "Max Retries": _number(0, 100, integer=True)},
    "Simulator": {"Time Scale": _number(0, 1e6, above=True), "Size": _number(8, 16384, integer=True),
                  "Seed": _number(0, 2**32 - 1, integer=True), "Start": _start, "Weather": _weather,
                  "Slaving Dome": _bool, "State File": _optional(_text), "Catalogue": _catalogue,
                  "Mount Errors": _number(0, 100), "Optics": _bool},
    "Acquisition": {"Enabled": _auto_bool, "Tolerance": _number(0, 3600, above=True), "Exposure": _number(0, 600, above=True),
                    "Max Corrections": _number(0, 10, integer=True), "Solve Lights": _bool,
                    "Index Directory": _folder, "Search Radius": _number(0, 180, above=True),
                    "Pointing Model": _file(optional=True), "Apply Model": _bool},
    "Focus": {"Enabled": _bool, "Step": _number(1, 100000, integer=True), "Exposure": _number(0, 600, above=True),
              "Temperature Change": _number(0, 100, above=True), "Filter Offsets": _offsets},
    "Safety": {"Sun Open Altitude": _number(-30, 0), "Sun Close Altitude": _number(-30, 5),
               "Max Rain Rate": _number(0, 1000), "Max Wind Speed": _number(0, 100), "Max Wind Gust": _number(0, 100),
               "Max Humidity": _number(0, 100), "Max Cloud Cover": _number(0, 100),
               "Max Data Age": _number(0, 86400, above=True), "Hold Off": _number(0, 86400),
               "Close Within": _number(0, 3600, above=True), "Check Interval": _number(0, 3600, above=True),
               "Idle Close": _number(0, 86400, above=True)},
}

#: The keys each device backend takes (besides ``Backend``), with their checks.
BACKEND_KEYS: dict[str, dict[str, Check]] = {
    "simulator": {},
    "alpaca": {"Address": _text, "Device Number": _number(0, 1000, integer=True)},
    "lx200": {"Port": _text, "Baud Rate": _number(300, 921600, integer=True)},
    "ddw": {"Port": _text, "Baud Rate": _number(300, 921600, integer=True), "Park Azimuth": _number(0, 360)},
    "qhycfw": {"Port": _text, "Names": _names},
    "moonlite": {"Port": _text, "Baud Rate": _number(300, 921600, integer=True),
                 "Max Step": _number(1, 65535, integer=True), "Step Size": _number(0, 1000, above=True)},
}
BACKEND_KEYS["none"] = {}
BACKEND_KEYS["indi"] = {"Address": _text, "Device": _text}
#: Keys a device kind takes whatever its backend: what a header needs that the device cannot say.
#: (``Electrons Per ADU`` is used where the protocol has no member for it: INDI.)
KIND_KEYS: dict[str, dict[str, Check]] = {"Camera": {"Read Noise": _number(0, 1000, above=True),
                                                     "Electrons Per ADU": _number(0, 1000, above=True)}}
_REQUIRED = {"indi": ("Address", "Device"), "alpaca": ("Address",), "lx200": ("Port",), "ddw": ("Port",), "qhycfw": ("Port",), "moonlite": ("Port",)}
_KINDS = {
    "Camera": ("simulator", "alpaca", "indi"),
    "Filter Wheel": ("simulator", "alpaca", "qhycfw", "indi"),
    "Mount": ("simulator", "alpaca", "lx200", "indi"),
    "Dome": ("simulator", "alpaca", "ddw", "indi"),
    "Safety Monitor": ("simulator", "alpaca", "indi", "none"),
    "Observing Conditions": ("simulator", "alpaca", "indi", "none"),
    "Focuser": ("simulator", "alpaca", "moonlite", "indi", "none"),
}


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _unknown(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(str(key), known, n=1)
    return f"unknown key; did you mean {close[0]!r}?" if close else f"unknown key; expected some of {known}"


def _section(name: str, given: Any, keys: dict[str, Check], problems: list[str]) -> None:
    if not isinstance(given, dict):
        problems.append(f"{name}: {_show(given)}: expected a mapping of {list(keys)}"
                        + ("; an empty section is not allowed (remove it to use the defaults)" if given is None else ""))
        return
    for key, value in given.items():
        if key not in keys:
            problems.append(f"{name}.{key}: {_unknown(key, list(keys))}")
            continue
        problem = keys[key](value)
        if problem:
            problems.append(f"{name}.{key}: {_show(value)}: {problem}")


def _agreement(data: dict[str, Any]) -> list[str]:
    """Problems between keys that are each valid alone."""
    problems: list[str] = []
    pre = data.get("Preprocessor Address")
    if isinstance(pre, dict) and pre.get("HTTP") and not _url(pre["HTTP"]) and not _port(pre.get("Port")):
        parts = urlsplit(pre["HTTP"])
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            port = None
        if port != pre["Port"]:
            problems.append(f"Preprocessor Address: HTTP {pre['HTTP']!r} names port {port} but Port is "
                            f"{pre['Port']}: clients would call another port than the daemon listens on")
        host, ip = parts.hostname or "", str(pre.get("IP", ""))
        if not _ip(host) and not _ip(ip) and ip not in ("0.0.0.0", "::") and \
                ipaddress.ip_address(host) != ipaddress.ip_address(ip):
            problems.append(f"Preprocessor Address: HTTP {pre['HTTP']!r} names {host} but IP is {ip}")
    safety = data.get("Safety")
    if isinstance(safety, dict):
        low, high = safety.get("Sun Open Altitude"), safety.get("Sun Close Altitude")
        if not _number(-90, 90)(low) and not _number(-90, 90)(high) and high < low:
            problems.append(f"Safety: Sun Close Altitude {high:g} is below Sun Open Altitude {low:g}: the dome "
                            "would close as soon as it opened")
    taken: dict[tuple[str, int], str] = {}
    for section in ("Preprocessor Address", "Telescope Address", "Dome Address", "Scheduler Address",
                    "Alerts Address", "Device Server", "Web"):
        entry = data.get(section)
        if not isinstance(entry, dict) or _ip(entry.get("IP")) or _port(entry.get("Port")) or \
                (section == "Device Server" and entry.get("Enabled") is False):
            continue
        where = (str(ipaddress.ip_address(str(entry["IP"]))), int(entry["Port"]))
        if where in taken:
            problems.append(f"{section}: port {where[1]} on {where[0]} is {taken[where]}'s too; give each its own")
        taken.setdefault(where, section)
    alerts = data.get("Alerts")
    if isinstance(alerts, dict) and alerts.get("Kafka") is True and not alerts.get("Kafka Credentials") \
            and not alerts.get("Kafka Servers"):
        problems.append("Alerts: Kafka is on but Kafka Credentials is empty: GCN needs the client_id and "
                        "client_secret it gave (a file of the two lines), or name a broker of your own in "
                        "Kafka Servers")
    server, security = data.get("Device Server"), data.get("Security")
    if isinstance(server, dict) and server.get("INDI Port") is not None and not _port(server["INDI Port"]) \
            and not _ip(server.get("IP")) and server.get("Enabled") is not False:
        ip = ipaddress.ip_address(str(server["IP"]))
        where = (str(ip), int(server["INDI Port"]))
        if where in taken:
            problems.append(f"Device Server: INDI Port {where[1]} on {where[0]} is {taken[where]}'s too; give each "
                            "its own")
        secured = isinstance(security, dict) and (security.get("Token File") or security.get("TLS Certificate"))
        if secured and not ip.is_loopback:
            problems.append(f"Device Server: INDI Port {where[1]} on {ip}: INDI has neither tokens nor TLS, and "
                            "Security sets a Token File or TLS; serve INDI on a loopback IP (reach it through an "
                            "SSH tunnel) or leave INDI Port out")
    return problems


def check(data: dict[str, Any]) -> list[str]:
    """Every problem of a merged configuration, one line each (empty when it is good)."""
    problems: list[str] = []
    for name, spec in SCHEMA.items():
        if isinstance(spec, dict):
            _section(name, data.get(name), spec, problems)
        else:
            problem = spec(data.get(name))
            if problem:
                problems.append(f"{name}: {_show(data.get(name))}: {problem}")
    problems.extend(_agreement(data))
    security = data.get("Security")
    if isinstance(security, dict) and bool(security.get("TLS Certificate")) != bool(security.get("TLS Key")):
        problems.append("Security: TLS Certificate and TLS Key go together; give both or neither")
    elif isinstance(security, dict) and security.get("TLS Certificate") and not any(
            p.startswith(("Security.TLS Certificate", "Security.TLS Key")) for p in problems):
        problem = _tls_pair(str(security["TLS Certificate"]), str(security["TLS Key"]))
        if problem:
            problems.append(problem)
    devices = data.get("Devices")
    if not isinstance(devices, dict):
        return problems + [f"Devices: {_show(devices)}: expected a mapping of {list(_KINDS)}"]
    for kind, device in devices.items():
        if kind not in _KINDS:
            problems.append(f"Devices.{kind}: {_unknown(kind, list(_KINDS))}")
            continue
        backend = device.get("Backend") if isinstance(device, dict) else None
        if backend not in _KINDS[kind]:
            problems.append(f"Devices.{kind}.Backend: {_show(backend)}: expected one of {list(_KINDS[kind])}")
            continue
        _section(f"Devices.{kind}", {k: v for k, v in device.items() if k != "Backend"},
                 {**BACKEND_KEYS[backend], **KIND_KEYS.get(kind, {})}, problems)
        for key in _REQUIRED.get(backend, ()):
            if key not in device:
                problems.append(f"Devices.{kind}.{key}: the {backend} backend needs it")
    return problems
