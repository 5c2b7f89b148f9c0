"""What every Alpaca backend shares: bounded HTTP, error translation, discovery.

The backends use alpyca's device classes, whose members mirror the ASCOM
standard one for one. alpyca gives each call a fixed 5 s timeout and none to
its image fetch, and raises its own exception classes; `AlpacaLink` gives
every call our timeout and turns every failure into a `torosdrivers.errors`
class that names the device, the member and what the server said.
"""

from __future__ import annotations

import base64
import http.client
import itertools
import json
import logging
import re
import socket
import ssl
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator
from urllib.parse import urlsplit

import alpaca.device as alpyca_device
import requests

from .protocol import DISCOVERY_MESSAGE, DISCOVERY_PORT, JsonImageStream
from ..errors import (CommunicationError, DeviceTimeoutError, DriverError, InvalidValueError, NotConnectedError,
                      error_for_code)
from ..wire import wire_logger

__all__ = ["TimeoutSession", "AlpacaLink", "AlpacaDeviceMixin", "AlpacaServerInfo", "discover", "parse_address"]

log = logging.getLogger(__name__)
wire = wire_logger("alpaca")

_ADDRESS = re.compile(r"^(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.\-]+):(?P<port>\d{1,5})$")


def parse_address(address: str) -> str:
    """Check an Alpaca address ``host:port`` and return it.

    Raises
    ------
    InvalidValueError
        Not of the form ``host:port`` with a port from 1 to 65535.
    """
    match = _ADDRESS.match(address) if isinstance(address, str) else None
    if not match or not 0 < int(match["port"]) < 65536:
        raise InvalidValueError(f"address={address!r}: expected 'host:port', e.g. '127.0.0.1:11111'")
    return address


def _alpyca_client_id() -> int:
    """The ClientID alpyca sends with every request of this process (read, never changed).

    A server that keeps each client's ``Connected`` apart must see our own
    downloads under the same ClientID as alpyca's calls.
    """
    return int(getattr(alpyca_device.Device, "_client_id", 0))


