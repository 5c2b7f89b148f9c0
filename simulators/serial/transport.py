"""Serve a protocol responder on a loopback TCP socket or a pseudo-terminal.

The backends open the other end exactly as they open hardware: by path
(a pty) or as ``socket://127.0.0.1:PORT``. A responder's `greeting` is
sent when a client connects (TCP) or opens the pty. `Faults` misbehave on purpose for
the fault tests: replies split across reads, noise before a reply, no reply,
a reply without its terminator, a dropped connection.
"""

from __future__ import annotations

import abc
import logging
import os
import select
import socket
import threading
import time
import tty
from dataclasses import dataclass

__all__ = ["Responder", "Faults", "SerialSimServer"]

log = logging.getLogger(__name__)


class Responder(abc.ABC):
    """A device's side of a serial protocol, over a simulated device.

    Bytes arrive in any split; a responder keeps them in ``_buffer`` until a
    whole command is there.
    """

    #: Human name, e.g. "LX200".
    protocol = ""
    #: Terminator of the protocol's replies, stripped by ``Faults.no_terminator``.
    terminator = b"#"

    def __init__(self) -> None:
        self._buffer = bytearray()

    @abc.abstractmethod
    def receive(self, data: bytes) -> bytes:
        """Take bytes from the line; return the bytes to answer (possibly none)."""

    def tick(self) -> bytes:
        """Bytes the device sends on its own (progress, late replies); called often."""
        return b""

    #: Seconds between a client's open and the greeting (a device starting up).
    greeting_delay = 0.0

    def greeting(self) -> bytes:
        """Bytes the device sends when a client opens the port (a QHY CFW3 sends its slot)."""
        return b""

    def reset(self) -> None:
        """Forget a half-received command (the line was dropped)."""
        self._buffer.clear()


@dataclass
class Faults:
    """Ways to misbehave, for tests. All off by default."""

    split: bool = False  # send each reply in two parts, 50 ms apart
    noise: bytes = b""  # sent before each reply
    mute: bool = False  # swallow replies
    no_terminator: bool = False  # strip the reply's terminator
    delay: float = 0.0  # seconds before each reply


class SerialSimServer:
    """Run a `Responder` on a TCP port (``tcp=True``) or a pty (``tcp=False``).

    Parameters
    ----------
    responder
        The protocol side.
    tcp
        Serve on a loopback TCP socket rather than a pseudo-terminal.
    host, port
        Where to listen when ``tcp`` (port 0: any free one).
    """

    def __init__(self, responder: Responder, *, tcp: bool = True, host: str = "127.0.0.1", port: int = 0) -> None:
        self.responder = responder
        self.faults = Faults()
        self.tcp = tcp
        self._stop = threading.Event()
        self._client: socket.socket | None = None
        self._client_lock = threading.Lock()
        self.connections = 0
        if tcp:
            self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._listener.bind((host, port))
            self._listener.listen(1)
            self.url = "socket://%s:%d" % self._listener.getsockname()
        else:
            self._master, slave = os.openpty()
            tty.setraw(slave)  # no echo, no line discipline: the bytes go through as they are
            self.url = os.ttyname(slave)
            # Closed at once: the master then reports a hang-up until a client
            # opens the pty, which is how the simulator sees a port being opened.
            os.close(slave)
        self._thread = threading.Thread(target=self._run, name=f"serial-sim-{responder.protocol}", daemon=True)

    # -- life cycle ------------------------------------------------------------------
    def start(self) -> "SerialSimServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if self.tcp:
            self.drop_connection()
            self._listener.close()
        else:
            os.close(self._master)

    def __enter__(self) -> "SerialSimServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def drop_connection(self) -> None:
        """Close the client's connection, as when a USB adapter is pulled (TCP only)."""
        with self._client_lock:
            if self._client is not None:
                try:
                    self._client.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                self._client.close()
                self._client = None
        self.responder.reset()

    # -- the loop ----------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.tcp:
                    self._serve_tcp()
                else:
                    self._serve_fd(self._master)
            except OSError as exc:
                if not self._stop.is_set():
                    log.debug("serial simulator: %s", exc)
                    time.sleep(0.01)
            except Exception:  # a responder bug: say so loudly, and keep serving as a device would
                log.exception("serial simulator (%s): the responder failed", self.responder.protocol)
                self.responder.reset()

    def _serve_tcp(self) -> None:
        ready, _, _ = select.select([self._listener], [], [], 0.05)
        if not ready:
            return
        client, _ = self._listener.accept()
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._client_lock:
            self._client = client
        self.connections += 1
        self.responder.reset()
        greet_at = time.monotonic() + self.responder.greeting_delay
        try:
            while not self._stop.is_set():
                if greet_at is not None and time.monotonic() >= greet_at:
                    greet_at = None
                    self._answer(client.sendall, self.responder.greeting(), faulty=False)
                with self._client_lock:
                    if self._client is not client:
                        return
                ready, _, _ = select.select([client], [], [], 0.01)
                if ready:
                    data = client.recv(4096)
                    if not data:
                        return  # the client closed its end
                    self._answer(client.sendall, self.responder.receive(data))
                self._answer(client.sendall, self.responder.tick(), faulty=False)
        finally:
            with self._client_lock:
                if self._client is client:
                    self._client = None
            client.close()

    def _serve_fd(self, fd: int) -> None:
        def write(data: bytes) -> None:
            os.write(fd, data)

        poller = select.poll()
        poller.register(fd, select.POLLIN)
        connected = False
        greet_at: float | None = None
        while not self._stop.is_set():
            events = poller.poll(10)
            revents = events[0][1] if events else 0
            if revents & select.POLLHUP and not revents & select.POLLIN:
                if connected:  # the client closed the port
                    connected = False
                    self.responder.reset()
                time.sleep(0.01)
                continue
            if not connected:  # a client has just opened the port
                connected = True
                self.connections += 1
                self.responder.reset()
                greet_at = time.monotonic() + self.responder.greeting_delay
            if greet_at is not None and time.monotonic() >= greet_at:
                greet_at = None
                self._answer(write, self.responder.greeting(), faulty=False)
            if revents & select.POLLIN:
                self._answer(write, self.responder.receive(os.read(fd, 4096)))
            self._answer(write, self.responder.tick(), faulty=False)

    def _answer(self, send, reply: bytes, faulty: bool = True) -> None:
        if not reply:
            return
        f = self.faults
        if faulty:
            if f.mute:
                return
            if f.delay:
                time.sleep(f.delay)
            if f.no_terminator and reply.endswith(self.responder.terminator):
                reply = reply[: -len(self.responder.terminator)]
            reply = f.noise + reply
            if f.split and len(reply) > 1:
                half = len(reply) // 2
                send(reply[:half])
                time.sleep(0.05)
                reply = reply[half:]
        send(reply)
