"""An exclusive lock on a file that names its holder: one owner per port, per journal.

An ``flock`` on a lock file holding the owner's PID and command line. The
kernel drops an ``flock`` when its process dies, so a crash never leaves a
stale lock; two opens in one process conflict too, since each open file takes
its own lock. Used by `torosdrivers.serialio.PortLock` (one owner per serial
port) and by the daemons' journals (one daemon per journal).
"""

from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path

__all__ = ["HolderLock", "LockHeld"]


class LockHeld(Exception):
    """The lock is held by another process (or another open file in this one).

    Attributes
    ----------
    holder
        What the lock file says of its holder (``"PID 123 (toros-dome ...)"``).
    """

    def __init__(self, path: Path, holder: str) -> None:
        super().__init__(f"{path} is held by {holder}")
        self.path = path
        self.holder = holder


class HolderLock:
    """An exclusive lock on ``path`` (created if missing).

    Parameters
    ----------
    path
        The lock file.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock without waiting.

        Raises
        ------
        LockHeld
            Someone holds it; the exception names them.
        OSError
            The lock file cannot be opened.
        """
        if self._fd is not None:
            return
        # O_NOFOLLOW: a link planted where the lock goes (in /tmp, say) is refused, never opened through
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "an unknown process"
            os.close(fd)
            raise LockHeld(self.path, holder) from None
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
