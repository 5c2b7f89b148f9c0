"""What every TOROS daemon is: XML-RPC ``front_desk`` over a journal and a worker.

``front_desk(work_order)`` checks the order completely (against the device
capabilities read at connect, never by asking a device), journals it durably
and answers a receipt at once; a worker thread runs the orders by priority
then arrival. ``status(ID)``, ``cancel(ID)``, ``list_orders()``,
``health()``, ``safety()`` and ``state()`` complete the interface; their
structures are documented in `torosdrivers.daemons.frame.status`.

What keeps a daemon trustworthy unattended:

- A bad order is Fault 1 naming the field; a journal that cannot be written
  (disk full) is Fault 5 for every new order until it can, and ``health``
  says so; nothing already accepted is lost.
- The worker never dies: any exception fails the order in hand with the
  reason, is logged with its traceback, and the loop goes on.
- An order interrupted by a cause that passes (its devices dropped, a device
  busy, another client moving the devices under it, a frame rejected, its
  daemon killed where the service can resume: `requeues_interrupted`) goes
  back in the queue with the reason, its Details so far kept, and resumes;
  after `max_retries` such interruptions it fails with ``Cause: retries``.
  The weather and preemptions interrupt without counting.
- A device that drops (found by the ping before each order and every
  `PING_INTERVAL` s of idling, or by an order failing on the link) is
  reconnected with backoff, logged; the capabilities the order check uses are
  read again on reconnect. Orders wait in the queue meanwhile, unrun.
- Under systemd (``Type=notify``, ``WatchdogSec``) the daemon reports ready,
  and feeds the watchdog only while its worker and server are healthy.
"""

from __future__ import annotations

import abc
import json
import logging
import os
import threading
import time
from typing import Any, Callable
from xmlrpc.client import Fault

from astropy.time import Time

from torosdrivers._version import __version__
from torosdrivers.config import Config
from torosdrivers.errors import CommunicationError, DeviceBusyError, DeviceTimeoutError, DriverError, NotConnectedError, \
    ParkedError

from torosdrivers.daemons.frame import notify
from torosdrivers.daemons.frame.journal import Journal, JournalError, utc_stamp
from torosdrivers.daemons.frame.logs import keep_recent, recent
from torosdrivers.daemons.frame.rpc import RPCServer
from torosdrivers.daemons.frame.security import server_tls, token_of
from torosdrivers.daemons.frame.status import Result, StatePoller, order_status
from torosdrivers.daemons.frame.workorders import (FAULT_DEVICE, FAULT_INVALID, FAULT_SERVER, FAULT_UNKNOWN_ORDER,
                                                  Order, WorkOrderError, every_problem, shorten)

__all__ = ["Service", "OrderCancelled", "OrderInterrupted", "RECONNECT_BACKOFF"]

#: Seconds between reconnect attempts: doubling from the first to the last, then the last. The last is short
#: because a device server restarted is back within seconds and the night's orders wait on it; an attempt is
#: one request per device.
RECONNECT_BACKOFF = (0.5, 4.0)
#: Seconds the devices may stay out of reach (logged as warnings) before it is logged as an error.
QUIET_MISSES = 10.0
#: The idle worker pings its devices this often (seconds): a device server restarted is found within it.
PING_INTERVAL = 2.0
#: A worker whose idle loop has not turned for this long (seconds) is unhealthy.
STALL_SECONDS = 30.0
_LINK_ERRORS = (NotConnectedError, CommunicationError, DeviceTimeoutError)
#: Errors of a running order that pass: the order goes back in the queue (a bounded number of times). A mount
#: parked under the order (by another client, or another daemon's supervisor that saw the rain first) is one.
_PASSING_ERRORS = _LINK_ERRORS + (DeviceBusyError, ParkedError)


class OrderCancelled(Exception):
    """A running order saw its cancellation (or the safety supervisor's interruption)."""


class OrderInterrupted(Exception):
    """A running order met a cause that passes (a frame taken blind, a device moved under it by another
    client): it goes back in the queue and resumes, the interruption counted against `Service.max_retries`."""


def _receipt(row: dict, duplicate: bool = False) -> dict[str, Any]:
    return {"ID": row["id"], "State": row["state"], "Priority": row["priority"], "WOType": row["wotype"],
            "Received": row["received"], "Service": row["service"], "Duplicate": duplicate}


