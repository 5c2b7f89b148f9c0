"""From a gravitational-wave alert's receipt to the Target List at the scheduler, and to the first light.

The daemons as they run at the observatory (telescope, preprocessor,
scheduler, alerts; in one process here, over XML-RPC on loopback) on a
simulated observatory whose clock runs at real speed (time scale 1), with a
million-galaxy catalogue. An alert (its sky map on a field high in a dark
sky, the observatory safe) is sent to the alerts daemon's ``front_desk``;
measured:

- receipt -> Target List accepted by the scheduler (target: 2 s), beside
  the floor, the same Target List sent straight to the scheduler's
  ``front_desk`` (what the alerts daemon adds: ranking, observability,
  journalling);
- receipt -> first light exposure started, beside the telescope's own time
  for the slew, the dome and the acquisition of that field (target: the
  first within 60 s plus the second).

Run: ``.venv/bin/python benchmarks/bench_alert_chain.py [--quick]`` (the
short mode runs the sky 20 times faster and judges no target).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
import xmlrpc.client
from pathlib import Path

from verdict import short_mode, verdict

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

START = "2026-09-11T04:00:00"  # new Moon: a dark hour at TOROS


def _proxy(service) -> xmlrpc.client.ServerProxy:
    return xmlrpc.client.ServerProxy(f"http://127.0.0.1:{service.server.port}", allow_none=True)


def _wait(what, timeout: float, step: float = 0.01):
    deadline = time.monotonic() + timeout
    while not (value := what()):
        if time.monotonic() > deadline:
            raise SystemExit(f"bench_alert_chain: not within {timeout:g} s")
        time.sleep(step)
    return value


def _stamp(text: str) -> float:
    from torosdrivers.daemons.frame.status import parse_stamp

    return parse_stamp(text).timestamp()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="short mode (CI): the sky 20x faster, no target judged")
    args = p.parse_args()
    quick = short_mode(args.quick)

    from astropy.time import Time

    from torosdrivers.ccd.wcs import focal_length
    from torosdrivers.alerts.drill import alert, blob_map, synthetic_catalogue, write_catalogue
    from torosdrivers.config import DEFAULTS, Config
    from torosdrivers.config_schema import check
    from torosdrivers.coords import TOROS_SITE, local_sidereal_degrees
    from torosdrivers.daemons.services.alerts import AlertsService
    from torosdrivers.daemons.services.preprocessor import PreprocessorService
    from torosdrivers.daemons.services.scheduler import SchedulerService
    from torosdrivers.daemons.services.telescope import TelescopeService

    field = (float(local_sidereal_degrees(Time(START), TOROS_SITE)) + 10.0, -30.0)  # rising, high
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        write_catalogue(tmp / "glade.fits", synthetic_catalogue(1_000_000, seed=3))
        data = copy.deepcopy(DEFAULTS)
        data.update({"Database": {"Journal": str(tmp / "journal.sqlite"), "Catalog": str(tmp / "catalog.sqlite")},
                     "Data Directory": str(tmp / "data"), "Logging": {**data["Logging"], "File": str(tmp / "l.log")},
                     "Device Server": {**data["Device Server"], "Enabled": False}})
        # The demo's optics: 2"/px, a 68' field the installed Tycho-2 index files solve (acquisition on)
        data["Simulator"] = {**data["Simulator"], "Time Scale": 20.0 if quick else 1.0, "Size": 2048, "Seed": 1,
                             "Weather": [], "Start": START, "Mount Errors": 1.0}
        # No set point: the camera's cooling (minutes at real speed) is the night's start, not the alert's
        data["Telescope"] = {**data["Telescope"], "Focal Length": round(focal_length(15.0, 2.0), 1),
                             "CCD Set Point": None}
        data["Alerts"] = {**data["Alerts"], "Catalogue": str(tmp / "glade.fits"), "Events": ["real", "mock"],
                          "Pointings": 10, "Rules": [{"Filter": "R", "Exposure Time": 10.0}]}
        problems = check(data)
        assert not problems, problems
        config = Config(data, "bench")
        services = []
        try:
            preprocessor = PreprocessorService(config)
            port = preprocessor.serve(0).port
            services.append(preprocessor)
            config.data["Preprocessor Address"].update(Port=port, HTTP=f"http://127.0.0.1:{port}")
            telescope = TelescopeService(config)
            config.data["Telescope Address"]["Port"] = telescope.serve(0).port
            services.append(telescope)
            scheduler = SchedulerService(config, devices=telescope.devices)
            config.data["Scheduler Address"]["Port"] = scheduler.serve(0).port
            services.append(scheduler)
            alerts = AlertsService(config, devices=telescope.devices)
            alerts.serve(0)
            services.append(alerts)
            for service in services:
                _wait(lambda s=service: _proxy(s).health()["Ready"] and s._devices_ok, 120, 0.1)
            _wait(lambda: _proxy(telescope).safety()["Safe"], 120, 0.1)

            # The night under way: the reference bias taken by a first observation,
            # elsewhere and in another filter (the alert's field then needs a slew and a filter change)
            warm = {"ID": "warm-up", "WOType": "Observation", "RA": (field[0] - 40.0) % 360.0, "Dec": -20.0,
                    "Filter": "V", "Exposure Time": 1.0, "Number of Exposures": 1}
            _proxy(telescope).front_desk(warm)
            warmed = _wait(lambda: (s := _proxy(telescope).status("warm-up"))["State"] in ("done", "failed") and s,
                           600, 0.1)
            if warmed["State"] != "done":
                raise SystemExit(f"bench_alert_chain: the warm-up observation failed: {warmed['Error']}")

            # The floor: a Target List of the same shape straight to the scheduler (a field down all night:
            # planned, never handed on, so the telescope stays free for the alert)
            floor_list = {"ID": "floor", "WOType": "Target List", "Filter": "R", "Exposure Time": 10.0,
                          "Targets": [{"Name": f"f{i}", "RA": 10.0 + i, "Dec": 85.0, "Probability": 0.1}
                                      for i in range(10)]}
            began = time.time()
            _proxy(scheduler).front_desk(floor_list)
            floor = time.time() - began

            message = alert("MS260925a", skymap=blob_map(*field, sigma_deg=2.0, distmu=120.0, distsigma=20.0))
            receipt = _proxy(alerts).front_desk({"WOType": "Alert", "Alert": json.dumps(message)})
            done = _wait(lambda: (s := _proxy(alerts).status(receipt["ID"]))["State"] in ("done", "failed") and s,
                         60)
            if done["State"] != "done":
                raise SystemExit(f"bench_alert_chain: the alert failed: {done['Error']}")
            details = done["Details"]
            accepted = details["Durations"]["Received To Accepted"]
            first_id = f"{details['Target List']}/{details['Pointings'][0]['Name']}#1"
            observed = _wait(lambda: (s := _known(_proxy(telescope), first_id)) and s["State"] in
                             ("done", "failed") and s, 600, 0.1)
            frames = [f for f in observed["Details"].get("Frames", []) if f["Type"] == "LIGHT"]
            if observed["State"] != "done" or not frames:
                raise SystemExit(f"bench_alert_chain: the first field was not observed: {observed['Error']}")
            scale = config["Simulator"]["Time Scale"]
            steps = observed["Steps"]
            moving = next(_stamp(s["At"]) for s in steps if s["Text"].startswith(("opening", "slewing", "filter")))
            acquired = [s["Text"] for s in steps if "acqui" in s["Text"]]
            exposing = next(_stamp(s["At"]) for s in steps if s["Text"].startswith("exposure 1 of"))
            handed = _stamp(observed["Received"]) - _stamp(receipt["Received"])
            first_light = exposing - _stamp(receipt["Received"])  # the step's start: the shutter opens
            pointing = exposing - moving  # the telescope's slew, dome and acquisition of the field
        finally:
            for service in reversed(services):
                service.stop()

    print(f"alert (1,000,000 galaxies, a 2-degree map; the sky at time scale {scale:g}) -> the scheduler -> the "
          "telescope:")
    print(f"  receipt -> Target List accepted by the scheduler        {accepted:7.3f} s")
    print(f"  the same list straight to the scheduler (the floor)       {floor:7.3f} s")
    print(f"  receipt -> first field handed to the telescope            {handed:7.3f} s")
    print(f"  receipt -> first light exposure started                   {first_light:7.3f} s")
    print(f"    of which the telescope's slew, dome and acquisition     {pointing:7.3f} s "
          f"({'acquired by plate solving' if acquired else 'no acquisition: astrometry.net or its index missing'})")
    print(f"    the rest (alert, scheduler, hand-on, filter)            {first_light - pointing:7.3f} s")
    print("targets:")
    for text, ok in ((f"receipt -> Target List accepted {accepted:.3f} s <= 2 s", accepted <= 2.0),
                     (f"first light {first_light:.1f} s <= 60 s + slew, dome and acquisition ({pointing:.1f} s)",
                      first_light <= 60.0 + pointing)):
        print(f"  {verdict(ok)} {text}")


def _known(proxy, order_id: str):
    try:
        return proxy.status(order_id)
    except xmlrpc.client.Fault:
        return None


if __name__ == "__main__":
    main()
