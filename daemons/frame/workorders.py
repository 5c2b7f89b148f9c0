"""Work orders: the TOROS Manager's dictionaries, checked before anything happens.

Keys are matched exactly as the TOROS documentation spells them. A bad order
raises `WorkOrderError`, which the daemons send as an XML-RPC Fault whose
code says why and whose message names the field, the value and what was
expected.
"""

from __future__ import annotations

import difflib
import ast
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlparse

from astropy.coordinates import SkyCoord

from torosdrivers.coords import dec_degrees, ra_degrees
from torosdrivers.dome.actions import check_parameters
from torosdrivers.errors import InvalidValueError
from torosdrivers.httpguard import shorten  # one place: refusals everywhere cut values the same way

__all__ = [
    "FAULT_INVALID", "FAULT_UNSUPPORTED", "FAULT_DEVICE", "FAULT_UNKNOWN_ORDER", "FAULT_SERVER",
    "WorkOrderError", "every_problem", "COMMON_KEYS", "OBSERVATION_KEYS", "DOME_COMMANDS",
    "Order", "Observation", "DomeOrder", "CalibrationOrder", "FocusOrder", "PointingOrder", "FOCUS_KEYS",
    "POINTING_KEYS", "validate_focus", "validate_pointing",
    "validate_observation", "validate_dome", "validate_calibration", "DEFAULT_PRIORITY",
    "EXAMPLE_OBSERVATION", "EXAMPLE_DOME", "MAX_ID_CHARS", "MAX_DERIVED_ID_CHARS", "MAX_TEXT_CHARS", "DERIVED_ID_SUFFIX", "shorten",
    "NUMERIC_KEYS", "ANGLE_KEYS", "typed_value",
    "SCHEDULING_KEYS", "TARGET_KEYS", "TARGET_LIST_KEYS", "MAX_TARGETS", "Target", "ScheduledOrder",
    "validate_scheduled", "AlertOrder", "ALERT_KEYS", "validate_alert",
]

#: Fault codes.
FAULT_INVALID = 1  # a field is missing, unknown or has a bad value
FAULT_UNSUPPORTED = 2  # a device action the device does not list
FAULT_DEVICE = 3  # a device fault (in status, for a failed order)
FAULT_UNKNOWN_ORDER = 4  # status/cancel of an ID never received
FAULT_SERVER = 5  # an unexpected error in the daemon

DEFAULT_PRIORITY = 5.0
#: The most an ID may hold: the hand-off IDs derived from it (``<ID>/calibration``) must fit in 128.
MAX_ID_CHARS = 112
#: The most a derived ID (the preprocessor's orders) may hold.
MAX_DERIVED_ID_CHARS = 128
#: The ID a telescope order's calibration hand-off takes (``ID + DERIVED_ID_SUFFIX``).
DERIVED_ID_SUFFIX = "/calibration"
#: The most a text field (User, Type of object, ...) may hold.
MAX_TEXT_CHARS = 256

#: The Observation work order of the TOROS documentation, verbatim.
EXAMPLE_OBSERVATION = {
    "ID": "1", "WOType": "Observation", "Priority": 1.3, "Datetime": "2019-03-05T14:34:54.234",
    "User": "Main Module", "Telescope Name": "CTMO", "RA": 23.1, "Dec": 13.2, "Filter": "I",
    "Exposure Time": 30.0, "Number of Exposures": 1, "Type of job": "Research", "Type of object": "Galaxy",
    "Calibration Frames": "Yes", "Output": "Analysis",
}
#: The Dome work order of the TOROS documentation, verbatim.
EXAMPLE_DOME = {"ID": "1", "WOType": "Dome", "Priority": 2, "Datetime": "2019-03-05T14:34:54.234",
                "User": "John Doe", "Blink01": True}
COMMON_KEYS = ("ID", "WOType", "Priority", "Datetime", "User", "Deadline")
OBSERVATION_KEYS = COMMON_KEYS + (
    "Telescope Name", "RA", "Dec", "Filter", "Exposure Time", "Number of Exposures",
    "Type of job", "Type of object", "Calibration Frames", "Output", "Object", "Resume", "Autofocus", "Acquire",
)
#: A Focus order: autofocus now, on a field (the zenith's by default) in a filter (the one in the beam by default).
FOCUS_KEYS = COMMON_KEYS + ("RA", "Dec", "Filter", "Exposure Time", "Step")
#: A Pointing Model order: solve a grid of positions over the sky and fit the mount's model to them.
POINTING_KEYS = COMMON_KEYS + ("Points", "Filter", "Exposure Time", "Minimum Altitude")
DOME_COMMANDS = ("Shutter", "Azimuth", "Park", "Home")
CALIBRATION_KEYS = COMMON_KEYS + ("Request", "File Location")


