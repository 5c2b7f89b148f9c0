"""``toros-demo``: the TOROS Manager end to end on a simulated observatory.

Starts the device server ``toros-devices`` (the one owner of the simulated
observatory's devices, served over Alpaca), the five daemons and the observatory page
``toros-web`` on loopback with a configuration written under
the output folder, the daemons reaching every device through the device
server; submits the documentation's Observation work order (with
calibration frames) and its Dome work order (Blink01), follows them to the
end, and says where the raw frames, the calibrated products and a PNG
preview of one calibrated frame are. The simulated mount points arcminutes
wrong and the optics start out of focus: the telescope focuses at the start
of the night and, where astrometry.net is installed, acquires the target by
plate solving before its lights (whose headers get the solved WCS).

Then it plays a gravitational-wave alert drill through the whole chain: a
mock IGWN alert (``MS...``, its sky map on a field high at that moment) is dropped
in the alerts daemon's watched folder; the daemon ranks a million-galaxy
catalogue (made for the drill, with GLADE+'s columns) against it and sends
the best fields to the scheduler as a time-critical Target List; the
telescope observes the first field and the preprocessor calibrates it; the
demo prints the times from the alert to the scheduler's receipt and to the
first light, and writes the event's chart.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import xmlrpc.client
from pathlib import Path

import numpy as np
import yaml
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.time import Time, TimeDelta

from torosdrivers._version import add_version
from torosdrivers.alerts import Alert
from torosdrivers.alerts.drill import alert, blob_map, synthetic_catalogue, write_catalogue
from torosdrivers.alerts.targets import alert_id
from torosdrivers.ccd.wcs import focal_length
from torosdrivers.config import load_config
from torosdrivers.lifecycle import wait_for_stop
from torosdrivers.coords import TOROS_SITE, local_sidereal_degrees, sun_altaz, to_altaz
from torosdrivers.preview import stretch, write_png

from torosdrivers.daemons.frame.security import service_proxy
from torosdrivers.daemons.frame.workorders import EXAMPLE_DOME, EXAMPLE_OBSERVATION

__all__ = ["main"]

OBSERVATION, DOME = EXAMPLE_OBSERVATION, EXAMPLE_DOME


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _night_when_up(ra: float, dec: float) -> Time:
    """The coming evening twilight when the field already stands high over TOROS.

    The simulated night starts with the Sun about 10 deg down, so the safety
    supervisor is seen to keep the dome shut until the Sun reaches -12 deg
    and then to open: the orders wait a few simulated minutes, then run.
    """
    field = SkyCoord(ra, dec, unit="deg")

    def sky(times: Time) -> tuple[np.ndarray, np.ndarray]:
        return to_altaz(field, times, TOROS_SITE).alt.deg, sun_altaz(times, TOROS_SITE).alt.deg

    # An hourly pass over the year finds the evening (the Sun between -5 and -15 deg, going down, the
    # field high); a pass by the minute around it finds -10 deg. Finer over the year costs seconds.
    hours = Time.now() + TimeDelta(np.arange(0, 365 * 86400, 3600), format="sec")
    alts, suns = sky(hours)
    evening = np.flatnonzero((alts > 35) & (suns < -5) & (suns > -15) & (np.diff(suns, append=suns[-1]) < 0))
    if evening.size:
        minutes = hours[int(evening[0])] + TimeDelta(np.arange(-3600, 3600, 60), format="sec")
        fine_alts, fine_suns = sky(minutes)
        good = np.flatnonzero((fine_alts > 35) & (fine_suns < -9.5) & (fine_suns > -10.5))
        if good.size:
            return minutes[int(good[0])]
    dark = np.flatnonzero((alts > 40) & (suns < -18))
    return hours[int(dark[0])] if dark.size else hours[int(np.argmax(alts))]


def _start(args: list[str], log: Path) -> tuple[subprocess.Popen, str]:
    # stderr goes to the process's own log file: the log lines are written there once (logs.py writes to
    # stderr only when it is a terminal), and a crash's traceback lands beside them.
    with log.open("ab") as stderr:
        process = subprocess.Popen([sys.executable, "-m", *args], stdout=subprocess.PIPE,
                                   stderr=stderr, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    line = process.stdout.readline()
    if not line:
        raise SystemExit(f"toros-demo: {' '.join(args[:2])} did not start; see {log}")
    return process, line.strip()


def _follow(proxy, order_id: str, label: str, timeout: float = 300.0) -> dict:
    last, deadline = "", time.monotonic() + timeout
    while True:
        status = proxy.status(order_id)
        text = status["Progress"] if status["State"] == "running" else status["State"]
        if text and text != last:
            print(f"  {label}: {text}", flush=True)
            last = text
        if status["State"] in ("done", "failed", "cancelled"):
            return status
        if time.monotonic() > deadline:
            raise SystemExit(f"toros-demo: {label} {order_id} did not finish in {timeout:g} s")
        time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="toros-demo", description=__doc__.splitlines()[0])
    p.add_argument("--output", type=Path, default=Path("demo-output"), help="folder for everything (default: %(default)s)")
    p.add_argument("--size", type=int, default=2048, help="sensor width and height (default: %(default)s)")
    p.add_argument("--time-scale", type=float, default=200.0, help="device seconds per real second (default: %(default)s)")
    p.add_argument("--keep", action="store_true", help="leave the observatory and its web page running until Ctrl-C")
    args = add_version(p).parse_args(argv)

    out = args.output.resolve()
    problem = _clear_last_run(out)
    if problem:
        print(f"toros-demo: {problem}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    logs = out / "logs"
    logs.mkdir(exist_ok=True)
    start = _night_when_up(OBSERVATION["RA"], OBSERVATION["Dec"])
    ports = {name: _free_port() for name in ("Devices", "Preprocessor", "Telescope", "Dome", "Scheduler", "Alerts",
                                             "Web")}
    catalogue = out / "glade-drill.fits"
    write_catalogue(catalogue, synthetic_catalogue(1_000_000, seed=2026))
    config = {
        "Preprocessor Address": {"HTTP": f"http://127.0.0.1:{ports['Preprocessor']}", "IP": "127.0.0.1",
                                 "Port": ports["Preprocessor"]},
        "Telescope Address": {"IP": "127.0.0.1", "Port": ports["Telescope"]},
        "Dome Address": {"IP": "127.0.0.1", "Port": ports["Dome"]},
        "Scheduler Address": {"IP": "127.0.0.1", "Port": ports["Scheduler"]},
        "Alerts Address": {"IP": "127.0.0.1", "Port": ports["Alerts"]},
        # The drill's event is a mock one (MS...): acted upon here, as IGWN's mock alerts are for drills
        "Alerts": {"Catalogue": str(catalogue), "Folder": str(out / "alerts-inbox"), "Events": ["real", "mock"],
                   "Pointings": 3, "Field of View": 1.0,
                   "Rules": [{"Filter": OBSERVATION["Filter"], "Exposure Time": 30.0, "Number of Exposures": 1}]},
        "Device Server": {"Enabled": True, "IP": "127.0.0.1", "Port": ports["Devices"]},
        "Web": {"IP": "127.0.0.1", "Port": ports["Web"], "Allow Orders": True},  # loopback: try an order from it
        "Logging": {"File": str(logs / "toros.log"), "Log Level": "INFO"},
        "Database": {"Journal": str(out / "journal.sqlite"), "Catalog": str(out / "catalog.sqlite")},
        "Data Directory": str(out / "data"),
        # The camera's read noise: the one RDNOISE card its Alpaca interface cannot say
        "Devices": {kind: {"Backend": "simulator"} for kind in ("Camera", "Filter Wheel", "Mount", "Dome", "Focuser")}
        | {"Camera": {"Backend": "simulator", "Read Noise": 9.0}},
        # A mount that points arcminutes wrong, optics out of focus, the real stars of the installed
        # astrometry.net index files: the telescope focuses, acquires and solves as on a real night.
        "Simulator": {"Time Scale": args.time_scale, "Size": args.size, "Seed": 0, "Start": start.isot,
                      "Mount Errors": 1.0, "Optics": True, "Catalogue": "auto"},
        # 2"/px: the field (68' at 2048 px) is one the Tycho-2 index files solve
        "Telescope": {"Focal Length": round(focal_length(15.0, 2.0), 1)},
        "Focus": {"Enabled": True, "Step": 100, "Exposure": 10.0},
    }
    config_path = out / "toros.conf.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    print(f"TOROS Manager demo: configuration {config_path}")
    processes = []
    try:
        owner, line = _start(["torosdrivers.daemons.services.devices", "--config", str(config_path)],
                             logs / "toros-devices.log")
        processes.append(owner)
        print(f"  {line.split(' (camera')[0]}")
        for kind in ("preprocessor", "telescope", "dome", "scheduler", "alerts"):
            process, line = _start(["torosdrivers.daemons.frame.cli", kind, "--config", str(config_path)],
                                   logs / f"toros-{kind}.log")
            processes.append(process)
            print(f"  {line.split(' (config')[0]}")
        process, line = _start(["torosdrivers.daemons.tools.web", "--config", str(config_path)], logs / "toros-web.log")
        processes.append(process)
        print(f"  {line.split(' (config')[0]}")
        loaded = load_config(config_path)
        telescope, dome, preprocessor = (service_proxy(loaded, s) for s in ("Telescope", "Dome", "Preprocessor"))
        print(f"\nSubmitting the documentation's work orders (simulated sky at {start.isot[:16]} UTC):")
        print(f"  telescope receipt: {telescope.front_desk(OBSERVATION)}")
        print(f"  dome receipt:      {dome.front_desk(DOME)}")
        dome_status = _follow(dome, "1", "dome")
        observation = _follow(telescope, "1", "telescope")
        if observation["State"] != "done":
            print(f"toros-demo: the observation {observation['State']}: {observation['Error']}", file=sys.stderr)
            return 1
        calibration = _follow(preprocessor, "1/calibration", "preprocessor")
        night = Path(observation["Details"]["Night"])
        products = [Path(p) for p in calibration["Details"]["Products"]]
        preview = None
        if products:
            data = fits.getdata(products[0])
            preview = write_png(out / "preview.png", stretch(data))
        print("\nThe safety supervisor's night (telescope daemon):")
        for event in telescope.safety()["Events"]:
            print(f"  {event}")
        print(f"\nDome: {dome_status['Result']}")
        print(f"Observation: {observation['Result']}")
        details = observation["Details"]
        focus, acquisition = details.get("Focus", {}), details.get("Acquisition")
        if "Position" in focus:
            print(f"  autofocus ({focus.get('Reason')}): {focus['Position']} steps, HFR {focus.get('HFR')} px, "
                  f"{focus.get('Exposures')} frames")
        if acquisition:
            verdict = "acquired" if acquisition["Acquired"] else "NOT acquired"
            print(f"  acquisition: {verdict}, {acquisition['Offset']}\" from the target after "
                  f"{acquisition['Corrections']} correction(s) (the first slew landed {acquisition['First Offset']}\" off)")
        else:
            print(f"  acquisition: {telescope.state()['Optics']['Acquisition']}")
        print(f"Preprocessing: {calibration['Result']}")
        print(f"\nRaw frames:         {night}  ({len(list(night.glob('*.fits')))} files)")
        print(f"Calibrated frames:  {night / 'products'}  ({len(products)} files)")
        print(f"Preview:            {preview}")
        print(f"Logs:               {logs}  (one file per process)")
        drill_ok = _alert_drill(loaded, out, telescope, preprocessor)
        page = f"http://127.0.0.1:{ports['Web']}/"
        if args.keep:
            print(f"\nEverything keeps running: the observatory page is {page} (Ctrl-C ends the demo)")
            print(f"The toros command, in another shell:  export TOROS_CONFIG={config_path}; toros status",
                  flush=True)
            wait_for_stop()
        else:
            print(f"Observatory page:   {page} while it ran (toros-demo --keep leaves it running)")
        return 0 if calibration["State"] == "done" and drill_ok else 1
    finally:
        # Each client before what it talks to: the page and the scheduler, the telescope and dome daemons,
        # the preprocessor, the device server last. Stopped together, a daemon's last look at a peer found it
        # gone and logged an ERROR on a clean stop (the scheduler's at the telescope daemon, for one).
        for group in (processes[4:], processes[2:4], processes[1:2], processes[:1]):  # (scheduler, alerts, web)
            _stop(group)


def _alert_drill(config, out: Path, telescope, preprocessor) -> bool:
    """A mock alert on a field high in the sky, through the watched folder, to a calibrated frame of its best
    field; prints what each step took. Whether it got there."""
    scheduler, alerts = service_proxy(config, "Scheduler"), service_proxy(config, "Alerts")
    created = Time.now().utc.isot[:19] + "Z"
    # The event where the sky is high now, on the observatory's clock (the simulated night has moved on since
    # the documented field was chosen; on a busy machine by hours)
    sky_now = Time(telescope.state()["Devices"]["Mount"]["Time"].rstrip("Z"))
    centre = ((float(local_sidereal_degrees(sky_now, TOROS_SITE)) + 10.0) % 360.0, -30.0)
    message = alert("MS" + created[2:10].replace("-", "") + "a", "PRELIMINARY", created=created,
                    skymap=blob_map(*centre, sigma_deg=1.5, distmu=120.0, distsigma=20.0))
    order_id = alert_id(Alert.parse(message))
    inbox = out / "alerts-inbox"
    inbox.mkdir(exist_ok=True)
    (inbox / ".drill.json").write_text(json.dumps(message))  # written aside, then moved in whole
    (inbox / ".drill.json").rename(inbox / f"{message['superevent_id']}.json")
    print(f"\nAlert drill: {message['superevent_id']} PRELIMINARY (RA {centre[0]:.1f}, Dec {centre[1]:.1f}, high in the "
          f"sky at {sky_now.isot[:16]}) dropped in {inbox}")
    deadline = time.monotonic() + 60
    while not _known(alerts, order_id):
        if time.monotonic() > deadline:
            print("toros-demo: the alerts daemon did not take the drill's alert", file=sys.stderr)
            return False
        time.sleep(0.2)
    ranked = _follow(alerts, order_id, "alerts")
    if ranked["State"] != "done" or "Target List" not in ranked["Details"]:
        print(f"toros-demo: the alert {ranked['State']}: {ranked['Error'] or ranked['Result']}", file=sys.stderr)
        return False
    details = ranked["Details"]
    list_id, sky_time = details["Target List"], Time(details["Sky Time"].rstrip("Z"))
    print(f"  {ranked['Result']}")
    print(f"  alert received -> Target List accepted by the scheduler: {details['Durations']['Received To Accepted']:.2f} s"
          f" (ranking {details['Durations']['Ranking']:.2f} s)")
    deadline = time.monotonic() + 300
    while True:
        done = [t for t in scheduler.targets(list_id) if t["State"] == "done"]
        if done:
            break
        if time.monotonic() > deadline:
            print(f"toros-demo: no field of {list_id} observed in 300 s", file=sys.stderr)
            return False
        time.sleep(0.5)
    observed = telescope.status(done[0]["Telescope Order"])
    frames = observed["Details"]["Frames"]
    first = min(Time(f["Start"].rstrip("Z")) for f in frames)
    print(f"  {done[0]['Object']} observed: {observed['Result']}")
    print(f"  alert received -> first light exposure started: {(first - sky_time).to_value('s'):.0f} s on the "
          "observatory's clock (slew, dome, acquisition included)")
    calibration = _follow(preprocessor, f"{done[0]['Telescope Order']}/calibration", "preprocessor")
    print(f"  preprocessing: {calibration['Result'] or calibration['Error']}")
    deadline = time.monotonic() + 20  # the daemon reads the scheduler's targets every few seconds
    while (coverage := alerts.campaigns()[0])["Observed"] <= 0 and time.monotonic() < deadline:
        time.sleep(0.5)
    chart = out / "alert-chart.png"
    chart.write_bytes(alerts.chart(message["superevent_id"]).data)
    print(f"  coverage: {coverage['Planned']:.1%} of the galaxy-weighted probability planned, "
          f"{coverage['Observed']:.1%} observed so far; chart {chart}")
    return calibration["State"] == "done" and bool(calibration["Details"].get("Products"))


def _known(proxy, order_id: str) -> bool:
    try:
        proxy.status(order_id)
        return True
    except xmlrpc.client.Fault:
        return False


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in reversed(processes):
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


#: What a demo run leaves in its folder: the next run removes it, so that it starts its own night.
_LAST_RUN = ("toros.conf.yaml", "journal*.sqlite*", "catalog.sqlite*", "data", "logs", "preview.png",
             "glade-drill.fits", "alerts-inbox", "alert-chart.png")


def _clear_last_run(out: Path) -> str | None:
    """Remove a previous demo's files from ``out`` (a new night, not the last one's receipts and frames).

    A folder that holds something else is left untouched and named instead.
    """
    if not out.exists() or not any(out.iterdir()):
        return None
    if not (out / "toros.conf.yaml").is_file():
        return f"{out} holds files that no demo wrote (no toros.conf.yaml): choose another --output"
    for pattern in _LAST_RUN:
        for path in out.glob(pattern):
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
    print(f"toros-demo: a new simulated night; the last run's journals, frames and logs in {out} were removed")
    return None


if __name__ == "__main__":
    sys.exit(main())
