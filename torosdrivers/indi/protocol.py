"""The INDI XML protocol, server side: property vectors, their messages, and a bounded stream reader.

INDI (protocol version 1.7) is a stream of top-level XML elements with no
document around them. A server *defines* a property with ``def*Vector``,
*updates* it with ``set*Vector`` (its members' values, its state Idle / Ok /
Busy / Alert, an optional message), and receives a client's request as
``new*Vector``; ``getProperties`` asks for definitions, ``enableBLOB``
chooses whether a connection receives BLOBs (Never, Also, Only).

The reader wraps the stream in a synthetic root element and parses it with
expat through `xml.etree.ElementTree.XMLPullParser`, one top-level element
at a time. Hostile input is bounded without a second library: a document
type declaration (and with it any entity definition, the billion-laughs
vector) is a syntax error inside an element, so expat refuses it; the
encoding is UTF-8 because the stream's first bytes are ours; an element may
not nest deeper than INDI's three levels or grow past ``max_bytes``.
"""

from __future__ import annotations

import base64
import math
import re
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

__all__ = ["KINDS", "IndiProtocolError", "IndiStream", "Member", "Vector", "blob_message", "message",
           "new_values", "parse_number", "timestamp"]

#: Vector kinds, as they appear in the element names (``defNumberVector``, ``oneNumber``...).
KINDS = ("Number", "Switch", "Text", "Light", "BLOB")

_SEXAGESIMAL = re.compile(r"^\s*([+-]?)(\d+(?:\.\d*)?)(?:[: ](\d+(?:\.\d*)?))?(?:[: ](\d+(?:\.\d*)?))?\s*$")


class IndiProtocolError(ValueError):
    """A client's stream or request that is not valid INDI (the message names what and why)."""


def timestamp() -> str:
    """Now in UTC, as INDI writes it (``YYYY-MM-DDTHH:MM:SS.s``)."""
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 10)}"


def parse_number(text: str, what: str) -> float:
    """An INDI number: decimal, or sexagesimal (``12:30:00``, ``-5 30 00.5``) as INDI allows.

    Python's own spellings that INDI does not have (``1_0``, ``nan``, ``inf``, ``0x10``) are refused.

    Raises
    ------
    IndiProtocolError
        Naming ``what``, the text and what was expected.
    """
    match = _SEXAGESIMAL.match(text or "")
    if match is None:
        raise IndiProtocolError(f"{what}={text!r}: expected a number (decimal or sexagesimal d:m:s)")
    sign, parts = match.group(1), [float(p) for p in match.groups()[1:] if p is not None]
    value = sum(p / 60.0 ** i for i, p in enumerate(parts))
    value = -value if sign == "-" else value
    if not math.isfinite(value):
        raise IndiProtocolError(f"{what}={text!r}: expected a finite number")
    return value


def _number_text(value: float) -> str:
    return format(float(value), ".10g")


@dataclass
class Member:
    """One member of a vector: its value (float, "On"/"Off", text, or a light's state) and its limits."""

    name: str
    label: str
    value: Any = None
    format: str = "%g"
    min: float = 0.0
    max: float = 0.0
    step: float = 0.0

    def text(self, kind: str) -> str:
        if kind == "Number":
            return _number_text(self.value if self.value is not None else 0.0)
        return "" if self.value is None else str(self.value)


@dataclass
class Vector:
    """A property vector: what a ``def*Vector`` defines and a ``set*Vector`` updates.

    Parameters
    ----------
    kind
        One of `KINDS`.
    name, label, group
        As INDI defines them; ``group`` is the tab a client shows it on.
    members
        In order.
    perm
        ``ro``, ``wo`` or ``rw`` (lights have none).
    rule
        Switches: ``OneOfMany``, ``AtMostOne`` or ``AnyOfMany``.
    """

    kind: str
    name: str
    label: str
    group: str
    members: list[Member]
    perm: str = "ro"
    rule: str = "OneOfMany"
    state: str = "Idle"
    timeout: float = 60.0
    by_name: dict[str, Member] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind={self.kind!r}: expected one of {KINDS}")
        self.by_name = {m.name: m for m in self.members}

    def __getitem__(self, member: str) -> Any:
        return self.by_name[member].value

    def __setitem__(self, member: str, value: Any) -> None:
        self.by_name[member].value = value

    def on(self) -> str | None:
        """The name of the first switch that is On (switch vectors)."""
        return next((m.name for m in self.members if m.value == "On"), None)

    def choose(self, name: str | None) -> None:
        """Turn switch ``name`` On and the others Off (None: all Off)."""
        for m in self.members:
            m.value = "On" if m.name == name else "Off"

    def snapshot(self) -> tuple:
        """What a client sees of it now (to tell whether an update is worth sending)."""
        return (self.state, tuple(m.text(self.kind) for m in self.members))

    def define(self, device: str, message_text: str | None = None) -> bytes:
        """The ``def<Kind>Vector`` element."""
        attrs = {"device": device, "name": self.name, "label": self.label, "group": self.group,
                 "state": self.state, "timestamp": timestamp()}
        if self.kind != "Light":
            attrs.update(perm=self.perm, timeout=_number_text(self.timeout))
        if self.kind == "Switch":
            attrs["rule"] = self.rule
        if message_text:
            attrs["message"] = message_text
        element = ET.Element(f"def{self.kind}Vector", attrs)
        for m in self.members:
            child = ET.SubElement(element, f"def{self.kind}", {"name": m.name, "label": m.label})
            if self.kind == "Number":
                child.attrib.update(format=m.format, min=_number_text(m.min), max=_number_text(m.max),
                                    step=_number_text(m.step))
            if self.kind != "BLOB":
                child.text = m.text(self.kind)
        return ET.tostring(element) + b"\n"

    def update(self, device: str, message_text: str | None = None) -> bytes:
        """The ``set<Kind>Vector`` element with every member (BLOBs go by `blob_message`)."""
        attrs = {"device": device, "name": self.name, "state": self.state, "timestamp": timestamp()}
        if self.kind != "Light":  # as IDSetNumber writes it (indipyclient 0.9 loses the timeout without it)
            attrs["timeout"] = _number_text(self.timeout)
        if message_text:
            attrs["message"] = message_text
        element = ET.Element(f"set{self.kind}Vector", attrs)
        for m in self.members:
            if self.kind != "BLOB":
                ET.SubElement(element, f"one{self.kind}", {"name": m.name}).text = m.text(self.kind)
        return ET.tostring(element) + b"\n"


