"""An RFC 2217 port server in front of a simulated device's serial line.

Observatories reach serial devices through serial-over-Ethernet port servers
(ser2net, Moxa NPort, Digi): the device sits on a real serial line and the
server bridges it to TCP, speaking Telnet with the RFC 2217 COM-port option
so the client sets the line's baud rate and reads its modem lines. Here the
line is the pseudo-terminal of a `SerialSimServer` (``tcp=False``) and the
Telnet/RFC 2217 side is pyserial's own `serial.rfc2217.PortManager`, the
implementation behind pyserial's reference port server; clients open
``rfc2217://127.0.0.1:PORT`` exactly as they would open the real thing.
"""

from __future__ import annotations

import logging
import select
import socket
import threading

import serial
import serial.rfc2217

__all__ = ["RFC2217PortServer"]

log = logging.getLogger(__name__)


class _Line(serial.Serial):
    """The pty as the port server's serial line.

    A pty has no modem lines (their ioctls fail with ENOTTY), so they read as
    a quiet, ready line: CTS, DSR and CD up, no ring; DTR and RTS from the
    client are accepted and have nothing to drive.
    """

    cts = dsr = cd = property(lambda self: True)
    ri = property(lambda self: False)

    def _update_dtr_state(self) -> None:
        pass

    def _update_rts_state(self) -> None:
        pass


class _Connection:
    """What `PortManager` writes its Telnet replies to: the client's socket, thread-safely."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._lock = threading.Lock()

    def write(self, data: bytes) -> None:
        with self._lock:
            self._sock.sendall(data)


class RFC2217PortServer:
    """Bridge one TCP client at a time to the serial line ``line_url`` over RFC 2217.

    Parameters
    ----------
    line_url
        The serial line the device is on (a `SerialSimServer`'s pty).
    host, port
        Where to listen (port 0: any free one); see `url`.
    """

    def __init__(self, line_url: str, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.line_url = line_url
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, port))
        self._listener.listen(1)
        self.url = "rfc2217://%s:%d" % self._listener.getsockname()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rfc2217-port-server", daemon=True)

    def start(self) -> "RFC2217PortServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def __enter__(self) -> "RFC2217PortServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._listener], [], [], 0.05)
            if not ready:
                continue
            client, _ = self._listener.accept()
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                self._bridge(client)
            except (OSError, serial.SerialException) as exc:
                log.debug("RFC 2217 port server: connection ended: %s", exc)
            finally:
                client.close()

    def _bridge(self, client: socket.socket) -> None:
        # The line is opened per client, as a port server opens its port on connect.
        with _Line(self.line_url, timeout=0) as line:
            manager = serial.rfc2217.PortManager(line, _Connection(client))
            while not self._stop.is_set():
                ready, _, _ = select.select([client, line.fileno()], [], [], 0.05)
                if client in ready:
                    data = client.recv(4096)
                    if not data:
                        return  # the client closed its end
                    line.write(b"".join(manager.filter(data)))
                if line.fileno() in ready:
                    data = line.read(4096)
                    if data:
                        manager.connection.write(b"".join(manager.escape(data)))
