"""One owner per port: an exclusive lock that names its holder.

A serial line carries one conversation; two programs that open the same port
interleave their commands and both fail in confusing ways (a DDW dome opened
by two daemons answers one daemon's abort with the other's packet). Every
`SerialLink` therefore takes a lock on its port before opening it: an
``flock`` on a file named after the port (the device's real path, so a
``/dev/serial/by-id/...`` link and ``/dev/ttyUSB0`` are one port; the URL for
``socket://`` and ``rfc2217://``), holding the holder's PID and command line.
The kernel drops an ``flock`` when its process dies, so a crash never leaves a
stale lock; and two opens in one process conflict too, since each open file
takes its own lock.

The folder is ``$TOROS_LOCK_DIR``, else ``/run/lock/toros`` where it can be
made, else ``toros-locks`` in the temporary folder.
"""

from __future__ import annotations

import fcntl
import os
import re
import sys
import tempfile
from pathlib import Path

from ..errors import DeviceBusyError
from .port import url_kind

__all__ = ["PortLock", "lock_dir"]


def lock_dir() -> Path:
    """Where the port locks live (created if needed)."""
    chosen = os.environ.get("TOROS_LOCK_DIR")
    candidates = [Path(chosen)] if chosen else [Path("/run/lock/toros"), Path(tempfile.gettempdir()) / "toros-locks"]
    for folder in candidates:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if os.access(folder, os.W_OK):
                return folder
        except OSError:
            continue
    raise DeviceBusyError(f"no writable folder for serial port locks among {[str(c) for c in candidates]}")


def _key(url: str) -> str:
    if url_kind(url) == "device":
        return os.path.realpath(url)
    return url.lower()


class PortLock:
    """The lock of one port.

    Parameters
    ----------
    url
        The port as `SerialLink` opens it.
    name
        How messages name the device (``"DDW on /dev/ttyUSB1"``).
    """

    def __init__(self, url: str, name: str) -> None:
        self.url = url
        self.name = name
        self.path = lock_dir() / ("LCK.." + re.sub(r"[^A-Za-z0-9._-]+", "_", _key(url)).strip("_"))
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock, or raise naming who holds it.

        Raises
        ------
        DeviceBusyError
            Another process (or another link in this one) holds the port.
        """
        if self._fd is not None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "an unknown process"
            os.close(fd)
            raise DeviceBusyError(f"{self.name}: port {self.url} is in use by {holder} (lock {self.path}); "
                                  "reach the device through its owner (toros-devices) instead") from None
        except OSError:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"PID {os.getpid()} ({' '.join(sys.argv)[:200]})\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Give the lock up (safe to call twice)."""
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
            finally:
                os.close(self._fd)  # closing drops the flock
                self._fd = None
