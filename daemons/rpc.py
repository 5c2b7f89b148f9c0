"""The XML-RPC server every daemon runs, hardened for a network with no authentication.

- Clients outside ``Security.Allowed Networks`` get HTTP 403 and a reason.
- A request body over ``Max Request Bytes`` gets HTTP 413 before it is read.
- Each connection has its own thread and its own timeout, so a client that
  stalls mid-request never blocks the others.
- A body with an XML entity or DOCTYPE declaration is refused with a Fault
  (no entity expansion, however the XML parser is built).
- ``GET /`` serves a documentation page of the methods.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socketserver
from typing import Iterable
from xmlrpc.client import Fault, dumps
from xmlrpc.server import DocXMLRPCRequestHandler, DocXMLRPCServer

from .workorders import FAULT_INVALID

__all__ = ["RPCServer"]

log = logging.getLogger(__name__)

_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class _Handler(DocXMLRPCRequestHandler):
    rpc_paths = ("/", "/RPC2")
    protocol_version = "HTTP/1.1"  # keep-alive: a client's connection serves all its calls
    disable_nagle_algorithm = True  # headers and body go out at once, no delayed-ACK stall
    server: "RPCServer"

    def setup(self) -> None:
        self.timeout = self.server.client_timeout  # socket timeout of this connection
        super().setup()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the stdlib's name
        log.debug("%s %s", self.address_string(), format % args)

    def _allowed(self) -> bool:
        host = self.client_address[0]
        if self.server.client_allowed(host):
            return True
        self.close_connection = True
        self._plain(403, f"client {host} is not in Security.Allowed Networks of this daemon")
        log.warning("refused a request from %s: not in the allowed networks", host)
        return False

    def _plain(self, status: int, text: str) -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self._allowed():
            super().do_GET()

    def do_POST(self) -> None:
        if not self._allowed():
            return
        if not self.is_rpc_path_valid():
            self.report_404()
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self.close_connection = True
            self._plain(411, "a Content-Length header is required")
            return
        limit = self.server.max_request_bytes
        if length > limit:
            self.close_connection = True  # the body is never read
            self._plain(413, f"request body of {length} bytes is over this daemon's limit of {limit}")
            return
        try:
            body = self.rfile.read(length)
        except TimeoutError:
            self.close_connection = True
            return  # a stalled client: its thread ends, nobody else waited
        if _DECLARATION.search(body):
            reply = dumps(Fault(FAULT_INVALID, "XML entity and DOCTYPE declarations are refused"), methodresponse=True)
            self._xml(reply.encode())
            return
        reply = self.server._marshaled_dispatch(body, getattr(self, "_dispatch", None), self.path)
        self._xml(reply)

    def _xml(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class RPCServer(socketserver.ThreadingMixIn, DocXMLRPCServer):
    """A threaded, hardened XML-RPC server.

    Parameters
    ----------
    address
        ``(host, port)``; 127.0.0.1 unless configured otherwise.
    allowed
        Client networks (``ip_network`` objects).
    max_request_bytes, client_timeout
        See the module notes.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], *, allowed: Iterable, max_request_bytes: int = 262144,
                 client_timeout: float = 10.0, title: str = "TOROS service") -> None:
        self.allowed = [ipaddress.ip_network(str(n), strict=False) for n in allowed]
        self.max_request_bytes = int(max_request_bytes)
        self.client_timeout = float(client_timeout)
        super().__init__(address, requestHandler=_Handler, logRequests=False, allow_none=True)
        self.set_server_title(title)
        self.set_server_name(title)
        self.register_introspection_functions()

    def client_allowed(self, host: str) -> bool:
        try:
            ip = ipaddress.ip_address(host.split("%")[0])
        except ValueError:
            return False
        if ip.version == 6 and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        return any(ip in net for net in self.allowed)

    def handle_error(self, request, client_address) -> None:
        log.debug("connection from %s ended with an error", client_address, exc_info=True)

    @property
    def port(self) -> int:
        return self.server_address[1]
