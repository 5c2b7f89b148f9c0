"""An INDI server for our devices: what lets Ekos/KStars, ``indi_getprop`` and ``indi_setprop`` drive them.

It speaks INDI 1.7 over TCP the way ``indiserver`` does to its clients:
``getProperties`` is answered with every matching ``def*Vector``; updates
(``set*Vector``) go to each client that has asked for the device's
properties; BLOBs go only to clients that asked for them with ``enableBLOB``
(``Also`` or ``Only``; ``Only`` also stops that device's other updates);
``new*Vector`` runs the command (`torosdrivers.indi.published`) and is
answered with the property's new state, Alert with the error as the
message when it fails. A poll thread reads each device every
``poll_interval`` seconds and sends what changed.

The door is guarded with the device server's ``Security`` rules where INDI
can carry them (`torosdrivers.httpguard.Guard`): clients outside ``Allowed
Networks`` are closed on accept, at most ``Max Connections`` at once, an
element from a client is bounded (1 MiB: a request is a few hundred bytes)
and must be well-formed, and a client that does not read its updates is
dropped once 128 MiB wait for it (``indiserver -m``'s default). INDI has no
credentials and no TLS: where a token or TLS is configured the configuration
allows this port on loopback only (reach it through an SSH tunnel).

``CONNECTION`` is each client's own, as Alpaca's ``Connected`` is: the
device server holds the hardware for all its clients, so a client's
DISCONNECT is answered to that client alone (DISCONNECT On, the device
untouched), and its commands to that device are refused until it sends
CONNECT again; other clients keep seeing CONNECT.

A connection's commands run in its own thread, one after the other, so a
slow device delays that client alone.
"""

from __future__ import annotations

import collections
import logging
import queue
import socket
import threading
import time
import xml.etree.ElementTree as ET
from typing import Iterable

from ..errors import DriverError
from ..httpguard import Guard
from .protocol import IndiProtocolError, IndiStream, Member, Vector, blob_message, message, new_values
from .published import Published

__all__ = ["IndiServer"]

log = logging.getLogger(__name__)

#: Bytes queued for one client before it is dropped (indiserver's ``-m`` default).
MAX_QUEUE = 128 * 2**20
_END = object()  # a client's stream has ended


