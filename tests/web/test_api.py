"""toros-web without a browser: what it pushes, what it serves, and whom it refuses."""

from __future__ import annotations

import json

import pytest
import requests
from astropy.io import fits
import numpy as np

from tests.daemons.conftest import make_config
from torosdrivers.daemons.tools.web import WebServer, main, parse_order


@pytest.fixture
def page(tmp_path):
    """The page with no daemon running (each shows as unreachable), orders allowed."""
    config = make_config(tmp_path, Web={"Allow Orders": True, "Refresh": 0.1},
                         Telescope_Address={"Port": 9}, Dome_Address={"Port": 13},
                         Preprocessor_Address={"Port": 17, "HTTP": "http://127.0.0.1:17"})
    server = WebServer(config, port=0).start()
    yield server, config
    server.stop()


def _event(server) -> dict:
    with requests.get(server.url + "/events", stream=True, timeout=10) as response:
        assert response.headers["Content-Type"] == "text/event-stream"
        lines = response.iter_lines(decode_unicode=True)
        assert next(line for line in lines if line.startswith("event:")) == "event: state"
        return json.loads(next(lines)[len("data: "):])


def test_the_state_is_pushed_and_an_unreachable_daemon_is_named(page):
    server, _ = page
    view = _event(server)
    assert set(view["Services"]) == {"telescope", "dome", "preprocessor", "scheduler", "alerts"} and view["Allow Orders"] is True
    telescope = view["Services"]["telescope"]
    assert telescope["Reachable"] is False and "127.0.0.1:9" in telescope["Error"]
    assert requests.get(server.url + "/api/state", timeout=5).json()["Site"] == "TOROS"
    index = requests.get(server.url + "/", timeout=5)
    assert index.ok and "Content-Security-Policy" in index.headers and "/static/app.js" in index.text
    assert requests.get(server.url + "/static/app.js", timeout=5).ok


def test_frames_come_only_from_the_data_directory(page, tmp_path):
    server, config = page
    night = tmp_path / "data" / "2026-09-25"
    night.mkdir(parents=True)
    fits.writeto(night / "f.fits", np.random.default_rng(1).normal(1000, 10, (64, 48)).astype(np.float32))
    png = requests.get(server.url + "/frame.png", params={"path": str(night / "f.fits")}, timeout=5)
    assert png.ok and png.content[:8] == b"\x89PNG\r\n\x1a\n" and png.headers["Content-Type"] == "image/png"
    for outside in ("/etc/passwd", str(night / ".." / ".." / "journal-telescope.sqlite"), str(night / "nope.fits")):
        assert requests.get(server.url + "/frame.png", params={"path": outside}, timeout=5).status_code == 404


def test_orders_are_refused_from_another_origin_or_as_a_form(page):
    server, _ = page
    url = server.url + "/api/orders"
    foreign = requests.post(url, json={"text": "WOType=Dome"}, headers={"Origin": "http://evil.example"}, timeout=5)
    assert foreign.status_code == 403 and "Origin 'http://evil.example'" in foreign.json()["Error"]
    form = requests.post(url, data={"text": "WOType=Dome"}, timeout=5)
    assert form.status_code == 415 and "expected application/json" in form.json()["Error"]
    bad = requests.post(url, json={"text": "WOType=Dome\nBlink01"}, timeout=5)
    assert bad.status_code == 400 and bad.json()["Error"] == "line 2 'Blink01': expected KEY=VALUE"
    down = requests.post(url, json={"text": "WOType=Dome\nID=1\nBlink01=true"}, timeout=5)
    assert down.status_code == 502 and "cannot reach the dome daemon" in down.json()["Error"]
    rebinding = requests.get(server.url + "/api/state", headers={"Host": "attacker.example"}, timeout=5)
    assert rebinding.status_code == 403 and "Allowed Hosts" in rebinding.json()["Error"]


def test_orders_from_the_page_are_off_by_default_and_clients_are_allowlisted(tmp_path):
    config = make_config(tmp_path)
    server = WebServer(config, port=0).start()
    try:
        refused = requests.post(server.url + "/api/cancel", json={"service": "dome", "id": "1"}, timeout=5)
        assert refused.status_code == 403 and "Web.Allow Orders" in refused.json()["Error"]
    finally:
        server.stop()
    config = make_config(tmp_path, Security={"Allowed Networks": ["10.0.0.0/8"]})
    server = WebServer(config, port=0).start()
    try:
        outside = requests.get(server.url + "/", timeout=5)
        assert outside.status_code == 403 and "Allowed Networks" in outside.json()["Error"]
    finally:
        server.stop()


