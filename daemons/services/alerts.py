"""The alerts daemon: a gravitational-wave alert becomes a ranked list of galaxy fields at the scheduler.

Alerts come three ways, each journalled (durable) before it is
acknowledged, under the alert's own ID (``<superevent>-<type>-<created>``,
so an alert that comes twice, or by two ways, is one order):

- ``front_desk({"WOType": "Alert", "Alert": <the IGWN alert's JSON>})``;
- GCN over Kafka (`torosdrivers.daemons.services.alert_sources.KafkaSource`,
  the official ``gcn-kafka`` client, topic ``igwn.gwalert``): a message's
  offset is committed only once its alert is in the journal;
- a watched folder: ``*.json`` files are taken, then moved to
  ``accepted/`` (or ``refused/`` beside a ``.why`` saying why).

The worker then runs each alert, in arrival order:

- events of a kind not in ``Alerts: Events`` (mock ``MS...``, test
  ``T...``) end as done, "ignored", and nothing is sent on;
- PRELIMINARY, INITIAL, UPDATE: the catalogue's galaxies are ranked against
  the sky map (`torosdrivers.alerts.galaxies`), less those inside the
  fields of the event's earlier lists that were observed or are at the
  telescope; grouped into fields of the camera's size; the best
  ``Pointings`` observable from the site tonight go to the scheduler as a
  ``Target List`` (filter and exposures by ``Alerts: Rules``; ``Time
  Critical`` for a significant event) that ``Replaces`` the event's last
  list: its pending targets are dropped there, what was observed is kept;
- RETRACTION: the event's lists are cancelled at the scheduler.

``campaigns()`` reports each event's coverage (the probability planned and
observed, as the scheduler reports its targets) and ``chart(superevent)``
draws its sky map with the fields, coloured by state (``toros alerts``).
"""

from __future__ import annotations

import json
import threading
import time
import xmlrpc.client
from pathlib import Path
from typing import Any, Callable
from xmlrpc.client import Binary, Fault

import numpy as np
from astropy.time import TimeDelta

from torosdrivers.alerts import Catalogue, Pointing, SkyMap, outside, pointings, rank
from torosdrivers.alerts.chart import chart_png
from torosdrivers.alerts.rules import choose, rules_from_config
from torosdrivers.alerts.targets import target_list
from torosdrivers.config import Config, ConfigError, Devices, build_devices
from torosdrivers.errors import NotConnectedError
from torosdrivers.scheduling import Block, night_grid, observable


from torosdrivers.daemons.frame.security import reach, service_proxy
from torosdrivers.daemons.frame.service import Service
from torosdrivers.daemons.frame.status import Result, parse_stamp
from torosdrivers.daemons.frame.workorders import FAULT_INVALID, FAULT_UNKNOWN_ORDER, AlertOrder, WorkOrderError, \
    validate_alert
from torosdrivers.daemons.services.scheduler import limits_of

__all__ = ["AlertsService"]

#: Seconds between two refreshes of the campaigns' coverage (what the scheduler says of their targets).
COVERAGE_EVERY = 5.0
#: Candidate fields looked at per field sent: the best ones may be down all night.
CANDIDATES_PER_POINTING = 4
#: Seconds of night the observability check looks ahead, and its step.
TONIGHT, STEP = 14 * 3600.0, 300.0
#: Target states whose fields an UPDATE does not plan again.
_KEPT = ("done", "dispatched")
#: Target states that do not change any more at the scheduler.
_ENDED = ("done", "failed", "cancelled", "unobservable")


