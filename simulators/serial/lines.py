"""A simulated device on any kind of line a backend opens: TCP, a pty, or an RFC 2217 port server."""

from __future__ import annotations

from contextlib import ExitStack, contextmanager
from typing import Iterator

from .rfc2217 import RFC2217PortServer
from .transport import Responder, SerialSimServer

__all__ = ["LINE_KINDS", "serve_line"]

#: ``socket``: serial-over-Ethernet (raw TCP); ``pty``: a local serial port;
#: ``rfc2217``: a port server speaking Telnet with the COM-port option.
LINE_KINDS = ("socket", "pty", "rfc2217")


@contextmanager
def serve_line(responder: Responder, kind: str) -> Iterator[str]:
    """Serve ``responder`` on a line of ``kind``; yields the URL a backend opens."""
    if kind not in LINE_KINDS:
        raise ValueError(f"kind={kind!r}: expected one of {list(LINE_KINDS)}")
    with ExitStack() as stack:
        server = stack.enter_context(SerialSimServer(responder, tcp=kind == "socket"))
        if kind == "rfc2217":
            yield stack.enter_context(RFC2217PortServer(server.url)).url
        else:
            yield server.url