class TimeoutSession(requests.Session):
    """A session whose every request has our timeout, whatever the caller passed."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = float(timeout)

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs["timeout"] = self.timeout
        if self.verify is not True:  # a configured certificate: REQUESTS_CA_BUNDLE must not replace it
            kwargs["verify"] = self.verify
        if not wire.isEnabledFor(logging.DEBUG):
            return super().request(method, url, **kwargs)
        wire.debug("> %s %s %s", method, url, kwargs.get("params") or kwargs.get("data") or "")
        response = super().request(method, url, **kwargs)
        wire.debug("< %s %s", response.status_code, response.text[:300])
        return response


class AlpacaLink:
    """An alpyca device object with bounded calls and translated errors.

    Parameters
    ----------
    device
        The alpyca object (``alpaca.camera.Camera(address, n)``...).
    label
        How the device is named in messages.
    timeout
        Seconds for each HTTP request.
    """

    def __init__(self, device: Any, label: str, timeout: float) -> None:
        self.device = device
        self.label = label
        self.session = TimeoutSession(timeout)
        self.tls: ssl.SSLContext | None = None  # set by `secure` for an HTTPS server
        device.rqs = self.session  # alpyca sends every property and method through .rqs
        self._ctid = itertools.count(1)

    def secure(self, token: str | None, certificate: str | None) -> None:
        """Credentials and TLS for every request, alpyca's and the image download alike."""
        self.session.auth = ("toros", token) if token else None
        if certificate:
            self.session.verify = certificate
            self.tls = ssl.create_default_context(cafile=certificate)
            self.device.base_url = "https://" + self.device.base_url.split("://", 1)[1]

    @property
    def base_url(self) -> str:
        """``http://host:port/api/v1/{type}/{number}``."""
        return self.device.base_url

    def get(self, member: str) -> Any:
        """Read a property, e.g. ``get("CameraState")``."""
        with self.translate(member):
            return getattr(self.device, member)

    def set(self, member: str, value: Any) -> None:
        """Write a property, e.g. ``set("BinX", 2)``."""
        with self.translate(member):
            setattr(self.device, member, value)

    def call(self, member: str, *args: Any) -> Any:
        """Call a method, e.g. ``call("StartExposure", 30.0, True)``."""
        with self.translate(member):
            return getattr(self.device, member)(*args)

    def download(self, member: str, *, accept: str, timeout: float,
                 stream: JsonImageStream | None = None) -> tuple[str, bytearray]:
        """GET a large member (an image) into one buffer, bounded by ``timeout`` in total.

        A JSON reply goes to ``stream`` piece by piece instead, where one is given
        (the body returned is then empty).

        Uses ``http.client`` directly: its ``readinto`` moves the body from
        the socket into a buffer of the reply's Content-Length, so the reply
        is held once and copied by no library on the way.

        Returns
        -------
        content_type, body
        """
        host, port = self.device.address.rsplit(":", 1)
        path = (f"{urlsplit(self.base_url).path}/{member.lower()}?ClientID={_alpyca_client_id()}"
                f"&ClientTransactionID={next(self._ctid)}")
        deadline = time.monotonic() + timeout
        tls = self.tls
        connection = http.client.HTTPSConnection(host.strip("[]"), int(port), timeout=timeout, context=tls) \
            if tls is not None else http.client.HTTPConnection(host.strip("[]"), int(port), timeout=timeout)
        headers = {"Accept": accept}
        if self.session.auth:
            user, password = self.session.auth
            headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            if response.status != 200:
                text = response.read(400).decode("utf-8", "replace").strip()
                raise CommunicationError(f"{self.label} {member}: HTTP {response.status}: {text}")
            length = response.length
            kind = response.getheader("Content-Type", "")
            if length is None:
                return kind, bytearray(response.read())
            if stream is not None and "json" in kind:  # parsed as it arrives, never held whole
                buffer = memoryview(bytearray(min(length, stream.CHUNK)))
                got = 0
                while got < length:
                    if time.monotonic() > deadline:
                        raise DeviceTimeoutError(f"{self.label}: {member} download incomplete after {timeout:g} s "
                                                 f"({got} of {length} bytes)")
                    n = response.readinto(buffer[: min(len(buffer), length - got)])
                    if not n:
                        raise CommunicationError(f"{self.label} {member}: connection closed after {got} of "
                                                 f"{length} bytes")
                    stream.feed(buffer[:n])
                    got += n
                return kind, bytearray()
            body = bytearray(length)
            view, got = memoryview(body), 0
            while got < length:
                if time.monotonic() > deadline:
                    raise DeviceTimeoutError(
                        f"{self.label}: {member} download incomplete after {timeout:g} s ({got} of {length} bytes)"
                    )
                n = response.readinto(view[got:])
                if not n:
                    raise CommunicationError(f"{self.label} {member}: connection closed after {got} of {length} bytes")
                got += n
            return kind, body
        except socket.timeout as exc:
            raise DeviceTimeoutError(f"{self.label}: no reply to {member} within {timeout:g} s") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise CommunicationError(f"{self.label}: cannot download {member}: {exc}") from exc
        finally:
            connection.close()

    @contextmanager
    def translate(self, member: str) -> Iterator[None]:
        """Turn every alpyca, HTTP and parsing failure into a `DriverError`."""
        try:
            yield
        except DriverError:
            raise
        except requests.Timeout as exc:
            raise DeviceTimeoutError(
                f"{self.label}: no reply to {member} within {self.session.timeout:g} s"
            ) from exc
        except requests.ConnectionError as exc:
            raise CommunicationError(f"{self.label}: cannot reach the server for {member}: {_reason(exc)}") from exc
        except requests.RequestException as exc:
            raise CommunicationError(f"{self.label} {member}: {exc}") from exc
        except Exception as exc:  # alpyca's exception classes share no base but Exception
            number = getattr(exc, "number", None)
            message = getattr(exc, "message", None) or str(exc)
            if type(exc).__name__ == "AlpacaRequestException":
                raise CommunicationError(f"{self.label} {member}: HTTP {number}: {message}") from exc
            if isinstance(number, int) and type(exc).__module__.startswith("alpaca"):
                raise error_for_code(number, f"{self.label} {member}: {message}") from exc
            if isinstance(exc, (ValueError, KeyError, TypeError)):
                raise CommunicationError(f"{self.label} {member}: malformed reply: {exc}") from exc
            raise


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Connection reset", "Remote end closed", "Name or service not known"):
        if marker in text:
            return marker.lower()
    return text[:160]