class AlertsService(Service):
    """Turns alerts into Target Lists at the scheduler, and follows their coverage."""

    name = "alerts"
    address_key = "Alerts"
    #: An alert interrupted by a stop runs again: its Target List's ID is the alert's own, so a list the
    #: scheduler already took is answered as a duplicate, and the campaign then records it.
    requeues_interrupted = True

    def __init__(self, config: Config, journal: str | None = None, devices: Devices | None = None) -> None:
        super().__init__(config, journal)
        settings = config["Alerts"]
        self.rules = rules_from_config(settings["Rules"])
        self.events = list(settings["Events"])
        self.count = int(settings["Pointings"])
        self.field_of_view = float(settings["Field of View"])
        self.credible = float(settings["Credible Level"])
        self.limits = limits_of(config)
        self.catalogue: Catalogue | None = None
        if settings["Catalogue"]:
            began = time.monotonic()
            try:
                self.catalogue = Catalogue.read(settings["Catalogue"], magnitude=settings["Magnitude"])
            except (OSError, ValueError) as exc:
                raise ConfigError(f"Alerts.Catalogue {settings['Catalogue']}: cannot be read as a galaxy "
                                  f"catalogue: {exc}") from None
            self.log.info("catalogue %s: %d galaxies with a distance and a %s magnitude (%.1f s)",
                          settings["Catalogue"], len(self.catalogue), settings["Magnitude"], time.monotonic() - began)
        self.devices = devices or build_devices(config, ("Mount",))  # the observatory's clock and site
        self._own_devices = devices is None
        self._campaigns: dict[str, dict[str, Any]] = {}
        self._campaign_lock = threading.Lock()
        self._coverage_at = 0.0
        self._sources: list[Any] = []
        self._grid = None

    # -- the scheduler ---------------------------------------------------------------------
    def _scheduler(self, timeout: float = 10.0) -> xmlrpc.client.ServerProxy:
        return service_proxy(self.config, "Scheduler", timeout=timeout)

    def connect(self) -> None:
        if not self.devices.mount.connected:
            self.devices.mount.connect()
        self.ping()
        for key, value in self.journal.recall("campaign:").items():
            self._campaigns[key[len("campaign:"):]] = json.loads(value)

    def disconnect(self) -> None:
        if self._own_devices:
            self.devices.mount.disconnect()

    def ping(self) -> None:
        self.devices.mount.ping()
        reach(self.config, "Scheduler", "the scheduler")

    # -- receiving ---------------------------------------------------------------------------
    def max_request_bytes(self) -> int:
        """An alert carries its sky map: up to ``Alerts: Max Alert Bytes``, and the order around it."""
        return max(int(self.config["Alerts"]["Max Alert Bytes"]) + 65536, super().max_request_bytes())

    def not_ready(self) -> str:
        """Alerts are taken and journalled without a catalogue, but cannot be ranked: health says so."""
        return "" if self.catalogue is not None else "no galaxy catalogue (Alerts: Catalogue): alerts are kept, " \
                                                     "not ranked"

    def validate(self, work_order: Any) -> AlertOrder:
        return validate_alert(work_order)

    def receive(self, text: str, source: str) -> dict[str, Any]:
        """An alert from a source of this daemon (Kafka, the folder), taken as ``front_desk`` takes one: the
        receipt once it is journalled, or `Fault` (1: a bad alert, never to be sent again; 5: not journalled,
        to be tried again)."""
        return self.front_desk({"WOType": "Alert", "Alert": text, "Source": source})

    def start(self) -> None:
        super().start()
        from torosdrivers.daemons.services.alert_sources import sources_of

        self._sources = sources_of(self)
        for source in self._sources:
            source.start()

    def stop(self) -> None:
        for source in self._sources:  # no alert taken half-way: each source ends at a message's boundary
            source.stop()
        super().stop()

    # -- running -------------------------------------------------------------------------------
    def run(self, order: AlertOrder, progress: Callable[..., None], cancelled: Callable[[], bool]) -> Result:
        alert = order.alert
        sid = alert.superevent_id
        if alert.kind not in self.events:
            return Result(f"ignored: {sid} is a {alert.kind} event (Alerts: Events acts on {self.events})",
                          {"Superevent": sid, "Alert Type": alert.alert_type, "Kind": alert.kind, "Ignored": True})
        row = self.journal.get(order.id)
        received = parse_stamp(row["received"]) if row else None
        sky_time = self.devices.mount.time  # the observatory's clock as the alert is run (a drill's is simulated)
        campaign = self._campaign(sid)
        created = alert.time_created.utc.isot + "Z"
        if alert.alert_type != "RETRACTION" and (campaign.get("Retracted") or created < campaign.get("Created", "")):
            why = "the event was retracted" if campaign.get("Retracted") else \
                f"an alert of {sid} created later ({campaign['Created']}) was already acted on"
            return Result(f"superseded: {sid} {alert.alert_type} created {created}: {why}",
                          {"Superevent": sid, "Alert Type": alert.alert_type, "Superseded": True})
        with self._scheduler() as scheduler:
            if alert.alert_type == "RETRACTION":
                return self._retract(scheduler, campaign, alert, progress)
            if alert.skymap is None:
                raise WorkOrderError(f"Alert: {sid} {alert.alert_type} has no event.skymap: nothing to rank")
            if self.catalogue is None:
                raise WorkOrderError("no galaxy catalogue (Alerts: Catalogue): alerts cannot be ranked")
            progress(f"ranking {len(self.catalogue)} galaxies against {sid}'s sky map")
            began = time.monotonic()
            kept = self._kept_fields(scheduler, campaign)
            ranking = outside(rank(self.catalogue, alert.skymap, credible=self.credible),
                              [(f["RA"], f["Dec"]) for f in kept], self.field_of_view)
            fields, left_out = self._observable(pointings(ranking, self.field_of_view,
                                                          self.count * CANDIDATES_PER_POINTING))
            ranked = time.monotonic() - began
            if not fields:
                why = "no galaxy of the catalogue in its region" if not len(ranking.index) else \
                    f"none of its {len(left_out)} best fields is observable from {self.config['Site']['Name']} " \
                    f"tonight"
                self._record(campaign, order.id, alert, None, [], kept)
                return Result(f"{sid} {alert.alert_type}: nothing sent to the scheduler: {why}",
                              {"Superevent": sid, "Alert Type": alert.alert_type, "Pointings": [],
                               "Not Observable": left_out})
            rule = choose(self.rules, alert.classification, _distance(alert.skymap))
            critical = {"significant": None, "always": True, "never": False}[self.config["Alerts"]["Time Critical"]]
            wo = target_list(alert, fields, filter=rule.filter, exposure_time=rule.exposure_time,
                             exposures=rule.exposures, time_critical=critical)
            live = campaign.get("Live", "")
            if live and live != wo["ID"]:
                wo["Replaces"], wo["Field of View"] = live, self.field_of_view
            progress(f"sending {len(fields)} field(s) to the scheduler as {wo['ID']}")
            try:
                receipt = scheduler.front_desk(wo)
            except Fault as fault:
                if fault.faultCode == FAULT_INVALID:  # our list, refused: say why, as the scheduler said it
                    raise WorkOrderError(f"the scheduler refused the Target List: {fault.faultString}") from None
                raise NotConnectedError(f"the scheduler could not take the Target List: {fault.faultString}") \
                    from None
        waited = (time.time() - received.timestamp()) if received else None
        planned = [{"Name": t["Name"], "RA": t["RA"], "Dec": t["Dec"], "Probability": t["Probability"]}
                   for t in wo["Targets"]]
        self._record(campaign, order.id, alert, wo["ID"], planned, kept)
        self._chart_file(sid, alert.skymap)
        share = sum(t["Probability"] for t in planned)
        summary = (f"{sid} {alert.alert_type}: {len(planned)} field(s) holding {share:.1%} of the galaxy-weighted "
                   f"probability sent as {wo['ID']} ({rule.filter}, {rule.exposures} x {rule.exposure_time:g} s"
                   f"{', time-critical' if wo['Time Critical'] else ''}"
                   f"{'; replaces ' + wo['Replaces'] if 'Replaces' in wo else ''})")
        return Result(summary, {
            "Superevent": sid, "Alert Type": alert.alert_type, "Target List": wo["ID"], "Rule": rule.name,
            "Receipt": receipt, "Pointings": planned, "Kept From Earlier Lists": kept, "Not Observable": left_out,
            "Time Critical": wo["Time Critical"], "Credible Area": round(float(alert.skymap.credible_area(
                self.credible).value), 2),
            "Sky Time": sky_time.utc.isot + "Z",
            "Durations": {"Ranking": round(ranked, 3), "Received To Accepted": None if waited is None
                          else round(waited, 3)}})

    def _retract(self, scheduler, campaign: dict, alert, progress) -> Result:
        sid = alert.superevent_id
        lists = [entry["ID"] for entry in campaign.get("Lists", [])]
        progress(f"{sid} retracted: cancelling {len(lists)} list(s) at the scheduler")
        cancelled = []
        for list_id in lists:
            try:
                state = scheduler.cancel(list_id)["State"]
            except Fault as fault:
                if fault.faultCode != FAULT_UNKNOWN_ORDER:
                    raise
                continue
            cancelled.append(f"{list_id} ({state})")
        with self._campaign_lock:
            campaign.update({"Retracted": True, "Live": "", "Last Alert": alert.alert_type,
                             "Created": alert.time_created.utc.isot + "Z"})
            self._keep(campaign)
        stopped = sum(not entry.endswith(("(done)", "(failed)")) for entry in cancelled)
        return Result(f"{sid} RETRACTION: {stopped} list(s) cancelled at the scheduler"
                      f"{f', {len(cancelled) - stopped} had already ended' if len(cancelled) > stopped else ''}",
                      {"Superevent": sid, "Alert Type": "RETRACTION", "Cancelled": cancelled})

    def _kept_fields(self, scheduler, campaign: dict) -> list[dict[str, Any]]:
        """The event's fields observed or at the telescope: an UPDATE does not plan them again."""
        kept = []
        for entry in campaign.get("Lists", []):
            try:
                targets = scheduler.targets(entry["ID"])
            except Fault as fault:
                if fault.faultCode == FAULT_UNKNOWN_ORDER:
                    continue
                raise
            kept += [{"ID": t["ID"], "RA": t["RA"], "Dec": t["Dec"], "State": t["State"]}
                     for t in targets if t["State"] in _KEPT]
        return kept

    def _observable(self, fields: list[Pointing]) -> tuple[list[Pointing], list[dict[str, Any]]]:
        """The best `count` fields that are up in the dark tonight (the scheduler's limits), and why the
        better ones left out are not."""
        if not fields:
            return [], []
        grid = self._night()
        blocks = [Block(str(i), f.ra, f.dec, 5.0, 0.0) for i, f in enumerate(fields)]
        ok, why = observable(blocks, grid, self.limits)
        up = ok.any(axis=1)
        chosen = [f for f, seen in zip(fields, up) if seen][: self.count]
        last = fields.index(chosen[-1]) if chosen else len(fields) - 1
        left_out = [{"RA": round(f.ra, 5), "Dec": round(f.dec, 5), "Probability": round(f.probability, 6),
                     "Why": why[i] or "not observable tonight"}
                    for i, f in enumerate(fields[: last + 1]) if not up[i]]
        return chosen, left_out

    def _night(self):
        """The Sun and Moon from now over `TONIGHT`, made again once the one kept starts over an hour ago."""
        now = self.devices.mount.time
        if self._grid is None or (now - self._grid.start).to_value("s") > 3600 or now < self._grid.start:
            self._grid = night_grid(now, now + TimeDelta(TONIGHT, format="sec"), self.devices.mount.site,
                                    step=STEP)
        return self._grid

    # -- campaigns: what each event has at the scheduler --------------------------------------------------
    def _campaign(self, sid: str) -> dict[str, Any]:
        with self._campaign_lock:
            return self._campaigns.setdefault(sid, {"Superevent": sid, "Lists": [], "Live": "", "Retracted": False})

    def _keep(self, campaign: dict) -> None:
        self.journal.remember({f"campaign:{campaign['Superevent']}": json.dumps(campaign)})

    def _record(self, campaign: dict, order_id: str, alert, list_id: str | None, planned: list[dict],
                kept: list[dict]) -> None:
        with self._campaign_lock:
            # "Map": the alert order whose sky map the chart draws (the one acted on, not a superseded one)
            campaign.update({"Kind": alert.kind, "Last Alert": alert.alert_type, "Significant": alert.significant,
                             "Classification": alert.classification, "Created": alert.time_created.utc.isot + "Z",
                             "Map": order_id})
            if list_id is not None:
                campaign["Lists"] = [e for e in campaign["Lists"] if e["ID"] != list_id] + [
                    {"ID": list_id, "Alert Type": alert.alert_type, "Targets": planned}]
                campaign["Live"] = list_id
            campaign["Kept"] = kept
            self._keep(campaign)

    def idle(self) -> None:
        if self._grid is None:  # astropy's ephemerides loaded at the first idle turn (~1 s cold), not by an alert
            self._night()
        if time.monotonic() - self._coverage_at >= COVERAGE_EVERY and self._campaigns:
            self._coverage_at = time.monotonic()
            try:
                self._refresh_coverage()
            except (OSError, xmlrpc.client.Error) as exc:
                self.log.debug("coverage not refreshed: %s", exc)

    def _refresh_coverage(self, only: str | None = None) -> None:
        """Each campaign's targets as the scheduler has them now (``only``: one event's). A campaign whose
        targets have all ended is not asked about again: a season's events are not polled for ever."""
        with self._campaign_lock:
            campaigns = [(sid, json.loads(json.dumps(c))) for sid, c in self._campaigns.items()
                         if only in (None, sid)]
        with self._scheduler() as scheduler:
            for sid, campaign in campaigns:
                fields = self._fields(campaign)
                if fields and all(f["State"] in _ENDED for f in fields):
                    continue
                states: dict[str, str] = {}
                for entry in campaign.get("Lists", []):
                    try:
                        states |= {t["ID"]: t["State"] for t in scheduler.targets(entry["ID"])}
                    except Fault:
                        continue
                with self._campaign_lock:
                    self._campaigns[sid]["States"] = states

    def _fields(self, campaign: dict) -> list[dict[str, Any]]:
        """Every field the event's lists sent, with its state at the scheduler (queued: not planned yet)."""
        states = campaign.get("States", {})
        return [t | {"List": e["ID"], "State": states.get(f"{e['ID']}/{t['Name']}", "queued")}
                for e in campaign.get("Lists", []) for t in e["Targets"]]

    def campaigns(self) -> list[dict[str, Any]]:
        """Each event followed, newest first: its last alert, its lists, and its coverage (``Planned``: the
        galaxy-weighted probability of its fields not cancelled or unobservable; ``Observed``: of those done)."""
        out = []
        with self._campaign_lock:
            items = [json.loads(json.dumps(c)) for c in self._campaigns.values()]
        for c in sorted(items, key=lambda c: c.get("Created", ""), reverse=True):
            fields = self._fields(c)
            live = [f for f in fields if f["State"] not in ("cancelled", "unobservable", "failed")]
            out.append({"Superevent": c["Superevent"], "Kind": c.get("Kind", ""), "Last Alert": c.get("Last Alert", ""),
                        "Significant": c.get("Significant", False), "Retracted": c.get("Retracted", False),
                        "Classification": c.get("Classification", {}), "Live List": c.get("Live", ""),
                        "Lists": [e["ID"] for e in c.get("Lists", [])],
                        "Fields": len(live), "Observed Fields": sum(f["State"] == "done" for f in fields),
                        "Planned": round(sum(f["Probability"] for f in live), 6),
                        "Observed": round(sum(f["Probability"] for f in fields if f["State"] == "done"), 6)})
        return out

    def chart(self, superevent_id: str) -> Binary:
        """The PNG of the event's last sky map with its fields, coloured by their state at the scheduler."""
        sid = str(superevent_id)
        try:
            self._refresh_coverage(only=sid)  # the fields as they are now, not as five seconds ago
        except (OSError, xmlrpc.client.Error) as exc:
            self.log.debug("chart drawn with the last coverage: %s", exc)
        with self._campaign_lock:
            campaign = json.loads(json.dumps(self._campaigns.get(sid))) if sid in self._campaigns else None
        sky = self._map_of(campaign) if campaign is not None else None
        if sky is None:
            raise Fault(FAULT_UNKNOWN_ORDER, f"{sid[:80]!r}: no event with a sky map at the alerts daemon")
        return Binary(chart_png(sky, self._fields(campaign), self.field_of_view,
                                title=f"{sid}: {campaign.get('Last Alert', '')}"))

    def _map_of(self, campaign: dict) -> SkyMap | None:
        """The sky map of the alert the campaign last acted on, from the journal (kept there with its alert)."""
        row = self.journal.get(campaign.get("Map", ""))
        return None if row is None else self.validate(json.loads(row["body"])).alert.skymap

    def _chart_file(self, sid: str, sky: SkyMap) -> None:
        """The chart beside the night's data (``<Data Directory>/alerts/<superevent>.png``), for the record."""
        try:
            folder = Path(self.config["Data Directory"]) / "alerts"
            folder.mkdir(parents=True, exist_ok=True)
            with self._campaign_lock:
                campaign = json.loads(json.dumps(self._campaigns[sid]))
            png = chart_png(sky, self._fields(campaign), self.field_of_view, title=sid)
            (folder / f"{sid}.png").write_bytes(png)
        except (OSError, KeyError) as exc:
            self.log.warning("%s: chart not written: %s", sid, exc)

    def rpc_methods(self) -> list[Callable[..., Any]]:
        return super().rpc_methods() + [self.campaigns, self.chart]

    def extra_state(self) -> dict[str, Any]:
        return {"Campaigns": self.campaigns()[:10],
                "Sources": [source.describe() for source in self._sources]}


def _distance(sky: SkyMap) -> float | None:
    """The map's mean distance (Mpc), from its header (``DISTMEAN``), as LIGO's maps carry it."""
    value = sky.header.get("DISTMEAN")
    try:
        return float(value) if value is not None and np.isfinite(float(value)) else None
    except (TypeError, ValueError):
        return None
