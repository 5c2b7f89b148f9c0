"""``toros-web``: the observatory's web page, live.

One small process serves a static page (``webpage/``: HTML, CSS and
JavaScript, no build step) and pushes the merged state of every daemon
(`torosdrivers.daemons.tools.overview`) to each open page with server-sent events,
about once per ``Web.Refresh`` seconds: devices, safety, queues with
progress, the latest frame as a stretched preview, the night's timeline and
the log tail. With ``Web.Allow Orders: true`` the page also submits and
cancels work orders (off by default).

Why aiohttp: one well-kept package is both the HTTP server and the
framework, with streaming responses for server-sent events built in and no
separate ASGI server to pair and configure; one asyncio loop holds any
number of open pages without a thread each, while the blocking XML-RPC and
FITS work runs in worker threads.

Who may use it: the daemons' own rules (``Security``, through the same
`torosdrivers.httpguard.Guard`): clients outside ``Allowed Networks`` are
refused, as is a ``Host`` that is neither an IP address, ``localhost``, this
machine's name nor one of ``Allowed Hosts`` (DNS rebinding). An order or a
cancel must come as JSON (nested at most `MAX_JSON_DEPTH` deep) from this
page's own origin (or one of ``Allowed Origins``), which another web page in
the operator's browser cannot send. With a ``Security.Token File`` or a
``Web.Users File`` (``name:scrypt$...`` lines, made by ``toros-web
--hash-password``) every request needs a login: ``/login`` takes the token
or a user's password and sets a session cookie (``HttpOnly``,
``SameSite=Strict``, ``Secure`` under TLS). Beyond loopback the page
refuses to start without TLS and a login. Every response carries the CSP
and ``nosniff``.

Routes: ``/`` (the page), ``/events`` (the state, pushed), ``/api/state``
(the same, once), ``/frame.png?path=`` (a frame of the data directory as
PNG), ``POST /api/orders`` and ``POST /api/cancel``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import sys
import threading
import time
import xmlrpc.client
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
from aiohttp import web
from astropy.io import fits

from torosdrivers.config import Config, nesting_depth
from torosdrivers.httpguard import Guard, Refusal
from torosdrivers.lifecycle import wait_for_stop
from torosdrivers.preview import png_bytes, stretch

from torosdrivers.daemons.frame.cli import start_process
from torosdrivers.daemons.frame.logs import fatal
from torosdrivers.daemons.tools.overview import SERVICES, Overview
from torosdrivers.daemons.frame.security import guard_of, server_tls, service_proxy, token_of
from torosdrivers.daemons.frame.workorders import shorten, typed_value

__all__ = ["WebServer", "make_app", "parse_order", "main"]

log = logging.getLogger("toros.web")

PAGE = Path(str(resources.files("torosdrivers.daemons.tools").joinpath("webpage")))
#: Longest side of a frame preview, pixels.
PREVIEW_PIXELS = 512
_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; "
                               "connect-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def parse_order(text: str) -> dict[str, Any]:
    """A work order written as ``KEY=VALUE`` lines (as ``toros --set``: `typed_value` types each value).

    Raises
    ------
    ValueError
        A line without ``=``, or no key at all; the message names the line.
    """
    order: dict[str, Any] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"line {number} {shorten(line.strip(), 60)!r}: expected KEY=VALUE")
        order[key.strip()] = typed_value(key.strip(), value.strip())
    if not order:
        raise ValueError("the order is empty: expected KEY=VALUE lines, e.g. WOType=Dome")
    return order


class _Hub:
    """The latest view, and a condition the open pages wait on for the next one."""

    def __init__(self) -> None:
        self.text = ""
        self.version = 0
        self.closing = False
        self.changed = asyncio.Condition()

    async def publish(self, text: str) -> None:
        async with self.changed:
            self.text, self.version = text, self.version + 1
            self.changed.notify_all()


HUB = web.AppKey("hub", _Hub)
CONFIG = web.AppKey("config", Config)
PREVIEWS = web.AppKey("previews", dict)
POLLER = web.AppKey("poller", asyncio.Task)
GUARD = web.AppKey("guard", Guard)
SESSIONS = web.AppKey("sessions", dict)  # cookie -> (user, monotonic expiry)
FAILURES = web.AppKey("failures", dict)  # client -> monotonic times of its failed logins


#: How deep a JSON body may nest (an order is two levels deep).
MAX_JSON_DEPTH = 400
#: Seconds a login lasts, and failed logins a client may make per minute.
SESSION_SECONDS, LOGIN_TRIES = 12 * 3600, 5
_COOKIE = "toros_session"
_LOGIN_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>TOROS - log in</title>
<link rel="stylesheet" href="/static/style.css"></head><body><main class="login"><h1>TOROS observatory</h1>
<form method="post" action="/login"><label>User <input name="user" autocomplete="username"></label>
<label>Password or token <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Log in</button></form><p>{message}</p></main></body></html>"""


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` (hex) of a password, for a line ``name:<this>`` of ``Web.Users File``."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt$16384$8$1${salt.hex()}${digest.hex()}"


def _password_ok(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


def _users(config: Config) -> dict[str, str]:
    path = config["Web"].get("Users File")
    if not path:
        return {}
    users = {}
    for line in Path(path).read_text().splitlines():
        name, sep, stored = line.strip().partition(":")
        if sep and not line.lstrip().startswith("#"):
            users[name.strip()] = stored.strip()
    return users


def login_required(config: Config) -> bool:
    """Whether the page asks for a login (a token or users are configured)."""
    return bool(config["Security"]["Token File"] or config["Web"].get("Users File"))


def beyond_loopback_problem(config: Config) -> str | None:
    """Why the page must not start where it is configured (beyond loopback without TLS and a login), or None."""
    try:
        loopback = ipaddress.ip_address(str(config["Web"]["IP"])).is_loopback
    except ValueError:
        loopback = False
    if loopback:
        return None
    missing = [what for what, ok in (("TLS (Security.TLS Certificate and TLS Key)",
                                      bool(config["Security"]["TLS Certificate"])),
                                     ("a login (Security.Token File or Web.Users File)", login_required(config)))
               if not ok]
    return (f"Web.IP {config['Web']['IP']} is beyond loopback: the page there needs " + " and ".join(missing)
            if missing else None)


async def _json_body(request: web.Request) -> Any:
    """The request's JSON, nested at most `MAX_JSON_DEPTH` deep; ValueError otherwise (a 400, never a 500)."""
    text = await request.text()
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    if nesting_depth(value, MAX_JSON_DEPTH + 1) > MAX_JSON_DEPTH:
        raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, headers=_HEADERS)


def _refuse(status: int, text: str) -> web.Response:
    return _json({"Error": text}, status)


@web.middleware
async def _guard(request: web.Request, handler):
    try:
        response = await _guarded(request, handler)
    except web.HTTPException as exc:  # a 404 or 405 of the router carries them too
        exc.headers.update({k: v for k, v in _HEADERS.items() if k not in exc.headers})
        raise
    for key, value in _HEADERS.items():
        response.headers.setdefault(key, value)
    return response


async def _guarded(request: web.Request, handler):
    config: Config = request.app[CONFIG]
    guard: Guard = request.app[GUARD]
    if not guard.client_allowed(request.remote or ""):
        return _refuse(403, f"{request.remote} is not in Security.Allowed Networks")
    problem = guard.host_problem(request.headers.get("Host"))
    if problem:
        return _refuse(403, problem)
    if request.method == "POST":
        origin = request.headers.get("Origin")
        own = f"{request.scheme}://{request.host}"
        if origin is not None and origin != own and origin not in config["Security"]["Allowed Origins"]:
            return _refuse(403, f"Origin {shorten(origin, 80)!r} is neither this page nor in Security.Allowed Origins")
        # The daemons' rule, before a byte of the body is read: aiohttp alone would wait for 99 MB announced
        length = guard.body_length(request.headers, required=True)
        if isinstance(length, Refusal):
            return _refuse(length.status, length.text)
    if request.path in _OPEN_PATHS:
        return await handler(request)
    if login_required(config) and not _session(request):
        if request.method == "GET" and request.path == "/":
            raise web.HTTPSeeOther("/login")
        return _refuse(401, "log in first (/login)")
    if request.method == "POST":
        if not config["Web"]["Allow Orders"]:
            return _refuse(403, "orders from the page are off: set Web.Allow Orders to true in the configuration")
        if request.content_type != "application/json":
            return _refuse(415, f"Content-Type {request.content_type!r}: expected application/json")
    return await handler(request)


#: What may be fetched before logging in: the login form and its style.
_OPEN_PATHS = frozenset({"/login", "/static/style.css", "/static/favicon.svg"})


def _session(request: web.Request) -> str | None:
    """The logged-in user of a request, or None."""
    sessions = request.app[SESSIONS]
    entry = sessions.get(request.cookies.get(_COOKIE, ""))
    if entry is None or entry[1] < time.monotonic():
        return None
    return entry[0]


async def _login_form(request: web.Request) -> web.Response:
    return web.Response(text=_LOGIN_PAGE.format(message=""), content_type="text/html")


async def _login(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    client = request.remote or ""
    tries = request.app[FAILURES]
    now = time.monotonic()
    recent = [t for t in tries.get(client, []) if now - t < 60]
    if len(recent) >= LOGIN_TRIES:
        return web.Response(status=429, text=_LOGIN_PAGE.format(message="Too many attempts: wait a minute."),
                            content_type="text/html")
    form = await request.post()
    user, password = str(form.get("user", ""))[:100], str(form.get("password", ""))[:1000]
    token = token_of(config)
    users = _users(config)
    ok = bool(password) and ((token is not None and hmac.compare_digest(password.encode(), token.encode()))
                             or (user in users and _password_ok(password, users[user])))
    if not ok:
        tries[client] = recent + [now]
        log.warning("page: failed login from %s (user %r)", client, shorten(user, 40))
        return web.Response(status=401, text=_LOGIN_PAGE.format(message="Wrong user, password or token."),
                            content_type="text/html")
    session = secrets.token_urlsafe(32)
    request.app[SESSIONS][session] = (user or "token", now + SESSION_SECONDS)
    log.info("page: %s logged in from %s", user or "token", client)
    response = web.Response(status=303, headers={"Location": "/"})
    response.set_cookie(_COOKIE, session, max_age=SESSION_SECONDS, path="/", httponly=True, samesite="Strict",
                        secure=request.secure)
    return response


async def _index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(PAGE / "index.html", headers={"Cache-Control": "no-cache"})


async def _state(request: web.Request) -> web.Response:
    return web.Response(text=request.app[HUB].text or "{}", content_type="application/json")


async def _events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: the whole view whenever it changes, a comment every 15 s to keep proxies open."""
    hub = request.app[HUB]
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                           "X-Accel-Buffering": "no", **_HEADERS})
    await response.prepare(request)
    seen = -1
    try:
        while not hub.closing:
            async with hub.changed:
                try:
                    await asyncio.wait_for(hub.changed.wait_for(lambda: hub.version != seen or hub.closing), 15)
                except asyncio.TimeoutError:
                    await response.write(b": still here\n\n")
                    continue
                seen, text = hub.version, hub.text
            if text:
                await response.write(f"event: state\ndata: {text}\n\n".encode())
    except ConnectionResetError:  # the page was closed
        pass
    return response


def _preview(path: Path, cache: dict) -> bytes:
    key = (path, path.stat().st_mtime_ns)
    if key not in cache:
        with fits.open(path, memmap=False) as hdus:
            data = next(h.data for h in hdus if getattr(h, "data", None) is not None and h.data.ndim == 2)
        cache.clear()  # one frame at a time: the latest
        cache[key] = png_bytes(stretch(data, max_size=PREVIEW_PIXELS))
    return cache[key]


#: A light with more of its pixels at the sensor's full scale than this is flagged saturated on the page.
SATURATED_WARNING = 0.01


def frame_statistics(path: Path, cache: dict) -> dict[str, Any]:
    """The preview's figures of a frame: median, saturated fraction, stars found (from the telescope's check,
    ``CHKSTARS``) and a warning for a light that looks blank or saturated (the latest frame only: cached)."""
    key = (path, path.stat().st_mtime_ns)
    if key not in cache:
        with fits.open(path, memmap=False) as hdus:
            hdu = next(h for h in hdus if getattr(h, "data", None) is not None and h.data.ndim == 2)
            data, header = hdu.data, hdus[0].header
        full = float(header.get("SATURATE", 0) or (np.iinfo(data.dtype).max if data.dtype.kind in "ui" else 0))
        median = float(np.median(data))
        saturated = float(np.count_nonzero(data >= full)) / data.size if full else 0.0
        stars = int(header["CHKSTARS"]) if "CHKSTARS" in header else None
        light = str(header.get("IMAGETYP", "")).strip().upper() == "LIGHT"
        verdict, why = str(header.get("FRAMECHK", "")), str(header.get("FRAMEWHY", ""))
        warning = ""
        if light and saturated > SATURATED_WARNING:
            warning = f"saturated: {saturated:.1%} of the pixels at full scale"
        elif light and verdict == "FAILED":  # the telescope's own verdict and its reason (no light, no stars...)
            warning = f"rejected: {why}"[:300]
        elif light and (float(np.std(data)) < 1e-6 or (stars == 0 and verdict != "PASSED")):
            warning = "blank: no star found in this light (dome closed? clouds? shutter?)"
        cache.clear()
        cache[key] = {"Median": round(median, 1), "Saturated": round(saturated, 5), "Stars": stars,
                      "Warning": warning, "Why": why[:300]}
    return cache[key]


async def _frame(request: web.Request) -> web.Response:
    """A frame of the data directory as a stretched PNG (any other path is refused)."""
    root = Path(request.app[CONFIG]["Data Directory"]).expanduser().resolve()
    wanted = Path(request.query.get("path", "")).resolve()
    if root not in wanted.parents or not wanted.is_file():
        return _refuse(404, "no such frame in the data directory")
    try:
        png = await asyncio.to_thread(_preview, wanted, request.app[PREVIEWS])
    except (OSError, StopIteration, ValueError) as exc:
        return _refuse(422, f"cannot read {wanted.name}: {exc}")
    return web.Response(body=png, content_type="image/png", headers={"Cache-Control": "max-age=3600"})


async def _alert_chart(request: web.Request) -> web.Response:
    """An event's sky map with its fields (the alerts daemon's ``chart``), as a PNG."""
    event = request.query.get("event", "")
    if not 1 <= len(event) <= 40 or not all(c.isalnum() or c in "-_" for c in event):
        return _refuse(400, f"event={event[:40]!r}: expected a superevent ID (1 to 40 letters, digits, - or _)")
    try:
        png = await asyncio.to_thread(_call, request.app[CONFIG], "alerts", "chart", event)
    except xmlrpc.client.Fault as fault:
        return _refuse(404, fault.faultString)
    except (OSError, xmlrpc.client.Error) as exc:
        return _refuse(502, f"cannot reach the alerts daemon: {exc}")
    return web.Response(body=png.data, content_type="image/png", headers={"Cache-Control": "max-age=60"})


def _call(config: Config, service: str, method: str, *args) -> dict:
    with service_proxy(config, SERVICES[service], timeout=10.0) as proxy:
        return getattr(proxy, method)(*args)


async def _rpc(request: web.Request, service: str, method: str, *args) -> web.Response:
    if service not in SERVICES:
        return _refuse(400, f"service {shorten(service, 40)!r}: expected one of {sorted(SERVICES)}")
    try:
        answer = await asyncio.to_thread(_call, request.app[CONFIG], service, method, *args)
    except xmlrpc.client.Fault as fault:
        return _refuse(400, f"{service} refused it (fault {fault.faultCode}): {fault.faultString}")
    except OSError as exc:
        return _refuse(502, f"cannot reach the {service} daemon: {exc}")
    log.info("page %s %s: %s %s", request.remote, method, service, answer.get("ID", ""))
    return _json(answer)


async def _submit(request: web.Request) -> web.Response:
    try:
        body = await _json_body(request)
        if not isinstance(body, dict):
            raise ValueError("expected a JSON object {text: 'KEY=VALUE lines', service: optional}")
        order = parse_order(str(body.get("text", "")))
    except ValueError as exc:
        return _refuse(400, str(exc))
    service = str(body.get("service") or {"Observation": "telescope", "Dome": "dome"}.get(order.get("WOType"),
                                                                                       "preprocessor"))
    return await _rpc(request, service, "front_desk", order)


async def _cancel(request: web.Request) -> web.Response:
    try:
        body = await _json_body(request)
        service, order_id = str(body["service"]), str(body["id"])
    except (ValueError, KeyError, TypeError) as exc:
        return _refuse(400, f"expected a JSON object {{service, id}} ({shorten(exc, 80)})")
    return await _rpc(request, service, "cancel", order_id)


async def _poll(app: web.Application) -> None:
    config, hub = app[CONFIG], app[HUB]
    overview, statistics = Overview(config), {}
    while not hub.closing:
        try:
            view = await asyncio.to_thread(overview.poll)
        except Exception:  # a bug in merging must not stop the page's updates
            log.exception("polling the daemons failed")
            await asyncio.sleep(float(config["Web"]["Refresh"]))
            continue
        view["Allow Orders"] = bool(config["Web"]["Allow Orders"])
        view["Stale After"] = float(config["Web"]["Stale After"])
        frame = view["Latest Frame"]
        if frame.get("Path"):
            frame["Preview"] = f"/frame.png?path={quote(frame['Path'])}"
            try:
                frame["Statistics"] = await asyncio.to_thread(frame_statistics, Path(frame["Path"]), statistics)
            except (OSError, StopIteration, ValueError) as exc:  # a frame being written, or gone
                frame["Statistics"] = {"Warning": f"cannot read it: {shorten(exc, 120)}"}
        for campaign in view.get("Campaigns", [])[:1]:  # the newest event's chart, drawn again as it changes
            campaign["Chart"] = f"/alert.png?event={quote(campaign['Superevent'])}&v=" \
                                f"{quote(campaign['Last Alert'])}-{campaign['Fields']}-{campaign['Observed Fields']}"
        await hub.publish(json.dumps(view))
        await asyncio.sleep(float(config["Web"]["Refresh"]))


async def _start_polling(app: web.Application) -> None:
    app[POLLER] = asyncio.create_task(_poll(app))


async def _stop(app: web.Application) -> None:
    hub = app[HUB]
    hub.closing = True
    async with hub.changed:
        hub.changed.notify_all()
    app[POLLER].cancel()


def make_app(config: Config) -> web.Application:
    """The page's aiohttp application for ``config``."""
    guard = guard_of(config, "this page")
    app = web.Application(middlewares=[_guard], client_max_size=guard.max_request_bytes)
    app[CONFIG], app[HUB], app[PREVIEWS] = config, _Hub(), {}
    app[GUARD], app[SESSIONS], app[FAILURES] = guard, {}, {}
    app.router.add_get("/", _index)
    app.router.add_get("/login", _login_form)
    app.router.add_post("/login", _login)
    app.router.add_get("/events", _events)
    app.router.add_get("/api/state", _state)
    app.router.add_get("/frame.png", _frame)
    app.router.add_get("/alert.png", _alert_chart)
    app.router.add_post("/api/orders", _submit)
    app.router.add_post("/api/cancel", _cancel)
    app.router.add_static("/static/", PAGE, show_index=False)
    app.on_startup.append(_start_polling)
    app.on_shutdown.append(_stop)
    return app


class WebServer:
    """The page served from a thread of its own (its asyncio loop): ``start()``, ``url``, ``stop()``."""

    def __init__(self, config: Config, port: int | None = None) -> None:
        self.config = config
        self.host = str(config["Web"]["IP"])
        self.port = int(config["Web"]["Port"] if port is None else port)
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="toros-web", daemon=True)

    @property
    def url(self) -> str:
        scheme = "https" if self.config["Security"]["TLS Certificate"] else "http"
        return f"{scheme}://[{self.host}]:{self.port}" if ":" in self.host else f"{scheme}://{self.host}:{self.port}"

    def start(self) -> "WebServer":
        """Bind and serve; raises OSError when the address is taken."""
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        except BaseException:
            self.stop()
            raise
        return self

    async def _start(self) -> None:
        # The socket is bound here, so port 0 tells its number before anything is served.
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        self._runner = web.AppRunner(make_app(self.config), access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        await web.SockSite(self._runner, sock, backlog=1024, ssl_context=server_tls(self.config)).start()

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self._loop.close()


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv == ["--hash-password"]:  # a line for Web.Users File: NAME:<this>
        import getpass

        print(hash_password(getpass.getpass("password: ")))
        return 0
    args, config = start_process("web", "The observatory's web page, live.", argv,
                                 port_help="override Web.Port (0: any free one)")
    if config is None:
        return 2
    problem = beyond_loopback_problem(config)
    if problem:
        print(f"toros-web: {problem}", file=sys.stderr)
        return 2
    try:
        server = WebServer(config, args.port).start()
    except OSError as exc:
        fatal(log, "toros-web", f"cannot start: {exc}")
        return 1
    log.info("serving the observatory page on %s", server.url)
    print(f"toros-web: the observatory page is on {server.url}/ (config: {config.source})", flush=True)
    try:
        wait_for_stop()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
