"""The same abuse at every HTTP door: a daemon (XML-RPC), the device server (Alpaca) and the page (issue 24).

Each case is sent as raw bytes, as a hostile client would, to all three
doors; each must be refused as the others refuse it (the same status, never
a 500, never a hang) and the door must keep serving afterwards.
"""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.daemons.conftest import make_config
from torosdrivers.daemons.services.devices import DeviceServer
from torosdrivers.daemons.services.dome import DomeService
from torosdrivers.daemons.tools.web import WebServer

SIM = {"Time Scale": 1e4, "Size": 32, "Seed": 1, "Weather": [], "Start": ""}

#: Per door: the request line of a call that takes a body, and a harmless call that must keep working.
CALLS = {
    "daemon": ("POST / HTTP/1.1\r\nContent-Type: text/xml", "/"),
    "device server": ("PUT /api/v1/dome/0/openshutter HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded",
                      "/api/v1/dome/0/connected?ClientID=1&ClientTransactionID=1"),
    "page": ("POST /api/orders HTTP/1.1\r\nContent-Type: application/json", "/api/state"),
}


@pytest.fixture(scope="module", params=sorted(CALLS))
def door(request, tmp_path_factory):
    """(name, port) of one running door with the shipped Security defaults."""
    tmp = tmp_path_factory.mktemp(request.param.replace(" ", "-"))
    config = make_config(tmp, Simulator=SIM, Web={"Allow Orders": True})
    if request.param == "daemon":
        service = DomeService(config)
        service.serve(0)
        yield request.param, service.server.port
        service.stop()
    elif request.param == "device server":
        server = DeviceServer(config, port=0, discovery=False).start()
        yield request.param, server.server.port
        server.stop()
    else:
        page = WebServer(config, port=0).start()
        yield request.param, int(page.url.rsplit(":", 1)[1])
        page.stop()


def _raw(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    """The first line of the answer to ``data`` ("" if the door closed without one)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        try:
            return s.recv(4096).split(b"\r\n", 1)[0]
        except ConnectionResetError:
            return b""


def _status(line: bytes) -> int:
    assert line.startswith(b"HTTP/1."), line
    return int(line.split()[1])


def _serves(name: str, port: int) -> None:
    """The door still answers a harmless call, promptly."""
    if name == "daemon":
        body = b"<?xml version='1.0'?><methodCall><methodName>health</methodName><params></params></methodCall>"
        r = requests.post(f"http://127.0.0.1:{port}/", data=body, headers={"Content-Type": "text/xml"}, timeout=10)
    else:
        r = requests.get(f"http://127.0.0.1:{port}{CALLS[name][1]}", timeout=10)
    assert r.status_code == 200, (name, r.status_code, r.text[:200])


@pytest.mark.parametrize("header, status", [
    ("Content-Length: -1", 400), ("Content-Length: abc", 400), ("Content-Length: +5", 400),
    ("Content-Length: 0x10", 400), ("Content-Length: 1e3", 400),
    ("", 411), ("Transfer-Encoding: chunked", 411),
    ("Content-Length: 99999999", 413),  # refused before the body, which never comes
])
def test_the_body_length_is_judged_before_the_body_the_same_at_every_door(door, header, status):
    name, port = door
    head = f"{CALLS[name][0]}\r\nHost: 127.0.0.1\r\n" + (f"{header}\r\n" if header else "") + "\r\n"
    assert _status(_raw(port, head.encode())) == status
    _serves(name, port)


@pytest.mark.parametrize("headers", ["Host: evil.example:8080", "Host: 127.0.0.1\r\nOrigin: http://evil.example"])
def test_rebinding_and_cross_site_requests_are_refused_at_every_door(door, headers):
    name, port = door
    head = f"{CALLS[name][0]}\r\n{headers}\r\nContent-Length: 2\r\n\r\n{{}}"
    assert _status(_raw(port, head.encode())) == 403


def test_a_stalled_client_blocks_nobody_at_any_door(door):
    name, port = door
    stalled = socket.create_connection(("127.0.0.1", port))
    stalled.sendall(f"{CALLS[name][0]}\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n<?x".encode())
    half = socket.create_connection(("127.0.0.1", port))
    half.sendall(b"GET / HTTP/1.1\r\nHo")  # headers that never end
    try:
        _serves(name, port)
    finally:
        stalled.close()
        half.close()


def test_a_burst_of_parallel_clients_is_answered_never_with_a_500(door):
    name, port = door

    def one(_):
        try:
            return _status(_raw(port, f"GET {CALLS[name][1]} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                      "Connection: close\r\n\r\n".encode(), timeout=60))
        except (ConnectionResetError, BrokenPipeError):
            return 0  # shed under load: the client sees it at once and may retry; never a hang

    with ThreadPoolExecutor(64) as pool:
        statuses = list(pool.map(one, range(300)))
    assert all(s < 500 or s == 503 for s in statuses), sorted(set(statuses))
    assert sum(1 for s in statuses if s in (200, 405)) >= 250, sorted(set(statuses))
    _serves(name, port)


lines = st.one_of(
    st.binary(max_size=200),
    st.builds(lambda method, path, extra: f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n\r\n".encode(
        "utf-8", "surrogateescape"),
        st.sampled_from(["GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD", "PATCH", "X" * 300]),
        st.one_of(st.sampled_from(["/", "/api/state", "/api/v1/dome/0/azimuth", "/../../etc/passwd", "*"]),
                  st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=60).map(lambda t: "/" + t)),
        st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80)),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(data=lines)
def test_whatever_arrives_is_never_a_500_and_the_door_keeps_serving(door, data):
    name, port = door
    with socket.create_connection(("127.0.0.1", port), timeout=15) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)  # what was sent is all there is: a door waiting for more must still end
        try:
            first = s.recv(4096).split(b"\r\n", 1)[0]
        except (ConnectionResetError, socket.timeout):
            first = b""
    if first.startswith(b"HTTP/1."):
        assert _status(first) < 500 or _status(first) in (501, 503), (data, first)  # 501: an unknown method
    _serves(name, port)
