"""The observatory at a glance: every daemon's ``state()`` merged into the one view the web page shows.

`Overview.poll` asks each daemon for its state (over XML-RPC, with the
configuration's TLS and token) and merges them: the devices (from the
daemons that drive them), the safety verdict, each daemon's queue and recent
orders, the latest frame, the night's timeline (orders starting and
ending; the safety supervisor's events, on the observatory's clock, apart)
and the log tail of every daemon (each line fetched
once, numbered per daemon). A daemon that does not answer is shown as
unreachable with the reason and since when, with its last known queue; the
devices keep their last known values with the time they were sampled, so the
page can show how old each is instead of showing nothing or, worse, stale
values as if fresh. ``Links`` says whether the daemons reach the device
server (from their health), and since when not.
"""

from __future__ import annotations

import collections
import xmlrpc.client
from typing import Any

from torosdrivers.config import Config

from torosdrivers.daemons.frame.security import service_proxy
from torosdrivers.daemons.frame.journal import utc_stamp

__all__ = ["Overview", "SERVICES"]

#: The daemons shown, and their configuration sections.
SERVICES = {"telescope": "Telescope", "dome": "Dome", "preprocessor": "Preprocessor", "scheduler": "Scheduler",
            "alerts": "Alerts"}
#: Log lines kept for the page.
LOG_LINES = 200
#: Timeline entries kept for the page.
TIMELINE = 60


class Overview:
    """Polls the daemons and keeps the merged view.

    Parameters
    ----------
    config
        The configuration the daemons read (their addresses, TLS, token).
    timeout
        Seconds to wait for each daemon.
    """

    def __init__(self, config: Config, timeout: float = 5.0) -> None:
        self.config, self.timeout = config, float(timeout)
        self._log_after = {name: 0 for name in SERVICES}
        self._process = {name: "" for name in SERVICES}  # a restarted daemon numbers its lines from 1 again
        self._log: collections.deque[dict[str, str]] = collections.deque(maxlen=LOG_LINES)
        self._down_since: dict[str, str] = {}  # a link (a daemon, the devices) lost: since when
        self._last: dict[str, dict[str, Any]] = {}  # each daemon's last answer
        self._devices: tuple[str, dict[str, Any]] = ("", {})  # the last devices sampled, and when

    def states(self) -> dict[str, dict[str, Any] | str]:
        """Each daemon's ``state()`` (with the log lines not fetched before), or why it did not answer."""
        out: dict[str, dict[str, Any] | str] = {}
        for name, section in SERVICES.items():
            try:
                with service_proxy(self.config, section, timeout=self.timeout) as proxy:
                    state = proxy.state(self._log_after[name])
                    if state["Process"] != self._process[name]:
                        self._process[name], self._log_after[name] = state["Process"], 0
                        state = proxy.state(0)
                out[name] = state
            except (OSError, xmlrpc.client.Error) as exc:
                out[name] = f"{self.config.url(section)}: {exc}"
        return out

    def _since(self, link: str, down: bool) -> str:
        """When ``link`` went down ("" while it is up)."""
        if not down:
            self._down_since.pop(link, None)
            return ""
        return self._down_since.setdefault(link, utc_stamp())

    def poll(self) -> dict[str, Any]:
        """Ask every daemon now; returns the merged view (blocking: call it from a thread)."""
        view: dict[str, Any] = {"Time": utc_stamp(), "Site": self.config["Site"]["Name"], "Services": {},
                                "Devices": {}, "Devices Sampled": "", "Safety": {}, "Latest Frame": {},
                                "Timeline": [], "Safety Events": [], "Log": []}
        timeline: list[dict[str, str]] = []
        seen_processes: set[str] = set()
        device_problems: list[str] = []
        for name, state in self.states().items():
            if isinstance(state, str):
                last = self._last.get(name, {})
                view["Services"][name] = {"Reachable": False, "Error": state, "Since": self._since(name, True),
                                          "Last Seen": last.get("Seen", ""), "Queue": last.get("Queue", []),
                                          "Recent": last.get("Recent", [])}
                continue
            self._since(name, False)
            self._last[name] = {"Seen": view["Time"], "Queue": state["Queue"], "Recent": state["Recent"]}
            view["Services"][name] = {"Reachable": True, "Error": "", "Health": state["Health"],
                                      "Queue": state["Queue"], "Recent": state["Recent"]}
            devices = state["Health"].get("Devices", "connected")
            if devices != "connected":
                device_problems.append(f"{name}: {devices}")
            for kind, entry in state["Devices"].items():
                view["Devices"].setdefault(kind, entry)
            view["Devices Sampled"] = max(view["Devices Sampled"], state["Devices Sampled"])
            if state["Safety"].get("Supervised") and not view["Safety"]:
                view["Safety"] = state["Safety"]
                view["Safety Events"] = [{"At": event[:19], "Service": name, "Text": event[20:]}
                                         for event in reversed(state["Safety"]["Events"][-TIMELINE:])]
            if state["Latest Frame"]:
                view["Latest Frame"] = state["Latest Frame"]
            if state.get("Optics"):
                view["Optics"] = state["Optics"]
            if state.get("Campaigns"):
                view["Campaigns"] = state["Campaigns"]
            for order in state["Recent"]:
                if order["Started"]:
                    timeline.append({"At": order["Started"][:19], "Service": name,
                                     "Text": f"{order['ID']} ({order['WOType']}) started"})
                if order["Finished"]:
                    outcome = order["Error"] or order["Result"]
                    timeline.append({"At": order["Finished"][:19], "Service": name,
                                     "Text": f"{order['ID']} {order['State']}: {outcome}"[:200]})
            # Daemons sharing one process (a script or test embedding them) share its log lines: kept once.
            pid = state["Process"].partition("@")[0]
            for number, line in state["Log"]:
                if pid not in seen_processes:
                    self._log.append({"Service": name, "Line": line})
                self._log_after[name] = max(self._log_after[name], int(number))
            seen_processes.add(pid)
        if view["Devices"]:
            self._devices = (view["Devices Sampled"], view["Devices"])
        else:  # no daemon answered with its devices: the last known values, with when they were sampled
            view["Devices Sampled"], view["Devices"] = self._devices
            view["Devices Stale"] = bool(self._devices[1])
        view["Links"] = {"Devices": {"OK": not device_problems, "Problem": "; ".join(device_problems),
                                     "Since": self._since("devices", bool(device_problems))}}
        view["Timeline"] = sorted(timeline, key=lambda e: e["At"], reverse=True)[:TIMELINE]
        view["Log"] = sorted(self._log, key=lambda entry: entry["Line"][:24])  # by time stamp, daemons merged
        return view
