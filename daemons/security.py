"""TLS and the shared token: the daemons' side and their clients' side, in one place.

Beyond loopback the daemons can require TLS (``Security.TLS Certificate`` and
``Security.TLS Key``, PEM files) and a shared token (``Security.Token File``:
a file holding one secret line, readable by the daemons' user and the
operators'). Clients read the same configuration: `service_proxy` speaks
HTTPS when the certificate is configured (trusting that certificate, so a
self-signed one works), sends ``Authorization: Bearer <token>``, and gives up
on a daemon that does not answer within its timeout.
"""

from __future__ import annotations

import http.client
import ipaddress
import ssl
import xmlrpc.client
from pathlib import Path

from torosdrivers.config import Config

__all__ = ["server_tls", "token_of", "service_proxy", "host_problem"]


def token_of(config: Config) -> str | None:
    """The shared token (``Security.Token File``), or None when none is configured."""
    path = config["Security"]["Token File"]
    return Path(path).read_text().strip() if path else None


def server_tls(config: Config) -> ssl.SSLContext | None:
    """The daemons' TLS context, or None for plain HTTP."""
    security = config["Security"]
    if not security["TLS Certificate"]:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(security["TLS Certificate"], security["TLS Key"])
    return context


def host_problem(host: str | None, allowed_hosts, what: str = "this daemon's") -> str | None:
    """Why a request's ``Host`` header is refused (DNS rebinding), or None.

    An IP address, or a name in ``Security.Allowed Hosts``, is accepted; no
    header at all (an HTTP/1.0 script) is too.
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
    if name in allowed_hosts:
        return None
    shown = host if len(host) <= 80 else host[:77] + "..."
    return f"Host {shown!r} is not {what}: use its IP address, or add the name to Security.Allowed Hosts"


class _Timeout:
    """A transport whose connections give up after ``timeout`` s (the stdlib's wait forever on a stalled daemon)."""

    timeout: float

    def make_connection(self, host) -> http.client.HTTPConnection:
        connection = super().make_connection(host)  # type: ignore[misc]
        connection.timeout = self.timeout
        return connection


class _Transport(_Timeout, xmlrpc.client.Transport):
    def __init__(self, timeout: float, headers: list[tuple[str, str]]) -> None:
        super().__init__(headers=headers)
        self.timeout = timeout


class _SafeTransport(_Timeout, xmlrpc.client.SafeTransport):
    def __init__(self, timeout: float, headers: list[tuple[str, str]], context: ssl.SSLContext) -> None:
        super().__init__(headers=headers, context=context)
        self.timeout = timeout


def service_proxy(config: Config, service: str, *, url: str | None = None,
                  timeout: float = 30.0) -> xmlrpc.client.ServerProxy:
    """An XML-RPC client of a daemon, with the configuration's TLS and token.

    Parameters
    ----------
    config
        The configuration the daemons read.
    service
        ``"Telescope"``, ``"Dome"`` or ``"Preprocessor"``.
    url
        Overrides the configured address (e.g. a daemon started on port 0).
    timeout
        Seconds to wait for an answer.
    """
    target = url or config.url(service)
    token = token_of(config)
    headers = [("Authorization", f"Bearer {token}")] if token else []
    if target.startswith("https:"):
        certificate = config["Security"]["TLS Certificate"] or None
        transport: xmlrpc.client.Transport = _SafeTransport(timeout, headers,
                                                            ssl.create_default_context(cafile=certificate))
    else:
        transport = _Transport(timeout, headers)
    return xmlrpc.client.ServerProxy(target, transport=transport, allow_none=True)
