"""The alerts daemon on a simulated night: alert -> galaxies -> Target List at the scheduler -> frames on disk;
an UPDATE replaces what is pending without planning again what was observed; a RETRACTION cancels; bad alerts
are refused by name with nothing stored; the watched folder and GCN's Kafka stream (through gcn-kafka, against
librdkafka's own mock broker) hand alerts over only once they are journalled."""

from __future__ import annotations

import http.client
import json
import os
import time
import xmlrpc.client
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.daemons.conftest import make_config, wait_state
from tests.daemons.test_scheduler import Night
from torosdrivers.alerts.drill import alert, blob_map, synthetic_catalogue, write_catalogue
from torosdrivers.alerts import in_field
from torosdrivers.daemons.services.alerts import AlertsService
from torosdrivers.daemons.tools.client import main as toros

#: High over TOROS as the simulated night begins (2026-09-24 23:50 UTC).
DUSK = (300.0, -30.0)
FIELD = 1.0


@pytest.fixture(scope="module")
def catalogue_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("glade") / "glade+.fits"
    write_catalogue(path, synthetic_catalogue(1_000_000, seed=11))
    return path


@pytest.fixture(scope="module")
def small_catalogue(tmp_path_factory) -> Path:
    """For the tests of what comes before the ranking (sources, refusals, configuration): loaded in a blink."""
    path = tmp_path_factory.mktemp("glade-small") / "glade+.fits"
    write_catalogue(path, synthetic_catalogue(20_000, seed=11))
    return path


def _settings(catalogue: Path, **more) -> dict:
    return {"Catalogue": str(catalogue), "Events": ["real", "mock"], "Pointings": 8, "Field of View": FIELD,
            "Rules": [{"Name": "neutron stars", "When": {"Classification": "BNS"}, "Filter": "R",
                       "Exposure Time": 60.0, "Number of Exposures": 2},
                      {"Filter": "V", "Exposure Time": 30.0}]} | more


def _created(minutes: int) -> str:
    return f"2026-11-30T03:{minutes:02d}:30Z"


class AlertNight(Night):
    """The observatory's night with the alerts daemon in front of its scheduler."""

    def __init__(self, tmp_path, catalogue: Path, Simulator: dict | None = None, **alerts) -> None:
        super().__init__(tmp_path, Alerts=_settings(catalogue, **alerts), Simulator=Simulator or {})

    def start(self) -> None:
        super().start()
        self.config.data["Scheduler Address"]["Port"] = self.scheduler.server.port
        self.alerts = AlertsService(self.config, devices=self.stack.telescope.devices)
        self.alerts.serve(0)
        self.alerts_proxy = self.stack.proxy(self.alerts)

    def stop(self) -> None:
        self.alerts.stop()
        super().stop()


def _send(proxy, message: dict) -> dict:
    return proxy.front_desk({"WOType": "Alert", "Alert": json.dumps(message)})