class Service(abc.ABC):
    """A work-order daemon.

    Parameters
    ----------
    config
        The loaded configuration.
    journal
        Path of this daemon's journal (default: ``Database.Journal`` with the
        service name added).

    Raises
    ------
    JournalBusyError
        Another daemon owns the journal.
    JournalError
        The journal cannot be opened.
    """

    #: Name of the service: "telescope", "dome", "preprocessor".
    name = ""
    #: Section of the configuration with its address.
    address_key = ""
    #: Whether an order found running at start goes on (the scheduler's, whose blocks are each accounted
    #: for) rather than being marked failed (an observation half taken cannot be resumed blindly).
    resumes_running = False
    #: Whether an order found running at start goes back in the queue to resume (the telescope's, which
    #: recognises its verified frames on disk) rather than being marked failed.
    requeues_interrupted = False
    #: Interruptions by a passing fault (devices dropped, the daemon killed, a frame rejected) an order may
    #: meet before it fails; the weather and preemptions do not count.
    max_retries = 5

    def __init__(self, config: Config, journal: str | None = None) -> None:
        self.config = config
        base = str(config["Database"]["Journal"])
        path = journal or (base[: -len(".sqlite")] if base.endswith(".sqlite") else base) + f"-{self.name}.sqlite"
        self.journal = Journal(path, self.name)
        self.log = logging.getLogger(f"toros.{self.name}")
        keep_recent()
        self._stop = threading.Event()  # the worker's
        self._closed = threading.Event()  # the whole daemon's
        self._worker = threading.Thread(target=self._work, name=f"toros-{self.name}-worker", daemon=True)
        self._server_thread: threading.Thread | None = None
        self.server: RPCServer | None = None
        self._loop_at = time.monotonic()  # when the worker loop last turned
        self._doing = "starting"
        self._running: str | None = None  # the order in hand
        self._unfinished: list[tuple[str, str, str, str, str]] = []  # (ID, state, result, error, details)
        self._step: dict[str, Any] = {}  # the running order's step: Text, At, Seconds, Ends
        #: The last frame written: Path, Object, Filter, Exposure, Start, Type, Order (the telescope's).
        self.latest_frame: dict[str, Any] = {}
        self._poller: StatePoller | None = None
        self._process = f"{os.getpid()}@{utc_stamp()}"  # tells a watcher this daemon restarted
        self._devices_ok = False
        self._device_problem = "not connected yet"
        #: The safety supervisor of a service that opens the dome (torosdrivers/observatory/safety.py); None otherwise.
        self.supervisor = None
        self._interrupt = threading.Event()  # set by the supervisor: the running order must stop
        self._interrupt_reason = ""
        self._safety_waits = False  # some queued order's note says it waits for safety
        self._deferred: dict[str, float] = {}  # order ID -> monotonic time before which it is not tried again
        self._idle_since = None  # observatory time the queue was last found with nothing to run
        self._retry_at = 0.0
        self._backoff = RECONNECT_BACKOFF[0]
        self._failing_since: float | None = None
        self._pinged_at = 0.0

    # -- XML-RPC methods -------------------------------------------------------------
    def front_desk(self, work_order: Any) -> dict[str, Any]:
        """Accept a work order: check it, journal it, and answer a receipt (it runs later)."""
        try:
            order = self.validate(work_order)
        except WorkOrderError as exc:
            problems = every_problem(self.validate, work_order, exc) if exc.code == FAULT_INVALID else [str(exc)]
            text = problems[0] + "".join(f"; also {p}" for p in problems[1:])  # every bad field, the first first
            self.log.info("refused a work order: %s", shorten(text, 600))
            raise Fault(exc.code, text) from None
        except DriverError as exc:  # capabilities not read yet: the devices have not been reached
            raise Fault(FAULT_DEVICE, f"cannot check the work order: {exc}") from None
        try:
            row, created = self.journal.accept(order.id, order.wotype, order.priority, order.raw)
        except JournalError as exc:
            self.log.error("refused %s: %s", order.id, exc)
            raise Fault(FAULT_SERVER, f"the order was not accepted: {exc}; send it again later") from None
        if created:
            self.log.info("accepted %s %s (priority %g)", order.wotype, order.id, order.priority)
        else:
            self.log.info("duplicate ID %s: answered with the existing order's receipt", order.id)
        return _receipt(row, duplicate=not created)

    def status(self, order_id: str) -> dict[str, Any]:
        """State, progress, result or error of an order."""
        row = self.journal.get(str(order_id))
        if row is None:
            raise Fault(FAULT_UNKNOWN_ORDER, f"ID={str(order_id)[:120]!r}: no such work order at the {self.name} daemon")
        return self._order(row)

    def _order(self, row: dict) -> dict[str, Any]:
        return order_status(row, self._step if row["id"] == self._running else None)

    def cancel(self, order_id: str) -> dict[str, Any]:
        """Cancel a queued order; stop a running one (its exposure is aborted, so a long one ends now)."""
        try:
            row = self.journal.cancel(str(order_id))
        except JournalError as exc:
            raise Fault(FAULT_SERVER, f"cannot cancel: {exc}") from None
        if row is None:
            raise Fault(FAULT_UNKNOWN_ORDER, f"ID={str(order_id)[:120]!r}: no such work order at the {self.name} daemon")
        self.log.info("cancel of %s asked (state %s)", order_id, row["state"])
        if row["state"] == "running" and row["id"] == self._running:
            try:
                self.abort_running()
            except DriverError as exc:  # the order still stops at its next step
                self.log.warning("cancel of %s: could not abort what it was doing: %s", order_id, exc)
        return self._order(row)

    def preempt(self, order_id: str, reason: str = "a time-critical order") -> dict[str, Any]:
        """Stop the running order ``order_id`` at its next safe point (between exposures) and put it back in
        the queue, to resume where it stopped once the orders above it have run (the scheduler's transients)."""
        row = self.journal.get(str(order_id))
        if row is None:
            raise Fault(FAULT_UNKNOWN_ORDER, f"ID={str(order_id)[:120]!r}: no such work order at the {self.name} daemon")
        if row["id"] == self._running:
            self.log.info("%s preempted: %s", order_id, reason)
            self.interrupt(f"preempted by {shorten(str(reason), 120)}")
        return self._order(row)

    def list_orders(self) -> list[dict[str, Any]]:
        """The latest 100 orders, newest first."""
        return [self._order(r) for r in self.journal.list(100)]

    def state(self, log_after: int = 0) -> dict[str, Any]:
        """The daemon at a glance: health, safety, devices, queue, recent orders, latest frame and log lines
        numbered above ``log_after`` (see `torosdrivers.daemons.frame.status`)."""
        sampled, devices = self._poller.latest() if self._poller is not None else ("", {})
        try:
            queue = [self._order(r) for r in reversed(self.journal.list(200, states=("queued", "running")))]
            latest = [self._order(r) for r in self.journal.list(20)]
        except JournalError:  # health() names the journal's problem
            queue, latest = [], []
        return {"Service": self.name, "Version": __version__, "Process": self._process, "Time": utc_stamp(),
                "Health": self.health(), "Safety": self.safety(), "Devices": devices, "Devices Sampled": sampled,
                "Queue": queue, "Recent": latest, "Latest Frame": self.latest_frame,
                "Log": [[n, line] for n, line in recent(int(log_after))]} | self.extra_state()

    def extra_state(self) -> dict[str, Any]:
        """What a service adds to `state` (the telescope: its last solve and focus)."""
        return {}

    def health(self) -> dict[str, Any]:
        """Whether this daemon can take and run orders, and why not.

        ``Healthy`` is what systemd's watchdog and monitors act on: the worker
        is alive and turning (or running an order), the server thread is
        alive, and the journal can be written. ``Ready`` says more: healthy,
        and ``front_desk`` accepts orders now (it has read the capabilities
        its order check needs); ``Not Ready`` says why not. A script waits for
        ``Ready`` before it submits; systemd gets ``READY=1`` then.
        """
        alive = self._worker.is_alive()
        age = time.monotonic() - self._loop_at
        worker = "dead" if not alive else self._doing
        if alive and self._running is None and age > STALL_SECONDS:
            worker = f"stalled for {age:.0f} s ({self._doing})"
        server = self._server_thread is None or self._server_thread.is_alive()
        problems = []
        if worker == "dead" or worker.startswith("stalled"):
            problems.append(f"worker {worker}")
        if not server:
            problems.append("XML-RPC server thread stopped")
        if self.journal.error:
            problems.append(self.journal.error)
        try:
            counts = self.journal.counts()
        except JournalError as exc:
            counts = {}
            problems.append(str(exc))
        devices = "connected" if self._devices_ok else f"{self._device_problem}; next attempt in " \
            f"{max(0.0, self._retry_at - time.monotonic()):.0f} s"
        waiting = "; ".join(problems) or self.not_ready()
        return {"Service": self.name, "Version": __version__, "Healthy": not problems, "Problems": problems,
                "Ready": not waiting, "Not Ready": waiting or "",
                "Worker": worker, "Running": self._running or "", "Last Loop Age": round(age, 3),
                "Journal": self.journal.error or "ok", "Devices": devices, "Orders": counts}

    def safety(self) -> dict[str, Any]:
        """The safety supervisor's verdict (safe or not, why, Sun altitude, conditions, when it may open)
        and the night's timeline of what it did."""
        if self.supervisor is None:
            return {"Safe": True, "Reasons": [], "Supervised": False, "Events": []}
        return self.supervisor.state.as_dict() | {"Supervised": True,
                                                  "Events": [f"{t} {what}" for t, what in self.supervisor.events]}

    # -- life ---------------------------------------------------------------------------
    def serve(self, port: int | None = None) -> RPCServer:
        """Start the worker and the XML-RPC server (in background threads); returns the server."""
        host, configured = self.config.address(self.address_key)
        security = self.config["Security"]
        self.server = RPCServer(
            (host, configured if port is None else port), allowed=self.config.allowed_networks,
            max_request_bytes=self.max_request_bytes(), client_timeout=float(security["Client Timeout"]),
            max_connections=int(security["Max Connections"]), allowed_hosts=security["Allowed Hosts"],
            allowed_origins=security["Allowed Origins"], token=token_of(self.config), tls=server_tls(self.config),
            title=f"TOROS {self.name} daemon")
        self.server.set_server_documentation(
            f"The TOROS {self.name} daemon: send work orders to front_desk, follow them with status and "
            "list_orders, watch the daemon with state, health and safety. The structures are documented in "
            "torosdrivers.daemons.frame.status; the operators' web page (toros-web) shows them live.")
        for method in self.rpc_methods():
            self.server.register_function(method)
        self.start()
        if self.status_devices() is not None:
            self._poller = StatePoller(self.status_devices()).start()
        if self.supervisor is not None:
            self.supervisor.start()
        self._server_thread = threading.Thread(target=self.server.serve_forever, args=(0.1,),
                                               name=f"toros-{self.name}-rpc", daemon=True)
        self._server_thread.start()
        self.log.info("serving XML-RPC on %s://%s:%d", "https" if self.server.tls else "http",
                      *self.server.server_address[:2])
        notify.start(self, self.name, self._closed)
        return self.server

    def start(self) -> None:
        if self.requeues_interrupted:
            for order_id in self.journal.recover(requeue=True):
                self.log.warning("order %s was interrupted by the last shutdown: back in the queue to resume",
                                 order_id)
        elif not self.resumes_running:
            for order_id in self.journal.recover():
                self.log.warning("order %s was interrupted by the last shutdown: marked failed", order_id)
        self._reconnect(first=True)
        self._worker.start()

    def stop(self) -> None:
        """Stop serving; let the step under way end (an exposure is finished, not wasted), and put its order
        back in the queue to resume at the next start. The supervisor watches until the devices are let go."""
        self._closed.set()
        self._stop.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        if self._running is not None:
            self.log.info("stopping: %s ends its step first, then waits in the queue for the next start",
                          self._running)
        if self._worker.is_alive():
            self._worker.join()
        if self.supervisor is not None:
            self.supervisor.stop()
        if self._poller is not None:
            self._poller.stop()
        self.disconnect()
        self.journal.close()

    # -- devices --------------------------------------------------------------------------
    def _reconnect(self, first: bool = False) -> bool:
        """Connect the devices and read their capabilities; on failure schedule the next attempt."""
        if not first:
            self.log.info("reconnecting the devices (%s)", self._device_problem)
            try:
                self.disconnect()
            except Exception:  # a half-gone link may fail to close; the connect below decides
                self.log.debug("disconnect before reconnecting failed", exc_info=True)
        try:
            self.connect()
        except DriverError as exc:
            self._devices_ok = False
            self._device_problem = f"cannot connect: {exc}"
            self._retry_at = time.monotonic() + self._backoff
            # A warning while the miss is young (at start a peer may still be reading its devices); an error once
            # it has lasted QUIET_MISSES seconds
            now = time.monotonic()
            self._failing_since = self._failing_since or now
            level = logging.WARNING if now - self._failing_since < QUIET_MISSES else logging.ERROR
            self.log.log(level, "%s; retrying in %.1f s", self._device_problem, self._backoff)
            self._backoff = min(self._backoff * 2, RECONNECT_BACKOFF[1])
            return False
        if not first or not self._devices_ok:
            self.log.info("devices connected")
        self._devices_ok, self._device_problem = True, ""
        self._backoff = RECONNECT_BACKOFF[0]
        self._failing_since = None
        self._pinged_at = time.monotonic()
        return True

    def _dropped(self, why: str) -> None:
        self.log.error("devices dropped: %s", why)
        self._devices_ok, self._device_problem, self._retry_at = False, f"dropped: {why}", time.monotonic()

    def _devices_ready(self) -> bool:
        """Between orders: reconnect when due, ping when idle long enough."""
        now = time.monotonic()
        if not self._devices_ok:
            return now >= self._retry_at and self._reconnect()
        if now - self._pinged_at >= PING_INTERVAL:
            self._pinged_at = now
            try:
                self.ping()
            except DriverError as exc:
                self._dropped(str(exc))
                return False
        return True

    # -- the worker -------------------------------------------------------------------------
    def _work(self) -> None:
        while not self._stop.is_set():
            self._loop_at = time.monotonic()
            try:
                self.work_once()
            except Exception:  # the loop itself failed (the journal, most likely): log, wait, go on
                self.log.exception("worker loop error; going on")
                self._doing = "recovering from a loop error"
                self._stop.wait(1.0)
        try:
            self._record_outcomes()
        except JournalError as exc:
            self.log.error("stopping with outcomes the journal could not take: %s (%s)", self._unfinished, exc)

    def _record_outcomes(self) -> None:
        while self._unfinished:
            order_id, state, result, error, details = self._unfinished[0]
            self.journal.finish(order_id, state, result=result, error=error, details=details)
            self._unfinished.pop(0)

    def work_once(self) -> None:
        """One turn of the worker: take the next order and run it (the scheduler turns its own way)."""
        if not self._devices_ready():
            self._record_outcomes()
            self._doing = f"waiting for the devices ({self._device_problem})"
            self._stop.wait(0.2)
            return
        self._doing = "idle"
        now = time.monotonic()
        self._deferred = {k: v for k, v in self._deferred.items() if v > now}
        row = self.journal.next(timeout=0.2, finished=self._unfinished, skip=tuple(self._deferred))
        self._unfinished.clear()  # recorded with the take: one commit
        if row is None:
            self.idle()
            return
        self._idle_since = None
        try:
            self.ping()  # before anything moves: a device server restarted since the last order is found here
        except DriverError as exc:
            self._dropped(str(exc))
            self.journal.requeue(row["id"], f"waiting: devices dropped ({exc}); reconnecting")
            self.log.warning("%s back in the queue until the devices are back", row["id"])
            return
        self._running = row["id"]
        self._doing = f"running {row['id']}"
        try:
            self._run(row)
        finally:
            self._running = None
            self._step = {}
            self._pinged_at = time.monotonic()

    def interrupt(self, reason: str) -> None:
        """Stop the running order between steps (the supervisor aborts what moves); it stays queued."""
        self._interrupt_reason = reason
        self._interrupt.set()

    def _defer(self, order_id: str) -> None:
        """Pass over a waiting order until the supervisor has looked again."""
        self._deferred[order_id] = time.monotonic() + (self.supervisor.period if self.supervisor else 1.0)

    def _wait_for_its_moment(self, order: Order) -> bool:
        """Whether the order must wait (back in the queue, or failed past its deadline); False to run it now."""
        why = self.ready(order)
        if why is None:
            return False
        now = self.supervisor.now() if self.supervisor is not None else Time.now()
        if order.deadline and now > Time(order.deadline):
            self._finish(order.id, "failed", error=f"not run by its deadline {order.deadline}: {why}",
                         details=self._details("final"))
            self.log.error("%s failed: deadline %s passed while waiting: %s", order.id, order.deadline, why)
            return True
        self.journal.requeue(order.id, f"waiting: {why}")
        self._safety_waits = self._safety_waits or why.startswith("not safe")
        self._defer(order.id)
        self.log.debug("%s waits: %s", order.id, why)
        return True

    def _run(self, row: dict) -> None:
        order_id = row["id"]
        try:
            order = self.validate(json.loads(row["body"]))
            if self._wait_for_its_moment(order):
                return
            if int(row.get("attempts") or 0) > self.max_retries:
                error = f"gave up after {row['attempts']} interruptions (at most {self.max_retries}); the last: " \
                        f"{row['progress']}"
                # Not final: each interruption passed; a scheduler may plan the order again later in the night.
                self._finish(order_id, "failed", error=error, details=self._details("retries", row["details"]))
                self.log.error("%s failed: %s", order_id, error)
                return
            self.log.info("running %s", order_id)
            if self._safety_waits:  # safe now (this one runs): a wait for safety noted on others no longer holds
                self._safety_waits = False
                self.journal.supersede("waiting: not safe", f"queued behind {order_id} (safe now)")
            self._interrupt.clear()
            result = self.run(order, lambda text, seconds=0.0: self._progress(order_id, text, seconds),
                              lambda: (self.journal.cancel_requested(order_id) or self._stop.is_set()
                                       or self._interrupt.is_set()))
        except (OrderCancelled, OrderInterrupted, DriverError) as exc:
            # Stopped by the supervisor, whichever daemon's aborted what moved: an interruption, not a failure.
            unsafe = self.supervisor is not None and not self.supervisor.state.safe
            cancel = self.journal.cancel_requested(order_id)
            if (self._interrupt.is_set() or unsafe) and not cancel:
                reason = self._interrupt_reason if self._interrupt.is_set() else \
                    "not safe: " + "; ".join(self.supervisor.state.reasons)
                self._requeue(order_id, f"interrupted: {reason}; back in the queue, it resumes where it stopped")
            elif self._stop.is_set() and not cancel:
                self._requeue(order_id, "the daemon stopped; resumes when it starts again")
            elif isinstance(exc, OrderCancelled) or cancel:
                self._finish(order_id, "cancelled", error="cancelled while running", details=self._details())
                self.log.info("%s cancelled", order_id)
            elif isinstance(exc, (OrderInterrupted, *_PASSING_ERRORS)):
                if isinstance(exc, _LINK_ERRORS):
                    self._dropped(str(exc))
                    why = f"the devices dropped ({exc})"
                elif isinstance(exc, DeviceBusyError):
                    why = f"a device was busy ({exc})"
                elif isinstance(exc, ParkedError):
                    why = f"the mount was parked under it ({exc})"
                else:
                    why = str(exc)
                self._requeue(order_id, f"interrupted: {why}; back in the queue, it resumes where it stopped",
                              retry=True)
            else:
                self._finish(order_id, "failed", error=f"{type(exc).__name__}: {exc}", details=self._details("final"))
                self.log.error("%s failed: %s", order_id, exc)
                self.on_fault(exc)
        except WorkOrderError as exc:
            self._finish(order_id, "failed", error=f"{type(exc).__name__}: {exc}", details=self._details("final"))
            self.log.error("%s failed: %s", order_id, exc)
            self.on_fault(exc)
        except JournalError as exc:
            self._finish(order_id, "failed", error=f"the journal could not record its progress: {exc}",
                         details=self._details("final"))
            self.log.error("%s failed: %s", order_id, exc)
            self.on_fault(exc)
        except Exception as exc:  # a bug must fail the order, not the daemon
            self.log.exception("%s failed with an internal error", order_id)
            self._finish(order_id, "failed", error=f"internal error: {type(exc).__name__}: {exc}",
                         details=self._details("final"))
            self.on_fault(exc)
        else:
            if not isinstance(result, Result):
                result = Result(str(result))
            self._finish(order_id, "done", result=result.summary, details=json.dumps(result.details))
            self.log.info("%s done: %s", order_id, result.summary)

    def _requeue(self, order_id: str, note: str, *, retry: bool = False) -> None:
        """Back in the queue with what it has done so far; passed over until the supervisor looks again."""
        self.journal.requeue(order_id, note, retry=retry, details=self._details() or None)
        self._defer(order_id)
        self.log.warning("%s %s", order_id, note)

    def _details(self, cause: str = "", kept: str | None = None) -> str:
        """The running order's structured result so far (JSON; "" when it has none), with ``Cause`` when
        given: ``final``, a failure that will not pass (a scheduler does not plan it again), or ``retries``,
        interrupted too often by causes that each passed (a scheduler may plan it again later)."""
        details = self.partial_details()
        if details is None and kept:  # not run in this attempt: what the journal kept from the last one
            try:
                details = json.loads(kept)
            except ValueError:
                details = None
        if details is None and not cause:
            return ""
        return json.dumps((details or {}) | ({"Cause": cause} if cause else {}))

    def _progress(self, order_id: str, text: str, seconds: float = 0.0) -> None:
        """A step begins: journalled (it joins the order's steps) and kept with its expected end."""
        scale = self.supervisor.scale if self.supervisor is not None else 1.0
        now = time.time()
        self._step = {"Text": text, "At": utc_stamp(now), "Seconds": float(seconds),
                      "Ends": utc_stamp(now + seconds / scale) if seconds else ""}
        self.journal.progress(order_id, text)

    def _finish(self, order_id: str, state: str, *, result: str = "", error: str = "", details: str = "") -> None:
        """Queue an outcome for the journal: recorded with the next take (or retried until it can be)."""
        self._unfinished.append((order_id, state, result, error, details))

    # -- what a service does -------------------------------------------------------------
    def connect(self) -> None:
        """Connect the service's devices and read the capabilities the order check uses."""

    def disconnect(self) -> None:
        """Disconnect the service's devices."""

    def ping(self) -> None:
        """Check the service's devices still answer (`torosdrivers.device.Device.ping`)."""

    def on_fault(self, error: Exception) -> None:
        """Leave the hardware safe after a failed order."""

    def idle(self) -> None:
        """Called as the worker finds nothing to run."""

    def rpc_methods(self) -> list[Callable[..., Any]]:
        """What this daemon serves over XML-RPC."""
        return [self.front_desk, self.status, self.cancel, self.preempt, self.list_orders, self.health, self.safety,
                self.state]

    def abort_running(self) -> None:
        """Stop what the running order is doing now (a cancel); it then ends as cancelled."""

    def status_devices(self):
        """The `torosdrivers.config.Devices` whose state ``state()`` reports (None: no devices)."""
        return None

    def max_request_bytes(self) -> int:
        """The largest request this daemon reads (``Security.Max Request Bytes``; the scheduler's is larger)."""
        return int(self.config["Security"]["Max Request Bytes"])

    def partial_details(self) -> dict[str, Any] | None:
        """The running order's structured result so far (the frames it has), kept when it is interrupted."""
        return None

    def not_ready(self) -> str:
        """Why ``front_desk`` cannot accept orders now ("" when it can): capabilities not read yet."""
        return ""

    def ready(self, order: Order) -> str | None:
        """Why ``order`` cannot run now (it waits in the queue), or None to run it."""
        return None

    @abc.abstractmethod
    def validate(self, work_order: Any) -> Order:
        """Check a work order, raising `WorkOrderError`; must not touch a device."""

    @abc.abstractmethod
    def run(self, order: Order, progress: Callable[..., None], cancelled: Callable[[], bool]) -> Result | str:
        """Carry out an order; returns its `Result` (or a one-line result). Raise `OrderCancelled` when
        ``cancelled()``. ``progress(text, seconds=0.0)`` starts a step expected to take ``seconds`` of
        device time."""
