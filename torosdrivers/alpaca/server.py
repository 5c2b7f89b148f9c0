"""An ASCOM Alpaca server for any set of torosdrivers devices.

Serves the device API (``/api/v1/{type}/{number}/{member}``), the management
API and, when asked, the UDP discovery responder. Each `DriverError` goes on
the wire as its ASCOM ErrorNumber; a request the server cannot understand
(missing or malformed parameter, unknown device or member) gets HTTP 400 with a
plain-text reason. The server owns its devices: a client's ``Connected`` is
its own (by ClientID), and a move started while another client's move runs
is refused with a message naming that move (`Members.claim`). ``imagearray``
is answered in ImageBytes when the client
accepts ``application/imagebytes`` and in JSON otherwise; errors on it are sent
as JSON in either case, which every client reads (alpyca 3 cannot read an
ImageBytes error reply).
"""

from __future__ import annotations

import itertools
import json
import logging
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Iterable
from urllib.parse import urlsplit

from torosdrivers._version import __version__
from torosdrivers.alpaca.protocol import (
    API_VERSION,
    DISCOVERY_MESSAGE,
    IMAGEBYTES,
    encode_imagebytes,
    encode_json_image,
)
from torosdrivers.device import Device
from torosdrivers.errors import DriverError, NotConnectedError, UnsupportedError
from torosdrivers.httpguard import Guard, GuardedHandler, GuardedServer

from .members import CameraMembers, Members, members_for, standard_members
from .params import BadRequest, Params

__all__ = ["AlpacaServer"]

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024  # a PUT form is a few hundred bytes


