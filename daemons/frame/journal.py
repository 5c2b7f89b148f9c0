"""The journal: every accepted work order, durable before its receipt is sent.

SQLite in WAL mode with ``synchronous=FULL``: a receipt is only sent after
the order's row is on disk, so a daemon killed at any moment loses nothing it
acknowledged. Orders run by priority (higher first) then arrival. An order
found ``running`` when a daemon starts was interrupted: it is marked failed
with that reason rather than run a second time, unless its daemon can
resume it without doing anything twice (the telescope's observations, which
recognise their verified frames on disk): then it goes back in the queue,
the interruption counted in its ``attempts``.

One daemon owns a journal: opening it takes an exclusive lock
(``<journal>.lock``, naming its holder), so a second daemon started on the
same file refuses to start instead of running the same orders twice.
Concurrent accepts are committed together (group commit: one transaction and
one ``fsync`` for all the orders that arrived while the previous commit was
on its way to disk); each receipt still waits for its own row to be durable.
The worker's take (the last order's outcome and the next order marked
running) joins the same group, so a daemon running orders as they arrive
pays no ``fsync`` of its own per order, and its accepts never wait behind one.
A write that fails (disk full, I/O error) raises `JournalError` and is
remembered in `Journal.error` until a write succeeds again.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any, Callable

from torosdrivers.lockfile import HolderLock, LockHeld

__all__ = ["Journal", "JournalError", "JournalBusyError", "STATES", "MAX_STEPS", "steps_of", "utc_stamp"]

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
    cancel_requested INTEGER DEFAULT 0,
    details TEXT DEFAULT '',
    steps TEXT DEFAULT '',
    attempts INTEGER DEFAULT 0);
CREATE INDEX IF NOT EXISTS queue ON orders(state, priority DESC, seq);
CREATE TABLE IF NOT EXISTS memory (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


_FINISH = "UPDATE orders SET state = ?, finished = ?, result = ?, error = ?, details = ? WHERE id = ?"


class JournalError(Exception):
    """The journal cannot be opened, read or written (the message says which file and why)."""


class JournalBusyError(JournalError):
    """Another daemon owns this journal."""


#: Columns added since the first journals: added to an older file when it is opened.
_ADDED = {"details": "TEXT DEFAULT ''", "steps": "TEXT DEFAULT ''", "attempts": "INTEGER DEFAULT 0"}
#: Steps kept per order (an order of thousands of exposures keeps its latest).
MAX_STEPS = 400


def _gist(text: str) -> str:
    """A note without its figures: two waits for the same reason share it."""
    return re.sub(r"[-+]?\d+(\.\d+)?", "#", text)


def utc_stamp(at: float | None = None) -> str:
    """``at`` (seconds since the epoch; default now) in UTC, ISO 8601 with milliseconds and a ``Z``: the one
    time format of the journal, the status API and the logs."""
    # A plain UTC stamp: astropy's Time.now() costs half a millisecond, per order.
    when = datetime.now(timezone.utc) if at is None else datetime.fromtimestamp(at, timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def steps_of(row: dict) -> list[tuple[str, str]]:
    """An order's steps as ``(UTC time, text)``, oldest first."""
    return [tuple(line.split("\t", 1)) for line in (row.get("steps") or "").splitlines() if "\t" in line][-MAX_STEPS:]


class _Pending:
    """One write waiting for its group commit: ``apply(db)`` runs inside the shared transaction."""

    __slots__ = ("apply", "row", "created", "error", "done")

    def __init__(self, apply: Callable[["_Pending", sqlite3.Connection], None]) -> None:
        self.apply = apply
        self.row: dict | None = None
        self.created = False
        self.error: JournalError | None = None
        self.done = False


