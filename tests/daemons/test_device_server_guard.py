"""The device server behind the same guard as the daemons (issue 24): networks, hosts, origins, the token as
HTTP Basic, Content-Length before the body, TLS; its Alpaca clients (ours, alpyca, requests) through it."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import requests

from torosdrivers.config import build_devices
from torosdrivers.daemons.services.devices import DeviceServer
from torosdrivers.dome import ShutterState

from tests.daemons.conftest import make_config

TLS = Path(__file__).parent / "tls"
TOKEN = "dev1ce-s3cret"


def _owner(tmp_path, **security):
    token = tmp_path / "token"
    token.write_text(TOKEN + "\n")
    token.chmod(0o600)
    config = make_config(tmp_path, Security={"Token File": str(token), **security},
                         Simulator={"Time Scale": 1e4, "Size": 32, "Seed": 1, "Weather": [], "Start": ""})
    owner = DeviceServer(config, port=0, discovery=False).start()
    config.data["Device Server"] = {"Enabled": True, "IP": "127.0.0.1", "Port": owner.server.port,
                                    "Discovery": False}
    return config, owner


@pytest.fixture
def guarded(tmp_path):
    config, owner = _owner(tmp_path)
    yield config, owner, f"http://127.0.0.1:{owner.server.port}/api/v1/dome/0"
    owner.stop()


def test_no_token_no_device_and_the_token_as_http_basic_opens_it(guarded):
    config, owner, base = guarded
    refused = requests.put(f"{base}/connected", data={"Connected": "true", "ClientID": 7}, timeout=5)
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Basic")
    wrong = requests.put(f"{base}/openshutter", data={"ClientID": 7}, auth=("toros", "guess"), timeout=5)
    assert wrong.status_code == 401
    empty = requests.get(f"{base}/shutterstatus", headers={"Authorization": "Bearer "}, timeout=5)
    assert empty.status_code == 401
    ok = requests.put(f"{base}/connected", data={"Connected": "true", "ClientID": 7}, auth=("nina", TOKEN), timeout=5)
    assert ok.status_code == 200 and ok.json()["ErrorNumber"] == 0
    assert owner.devices.dome.shutter == ShutterState.CLOSED  # nothing moved for the refused calls


def test_our_backends_and_a_stock_alpyca_client_send_the_token(guarded):
    from alpaca.dome import Dome

    config, owner, _ = guarded
    devices = build_devices(config, ("Dome", "Camera"))
    devices.dome.connect()
    devices.camera.connect()
    devices.dome.open_shutter()
    assert owner.devices.dome.shutter == ShutterState.OPEN
    frame = devices.camera.expose(0.0, light=False)  # the image download carries the token too
    assert frame.data.shape == (32, 32)
    stock = Dome(f"127.0.0.1:{owner.server.port}", 0)
    stock.rqs.auth = ("nina", TOKEN)  # alpyca sends every call through its requests session
    stock.Connected = True
    assert stock.ShutterStatus == 0


@pytest.mark.parametrize("headers, status", [
    ({"Host": "evil.example:11111"}, 403),  # DNS rebinding: a page on another domain
    ({"Origin": "http://evil.example"}, 403),  # a cross-site page
])
def test_foreign_host_and_origin_are_refused(guarded, headers, status):
    config, owner, base = guarded
    r = requests.put(f"{base}/tracking", data={"Tracking": "false", "ClientID": 1}, headers=headers,
                     auth=("x", TOKEN), timeout=5)
    assert r.status_code == status


def _raw(port: int, head: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head)
        return s.recv(4096)


@pytest.mark.parametrize("length, status", [("-1", 400), ("abc", 400), (None, 411), ("99999999", 413)])
def test_content_length_is_refused_before_the_body_never_a_500(guarded, length, status):
    config, owner, _ = guarded
    auth = "Basic " + __import__("base64").b64encode(f"x:{TOKEN}".encode()).decode()
    head = f"PUT /api/v1/dome/0/openshutter HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth}\r\n"
    if length is not None:
        head += f"Content-Length: {length}\r\n"
    reply = _raw(owner.server.port, (head + "\r\n").encode())
    assert reply.startswith(f"HTTP/1.1 {status}".encode()) or reply.startswith(f"HTTP/1.0 {status}".encode()), reply


def test_a_client_outside_the_allowed_networks_is_refused_on_accept_and_discovery_is_silent(tmp_path):
    from torosdrivers.alpaca import AlpacaServer
    from torosdrivers.daemons.frame.security import guard_of

    config, owner = _owner(tmp_path, **{"Allowed Networks": ["10.0.0.0/8"]})
    try:
        reply = _raw(owner.server.port, b"GET /management/apiversions HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 403") and b"Allowed Networks" in reply
        for networks, answered in ((["10.0.0.0/8"], False), (["127.0.0.0/8"], True)):
            config.data["Security"]["Allowed Networks"] = networks
            server = AlpacaServer([owner.devices.dome], discovery_port=0, guard=guard_of(config, "test")).start()
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                    probe.settimeout(1.0)
                    probe.sendto(b"alpacadiscovery1", server.discovery_address)
                    try:
                        got = json.loads(probe.recv(1024))["AlpacaPort"] == server.port
                    except TimeoutError:
                        got = False
                assert got == answered
            finally:
                server.stop()
    finally:
        owner.stop()


def test_tls_on_the_device_server_for_our_backends(tmp_path):
    key = tmp_path / "key.pem"
    key.write_bytes((TLS / "key.pem").read_bytes())
    key.chmod(0o600)
    config, owner = _owner(tmp_path, **{"TLS Certificate": str(TLS / "cert.pem"), "TLS Key": str(key)})
    try:
        with pytest.raises(requests.RequestException):  # plain HTTP to a TLS port
            requests.get(f"http://127.0.0.1:{owner.server.port}/management/apiversions", timeout=5)
        devices = build_devices(config, ("Camera",))
        devices.camera.connect()
        assert devices.camera.expose(0.0, light=False).data.shape == (32, 32)
    finally:
        owner.stop()


# -- the other holes of issue 24 ----------------------------------------------------------------------------
def test_the_preprocessor_never_writes_through_a_products_link_out_of_the_night(tmp_path):
    from torosdrivers.preprocessing import process_night

    night, outside = tmp_path / "night", tmp_path / "elsewhere"
    night.mkdir()
    outside.mkdir()
    (night / "products").symlink_to(outside)
    with pytest.raises(NotADirectoryError, match="is a link"):
        process_night(night, catalog=str(tmp_path / "catalog.sqlite"))
    assert list(outside.iterdir()) == []


def test_a_lock_file_planted_as_a_link_is_refused(tmp_path):
    from torosdrivers.lockfile import HolderLock

    target = tmp_path / "victim"
    target.write_text("keep me\n")
    (tmp_path / "x.lock").symlink_to(target)
    with pytest.raises(OSError):
        HolderLock(tmp_path / "x.lock").acquire()
    assert target.read_text() == "keep me\n"


@pytest.mark.parametrize("text, expected", [
    ("Site:\n  Name: x\n   Latitude: 3\n", "not valid YAML: line 3, column 12: mapping values are not allowed here"),
    ("Site: " + "[" * 5000 + "]" * 5000 + "\n", "nested"),
    ("Site: {Name: " + "[" * 30 + "]" * 30 + "}\n", "nested deeper than 20 levels"),
])
def test_a_bad_configuration_is_one_line(tmp_path, text, expected):
    from torosdrivers.config import ConfigError, load_config

    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert expected in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("mode, content, expected", [
    (0o644, "secret\n", "readable by every user"),
    (0o600, "  \n", "is empty"),
])
def test_secrets_held_as_sshd_holds_keys(tmp_path, mode, content, expected):
    from torosdrivers.config import ConfigError, load_config

    token = tmp_path / "token"
    token.write_text(content)
    token.chmod(mode)
    path = tmp_path / "c.yaml"
    path.write_text(f"Security: {{Token File: {token}}}\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert expected in str(error.value) and str(token) in str(error.value)


def test_the_cli_says_401_in_one_line_naming_the_token_file(tmp_path, capsys):
    from torosdrivers.daemons.tools.client import main as toros
    from torosdrivers.daemons.services.dome import DomeService

    good, wrong = tmp_path / "good", tmp_path / "wrong"
    for path, secret in ((good, "right"), (wrong, "wrong")):
        path.write_text(secret)
        path.chmod(0o600)
    config = make_config(tmp_path, Security={"Token File": str(good)})
    dome = DomeService(config)
    dome.serve(0)
    try:
        client = tmp_path / "client.yaml"
        client.write_text(f"Dome Address: {{IP: 127.0.0.1, Port: {dome.server.port}}}\n"
                          f"Security: {{Token File: {wrong}}}\n")
        assert toros(["--config", str(client), "list", "--service", "dome"]) == 1
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "HTTP 401" in err and str(wrong) in err, err
    finally:
        dome.stop()
