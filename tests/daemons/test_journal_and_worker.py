"""One owner per journal, a worker that never dies, a full disk, Fault 5, and systemd's watchdog."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
import xmlrpc.client

import pytest
import yaml

from tests.daemons.conftest import DOC_DOME, make_config, wait_state
from torosdrivers.daemons.services.dome import DomeService
from torosdrivers.daemons.frame.journal import Journal, JournalBusyError, JournalError
from torosdrivers.daemons.frame.workorders import FAULT_SERVER


@pytest.fixture
def dome(tmp_path):
    service = DomeService(make_config(tmp_path))
    service.serve(0)
    yield service
    service.stop()


def _proxy(service) -> xmlrpc.client.ServerProxy:
    return xmlrpc.client.ServerProxy(f"http://127.0.0.1:{service.server.port}", allow_none=True)


def test_a_second_daemon_on_one_journal_refuses_to_start(tmp_path, dome):
    with pytest.raises(JournalBusyError, match=f"in use by PID {os.getpid()}"):
        DomeService(make_config(tmp_path))
    path = tmp_path / "second.yaml"  # the same journal through a configuration, on another port
    path.write_text(yaml.safe_dump({"Database": {"Journal": str(tmp_path / "journal.sqlite"),
                                                 "Catalog": str(tmp_path / "catalog.sqlite")},
                                    "Logging": {"File": str(tmp_path / "second.log")},
                                    "Device Server": {"Enabled": False}}))
    run = subprocess.run([sys.executable, "-m", "torosdrivers.daemons.frame.cli", "dome", "--config", str(path),
                          "--port", "0"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert f"journal-dome.sqlite is in use by PID {os.getpid()}" in run.stderr
    assert _proxy(dome).front_desk({**DOC_DOME, "ID": "still"})["State"] == "queued"  # the first one serves on
    assert wait_state(_proxy(dome), "still")["State"] == "done"


def test_the_worker_survives_any_exception(dome, monkeypatch, caplog):
    proxy = _proxy(dome)
    original_run, original_next = dome.run, dome.journal.next
    monkeypatch.setattr(dome, "run", lambda *a: (_ for _ in ()).throw(RuntimeError("a bug in run")))
    failed = wait_state(proxy, proxy.front_desk({**DOC_DOME, "ID": "bug"})["ID"])
    assert failed["State"] == "failed" and "internal error: RuntimeError: a bug in run" in failed["Error"]
    assert "Traceback" in caplog.text and "bug failed with an internal error" in caplog.text
    monkeypatch.setattr(dome, "run", original_run)

    calls = []

    def broken_next(*args, **kwargs):  # the loop itself fails once
        if not calls:
            calls.append(1)
            raise ValueError("a bug in the loop")
        return original_next(*args, **kwargs)

    monkeypatch.setattr(dome.journal, "next", broken_next)
    assert wait_state(proxy, proxy.front_desk({**DOC_DOME, "ID": "after"})["ID"])["State"] == "done"
    assert "worker loop error; going on" in caplog.text and calls
    assert proxy.health()["Healthy"] is True


def test_a_journal_write_error_fails_the_order_in_hand_with_the_reason(dome, monkeypatch):
    proxy = _proxy(dome)

    def full(*args):
        raise JournalError(f"journal {dome.journal.path}: cannot write: database or disk is full")

    monkeypatch.setattr(dome.journal, "progress", full)
    failed = wait_state(proxy, proxy.front_desk({**DOC_DOME, "ID": "full"})["ID"])
    assert failed["State"] == "failed" and "database or disk is full" in failed["Error"]
    monkeypatch.undo()
    assert wait_state(proxy, proxy.front_desk({**DOC_DOME, "ID": "next"})["ID"])["State"] == "done"


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MiB filesystem of its own (tmpfs): filling it fills nothing else."""
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root (CI runs as root)")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True, text=True)
    if done.returncode != 0:  # a container without CAP_SYS_ADMIN; the injected write error test still runs
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_is_fault_5_until_it_has_room_and_nothing_accepted_is_lost(tmp_path, small_disk, caplog):
    service = DomeService(make_config(tmp_path), journal=str(small_disk / "journal.sqlite"))
    service.serve(0)
    proxy = _proxy(service)
    try:
        assert wait_state(proxy, proxy.front_desk({**DOC_DOME, "ID": "before"})["ID"])["State"] == "done"
        filler = small_disk / "filler"
        with open(filler, "wb") as f:  # fill the disk to the last block
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        refused = 0
        for i in range(20):  # SQLite's pages already allotted take a few; then the disk is full
            try:
                proxy.front_desk({**DOC_DOME, "ID": f"full-{i}"})
            except xmlrpc.client.Fault as fault:
                assert fault.faultCode == FAULT_SERVER and "disk is full" in fault.faultString
                assert "send it again later" in fault.faultString
                refused += 1
        assert refused
        health = proxy.health()
        assert health["Healthy"] is False and "disk is full" in health["Journal"]
        assert service._worker.is_alive()
        filler.unlink()
        assert proxy.front_desk({**DOC_DOME, "ID": "room-again"})["State"] == "queued"
        assert wait_state(proxy, "room-again")["State"] == "done"
        assert proxy.health()["Healthy"] is True
        assert wait_state(proxy, "before")["State"] == "done"
    finally:
        service.stop()