def _wait(what, timeout: float = 60.0, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = what()
        if value:
            return value
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(step)


def test_an_alert_becomes_fields_observed_then_an_update_and_a_retraction(tmp_path, catalogue_file, capsys):
    # At x200 the region stays up for the whole test even on a busy machine (at x1000 it set before the UPDATE)
    night = AlertNight(tmp_path, catalogue_file, Simulator={"Time Scale": 200.0})
    try:
        first = alert("MS261130a", "PRELIMINARY", skymap=blob_map(*DUSK, sigma_deg=2.0))
        receipt = _send(night.alerts_proxy, first)
        assert receipt["ID"] == "MS261130a-PRELIMINARY-20261130T030030" and not receipt["Duplicate"]
        assert _send(night.alerts_proxy, first)["Duplicate"]  # the same alert again: one order
        done = wait_state(night.alerts_proxy, receipt["ID"])
        assert done["State"] == "done", done["Error"]
        details = done["Details"]
        list_id = details["Target List"]
        assert details["Rule"] == "neutron stars" and details["Time Critical"] is True
        fields = details["Pointings"]
        assert 1 <= len(fields) <= 8
        probabilities = [f["Probability"] for f in fields]
        assert probabilities == sorted(probabilities, reverse=True) and 0 < sum(probabilities) <= 1
        assert all(np.hypot((f["RA"] - DUSK[0]) * np.cos(np.radians(DUSK[1])), f["Dec"] - DUSK[1]) < 8
                   for f in fields)  # inside the region
        assert night.proxy.status(list_id)["WOType"] == "Target List"  # the scheduler has it (it may be done)

        # The best field is observed: the frames are on disk, named for their target
        telescope = night.stack.proxy(night.stack.telescope)
        observed = _wait(lambda: [t for t in night.proxy.targets(list_id) if t["State"] == "done"], timeout=90)
        frames = wait_state(telescope, observed[0]["Telescope Order"])["Details"]["Frames"]
        assert frames and all(Path(f["Path"]).is_file() for f in frames)

        # An UPDATE with a sky map moved by a degree: a new list replaces the pending targets, and plans no
        # field again where the first list has observed or is observing
        update = alert("MS261130a", "UPDATE", skymap=blob_map(DUSK[0] + 1.0, DUSK[1], sigma_deg=2.0))
        update["time_created"] = _created(20)
        second = wait_state(night.alerts_proxy, _send(night.alerts_proxy, update)["ID"])
        assert second["State"] == "done" and "Target List" in second["Details"], second["Error"] or second["Result"]
        kept = second["Details"]["Kept From Earlier Lists"]
        assert {k["ID"] for k in kept} >= {observed[0]["ID"]}
        new_list = second["Details"]["Target List"]
        assert f"replaces {list_id}" in second["Result"]
        new_fields = second["Details"]["Pointings"]
        for k in kept:  # no new field is centred inside one observed (its galaxies were left out)
            assert not in_field(np.array([f["RA"] for f in new_fields]), np.array([f["Dec"] for f in new_fields]),
                                k["RA"], k["Dec"], FIELD).any()
        old = {t["ID"]: t for t in _wait(lambda: night.proxy.targets(list_id) if all(
            t["State"] != "pending" for t in night.proxy.targets(list_id)) else None, timeout=30)}
        replaced = [t for t in old.values() if t["State"] == "cancelled"]
        assert replaced and all(t["Outcome"] == f"replaced by {new_list}" for t in replaced)
        # Handed on between the UPDATE's ranking and its list reaching the scheduler: kept too, and the
        # scheduler does not plan a new field inside it
        late = [t for t in old.values() if t["State"] != "cancelled" and t["ID"] not in {k["ID"] for k in kept}]
        new_targets = {t["ID"]: t for t in night.proxy.targets(new_list)}
        for t in late:
            for n in new_targets.values():
                if in_field(np.array([n["RA"]]), np.array([n["Dec"]]), t["RA"], t["Dec"], FIELD)[0]:
                    assert n["State"] == "cancelled" and n["Outcome"] == f"its field was observed as {t['ID']}"
        assert old[observed[0]["ID"]]["State"] == "done"  # what was observed stays observed

        # An alert older than the one acted on (a redelivery out of order) changes nothing
        late_initial = alert("MS261130a", "INITIAL", skymap=blob_map(*DUSK, sigma_deg=2.0))
        late_initial["time_created"] = _created(10)
        stale = wait_state(night.alerts_proxy, _send(night.alerts_proxy, late_initial)["ID"])
        assert stale["State"] == "done" and stale["Result"].startswith("superseded: MS261130a INITIAL"), stale

        # The RETRACTION, straight after: what is pending at the scheduler is cancelled
        retraction = alert("MS261130a", "RETRACTION")
        retraction["time_created"] = _created(40)
        gone = wait_state(night.alerts_proxy, _send(night.alerts_proxy, retraction)["ID"])
        assert gone["State"] == "done" and gone["Details"]["Cancelled"], gone
        assert wait_state(night.proxy, new_list, timeout=60)["State"] == "cancelled"
        assert all(t["State"] in ("done", "cancelled", "failed") for t in night.proxy.targets(new_list))
        assert night.alerts_proxy.campaigns()[0]["Retracted"] is True

        # Coverage follows the scheduler, and the chart draws it
        coverage = _wait(lambda: [c for c in night.alerts_proxy.campaigns() if c["Observed"] > 0], timeout=30)[0]
        assert coverage["Superevent"] == "MS261130a" and coverage["Retracted"] and new_list in coverage["Lists"]
        assert 0 < coverage["Observed"] <= coverage["Planned"] <= 1.5
        png = night.alerts_proxy.chart("MS261130a").data
        assert png.startswith(b"\x89PNG") and len(png) > 10_000
        assert (Path(night.config["Data Directory"]) / "alerts" / "MS261130a.png").is_file()

        # The page: the newest event's coverage and its chart
        import requests

        from torosdrivers.daemons.tools.web import WebServer

        night.config.data["Alerts Address"]["Port"] = night.alerts.server.port
        page = WebServer(night.config, port=0).start()
        try:
            campaigns = _wait(lambda: requests.get(page.url + "/api/state", timeout=10).json().get("Campaigns"),
                              timeout=30, step=0.2)
            assert campaigns[0]["Superevent"] == "MS261130a" and campaigns[0]["Chart"].startswith("/alert.png?")
            chart = requests.get(page.url + campaigns[0]["Chart"], timeout=30)
            assert chart.ok and chart.headers["Content-Type"] == "image/png" and chart.content.startswith(b"\x89PNG")
            assert requests.get(page.url + "/alert.png?event=S000000zz", timeout=30).status_code == 404
            assert requests.get(page.url + "/alert.png?event=../etc", timeout=30).status_code == 400
        finally:
            page.stop()

        # The operator's view: toros alerts, its chart, and an alert sent from a file
        client = tmp_path / "client.yaml"
        client.write_text(yaml.safe_dump({"Alerts Address": {"IP": "127.0.0.1", "Port": night.alerts.server.port}}))
        capsys.readouterr()
        assert toros(["--config", str(client), "alerts"]) == 0
        shown = capsys.readouterr().out
        assert "MS261130a" in shown and "RETRACTED" in shown
        assert toros(["--config", str(client), "alerts", "--chart", "MS261130a", "--png",
                      str(tmp_path / "chart.png")]) == 0
        assert (tmp_path / "chart.png").read_bytes().startswith(b"\x89PNG")
        (tmp_path / "test-event.json").write_text(json.dumps(alert("TS261130z")))
        assert toros(["--config", str(client), "alerts", "--send", str(tmp_path / "test-event.json"), "--follow"]) == 0
        assert "ignored: TS261130z is a test event" in capsys.readouterr().out
    finally:
        night.stop()


def test_bad_alerts_are_refused_by_name_with_nothing_stored_and_the_daemon_serves_on(tmp_path, small_catalogue):
    config = make_config(tmp_path, Alerts=_settings(small_catalogue, Events=["real"]))
    service = AlertsService(config)
    service.serve(0)
    proxy = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{service.server.port}", allow_none=True)
    try:
        good = alert("S261130b", "PRELIMINARY")
        no_type = {k: v for k, v in good.items() if k != "alert_type"}
        wrong_type = good | {"alert_type": "FINAL"}
        ring = blob_map()
        ring.meta["ORDERING"] = "RING"
        cases = {
            "alert_type": {"WOType": "Alert", "Alert": json.dumps(no_type)},
            "FINAL": {"WOType": "Alert", "Alert": json.dumps(wrong_type)},
            "not base64": {"WOType": "Alert", "Alert": json.dumps(good).replace(good["event"]["skymap"][:40],
                                                                                 "!!!" + good["event"]["skymap"][3:40])},
            "NUNIQ": {"WOType": "Alert", "Alert": json.dumps(alert("S261130b", skymap=ring))},
            "not JSON": {"WOType": "Alert", "Alert": "{\"alert_type\": "},
            "IGWN alert": {"WOType": "Alert"},
            "unknown key": {"WOType": "Alert", "Alert": json.dumps(good), "Priorty": 3},
        }
        for expected, order in cases.items():
            with pytest.raises(xmlrpc.client.Fault) as refused:
                proxy.front_desk(order)
            assert refused.value.faultCode == 1 and expected in refused.value.faultString, refused.value.faultString
        assert proxy.list_orders() == []  # nothing stored half-way
        # A huge one is refused before it is read
        connection = http.client.HTTPConnection("127.0.0.1", service.server.port, timeout=10)
        connection.putrequest("POST", "/RPC2")
        connection.putheader("Content-Type", "text/xml")
        connection.putheader("Content-Length", str(17 * 2**20))
        connection.endheaders()
        assert connection.getresponse().status == 413
        connection.close()
        health = proxy.health()
        assert health["Healthy"], health
        # A test event when only real ones are acted on: taken, and ignored with the reason
        receipt = proxy.front_desk({"WOType": "Alert", "Alert": json.dumps(alert("TS261130c"))})
        assert proxy.status(receipt["ID"])["State"] == "queued"  # no scheduler here: it waits, kept
    finally:
        service.stop()


def test_a_watched_folder_takes_settled_alerts_once_journalled(tmp_path, small_catalogue):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    config = make_config(tmp_path, Alerts=_settings(small_catalogue, Folder=str(inbox)))
    good = alert("S261130d", "PRELIMINARY")
    (inbox / "S261130d.json").write_text(json.dumps(good))
    (inbox / "broken.json").write_text(json.dumps(good)[:-200])
    (inbox / ".partial.json").write_text("{")
    service = AlertsService(config)
    service.serve(0)
    try:
        _wait(lambda: (inbox / "accepted" / "S261130d.json").is_file() and (inbox / "refused" / "broken.json").is_file(),
              timeout=30)
        row = service.journal.get("S261130d-PRELIMINARY-20261130T030030")
        assert row is not None and json.loads(row["body"])["Source"] == "file S261130d.json"
        why = (inbox / "refused" / "broken.json.why").read_text()
        assert "not JSON" in why
        assert (inbox / ".partial.json").is_file()  # a writer's temporary is left alone
        described = service.state()["Sources"][0]
        assert described["Taken"] == 1 and described["Refused"] == 1 and described["Running"]
    finally:
        service.stop()


def test_gcn_kafka_alerts_are_committed_only_once_journalled(tmp_path, small_catalogue):
    """Through gcn-kafka's Consumer against librdkafka's mock Kafka cluster (the real protocol, on loopback)."""
    confluent_kafka = pytest.importorskip("confluent_kafka")
    producer = confluent_kafka.Producer({"test.mock.num.brokers": 1})
    broker = next(iter(producer.list_topics(timeout=10).brokers.values()))
    servers = f"{broker.host}:{broker.port}"
    small = blob_map(coarse=4, fine=7)  # GCN's alerts are a few hundred kB: within Kafka's 1 MB default
    for superevent in ("S261130e", "S261130f"):
        producer.produce("igwn.gwalert", value=json.dumps(alert(superevent, skymap=small)).encode())
    producer.produce("igwn.gwalert", value=b"\xff\xfe not an alert")
    producer.produce("igwn.gwalert", value=json.dumps({"alert_type": "PRELIMINARY"}).encode())
    assert producer.flush(10) == 0
    config = make_config(tmp_path, Alerts=_settings(small_catalogue, Kafka=True, **{
        "Kafka Servers": servers, "Kafka From": "earliest", "Kafka Group": "toros-test"}))
    service = AlertsService(config)
    service.serve(0)
    try:
        source = service._sources[0]
        _wait(lambda: source.taken == 2 and source.refused == 2, timeout=60, step=0.2)
        for superevent in ("S261130e", "S261130f"):
            row = service.journal.get(f"{superevent}-PRELIMINARY-20261130T030030")
            assert row is not None and json.loads(row["body"])["Source"].startswith("kafka igwn.gwalert[")
    finally:
        service.stop()
    # Every message was settled and committed: a consumer of the same group finds nothing left to read
    consumer = confluent_kafka.Consumer({"bootstrap.servers": servers, "group.id": "toros-test",
                                         "enable.auto.commit": False})
    try:
        partitions = [confluent_kafka.TopicPartition("igwn.gwalert", p)
                      for p in consumer.list_topics("igwn.gwalert", timeout=10).topics["igwn.gwalert"].partitions]
        committed = sum(max(tp.offset, 0) for tp in consumer.committed(partitions, timeout=10))
        assert committed == 4
    finally:
        consumer.close()


def test_the_alerts_section_is_checked_key_by_key(tmp_path, small_catalogue):
    import copy

    from torosdrivers.config import DEFAULTS
    from torosdrivers.config_schema import check
    from torosdrivers.daemons.services.alert_sources import read_credentials

    def problems(**alerts):
        data = copy.deepcopy(DEFAULTS)
        data["Alerts"] = {**data["Alerts"], **alerts}
        return check(data)

    assert problems(Catalogue=str(small_catalogue)) == []
    assert "Alerts.Catalogue" in problems(Catalogue=str(tmp_path / "missing.fits"))[0]
    assert "the last rule must have no When" in problems(Rules=[{"When": {"Classification": "BNS"}, "Filter": "R",
                                                                 "Exposure Time": 60}])[0]
    assert "Classification: 'BHNS': expected one of ['BNS', 'NSBH', 'BBH', 'Terrestrial']" in \
        problems(Rules=[{"When": {"Classification": "BHNS"}, "Filter": "R", "Exposure Time": 60},
                        {"Filter": "R", "Exposure Time": 60}])[0]
    assert "Exposure Time: -1: expected a number" in problems(Rules=[{"Filter": "R", "Exposure Time": -1}])[0]
    assert "event kinds" in problems(Events=["real", "fake"])[0]
    assert "Kafka Credentials is empty" in problems(Kafka=True)[0]
    credentials = tmp_path / "gcn.credentials"
    credentials.write_text("client_id='abc'\nclient_secret='s3cret'\n")
    credentials.chmod(0o644)
    assert "readable by every user" in problems(Kafka=True, **{"Kafka Credentials": str(credentials)})[0]
    credentials.chmod(0o600)
    assert problems(Kafka=True, **{"Kafka Credentials": str(credentials)}) == []
    assert read_credentials(credentials) == ("abc", "s3cret")
    credentials.write_text("client_id=abc\n")
    with pytest.raises(ValueError, match="no client_secret"):
        read_credentials(credentials)


#: A folder holding the LIGO/Virgo/KAGRA user guide's example alerts (``_static/MS181101ab-*.json`` of
#: https://github.com/lpsinger/userguide, a real BAYESTAR sky map of a mock event): not shipped here (no licence
#: to copy them); set TOROS_IGWN_EXAMPLES to run this check against them.
EXAMPLES = Path(os.environ.get("TOROS_IGWN_EXAMPLES", "/nonexistent"))


@pytest.mark.skipif(not (EXAMPLES / "MS181101ab-preliminary.json").is_file(),
                    reason="TOROS_IGWN_EXAMPLES does not name a folder of IGWN's published example alerts")
def test_the_published_example_alerts_through_the_daemon(tmp_path):
    """IGWN's own example alerts, as published, each type in turn: parsed, ranked (a catalogue dense enough
    near the event's 40 Mpc), planned, replaced and retracted at a scheduler on a night when the field is up."""
    from torosdrivers.alerts import Catalogue

    rng = np.random.default_rng(4)
    n = 1_000_000
    distance = 120.0 * rng.uniform(0, 1, n) ** (1 / 3) + 0.5
    write_catalogue(tmp_path / "near.fits", Catalogue(
        rng.uniform(0, 360, n), np.degrees(np.arcsin(rng.uniform(-1, 1, n))), distance,
        rng.normal(-20, 1.2, n) + 5 * np.log10(distance) + 25, np.arange(n).astype(str)))
    night = AlertNight(tmp_path, tmp_path / "near.fits", Simulator={"Start": "2026-04-15T01:10:00"})
    try:
        results = {}
        for kind in ("preliminary", "initial", "update", "retraction"):
            text = (EXAMPLES / f"MS181101ab-{kind}.json").read_text()
            receipt = night.alerts_proxy.front_desk({"WOType": "Alert", "Alert": text})
            results[kind] = wait_state(night.alerts_proxy, receipt["ID"], timeout=120)
            assert results[kind]["State"] == "done", results[kind]["Error"]
        assert results["preliminary"]["Details"]["Pointings"]
        assert "replaces MS181101ab-PRELIMINARY" in results["initial"]["Result"]
        assert "replaces MS181101ab-INITIAL" in results["update"]["Result"]
        assert results["retraction"]["Details"]["Cancelled"]
        assert night.alerts_proxy.campaigns()[0]["Retracted"] is True
    finally:
        night.stop()


def test_a_catalogue_that_cannot_be_read_stops_the_start_with_one_line(tmp_path):
    """As a bad configuration: exit 2 (systemd does not restart it in a loop), the file named, no traceback."""
    import subprocess
    import sys

    junk = tmp_path / "glade.fits"
    junk.write_text("not a FITS file")
    config = tmp_path / "toros.yaml"
    config.write_text(yaml.safe_dump({"Alerts": {"Catalogue": str(junk)}, "Logging": {"File": str(tmp_path / "l.log")},
                                      "Database": {"Journal": str(tmp_path / "j.sqlite"),
                                                   "Catalog": str(tmp_path / "c.sqlite")}}))
    done = subprocess.run([sys.executable, "-m", "torosdrivers.daemons.frame.cli", "alerts", "--config", str(config)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and f"Alerts.Catalogue {junk}: cannot be read" in done.stderr
