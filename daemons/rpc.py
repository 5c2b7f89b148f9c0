"""The XML-RPC server every daemon runs, hardened against hostile clients and web pages.

In the order a connection meets them:

- Clients outside ``Security.Allowed Networks`` are refused when accepted,
  before a byte is read (a short HTTP 403 on plain HTTP, a close under TLS).
- At most ``Security.Max Connections`` connections are served at once, by a
  bounded pool of threads. When all are taken, one is closed to make room: an
  idle keep-alive connection (its client reconnects), else the one that has
  been sending its request longest, once that is over `SLOW_REQUEST` s (a
  well-behaved request arrives in milliseconds; a trickler never finishes).
  Only if none qualifies does the newcomer get HTTP 503. The listen backlog
  (`RPCServer.request_queue_size`) absorbs bursts of connects.
- Under TLS (``Security.TLS Certificate`` and ``TLS Key``) the handshake runs in
  the connection's own thread, under its deadline.
- Each request must arrive whole within ``Security.Client Timeout`` of its
  first byte: a client trickling its headers or body is dropped, however
  often it sends a byte.
- A ``Host`` that names neither an IP address, this machine nor one of
  ``Security.Allowed Hosts`` is refused (a DNS-rebinding page names its own
  domain), as is any ``Origin`` not in ``Security.Allowed Origins`` (another
  web page open on the observatory PC).
- With ``Security.Token File``, every request needs ``Authorization: Bearer
  <token>`` (HTTP 401 otherwise).
- The body must be ``text/xml`` with a ``Content-Length`` from 0 to
  ``Security.Max Request Bytes``; anything else is refused before the body is
  read. A body with an XML entity or DOCTYPE declaration is a Fault.
- Faults mean what they say: code 1 for a bad request or work order, 5 for
  an internal error (whose message gives a reference to the traceback in the
  log, no Python internals). Messages are cut to `MAX_FAULT_CHARS`.
- ``GET /`` serves a documentation page of the methods.
"""

from __future__ import annotations

import hmac
import inspect
import io
import ipaddress
import logging
import re
import socket
import ssl
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Iterable
from xmlrpc.client import Fault, dumps, loads
from xmlrpc.server import DocXMLRPCRequestHandler, DocXMLRPCServer

from .security import host_problem
from .workorders import FAULT_INVALID, FAULT_SERVER, shorten

__all__ = ["RPCServer", "MAX_FAULT_CHARS", "SLOW_REQUEST"]

log = logging.getLogger(__name__)

#: A request still arriving after this many seconds may be closed to make room for a newcomer.
SLOW_REQUEST = 1.0
#: Longest Fault message sent (and logged): a refusal never echoes a whole 200 KB value.
MAX_FAULT_CHARS = 600

