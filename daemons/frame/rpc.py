"""The XML-RPC server every daemon runs, hardened against hostile clients and web pages.

The connection-level rules (the allowlist on accept, the bounded pool, TLS,
the whole-request deadline, ``Host``/``Origin``/token checks and the
``Content-Length`` rules) are `torosdrivers.httpguard`'s, the same for every
HTTP door of the observatory (the device server's Alpaca API too). Here:

- The body must be ``text/xml`` with a ``Content-Length`` from 0 to
  ``Security.Max Request Bytes``; anything else is refused before the body is
  read. The body must be UTF-8 (or ASCII) XML, and any DOCTYPE or entity
  declaration (looked for after decoding, so a UTF-16 body cannot hide one)
  is a Fault: without a DTD no entity can be declared, let alone expanded.
- Faults mean what they say: code 1 for a bad request or work order, 5 for
  an internal error (whose message gives a reference to the traceback in the
  log, no Python internals). Messages are cut to `MAX_FAULT_CHARS`.
- ``GET /`` serves a documentation page of the methods.
"""

from __future__ import annotations

import inspect
import logging
import re
import ssl
import uuid
from typing import Iterable
from xmlrpc.client import Fault, dumps, loads
from xmlrpc.server import DocXMLRPCRequestHandler, DocXMLRPCServer

from torosdrivers.httpguard import SLOW_REQUEST, Guard, GuardedHandler, GuardedServer, Refusal

from torosdrivers.daemons.frame.workorders import FAULT_INVALID, FAULT_SERVER, shorten

__all__ = ["RPCServer", "MAX_FAULT_CHARS", "SLOW_REQUEST"]

log = logging.getLogger(__name__)

#: Longest Fault message sent (and logged): a refusal never echoes a whole 200 KB value.
MAX_FAULT_CHARS = 600

_DECLARATION = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def _hostile(body: bytes) -> str:
    """Why an XML-RPC body is refused before parsing ("" when it is not): not UTF-8, or a declaration.

    Checked on the decoded text, so an encoding a byte pattern would not match (UTF-16) cannot hide a
    DOCTYPE: with no DOCTYPE there is no entity to expand (the rule defusedxml applies, without its second
    parse of every call)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "the body must be UTF-8 XML (an XML-RPC call)"
    head = text[:200].lower()
    if "encoding=" in head and not any(f"encoding={q}{e}" in head for q in "'\"" for e in ("utf-8", "us-ascii", "ascii")):
        return "the body must be UTF-8 XML: its declaration names another encoding"
    if _DECLARATION.search(text):
        return "XML entity and DOCTYPE declarations are refused"
    return ""


class _Handler(GuardedHandler, DocXMLRPCRequestHandler):
    rpc_paths = ("/", "/RPC2")
    protocol_version = "HTTP/1.1"  # keep-alive: a client's connection serves all its calls
    disable_nagle_algorithm = True  # headers and body go out at once, no delayed-ACK stall
    server: "RPCServer"

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the stdlib's name
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        if self.admitted():
            super().do_GET()

    def do_POST(self) -> None:
        if not self.is_rpc_path_valid():
            self.report_404()
            return
        if not self.admitted():
            return
        length = self.body_length(required=True)
        if length is None:
            return
        kind = self.headers.get_content_type()
        if kind != "text/xml":
            self.refuse(Refusal(415, f"Content-Type {shorten(kind, 60)!r}: expected text/xml (an XML-RPC call)"))
            return
        body = self.rfile.read(length)
        if len(body) < length:
            self.close_connection = True  # the client went away mid-body
            return
        self._me.enter("working")  # never closed to make room: its answer is on its way
        problem = _hostile(body)
        reply = self.server.fault(FAULT_INVALID, problem) if problem else self.server.dispatch_body(body)
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


class RPCServer(GuardedServer, DocXMLRPCServer):
    """A hardened XML-RPC server with a bounded pool of connection threads.

    Parameters
    ----------
    address
        ``(host, port)``; 127.0.0.1 unless configured otherwise.
    allowed
        Client networks (``ip_network`` objects or their text).
    max_request_bytes, client_timeout, max_connections
        See `torosdrivers.httpguard`.
    allowed_hosts, allowed_origins
        Extra ``Host`` names and the ``Origin`` values accepted.
    token
        The shared secret clients send as ``Authorization: Bearer``; None for none.
    tls
        A server-side `ssl.SSLContext`; None for plain HTTP.
    """

    def __init__(self, address: tuple[str, int], *, allowed: Iterable, max_request_bytes: int = 262144,
                 client_timeout: float = 10.0, max_connections: int = 128, allowed_hosts: Iterable[str] = (),
                 allowed_origins: Iterable[str] = (), token: str | None = None, tls: ssl.SSLContext | None = None,
                 title: str = "TOROS service") -> None:
        self.guard_init(Guard(allowed=allowed, allowed_hosts=allowed_hosts, allowed_origins=allowed_origins,
                              token=token, max_request_bytes=max_request_bytes, client_timeout=client_timeout,
                              max_connections=max_connections, tls=tls), title)
        self._signatures: dict[str, inspect.Signature] = {}
        super().__init__(address, requestHandler=_Handler, logRequests=False, allow_none=True)
        self.guard_socket()
        self.set_server_title(title)
        self.set_server_name(title)
        self.register_introspection_functions()

    @property
    def max_request_bytes(self) -> int:
        return self.guard.max_request_bytes

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