class AlpacaServer:
    """Serve devices over Alpaca.

    Parameters
    ----------
    devices
        The devices, numbered from 0 within each device type in the order given.
    host, port
        Where the HTTP server listens; port 0 picks a free one (see `port`).
    discovery_port
        UDP port of the discovery responder (32227 by the standard); None
        leaves discovery off.
    server_name, location
        For the management API's description.
    imagebytes
        Offer ImageBytes; False makes a server that always answers JSON, as
        many do.
    guard
        The ``Security`` rules (`torosdrivers.httpguard.Guard`): allowed
        networks, hosts and origins, the token (HTTP Basic, as Alpaca clients
        send it), limits and TLS; discovery answers allowed clients only.

    Attributes
    ----------
    delay
        Seconds to wait before every answer: a slow server, for fault tests.
    """

    def __init__(
        self,
        devices: Iterable[Device],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        discovery_port: int | None = None,
        server_name: str = "torosdrivers Alpaca server",
        location: str = "",
        imagebytes: bool = True,
        guard: Guard | None = None,
    ) -> None:
        self.host = host
        self.imagebytes = imagebytes
        self.server_name = server_name
        self.location = location
        self.delay = 0.0
        self.members: dict[tuple[str, int], Members] = {}
        counts: dict[str, int] = {}
        for device in devices:
            kind = device.device_type
            number = counts.get(kind, 0)
            counts[kind] = number + 1
            unique = str(uuid.uuid5(uuid.NAMESPACE_URL, f"torosdrivers:{kind}:{number}:{device.name}"))
            self.members[(kind, number)] = members_for(device, unique)
        self._transactions = itertools.count(1)
        # Without a guard of its own (a simulator, a test): any client that reaches it, no token, as before.
        self.guard = guard or Guard(allowed=("0.0.0.0/0", "::/0"), max_request_bytes=MAX_BODY, client_timeout=60.0,
                                    who="this Alpaca server")
        self._http = _HTTPServer((host, port), _Handler, self)
        self._discovery_port = discovery_port
        self._discovery: socket.socket | None = None
        self._threads: list[threading.Thread] = []

    # -- life cycle -----------------------------------------------------------------
    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        return self._http.server_address[1]

    @property
    def address(self) -> str:
        """``host:port``, as the Alpaca backends take it."""
        return f"{self.host}:{self.port}"

    @property
    def discovery_address(self) -> tuple[str, int] | None:
        """Where the discovery responder listens, once started."""
        return self._discovery.getsockname() if self._discovery is not None else None

    def start(self) -> "AlpacaServer":
        """Serve in background threads; returns self."""
        thread = threading.Thread(target=self._http.serve_forever, args=(0.05,), name=f"alpaca-http-{self.port}", daemon=True)
        thread.start()
        self._threads.append(thread)
        if self._discovery_port is not None:
            self._discovery = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._discovery.bind((self.host, self._discovery_port))
            responder = threading.Thread(target=self._answer_discovery, name="alpaca-discovery", daemon=True)
            responder.start()
            self._threads.append(responder)
        log.info("Alpaca server on %s://%s serving %s", "https" if self.guard.tls else "http", self.address,
                 sorted(self.members))
        return self

    def stop(self) -> None:
        """Stop serving and drop every open connection."""
        self._http.shutdown()
        self._http.server_close()
        if self._discovery is not None:
            self._discovery.close()
            self._discovery = None
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()

    def __enter__(self) -> "AlpacaServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _answer_discovery(self) -> None:
        sock = self._discovery
        reply = json.dumps({"AlpacaPort": self.port}).encode()
        sock.settimeout(0.2)  # closing a socket does not wake a blocked recvfrom: stop() would wait its 5 s join
        while self._discovery is sock:
            try:
                data, sender = sock.recvfrom(1024)
            except TimeoutError:
                continue
            except OSError:
                return  # closed by stop()
            if data.startswith(DISCOVERY_MESSAGE) and self.guard.client_allowed(sender[0]):
                sock.sendto(reply, sender)  # only where clients are allowed: nobody else learns the port

    # -- answers ----------------------------------------------------------------------
    def next_transaction(self) -> int:
        return next(self._transactions)

    def management(self, parts: list[str]):
        if parts == ["apiversions"]:
            return [API_VERSION]
        if parts == ["v1", "description"]:
            return {
                "ServerName": self.server_name,
                "Manufacturer": "TOROS",
                "ManufacturerVersion": __version__,
                "Location": self.location,
            }
        if parts == ["v1", "configureddevices"]:
            return [
                {
                    "DeviceName": m.device.name,
                    "DeviceType": _TYPE_NAMES[kind],
                    "DeviceNumber": number,
                    "UniqueID": m.unique_id,
                }
                for (kind, number), m in sorted(self.members.items())
            ]
        raise BadRequest(f"unknown management endpoint /management/{'/'.join(parts)}")


#: Members a client may use before it connects (ASCOM: identity and connection).
_WITHOUT_CONNECTION = frozenset({"connected", "connect", "connecting", "disconnect", "name", "description",
                                 "driverinfo", "driverversion", "interfaceversion", "supportedactions",
                                 "devicestate"})

_TYPE_NAMES = {"camera": "Camera", "telescope": "Telescope", "dome": "Dome", "filterwheel": "FilterWheel", "focuser": "Focuser",
               "safetymonitor": "SafetyMonitor", "observingconditions": "ObservingConditions"}


class _HTTPServer(GuardedServer, HTTPServer):
    """The Alpaca HTTP server behind its guard (`torosdrivers.httpguard`): allowlist, bounded pool, TLS."""

    def __init__(self, address, handler, app: AlpacaServer) -> None:
        self.app = app
        self.guard_init(app.guard, "alpaca")
        super().__init__(address, handler)
        self.guard_socket()