@pytest.mark.parametrize("text, order", [
    ("WOType=Observation\nRA=13:37:01\nID=001\n\n# a comment\nNumber of Exposures = 3",
     {"WOType": "Observation", "RA": "13:37:01", "ID": "001", "Number of Exposures": 3}),
    ("WOType=Dome\nBlink01=true", {"WOType": "Dome", "Blink01": True}),
])
def test_orders_written_on_the_page_are_typed_as_on_the_command_line(text, order):
    assert parse_order(text) == order


def test_toros_web_refuses_a_taken_port(tmp_path, capsys):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        path = tmp_path / "web.yaml"
        path.write_text(f"Web: {{Port: {taken.getsockname()[1]}}}\nLogging: {{File: {tmp_path / 'toros.log'}}}\n")
        assert main(["--config", str(path)]) == 1
    assert "toros-web: cannot start:" in capsys.readouterr().err


# -- the page behind the same door (issue 24) ------------------------------------------------------------
def test_every_answer_carries_the_csp_and_deep_json_is_a_400(page):
    server, _ = page
    for path in ("/", "/nowhere", "/api/state"):
        r = requests.get(server.url + path, timeout=5)
        assert "default-src 'self'" in r.headers["Content-Security-Policy"], path
        assert r.headers["X-Content-Type-Options"] == "nosniff", path
    with requests.get(server.url + "/events", stream=True, timeout=10) as events:
        assert "default-src 'self'" in events.headers["Content-Security-Policy"]
    deep = "[" * 30000 + "]" * 30000
    r = requests.post(server.url + "/api/cancel", data=deep, headers={"Content-Type": "application/json"},
                      timeout=10)
    assert r.status_code == 400 and "nested deeper than 400" in r.json()["Error"]  # was a 500
    r = requests.post(server.url + "/api/cancel", data="[" * 500 + "]" * 500,
                      headers={"Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 400 and "nested deeper than 400" in r.json()["Error"]
    assert requests.get(server.url.replace("127.0.0.1", "localhost") + "/api/state", timeout=5).status_code == 200


def test_with_a_token_the_page_asks_for_a_login_and_keeps_a_strict_session(tmp_path):
    from torosdrivers.daemons.tools.web import hash_password

    token = tmp_path / "token"
    token.write_text("page-s3cret\n")
    token.chmod(0o600)
    users = tmp_path / "users"
    users.write_text(f"ana:{hash_password('correct horse')}\n")
    config = make_config(tmp_path, Security={"Token File": str(token)},
                         Web={"Allow Orders": True, "Refresh": 0.1, "Users File": str(users)},
                         Dome_Address={"Port": 13})
    server = WebServer(config, port=0).start()
    try:
        assert requests.get(server.url + "/api/state", timeout=5).status_code == 401
        redirected = requests.get(server.url + "/", allow_redirects=False, timeout=5)
        assert redirected.status_code == 303 and redirected.headers["Location"] == "/login"
        posted = requests.post(server.url + "/api/orders", json={"text": "WOType=Dome\nID=1\nBlink01=true"},
                               timeout=5)
        assert posted.status_code == 401  # no order forwarded with the page's token
        wrong = requests.post(server.url + "/login", data={"user": "ana", "password": "guess"}, timeout=5)
        assert wrong.status_code == 401
        for user, password in (("", "page-s3cret"), ("ana", "correct horse")):
            session = requests.Session()
            login = session.post(server.url + "/login", data={"user": user, "password": password},
                                 allow_redirects=False, timeout=5)
            assert login.status_code == 303, login.text
            cookie = login.headers["Set-Cookie"]
            assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
            assert session.get(server.url + "/api/state", timeout=5).status_code == 200
        for _ in range(6):  # failed logins are limited per client
            last = requests.post(server.url + "/login", data={"user": "x", "password": "y"}, timeout=5)
        assert last.status_code == 429
    finally:
        server.stop()


def test_beyond_loopback_the_page_needs_tls_and_a_login(tmp_path, capsys):
    path = tmp_path / "web.yaml"
    path.write_text(f"Web: {{IP: 0.0.0.0, Port: 8080}}\nLogging: {{File: {tmp_path / 'toros.log'}}}\n")
    assert main(["--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "beyond loopback" in err and "TLS" in err and "login" in err
