"""`SerialLink`: the one place that owns a serial line.

Framing (terminators, replies without terminators, late replies), bounded
reads, flushing stale input before a command, retrying idempotent queries, and
reopening a port that disappeared all live here; the protocol modules only say
what to send and how a reply is framed and checked. Ports are pyserial URLs:
``/dev/ttyUSB0``, a pty path, ``socket://127.0.0.1:PORT``,
``rfc2217://host:port``, ``loop://``; `Port` reads them all alike, and
`PortLock` gives each port one owner. Every byte each way goes to the wire
trace (`torosdrivers.wire`, DEBUG, off by default).

Every failure is a `torosdrivers.errors` class whose message names the device,
the port, the command and what came back, e.g. ``LX200 on /dev/ttyUSB0: no
reply to :GR# within 2.0 s``.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, TypeVar

import serial

from ..errors import CommunicationError, DeviceTimeoutError
from ..wire import wire_logger
from .lock import PortLock
from .port import Port, PortLost

__all__ = ["SerialLink", "Reader", "GarbledReply"]

log = logging.getLogger(__name__)
wire = wire_logger("serial")

T = TypeVar("T")


class GarbledReply(Exception):
    """Raised by a reply parser for bytes that are not a valid reply."""


class Reader:
    """Bounded reads for one reply; given to a protocol's framing function.

    All reads share the reply's deadline and take bytes from the link's
    receive buffer, which each wait fills with everything that has arrived.
    A read that runs out of time raises `DeviceTimeoutError` naming the
    command and what had arrived.
    """

    def __init__(self, link: "SerialLink", command: str, deadline: float) -> None:
        self._link = link
        self._command = command
        self._deadline = deadline
        self.received = bytearray()

    def _take(self, size: int) -> bytes:
        """Up to ``size`` buffered bytes, waiting (within the deadline) only when none are buffered."""
        link = self._link
        if not link._rx:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0 or not link._wait_input(remaining):
                self._timeout()
        data = bytes(link._rx[:size])
        del link._rx[:size]
        self.received += data
        return data

    def _timeout(self) -> None:
        link = self._link
        if self.received:
            raise DeviceTimeoutError(
                f"{link.name}: reply to {self._command} incomplete after {link.timeout:g} s: {bytes(self.received)!r}"
            )
        raise DeviceTimeoutError(f"{link.name}: no reply to {self._command} within {link.timeout:g} s")

    def byte(self, allowed: bytes | None = None) -> bytes:
        """One byte; with ``allowed``, bytes not in it (line noise) are skipped."""
        while True:
            data = self._take(1)
            if allowed is None or data in allowed:
                return data

    def exact(self, size: int) -> bytes:
        """Exactly ``size`` bytes."""
        out = bytearray()
        while len(out) < size:
            out += self._take(size - len(out))
        return bytes(out)

    def until(self, terminator: bytes) -> bytes:
        """Bytes up to and including ``terminator``."""
        out = bytearray()
        while not out.endswith(terminator):
            link = self._link
            if link._rx:
                end = link._rx.find(terminator[-1:])
                size = end + 1 if end >= 0 else len(link._rx)
            else:
                size = 1
            out += self._take(size)
        return bytes(out)

    def available(self) -> bytes:
        """Everything that has arrived, without waiting."""
        link = self._link
        link._fill()
        data, link._rx = bytes(link._rx), bytearray()
        self.received += data
        return data


class SerialLink:
    """A serial line to one device.

    Parameters
    ----------
    url
        pyserial URL or device path.
    name
        How messages name the device (``"LX200 on /dev/ttyUSB0"``).
    baudrate
        Line speed (8N1).
    timeout
        Seconds a reply may take.
    retries
        Extra attempts for an idempotent query after a timeout, a garbled
        reply or a lost port (with a reopen in between).
    lock
        Take the port's exclusive lock (`PortLock`) while it is open: a
        second opener gets `DeviceBusyError` naming the holder.
    """

    def __init__(self, url: str, *, name: str, baudrate: int = 9600, timeout: float = 2.0, retries: int = 2,
                 lock: bool = True) -> None:
        self.url = url
        self.name = name
        self.baudrate = baudrate
        self.timeout = float(timeout)
        self.retries = retries
        self._port: Port | None = None
        self._rx = bytearray()
        self._lock = threading.RLock()
        self._port_lock = PortLock(url, name) if lock else None

    # -- opening ----------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return self._port is not None and self._port.is_open

    def open(self) -> None:
        """Take the port's lock and open the port.

        Raises
        ------
        DeviceBusyError
            Another process (or link) holds the port; the message names it.
        CommunicationError
            The port cannot be opened (no such device, refused connection...).
        """
        with self._lock:
            if self.is_open:
                return
            if self._port_lock is not None:
                self._port_lock.acquire()
            try:
                self._port = Port(self.url, baudrate=self.baudrate, write_timeout=self.timeout, exclusive=True)
            except (serial.SerialException, OSError, ValueError) as exc:
                self._port = None
                if self._port_lock is not None:
                    self._port_lock.release()
                raise CommunicationError(f"{self.name}: cannot open {self.url}: {exc}") from exc
            self._rx.clear()
            wire.debug("%s: opened %s", self.name, self.url)

    def close(self) -> None:
        """Close the port and release its lock (safe to call twice)."""
        with self._lock:
            if self._port is not None:
                try:
                    self._port.close()
                except (serial.SerialException, OSError):
                    pass
                self._port = None
                wire.debug("%s: closed", self.name)
            if self._port_lock is not None:
                self._port_lock.release()

    def reopen(self) -> None:
        """Close and open again (after the port disappeared)."""
        with self._lock:
            self.close()
            self.open()

    # -- bytes ----------------------------------------------------------------------------
    def _fill(self) -> None:
        """Move everything that has arrived into the receive buffer."""
        assert self._port is not None
        data = self._port.drain()
        if data:
            wire.debug("%s < %r", self.name, data)
            self._rx += data

    def _wait_input(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for input, then buffer all of it; whether any came."""
        assert self._port is not None
        if self._port.wait_readable(timeout):
            self._fill()
        return bool(self._rx)

    # -- talking ------------------------------------------------------------------------
    def transact(
        self,
        command: bytes,
        frame: Callable[[Reader], T] | None = None,
        *,
        idempotent: bool = False,
        label: str | None = None,
        timeout: float | None = None,
    ) -> T | None:
        """Send ``command`` and read its reply with ``frame``.

        Stale input is flushed first, so a late or unsolicited byte is never
        taken for this reply.

        Parameters
        ----------
        command
            Bytes to send.
        frame
            Reads and checks the reply from a `Reader`, raising `GarbledReply`
            for bytes that are not a valid reply; None for commands without one.
        idempotent
            Whether the command may be sent again after a failure (queries).
        label
            How messages show the command (default: the command decoded).
        timeout
            Overrides the link's timeout for this reply.

        Raises
        ------
        DeviceTimeoutError
            No (complete) reply in time, after the retries.
        CommunicationError
            A garbled reply, or a port that failed and could not be reopened.
        """
        label = label or command.decode("ascii", "replace")
        attempts = 1 + (self.retries if idempotent else 0)
        with self._lock:
            for attempt in range(1, attempts + 1):
                try:
                    return self._once(command, frame, label, timeout)
                except (DeviceTimeoutError, CommunicationError, PortLost) as exc:
                    error = exc
                    if isinstance(exc, PortLost):
                        error = CommunicationError(f"{self.name}: port {self.url} failed during {label}: {exc}")
                        self._try_reopen(label)
                    if attempt == attempts:
                        if error is exc:
                            raise
                        raise error from exc
                    log.info("%s: %s; retrying %s (%d of %d)", self.name, error, label, attempt, attempts - 1)
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, command: bytes, frame, label: str, timeout: float | None):
        if not self.is_open:
            self._try_reopen(label)
        port = self._port
        assert port is not None
        stale = bytes(self._rx) + port.drain()
        self._rx.clear()
        if stale:
            wire.debug("%s: dropped stale input %r", self.name, stale)
        wire.debug("%s > %r", self.name, command)
        port.write(command)
        if frame is None:
            return None
        reader = Reader(self, label, time.monotonic() + (timeout or self.timeout))
        try:
            return frame(reader)
        except GarbledReply as exc:
            raise CommunicationError(
                f"{self.name}: garbled reply to {label}: {bytes(reader.received)!r} ({exc})"
            ) from exc

    def _try_reopen(self, label: str) -> None:
        try:
            self.reopen()
        except CommunicationError as exc:
            raise CommunicationError(f"{self.name}: port {self.url} lost during {label} and not reopened: {exc}") from exc

    def poll(self, frame: Callable[[Reader], T], *, label: str) -> T:
        """Read what the device sent on its own (streamed progress, late replies), without sending.

        ``frame`` gets a `Reader` with a zero deadline and should use
        `Reader.available`.
        """
        with self._lock:
            if not self.is_open:
                self._try_reopen(label)
            try:
                return frame(Reader(self, label, time.monotonic() + self.timeout))
            except PortLost as exc:
                self._try_reopen(label)
                raise CommunicationError(f"{self.name}: port {self.url} failed during {label}: {exc}") from exc

    def wait_reply(self, frame: Callable[[Reader], T], *, label: str, timeout: float) -> T:
        """Wait up to ``timeout`` for a reply that comes late (a move that answers on arrival)."""
        with self._lock:
            try:
                return frame(Reader(self, label, time.monotonic() + timeout))
            except PortLost as exc:
                self._try_reopen(label)
                raise CommunicationError(f"{self.name}: port {self.url} failed during {label}: {exc}") from exc
            except GarbledReply as exc:
                raise CommunicationError(f"{self.name}: garbled reply to {label}: {exc}") from exc