class _Client:
    """One connection: its socket, what it asked for, and its outgoing queue (a writer thread drains it)."""

    def __init__(self, sock: socket.socket, address: tuple, number: int) -> None:
        self.sock, self.address = sock, address
        #: The one-owner rules' client id: negative, so that it never equals an Alpaca ClientID.
        self.id = -number
        self.devices: set[str] = set()
        #: Devices this client has sent DISCONNECT (its own view of CONNECTION).
        self.disconnected: set[str] = set()
        self.every_device = False
        self.blobs: dict[tuple[str, str | None], str] = {}  # (device, vector or None) -> Never / Also / Only
        self._queue: collections.deque[bytes] = collections.deque()
        self._queued = 0
        self._ready = threading.Condition()
        self.closed = False
        self.dropped = False  # by the server: its requests are not run any more
        self.finished = threading.Event()  # its worker has ended: nothing reads its requests any more
        self._users = 2  # the reader and the writer: the last to end closes the socket

    def __repr__(self) -> str:
        return f"INDI client {self.address[0]}:{self.address[1]}"

    def wants(self, device: str) -> bool:
        return (self.every_device or device in self.devices) and self.blob_mode(device, None) != "Only"

    def blob_mode(self, device: str, vector: str | None) -> str:
        return self.blobs.get((device, vector), self.blobs.get((device, None), "Never"))

    def send(self, *buffers: bytes) -> None:
        with self._ready:
            if self.closed:
                return
            size = sum(len(b) for b in buffers)
            if self._queued + size > MAX_QUEUE:
                log.warning("%r: %d bytes wait unread: dropped", self, self._queued)
                self.dropped = True
                self.close()
                return
            self._queue.extend(buffers)
            self._queued += size
            self._ready.notify()

    def write(self) -> None:
        """The writer thread: send what is queued until the connection closes."""
        try:
            while True:
                with self._ready:
                    while not self._queue and not self.closed:
                        self._ready.wait()
                    if self.closed:
                        return
                    buffer = self._queue.popleft()
                    self._queued -= len(buffer)
                try:
                    self.sock.sendall(buffer)
                except OSError:
                    self.close()
                    return
        finally:
            self.release()

    def release(self) -> None:
        """The reader or the writer is done with the socket; the last one closes it (a descriptor closed
        under a thread still using it could be reused by another connection)."""
        with self._ready:
            self._users -= 1
            last = self._users == 0
        if last:
            self.sock.close()

    def close(self) -> None:
        with self._ready:
            self.closed = True
            self._ready.notify_all()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class IndiServer:
    """Serve devices over INDI.

    Parameters
    ----------
    published
        The devices, each as its INDI device (`torosdrivers.indi.published`).
    host, port
        Where to listen (7624 is INDI's port; 0 picks a free one, see `port`).
    guard
        The ``Security`` rules: allowed networks and the connection limit apply here.
    poll_interval
        Seconds between reads of the devices.
    """

    def __init__(self, published: Iterable[Published], *, host: str = "127.0.0.1", port: int = 7624,
                 guard: Guard | None = None, poll_interval: float = 0.25) -> None:
        self.devices: dict[str, Published] = {}
        for device in published:
            if device.name in self.devices:
                raise ValueError(f"two INDI devices named {device.name!r}")
            self.devices[device.name] = device
        self.guard = guard or Guard(who="this INDI server")
        self.poll_interval = float(poll_interval)
        self._listener = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET,
                                              backlog=64)
        self._clients: list[_Client] = []
        self._lock = threading.Lock()
        self._numbers = iter(range(1, 2**31))
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def port(self) -> int:
        return self._listener.getsockname()[1]

    @property
    def address(self) -> str:
        """``host:port``, as INDI clients take it."""
        host = self._listener.getsockname()[0]
        return f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"

    # -- life cycle ------------------------------------------------------------------------------------
    def start(self) -> "IndiServer":
        for target, name in ((self._accept, "indi-accept"), (self._poll, "indi-poll")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("INDI server on %s: %s", self.address, ", ".join(self.devices))
        return self

    def stop(self) -> None:
        self._stopping.set()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes accept(): close() alone leaves it waiting
        except OSError:
            pass
        self._listener.close()
        with self._lock:
            clients = list(self._clients)
        for client in clients:
            client.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> "IndiServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def clients(self) -> int:
        """Connections open now."""
        with self._lock:
            return len(self._clients)

    # -- connections -----------------------------------------------------------------------------------
    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                sock, address = self._listener.accept()
            except OSError:
                return
            if not self.guard.client_allowed(address[0]):
                self.guard.warn(address[0], "network", f"INDI client {address[0]} is not in Security.Allowed "
                                                       "Networks: closed")
                sock.close()
                continue
            with self._lock:
                if len(self._clients) >= self.guard.max_connections:
                    self.guard.warn(address[0], "limit", f"INDI client {address[0]} refused: "
                                                         f"{len(self._clients)} connections (Security.Max Connections)")
                    sock.close()
                    continue
                client = _Client(sock, address, next(self._numbers))
                self._clients.append(client)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for target in (self._read, client.write):
                threading.Thread(target=target, args=(client,) if target == self._read else (),
                                 name=f"indi {address[0]}:{address[1]}", daemon=True).start()

    def _read(self, client: _Client) -> None:
        """Receive and parse; the requests go to the client's worker (`_work`) in order.

        Reading never waits for a device: a client that sends its command and closes at once (as
        ``indi_setprop`` does, its definitions unread, so that its kernel resets the connection) has the
        command read before the reset, and run after it.
        """
        stream = IndiStream()
        requests: queue.Queue = queue.Queue(maxsize=64)  # bounded: a flood waits in the client's socket
        threading.Thread(target=self._work, args=(client, requests), name=f"{threading.current_thread().name} work",
                         daemon=True).start()
        def put(item: object) -> bool:
            while not client.finished.is_set():
                try:
                    requests.put(item, timeout=0.5)
                    return True
                except queue.Full:
                    continue
            return False

        ending: object = _END
        try:
            while not client.closed:
                data = client.sock.recv(1 << 16)
                if not data:
                    break
                if not all(put(element) for element in stream.feed(data)):
                    break
        except IndiProtocolError as exc:
            ending = exc
        except OSError:
            pass
        finally:
            put(ending)
            client.release()

    def _work(self, client: _Client, requests: queue.Queue) -> None:
        """Run a client's requests in turn, then close it (with the reason, when its stream was refused)."""
        try:
            while (request := requests.get()) is not _END:
                if client.closed and not isinstance(request, IndiProtocolError) and \
                        (client.dropped or not request.tag.startswith("new")):
                    continue  # nobody to answer; a gone client's last commands still run
                try:
                    if isinstance(request, IndiProtocolError):
                        raise request
                    self._handle(client, request)
                except IndiProtocolError as exc:
                    log.warning("%r: %s: closed", client, exc)
                    client.send(message(None, f"closed: {exc}"))
                    time.sleep(0.1)  # let the writer send the reason
                    break
        except Exception:  # a request that breaks the server's own code must not leave the client half-open
            log.exception("%r: closed", client)
        finally:
            client.finished.set()
            client.close()
            with self._lock:
                if client in self._clients:
                    self._clients.remove(client)

    # -- what a client sends ---------------------------------------------------------------------------
    def _handle(self, client: _Client, element: ET.Element) -> None:
        tag, name = element.tag, element.get("name")
        device = self.devices.get(element.get("device", ""))
        if tag == "getProperties":
            self._define(client, element.get("device"), name)
        elif tag == "enableBLOB":
            mode = (element.text or "").strip()
            if mode not in ("Never", "Also", "Only"):
                raise IndiProtocolError(f"enableBLOB {mode!r}: expected Never, Also or Only")
            client.blobs[(element.get("device", ""), name)] = mode
        elif tag.startswith("new") and tag.endswith("Vector"):
            if device is None:
                client.send(message(None, f"no device {element.get('device')!r} here (it has "
                                          f"{', '.join(self.devices)})"))
                return
            self._command(client, device, element)
        # A client's def/set/message/delProperty (a snooping driver's traffic) has nothing to act on here

    def _define(self, client: _Client, device_name: str | None, vector_name: str | None) -> None:
        if device_name:
            if device_name not in self.devices:
                return
            client.devices.add(device_name)
        else:
            client.every_device = True
        for device in self.devices.values():
            if device_name and device.name != device_name:
                continue
            with device.lock:
                self._send_changes(device)  # the definitions as the device is now, not as at the last poll
                buffers = [(self._connection(client, device) if vector.name == "CONNECTION" else vector)
                           .define(device.name) for vector in device.vectors.values()
                           if vector_name in (None, vector.name)]
                client.send(*buffers)  # under the lock: no update read after them reaches the client before

    @staticmethod
    def _connection(client: _Client, device: Published) -> Vector:
        """``CONNECTION`` as ``client`` sees it."""
        shared = device.vectors["CONNECTION"]
        own = Vector("Switch", shared.name, shared.label, shared.group,
                     [Member(m.name, m.label, m.value) for m in shared.members], perm="rw", state="Ok")
        own.choose("DISCONNECT" if device.name in client.disconnected else "CONNECT")
        return own

    def _connect(self, client: _Client, device: Published, element: ET.Element) -> None:
        """CONNECT / DISCONNECT for this client alone (see the module notes)."""
        try:
            values = new_values(element, device.vectors["CONNECTION"])
            said = None
            if values.get("CONNECT") == "On" or values.get("DISCONNECT") == "Off":
                device.device.connect()  # a no-op for hardware the server holds
                client.disconnected.discard(device.name)
            else:
                client.disconnected.add(device.name)
                said = (f"{device.name} stays connected: the device server holds it for its other clients; "
                        "this connection's commands to it are refused until CONNECT")
            answer = self._connection(client, device)
        except (IndiProtocolError, DriverError) as exc:
            answer, said = self._connection(client, device), f"{device.name}: {exc}"
            answer.state = "Alert"
        client.send(answer.update(device.name, said))

    def _command(self, client: _Client, device: Published, element: ET.Element) -> None:
        vector = device.vectors.get(element.get("name", ""))
        if vector is None:
            client.send(message(device.name, f"{device.name} has no property {element.get('name')!r}"))
            return
        if vector.name == "CONNECTION":
            self._connect(client, device, element)
            return
        if device.name in client.disconnected:
            client.send(message(device.name, f"{device.name}: {vector.name} refused: this connection sent "
                                             "DISCONNECT (send CONNECTION CONNECT first)"),
                        vector.update(device.name))
            return
        try:
            values = new_values(element, vector)
            said = device.apply(vector, values, client.id)
        except (IndiProtocolError, DriverError, ValueError) as exc:  # ValueError: astropy's, on odd coordinates
            text = str(exc) if device.name in str(exc) else f"{device.name}: {exc}"
            log.info("%r: %s", client, text)
            device.failed(vector, text)
            said = text
        # What the command changed beside it (an abort's slew, a park's tracking) before the answer, so that
        # a client whose wait ends on the answer has seen its effects
        self._send_changes(device, answer=(vector, said))

    # -- what the devices say ------------------------------------------------------------------------
    def _broadcast(self, device: Published, buffers: list[bytes]) -> None:
        with self._lock:
            clients = [c for c in self._clients if c.wants(device.name)]
        for client in clients:
            client.send(*buffers)

    def _poll(self) -> None:
        while not self._stopping.wait(self.poll_interval):
            for device in self.devices.values():
                try:
                    self._send_changes(device)
                except Exception:  # one device's failure must not stop the others' updates
                    log.exception("INDI: reading %s", device.name)

    def _send_changes(self, device: Published, answer: tuple[Vector, str | None] | None = None) -> None:
        """The updates of what changed since it was last sent, a command's ``answer`` (its vector as it is
        now, with a message) after them, then a finished exposure's BLOB.

        Queued while the device's lock is held: an update read before a command must not reach a client
        after that command's answer.
        """
        with device.lock:
            changed = device.refresh()
            blob = device.blob()
            buffers = []
            for vector in changed:
                if answer is None or vector is not answer[0]:
                    buffers.append(vector.update(device.name))
                    device.sent(vector)
            if answer is not None:
                buffers.append(answer[0].update(device.name, answer[1]))
                device.sent(answer[0])
            if buffers:
                self._broadcast(device, buffers)
            if blob is not None:  # after the update that ends the exposure, as INDI::CCD sends it
                vector_name, member, encode, fmt = blob
                with self._lock:
                    takers = [c for c in self._clients if c.blob_mode(device.name, vector_name) in ("Also", "Only")]
                if takers:  # encoded once for all of them, and not at all when nobody takes BLOBs
                    parts = blob_message(device.name, vector_name, member, encode(), fmt)
                    for client in takers:
                        client.send(*parts)
