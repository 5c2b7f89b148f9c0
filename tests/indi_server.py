"""indiserver and the INDI project's own simulator drivers, reachable only on this machine's loopback.

indiserver has no option to listen on one address: it takes every interface. So it runs in a network
namespace of its own (``unshare -n``: a loopback, none of the machine's interfaces), where a relay passes
each connection from a Unix socket to indiserver's port; in the tests' process a second relay, bound to
127.0.0.1, passes connections into that Unix socket. Nothing listens anywhere but on loopback.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

def _pipe(a: socket.socket, b: socket.socket) -> None:
    try:
        while data := a.recv(1 << 16):
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def available() -> str:
    """Why indiserver cannot run here ("" when it can)."""
    if shutil.which("indiserver") is None:
        return "indiserver is not installed (apt-get install indi-bin)"
    if shutil.which("unshare") is None or os.geteuid() != 0:
        return "a network namespace needs unshare and root"
    return ""


def require() -> None:
    why = available()
    if why:
        if os.environ.get("TOROS_REQUIRE_INDI"):  # CI installs indi-bin: there, absence is a failure
            pytest.fail(why)
        pytest.skip(why)


def module_server(*drivers: str):
    """A module-scoped pytest fixture: indiserver running ``drivers`` (skipped, or failed in CI, without it)."""

    @pytest.fixture(scope="module")
    def indiserver():
        require()
        server = IndiServer(*drivers)
        yield server
        server.stop()

    return indiserver


class IndiServer:
    """indiserver running ``drivers``; `address` is ``127.0.0.1:port``."""

    def __init__(self, *drivers: str) -> None:
        self._folder = tempfile.mkdtemp(prefix="toros-indi-")
        self.socket_path = str(Path(self._folder) / "indi.sock")
        # Inside the namespace this file itself is the relay from the Unix socket to indiserver's port there
        command = (f"ip link set lo up && (indiserver -p 7624 {' '.join(drivers)} >{self._folder}/indiserver.log "
                   f"2>&1 &) && exec {sys.executable} {Path(__file__).resolve()} {self.socket_path} 7624")
        # Drivers save their configuration and park data under $HOME/.indi: a home of their own keeps every
        # server's drivers fresh and the machine's home untouched
        self.process = subprocess.Popen(["unshare", "-n", "sh", "-c", command], stdout=subprocess.PIPE, text=True,
                                        start_new_session=True, env={**os.environ, "HOME": self._folder})
        if self.process.stdout.readline().strip() != "ready":
            self.stop()
            raise RuntimeError(f"indiserver in its namespace did not start ({self.log()})")
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            inside = socket.socket(socket.AF_UNIX)
            try:
                inside.connect(self.socket_path)
            except OSError:
                client.close()
                continue
            threading.Thread(target=_pipe, args=(client, inside), daemon=True).start()
            threading.Thread(target=_pipe, args=(inside, client), daemon=True).start()

    def log(self) -> str:
        path = Path(self._folder) / "indiserver.log"
        return path.read_text()[-2000:] if path.exists() else ""

    def kill_driver(self, executable: str) -> None:
        """SIGKILL one driver process (indiserver restarts it, as it does a crashed driver)."""
        subprocess.run(["pkill", "-KILL", "-s", str(os.getsid(self.process.pid)), "-x", executable[:15]],
                       check=False)

    def stop(self) -> None:
        self._closing = True
        listener = getattr(self, "_listener", None)
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread: close() alone leaves it listening
            except OSError:
                pass
            listener.close()
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)
        time.sleep(0.05)
        shutil.rmtree(self._folder, ignore_errors=True)


def _relay_inside(path: str, port: int) -> None:
    """In the namespace: each connection to the Unix socket ``path`` passed to indiserver on ``port``."""
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(64)
    print("ready", flush=True)
    while True:
        client, _ = server.accept()
        for _ in range(100):  # indiserver may still be starting
            try:
                upstream = socket.create_connection(("127.0.0.1", port))
                break
            except OSError:
                time.sleep(0.05)
        else:
            client.close()
            continue
        threading.Thread(target=_pipe, args=(client, upstream), daemon=True).start()
        threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()


if __name__ == "__main__":
    _relay_inside(sys.argv[1], int(sys.argv[2]))