_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class _Warnings:
    """Warnings about refused clients, at most one per client and kind a minute (a flood is not a log flood)."""

    def __init__(self, every: float = 60.0) -> None:
        self.every = every
        self._last: dict[tuple[str, str], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def __call__(self, client: str, kind: str, message: str) -> None:
        now = time.monotonic()
        with self._lock:
            last, quiet = self._last.get((client, kind), (-self.every, 0))
            if now - last < self.every:
                self._last[(client, kind)] = (last, quiet + 1)
                return
            if len(self._last) > 10000:  # forget the oldest clients rather than grow without bound
                self._last.clear()
            self._last[(client, kind)] = (now, 0)
        more = f" ({quiet} more like it from {client} in the last minute)" if quiet else ""
        log.warning("refused %s: %s%s", client, message, more)


class _DeadlineIO(socket.SocketIO):
    """A socket reader whose reads, together, end at ``deadline`` (a trickle cannot extend it)."""

    deadline: float | None = None

    def readinto(self, b) -> int | None:
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the request did not arrive whole within the client timeout")
            self._sock.settimeout(left)
        return super().readinto(b)


class _Connection:
    """A served connection, as the pool sees it: ``idle`` between requests, ``reading`` one, or ``working``."""

    __slots__ = ("sock", "state", "since")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.state = "reading"
        self.since = time.monotonic()

    def enter(self, state: str) -> None:
        self.state, self.since = state, time.monotonic()


class _Handler(DocXMLRPCRequestHandler):
    rpc_paths = ("/", "/RPC2")
    protocol_version = "HTTP/1.1"  # keep-alive: a client's connection serves all its calls
    disable_nagle_algorithm = True  # headers and body go out at once, no delayed-ACK stall
    server: "RPCServer"

    def setup(self) -> None:
        self.timeout = self.server.client_timeout  # idle timeout between requests
        super().setup()
        self.rfile.close()  # the stdlib's reader, replaced by one with a whole-request deadline
        self._reader = _DeadlineIO(self.connection, "rb")
        self.rfile = io.BufferedReader(self._reader, 65536)

    def handle(self) -> None:
        if isinstance(self.connection, ssl.SSLSocket):
            try:
                self.connection.do_handshake()
            except (OSError, ssl.SSLError) as exc:
                log.debug("TLS handshake with %s failed: %s", self.client_address[0], exc)
                return
        super().handle()

    def handle_one_request(self) -> None:
        me = self._me = self.server.connection_of(self.connection)
        me.enter("idle")
        try:
            first = self.rfile.peek(1)  # the next request's first byte, under the idle timeout
        except OSError:
            first = b""
        me.enter("reading")
        if not first:
            self.close_connection = True
            return
        self._reader.deadline = time.monotonic() + self.server.client_timeout
        try:
            super().handle_one_request()
        finally:
            self._reader.deadline = None
            if not self.close_connection:
                self.connection.settimeout(self.server.client_timeout)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the stdlib's name
        log.debug("%s %s", self.address_string(), format % args)

    def _refuse(self, status: int, text: str, *extra: tuple[str, str]) -> None:
        self.close_connection = True
        body = text.encode()
        self.send_response(status)
        for name, value in extra:
            self.send_header(name, value)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.server.warn(self.client_address[0], str(status), shorten(text, 200))

    def _admitted(self) -> bool:
        """Host, Origin and token checks common to every method; refuses and returns False on failure."""
        problem = self.server.host_problem(self.headers.get("Host"))
        if problem:
            self._refuse(403, problem)
            return False
        origin = self.headers.get("Origin")
        if origin is not None and origin not in self.server.allowed_origins:
            self._refuse(403, f"Origin {shorten(origin, 80)!r} is not in Security.Allowed Origins of this daemon")
            return False
        if self.server.token is not None:
            given = self.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {self.server.token}".encode()):
                self._refuse(401, "this daemon needs 'Authorization: Bearer <token>' (Security.Token File)",
                             ("WWW-Authenticate", 'Bearer realm="toros"'))
                return False
        return True

    def do_GET(self) -> None:
        if self._admitted():
            super().do_GET()

    def do_POST(self) -> None:
        if not self.is_rpc_path_valid():
            self.report_404()
            return
        if not self._admitted():
            return
        if "Transfer-Encoding" in self.headers:
            self._refuse(411, "chunked bodies are not accepted: send a Content-Length")
            return
        text = self.headers.get("Content-Length")
        if text is None:
            self._refuse(411, "a Content-Length header is required")
            return
        if not text.strip().isdigit():
            self._refuse(400, f"Content-Length {shorten(text, 40)!r}: expected a whole number of bytes, 0 or more")
            return
        length, limit = int(text), self.server.max_request_bytes
        if length > limit:  # the body is never read
            self._refuse(413, f"request body of {length} bytes is over this daemon's limit of {limit}")
            return
        kind = self.headers.get_content_type()
        if kind != "text/xml":
            self._refuse(415, f"Content-Type {shorten(kind, 60)!r}: expected text/xml (an XML-RPC call)")
            return
        body = self.rfile.read(length)
        if len(body) < length:
            self.close_connection = True  # the client went away mid-body
            return
        self._me.enter("working")  # never closed to make room: its answer is on its way
        if _DECLARATION.search(body):
            reply = self.server.fault(FAULT_INVALID, "XML entity and DOCTYPE declarations are refused")
        else:
            reply = self.server.dispatch_body(body)
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


class RPCServer(DocXMLRPCServer):
    """A hardened XML-RPC server with a bounded pool of connection threads.

    Parameters
    ----------
    address
        ``(host, port)``; 127.0.0.1 unless configured otherwise.
    allowed
        Client networks (``ip_network`` objects or their text).
    max_request_bytes, client_timeout, max_connections
        See the module notes.
    allowed_hosts, allowed_origins
        Extra ``Host`` names and the ``Origin`` values accepted.
    token
        The shared secret clients send as ``Authorization: Bearer``; None for none.
    tls
        A server-side `ssl.SSLContext`; None for plain HTTP.
    """

    request_queue_size = 1024  # bursts of connects wait in the kernel, not in SYN retries
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], *, allowed: Iterable, max_request_bytes: int = 262144,
                 client_timeout: float = 10.0, max_connections: int = 128, allowed_hosts: Iterable[str] = (),
                 allowed_origins: Iterable[str] = (), token: str | None = None, tls: ssl.SSLContext | None = None,
                 title: str = "TOROS service") -> None:
        self.allowed = [ipaddress.ip_network(str(n), strict=False) for n in allowed]
        self.max_request_bytes = int(max_request_bytes)
        self.client_timeout = float(client_timeout)
        self.max_connections = int(max_connections)
        self.allowed_hosts = {h.lower() for h in allowed_hosts} | {"localhost", socket.gethostname().lower()}
        self.allowed_origins = set(allowed_origins)
        self.token = token
        self._connections: dict[socket.socket, _Connection] = {}
        self._signatures: dict[str, inspect.Signature] = {}
        self._pool_lock = threading.Lock()
        self.warn = _Warnings()
        self._pool = ThreadPoolExecutor(max_workers=self.max_connections, thread_name_prefix=f"{title} connection")
        super().__init__(address, requestHandler=_Handler, logRequests=False, allow_none=True)
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
        self.tls = tls is not None
        self.set_server_title(title)
        self.set_server_name(title)
        self.register_introspection_functions()

    # The standard library's introspection docstrings teach with 'add' and 'subtract': this daemon's own say
    # what it has.
    def system_listMethods(self) -> list[str]:
        """The names of this daemon's methods."""
        return super().system_listMethods()

    def system_methodHelp(self, method_name: str) -> str:
        """The documentation of one method, e.g. system.methodHelp('front_desk')."""
        return super().system_methodHelp(method_name)

    def system_methodSignature(self, method_name: str) -> str:
        """Not supported: XML-RPC signatures cannot describe work orders; see system.methodHelp."""
        return super().system_methodSignature(method_name)

    # -- accepting ------------------------------------------------------------------------
    def client_allowed(self, host: str) -> bool:
        try:
            ip = ipaddress.ip_address(host.split("%")[0])
        except ValueError:
            return False
        if ip.version == 6 and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        return any(ip in net for net in self.allowed)

    def verify_request(self, request, client_address) -> bool:
        """The allowlist, checked on accept: a refused client never gets a thread."""
        if self.client_allowed(client_address[0]):
            return True
        self.warn(client_address[0], "network", "not in Security.Allowed Networks")
        if not self.tls:
            self._say(request, 403, f"client {client_address[0]} is not in Security.Allowed Networks of this daemon")
        return False

    def process_request(self, request, client_address) -> None:
        """Hand the connection to the pool, making room for it if full (see the module notes)."""
        with self._pool_lock:
            full = len(self._connections) >= self.max_connections
            if full:
                victim = self._victim()
                if victim is not None:
                    full = False
                    victim.enter("closing")
                    try:
                        victim.sock.shutdown(socket.SHUT_RDWR)  # its thread sees the close and frees its slot
                    except OSError:
                        pass
            if not full:
                self._connections[request] = _Connection(request)
        if full:
            self.warn(client_address[0], "full", f"all {self.max_connections} connections in use "
                                                 "(Security.Max Connections)")
            if not self.tls:
                self._say(request, 503, f"all {self.max_connections} connections of this daemon are in use; retry")
            self.shutdown_request(request)
            return
        self._pool.submit(self._serve_connection, request, client_address)

    def _victim(self) -> _Connection | None:
        """The connection to close for a newcomer: idle first, else the slowest request past `SLOW_REQUEST`."""
        idle = [c for c in self._connections.values() if c.state == "idle"]
        if idle:
            return min(idle, key=lambda c: c.since)
        slow = [c for c in self._connections.values()
                if c.state == "reading" and time.monotonic() - c.since > min(SLOW_REQUEST, self.client_timeout / 2)]
        return min(slow, key=lambda c: c.since) if slow else None

    def _serve_connection(self, request, client_address) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            with self._pool_lock:
                self._connections.pop(request, None)
            self.shutdown_request(request)

    def connection_of(self, sock: socket.socket) -> _Connection:
        with self._pool_lock:
            return self._connections.get(sock) or _Connection(sock)

    @staticmethod
    def _say(request: socket.socket, status: int, text: str) -> None:
        """A short plain-text answer sent without waiting (the client's request is never read)."""
        body = text.encode()
        reason = {403: "Forbidden", 503: "Service Unavailable"}[status]
        head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n" \
               f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        try:
            request.setblocking(False)
            request.send(head.encode() + body)
        except OSError:
            pass

    def host_problem(self, host: str | None) -> str | None:
        """Why a ``Host`` header is refused, or None (`torosdrivers.daemons.security.host_problem`)."""
        return host_problem(host, self.allowed_hosts)

    def handle_error(self, request, client_address) -> None:
        log.debug("connection from %s ended with an error", client_address, exc_info=True)

    def server_close(self) -> None:
        super().server_close()
        with self._pool_lock:
            for connection in self._connections.values():
                try:
                    connection.sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- dispatching ----------------------------------------------------------------------
    def dispatch_body(self, body: bytes) -> bytes:
        """Answer one XML-RPC call: its result, or a Fault whose code says whose fault it was."""
        try:
            params, method = loads(body, use_builtin_types=self.use_builtin_types)
        except Exception as exc:  # expat, bad numbers, bad base64: the request is at fault
            return self.fault(FAULT_INVALID, f"not a valid XML-RPC call: {exc}")
        func = self.funcs.get(method) if isinstance(method, str) else None
        if func is None:
            return self.fault(FAULT_INVALID, f"no method {shorten(method, 60)!r}; methods: {sorted(self.funcs)}")
        try:
            self._signature(method, func).bind(*params)
        except TypeError as exc:
            return self.fault(FAULT_INVALID, f"{method}: {exc}")
        try:
            return dumps((func(*params),), methodresponse=True, allow_none=self.allow_none).encode()
        except Fault as fault:
            return self.fault(fault.faultCode, fault.faultString)
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception("internal error in %s (reference %s)", method, reference)
            return self.fault(FAULT_SERVER, f"internal error in {method}: see the daemon's log, reference {reference}")

    def _signature(self, method: str, func) -> inspect.Signature:
        signature = self._signatures.get(method)
        if signature is None:
            signature = self._signatures[method] = inspect.signature(func)
        return signature

    @staticmethod
    def fault(code: int, text: str) -> bytes:
        """A Fault reply, its message cut to `MAX_FAULT_CHARS`."""
        return dumps(Fault(code, shorten(text, MAX_FAULT_CHARS)), methodresponse=True).encode()

    @property
    def port(self) -> int:
        return self.server_address[1]

