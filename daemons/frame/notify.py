"""systemd's notification protocol (``sd_notify``), without libsystemd.

Under a unit with ``Type=notify`` systemd waits for ``READY=1``; with
``WatchdogSec`` it restarts the daemon unless ``WATCHDOG=1`` arrives within
that time. `start` sends ``READY=1`` once the service's ``health()`` says
``Ready`` (it accepts orders now, not merely runs), and feeds the watchdog
from its own thread, but only while ``health()`` says it is healthy: a dead
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
import time
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
    """Tell systemd the daemon is ready once its ``health()`` says ``Ready`` (it accepts orders: a unit
    ordered ``After=`` it, or a script that waits for the start, can submit at once), and feed its watchdog
    while it is healthy, until ``closed``."""
    if not os.environ.get("NOTIFY_SOCKET"):
        return None
    try:
        interval = int(os.environ.get("WATCHDOG_USEC", "0")) / 2e6  # twice per period, as sd_notify advises
    except ValueError:
        interval = 0.0

    def feed() -> None:
        last, ready, fed_at = None, False, 0.0
        while not closed.is_set():
            try:
                health = service.health()
            except Exception as exc:  # a health check that fails is an unhealthy daemon
                health = {"Healthy": False, "Problems": [f"health check failed: {exc}"]}
            if not ready and health.get("Ready", health["Healthy"]):
                ready = send(f"READY=1\nSTATUS=toros-{name} ready")
            if health["Healthy"] and interval > 0 and time.monotonic() - fed_at >= interval:
                send("WATCHDOG=1")
                fed_at = time.monotonic()
            status = ("ready" if health.get("Ready", True) else f"not ready: {health.get('Not Ready', '')}") \
                if health["Healthy"] else "; ".join(health["Problems"])
            if status != last:
                send(f"STATUS=toros-{name}: {status}")
                if not health["Healthy"]:
                    log.error("unhealthy, not feeding the systemd watchdog: %s", status)
                last = status
            if ready and interval <= 0:
                return  # no watchdog to feed
            closed.wait(0.2 if not ready else min(interval, 1.0))

    thread = threading.Thread(target=feed, name=f"toros-{name}-watchdog", daemon=True)
    thread.start()
    return thread
