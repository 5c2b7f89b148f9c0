"""What every long-running console script does: wait until told to stop."""

from __future__ import annotations

import signal
import threading

__all__ = ["catch_stop", "wait_for_stop"]

_stop = threading.Event()


def catch_stop() -> None:
    """From now on SIGTERM asks for a stop (`wait_for_stop` returns) instead of killing the process.

    Call it before starting anything: a stop that comes while a daemon starts
    (systemd stopping it at once, a test) then still ends it cleanly.
    """
    signal.signal(signal.SIGTERM, lambda *_: _stop.set())


def wait_for_stop() -> None:
    """Block until SIGTERM (systemd, launchd, ``kill``) or Ctrl-C."""
    catch_stop()
    try:
        _stop.wait()
    except KeyboardInterrupt:
        pass