class Journal:
    """A daemon's journal (one SQLite file), owned by this process while open.

    Parameters
    ----------
    path
        The file; created with its folder if missing.
    service
        The daemon's name, recorded with each order.

    Raises
    ------
    JournalBusyError
        Another daemon holds the journal; the message names it.
    JournalError
        The file cannot be opened as a journal.
    """

    def __init__(self, path: str | os.PathLike, service: str) -> None:
        self.path = Path(path)
        self.service = service
        #: The last write failure, while the journal cannot be written; None when healthy.
        self.error: str | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.is_dir():
                raise JournalError(f"journal {self.path}: is a folder; expected a file (Database.Journal)")
            self._owner = HolderLock(self.path.with_name(self.path.name + ".lock"))
            self._owner.acquire()
        except LockHeld as held:
            raise JournalBusyError(f"journal {self.path} is in use by {held.holder}: one daemon per journal; "
                                   "stop that daemon or give this one its own Database.Journal") from None
        except OSError as exc:
            raise JournalError(f"journal {self.path}: cannot open: {exc.strerror or exc}") from None
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._group = threading.Condition()
        self._queue: list[_Pending] = []
        self._leader = False
        self._arrivals = 0  # group commits that brought new orders: what the worker's wait looks for
        self._cancels: set[str] = set()  # running orders asked to stop (kept in memory too: checked between steps)
        try:
            self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=30.0)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            have = {r["name"] for r in self._db.execute("PRAGMA table_info(orders)")}
            for column, kind in _ADDED.items():
                if column not in have:
                    self._db.execute(f"ALTER TABLE orders ADD COLUMN {column} {kind}")
        except sqlite3.Error as exc:
            self._owner.release()
            raise JournalError(f"journal {self.path}: cannot open as a journal: {exc}") from None

    def close(self) -> None:
        with self._lock:
            self._db.close()
        self._owner.release()

    def _write(self, sql: str, args: tuple = ()) -> sqlite3.Cursor:
        """Run one writing statement (caller holds the lock); failures become `JournalError`."""
        try:
            cursor = self._db.execute(sql, args)
        except sqlite3.Error as exc:
            raise self._failed(exc) from None
        self.error = None
        return cursor

    def _failed(self, exc: Exception) -> JournalError:
        if self._db.in_transaction:
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.Error:
                pass
        self.error = f"journal {self.path}: cannot write: {exc}"
        return JournalError(self.error)

    # -- writing -------------------------------------------------------------------------
    def accept(self, order_id: str, wotype: str, priority: float, body: dict[str, Any]) -> tuple[dict, bool]:
        """Record an order (durably) unless its ID is known; returns its row and whether it is new.

        Raises
        ------
        JournalError
            The order could not be written; it is not accepted.
        """
        item = _Pending(partial(self._insert, (order_id, self.service, wotype, priority,
                                               json.dumps(body, default=str))))
        self._group_commit(item)
        assert item.row is not None
        return item.row, item.created

    @staticmethod
    def _insert(values: tuple, item: _Pending, db: sqlite3.Connection) -> None:
        cursor = db.execute("INSERT OR IGNORE INTO orders(id, service, wotype, priority, body, state, received) "
                            "VALUES (?, ?, ?, ?, ?, 'queued', ?)", (*values, utc_stamp()))
        item.created = cursor.rowcount == 1
        item.row = dict(db.execute("SELECT * FROM orders WHERE id = ?", (values[0],)).fetchone())

    def _group_commit(self, item: _Pending) -> None:
        """Write ``item`` durably, in one transaction with whatever else is waiting; raises its `JournalError`."""
        with self._group:
            self._queue.append(item)
            while not item.done and self._leader:
                self._group.wait()
            if not item.done:
                self._leader = True  # this thread commits everything queued so far, its own item included
                batch, self._queue = self._queue, []
        if not item.done:
            try:
                self._commit(batch)
            finally:
                with self._group:
                    for pending in batch:
                        pending.done = True
                    self._leader = False
                    self._group.notify_all()
        if item.error is not None:
            raise item.error

    def _commit(self, batch: list[_Pending]) -> None:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                for pending in batch:
                    pending.apply(pending, self._db)
                self._db.execute("COMMIT")  # the fsync every item of the batch waits for
            except sqlite3.Error as exc:
                error = self._failed(exc)
                for pending in batch:
                    pending.error, pending.row = error, None
                return
            self.error = None
            if any(p.created for p in batch):
                self._arrivals += 1
                self._wake.notify_all()

    def next(self, timeout: float, finished: list[tuple[str, str, str, str, str]] = (),
             skip: tuple[str, ...] = ()) -> dict | None:
        """Take the next queued order, marking it running in the same statement; waits up to ``timeout`` s.

        ``finished`` holds the outcomes ``(ID, state, result, error, details)`` of orders
        run since the last call: they are recorded in the same transaction,
        which joins the accepts' group commit, so a busy worker adds no
        ``fsync`` of its own. Orders in ``skip`` (waiting for their moment)
        are passed over.
        """
        outcomes = list(finished)
        for attempt in range(2):
            arrivals = self._arrivals  # read without the lock, which a commit under way holds through its fsync
            item = _Pending(partial(self._take, outcomes, skip))
            self._group_commit(item)
            outcomes = []
            if item.row is not None:
                return item.row
            if attempt == 0:
                with self._lock:
                    if self._arrivals == arrivals:  # nothing accepted since the take looked
                        self._wake.wait(timeout)
        return None

    def _take(self, outcomes: list[tuple[str, str, str, str, str]], skip: tuple[str, ...], item: _Pending,
              db: sqlite3.Connection) -> None:
        for order_id, state, result, error, details in outcomes:
            db.execute(_FINISH, (state, utc_stamp(), result, error, details, order_id))
            self._cancels.discard(order_id)
        others = f" AND id NOT IN ({','.join('?' * len(skip))})" if skip else ""
        row = db.execute("UPDATE orders SET state = 'running', started = ? WHERE seq = (SELECT seq FROM orders "
                         f"WHERE state = 'queued'{others} ORDER BY priority DESC, seq LIMIT 1) RETURNING *",
                         (utc_stamp(), *skip)).fetchone()
        item.row = dict(row) if row is not None else None  # read before COMMIT ends the statement
        if item.row is not None and item.row["cancel_requested"]:
            self._cancels.add(item.row["id"])

    def requeue(self, order_id: str, note: str, *, retry: bool = False, details: str | None = None) -> None:
        """Put a taken order back in the queue with a note (it cannot run yet, or it was interrupted).

        The note becomes a step when it says something new: a wait checked
        every few seconds whose figures change (the Sun's altitude) updates
        the progress but adds no step, so a waiting order gains one step per
        change of reason, not one per check. ``retry`` counts the
        interruption against the order's bounded retries (a fault, not the
        weather); ``details`` replaces its structured result so far."""
        with self._lock:
            row = self._db.execute("SELECT progress FROM orders WHERE id = ?", (order_id,)).fetchone()
            same = row is not None and _gist(row["progress"] or "") == _gist(note)
            self._write("UPDATE orders SET state = 'queued', started = NULL, progress = ?, steps = steps || ?, "
                        "attempts = attempts + ?, details = COALESCE(?, details) WHERE id = ? AND state = 'running'",
                        (note, "" if same else f"{utc_stamp()}\t{note}\n", int(retry), details, order_id))
            self._wake.notify_all()

    def supersede(self, prefix: str, note: str) -> None:
        """Replace the progress of queued orders whose note starts with ``prefix`` (a wait whose reason has
        passed), without a step: the next check of each order writes its own reason again."""
        with self._lock:
            self._write("UPDATE orders SET progress = ? WHERE state = 'queued' AND substr(progress, 1, ?) = ?",
                        (note, len(prefix), prefix))

    def progress(self, order_id: str, text: str) -> None:
        """Note a running order's progress. Not synced on its own: a crash can only lose a progress
        line (the next durable commit carries it to disk), and a busy worker's syncs would slow accepts."""
        with self._lock:
            self._db.execute("PRAGMA synchronous=NORMAL")
            try:
                self._write("UPDATE orders SET progress = ?, steps = steps || ? WHERE id = ?",
                            (text, f"{utc_stamp()}\t{text}\n", order_id))
            finally:
                self._db.execute("PRAGMA synchronous=FULL")

    def finish(self, order_id: str, state: str, *, result: str = "", error: str = "", details: str = "") -> None:
        """End an order as ``done``, ``failed`` or ``cancelled`` (``details``: its structured result, JSON)."""
        with self._lock:
            self._write(_FINISH, (state, utc_stamp(), result, error, details, order_id))
            self._cancels.discard(order_id)

    def cancel(self, order_id: str) -> dict | None:
        """Cancel a queued order at once; ask a running one to stop. Returns its row, None if unknown."""
        with self._lock:
            row = self._db.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
            if row is None:
                return None
            if row["state"] == "queued":
                self._write("UPDATE orders SET state = 'cancelled', finished = ?, error = 'cancelled before it ran' "
                            "WHERE id = ?", (utc_stamp(), order_id))
            elif row["state"] == "running":
                self._write("UPDATE orders SET cancel_requested = 1 WHERE id = ?", (order_id,))
                self._cancels.add(order_id)
            return dict(self._db.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone())

    def start(self, order_id: str, note: str = "") -> None:
        """Mark a queued order running (the scheduler's orders run block by block, not taken by `next`)."""
        with self._lock:
            now = utc_stamp()
            self._write("UPDATE orders SET state = 'running', started = COALESCE(started, ?), progress = ?, "
                        "steps = steps || ? WHERE id = ? AND state = 'queued'", (now, note, f"{now}\t{note}\n", order_id))

    def remember(self, items: dict[str, str]) -> None:
        """Keep ``key -> text`` durably beside the orders (a daemon's own bookkeeping), in one commit."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany("INSERT INTO memory (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE "
                                     "SET value = excluded.value", list(items.items()))
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise self._failed(exc) from None

    def recall(self, prefix: str = "") -> dict[str, str]:
        """What `remember` kept, for the keys starting with ``prefix``."""
        with self._lock:
            rows = self._db.execute("SELECT key, value FROM memory WHERE key >= ? AND key < ?",
                                    (prefix, prefix + "\U0010ffff")).fetchall()
        return {r["key"]: r["value"] for r in rows}

    def cancel_requested(self, order_id: str) -> bool:
        """Whether a running order was asked to stop (from memory: the worker asks between every step, and
        this daemon alone writes its journal)."""
        return order_id in self._cancels

    def recover(self, *, requeue: bool = False) -> list[str]:
        """Deal with the orders a previous run left running; returns their IDs.

        By default they are marked failed (run again, they might do twice what
        cannot be done twice). With ``requeue`` (an order that recognises what
        it already did, as an observation recognises its verified frames) they
        go back in the queue, the interruption counted against their retries.
        """
        with self._lock:
            ids = [r["id"] for r in self._db.execute("SELECT id FROM orders WHERE state = 'running'")]
            if requeue:
                note = "interrupted: the daemon stopped while running this order; back in the queue, it resumes " \
                       "from what it had done"
                self._write("UPDATE orders SET state = 'queued', started = NULL, progress = ?, steps = steps || ?, "
                            "attempts = attempts + 1 WHERE state = 'running'", (note, f"{utc_stamp()}\t{note}\n"))
            else:
                self._write(
                    "UPDATE orders SET state = 'failed', finished = ?, error = 'interrupted: the daemon stopped while "
                    "running this order; not run again, so nothing is done twice' WHERE state = 'running'",
                    (utc_stamp(),))
        return ids

    # -- reading ----------------------------------------------------------------------------
    def get(self, order_id: str) -> dict | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
        return dict(row) if row else None

    def counts(self) -> dict[str, int]:
        """How many orders are in each state."""
        try:
            with self._lock:
                rows = self._db.execute("SELECT state, COUNT(*) AS n FROM orders GROUP BY state").fetchall()
        except sqlite3.Error as exc:
            raise JournalError(f"journal {self.path}: cannot read: {exc}") from None
        return {state: 0 for state in STATES} | {r["state"]: r["n"] for r in rows}

    def list(self, limit: int = 100, states: tuple[str, ...] = ()) -> list[dict]:
        """The latest ``limit`` orders (in ``states`` if given), newest first."""
        where = f" WHERE state IN ({','.join('?' * len(states))})" if states else ""
        with self._lock:
            rows = self._db.execute(f"SELECT * FROM orders{where} ORDER BY seq DESC LIMIT ?",
                                    (*states, limit)).fetchall()
        return [dict(r) for r in rows]
