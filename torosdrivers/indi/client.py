"""A blocking INDI client for the device backends, on ``indipyclient``.

INDI (the protocol of indiserver, its hundreds of drivers and KStars/Ekos)
is XML over TCP: a device defines property vectors (numbers, switches,
texts, lights, BLOBs), a client sends a new vector, and the driver answers
with the vector's state: Busy while it works, Ok when done, Alert when it
failed (with a message saying why). ``indipyclient`` (pure Python, no
dependencies) parses the protocol and keeps every device's vectors; it was
chosen over the XML written here because it already handles what a
hand-written client gets wrong (partial ``setXVector`` updates,
sexagesimal numbers, BLOB enabling, reconnects), and over pyindi-client
because that one needs libindi's headers and SWIG to build.

``indipyclient`` is asyncio; `IndiLink` runs it in a thread of its own and
gives the backends blocking calls that match how our device interfaces
wait: `IndiLink.set` sends a vector and waits until the driver says Ok
(Alert raises `DriverError` with the driver's last message, no answer raises
`DeviceTimeoutError`), values are read from the client's copy of the
vectors (what the driver last sent), never by a round trip.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
from typing import Any

from ..errors import CommunicationError, DeviceTimeoutError, DriverError, NotConnectedError

__all__ = ["IndiLink", "IndiDeviceMixin", "DEFAULT_PORT"]

log = logging.getLogger(__name__)

#: indiserver's port.
DEFAULT_PORT = 7624


def _client_class():
    import indipyclient

    class _Client(indipyclient.IPyClient):
        """Wakes the waiting backends on every event; logs the client's reports instead of printing them."""

        async def rxevent(self, event) -> None:
            link = self.clientdata["link"]
            kind = getattr(event, "eventtype", "")
            if kind == "Message" and getattr(event, "message", ""):
                link._note_message(getattr(event, "devicename", None), event.message)
            elif kind in ("Set", "SetBLOB", "Define", "DefineBLOB") and event.devicename == link.device:
                if getattr(event, "message", ""):  # a driver says why with the vector (IDSetNumber's message)
                    link._note_message(event.devicename, event.message)
                link._note_answer(event.vectorname, getattr(event, "state", None))
            with link._changed:
                link._changed.notify_all()

        async def report(self, message) -> None:
            log.debug("indi: %s", message)

        async def warning(self, message) -> None:
            log.info("indi: %s", message)

    return _Client


