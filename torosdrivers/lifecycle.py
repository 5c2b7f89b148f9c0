"""What every long-running console script does: wait until told to stop.

The kernel hands a process's SIGTERM to any of its threads. Python runs the
handler in the main thread, but only when that thread next runs Python code:
a main thread blocked on a lock (``threading.Event().wait()`` without a
timeout) sleeps on while the signal sits pending, so a daemon with busy worker
threads could ignore systemd's stop for good (seen: a telescope daemon still
waiting 18 minutes after its SIGTERM). The main thread therefore sleeps in
short steps, and the handler only sets a flag: taking a lock in a signal
handler can deadlock against the very thread it interrupts.
"""

from __future__ import annotations

import signal
import time

__all__ = ["catch_stop", "wait_for_stop", "STEP"]

#: Longest a stop waits to be noticed, seconds.
STEP = 0.2

_stopping = False


def _ask_to_stop(*_) -> None:
    global _stopping
    _stopping = True


def catch_stop() -> None:
    """From now on SIGTERM asks for a stop (`wait_for_stop` returns) instead of killing the process.

    Call it before starting anything: a stop that comes while a daemon starts
    (systemd stopping it at once, a test) then still ends it cleanly.
    """
    signal.signal(signal.SIGTERM, _ask_to_stop)


def wait_for_stop() -> None:
    """Block until SIGTERM (systemd, launchd, ``kill``) or Ctrl-C, whichever thread the signal reached."""
    catch_stop()
    try:
        while not _stopping:
            time.sleep(STEP)
    except KeyboardInterrupt:
        pass
