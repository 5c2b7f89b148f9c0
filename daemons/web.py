"""``toros-web``: the observatory's web page, live.

One small process serves a static page (``webpage/``: HTML, CSS and
JavaScript, no build step) and pushes the merged state of every daemon
(`torosdrivers.daemons.overview`) to each open page with server-sent events,
about once per ``Web.Refresh`` seconds: devices, safety, queues with
progress, the latest frame as a stretched preview, the night's timeline and
the log tail. With ``Web.Allow Orders: true`` the page also submits and
cancels work orders (off by default).

Why aiohttp: one well-kept package is both the HTTP server and the
framework, with streaming responses for server-sent events built in and no
separate ASGI server to pair and configure; one asyncio loop holds any
number of open pages without a thread each, while the blocking XML-RPC and
FITS work runs in worker threads.

Who may use it: the daemons' own rules (``Security``): clients outside
``Allowed Networks`` are refused, as is a ``Host`` that is neither an IP
address nor one of ``Allowed Hosts`` (DNS rebinding). An order or a cancel
must come as JSON from this page's own origin (or one of ``Allowed
Origins``), which another web page in the operator's browser cannot send.

Routes: ``/`` (the page), ``/events`` (the state, pushed), ``/api/state``
(the same, once), ``/frame.png?path=`` (a frame of the data directory as
PNG), ``POST /api/orders`` and ``POST /api/cancel``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import socket
import sys
import threading
import xmlrpc.client
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web
from astropy.io import fits

from torosdrivers.config import Config
from torosdrivers.lifecycle import wait_for_stop
from torosdrivers.preview import png_bytes, stretch

from .cli import start_process
from .logs import fatal
from .overview import SERVICES, Overview
from .security import host_problem, service_proxy
from .workorders import shorten, typed_value

__all__ = ["WebServer", "make_app", "parse_order", "main"]

log = logging.getLogger("toros.web")

PAGE = Path(str(resources.files("torosdrivers.daemons").joinpath("webpage")))
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


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, headers=_HEADERS)


def _refuse(status: int, text: str) -> web.Response:
    return _json({"Error": text}, status)


@web.middleware
async def _guard(request: web.Request, handler):
    config: Config = request.app[CONFIG]
    try:
        client = ipaddress.ip_address((request.remote or "").split("%")[0])
    except ValueError:
        return _refuse(403, "unknown client address")
    if not any(client in net for net in config.allowed_networks):
        return _refuse(403, f"{client} is not in Security.Allowed Networks")
    problem = host_problem(request.headers.get("Host"), config["Security"]["Allowed Hosts"], "this page's")
    if problem:
        return _refuse(403, problem)
    if request.method == "POST":
        if not config["Web"]["Allow Orders"]:
            return _refuse(403, "orders from the page are off: set Web.Allow Orders to true in the configuration")
        origin = request.headers.get("Origin")
        own = f"{request.scheme}://{request.host}"
        if origin is not None and origin != own and origin not in config["Security"]["Allowed Origins"]:
            return _refuse(403, f"Origin {shorten(origin, 80)!r} is neither this page nor in Security.Allowed Origins")
        if request.content_type != "application/json":
            return _refuse(415, f"Content-Type {request.content_type!r}: expected application/json")
    response = await handler(request)
    for key, value in _HEADERS.items():
        response.headers.setdefault(key, value)
    return response


async def _index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(PAGE / "index.html", headers={"Cache-Control": "no-cache"})


async def _state(request: web.Request) -> web.Response:
    return web.Response(text=request.app[HUB].text or "{}", content_type="application/json")


async def _events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: the whole view whenever it changes, a comment every 15 s to keep proxies open."""
    hub = request.app[HUB]
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                           "X-Accel-Buffering": "no"})
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
        body = await request.json()
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
        body = await request.json()
        service, order_id = str(body["service"]), str(body["id"])
    except (ValueError, KeyError, TypeError):
        return _refuse(400, "expected a JSON object {service, id}")
    return await _rpc(request, service, "cancel", order_id)


async def _poll(app: web.Application) -> None:
    config, hub = app[CONFIG], app[HUB]
    overview = Overview(config)
    while not hub.closing:
        try:
            view = await asyncio.to_thread(overview.poll)
        except Exception:  # a bug in merging must not stop the page's updates
            log.exception("polling the daemons failed")
            await asyncio.sleep(float(config["Web"]["Refresh"]))
            continue
        view["Allow Orders"] = bool(config["Web"]["Allow Orders"])
        frame = view["Latest Frame"]
        if frame.get("Path"):
            frame["Preview"] = f"/frame.png?path={quote(frame['Path'])}"
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
    app = web.Application(middlewares=[_guard], client_max_size=64 * 1024)
    app[CONFIG], app[HUB], app[PREVIEWS] = config, _Hub(), {}
    app.router.add_get("/", _index)
    app.router.add_get("/events", _events)
    app.router.add_get("/api/state", _state)
    app.router.add_get("/frame.png", _frame)
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
        return f"http://[{self.host}]:{self.port}" if ":" in self.host else f"http://{self.host}:{self.port}"

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
        await web.SockSite(self._runner, sock, backlog=128).start()

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self._loop.close()


def main(argv: list[str] | None = None) -> int:
    args, config = start_process("web", "The observatory's web page, live.", argv,
                                 port_help="override Web.Port (0: any free one)")
    if config is None:
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