class IndiLink:
    """One INDI device on an indiserver, with blocking reads and writes.

    Parameters
    ----------
    address
        ``host:port`` of the indiserver (port 7624 if left out).
    device
        The INDI device name (``indi_getprop`` lists them, e.g. ``Telescope Simulator``).
    timeout
        Seconds to wait for the server, the device's definitions and each answer.
    """

    def __init__(self, address: str, device: str, *, timeout: float = 10.0) -> None:
        host, _, port = address.rpartition(":") if ":" in address else (address, "", str(DEFAULT_PORT))
        self.host, self.port, self.device, self.timeout = host or "127.0.0.1", int(port), device, float(timeout)
        self._changed = threading.Condition()
        # The device's last messages, numbered: an Alert names those that came after its command
        self._messages: collections.deque[tuple[int, str]] = collections.deque(maxlen=50)
        self._said = 0
        # What the driver sent per vector: every update, and those Busy or Alert (a command under way or
        # refused), so a wait can tell the driver's answer from the update it sent just before the command
        self._answers: collections.Counter[str] = collections.Counter()
        self._busy: collections.Counter[str] = collections.Counter()
        self._updated: dict[str, float] = {}  # monotonic time of each vector's last update
        self._opened = time.monotonic()
        self._client = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"<IndiLink {self.device!r} at {self.host}:{self.port}>"

    # -- the connection -------------------------------------------------------------------------
    def open(self) -> None:
        """Reach the server and wait for the device's properties (``CONNECTION`` at least)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._opened = time.monotonic()
        self._client = _client_class()(indihost=self.host, indiport=self.port, link=self)
        self._loop = asyncio.new_event_loop()
        client, loop = self._client, self._loop
        self._thread = threading.Thread(target=lambda: loop.run_until_complete(client.asyncrun()),
                                        name=f"indi {self.device}", daemon=True)
        self._thread.start()
        if not self._wait(lambda: self._vector("CONNECTION") is not None, self.timeout):
            reached = self._client.connected
            devices = sorted(self._client.keys())
            self.close()
            if not reached:
                raise CommunicationError(f"no INDI server at {self.host}:{self.port} (indiserver running?)")
            raise CommunicationError(f"the INDI server at {self.host}:{self.port} has no device {self.device!r} "
                                     f"(it has {devices})")

    def close(self) -> None:
        """Stop the client thread (the device stays as it is)."""
        client, thread = self._client, self._thread
        if client is not None:
            client.shutdown()
        if thread is not None:
            thread.join(timeout=5.0)
        self._client = self._thread = self._loop = None

    @property
    def is_open(self) -> bool:
        """Whether the server's connection stands. indipyclient 0.9.4 reads on at end of stream (it notices a
        closed server only when its 40 s answer timer runs out), so the stream's end is checked here too."""
        client = self._client
        if client is None or not client.connected:
            return False
        reader = getattr(client, "_reader", None)
        return not (reader is not None and reader.at_eof())

    # -- reading ------------------------------------------------------------------------------------
    def _vector(self, name: str):
        client = self._client
        if client is None:
            return None
        device = client.get(self.device)
        if device is None:
            return None
        return device.get(name)

    def has(self, vector: str) -> bool:
        """Whether the device defines ``vector`` (drivers define some only once connected)."""
        return self._vector(vector) is not None

    def vector(self, name: str):
        """The device's property vector ``name`` (raises if the device does not define it)."""
        if self._client is None:
            raise NotConnectedError(f"INDI {self.device}: not connected")
        if not self.is_open:
            raise CommunicationError(f"INDI server {self.host}:{self.port} lost (reconnect: disconnect, connect)")
        found = self._vector(name)
        if found is None:
            raise DriverError(f"INDI {self.device}: no property {name}")
        return found

    def number(self, vector: str, member: str) -> float:
        """A number member's value (INDI numbers may be sexagesimal text: indipyclient's getfloat reads both)."""
        from indipyclient import getfloat

        return float(getfloat(self.vector(vector)[member]))

    def number_range(self, vector: str, member: str) -> tuple[float, float]:
        """A number member's ``min`` and ``max`` as the driver defined them."""
        from indipyclient import getfloat

        m = self.vector(vector).member(member)
        return float(getfloat(m.min)), float(getfloat(m.max))

    def switch(self, vector: str, member: str) -> bool:
        """Whether a switch member is On."""
        return self.vector(vector)[member] == "On"

    def text(self, vector: str, member: str) -> str:
        return str(self.vector(vector)[member])

    def state(self, vector: str) -> str:
        """The vector's state: Idle, Ok, Busy or Alert."""
        return str(self.vector(vector).state)

    def blob(self, vector: str, member: str) -> bytes:
        """A BLOB member's last bytes (base64-decoded by indipyclient; not copied here)."""
        value = self.vector(vector)[member]
        if not isinstance(value, (bytes, bytearray)) or not value:
            raise DriverError(f"INDI {self.device}: {vector}.{member} holds no data yet")
        return value

    def enable_blobs(self, vector: str, mode: str = "Also") -> None:
        """``enableBLOB`` for ``vector`` alone (the server sends this device's other BLOBs to no one here);
        ``mode="Never"`` stops them again."""
        self.vector(vector)
        assert self._client is not None and self._loop is not None
        asyncio.run_coroutine_threadsafe(self._client.send_enableBLOB(mode, self.device, vector),
                                         self._loop).result(timeout=self.timeout)

    def members(self, vector: str) -> dict[str, Any]:
        v = self.vector(vector)
        return {k: v[k] for k in v}

    # -- writing ------------------------------------------------------------------------------------
    def send(self, vector: str, values: dict[str, Any]) -> None:
        """Send new member values (unchanged ones as they are) without waiting for the answer."""
        self.vector(vector)  # raises when the device does not define it (indipyclient would drop it silently)
        assert self._client is not None and self._loop is not None
        future = asyncio.run_coroutine_threadsafe(
            self._client.send_newVector(self.device, vector, members=values), self._loop)
        try:
            future.result(timeout=self.timeout)
        except TimeoutError:
            raise DeviceTimeoutError(f"INDI {self.device}: {vector} could not be sent in {self.timeout:g} s") from None

    def set(self, vector: str, values: dict[str, Any], *, timeout: float | None = None,
            busy_is_done: bool = False) -> None:
        """Send new values and wait until the driver answers Ok (Alert: `DriverError` naming its message).

        ``busy_is_done``: the driver's first answer ends the wait even if Busy, for vectors whose Busy
        state means "on" rather than "under way" (``TELESCOPE_TRACK_STATE`` is Busy while tracking).
        """
        before, answered = self._said, self._answers[vector]
        held = self._vector(vector)
        # A OneOfMany switch the driver accepted shows the one asked for: an update it sent just before our
        # command (a poll in flight) counts as an answer, but not as this one, until the switch agrees
        chosen = [k for k, v in values.items() if v == "On"] if getattr(held, "rule", "") == "OneOfMany" else []
        self.send(vector, values)
        limit = self.timeout if timeout is None else timeout

        def done() -> bool:
            # indipyclient marks a sent vector Busy itself; the driver's answer sets Ok, Alert (or Idle)
            if self._answers[vector] <= answered:
                return False
            now = self._vector(vector)
            if now.state == "Alert":
                return True
            if any(now[k] != "On" for k in chosen):
                return False
            return busy_is_done or now.state != "Busy"

        if not self._wait(done, limit):
            raise DeviceTimeoutError(f"INDI {self.device}: {vector} not answered (still Busy) after {limit:g} s")
        if self.state(vector) == "Alert":
            said = "; ".join(text for n, text in self._messages if n > before) or "no message"
            raise DriverError(f"INDI {self.device}: {vector} {values} refused (Alert): {said}")

    def wait_until(self, done, timeout: float, what: str) -> None:
        """Wait for ``done()`` (checked on every event), raising `DeviceTimeoutError` naming ``what``."""
        if not self._wait(done, timeout):
            raise DeviceTimeoutError(f"INDI {self.device}: {what} not within {timeout:g} s")

    def _wait(self, done, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                try:
                    if done():
                        return True
                except (KeyError, DriverError):
                    pass
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.2))

    def answers(self, vector: str) -> tuple[int, int]:
        """How many updates of ``vector`` the driver has sent, and how many of them were Busy or Alert."""
        return self._answers[vector], self._busy[vector]

    def age(self, vector: str) -> float:
        """Seconds since the driver last sent ``vector`` (since the connection, if it has not since)."""
        self.vector(vector)
        return time.monotonic() - self._updated.get(vector, self._opened)

    def _note_answer(self, vector: str, state: str | None) -> None:
        self._updated[vector] = time.monotonic()
        self._answers[vector] += 1
        if state in ("Busy", "Alert"):
            self._busy[vector] += 1

    def last_message(self) -> str:
        """The device's last message ("" if none yet): what a driver says when it sets a vector to Alert."""
        return self._messages[-1][1] if self._messages else ""

    def _note_message(self, device: str | None, message: str) -> None:
        if device in (None, self.device):
            self._said += 1
            self._messages.append((self._said, str(message)))
            log.info("INDI %s: %s", self.device, message)

    # -- the device's CONNECTION switch -----------------------------------------------------------
    def connect_device(self) -> None:
        """``CONNECTION``: CONNECT, waiting for Ok."""
        if not self.switch("CONNECTION", "CONNECT") or self.state("CONNECTION") != "Ok":
            self.set("CONNECTION", {"CONNECT": "On", "DISCONNECT": "Off"})
        if not self.switch("CONNECTION", "CONNECT"):
            raise CommunicationError(f"INDI {self.device}: CONNECTION did not turn CONNECT on")

    def disconnect_device(self) -> None:
        """``CONNECTION``: DISCONNECT (nothing to tell a server that is gone)."""
        if self.is_open and self.has("CONNECTION") and self.switch("CONNECTION", "CONNECT"):
            self.set("CONNECTION", {"CONNECT": "Off", "DISCONNECT": "On"})