class _Handler(GuardedHandler, BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a client's session reuses its connection
    disable_nagle_algorithm = True  # headers and body go out as written, no 40 ms delayed-ACK stall
    server: _HTTPServer

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the stdlib's name
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def _serve(self, method: str) -> None:
        app = self.server.app
        if app.delay:
            time.sleep(app.delay)
        if not self.admitted():
            return
        length = self.body_length(required=method == "PUT")  # refused before a byte of it is read
        if length is None:
            return
        url = urlsplit(self.path)
        try:
            if method == "GET":
                if length:
                    self.rfile.read(length)  # a GET's body means nothing here; read, so the next request parses
                params = Params(url.query, caseless=True)
            else:
                params = Params(self.rfile.read(length).decode("utf-8", "replace"), caseless=False)
            client_tid = params.transaction_id("ClientTransactionID")
            params.client_id = params.transaction_id("ClientID")
            parts = [p for p in url.path.split("/") if p]
            if parts[:1] == ["management"] and method == "GET":
                self._json(app.management(parts[1:]), client_tid)
            elif len(parts) == 5 and parts[0] == "api" and parts[1] == f"v{API_VERSION}":
                self._device(method, parts[2].lower(), parts[3], parts[4].lower(), params, client_tid)
            else:
                self._text(404, f"no such endpoint: {method} {url.path}")
        except BadRequest as exc:
            self._text(400, str(exc))
        except (ConnectionError, TimeoutError):
            raise
        except Exception as exc:  # a server fault: answer 500 and keep serving
            log.exception("Alpaca %s %s failed", method, self.path)
            self._text(500, f"server error: {exc}")

    def _device(self, method: str, kind: str, number_text: str, member: str, params: Params, client_tid: int) -> None:
        app = self.server.app
        try:
            number = int(number_text)
        except ValueError:
            raise BadRequest(f"device number {number_text!r} is not an integer") from None
        members = app.members.get((kind, number))
        if members is None:
            raise BadRequest(f"no {kind} number {number} on this server")
        handler = getattr(members, f"{method.lower()}_{member}", None)
        if handler is None and not (member == "imagearray" and method == "GET"):
            if member not in standard_members(kind):
                raise BadRequest(f"{member!r} is not a member of {kind}")
            error = UnsupportedError(f"{members.device.name}: {method} {member} is not implemented")
            self._json(None, client_tid, error)
            return
        try:
            if member not in _WITHOUT_CONNECTION and not members.is_connected(params.client_id):
                raise NotConnectedError(f"{members.device.name}: client {params.client_id} is not connected "
                                        "(PUT Connected=true first)")
            if member == "imagearray":
                assert isinstance(members, CameraMembers)
                self._image(members, client_tid)
                return
            if method == "PUT" and member in members.MOVES:
                with members.moving(member, params.client_id):
                    value = handler(params)
            else:
                value = handler(params)
        except DriverError as exc:
            self._json(None, client_tid, exc)
            return
        self._json(value, client_tid, with_value=(method == "GET" or value is not None))

    def _image(self, members: CameraMembers, client_tid: int) -> None:
        frame = members.image()
        server_tid = self.server.app.next_transaction()
        if self.server.app.imagebytes and IMAGEBYTES in self.headers.get("Accept", ""):
            buffers, kind = encode_imagebytes(frame.data, client_tid, server_tid), IMAGEBYTES
        else:
            buffers, kind = encode_json_image(frame.data, client_tid, server_tid), "application/json"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(sum(len(b) for b in buffers)))
        self.end_headers()
        for buffer in buffers:
            self.wfile.write(buffer)

    def _json(self, value, client_tid: int, error: DriverError | None = None, *, with_value: bool = True) -> None:
        reply: dict = {}
        if with_value and error is None:
            reply["Value"] = value
        reply.update(
            ClientTransactionID=client_tid,
            ServerTransactionID=self.server.app.next_transaction(),
            ErrorNumber=error.ascom_code if error else 0,
            ErrorMessage=str(error) if error else "",
        )
        self._send(200, "application/json", json.dumps(reply).encode())

    def _text(self, status: int, text: str) -> None:
        self._send(status, "text/plain; charset=utf-8", text.encode())

    def _send(self, status: int, kind: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
