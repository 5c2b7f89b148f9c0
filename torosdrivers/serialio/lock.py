"""One owner per port: an exclusive lock that names its holder.

A serial line carries one conversation; two programs that open the same port
interleave their commands and both fail in confusing ways (a DDW dome opened
by two daemons answers one daemon's abort with the other's packet). Every
`SerialLink` therefore takes a lock on its port before opening it: an
``flock`` on a file named after the port (the device's real path, so a
``/dev/serial/by-id/...`` link and ``/dev/ttyUSB0`` are one port; the URL for
``socket://`` and ``rfc2217://``), holding the holder's PID and command line.
The lock itself is `torosdrivers.lockfile.HolderLock`.

The folder is ``$TOROS_LOCK_DIR``, else ``/run/lock/toros`` where it can be
made, else ``toros-locks`` in the temporary folder.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from ..errors import DeviceBusyError
from ..lockfile import HolderLock, LockHeld
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


class PortLock(HolderLock):
    """The lock of one port.

    Parameters
    ----------
    url
        The port as `SerialLink` opens it.
    name
        How messages name the device (``"DDW on /dev/ttyUSB1"``).
    """

    def __init__(self, url: str, name: str) -> None:
        super().__init__(lock_dir() / ("LCK.." + re.sub(r"[^A-Za-z0-9._-]+", "_", _key(url)).strip("_")))
        self.url = url
        self.name = name

    def acquire(self) -> None:
        """Take the lock, or raise naming who holds it.

        Raises
        ------
        DeviceBusyError
            Another process (or another link in this one) holds the port.
        """
        try:
            super().acquire()
        except LockHeld as held:
            raise DeviceBusyError(f"{self.name}: port {self.url} is in use by {held.holder} (lock {self.path}); "
                                  "reach the device through its owner (toros-devices) instead") from None