def blob_message(device: str, vector: str, member: str, data: bytes | memoryview, fmt: str,
                 state: str = "Ok") -> list[bytes]:
    """A ``setBLOBVector`` holding ``data``, as buffers to send in turn (the base64 text is not copied again)."""
    head = ET.tostring(ET.Element("setBLOBVector", {"device": device, "name": vector, "state": state,
                                                    "timeout": "60", "timestamp": timestamp()}))[:-2] + b">"
    one = ET.tostring(ET.Element("oneBLOB", {"name": member, "size": str(len(data)), "format": fmt}))[:-2] + b">"
    return [head + one, base64.b64encode(data), b"</oneBLOB></setBLOBVector>\n"]


def message(device: str | None, text: str) -> bytes:
    """A ``message`` element (device-wide when ``device`` is None)."""
    attrs = {"timestamp": timestamp(), "message": text}
    if device:
        attrs = {"device": device, **attrs}
    return ET.tostring(ET.Element("message", attrs)) + b"\n"


class IndiStream:
    """Complete top-level elements from a client's byte stream, each bounded in size and depth.

    Parameters
    ----------
    max_bytes
        The most one element may take on the wire (a client's request is a few hundred bytes).
    """

    #: ``new*Vector`` > ``one*`` > text: deeper is not INDI.
    MAX_DEPTH = 3

    def __init__(self, max_bytes: int = 1 << 20) -> None:
        self.max_bytes = max_bytes
        self._parser = ET.XMLPullParser(events=("start", "end"))
        self._parser.feed(b"<indi>")
        self._root: ET.Element | None = None
        self._depth = 0
        self._pending = 0  # bytes fed since the last complete element

    def feed(self, data: bytes) -> list[ET.Element]:
        """The elements that ``data`` completes.

        Raises
        ------
        IndiProtocolError
            The stream is not well-formed XML, nests too deep, or an element grew past ``max_bytes``.
        """
        self._pending += len(data)
        try:
            self._parser.feed(data)
            events = list(self._parser.read_events())
        except ET.ParseError as exc:
            raise IndiProtocolError(f"not well-formed INDI XML: {exc}") from None
        done: list[ET.Element] = []
        for event, element in events:
            if event == "start":
                self._depth += 1
                if self._root is None:
                    self._root = element
                elif self._depth > self.MAX_DEPTH + 1:
                    raise IndiProtocolError(f"<{element.tag}> nested {self._depth - 1} deep: INDI has 3 levels")
            else:
                self._depth -= 1
                if self._depth == 1:
                    done.append(element)
                    if self._root is not None:
                        self._root.remove(element)
        if done:
            self._pending = 0 if self._depth == 1 else len(data)
        if self._pending > self.max_bytes:
            raise IndiProtocolError(f"an element longer than {self.max_bytes} bytes: refused")
        return done


def new_values(element: ET.Element, vector: Vector) -> dict[str, Any]:
    """The members a ``new<Kind>Vector`` sets, parsed and checked against ``vector``.

    Raises
    ------
    IndiProtocolError
        Naming the property, the member, the value and what was expected.
    """
    where = f"{vector.name}"
    if element.tag != f"new{vector.kind}Vector":
        raise IndiProtocolError(f"{where}: <{element.tag}> sent to a {vector.kind} vector "
                                f"(expected new{vector.kind}Vector)")
    if vector.perm == "ro":
        raise IndiProtocolError(f"{where} is read-only")
    values: dict[str, Any] = {}
    for child in element:
        name = child.get("name", "")
        member = vector.by_name.get(name)
        if child.tag != f"one{vector.kind}" or member is None:
            raise IndiProtocolError(f"{where}: no member {name!r} (it has {', '.join(vector.by_name)})")
        text = (child.text or "").strip()
        if vector.kind == "Number":
            value = parse_number(text, f"{where}.{name}")
            if member.max > member.min and not member.min <= value <= member.max:
                raise IndiProtocolError(f"{where}.{name}={text}: expected {member.min:g} to {member.max:g}")
            values[name] = value
        elif vector.kind == "Switch":
            if text not in ("On", "Off"):
                raise IndiProtocolError(f"{where}.{name}={text!r}: expected On or Off")
            values[name] = text
        else:
            values[name] = child.text or ""
    if not values:
        raise IndiProtocolError(f"{where}: no members given")
    if vector.kind == "Switch" and vector.rule != "AnyOfMany" and list(values.values()).count("On") > 1:
        raise IndiProtocolError(f"{where}: more than one switch On ({vector.rule})")
    return values
