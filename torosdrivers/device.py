"""The base of every device: connection, locking and bounded, abortable waits."""

from __future__ import annotations

import abc
import logging
import threading
import time
from typing import Callable

from astropy.time import Time

from .errors import (
    DeviceBusyError,
    DeviceTimeoutError,
    DriverError,
    NotConnectedError,
    OperationCancelledError,
)

__all__ = ["Device"]

log = logging.getLogger(__name__)


class Device(abc.ABC):
    """A device that can be connected, locked and waited on.

    Every public call is thread-safe: it runs under the device's re-entrant
    lock. Waits (`_wait_until`) do not hold the lock, so another thread can
    read state or abort while one thread waits.

    Parameters
    ----------
    name
        Short name shown in messages and logs (``"Camera"``, ``"LX200 on
        /dev/ttyUSB0"``).
    description
        Longer free text.
    timeout
        Default bound, in seconds, for a blocking call given ``timeout=None``.
    poll_interval
        How often waits poll the device, in seconds.
    """

    #: ASCOM device type of the interface (``"camera"``, ``"telescope"``...).
    device_type: str = ""

    def __init__(
        self,
        name: str,
        description: str = "",
        *,
        timeout: float = 300.0,
        poll_interval: float = 0.1,
    ) -> None:
        self._name = name
        self._description = description or name
        self.timeout = float(timeout)
        self.poll_interval = float(poll_interval)
        self._lock = threading.RLock()
        self._connected = False
        self._cancel = threading.Event()
        self._stopped = threading.Event()  # clear while an abort is stopping the device
        self._stopped.set()

    # -- identity ---------------------------------------------------------
    @property
    def name(self) -> str:
        """Short name of the device."""
        return self._name

    @property
    def description(self) -> str:
        """Longer description of the device."""
        return self._description

    def __repr__(self) -> str:
        state = "connected" if self._connected else "disconnected"
        return f"<{type(self).__name__} {self._name!r} {state}>"

    # -- connection -------------------------------------------------------
    @property
    def connected(self) -> bool:
        """Whether `connect` succeeded and `disconnect` has not been called."""
        return self._connected

    def connect(self) -> None:
        """Open the link to the device; a failure raises, it is never hidden."""
        with self._lock:
            if not self._connected:
                self._connect()
                self._connected = True

    def disconnect(self) -> None:
        """Close the link to the device. Safe to call twice."""
        with self._lock:
            if self._connected:
                try:
                    self._disconnect()
                finally:
                    self._connected = False

    def ping(self) -> None:
        """Check that a connected device still answers (cheaply, as a watchdog would).

        Raises
        ------
        NotConnectedError
            Not connected, or the device (or its server) forgot the connection.
        DriverError
            The device does not answer.
        """
        with self._lock:
            self._require_connected()
            self._ping()

    def __enter__(self):
        self.connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.disconnect()

    def _connect(self) -> None:
        """Backend hook: open the link. Raise a `DriverError` on failure."""

    def _disconnect(self) -> None:
        """Backend hook: close the link."""

    def _ping(self) -> None:
        """Backend hook: ask the device something cheap (`ping`); in-process devices always answer."""

    def _now(self) -> Time:
        """The device's clock (UTC); simulators run their own."""
        return Time.now()

    def _require_connected(self) -> None:
        if not self._connected:
            raise NotConnectedError(f"{self._name} is not connected: call connect() first")

    # -- waiting ----------------------------------------------------------
    def _begin_operation(self) -> None:
        """Mark the start of an abortable operation (clears an old abort)."""
        self._cancel.clear()

    def _abort_with(self, stop: Callable[[], None]) -> None:
        """Abort: flag the operation cancelled, then stop the device under the lock.

        The flag goes up first so that a waiter which sees the motion end
        knows it ended because of the abort; a waiter woken by the flag waits
        for ``stop`` to finish before it raises, so it never reports a device
        as stopped that is still moving.
        """
        self._stopped.clear()
        self._cancel.set()
        try:
            with self._lock:
                self._require_connected()
                stop()
        finally:
            self._stopped.set()

    def _start_then_wait(
        self,
        start: Callable[[], None],
        *,
        done: Callable[[], bool],
        what: str,
        wait: bool = True,
        timeout: float | None = None,
        failed: Callable[[], str | None] | None = None,
    ) -> None:
        """Run ``start`` under the lock as a new abortable operation, then wait.

        The pattern of every motion: check the connection, clear an old
        abort, start the move, and (with ``wait``) poll ``done`` outside the
        lock (see `_wait_until`). A blocking call that finds the device busy
        with another client's move (`DeviceBusyError`, from a device server
        or a controller) waits its turn within the same bound; a
        non-blocking one raises at once.
        """
        limit = self.timeout if timeout is None else float(timeout)
        deadline = time.monotonic() + limit
        waited = False
        while True:
            try:
                with self._lock:
                    self._require_connected()
                    self._begin_operation()
                    start()
                break
            except DeviceBusyError as exc:
                if not wait or time.monotonic() + self.poll_interval > deadline:
                    raise
                log.info("%s: %s; waiting to start %s", self._name, exc, what)
                waited = True
                if self._cancel.wait(max(self.poll_interval, 0.05)):
                    raise OperationCancelledError(f"{self._name}: {what} was aborted while waiting its turn") from exc
        started = time.monotonic()
        log.info("%s: %s started", self._name, what)
        if wait:
            left = max(deadline - time.monotonic(), 0.0) if waited else timeout
            self._wait_until(done, what=what, timeout=left, failed=failed)
            log.info("%s: %s done in %.1f s", self._name, what, time.monotonic() - started)

    def _wait_until(
        self,
        done: Callable[[], bool],
        *,
        what: str,
        timeout: float | None = None,
        failed: Callable[[], str | None] | None = None,
    ) -> None:
        """Poll ``done`` until it is true, within a bound.

        Parameters
        ----------
        done
            Returns true when the wait is over.
        what
            What is waited for, for the error message.
        timeout
            Bound in seconds; None uses the device's ``timeout``.
        failed
            Returns a message when the operation has failed, which ends the
            wait at once with a `DriverError` carrying it.

        Raises
        ------
        DeviceTimeoutError
            The bound ran out.
        OperationCancelledError
            The operation was aborted (`_abort_with`) while waiting.
        DriverError
            ``failed`` reported a failure.
        """
        limit = self.timeout if timeout is None else float(timeout)
        deadline = time.monotonic() + limit
        while True:
            if self._cancel.is_set():
                self._stopped.wait(max(deadline - time.monotonic(), 0.0))
                raise OperationCancelledError(f"{self._name}: {what} was aborted")
            if failed is not None:
                reason = failed()
                if reason:
                    raise DriverError(f"{self._name}: {what} failed: {reason}")
            if done():
                if self._cancel.is_set():
                    continue  # it ended because of an abort: report that
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeviceTimeoutError(
                    f"{self._name}: {what} did not complete within {limit:g} s"
                )
            self._cancel.wait(min(self.poll_interval, remaining))
