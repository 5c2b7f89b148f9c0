"""Digital DomeWorks dome over a serial line (formats in `torosdrivers.serialio.ddw`).

The controller runs one command at a time and reports its progress as a
stream of characters that ends with a GINF packet; this backend reads that
stream whenever it is asked anything, so its state is never older than the
last poll. When idle it sends ``GINF`` at least every ``keepalive`` seconds
from a background thread, to keep the controller's watchdog quiet.

Tested over a pty and ``socket://`` (``tests/contract``, time scale 1000) and
over those and ``rfc2217://`` at the device's own speed
(``tests/serial/test_realtime.py``); ``/dev/tty*`` is read exactly as a pty is.
"""

from __future__ import annotations

import logging
import threading
import time

from ..errors import DeviceBusyError, DeviceTimeoutError, DriverError
from ..serialio import Reader
from ..serialio.device import SerialDeviceMixin
from ..serialio import ddw
from .base import Dome, ShutterState

__all__ = ["DDWDome"]

log = logging.getLogger(__name__)

_SHUTTER = {0: ShutterState.ERROR, 1: ShutterState.CLOSED, 2: ShutterState.OPEN}


def _ginf(reader: Reader) -> ddw.Ginf:
    """The next GINF packet, skipping position reports still in flight."""
    while True:
        token = reader.until(b"\r")
        if b"V" in token:
            return ddw.Ginf.parse(token)


class DDWDome(SerialDeviceMixin, Dome):
    """A DDW-controlled dome.

    Parameters
    ----------
    port
        pyserial URL or device path.
    baudrate
        Line speed (9600).
    timeout
        Seconds a reply may take.
    park_azimuth
        Where `park` goes (the DDW has no park command of its own).
    keepalive
        Seconds of silence after which ``GINF`` is sent (the watchdog wants
        one at least every minute).
    """

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = 9600,
        timeout: float = 2.0,
        park_azimuth: float = 0.0,
        keepalive: float = 30.0,
        poll_interval: float = 0.2,
        retries: int = 2,
    ) -> None:
        name = self._init_serial("DDW", port, baudrate=baudrate, timeout=timeout, retries=retries)
        super().__init__(name, timeout=300.0, poll_interval=poll_interval)
        self.park_azimuth = float(park_azimuth)
        self.keepalive = float(keepalive)
        self._info: ddw.Ginf | None = None
        self._busy: str | None = None  # what runs: "rotate", "home", "open", "close"
        self._stream = bytearray()
        self._azimuth_ticks = 0
        self._parking = False
        self._parked = False
        self._last_contact = 0.0
        self._stop = threading.Event()
        self._keeper: threading.Thread | None = None

    # -- connection -------------------------------------------------------------------
    def _on_connect(self) -> None:
        """Read ``GINF``; start the keepalive thread."""
        self._refresh()
        self._stop.clear()
        self._keeper = threading.Thread(target=self._keep_alive, name=f"ddw-keepalive-{self._link.url}", daemon=True)
        self._keeper.start()

    def _disconnect(self) -> None:
        self._stop.set()
        if self._keeper is not None:
            self._keeper.join(timeout=5)
        super()._disconnect()

    def _keep_alive(self) -> None:
        while not self._stop.wait(min(self.keepalive / 4, 5.0)):
            with self._lock:
                if self._busy is None and time.monotonic() - self._last_contact >= self.keepalive:
                    try:
                        self._refresh()
                    except DriverError as exc:
                        log.warning("%s: keepalive GINF failed: %s", self.name, exc)

    def _refresh(self) -> None:
        """``GINF``: the status packet."""
        self._take(self._link.transact(b"GINF", _ginf, idempotent=True))

    def _take(self, info: ddw.Ginf) -> None:
        self._info = info
        self._azimuth_ticks = info.azimuth_ticks
        self._last_contact = time.monotonic()
        if self._busy is not None:
            self._parked = self._parking and self._busy == "rotate"
            self._busy, self._parking = None, False

    # -- the stream ---------------------------------------------------------------------
    def _pump(self) -> None:
        """Read and apply what the controller has streamed since the last look."""
        if self._busy is None:
            return
        with self._lock:
            self._stream += self._link.poll(lambda r: r.available(), label="DDW progress")
            while self._stream:
                head = self._stream[:1]
                if head in (b"P", b"Z", b"V"):
                    end = self._stream.find(b"\r")
                    if end < 0:
                        break  # the rest of the report has not arrived yet
                    token, self._stream = bytes(self._stream[: end + 1]), self._stream[end + 1 :]
                    if head == b"P" and token[1:-1].isdigit():
                        self._azimuth_ticks = int(token[1:-1])
                    elif head == b"V":
                        try:
                            self._take(ddw.Ginf.parse(token))
                        except Exception as exc:  # a garbled final packet: ask again
                            log.info("%s: garbled GINF in the stream (%s); asking again", self.name, exc)
                            self._busy = None
                            self._refresh()
                else:
                    del self._stream[:1]  # L, R, T, O, C, S: progress ticks (or noise)
            self._last_contact = time.monotonic()

    def _send(self, command: bytes, busy: str) -> None:
        if self._busy is not None:
            raise DeviceBusyError(f"{self.name}: the controller is busy ({self._busy}); abort() first")
        self._link.transact(command, label=command.decode())
        self._busy = busy
        self._stream.clear()

    # -- Dome hooks ------------------------------------------------------------------------
    def _azimuth(self) -> float:
        self._pump()
        assert self._info is not None
        return 360.0 * self._azimuth_ticks / self._info.dticks

    def _slewing(self) -> bool:
        self._pump()
        return self._busy is not None

    def _slew_to_azimuth(self, azimuth: float) -> None:
        """``Gnnn``."""
        self._send(ddw.goto(azimuth), "rotate")

    def _abort(self) -> None:
        """Two non-command characters; the controller answers with GINF.

        Only a running command is aborted: an idle controller ignores the two
        characters and sends nothing, so the stream is read first, and a
        command that ended just before the abort arrived is found by asking
        ``GINF``. The busy state is cleared only by the packet that confirms
        the stop; after a failed abort the dome still reports the move it
        knows is under way.
        """
        self._pump()
        if self._busy is None:
            return
        try:
            info = self._link.transact(ddw.ABORT, _ginf, label="abort")
        except DeviceTimeoutError:
            log.info("%s: no packet after the abort; asking GINF", self.name)
            info = self._link.transact(b"GINF", _ginf, idempotent=True, label="GINF after an abort")
        self._stream.clear()
        self._parking = False
        self._take(info)

    def _find_home(self) -> None:
        """``GHOM``."""
        self._send(b"GHOM", "home")

    def _at_home(self) -> bool:
        self._pump()
        return self._busy is None and self._info is not None and self._info.home_sensor == 0

    def _park(self) -> None:
        """``Gnnn`` to ``park_azimuth``."""
        self._send(ddw.goto(self.park_azimuth), "rotate")
        self._parking = True

    def _at_park(self) -> bool:
        self._pump()
        return self._busy is None and self._parked

    def _shutter(self) -> int:
        self._pump()
        if self._busy == "open":
            return ShutterState.OPENING
        if self._busy == "close":
            return ShutterState.CLOSING
        assert self._info is not None
        return _SHUTTER.get(self._info.shutter, ShutterState.ERROR)

    def _open_shutter(self) -> None:
        """``GOPN`` (the dome goes home first)."""
        self._send(b"GOPN", "open")

    def _close_shutter(self) -> None:
        """``GCLS``."""
        self._send(b"GCLS", "close")
