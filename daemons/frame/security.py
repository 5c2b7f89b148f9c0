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
import logging
import ssl
import time
import xmlrpc.client

from torosdrivers.config import Config
from torosdrivers.httpguard import Guard, host_problem

__all__ = ["server_tls", "token_of", "service_proxy", "reach", "host_problem", "guard_of"]

log = logging.getLogger("toros.security")


def token_of(config: Config) -> str | None:
    """The shared token (``Security.Token File``), or None when none is configured (`Config.token`)."""
    return config.token()


def server_tls(config: Config) -> ssl.SSLContext | None:
    """The daemons' TLS context, or None for plain HTTP. A certificate expired, or expiring within
    `EXPIRY_WARNING_DAYS`, is logged (clients will refuse it, or soon will)."""
    security = config["Security"]
    if not security["TLS Certificate"]:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(security["TLS Certificate"], security["TLS Key"])
    _warn_expiry(str(security["TLS Certificate"]))
    return context


#: Days before its end from which a certificate's expiry is logged at every start.
EXPIRY_WARNING_DAYS = 30


def _warn_expiry(path: str) -> None:
    try:  # the standard library's own PEM reader (private, but in every CPython 3); no new dependency for a date
        ends = ssl.cert_time_to_seconds(ssl._ssl._test_decode_cert(path)["notAfter"])  # type: ignore[attr-defined]
    except (AttributeError, KeyError, ValueError, OSError, ssl.SSLError):
        return
    left = (ends - time.time()) / 86400
    if left < 0:
        log.error("TLS certificate %s expired %.0f days ago: clients refuse it; renew it", path, -left)
    elif left < EXPIRY_WARNING_DAYS:
        log.warning("TLS certificate %s expires in %.0f days: renew it", path, left)


def guard_of(config: Config, who: str, *, basic: bool = False) -> Guard:
    """The ``Security`` section as a `torosdrivers.httpguard.Guard` for one HTTP door."""
    security = config["Security"]
    return Guard(allowed=config.allowed_networks, allowed_hosts=security["Allowed Hosts"],
                 allowed_origins=security["Allowed Origins"], token=token_of(config), basic=basic,
                 max_request_bytes=int(security["Max Request Bytes"]), client_timeout=float(security["Client Timeout"]),
                 max_connections=int(security["Max Connections"]), tls=server_tls(config), who=who)


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


def reach(config: Config, service: str, name: str, timeout: float = 10.0) -> None:
    """That a peer daemon answers ``health()`` (the scheduler reaching the telescope daemon, the alerts daemon
    the scheduler), else `NotConnectedError` naming it and its address."""
    from torosdrivers.errors import NotConnectedError

    try:
        with service_proxy(config, service, timeout=timeout) as proxy:
            proxy.health()
    except (OSError, xmlrpc.client.Error) as exc:
        raise NotConnectedError(f"{name} at {config.url(service)}: {exc}") from None
