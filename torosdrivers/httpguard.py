"""One guard for every HTTP door: the daemons' XML-RPC, the device server's Alpaca API (and the page's rules).

A `Guard` holds the ``Security`` rules and decides; `GuardedServer` and
`GuardedHandler` apply them to a ``socketserver``/``http.server`` server, in
the order a connection meets them:

- Clients outside the allowed networks are refused when accepted, before a
  byte is read (a short HTTP 403 on plain HTTP, a close under TLS).
- At most ``max_connections`` connections are served at once, by a bounded
  pool of threads. When all are taken, one is closed to make room: an idle
  keep-alive connection (its client reconnects), else the one that has been
  sending its request longest, once that is over `SLOW_REQUEST` s (a
  well-behaved request arrives in milliseconds; a trickler never finishes).
  Only if none qualifies does the newcomer get HTTP 503. The listen backlog
  (``request_queue_size``, 1024) absorbs bursts of connects.
- Under TLS the handshake runs in the connection's own thread, under its
  deadline.
- Each request must arrive whole within ``client_timeout`` of its first
  byte: a client trickling its headers or body is dropped, however often it
  sends a byte.
- A ``Host`` that names neither an IP address, this machine nor an allowed
  host is refused (a DNS-rebinding page names its own domain), as is any
  ``Origin`` not allowed (another web page open on the observatory PC).
- With a token, every request needs it: ``Authorization: Bearer <token>``,
  or (where `Guard.basic` allows it, as ASCOM Remote and Alpaca clients
  such as NINA and alpyca send credentials) HTTP Basic with the token as the
  password. An empty secret never passes. Compared in constant time.
- A body's ``Content-Length`` is checked before the body is read: chunked
  or missing where a body is needed is 411, not a whole number of bytes
  (``abc``, ``-1``) is 400, over ``max_request_bytes`` is 413. Never a 500.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import io
import ipaddress
import logging
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Iterable

__all__ = ["Guard", "Refusal", "GuardedServer", "GuardedHandler", "SLOW_REQUEST", "host_problem", "shorten"]

log = logging.getLogger("torosdrivers.httpguard")

#: A request still arriving after this many seconds may be closed to make room for a newcomer.
SLOW_REQUEST = 1.0
_REASONS = {403: "Forbidden", 503: "Service Unavailable"}


def shorten(text: object, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis: a refusal never echoes a whole hostile value."""
    text = str(text)
    return text if len(text) <= limit else text[: max(0, limit - 3)] + "..."


def host_problem(host: str | None, allowed_hosts, what: str = "this daemon's") -> str | None:
    """Why a request's ``Host`` header is refused (DNS rebinding), or None.

    An IP address, ``localhost``, this machine's name or a name in
    ``allowed_hosts`` is accepted; no header at all (an HTTP/1.0 script) is too.
    """
    if host is None:
        return None
    name = host.strip().lower()
    if name.startswith("["):
        name = name[1:].partition("]")[0]
    elif name.count(":") == 1:
        name = name.partition(":")[0]
    try:
        ipaddress.ip_address(name)
        return None
    except ValueError:
        pass
    if name in allowed_hosts or name in ("localhost", socket.gethostname().lower()):
        return None
    return (f"Host {shorten(host, 80)!r} is not {what} address: add the name to Security.Allowed Hosts if it is "
            "(a page on another domain must not reach the observatory)")


@dataclass(frozen=True)
class Refusal:
    """An HTTP refusal: its status, its one-line text and any further headers."""

    status: int
    text: str
    headers: tuple[tuple[str, str], ...] = ()


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


