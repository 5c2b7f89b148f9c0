"""``toros``: submit a work order, follow it, cancel it, list orders, see the observatory.

    toros submit examples/observation.yaml --follow    # a WO from a YAML or JSON file
    toros submit --set WOType=Dome --set ID=7 --set Blink01=true
    toros status                     # every daemon, the devices, safety and the queues in one view
    toros status 7 --service dome    # one order
    toros status --service telescope # one daemon's health and its safety timeline
    toros cancel 7
    toros list --watch               # every daemon's orders, redrawn every 2 s
    toros plan                       # the scheduler's plan for the night (times UTC), and a chart
    toros alerts                     # the alerts followed: lists, fields, probability planned and observed
    toros alerts --send S230518h.json --follow    # an IGWN alert (its JSON as GCN publishes it)
    toros alerts --chart S230518h    # that event's sky map with its fields, as a PNG

The service is chosen by ``--service`` (default: from the WOType:
Observation -> telescope, Dome -> dome, Target List -> scheduler, Alert ->
alerts, else preprocessor; ``--service scheduler`` has an Observation planned); its address, TLS
and token come from the configuration (``--config``, as the daemons read it).
``--set`` values are text unless the key is numeric (`typed_value`):
``RA=13:37:01`` stays sexagesimal and ``ID=001`` stays ``"001"``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import xmlrpc.client
from pathlib import Path
from typing import NoReturn

import yaml

from torosdrivers._version import add_version

from torosdrivers.daemons.frame.cli import load_or_explain
from torosdrivers.daemons.tools.overview import SERVICES, Overview
from torosdrivers.daemons.frame.security import service_proxy
from torosdrivers.daemons.tools.views import (FINAL, campaign_table, daemon_detail, observatory, order_line,
                                              order_table, plan_table, step_line)

__all__ = ["main"]
_CLEAR = "\x1b[H\x1b[2J"


def _bad_input(message: str) -> NoReturn:
    """A bad command line or order file: one line, exit status 2 (as argparse's own refusals)."""
    print(message, file=sys.stderr)
    raise SystemExit(2)


def _order(args) -> dict:
    order: dict = {}
    if args.file:
        try:
            text = Path(args.file).read_text()
            loaded = json.loads(text) if args.file.endswith(".json") else yaml.safe_load(text)
        except OSError as exc:
            _bad_input(f"toros: cannot read the work order {args.file}: {exc.strerror or exc}")
        except (ValueError, yaml.YAMLError) as exc:  # one line, with where it went wrong
            where = getattr(exc, "problem_mark", None)
            at = f" (line {where.line + 1}, column {where.column + 1})" if where is not None else ""
            reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            _bad_input(f"toros: {args.file} is not valid {'JSON' if args.file.endswith('.json') else 'YAML'}"
                       f"{at}: {reason}")
        if not isinstance(loaded, dict):
            _bad_input(f"toros: {args.file}: expected a mapping of work-order keys")
        order.update(loaded)
    for item in args.set or []:
        key, sep, value = item.partition("=")
        if not sep:
            _bad_input(f"toros: --set {item!r}: expected KEY=VALUE")
        from torosdrivers.daemons.frame.workorders import typed_value  # (astropy: only when an order is built)

        order[key.strip()] = typed_value(key.strip(), value)
    return order


def _service_for(order: dict, chosen: str | None) -> str:
    if chosen:
        return chosen
    return {"Observation": "telescope", "Dome": "dome", "Target List": "scheduler",
            "Alert": "alerts"}.get(order.get("WOType"), "preprocessor")


def _follow(proxy, order_id: str, interval: float = 0.5) -> int:
    """Print every step as it comes (from the order's step log, so none is missed), then the outcome."""
    seen = 0
    while True:
        status = proxy.status(order_id)
        steps = status["Steps"]
        for step in steps[seen:]:
            print(step_line(status, step), flush=True)
        seen = max(seen, len(steps))
        if status["State"] in FINAL:
            print(f"  {order_line(status)} (after {status['Elapsed']:.1f} s)", flush=True)
            return 0 if status["State"] == "done" else 1
        time.sleep(interval)


def _listing(config, service: str | None, timeout: float) -> str:
    if service:
        with service_proxy(config, SERVICES[service], timeout=timeout) as proxy:
            return order_table(proxy.list_orders())
    orders, unreachable = [], []
    for name, section in SERVICES.items():
        try:
            with service_proxy(config, section, timeout=timeout) as proxy:
                orders.extend(proxy.list_orders())
        except (OSError, xmlrpc.client.Error) as exc:
            unreachable.append(f"{name}: unreachable ({exc})")
    orders.sort(key=lambda o: o["Received"], reverse=True)
    return "\n".join([order_table(orders, with_service=True), *unreachable])


def _watch(show, interval: float, refreshes: int | None) -> int:
    """Redraw ``show()`` every ``interval`` s until Ctrl-C (or ``refreshes`` times)."""
    n = 0
    try:
        while refreshes is None or n < refreshes:
            text = show()
            stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
            print((_CLEAR if sys.stdout.isatty() else "") + f"{stamp} (every {interval:g} s; Ctrl-C ends)\n{text}",
                  flush=True)
            n += 1
            if refreshes is None or n < refreshes:
                time.sleep(interval)
    except KeyboardInterrupt:
        pass
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="toros", description="Submit, follow, cancel and list work orders; see the whole observatory.",
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n".join(line for line in __doc__.splitlines() if line.startswith("    toros")))
    p.add_argument("--config", help="YAML configuration (as the daemons read it)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for a daemon (default: %(default)s)")
    sub = p.add_subparsers(dest="command", required=True)
    submit = sub.add_parser("submit", help="send a work order to front_desk")
    submit.add_argument("file", nargs="?", help="YAML or JSON file holding the work order (see examples/)")
    submit.add_argument("--set", action="append", metavar="KEY=VALUE", help="a key of the work order (repeatable)")
    submit.add_argument("--follow", action="store_true", help="show every step, with elapsed time and ETA, until it ends")
    status = sub.add_parser("status", help="an order's status; without an ID, the whole observatory")
    status.add_argument("id", nargs="?")
    sub.add_parser("cancel", help="cancel a work order").add_argument("id")
    listing = sub.add_parser("list", help="the latest orders of every daemon (or of --service)")
    planning = sub.add_parser("plan", help="the scheduler's plan for the night, as a table and a PNG chart")
    planning.add_argument("--png", default="toros-plan.png", metavar="PATH",
                          help="where the chart goes (default: %(default)s; '' for none)")
    alerting = sub.add_parser("alerts", help="the alerts followed and their coverage; send an alert; draw a chart")
    alerting.add_argument("--send", metavar="FILE", help="an IGWN alert's JSON file, sent to the alerts daemon")
    alerting.add_argument("--follow", action="store_true", help="with --send: follow it until it ends")
    alerting.add_argument("--chart", metavar="SUPEREVENT", help="write that event's sky map with its fields")
    alerting.add_argument("--png", metavar="PATH", help="where --chart writes (default: <SUPEREVENT>.png)")
    for cmd in (status, listing, planning, alerting):
        cmd.add_argument("--watch", nargs="?", type=float, const=2.0, metavar="SECONDS",
                         help="redraw every SECONDS (default 2) until Ctrl-C")
        cmd.add_argument("--refreshes", type=int, help=argparse.SUPPRESS)  # --watch a fixed number of times
    for cmd in sub.choices.values():
        cmd.add_argument("--service", choices=sorted(SERVICES), help="which daemon (default: from the WOType)")
    return add_version(p)


def _cancelled(proxy, order_id: str, wait: float = 10.0) -> dict:
    """Cancel, and the order's state after it: a running order stops at its next step (its exposure is
    aborted), so it is followed until it has stopped (at most ``wait`` s), not shown as it was before."""
    status = proxy.cancel(order_id)
    deadline = time.monotonic() + wait
    while status["State"] == "running" and time.monotonic() < deadline:
        time.sleep(0.1)
        status = proxy.status(order_id)
    return status


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    config = load_or_explain("toros", args.config)
    if config is None:
        return 2
    order = _order(args) if args.command == "submit" else {}
    if args.command == "submit":
        service = _service_for(order, args.service)
    elif args.command == "cancel" or (args.command == "status" and args.id):
        service = args.service or "telescope"
    elif args.command == "plan":
        service = "scheduler"
    elif args.command == "alerts":
        service = "alerts"
    else:
        service = args.service
    url = config.url(SERVICES[service]) if service else "the configured addresses"
    try:
        if args.command == "alerts" and (args.send or args.chart):
            return _alerts_action(config, args)
        if args.command in ("status", "list", "plan", "alerts") and not (args.command == "status" and args.id):
            states: dict = {}  # the overview's, when it is the one shown
            if args.command == "plan":
                def show() -> str:
                    with service_proxy(config, "Scheduler", timeout=args.timeout) as proxy:
                        plan = proxy.plan()
                    text = plan_table(plan)
                    if args.png:
                        from torosdrivers.scheduling.chart import plan_chart

                        site = None if plan.get("Chart") else config.site  # (an older scheduler sends none)
                        chart = plan_chart(plan["Slots"], site, args.png, chart=plan.get("Chart"),
                                           limit=float(config["Scheduler"]["Minimum Altitude"]))
                        text += f"\n\nchart: {chart}"
                    return text
            elif args.command == "alerts":
                def show() -> str:
                    with service_proxy(config, "Alerts", timeout=args.timeout) as proxy:
                        return campaign_table(proxy.campaigns())
            elif args.command == "list":
                show = lambda: _listing(config, service, args.timeout)  # noqa: E731
            elif service:
                def show() -> str:
                    with service_proxy(config, SERVICES[service], timeout=args.timeout) as proxy:
                        return daemon_detail(service, proxy.health(), proxy.safety())
            else:
                overview = Overview(config, args.timeout)

                def show() -> str:
                    states.update(overview.states())
                    return observatory(states)
            if args.watch:
                return _watch(show, args.watch, args.refreshes)
            print(show())
            unreachable = [name for name, state in states.items() if isinstance(state, str)]
            if unreachable:  # a script (or cron) must see that the observatory is not all there
                print(f"toros: unreachable: {', '.join(unreachable)}", file=sys.stderr)
                return 3
            return 0
        with service_proxy(config, SERVICES[service], timeout=args.timeout) as proxy:
            if args.command == "submit":
                receipt = proxy.front_desk(order)
                print(f"{service}: accepted {receipt['ID']} ({receipt['WOType']}, priority {receipt['Priority']:g})"
                      + (" - already known, not run again" if receipt["Duplicate"] else ""), flush=True)
                return _follow(proxy, receipt["ID"]) if args.follow else 0
            if args.command == "status":
                print(order_line(proxy.status(args.id)))
            else:
                print(order_line(_cancelled(proxy, args.id)))
    except xmlrpc.client.Fault as fault:
        print(f"toros: refused (fault {fault.faultCode}): {fault.faultString}", file=sys.stderr)
        return 1
    except xmlrpc.client.ProtocolError as exc:
        print(f"toros: the {service} daemon at {url} refused the call: {_refusal(exc, config)}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"toros: cannot reach the {service} daemon at {url}: {exc}", file=sys.stderr)
        return 3
    return 0


def _alerts_action(config, args) -> int:
    """``toros alerts --send FILE`` (the file's text as the alert, as GCN published it) or ``--chart``."""
    with service_proxy(config, "Alerts", timeout=args.timeout) as proxy:
        if args.send:
            try:
                text = Path(args.send).read_text()
            except (OSError, UnicodeDecodeError) as exc:
                _bad_input(f"toros: cannot read the alert {args.send}: {exc}")
            receipt = proxy.front_desk({"WOType": "Alert", "Alert": text, "Source": f"toros alerts --send {args.send}"})
            print(f"alerts: accepted {receipt['ID']}" + (" - already known, not run again" if receipt["Duplicate"]
                                                          else ""), flush=True)
            return _follow(proxy, receipt["ID"]) if args.follow else 0
        path = Path(args.png or f"{args.chart}.png")
        path.write_bytes(proxy.chart(args.chart).data)
        print(f"chart: {path}")
        return 0


def _refusal(exc: xmlrpc.client.ProtocolError, config) -> str:
    """An HTTP refusal in one line: for 401, which token was sent (its file), never a traceback."""
    if exc.errcode == 401:
        token = config["Security"]["Token File"] if config is not None else None
        return (f"HTTP 401: its token does not match the one in {token} (Security.Token File)" if token else
                "HTTP 401: it needs a token; set Security.Token File to the daemons' token file")
    return f"HTTP {exc.errcode} {exc.errmsg}"


if __name__ == "__main__":
    sys.exit(main())
