"""What every TOROS daemon is: XML-RPC ``front_desk`` over a journal and a worker.

``front_desk(work_order)`` validates, journals (durably) and answers a
receipt at once; a worker thread runs the orders by priority then arrival.
``status(ID)``, ``cancel(ID)`` and ``list_orders()`` complete the interface.
A bad order is a Fault naming the field; a device fault fails the order with
the driver's message; the daemon keeps serving either way.
"""

from __future__ import annotations

import abc
import json
import logging
import threading
from typing import Any, Callable
from xmlrpc.client import Fault

from torosdrivers.config import Config
from torosdrivers.errors import DriverError

from .journal import Journal
from .rpc import RPCServer
from .workorders import FAULT_DEVICE, FAULT_UNKNOWN_ORDER, Order, WorkOrderError

__all__ = ["Service", "OrderCancelled"]


class OrderCancelled(Exception):
    """A running order saw its cancellation."""


def _receipt(row: dict, duplicate: bool = False) -> dict[str, Any]:
    return {"ID": row["id"], "State": row["state"], "Priority": row["priority"], "WOType": row["wotype"],
            "Received": row["received"], "Service": row["service"], "Duplicate": duplicate}


def _status(row: dict) -> dict[str, Any]:
    return _receipt(row) | {"Started": row["started"] or "", "Finished": row["finished"] or "",
                            "Progress": row["progress"] or "", "Result": row["result"] or "",
                            "Error": row["error"] or ""}


class Service(abc.ABC):
    """A work-order daemon.

    Parameters
    ----------
    config
        The loaded configuration.
    journal
        Path of this daemon's journal (default: ``Database.Journal`` with the
        service name added).
    """

    #: Name of the service: "telescope", "dome", "preprocessor".
    name = ""
    #: Section of the configuration with its address.
    address_key = ""

    def __init__(self, config: Config, journal: str | None = None) -> None:
        self.config = config
        base = str(config["Database"]["Journal"])
        path = journal or (base[: -len(".sqlite")] if base.endswith(".sqlite") else base) + f"-{self.name}.sqlite"
        self.journal = Journal(path, self.name)
        self.log = logging.getLogger(f"toros.{self.name}")
        self._stop = threading.Event()
        self._worker = threading.Thread(target=self._work, name=f"toros-{self.name}-worker", daemon=True)
        self.server: RPCServer | None = None

    # -- XML-RPC methods -------------------------------------------------------------
    def front_desk(self, work_order: Any) -> dict[str, Any]:
        """Accept a work order: validate it, journal it, and answer a receipt (it runs later)."""
        try:
            order = self.validate(work_order)
        except WorkOrderError as exc:
            self.log.info("refused a work order: %s", exc)
            raise Fault(exc.code, str(exc)) from None
        except DriverError as exc:  # a device the check consults (the filter wheel's names) failed
            self.log.error("cannot check a work order: %s", exc)
            raise Fault(FAULT_DEVICE, f"device fault while checking the work order: {exc}") from None
        row, created = self.journal.accept(order.id, order.wotype, order.priority, order.raw)
        if created:
            self.log.info("accepted %s %s (priority %g)", order.wotype, order.id, order.priority)
        else:
            self.log.info("duplicate ID %s: answered with the existing order's receipt", order.id)
        return _receipt(row, duplicate=not created)

    def status(self, order_id: str) -> dict[str, Any]:
        """State, progress, result or error of an order."""
        row = self.journal.get(str(order_id))
        if row is None:
            raise Fault(FAULT_UNKNOWN_ORDER, f"ID={order_id!r}: no such work order at the {self.name} daemon")
        return _status(row)

    def cancel(self, order_id: str) -> dict[str, Any]:
        """Cancel a queued order, or ask a running one to stop between steps."""
        row = self.journal.cancel(str(order_id))
        if row is None:
            raise Fault(FAULT_UNKNOWN_ORDER, f"ID={order_id!r}: no such work order at the {self.name} daemon")
        self.log.info("cancel of %s asked (state %s)", order_id, row["state"])
        return _status(row)

    def list_orders(self) -> list[dict[str, Any]]:
        """The latest 100 orders, newest first."""
        return [_status(r) for r in self.journal.list(100)]

    # -- life ---------------------------------------------------------------------------
    def serve(self, port: int | None = None) -> RPCServer:
        """Start the worker and the XML-RPC server (in background threads); returns the server."""
        host, configured = self.config.address(self.address_key)
        security = self.config["Security"]
        self.server = RPCServer((host, configured if port is None else port), allowed=self.config.allowed_networks,
                                max_request_bytes=int(security["Max Request Bytes"]),
                                client_timeout=float(security["Client Timeout"]), title=f"TOROS {self.name}")
        for method in (self.front_desk, self.status, self.cancel, self.list_orders):
            self.server.register_function(method)
        self.start()
        threading.Thread(target=self.server.serve_forever, args=(0.1,), name=f"toros-{self.name}-rpc",
                         daemon=True).start()
        self.log.info("serving XML-RPC on http://%s:%d", *self.server.server_address[:2])
        return self.server

    def start(self) -> None:
        for order_id in self.journal.recover():
            self.log.warning("order %s was interrupted by the last shutdown: marked failed", order_id)
        self.connect()
        self._worker.start()

    def stop(self) -> None:
        self._stop.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        self._worker.join(timeout=30)
        self.disconnect()
        self.journal.close()

    def _work(self) -> None:
        while not self._stop.is_set():
            row = self.journal.next(timeout=0.2)
            if row is None:
                continue
            order_id = row["id"]
            self.log.info("running %s", order_id)
            try:
                order = self.validate(json.loads(row["body"]))
                result = self.run(order, lambda text: self.journal.progress(order_id, text),
                                  lambda: self.journal.cancel_requested(order_id) or self._stop.is_set())
            except OrderCancelled:
                self.journal.finish(order_id, "cancelled", error="cancelled while running")
                self.log.info("%s cancelled", order_id)
            except (DriverError, WorkOrderError) as exc:
                self.journal.finish(order_id, "failed", error=f"{type(exc).__name__}: {exc}")
                self.log.error("%s failed: %s", order_id, exc)
                self.on_fault(exc)
            except Exception as exc:  # a bug must fail the order, not the daemon
                self.journal.finish(order_id, "failed", error=f"internal error: {type(exc).__name__}: {exc}")
                self.log.exception("%s failed with an internal error", order_id)
                self.on_fault(exc)
            else:
                self.journal.finish(order_id, "done", result=result)
                self.log.info("%s done: %s", order_id, result)

    # -- what a service does -------------------------------------------------------------
    def connect(self) -> None:
        """Connect the service's devices (before the worker starts)."""

    def disconnect(self) -> None:
        """Disconnect the service's devices."""

    def on_fault(self, error: Exception) -> None:
        """Leave the hardware safe after a failed order."""

    @abc.abstractmethod
    def validate(self, work_order: Any) -> Order:
        """Check a work order, raising `WorkOrderError`."""

    @abc.abstractmethod
    def run(self, order: Order, progress: Callable[[str], None], cancelled: Callable[[], bool]) -> str:
        """Carry out an order; returns a one-line result. Raise `OrderCancelled` when ``cancelled()``."""

