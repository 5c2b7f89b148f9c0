"""`Port`: a pyserial port read the same way whatever its URL.

pyserial's port kinds differ where a streaming protocol notices:

- ``socket://`` answers ``in_waiting`` with 0 or 1 (it only asks ``select``
  whether the socket is readable), so reading ``in_waiting`` bytes drains one
  byte per look;
- ``rfc2217://`` renegotiates the whole line with the port server (a network
  round trip) each time ``timeout`` is set, refuses ``write_timeout``, and
  sends a purge request on ``reset_input_buffer``;
- ``rfc2217://`` and ``loop://`` return one byte per ``read`` when the timeout
  is 0, while a tty and ``socket://`` return all that has arrived.

So the timeout is set once, at open, and never touched again: ports with a
file descriptor (a tty, a pty, ``socket://``) are opened non-blocking and
waited on with ``select``; queue-backed ports (``rfc2217://``, ``loop://``)
are opened blocking and read exactly the ``in_waiting`` bytes they hold.
`read_available` therefore returns everything that has arrived, in one call,
on every kind.
"""

from __future__ import annotations

import io
import select
import time

import serial

__all__ = ["Port", "PortLost", "url_kind"]

_CHUNK = 65536
_QUEUE_POLL = 0.002  # seconds between looks at a queue-backed port


class PortLost(Exception):
    """The port failed under us (unplugged, connection closed)."""


def url_kind(url: str) -> str:
    """``"rfc2217"``, ``"socket"``, ``"loop"``, another URL scheme, or ``"device"`` for a path."""
    scheme, sep, _ = url.partition("://")
    return scheme.lower() if sep else "device"


class Port:
    """An open serial port.

    Parameters
    ----------
    url
        pyserial URL or device path.
    baudrate
        Line speed (8N1).
    write_timeout
        Seconds a write may block (not on ``rfc2217://``, which has none).
    exclusive
        Ask the OS for exclusive access to a device path as well (``flock``);
        ignored for URLs.

    Raises
    ------
    serial.SerialException, OSError, ValueError
        As pyserial raises them; `SerialLink` turns them into its errors.
    """

    def __init__(self, url: str, *, baudrate: int, write_timeout: float, exclusive: bool = False) -> None:
        self.url = url
        self.kind = url_kind(url)
        queued = self.kind in ("rfc2217", "loop")
        options: dict = {"baudrate": baudrate, "timeout": None if queued else 0}
        if self.kind != "rfc2217":
            options["write_timeout"] = write_timeout
        if self.kind == "device" and exclusive:
            options["exclusive"] = True
        self._serial = serial.serial_for_url(url, **options)
        self._fd: int | None = None
        if not queued:
            try:
                self._fd = self._serial.fileno()
            except (OSError, io.UnsupportedOperation, AttributeError):
                self._fd = None  # a handler without a descriptor: polled like a queue

    @property
    def is_open(self) -> bool:
        return bool(self._serial.is_open)

    def close(self) -> None:
        self._serial.close()

    def write(self, data: bytes) -> None:
        try:
            self._serial.write(data)
            self._serial.flush()
        except (serial.SerialException, OSError) as exc:
            raise PortLost(str(exc)) from exc

    def read_available(self) -> bytes:
        """Everything that has arrived, without waiting (b"" if nothing)."""
        try:
            if self._fd is not None:
                return self._serial.read(_CHUNK)
            waiting = self._serial.in_waiting
            return self._serial.read(waiting) if waiting else b""
        except (serial.SerialException, OSError) as exc:
            raise PortLost(str(exc)) from exc

    def wait_readable(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for input; whether some has arrived."""
        timeout = max(timeout, 0.0)
        try:
            if self._fd is not None:
                ready, _, _ = select.select([self._fd], [], [], timeout)
                return bool(ready)
            deadline = time.monotonic() + timeout
            while not self._serial.in_waiting:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                time.sleep(min(_QUEUE_POLL, left))
            return True
        except (serial.SerialException, OSError, ValueError) as exc:
            raise PortLost(str(exc)) from exc

    def drain(self) -> bytes:
        """Read and return all pending input (the stale bytes a command must not see)."""
        out = bytearray()
        while True:
            data = self.read_available()
            if not data:
                return bytes(out)
            out += data