#: Keys whose values are numbers (``toros --set`` types them; every other key's value stays text).
NUMERIC_KEYS = ("Priority", "Exposure Time", "Number of Exposures", "Azimuth")
#: Keys that are numbers when written as one and sexagesimal text otherwise.
ANGLE_KEYS = ("RA", "Dec")


def typed_value(key: str, text: str) -> object:
    """A work-order value written on a command line, typed as the key expects.

    Numeric keys take numbers (``Number of Exposures=3`` -> 3, ``Priority=1.3``
    -> 1.3); RA and Dec are decimal degrees when written as a number and stay
    sexagesimal text otherwise (``RA=13:37:01``); ``true``/``false`` are
    booleans (``Park=true``, ``Blink01=true``); everything else stays text as
    typed (``ID=001`` is ``"001"``, not 1). A value that does not fit stays
    text, so the order check names it.
    """
    stripped = text.strip()
    if key in NUMERIC_KEYS or key in ANGLE_KEYS:
        for kind in (int, float):
            try:
                return kind(stripped)
            except ValueError:
                pass
        return text
    if stripped.lower() in ("true", "false") and key not in COMMON_KEYS:
        return stripped.lower() == "true"
    return text


class WorkOrderError(Exception):
    """A work order that is refused, with the Fault code to send."""

    def __init__(self, message: str, code: int = FAULT_INVALID) -> None:
        super().__init__(message)
        self.code = code


_BAD_VALUE = re.compile(r"^(?:[^=:]*: )?(?P<key>[A-Z][\w ]*?)=")
_UNKNOWN = re.compile(r"unknown key '(?P<key>[^']*)'")
_MISSING = re.compile(r"missing key '(?P<key>[^']*)'")
_ONE_OF = re.compile(r"expected one of (?P<list>\[[^\]]+\])")


def every_problem(validate: Callable[[Any], Any], wo: Any, first: WorkOrderError, limit: int = 20) -> list[str]:
    """Every refusal of ``validate`` for ``wo``, ``first`` (its first) first: a person fixes them all at once.

    The checks stop at the first bad field; here each refused field is taken
    out (an unknown key, a bad optional value) or given the documentation's
    example value (a missing or bad required one), and the order is checked
    again, until it passes or nothing more can be told apart.
    """
    problems, order = [str(first)], dict(wo) if isinstance(wo, dict) else None
    example = {**EXAMPLE_DOME, **EXAMPLE_OBSERVATION}
    while order is not None and len(problems) < limit:
        message = problems[-1]
        if len(problems) > 1 and _key(message) == _key(problems[-2]):
            problems.pop()  # the stand-in itself refused (this wheel has no filter 'I'): not the person's
            break
        if (m := _UNKNOWN.search(message)) and m["key"] in order:
            del order[m["key"]]
        elif (m := _MISSING.search(message)) and m["key"] in example and m["key"] not in order:
            order[m["key"]] = example[m["key"]]
        elif (m := _BAD_VALUE.match(message)) and m["key"] in order and m["key"] not in ("WOType", "ID"):
            choices = _ONE_OF.search(message)
            if choices:  # the refusal lists what it takes (a wheel's filters): the first of them
                order[m["key"]] = ast.literal_eval(choices["list"])[0]
            elif m["key"] in example and order[m["key"]] != example[m["key"]]:
                order[m["key"]] = example[m["key"]]
            else:
                del order[m["key"]]
        else:
            break
        try:
            validate(order)
            break
        except WorkOrderError as exc:
            if str(exc) in problems:
                break
            problems.append(str(exc))
        except Exception:  # a check that needs more than a stand-in can give: what was found stands
            break
    return problems


def _key(message: str) -> str | None:
    m = _UNKNOWN.search(message) or _MISSING.search(message) or _BAD_VALUE.match(message)
    return m["key"] if m else None


def _bad(field_name: str, value: object, expected: str) -> WorkOrderError:
    return WorkOrderError(f"{field_name}={shorten(repr(value), 80)}: expected {expected}")


