"""SIGKILL a daemon mid-order and while clients submit: nothing receipted is lost or run twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import xmlrpc.client
from pathlib import Path

import yaml

from tests.daemons.conftest import DOC_OBSERVATION, transit_of, wait_state


def write_config(tmp_path: Path, time_scale: float) -> Path:
    config = {
        "Database": {"Journal": str(tmp_path / "journal.sqlite"), "Catalog": str(tmp_path / "catalog.sqlite")},
        "Data Directory": str(tmp_path / "data"),
        "Device Server": {"Enabled": False},  # the daemon owns its simulated devices: its own crash is the test
        "Logging": {"File": str(tmp_path / "toros.log"), "Log Level": "INFO"},
        "Preprocessor Address": {"HTTP": "http://127.0.0.1:9", "IP": "127.0.0.1", "Port": 9},  # nobody there
        "Telescope": {"CCD Set Point": None},  # no cooling: the crash is the test, not the cooler's minutes
        "Simulator": {"Time Scale": time_scale, "Size": 64, "Seed": 1,
                      "Start": transit_of(DOC_OBSERVATION["RA"], DOC_OBSERVATION["Dec"]).isot},
    }
    path = tmp_path / "toros.conf.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


class Daemon:
    def __init__(self, kind: str, config: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "torosdrivers.daemons.frame.cli", kind, "--config", str(config), "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        line = self.process.stdout.readline()
        assert "serving XML-RPC on http://" in line, line
        self.url = line.split(" on ")[1].split()[0]

    def proxy(self) -> xmlrpc.client.ServerProxy:
        return xmlrpc.client.ServerProxy(self.url, allow_none=True)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=30) == 0


def test_sigkill_mid_observation_resumes_from_the_verified_frames_on_disk(tmp_path):
    config = write_config(tmp_path, time_scale=100.0)  # a 30 s exposure takes 0.3 s
    daemon = Daemon("telescope", config)
    long = {**DOC_OBSERVATION, "ID": "long", "Number of Exposures": 12, "Calibration Frames": "No", "Priority": 9}
    later = {**DOC_OBSERVATION, "ID": "later", "Number of Exposures": 1, "Calibration Frames": "No", "Priority": 1}
    proxy = daemon.proxy()
    proxy.front_desk(long)
    proxy.front_desk(later)
    deadline = time.monotonic() + 60
    while "exposure 4 of 12" not in proxy.status("long")["Progress"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    daemon.kill()
    night = next((tmp_path / "data").iterdir())
    before = {p.name: p.stat().st_mtime_ns for p in night.glob("long_light_*.fits")}
    assert 3 <= len(before) < 12

    daemon = Daemon("telescope", config)
    try:
        proxy = daemon.proxy()
        resumed = wait_state(proxy, "long", timeout=120)
        assert resumed["State"] == "done", resumed
        texts = [s["Text"] for s in resumed["Steps"]]
        assert any("interrupted: the daemon stopped" in t for t in texts)
        assert f"12 of 12 lights verified" in resumed["Result"]
        paths = sorted(Path(f["Path"]).name for f in resumed["Details"]["Frames"])
        assert paths == [f"long_light_{i:03d}.fits" for i in range(12)]  # every frame, from both attempts
        assert all((night / name).stat().st_mtime_ns == t for name, t in before.items())  # none taken twice
        assert wait_state(proxy, "later", timeout=120)["State"] == "done"
        assert proxy.front_desk(later)["Duplicate"]  # a resubmission is not run again
        assert len(list(night.glob("later_light_*.fits"))) == 1
    finally:
        daemon.stop()


def test_sigterm_lets_the_exposure_end_and_the_order_resumes_at_the_next_start(tmp_path):
    config = write_config(tmp_path, time_scale=100.0)  # a 30 s exposure takes 0.3 s
    daemon = Daemon("telescope", config)
    order = {**DOC_OBSERVATION, "ID": "night", "Number of Exposures": 4, "Calibration Frames": "No"}
    proxy = daemon.proxy()
    proxy.front_desk(order)
    deadline = time.monotonic() + 60
    while "exposure 2 of 4" not in proxy.status("night")["Progress"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    daemon.stop()  # SIGTERM: returns once the exposure under way is written (systemd's TimeoutStopSec allows it)
    night = next((tmp_path / "data").iterdir())
    taken = {p.name: p.stat().st_mtime_ns for p in night.glob("night_light_*.fits")}
    assert sorted(taken) == ["night_light_000.fits", "night_light_001.fits"]

    daemon = Daemon("telescope", config)
    try:
        status = wait_state(daemon.proxy(), "night", timeout=120)
        assert status["State"] == "done", status
        assert "the daemon stopped; resumes when it starts again" in [s["Text"] for s in status["Steps"]]
        assert len(list(night.glob("night_light_*.fits"))) == 4
        assert all((night / name).stat().st_mtime_ns == t for name, t in taken.items())  # not taken again
    finally:
        daemon.stop()


def test_sigkill_while_clients_submit(tmp_path):
    config = write_config(tmp_path, time_scale=1e4)
    daemon = Daemon("dome", config)
    receipts: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(n: int) -> None:
        i = 0
        with xmlrpc.client.ServerProxy(daemon.url, allow_none=True) as proxy:
            while not stop.is_set():
                order_id = f"c{n}-{i}"
                try:
                    receipt = proxy.front_desk({"ID": order_id, "WOType": "Dome", "Blink01": True})
                except (OSError, xmlrpc.client.ProtocolError, xmlrpc.client.Fault):
                    return  # the daemon died under us: this one got no receipt
                with lock:
                    receipts.append(receipt["ID"])
                i += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    daemon.kill()
    stop.set()
    for t in threads:
        t.join(timeout=10)
    assert len(receipts) > 20

    daemon = Daemon("dome", config)
    try:
        proxy = daemon.proxy()
        for order_id in receipts:
            state = wait_state(proxy, order_id, timeout=60)["State"]
            assert state in ("done", "failed"), (order_id, state)  # failed only if interrupted mid-blink
        states = [proxy.status(i)["State"] for i in receipts]
        assert states.count("failed") <= 1
    finally:
        daemon.stop()
