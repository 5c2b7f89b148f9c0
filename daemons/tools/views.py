"""What the ``toros`` CLI prints: tables and lines made from the status API's structures.

Pure functions of the structures in `torosdrivers.daemons.frame.status`, so each
is tested on its own and the CLI only fetches and prints.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Sequence

from torosdrivers.daemons.frame.status import parse_stamp

__all__ = ["table", "clock", "order_line", "step_line", "observatory", "daemon_detail", "order_table", "plan_table", "optics_lines",
           "FINAL"]

FINAL = ("done", "failed", "cancelled")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, right: Sequence[int] = ()) -> str:
    """A plain text table: columns as wide as their widest cell, ``right`` ones right-aligned."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        parts = [cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def clock(seconds: float) -> str:
    """``seconds`` as ``H:MM:SS`` (``M:SS`` under an hour)."""
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def order_line(status: dict) -> str:
    """``ID: state | progress | result | error`` (progress only while it runs)."""
    line = f"{status['ID']}: {status['State']}"
    for key in ("Progress", "Result", "Error"):
        if status.get(key) and (key != "Progress" or status["State"] not in FINAL):
            line += f" | {key.lower()}: {status[key]}"
    return line


def step_line(status: dict, step: dict, now: datetime | None = None) -> str:
    """One step of a followed order: ``[+M:SS] text``, and an ETA for a step of known length."""
    at = parse_stamp(step["At"])
    began = parse_stamp(status["Started"]) if status.get("Started") else at
    line = f"  [+{clock((at - began).total_seconds())}] {step['Text']}"
    current = status.get("Step") or {}
    if current.get("Ends") and current.get("Text") == step["Text"] and current.get("At") == step["At"]:
        ends = parse_stamp(current["Ends"])
        left = (ends - (now or datetime.now(timezone.utc))).total_seconds()
        line += f" (ETA {ends:%H:%M:%S} UTC, in {clock(left)})"
    return line


def order_table(orders: Sequence[dict], *, with_service: bool = False) -> str:
    """Orders as a table with their timing: received, started, elapsed, and progress or outcome."""
    headers = (["SERVICE"] if with_service else []) + ["ID", "TYPE", "STATE", "PRIORITY", "RECEIVED", "STARTED",
                                                         "ELAPSED", "PROGRESS / RESULT"]
    rows = []
    for o in orders:
        what = o["Progress"] if o["State"] in ("queued", "running") else (o["Error"] or o["Result"])
        row = [o["ID"][:24], o["WOType"][:12], o["State"], f"{o['Priority']:g}", o["Received"][:19],
               o["Started"][11:19], clock(o["Elapsed"]) if o["Started"] else "", what[:60]]
        rows.append(([o["Service"]] if with_service else []) + row)
    return table(headers, rows, right=(4 if with_service else 3,))


def _device_row(kind: str, d: dict) -> str:
    if not d.get("Connected"):
        return "not connected"
    if kind == "Dome":
        return (f"shutter {d.get('Shutter', '?')}, azimuth {d.get('Azimuth', float('nan')):.1f}"
                + (", slewing" if d.get("Slewing") else "") + (", slaved" if d.get("Slaved") else "")
                + (", parked" if d.get("Parked") else ""))
    if kind == "Mount":
        where = f"RA {d.get('RA', float('nan')):.4f} Dec {d.get('Dec', float('nan')):+.4f}, alt " \
                f"{d.get('Altitude', float('nan')):.1f} az {d.get('Azimuth', float('nan')):.1f}"
        return where + "".join(f", {word}" for key, word in (("Tracking", "tracking"), ("Slewing", "slewing"),
                                                              ("Parked", "parked")) if d.get(key))
    if kind == "Filter Wheel":
        return f"filter {d.get('Filter') or '?'}" + (", moving" if d.get("Moving") else "")
    if kind == "Camera":
        line = str(d.get("State", "?"))
        if d.get("State") == "Exposing":
            line += f" {d.get('Percent Completed', 0):.0f}%"
        if "Temperature" in d:
            line += f", {d['Temperature']:.1f} C"
            if "Set Point" in d:
                line += f" (set {d['Set Point']:.1f} C"
                line += f", cooler {d['Cooler Power']:.0f}%)" if "Cooler Power" in d else ")"
        return line
    return ", ".join(f"{k} {v}" for k, v in d.items() if k not in ("Name", "Connected"))


def _safety_line(safety: dict) -> str:
    if not safety.get("Supervised"):
        return "not supervised"
    verdict = "safe to open" if safety["Safe"] else "NOT safe: " + "; ".join(safety["Reasons"])
    line = f"{verdict}; Sun at {safety['Sun Altitude']:+.1f} deg"
    if safety.get("Opens At"):
        line += f"; may open at {safety['Opens At'][:19]}"
    return line