class IndiDeviceMixin:
    """The connection hooks every INDI backend shares (before the device kind's base class in the MRO).

    A backend sets ``self._link`` and ``_REQUIRED``, the vectors its driver defines once connected, and may
    override `_on_connect` for what it reads or sets once they are there.
    """

    _link: IndiLink
    _REQUIRED: tuple[str, ...] = ()

    def _connect(self) -> None:
        """Reach the server, ``CONNECTION`` CONNECT, wait for the kind's vectors, then `_on_connect`; a failure
        anywhere closes the link again (a half-made connection would leave its client thread running)."""
        self._link.open()
        try:
            self._link.connect_device()
            self._link.wait_until(lambda: all(self._link.has(v) for v in self._REQUIRED), self._link.timeout,
                                  f"{', '.join(self._REQUIRED)} defined")
            self._on_connect()
        except BaseException:
            self._link.close()
            raise

    def _on_connect(self) -> None:
        """Backend hook: read or set what the device kind needs once its vectors are defined."""

    def _disconnect(self) -> None:
        try:
            self._link.disconnect_device()
        finally:
            self._link.close()

    def _ping(self) -> None:
        """The server's stream still open, and the driver still connected to its device."""
        if not self._link.is_open:
            raise CommunicationError(f"{self.name}: the INDI server {self._link.host}:{self._link.port} is gone")
        if not self._link.switch("CONNECTION", "CONNECT"):
            raise CommunicationError(f"{self.name}: the driver is no longer connected to its device")