@dataclass
class Guard:
    """The ``Security`` rules of one HTTP door.

    Parameters
    ----------
    allowed
        Client networks (``ip_network`` objects or their text).
    allowed_hosts, allowed_origins
        Extra ``Host`` names and the ``Origin`` values accepted.
    token
        The shared secret; None for none. An empty one is refused here.
    basic
        Accept the token as the password of HTTP Basic too (Alpaca clients' way).
    max_request_bytes, client_timeout, max_connections
        See the module notes.
    tls
        A server-side `ssl.SSLContext`; None for plain HTTP.
    who
        How refusals name the server ("this daemon", "the device server").
    """

    allowed: Iterable = ("127.0.0.0/8", "::1/128")
    allowed_hosts: Iterable[str] = ()
    allowed_origins: Iterable[str] = ()
    token: str | None = None
    basic: bool = False
    max_request_bytes: int = 262144
    client_timeout: float = 10.0
    max_connections: int = 128
    tls: ssl.SSLContext | None = None
    who: str = "this daemon"
    warn: _Warnings = field(default_factory=_Warnings)

    def __post_init__(self) -> None:
        if self.token is not None and not self.token.strip():
            raise ValueError("an empty token would let anyone in: refused")
        self.allowed = [ipaddress.ip_network(str(n), strict=False) for n in self.allowed]
        self.allowed_hosts = {h.lower() for h in self.allowed_hosts} | {"localhost", socket.gethostname().lower()}
        self.allowed_origins = set(self.allowed_origins)

    def client_allowed(self, host: str) -> bool:
        """Whether a client address is in the allowed networks."""
        try:
            ip = ipaddress.ip_address(host.split("%")[0])
        except ValueError:
            return False
        if ip.version == 6 and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        return any(ip in net for net in self.allowed)

    def host_problem(self, host: str | None) -> str | None:
        return host_problem(host, self.allowed_hosts, f"{self.who}'s")

    def admit(self, headers) -> Refusal | None:
        """Host, Origin and credentials, common to every request; the refusal, or None to go on."""
        problem = self.host_problem(headers.get("Host"))
        if problem:
            return Refusal(403, problem)
        origin = headers.get("Origin")
        if origin is not None and origin not in self.allowed_origins:
            return Refusal(403, f"Origin {shorten(origin, 80)!r} is not in Security.Allowed Origins of {self.who}")
        if self.token is not None and not self.authorized(headers.get("Authorization", "")):
            scheme = "Basic" if self.basic else "Bearer"
            how = "HTTP Basic with the token as the password" if self.basic else "'Authorization: Bearer <token>'"
            return Refusal(401, f"{self.who} needs {how} (Security.Token File)",
                           (("WWW-Authenticate", f'{scheme} realm="toros"'),))
        return None

    def authorized(self, given: str) -> bool:
        """Whether an ``Authorization`` header carries the token (Bearer, or Basic where allowed)."""
        assert self.token is not None
        secret = self.token.encode()
        scheme, _, value = given.strip().partition(" ")
        if scheme.lower() == "bearer":
            return hmac.compare_digest(value.strip().encode(), secret)
        if scheme.lower() == "basic" and self.basic:
            try:
                _, _, password = base64.b64decode(value.strip(), validate=True).partition(b":")
            except (binascii.Error, ValueError):
                return False
            return hmac.compare_digest(password, secret)
        return False

    def body_length(self, headers, *, required: bool) -> int | Refusal:
        """The body's length from its headers, checked before a byte of it is read."""
        if "Transfer-Encoding" in headers:
            return Refusal(411, "chunked bodies are not accepted: send a Content-Length")
        text = headers.get("Content-Length")
        if text is None:
            return Refusal(411, "a Content-Length header is required") if required else 0
        if not text.strip().isdigit() or not text.strip().isascii():
            return Refusal(400, f"Content-Length {shorten(text, 40)!r}: expected a whole number of bytes, 0 or more")
        length = int(text)
        if length > self.max_request_bytes:
            return Refusal(413, f"request body of {length} bytes is over {self.who}'s limit of "
                                f"{self.max_request_bytes} (Security.Max Request Bytes)")
        return length


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