def observatory(states: dict[str, dict | str]) -> str:
    """``toros status``: every daemon, the devices, safety and the queues, from each daemon's ``state()``
    (or the reason it could not be reached)."""
    rows = []
    for service, state in states.items():
        if isinstance(state, str):
            rows.append([service, "UNREACHABLE", state[:50], "", "", "", "", ""])
            continue
        h, counts = state["Health"], state["Health"]["Orders"]
        rows.append([service, _health_word(h), h["Worker"][:40], h["Devices"][:30],
                     counts.get("queued", 0), counts.get("running", 0), counts.get("done", 0), counts.get("failed", 0)])
    parts = [table(["SERVICE", "HEALTH", "WORKER", "DEVICES", "QUEUED", "RUNNING", "DONE", "FAILED"], rows,
                   right=(4, 5, 6, 7))]
    reachable = {k: v for k, v in states.items() if isinstance(v, dict)}
    devices: dict[str, dict] = {}
    for state in reachable.values():
        for kind, entry in state["Devices"].items():
            devices.setdefault(kind, entry)
    if devices:
        parts.append(table(["DEVICE", "NAME", "STATE"],
                           [[kind, d.get("Name", ""), _device_row(kind, d)] for kind, d in devices.items()]))
    supervised = [(name, s["Safety"]) for name, s in reachable.items() if s["Safety"].get("Supervised")]
    if supervised:
        parts.append("SAFETY  " + _safety_line(supervised[0][1]))
    for state in reachable.values():
        if state.get("Optics"):
            parts.append(optics_lines(state["Optics"]))
    for state in reachable.values():
        if state.get("Campaigns"):
            parts.append(campaign_table(state["Campaigns"]))
    queue = [o for state in reachable.values() for o in state["Queue"]]
    parts.append(order_table(queue, with_service=True) if queue else "QUEUE  empty")
    problems = [f"{name}: {p}" for name, s in reachable.items() for p in s["Health"]["Problems"]]
    problems += [f"{name}: not ready: {s['Health']['Not Ready']}" for name, s in reachable.items()
                 if s["Health"]["Healthy"] and not s["Health"].get("Ready", True)]
    if problems:
        parts.append("PROBLEMS\n" + "\n".join(f"  {p}" for p in problems))
    return "\n\n".join(parts)


def optics_lines(optics: dict) -> str:
    """The telescope's pointing and focus: acquisition on or off, the last solve and acquisition, the pointing
    model's terms and residual, the last autofocus."""
    lines = [f"POINTING  acquisition {optics.get('Acquisition', '?')}"]
    model = optics.get("Model")
    if model:
        lines.append(f"  model: {model.get('Describe', '')}")
    solve = optics.get("Last Solve") or {}
    if solve:
        lines.append(f"  last solve {solve.get('Time', '')}: {solve.get('Offset')}\" from the pointing "
                     f"(RA {solve.get('RA')}, Dec {solve.get('Dec')}; {solve.get('Seconds')} s)")
    acquisition = optics.get("Last Acquisition") or {}
    if acquisition:
        verdict = "acquired" if acquisition.get("Acquired") else "NOT acquired"
        lines.append(f"  last acquisition {acquisition.get('Time', '')}: {verdict}, {acquisition.get('Offset')}\" "
                     f"after {acquisition.get('Corrections')} correction(s), first slew "
                     f"{acquisition.get('First Offset')}\" off")
    focus = optics.get("Focus") or {}
    if "Position" in focus:
        lines.append(f"FOCUS  {focus['Position']} steps, HFR {focus.get('HFR')} px in {focus.get('Filter')} "
                     f"({focus.get('Reason', '')}; {focus.get('Exposures')} frames, {focus.get('Temperature')} C)")
    elif focus:
        lines.append(f"FOCUS  {focus.get('Reason', '')}")
    return "\n".join(lines)


def _health_word(health: dict) -> str:
    """READY (accepts orders now), "healthy, not ready" (running, capabilities not read yet), UNHEALTHY."""
    if not health["Healthy"]:
        return "UNHEALTHY"
    return "ready" if health.get("Ready", True) else "NOT READY"


def daemon_detail(service: str, health: dict, safety: dict) -> str:
    """``toros status --service NAME``: one daemon's health, and whether it is safe to open (and why not)."""
    word = _health_word(health)
    verdict = {"UNHEALTHY": "UNHEALTHY: " + "; ".join(health["Problems"]),
               "NOT READY": f"healthy, NOT READY: {health.get('Not Ready', '')}"}.get(word, "healthy, ready")
    lines = [f"{service}: {verdict}",
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


def plan_table(plan: dict) -> str:
    """``toros plan``: the scheduler's plan for the night, what is at the telescope, and what cannot be observed."""
    parts = []
    if not plan["Safe"]:
        parts.append(f"NOT safe to open: {plan['Why Not']} (nothing is handed on until it is)")
    if plan["At The Telescope"]:
        parts.append("AT THE TELESCOPE  " + ", ".join(plan["At The Telescope"]))
    rows = [[s["Start"][11:19], s["End"][11:19], s["ID"][:40], s["Object"][:16], f"{s['Priority']:g}", s["Filter"],
             f"{s['Count']} x {s['Exposure']:g} s"] for s in plan["Slots"]]
    parts.append(table(["START", "END", "ID", "OBJECT", "PRIORITY", "FILTER", "EXPOSURES"], rows, right=(4,))
                 if rows else "PLAN  nothing left to plan tonight")
    if plan["Unobservable"]:
        parts.append("NOT OBSERVABLE TONIGHT\n" + "\n".join(f"  {u['ID']}: {u['Why']}" for u in plan["Unobservable"]))
    return "\n\n".join(parts)


def campaign_table(campaigns: list[dict]) -> str:
    """``toros alerts``: each event followed, newest first, with its coverage."""
    if not campaigns:
        return "ALERTS  none yet"
    rows = [[c["Superevent"], c["Kind"], "RETRACTED" if c["Retracted"] else c["Last Alert"],
             "yes" if c["Significant"] else "no", c["Live List"] or "-", f"{c['Observed Fields']}/{c['Fields']}",
             f"{c['Planned'] * 100:.1f}%", f"{c['Observed'] * 100:.1f}%"] for c in campaigns]
    return table(["EVENT", "KIND", "LAST ALERT", "SIGNIFICANT", "LIST AT THE SCHEDULER", "OBSERVED", "PLANNED P",
                  "OBSERVED P"], rows, right=(5, 6, 7))
