"""What every long-running console script does: wait until told to stop."""

from __future__ import annotations

import signal
import threading

__all__ = ["wait_for_stop"]


def wait_for_stop() -> None:
    """Block until SIGTERM (systemd, launchd, ``kill``) or Ctrl-C."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