class GuardedServer:
    """Mixin for a ``socketserver.TCPServer``: the allowlist on accept, the bounded pool, TLS.

    Call `guard_init` before the server class's own ``__init__`` and `guard_socket` after it.
    """

    request_queue_size = 1024  # bursts of connects wait in the kernel, not in SYN retries
    allow_reuse_address = True
    guard: Guard

    def guard_init(self, guard: Guard, title: str) -> None:
        self.guard = guard
        self._connections: dict[socket.socket, _Connection] = {}
        self._pool_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=guard.max_connections, thread_name_prefix=f"{title} connection")

    def guard_socket(self) -> None:
        """Wrap the listening socket in TLS when the guard has a context (handshakes run per connection)."""
        if self.guard.tls is not None:
            self.socket = self.guard.tls.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
        self.tls = self.guard.tls is not None

    def verify_request(self, request, client_address) -> bool:
        """The allowlist, checked on accept: a refused client never gets a thread."""
        if self.guard.client_allowed(client_address[0]):
            return True
        self.guard.warn(client_address[0], "network", "not in Security.Allowed Networks")
        if not self.tls:
            self._say(request, 403, f"client {client_address[0]} is not in Security.Allowed Networks of "
                                    f"{self.guard.who}")
        return False

    def process_request(self, request, client_address) -> None:
        """Hand the connection to the pool, making room for it if full (see the module notes)."""
        limit = self.guard.max_connections
        with self._pool_lock:
            full = len(self._connections) >= limit
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
            self.guard.warn(client_address[0], "full", f"all {limit} connections in use (Security.Max Connections)")
            if not self.tls:
                self._say(request, 503, f"all {limit} connections of {self.guard.who} are in use; retry")
            self.shutdown_request(request)
            return
        self._pool.submit(self._serve_connection, request, client_address)

    def _victim(self) -> _Connection | None:
        """The connection to close for a newcomer: idle first, else the slowest request past `SLOW_REQUEST`."""
        idle = [c for c in self._connections.values() if c.state == "idle"]
        if idle:
            return min(idle, key=lambda c: c.since)
        slow = [c for c in self._connections.values() if c.state == "reading"
                and time.monotonic() - c.since > min(SLOW_REQUEST, self.guard.client_timeout / 2)]
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
        head = f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: text/plain; charset=utf-8\r\n" \
               f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        try:
            request.setblocking(False)
            request.send(head.encode() + body)
        except OSError:
            pass

    def handle_error(self, request, client_address) -> None:
        log.debug("connection from %s ended with an error", client_address, exc_info=True)

    def close_connections(self) -> None:
        """Drop every open connection (a stopping server)."""
        with self._pool_lock:
            for connection in self._connections.values():
                try:
                    connection.sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def server_close(self) -> None:
        super().server_close()  # type: ignore[misc]
        self.close_connections()
        self._pool.shutdown(wait=False, cancel_futures=True)


class GuardedHandler:
    """Mixin for a ``BaseHTTPRequestHandler`` served by a `GuardedServer`: TLS handshake, the idle timeout and
    the whole-request deadline, `refuse` and `admitted`."""

    server: GuardedServer

    def setup(self) -> None:
        self.timeout = self.server.guard.client_timeout  # idle timeout between requests
        super().setup()  # type: ignore[misc]
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
        super().handle()  # type: ignore[misc]

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
        self._reader.deadline = time.monotonic() + self.server.guard.client_timeout
        try:
            super().handle_one_request()  # type: ignore[misc]
        finally:
            self._reader.deadline = None
            if not self.close_connection:
                self.connection.settimeout(self.server.guard.client_timeout)

    def refuse(self, refusal: Refusal) -> None:
        """Answer a refusal and close the connection (an unread body cannot be skipped safely)."""
        self.close_connection = True
        body = refusal.text.encode()
        self.send_response(refusal.status)
        for name, value in refusal.headers + self.extra_headers():
            self.send_header(name, value)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.server.guard.warn(self.client_address[0], str(refusal.status), shorten(refusal.text, 200))

    def extra_headers(self) -> tuple[tuple[str, str], ...]:
        """Headers every answer of this server carries (none by default)."""
        return ()

    def admitted(self) -> bool:
        """Host, Origin and credentials; refuses and returns False on failure."""
        refusal = self.server.guard.admit(self.headers)
        if refusal is not None:
            self.refuse(refusal)
            return False
        return True

    def body_length(self, *, required: bool) -> int | None:
        """The checked Content-Length; None after refusing."""
        length = self.server.guard.body_length(self.headers, required=required)
        if isinstance(length, Refusal):
            self.refuse(length)
            return None
        return length
