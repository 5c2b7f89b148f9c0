"""The journal: every accepted work order, durable before its receipt is sent.

SQLite in WAL mode with ``synchronous=FULL``: a receipt is only sent after
the order's row is on disk, so a daemon killed at any moment loses nothing it
acknowledged. Orders run by priority (higher first) then arrival. An order
found ``running`` when a daemon starts was interrupted: it is marked failed
with that reason rather than run a second time (an observation half taken
cannot be resumed blindly).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["Journal", "STATES"]

STATES = ("queued", "running", "done", "failed", "cancelled")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    service TEXT NOT NULL,
    wotype TEXT,
    priority REAL NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL,
    received TEXT NOT NULL,
    started TEXT,
    finished TEXT,
    progress TEXT DEFAULT '',
    result TEXT DEFAULT '',
    error TEXT DEFAULT '',
    cancel_requested INTEGER DEFAULT 0);
CREATE INDEX IF NOT EXISTS queue ON orders(state, priority DESC, seq);
"""


def _now() -> str:
    # A plain UTC stamp: astropy's Time.now() costs half a millisecond, per order.
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


class Journal:
    """A daemon's journal (one SQLite file).

    Parameters
    ----------
    path
        The file; created with its folder if missing.
    service
        The daemon's name, recorded with each order.
    """

    def __init__(self, path: str | os.PathLike, service: str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.service = service
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=30.0)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- writing -------------------------------------------------------------------------
    def accept(self, order_id: str, wotype: str, priority: float, body: dict[str, Any]) -> tuple[dict, bool]:
        """Record an order (durably) unless its ID is known; returns its row and whether it is new."""
        text = json.dumps(body, default=str)
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO orders(id, service, wotype, priority, body, state, received) "
                "VALUES (?, ?, ?, ?, ?, 'queued', ?)",
                (order_id, self.service, wotype, priority, text, _now()),
            )
            created = cursor.rowcount == 1
            row = dict(self._db.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone())
            if created:
                self._wake.notify_all()
        return row, created

    def next(self, timeout: float) -> dict | None:
        """Take the next queued order (marking it running), waiting up to ``timeout`` s for one."""
        with self._lock:
            for _ in range(2):
                row = self._db.execute(
                    "SELECT * FROM orders WHERE state = 'queued' ORDER BY priority DESC, seq LIMIT 1").fetchone()
                if row is not None:
                    self._db.execute("UPDATE orders SET state = 'running', started = ? WHERE seq = ?", (_now(), row["seq"]))
                    return dict(row) | {"state": "running"}
                self._wake.wait(timeout)
        return None

    def progress(self, order_id: str, text: str) -> None:
        with self._lock:
            self._db.execute("UPDATE orders SET progress = ? WHERE id = ?", (text, order_id))

    def finish(self, order_id: str, state: str, *, result: str = "", error: str = "") -> None:
        """End an order as ``done``, ``failed`` or ``cancelled``."""
        with self._lock:
            self._db.execute("UPDATE orders SET state = ?, finished = ?, result = ?, error = ? WHERE id = ?",
                             (state, _now(), result, error, order_id))

    def cancel(self, order_id: str) -> dict | None:
        """Cancel a queued order at once; ask a running one to stop. Returns its row, None if unknown."""
        with self._lock:
            row = self._db.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
            if row is None:
                return None
            if row["state"] == "queued":
                self._db.execute("UPDATE orders SET state = 'cancelled', finished = ?, error = 'cancelled before it ran' "
                                 "WHERE id = ?", (_now(), order_id))
            elif row["state"] == "running":
                self._db.execute("UPDATE orders SET cancel_requested = 1 WHERE id = ?", (order_id,))
            return dict(self._db.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone())

    def cancel_requested(self, order_id: str) -> bool:
        with self._lock:
            row = self._db.execute("SELECT cancel_requested FROM orders WHERE id = ?", (order_id,)).fetchone()
        return bool(row and row["cancel_requested"])

    def recover(self) -> list[str]:
        """Mark the orders a previous run left running as failed; returns their IDs."""
        with self._lock:
            ids = [r["id"] for r in self._db.execute("SELECT id FROM orders WHERE state = 'running'")]
            self._db.execute(
                "UPDATE orders SET state = 'failed', finished = ?, error = 'interrupted: the daemon stopped while "
                "running this order; not run again, so nothing is done twice' WHERE state = 'running'", (_now(),))
        return ids

    # -- reading ----------------------------------------------------------------------------
    def get(self, order_id: str) -> dict | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
        return dict(row) if row else None

    def list(self, limit: int = 100) -> list[dict]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM orders ORDER BY seq DESC LIMIT ?", (limit,)).fetchall()
        return [dict(r) for r in rows]
