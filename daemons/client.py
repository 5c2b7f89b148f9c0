"""``toros``: submit a work order, follow it, cancel it, list orders.

    toros submit order.yaml --follow          # a WO from a YAML or JSON file
    toros submit --set WOType=Dome --set ID=7 --set Blink01=true --service dome
    toros status 7 --service dome
    toros status                              # the daemon's health, and whether it is safe to open
    toros cancel 7
    toros list --service preprocessor

The service is chosen by ``--service`` (default: from the WOType:
Observation -> telescope, Dome -> dome, else preprocessor); its address, TLS
and token come from the configuration (``--config``, as the daemons read it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import xmlrpc.client
from pathlib import Path

import yaml

from .cli import load_or_explain
from .security import service_proxy

__all__ = ["main"]

_SERVICES = {"telescope": "Telescope", "dome": "Dome", "preprocessor": "Preprocessor"}
_FINAL = ("done", "failed", "cancelled")


def _value(text: str):
    """``--set`` values: YAML scalars, so numbers, true/false and null come out typed."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _order(args) -> dict:
    order: dict = {}
    if args.file:
        text = Path(args.file).read_text()
        loaded = json.loads(text) if args.file.endswith(".json") else yaml.safe_load(text)
        if not isinstance(loaded, dict):
            raise SystemExit(f"toros: {args.file}: expected a mapping of work-order keys")
        order.update(loaded)
    for item in args.set or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"toros: --set {item!r}: expected KEY=VALUE")
        order[key] = _value(value)
    return order


def _service_for(order: dict, chosen: str | None) -> str:
    if chosen:
        return chosen
    return {"Observation": "telescope", "Dome": "dome"}.get(order.get("WOType"), "preprocessor")


def _show(status: dict) -> str:
    line = f"{status['ID']}: {status['State']}"
    for key in ("Progress", "Result", "Error"):
        if status.get(key) and (key != "Progress" or status["State"] not in _FINAL):
            line += f" | {key.lower()}: {status[key]}"
    return line


def _daemon_status(service: str, health: dict, safety: dict) -> str:
    """``toros status``: is the daemon well, and may the observatory be open (and why not)."""
    lines = [f"{service}: {'healthy' if health['Healthy'] else 'UNHEALTHY: ' + '; '.join(health['Problems'])}",
             f"  worker: {health['Worker']}; devices: {health['Devices']}; orders: "
             + ", ".join(f"{n} {state}" for state, n in health["Orders"].items() if n)]
    if safety.get("Supervised"):
        verdict = "safe to open" if safety["Safe"] else "NOT safe: " + "; ".join(safety["Reasons"])
        lines.append(f"  safety at {safety['Checked'][:19]}: {verdict}")
        lines.append(f"  Sun at {safety['Sun Altitude']:+.1f} deg; "
                     + ", ".join(f"{k} {v:g}" for k, v in safety["Conditions"].items()))
        if safety["Opens At"]:
            lines.append(f"  may open at {safety['Opens At'][:19]}")
        lines.extend(f"  {event}" for event in safety["Events"][-5:])
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="toros", description=__doc__.splitlines()[0])
    p.add_argument("--config", help="YAML configuration (as the daemons read it)")
    sub = p.add_subparsers(dest="command", required=True)
    submit = sub.add_parser("submit", help="send a work order to front_desk")
    submit.add_argument("file", nargs="?", help="YAML or JSON file holding the work order")
    submit.add_argument("--set", action="append", metavar="KEY=VALUE", help="a key of the work order (repeatable)")
    submit.add_argument("--follow", action="store_true", help="show progress until the order ends")
    status = sub.add_parser("status", help="a work order's status; without an ID, the daemon's health and safety")
    status.add_argument("id", nargs="?")
    sub.add_parser("cancel", help="cancel a work order").add_argument("id")
    sub.add_parser("list", help="the latest orders")
    for cmd in sub.choices.values():
        cmd.add_argument("--service", choices=sorted(_SERVICES), help="which daemon (default: from the WOType, or telescope)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for a daemon (default: %(default)s)")
    args = p.parse_args(argv)
    config = load_or_explain("toros", args.config)
    if config is None:
        return 2
    order = _order(args) if args.command == "submit" else {}
    service = _service_for(order, args.service) if args.command == "submit" else (args.service or "telescope")
    url = config.url(_SERVICES[service])
    try:
        with service_proxy(config, _SERVICES[service], timeout=args.timeout) as proxy:
            if args.command == "submit":
                receipt = proxy.front_desk(order)
                print(f"{service}: accepted {receipt['ID']} ({receipt['WOType']}, priority {receipt['Priority']:g})"
                      + (" - already known, not run again" if receipt["Duplicate"] else ""))
                if args.follow:
                    last = ""
                    while True:
                        status = proxy.status(receipt["ID"])
                        line = _show(status)
                        if line != last:
                            print(f"  {line}", flush=True)
                            last = line
                        if status["State"] in _FINAL:
                            return 0 if status["State"] == "done" else 1
                        time.sleep(0.5)
            elif args.command == "status" and args.id:
                print(_show(proxy.status(args.id)))
            elif args.command == "status":
                print(_daemon_status(service, proxy.health(), proxy.safety()))
            elif args.command == "cancel":
                print(_show(proxy.cancel(args.id)))
            else:
                orders = proxy.list_orders()
                print(f"{'ID':24s} {'type':12s} {'state':10s} {'priority':>8s}  received")
                for o in orders:
                    print(f"{o['ID'][:24]:24s} {o['WOType'][:12]:12s} {o['State']:10s} {o['Priority']:8g}  {o['Received']}")
    except xmlrpc.client.Fault as fault:
        print(f"toros: refused (fault {fault.faultCode}): {fault.faultString}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"toros: cannot reach the {service} daemon at {url}: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