def _printable(text: str) -> bool:
    # Any script is welcome (UTF-8 names are normal here); control characters are not text.
    return text.isprintable()


@dataclass
class Order:
    """What every work order has."""

    id: str
    wotype: str
    priority: float
    datetime: str
    user: str
    raw: dict = field(repr=False, default_factory=dict)
    deadline: str = ""  # UTC ISO: an order that cannot run before it fails instead of waiting on


@dataclass
class Observation(Order):
    telescope: str = ""
    ra: float = 0.0  # ICRS degrees
    dec: float = 0.0
    filter: str = ""
    exposure_time: float = 0.0
    count: int = 1
    job: str = ""
    object_type: str = ""
    object: str = ""  # the target's name (OBJECT); optional, beyond the TOROS documentation
    resume: str = ""  # an earlier order of the same exposures: its frames count, they are not taken again
    calibration_frames: bool = False
    output: str = ""
    autofocus: bool | None = None  # None: as the Focus section's rules say; True: focus before this order
    acquire: bool | None = None  # None: as the Acquisition section says; False: trust the mount

    @property
    def target(self) -> SkyCoord:
        """The ICRS target (built when needed: a SkyCoord costs most of a validation)."""
        return SkyCoord(ra=self.ra, dec=self.dec, unit="deg", frame="icrs")


@dataclass
class FocusOrder(Order):
    ra: float | None = None  # ICRS deg of the field; None: near the zenith when it runs
    dec: float | None = None
    filter: str = ""  # "" : the filter in the beam
    exposure_time: float | None = None  # None: the Focus section's
    step: int | None = None


@dataclass
class PointingOrder(Order):
    points: int = 20
    filter: str = ""
    exposure_time: float | None = None
    minimum_altitude: float = 30.0


@dataclass
class DomeOrder(Order):
    commands: list[tuple[str, object]] = field(default_factory=list)  # in the order given


@dataclass
class CalibrationOrder(Order):
    location: Path = Path(".")


def _common(wo: object, wotype: str | None, known: tuple[str, ...] | None, max_id: int = MAX_ID_CHARS) -> dict:
    if not isinstance(wo, dict):
        raise WorkOrderError(f"work order: expected a struct (dictionary), got {type(wo).__name__}")
    for key in wo:
        if not isinstance(key, str):
            raise _bad("key", key, "text keys")
    if known is not None:
        unknown = [k for k in wo if k not in known]
        if unknown:
            key = unknown[0]
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise WorkOrderError(f"unknown key {shorten(repr(key), 80)}{hint} Known keys: {list(known)}")
    order_id = wo.get("ID")
    if isinstance(order_id, bool) or not isinstance(order_id, (str, int)) or not str(order_id).strip():
        raise _bad("ID", order_id, "a non-empty string")
    if len(str(order_id)) > max_id:
        room = " (room for the IDs derived from it)" if max_id < MAX_DERIVED_ID_CHARS else ""
        raise _bad("ID", order_id, f"at most {max_id} characters{room}, got {len(str(order_id))}")
    if not _printable(str(order_id)):
        raise _bad("ID", order_id, "printable text, without control characters")
    if wotype is not None and wo.get("WOType") != wotype:
        raise _bad("WOType", wo.get("WOType"), f"{wotype!r}")
    priority = wo.get("Priority")
    if priority is None:
        priority = DEFAULT_PRIORITY
    elif isinstance(priority, bool) or not isinstance(priority, (int, float)) or not 0 <= priority <= 10:
        raise _bad("Priority", priority, "a number from 0 to 10, or None to have one assigned")
    return {"id": str(order_id), "wotype": str(wo.get("WOType")), "priority": float(priority),
            "datetime": _iso(wo, "Datetime"), "user": _text(wo, "User"), "raw": dict(wo),
            "deadline": _iso(wo, "Deadline")}


def _iso(wo: dict, key: str) -> str:
    """An optional ISO 8601 time (UTC), as text; "" when absent."""
    stamp = wo.get(key, "")
    if stamp in ("", None):
        return ""
    if not isinstance(stamp, (str, datetime)):
        raise _bad(key, stamp, "an ISO 8601 date and time, e.g. '2019-03-05T14:34:54.234'")
    try:
        return (stamp if isinstance(stamp, datetime) else datetime.fromisoformat(stamp)).isoformat()
    except ValueError:
        raise _bad(key, stamp, "an ISO 8601 date and time, e.g. '2019-03-05T14:34:54.234'") from None


