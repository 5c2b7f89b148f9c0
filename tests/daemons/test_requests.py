"""What reaches a daemon over HTTP: each reproduction of issue 14's request holes, refused."""

from __future__ import annotations

import socket
import ssl
import threading
import time
import xmlrpc.client
from pathlib import Path

import pytest
import requests

from tests.daemons.conftest import DOC_DOME, Stack, make_config
from torosdrivers.daemons.tools.client import main as toros
from torosdrivers.daemons.frame.rpc import SLOW_REQUEST, RPCServer
from torosdrivers.daemons.frame.security import service_proxy
from torosdrivers.dome import ShutterState

TLS = Path(__file__).parent / "tls"
CALL = b"<?xml version='1.0'?><methodCall><methodName>list_orders</methodName><params></params></methodCall>"


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    s = Stack(make_config(tmp_path_factory.mktemp("requests"), Security={"Client Timeout": 2.0}))
    yield s
    s.stop()


def _raw(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Send ``data`` and read until the daemon closes (or ``timeout``)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            pass
    return b"".join(chunks)


def _status(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/") else 0


@pytest.mark.parametrize("length, status", [("-1", 400), ("-512000000", 400), ("abc", 400), ("1e3", 400),
                                            ("999999999999", 413)])
def test_a_bad_content_length_is_refused_before_reading(shared, length, status):
    # The old check (length > limit) let -1 through, and rfile.read(-1) read until the client closed.
    head = f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\nContent-Length: {length}\r\n\r\n"
    t0 = time.monotonic()
    reply = _raw(shared.telescope.server.port, head.encode() + CALL)  # the client keeps its side open
    assert _status(reply) == status and (b"Content-Length" in reply or b"limit" in reply)
    assert time.monotonic() - t0 < 1.5  # answered at once, not after a read-until-close


def test_a_missing_content_length_or_a_chunked_body_is_refused(shared):
    port = shared.telescope.server.port
    assert _status(_raw(port, b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\n\r\n")) == 411
    chunked = b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert _status(_raw(port, chunked + b"5\r\nhello\r\n0\r\n\r\n")) == 411


def _dome_call(shutter: str = "Open") -> bytes:
    return xmlrpc.client.dumps(({"ID": f"web-{time.monotonic_ns()}", "WOType": "Dome", "Shutter": shutter},),
                               "front_desk", allow_none=True).encode()


def test_a_web_page_cannot_command_the_dome(shared):
    """A page on the observatory PC posts text/plain (no CORS preflight), or names its own Origin or Host."""
    url = f"http://127.0.0.1:{shared.dome.server.port}/"
    before = len(shared.proxy(shared.dome).list_orders())
    r = requests.post(url, data=_dome_call(), headers={"Content-Type": "text/plain"}, timeout=5)
    assert r.status_code == 415 and "expected text/xml" in r.text
    r = requests.post(url, data=_dome_call(), headers={"Content-Type": "text/xml", "Origin": "http://evil.example"},
                      timeout=5)
    assert r.status_code == 403 and "Origin" in r.text and "Allowed Origins" in r.text
    r = requests.post(url, data=_dome_call(), headers={"Content-Type": "text/xml", "Host": "evil.example:9003"},
                      timeout=5)  # DNS rebinding: the page's own name, resolved to 127.0.0.1
    assert r.status_code == 403 and "Host 'evil.example:9003'" in r.text
    assert len(shared.proxy(shared.dome).list_orders()) == before
    assert shared.dome.dome.shutter == ShutterState.CLOSED


def test_allowed_hosts_and_origins_are_served(tmp_path):
    config = make_config(tmp_path, Security={"Allowed Hosts": ["toros.local"],
                                             "Allowed Origins": ["http://toros.local:8080"]})
    server = _server(config)
    try:
        r = requests.post(f"http://127.0.0.1:{server.port}/", data=CALL, timeout=5,
                          headers={"Content-Type": "text/xml; charset=utf-8", "Host": "toros.local:9003",
                                   "Origin": "http://toros.local:8080"})
        assert r.status_code == 200 and "<methodResponse>" in r.text
    finally:
        _close(server)


def _server(config, **overrides) -> RPCServer:
    security = config["Security"]
    options = dict(allowed=config.allowed_networks, client_timeout=security["Client Timeout"],
                   allowed_hosts=security["Allowed Hosts"], allowed_origins=security["Allowed Origins"])
    server = RPCServer(("127.0.0.1", 0), **(options | overrides))
    server.register_function(lambda: [], "list_orders")
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


def _close(server: RPCServer) -> None:
    server.shutdown()
    server.server_close()


def test_a_refused_address_gets_no_thread_and_no_read(tmp_path, caplog):
    """The allowlist is checked on accept: a client that sends nothing is still answered 403 and closed;
    50 refusals are one line of log, not 50."""
    server = _server(make_config(tmp_path), allowed=["10.9.9.0/24"])
    try:
        threads = threading.active_count()
        socks = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(50)]
        replies = [s.recv(4096) for s in socks]  # nothing was sent: the answer cannot come from a read request
        assert all(_status(r) == 403 and b"not in Security.Allowed Networks" in r for r in replies)
        assert threading.active_count() <= threads  # none started for them (others may have ended)
        for s in socks:
            s.close()
        assert len([r for r in caplog.records if r.getMessage().startswith("refused 127.0.0.1")]) == 1
    finally:
        _close(server)


def test_a_trickling_client_is_dropped_at_the_deadline(tmp_path):
    """One byte every 0.2 s never trips a per-read timeout of 1 s; the whole request must arrive in 1 s."""
    server = _server(make_config(tmp_path), client_timeout=1.0)
    try:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        t0 = time.monotonic()
        dropped = None
        for byte in b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"x" * 100:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                dropped = time.monotonic() - t0
                break
            time.sleep(0.2)
        assert dropped is not None and dropped < 3.0
        sock.close()
    finally:
        _close(server)


def test_connections_are_bounded_and_idle_ones_make_room(tmp_path):
    server = _server(make_config(tmp_path), max_connections=3, client_timeout=5.0)
    try:
        busy = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(3)]
        for s in busy:  # mid-request: these hold their slots
            s.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n")
        time.sleep(0.3)
        reply = _raw(server.port, b"")  # three requests under way for 0.3 s: none to close
        assert _status(reply) == 503 and b"all 3 connections" in reply
        time.sleep(SLOW_REQUEST)  # now they have been arriving for longer than any real request takes
        with xmlrpc.client.ServerProxy(f"http://127.0.0.1:{server.port}") as newcomer:
            assert newcomer.list_orders() == []  # the slowest trickler was closed to make room
        for s in busy:
            s.close()
        deadline = time.monotonic() + 10  # their threads see the close and free the slots (later on a busy machine)
        while len(server._connections) > 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        idle = [xmlrpc.client.ServerProxy(f"http://127.0.0.1:{server.port}") for _ in range(3)]
        for proxy in idle:
            assert proxy.list_orders() == []  # keep-alive connections, now idle
        fresh = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{server.port}")
        assert fresh.list_orders() == []  # an idle one was closed to make room
        assert all(proxy.list_orders() == [] for proxy in idle)  # and its client reconnected
    finally:
        _close(server)


def test_hundreds_of_tricklers_hold_a_bounded_number_of_threads(tmp_path):
    """The old server started a thread per connection: 2,000 trickling clients held 1,506 threads."""
    server = _server(make_config(tmp_path), max_connections=16, client_timeout=5.0)
    try:
        threads = threading.active_count()
        socks = []
        for _ in range(200):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            s.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and then a byte now and then
            socks.append(s)
        time.sleep(0.5)
        assert threading.active_count() <= threads + 16
        for s in socks:
            s.close()
    finally:
        _close(server)


def test_the_listen_backlog_absorbs_bursts(tmp_path):
    server = _server(make_config(tmp_path))
    try:
        assert server.request_queue_size >= 512
        socks = [socket.socket() for _ in range(300)]
        for s in socks:
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", server.port))
        with xmlrpc.client.ServerProxy(f"http://127.0.0.1:{server.port}") as proxy:
            assert proxy.list_orders() == []
        for s in socks:
            s.close()
    finally:
        _close(server)


@pytest.fixture
def secured(tmp_path):
    token = tmp_path / "token"
    token.write_text("s3cret-token\n")
    token.chmod(0o600)
    key = tmp_path / "key.pem"  # held as sshd holds keys: not readable by every user
    key.write_bytes((TLS / "key.pem").read_bytes())
    key.chmod(0o600)
    config = make_config(tmp_path, Security={"Token File": str(token), "TLS Certificate": str(TLS / "cert.pem"),
                                             "TLS Key": str(key)})
    s = Stack(config)
    yield s
    s.stop()


def test_tls_and_the_token_for_the_python_client_and_the_cli(secured, tmp_path, capsys):
    port = secured.dome.server.port
    url = f"https://127.0.0.1:{port}"
    with service_proxy(secured.config, "Dome", url=url) as proxy:
        assert proxy.front_desk({**DOC_DOME, "ID": "tls-1"})["State"] == "queued"
    context = ssl.create_default_context(cafile=str(TLS / "cert.pem"))
    with pytest.raises(xmlrpc.client.ProtocolError) as refused:  # TLS without the token
        xmlrpc.client.ServerProxy(url, context=context).list_orders()
    assert refused.value.errcode == 401
    with pytest.raises(xmlrpc.client.ProtocolError):
        xmlrpc.client.ServerProxy(url, context=context, headers=[("Authorization", "Bearer wrong")]).list_orders()
    with pytest.raises((ConnectionError, xmlrpc.client.ProtocolError, OSError)):  # plain HTTP to a TLS port
        xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}").list_orders()
    import yaml

    secured.config.data["Dome Address"]["Port"] = port
    path = tmp_path / "client.yaml"
    path.write_text(yaml.safe_dump({k: secured.config.data[k] for k in ("Dome Address", "Security")}))
    assert toros(["--config", str(path), "status", "tls-1", "--service", "dome"]) == 0
    assert "tls-1:" in capsys.readouterr().out