class AlpacaDeviceMixin:
    """Connection handling shared by the four Alpaca backends.

    A backend calls `_init_alpaca` from its constructor and reads the device
    through ``self._link``.
    """

    _link: AlpacaLink
    address: str
    device_number: int

    def _init_alpaca(self, alpyca_class: type, device_type: str, address: str, device_number: int, timeout: float) -> str:
        self.address = parse_address(address)
        if isinstance(device_number, bool) or not isinstance(device_number, int) or device_number < 0:
            raise InvalidValueError(f"device_number={device_number!r}: expected an integer >= 0")
        self.device_number = device_number
        label = f"Alpaca {device_type} {device_number} at {address}"
        self._link = AlpacaLink(alpyca_class(address, device_number), label, timeout)
        return label

    def use_security(self, token: str | None, certificate: str | None = None) -> None:
        """Reach a guarded server (``toros-devices`` with a ``Security`` section): send ``token`` as the password
        of HTTP Basic (user ``toros``; ASCOM Remote's scheme, which NINA and alpyca can send too), and speak
        HTTPS trusting ``certificate`` (a self-signed one works) when given."""
        self._link.secure(token, certificate)

    def _connect(self) -> None:
        self._link.set("Connected", True)
        if not self._link.get("Connected"):
            raise CommunicationError(f"{self._link.label}: the server did not connect the device")
        self._on_connect()

    def _on_connect(self) -> None:
        """Read the device's fixed facts once connected (backends override)."""

    def _ping(self) -> None:
        # A restarted server has forgotten this client's Connected: that is a dropped device.
        if not self._link.get("Connected"):
            raise NotConnectedError(f"{self._link.label}: the server no longer has this client connected")

    def _disconnect(self) -> None:
        try:
            self._link.set("Connected", False)
        except DriverError as exc:  # the link may be what failed; disconnecting is best effort
            log.warning("%s: disconnect: %s", self._link.label, exc)


@dataclass
class AlpacaServerInfo:
    """One Alpaca server found by `discover`."""

    address: str
    server_name: str = ""
    manufacturer: str = ""
    devices: list[dict] = field(default_factory=list)


def discover(
    *,
    timeout: float = 2.0,
    broadcast: str = "255.255.255.255",
    port: int = DISCOVERY_PORT,
    describe: bool = True,
) -> list[AlpacaServerInfo]:
    """Find Alpaca servers by UDP discovery and list their configured devices.

    Parameters
    ----------
    timeout
        Seconds to collect answers (and the bound of each management call).
    broadcast
        Where the ``alpacadiscovery1`` datagram is sent: the broadcast
        address, or one host.
    port
        Discovery port (32227 by the standard).
    describe
        Ask each server for its description and configured devices.

    Returns
    -------
    list of AlpacaServerInfo
        One per server that answered, in order of address.
    """
    found: dict[str, AlpacaServerInfo] = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        sock.sendto(DISCOVERY_MESSAGE, (broadcast, port))
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            sock.settimeout(remaining)
            try:
                data, (host, _) = sock.recvfrom(1024)
            except (socket.timeout, ConnectionRefusedError):
                break
            try:
                alpaca_port = int(json.loads(data)["AlpacaPort"])
            except (ValueError, KeyError, TypeError):
                log.warning("discovery: ignored a malformed answer from %s: %r", host, data[:80])
                continue
            address = f"{host}:{alpaca_port}"
            found.setdefault(address, AlpacaServerInfo(address))
    servers = [found[a] for a in sorted(found)]
    if describe:
        for server in servers:
            _describe(server, timeout)
    return servers


def _describe(server: AlpacaServerInfo, timeout: float) -> None:
    base = f"http://{server.address}/management"
    try:
        description = requests.get(f"{base}/v1/description", timeout=timeout).json()["Value"]
        server.server_name = description.get("ServerName", "")
        server.manufacturer = description.get("Manufacturer", "")
        server.devices = requests.get(f"{base}/v1/configureddevices", timeout=timeout).json()["Value"]
    except (requests.RequestException, ValueError, KeyError, AttributeError) as exc:
        log.warning("discovery: %s answered but its management API did not: %s", server.address, exc)
