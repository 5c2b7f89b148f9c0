"""Where the alerts daemon's alerts come from besides ``front_desk``: GCN over Kafka, and a watched folder.

Both hand each alert to `AlertsService.receive` (the journal's accept, as
``front_desk``) and let go of it only once it is journalled: the Kafka
offset is committed after the receipt, the file is moved to ``accepted/``
after it. An alert refused as invalid is let go of too (it would be
refused again), logged and, for a file, moved to ``refused/`` beside a
``.why``; a journal that cannot take it (disk full) keeps it where it is, to
be tried again.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any
from xmlrpc.client import Fault

from torosdrivers.daemons.frame.journal import utc_stamp
from torosdrivers.daemons.frame.workorders import FAULT_INVALID, shorten

__all__ = ["FolderSource", "KafkaSource", "read_credentials", "sources_of"]

log = logging.getLogger("toros.alerts")

#: Seconds a file must stay unchanged before it is taken (a writer still copying it in).
SETTLE = 1.0
#: Seconds between two looks at the folder.
SCAN_EVERY = 0.5
#: Seconds between two tries of an alert the journal could not take.
RETRY_EVERY = 2.0


class _Source:
    """A thread that takes alerts until stopped, and says how it is doing."""

    kind = ""

    def __init__(self, service) -> None:
        self.service = service
        self.taken = self.refused = 0
        self.last = ""
        self.problem = ""
        self.refusal = ""  # why the last refused alert was
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"toros-alerts-{self.kind}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.loop()
            except Exception as exc:  # the source must outlive what it meets: log, wait, go on
                self.problem = f"{type(exc).__name__}: {exc}"
                log.exception("%s: %s; going on", self.where(), exc)
                self._stop.wait(RETRY_EVERY)

    def take(self, text: str, origin: str) -> bool | None:
        """Hand one alert over: True once journalled, False when refused as invalid (let go of it), None when
        it could not be journalled now (keep it, try again)."""
        try:
            receipt = self.service.receive(text, origin)
        except Fault as fault:
            if fault.faultCode == FAULT_INVALID:
                self.refused += 1
                self.refusal = fault.faultString
                log.warning("%s: refused %s: %s", self.where(), origin, shorten(fault.faultString, 400))
                return False
            self.problem = f"not journalled: {fault.faultString}"
            log.error("%s: %s not journalled (%s); trying again", self.where(), origin, fault.faultString)
            return None
        self.taken += 1
        self.last, self.problem = utc_stamp(), ""
        log.info("%s: %s taken as %s%s", self.where(), origin, receipt["ID"],
                 " (already had it)" if receipt["Duplicate"] else "")
        return True

    def describe(self) -> dict[str, Any]:
        return {"Source": self.where(), "Taken": self.taken, "Refused": self.refused, "Last": self.last,
                "Problem": self.problem, "Running": self._thread.is_alive()}

    def where(self) -> str:
        raise NotImplementedError

    def loop(self) -> None:
        raise NotImplementedError


class FolderSource(_Source):
    """``*.json`` alerts dropped in a folder (by a script, a mail filter, a copy from another machine).

    A file is taken once it has not changed for `SETTLE` seconds; then moved to ``accepted/`` or to
    ``refused/`` with ``<name>.why``. Files whose names start with a dot are left alone (writers' temporaries).
    """

    kind = "folder"

    def __init__(self, service, folder: str | os.PathLike, max_bytes: int) -> None:
        super().__init__(service)
        self.folder = Path(folder)
        self.max_bytes = int(max_bytes)

    def where(self) -> str:
        return f"folder {self.folder}"

    def loop(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        while not self._stop.is_set():
            self.scan()
            self._stop.wait(SCAN_EVERY)

    def scan(self) -> None:
        """Take every settled ``*.json`` file once."""
        for path in sorted(self.folder.glob("*.json")):
            if self._stop.is_set() or path.name.startswith(".") or not path.is_file() or path.is_symlink():
                continue
            stat = path.stat()
            if time.time() - stat.st_mtime < SETTLE:
                continue
            if stat.st_size > self.max_bytes:
                self._move(path, "refused", f"{stat.st_size} bytes, over Alerts: Max Alert Bytes ({self.max_bytes})")
                self.refused += 1
                continue
            try:
                text = path.read_bytes().decode("utf-8")
            except UnicodeDecodeError as exc:
                self._move(path, "refused", f"not UTF-8 text ({exc})")
                self.refused += 1
                continue
            outcome = self.take(text, f"file {path.name}")
            if outcome is None:
                return  # the journal cannot take it now: the next scan tries again
            if outcome:
                self._move(path, "accepted")
            else:
                self._move(path, "refused", self.refusal)

    def _move(self, path: Path, to: str, why: str = "") -> None:
        folder = self.folder / to
        folder.mkdir(exist_ok=True)
        target = folder / path.name
        n = 1
        while target.exists():  # the same name again (an alert sent twice): both kept
            target = folder / f"{path.stem}.{n}{path.suffix}"
            n += 1
        if why:
            target.with_name(target.name + ".why").write_text(why + "\n")
        shutil.move(str(path), str(target))


def read_credentials(path: str | os.PathLike) -> tuple[str, str]:
    """``client_id`` and ``client_secret`` from a GCN credentials file: the two lines GCN's "Start
    streaming" page gives (``client_id='...'``), as ``KEY=VALUE`` or ``KEY: VALUE``, quotes optional.

    Raises
    ------
    ValueError
        Either is missing (naming the file).
    """
    found: dict[str, str] = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip().rstrip(",")
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=") if "=" in line else line.partition(":")
        if sep:
            found[key.strip().lower()] = value.strip().strip("'\"")
    missing = [k for k in ("client_id", "client_secret") if not found.get(k)]
    if missing:
        raise ValueError(f"{path}: no {' or '.join(missing)} (expected the lines client_id=... and "
                         "client_secret=... that GCN gives)")
    return found["client_id"], found["client_secret"]


class KafkaSource(_Source):
    """GCN's Kafka stream, through its official client (``gcn-kafka``, built on confluent-kafka).

    The consumer commits nothing by itself (``enable.auto.commit: false``): a message's offset is committed
    once its alert is journalled or refused, so an alert never acknowledged is delivered again after a restart.
    With ``Kafka Servers`` set (a broker of one's own) and no credentials, it connects in plain text.
    """

    kind = "kafka"

    def __init__(self, service, settings: dict[str, Any]) -> None:
        super().__init__(service)
        self.topic = str(settings["Kafka Topic"])
        self.servers = str(settings["Kafka Servers"])
        self.domain = str(settings["Kafka Domain"])
        self.credentials = str(settings["Kafka Credentials"])
        self.group = str(settings["Kafka Group"])
        self.start_at = str(settings.get("Kafka From", "latest"))
        self.max_bytes = int(settings["Max Alert Bytes"])

    def where(self) -> str:
        return f"GCN Kafka {self.topic} at {self.servers or 'kafka.' + self.domain}"

    def consumer(self):
        """The ``gcn_kafka.Consumer`` as configured."""
        import gcn_kafka

        config: dict[str, Any] = {"group.id": self.group, "enable.auto.commit": False,
                                  "auto.offset.reset": self.start_at,
                                  "fetch.message.max.bytes": max(self.max_bytes, 1048576)}
        client_id = client_secret = None
        if self.credentials:
            client_id, client_secret = read_credentials(self.credentials)
        if self.servers:
            config["bootstrap.servers"] = self.servers
            if not self.credentials:
                config["security.protocol"] = "plaintext"
        return gcn_kafka.Consumer(config, client_id=client_id, client_secret=client_secret, domain=self.domain)

    def loop(self) -> None:
        from confluent_kafka import KafkaError

        consumer = self.consumer()
        try:
            consumer.subscribe([self.topic])
            log.info("%s: subscribed (group %s)", self.where(), self.group)
            while not self._stop.is_set():
                for message in consumer.consume(num_messages=10, timeout=1.0):
                    if self._stop.is_set():
                        return  # not committed: delivered again at the next start
                    error = message.error()
                    if error is not None:
                        if error.code() != KafkaError._PARTITION_EOF:
                            self.problem = str(error)
                            log.warning("%s: %s", self.where(), error)
                        continue
                    if not self._take_message(message):
                        return
                    consumer.commit(message=message, asynchronous=False)
        finally:
            consumer.close()

    def _take_message(self, message) -> bool:
        """Whether the message is settled (journalled or refused); False if stopped before it was."""
        origin = f"kafka {message.topic()}[{message.partition()}]@{message.offset()}"
        value = message.value() or b""
        if len(value) > self.max_bytes:
            self.refused += 1
            log.warning("%s: refused %s: %d bytes, over Alerts: Max Alert Bytes", self.where(), origin, len(value))
            return True
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.refused += 1
            log.warning("%s: refused %s: not UTF-8 (%s)", self.where(), origin, exc)
            return True
        while self.take(text, origin) is None:
            if self._stop.wait(RETRY_EVERY):
                return False
        return True


def sources_of(service) -> list[_Source]:
    """The sources ``Alerts`` configures: the folder when ``Folder`` is set, Kafka when ``Kafka`` is true."""
    settings = service.config["Alerts"]
    out: list[_Source] = []
    if settings["Folder"]:
        out.append(FolderSource(service, os.path.expanduser(settings["Folder"]), settings["Max Alert Bytes"]))
    if settings["Kafka"]:
        out.append(KafkaSource(service, settings))
    return out
