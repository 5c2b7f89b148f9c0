"""systemd's notification protocol (``sd_notify``), without libsystemd.

Under a unit with ``Type=notify`` systemd waits for ``READY=1``; with
``WatchdogSec`` it restarts the daemon unless ``WATCHDOG=1`` arrives within
that time. `start` sends ``READY=1`` and then feeds the watchdog from its own
thread, but only while the service's ``health()`` says it is healthy: a dead
or stalled worker, or a journal that cannot be written, stops the feeding
and systemd restarts the daemon. Outside systemd (no ``NOTIFY_SOCKET``) it
does nothing. The protocol is one datagram per message on a Unix socket
(``man sd_notify``; a leading ``@`` names an abstract socket).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Any, Protocol

__all__ = ["send", "start"]

log = logging.getLogger(__name__)


class _Healthy(Protocol):
    def health(self) -> dict[str, Any]: ...


def send(message: str) -> bool:
    """Send one notification (``"READY=1"``, ``"WATCHDOG=1"``, ``"STATUS=..."``); False outside systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(message.encode(), address)
    except OSError as exc:
        log.warning("cannot notify systemd at %s: %s", os.environ.get("NOTIFY_SOCKET"), exc)
        return False
    return True


def start(service: _Healthy, name: str, closed: threading.Event) -> threading.Thread | None:
    """Tell systemd the daemon is ready, and feed its watchdog while ``service`` is healthy, until ``closed``."""
    if not send(f"READY=1\nSTATUS=toros-{name} serving"):
        return None
    try:
        interval = int(os.environ.get("WATCHDOG_USEC", "0")) / 2e6  # twice per period, as sd_notify advises
    except ValueError:
        interval = 0.0
    if interval <= 0:
        return None

    def feed() -> None:
        last = None
        while not closed.wait(interval):
            try:
                health = service.health()
            except Exception as exc:  # a health check that fails is an unhealthy daemon
                health = {"Healthy": False, "Problems": [f"health check failed: {exc}"]}
            if health["Healthy"]:
                send("WATCHDOG=1")
            status = "healthy" if health["Healthy"] else "; ".join(health["Problems"])
            if status != last:
                send(f"STATUS=toros-{name}: {status}")
                if not health["Healthy"]:
                    log.error("unhealthy, not feeding the systemd watchdog: %s", status)
                last = status

    thread = threading.Thread(target=feed, name=f"toros-{name}-watchdog", daemon=True)
    thread.start()
    return thread