def _text(wo: dict, key: str, default: str = "") -> str:
    """A free-text field: any script, printable, at most `MAX_TEXT_CHARS`."""
    value = wo.get(key, default)
    if not isinstance(value, str):
        raise _bad(key, value, "text")
    if len(value) > MAX_TEXT_CHARS:
        raise _bad(key, value, f"at most {MAX_TEXT_CHARS} characters, got {len(value)}")
    if not _printable(value):
        raise _bad(key, value, "printable text, without control characters")
    return value


def _number(wo: dict, key: str, lo: float, hi: float, what: str) -> float:
    if key not in wo:
        raise WorkOrderError(f"missing key {key!r}: expected {what}")
    value = wo[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not lo <= value <= hi:
        raise _bad(key, value, what)
    return float(value)


def validate_observation(wo: object, filters: list[str] | None = None) -> Observation:
    """Check an Observation work order.

    Parameters
    ----------
    wo
        The work order.
    filters
        The filter wheel's names; the order's Filter must be one of them.
    """
    common = _common(wo, "Observation", OBSERVATION_KEYS)
    assert isinstance(wo, dict)
    for key in ("RA", "Dec", "Filter"):
        if key not in wo:
            raise WorkOrderError(f"missing key {key!r}: an Observation needs RA, Dec, Filter, Exposure Time")
    try:
        ra = ra_degrees(wo["RA"], "RA")
        dec = dec_degrees(wo["Dec"], "Dec")
    except InvalidValueError as exc:
        raise WorkOrderError(f"{exc} (numbers are decimal degrees ICRS; strings are sexagesimal, RA in hours)") from None
    name = _text(wo, "Filter")
    if filters is not None and name not in filters:
        raise _bad("Filter", name, f"one of {filters}")
    count = wo.get("Number of Exposures", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 1000:
        raise _bad("Number of Exposures", count, "a whole number from 1 to 1000")
    calibration = wo.get("Calibration Frames", "No")
    if isinstance(calibration, str) and calibration.strip().lower() in ("yes", "no"):
        calibration = calibration.strip().lower() == "yes"
    if not isinstance(calibration, bool):
        raise _bad("Calibration Frames", calibration, "'Yes' or 'No'")
    return Observation(
        **common,
        telescope=_text(wo, "Telescope Name"),
        ra=ra,
        dec=dec,
        filter=name,
        exposure_time=_number(wo, "Exposure Time", 0.0, 3600.0, "seconds from 0 to 3600"),
        count=count,
        job=_text(wo, "Type of job"),
        object_type=_text(wo, "Type of object"),
        object=_text(wo, "Object"),
        resume=_text(wo, "Resume"),
        calibration_frames=calibration,
        output=_text(wo, "Output"),
        autofocus=_flag(wo, "Autofocus") if "Autofocus" in wo else None,
        acquire=_flag(wo, "Acquire") if "Acquire" in wo else None,
    )


def _optional_filter(wo: dict, filters: list[str] | None) -> str:
    name = _text(wo, "Filter")
    if name and filters is not None and name not in filters:
        raise _bad("Filter", name, f"one of {filters}")
    return name


def validate_focus(wo: object, filters: list[str] | None = None) -> FocusOrder:
    """Check a Focus work order (every key but the common ones optional)."""
    common = _common(wo, "Focus", FOCUS_KEYS)
    assert isinstance(wo, dict)
    if ("RA" in wo) != ("Dec" in wo):
        raise WorkOrderError("a Focus order names its field with both RA and Dec, or neither (near the zenith)")
    ra = dec = None
    if "RA" in wo:
        try:
            ra, dec = ra_degrees(wo["RA"], "RA"), dec_degrees(wo["Dec"], "Dec")
        except InvalidValueError as exc:
            raise WorkOrderError(f"{exc} (decimal degrees ICRS, or sexagesimal text)") from None
    step = wo.get("Step")
    if step is not None and (isinstance(step, bool) or not isinstance(step, int) or not 1 <= step <= 100000):
        raise _bad("Step", step, "a whole number of focuser steps from 1 to 100000")
    return FocusOrder(**common, ra=ra, dec=dec, filter=_optional_filter(wo, filters),
                      exposure_time=_number(wo, "Exposure Time", 0.001, 600.0, "seconds above 0, at most 600")
                      if "Exposure Time" in wo else None, step=step)


def validate_pointing(wo: object, filters: list[str] | None = None) -> PointingOrder:
    """Check a Pointing Model work order."""
    common = _common(wo, "Pointing Model", POINTING_KEYS)
    assert isinstance(wo, dict)
    points = wo.get("Points", 20)
    if isinstance(points, bool) or not isinstance(points, int) or not 3 <= points <= 500:
        raise _bad("Points", points, "a whole number of sky positions from 3 to 500")
    return PointingOrder(**common, points=points, filter=_optional_filter(wo, filters),
                         exposure_time=_number(wo, "Exposure Time", 0.001, 600.0, "seconds above 0, at most 600")
                         if "Exposure Time" in wo else None,
                         minimum_altitude=_number(wo, "Minimum Altitude", 10.0, 85.0, "degrees from 10 to 85")
                         if "Minimum Altitude" in wo else 30.0)


def validate_dome(wo: object, actions: list[str]) -> DomeOrder:
    """Check a Dome work order: standard commands and the dome's own actions, in order.

    A key that is neither a common key nor a standard command names a device
    action (``Blink01``): it is accepted only if the dome lists it, with
    parameters its declaration accepts (`torosdrivers.dome.actions`).

    Parameters
    ----------
    wo
        The work order.
    actions
        The dome's ``SupportedActions``, as read when it was connected.
    """
    common = _common(wo, "Dome", None)
    assert isinstance(wo, dict)
    commands: list[tuple[str, object]] = []
    folded = {a.casefold(): a for a in actions}
    for key, value in wo.items():
        if key in COMMON_KEYS:
            continue
        if key == "Shutter":
            if not isinstance(value, str) or value.strip().lower() not in ("open", "close"):
                raise _bad("Shutter", value, "'Open' or 'Close'")
            commands.append(("Shutter", value.strip().lower()))
        elif key == "Azimuth":
            commands.append(("Azimuth", _number(wo, "Azimuth", 0.0, 359.999999, "degrees from 0 to below 360")))
        elif key in ("Park", "Home"):
            if value is not True:
                raise _bad(key, value, "True")
            commands.append((key, True))
        elif key.casefold() in folded:
            if value is False:
                continue  # "Blink01": False asks for nothing
            name = folded[key.casefold()]
            if value is True or value == "":
                parameters = ""
            elif isinstance(value, (str, int)) and not isinstance(value, bool):
                parameters = str(value)
            else:
                raise _bad(key, value, "True, or the action's parameters as text")
            try:
                parameters = check_parameters(name, parameters)
            except InvalidValueError as exc:
                raise WorkOrderError(f"{key}: {exc}") from None
            commands.append((name, parameters))
        else:
            close = difflib.get_close_matches(key, [*DOME_COMMANDS, *actions], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise WorkOrderError(
                f"{shorten(repr(key), 80)} is not a dome command nor an action of this dome{hint} "
                f"Commands: {list(DOME_COMMANDS)}; actions: {actions}", FAULT_UNSUPPORTED,
            )
    if not commands:
        raise WorkOrderError(f"a Dome work order needs at least one command: {list(DOME_COMMANDS)} or one of {actions}")
    return DomeOrder(**common, commands=commands)


def validate_calibration(wo: object, data: Path) -> CalibrationOrder:
    """Check an ``Exposure Calibration`` request (the original preprocessor's).

    Parameters
    ----------
    wo
        The work order; ``WOType`` must be ``Calibration``.
    data
        The configured data directory: ``File Location`` must be a folder in
        it (the preprocessor writes ``products/`` there, so no other folder is
        ever written).
    """
    common = _common(wo, "Calibration", CALIBRATION_KEYS, max_id=MAX_DERIVED_ID_CHARS)
    assert isinstance(wo, dict)
    if wo.get("Request") != "Exposure Calibration":
        raise _bad("Request", wo.get("Request"), "'Exposure Calibration'")
    location = wo.get("File Location")
    if not isinstance(location, str) or not location or not _printable(location):
        raise _bad("File Location", location, "the URL or path of a night's folder of FITS files")
    parsed = urlparse(location)
    if parsed.scheme not in ("", "file"):
        raise _bad("File Location", location, "a local path or a file:// URL")
    folder = Path(parsed.path if parsed.scheme == "file" else location)
    root = Path(data).resolve()
    resolved = (root / folder).resolve()  # a relative path is taken inside the data directory
    if resolved != root and root not in resolved.parents:
        raise _bad("File Location", location, f"a folder inside the data directory {str(root)!r}")
    if not resolved.is_dir():
        raise _bad("File Location", location, "an existing folder")
    return CalibrationOrder(**common, location=resolved)


# -- what the scheduler accepts ------------------------------------------------------------
#: Keys an Observation may have when sent to the scheduler, beyond the documented ones.
SCHEDULING_KEYS = ("Time Critical", "Window Start", "Window End", "Probability")
#: Keys of one target of a Target List (Name is required; the others default to the list's).
TARGET_KEYS = ("Name", "RA", "Dec", "Probability", "Weight", "Filter", "Exposure Time", "Number of Exposures",
               "Window Start", "Window End")
#: Keys of a Target List work order: many targets at once (a transient follow-up campaign).
TARGET_LIST_KEYS = COMMON_KEYS + ("Type of job", "Type of object", "Time Critical", "Filter", "Exposure Time",
                                  "Number of Exposures", "Targets", "Replaces", "Field of View")
#: The most targets one Target List may hold.
MAX_TARGETS = 5000


@dataclass
class Target:
    """One thing the scheduler plans: an Observation (ID ``<order>/<name>`` for a list's target), the
    window it must fall in (UTC ISO, "" for open) and its probability or weight (None if not given)."""

    observation: Observation
    window: tuple[str, str] = ("", "")
    probability: float | None = None


@dataclass
class ScheduledOrder(Order):
    """An order the scheduler takes: its targets, whether it asked for its priority, whether it is a
    transient that may not wait (``Time Critical``)."""

    asked: bool = False
    time_critical: bool = False
    targets: list[Target] = field(default_factory=list)
    replaces: str = ""  # a Target List whose pending targets this one replaces (an alert's UPDATE)
    field_of_view: float = 0.0  # degrees: with replaces, a target inside a field it observed is not planned


def _flag(wo: dict, key: str) -> bool:
    value = wo.get(key, False)
    if isinstance(value, str) and value.strip().lower() in ("yes", "no"):
        return value.strip().lower() == "yes"
    if not isinstance(value, bool):
        raise _bad(key, value, "true or false ('Yes' or 'No')")
    return value


def _fraction(wo: dict, key: str, where: str) -> float | None:
    if key not in wo:
        return None
    value = wo[key]
    upper = 1.0 if key == "Probability" else 1e6
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not 0 <= value <= upper:
        raise _bad(f"{where}{key}", value, f"a number from 0 to {upper:g}")
    return float(value)


def _window(wo: dict, where: str) -> tuple[str, str]:
    try:
        start, end = _iso(wo, "Window Start"), _iso(wo, "Window End")
    except WorkOrderError as exc:
        raise WorkOrderError(f"{where}{exc}") from None
    if start and end and end <= start:
        raise WorkOrderError(f"{where}Window End={end!r}: expected after Window Start {start!r}")
    return start, end


def validate_scheduled(wo: object, filters: list[str] | None = None) -> ScheduledOrder:
    """Check an order sent to the scheduler: an Observation (its Priority may be absent: the scheduler
    assigns one) or a Target List. Each target is checked as an Observation is, and a problem names it
    (``Targets[12] (NGC 1566): Dec=95: ...``)."""
    wotype = wo.get("WOType") if isinstance(wo, dict) else None
    if wotype == "Observation":
        bare = {k: v for k, v in wo.items() if k not in SCHEDULING_KEYS}
        observation = validate_observation(bare, filters)
        # Room for the attempt the scheduler adds when it hands the order on ("<ID>#2").
        common = _common(wo, "Observation", OBSERVATION_KEYS + SCHEDULING_KEYS, max_id=MAX_ID_CHARS - 4)
        target = Target(observation, _window(wo, ""), _fraction(wo, "Probability", ""))
        return ScheduledOrder(**common, asked=wo.get("Priority") is not None,
                              time_critical=_flag(wo, "Time Critical"), targets=[target])
    # Room for "/<name>" (16 characters at most) and the attempt ("#2").
    common = _common(wo, None, TARGET_LIST_KEYS, max_id=MAX_ID_CHARS - 20)
    if wotype != "Target List":
        raise _bad("WOType", wotype, "'Observation' or 'Target List' (the scheduler's work orders)")
    targets = wo.get("Targets")
    if not isinstance(targets, list) or not targets:
        raise _bad("Targets", targets, "a list of targets ({Name, RA, Dec, ...}), at least one")
    if len(targets) > MAX_TARGETS:
        raise _bad("Targets", f"{len(targets)} targets", f"at most {MAX_TARGETS}")
    shared = {k: wo[k] for k in ("Type of job", "Type of object", "Filter", "Exposure Time", "Number of Exposures",
                                 "User") if k in wo}
    checked, names = [], set()
    for i, entry in enumerate(targets):
        where = f"Targets[{i}]: "
        if not isinstance(entry, dict):
            raise WorkOrderError(f"{where}expected a struct {{Name, RA, Dec, ...}}, got {type(entry).__name__}")
        unknown = [k for k in entry if k not in TARGET_KEYS]
        if unknown:
            close = difflib.get_close_matches(str(unknown[0]), TARGET_KEYS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known: {list(TARGET_KEYS)}"
            raise WorkOrderError(f"{where}unknown key {shorten(repr(unknown[0]), 60)}{hint}")
        name = entry.get("Name")
        if not isinstance(name, str) or not name.strip() or len(name) > 16 or not _printable(name):
            raise _bad(f"{where}Name", name, "the target's name, printable, 1 to 16 characters")
        if name in names:
            raise _bad(f"{where}Name", name, "a name no other target of the list has")
        names.add(name)
        where = f"Targets[{i}] ({shorten(name, 40)}): "
        fields = shared | {k: entry[k] for k in ("RA", "Dec", "Filter", "Exposure Time", "Number of Exposures")
                           if k in entry}
        try:
            observation = validate_observation({"ID": f"{common['id']}/{name}", "WOType": "Observation",
                                                "Object": name, **fields}, filters)
        except WorkOrderError as exc:
            raise WorkOrderError(f"{where}{exc}", exc.code) from None
        probability = _fraction(entry, "Probability", where)
        weight = _fraction(entry, "Weight", where)
        checked.append(Target(observation, _window(entry, where), probability if probability is not None
                              else weight))
    replaces = wo.get("Replaces", "")
    if not isinstance(replaces, str) or len(replaces) > MAX_ID_CHARS or not _printable(replaces) \
            or replaces == common["id"]:
        raise _bad("Replaces", replaces, "the ID of an earlier Target List whose pending targets this one replaces")
    field_of_view = _fraction(wo, "Field of View", "")
    if field_of_view is not None and not 0 < field_of_view <= 30:
        raise _bad("Field of View", field_of_view, "the side of the square field in degrees, above 0 and at most 30")
    return ScheduledOrder(**common, asked=wo.get("Priority") is not None, time_critical=_flag(wo, "Time Critical"),
                          targets=checked, replaces=replaces, field_of_view=field_of_view or 0.0)


@dataclass
class AlertOrder(Order):
    """A gravitational-wave alert for the alerts daemon: the IGWN alert, validated and its sky map decoded."""

    alert: Any = None  # torosdrivers.alerts.Alert (imported when an alert comes: jsonschema is slow to load)


#: Keys of an Alert work order.
ALERT_KEYS = COMMON_KEYS + ("Alert", "Source")


def validate_alert(wo: object) -> AlertOrder:
    """Check an ``Alert`` order: ``Alert`` holds the IGWN alert (its JSON text, or the object), checked against
    igwn-gwalert-schema; ``ID`` may be left out (it is then the alert's: ``<superevent>-<type>-<created>``, so
    the same alert received twice is one order)."""
    from torosdrivers.alerts import Alert, AlertError
    from torosdrivers.alerts.targets import alert_id

    if not isinstance(wo, dict):
        raise WorkOrderError(f"work order: expected a struct (dictionary), got {type(wo).__name__}")
    if wo.get("WOType") != "Alert":
        raise _bad("WOType", wo.get("WOType"), "'Alert' (the alerts daemon's work order)")
    if "Alert" not in wo:
        raise _bad("Alert", None, "the IGWN alert: its JSON text as published (igwn-gwalert-schema), or the object")
    try:
        alert = Alert.parse(wo["Alert"])
    except AlertError as exc:
        raise WorkOrderError(f"Alert: {exc}") from None
    common = _common({"ID": alert_id(alert), **wo}, "Alert", ALERT_KEYS)
    _text(wo, "Source")
    return AlertOrder(**common, alert=alert)