def test_an_internal_error_is_fault_5_with_a_log_reference(dome, monkeypatch, caplog):
    monkeypatch.setattr(dome.journal, "list", lambda limit: 1 / 0)
    with pytest.raises(xmlrpc.client.Fault) as fault:
        _proxy(dome).list_orders()
    text = fault.value.faultString
    assert fault.value.faultCode == FAULT_SERVER and "<class" not in text and "ZeroDivisionError" not in text
    reference = text.rsplit("reference ", 1)[1]
    assert f"reference {reference}" in caplog.text and "ZeroDivisionError" in caplog.text


def test_systemd_is_told_ready_and_the_watchdog_is_fed_only_while_healthy(tmp_path, monkeypatch):
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    address = str(tmp_path / "notify")
    listener.bind(address)
    listener.settimeout(5)
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    monkeypatch.setenv("WATCHDOG_USEC", "200000")
    service = DomeService(make_config(tmp_path))
    service.serve(0)
    try:
        messages = [listener.recv(4096).decode() for _ in range(3)]
        assert messages[0].startswith("READY=1") and "WATCHDOG=1" in messages
        service._stop.set()  # the worker ends: systemd must hear no more WATCHDOG=1
        service._worker.join(5)
        deadline = time.monotonic() + 3
        seen = []
        while time.monotonic() < deadline:
            try:
                seen.append(listener.recv(4096).decode())
            except TimeoutError:
                break
            if any("worker dead" in m for m in seen):
                break
        assert any(m.startswith("STATUS=") and "worker dead" in m for m in seen)
        listener.settimeout(0.5)
        with pytest.raises(TimeoutError):
            while True:
                assert listener.recv(4096) != b"WATCHDOG=1"
    finally:
        service.stop()
        listener.close()


def test_no_traceback_reaches_the_log_of_a_refusal(dome, caplog):
    caplog.set_level(logging.INFO, "toros")
    with pytest.raises(xmlrpc.client.Fault) as fault:
        _proxy(dome).front_desk({**DOC_DOME, "ID": "x" * 210_000})
    assert len(fault.value.faultString) <= 600
    assert all(len(record.getMessage()) < 1000 for record in caplog.records)


def test_the_worker_take_joins_the_accepts_group_commit_and_each_order_runs_once(tmp_path):
    """A take waiting behind a commit goes to disk with the accepts that waited with it: one fsync, not two."""
    journal = Journal(tmp_path / "journal.sqlite", "dome")
    commits: list[str] = []
    first, release = threading.Event(), threading.Event()

    def trace(sql: str) -> None:  # hold the first commit, as a slow disk would
        if sql == "COMMIT":
            commits.append(sql)
            if not first.is_set():
                first.set()
                release.wait(30)

    journal._db.set_trace_callback(trace)
    taken: list[dict] = []
    accept = threading.Thread(target=journal.accept, args=("a", "Dome", 0.0, {"ID": "a"}))
    accept.start()
    assert first.wait(30)
    worker = threading.Thread(target=lambda: taken.append(journal.next(5.0)))
    worker.start()
    second = threading.Thread(target=journal.accept, args=("b", "Dome", 0.0, {"ID": "b"}))
    second.start()
    deadline = time.monotonic() + 30
    while len(journal._queue) < 2:  # the take and the second accept wait for the commit under way
        assert time.monotonic() < deadline
        time.sleep(0.01)
    release.set()
    for thread in (accept, worker, second):
        thread.join(30)
    assert len(commits) == 2  # the first accept's, then one for the take and the second accept together
    assert taken[0]["id"] == "a" and journal.get("a")["state"] == "running"
    assert journal.get("b")["state"] == "queued"
    journal._db.set_trace_callback(None)

    # Under load: 4 clients and the worker, every order accepted once and run once, every outcome kept.
    ids = [f"c{n}-{i}" for n in range(4) for i in range(50)]
    ran: list[str] = ["a"]

    def client(n: int) -> None:
        for i in range(50):
            journal.accept(f"c{n}-{i}", "Dome", 0.0, {"ID": f"c{n}-{i}"})

    def work() -> None:
        outcomes = [("a", "done", "ok", "", "")]
        while len(ran) < len(ids) + 2:
            row = journal.next(0.5, finished=outcomes)
            outcomes = [(row["id"], "done", "ok", "", "")] if row else []
            if row:
                ran.append(row["id"])
        journal.next(0.0, finished=outcomes)

    clients = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    worker = threading.Thread(target=work)
    for thread in (*clients, worker):
        thread.start()
    for thread in (*clients, worker):
        thread.join(60)
    assert sorted(ran) == sorted(["a", "b", *ids])
    assert journal.counts()["done"] == len(ids) + 2 and journal.counts()["running"] == 0
    journal.close()


def test_a_cancel_asked_while_running_is_seen_between_steps_and_after_a_restart(tmp_path):
    path = tmp_path / "journal.sqlite"
    journal = Journal(path, "dome")
    journal.accept("x", "Dome", 0.0, {"ID": "x"})
    assert journal.next(1.0)["id"] == "x" and not journal.cancel_requested("x")
    assert journal.cancel("x")["cancel_requested"] == 1
    assert journal.cancel_requested("x")
    journal.close()
    journal = Journal(path, "dome")  # the daemon stopped before the order saw it: it resumes, still to be stopped
    assert journal.recover(requeue=True) == ["x"]
    assert journal.next(1.0)["id"] == "x" and journal.cancel_requested("x")
    assert journal.next(0.0, finished=[("x", "cancelled", "", "cancelled while running", "")]) is None
    assert journal.get("x")["state"] == "cancelled" and not journal.cancel_requested("x")
    journal.close()
