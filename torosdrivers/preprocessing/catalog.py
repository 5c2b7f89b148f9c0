"""The preprocessing catalog: nights, raw frames, masters and products, in SQLite.

Every product can be traced to its inputs: the light frame and the masters,
and each master to the raw frames it combined. A `signature` (inputs' paths,
sizes and modification times, the method, the masters') tells whether a
master or product is up to date, so re-running a night does no work twice.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from pathlib import Path
from typing import Iterable

from astropy.time import Time

from .io import FrameInfo

__all__ = ["Catalog", "signature"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS nights (
    id INTEGER PRIMARY KEY, path TEXT UNIQUE NOT NULL, processed TEXT);
CREATE TABLE IF NOT EXISTS frames (
    id INTEGER PRIMARY KEY, night_id INTEGER REFERENCES nights(id), path TEXT UNIQUE NOT NULL,
    imagetyp TEXT, filter TEXT, exptime REAL, xbin INTEGER, ybin INTEGER, width INTEGER, height INTEGER,
    date_obs TEXT, object TEXT, size INTEGER, mtime REAL, problem TEXT);
CREATE TABLE IF NOT EXISTS masters (
    id INTEGER PRIMARY KEY, night_id INTEGER REFERENCES nights(id), path TEXT UNIQUE NOT NULL,
    kind TEXT NOT NULL, filter TEXT, exptime REAL, xbin INTEGER, ybin INTEGER, width INTEGER, height INTEGER,
    date_obs TEXT, method TEXT, signature TEXT, created TEXT);
CREATE TABLE IF NOT EXISTS master_inputs (
    master_id INTEGER REFERENCES masters(id) ON DELETE CASCADE, frame_id INTEGER REFERENCES frames(id),
    PRIMARY KEY (master_id, frame_id));
CREATE TABLE IF NOT EXISTS products (
    id INTEGER PRIMARY KEY, frame_id INTEGER UNIQUE REFERENCES frames(id), path TEXT NOT NULL,
    bias_id INTEGER REFERENCES masters(id), dark_id INTEGER REFERENCES masters(id),
    flat_id INTEGER REFERENCES masters(id), signature TEXT, created TEXT, note TEXT);
CREATE INDEX IF NOT EXISTS frames_by_night ON frames(night_id, imagetyp);
CREATE INDEX IF NOT EXISTS masters_by_kind ON masters(kind, xbin, ybin, width, height);
"""


def signature(*parts: object) -> str:
    """A short hash of the things a result depends on (a frame by its resolved path, size and time)."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, FrameInfo):
            part = (os.path.realpath(part.path), part.size, part.mtime)
        digest.update(repr(part).encode())
    return digest.hexdigest()[:32]


class Catalog:
    """An SQLite catalog (one file; ``":memory:"`` for a throw-away one).

    Safe to share between threads: every call takes the catalog's lock.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL" if self.path != ":memory:" else "PRAGMA journal_mode=MEMORY")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _run(self, sql: str, args: Iterable = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, tuple(args))

    # -- recording -------------------------------------------------------------------
    def night(self, path: str | os.PathLike) -> int:
        """Id of a night's directory (recorded if new)."""
        path = str(Path(path).resolve())
        with self._lock:
            self._run("INSERT OR IGNORE INTO nights(path) VALUES (?)", (path,))
            return self._run("SELECT id FROM nights WHERE path = ?", (path,)).fetchone()["id"]

    def mark_processed(self, night_id: int) -> None:
        self._run("UPDATE nights SET processed = ? WHERE id = ?", (Time.now().isot, night_id))

    def add_frame(self, night_id: int, info: FrameInfo | None, path: str | None = None, problem: str | None = None) -> int:
        """Record a raw frame (or a file that could not be read, with its problem)."""
        if info is None:
            key = str(Path(path).resolve())  # type: ignore[arg-type]
            with self._lock:
                self._run("INSERT INTO frames(night_id, path, problem) VALUES (?, ?, ?) "
                          "ON CONFLICT(path) DO UPDATE SET problem = excluded.problem", (night_id, key, problem))
                return self._run("SELECT id FROM frames WHERE path = ?", (key,)).fetchone()["id"]
        key = str(Path(info.path).resolve())
        values = (night_id, key, info.imagetyp, info.filter, info.exptime, info.xbin, info.ybin, info.width,
                  info.height, info.date_obs, info.object, info.size, info.mtime, problem)
        with self._lock:
            self._run(
                "INSERT INTO frames(night_id, path, imagetyp, filter, exptime, xbin, ybin, width, height, date_obs,"
                " object, size, mtime, problem) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(path) DO UPDATE SET imagetyp=excluded.imagetyp, filter=excluded.filter,"
                " exptime=excluded.exptime, xbin=excluded.xbin, ybin=excluded.ybin, width=excluded.width,"
                " height=excluded.height, date_obs=excluded.date_obs, object=excluded.object,"
                " size=excluded.size, mtime=excluded.mtime, problem=excluded.problem",
                values,
            )
            return self._run("SELECT id FROM frames WHERE path = ?", (key,)).fetchone()["id"]

    def add_master(self, night_id: int, info: FrameInfo, kind: str, method: str, sig: str,
                   inputs: Iterable[FrameInfo]) -> int:
        key = str(Path(info.path).resolve())
        values = (night_id, kind, info.filter, info.exptime, info.xbin, info.ybin, info.width, info.height,
                  info.date_obs, method, sig, Time.now().isot)
        with self._lock:
            existing = self._run("SELECT id FROM masters WHERE path = ?", (key,)).fetchone()
            if existing is not None:
                # Rebuilt in place (new inputs, same file): products that used the old
                # version keep their link, and their signatures no longer match, so the
                # next run calibrates them again.
                master_id = existing["id"]
                self._run("UPDATE masters SET night_id=?, kind=?, filter=?, exptime=?, xbin=?, ybin=?, width=?,"
                          " height=?, date_obs=?, method=?, signature=?, created=? WHERE id=?", (*values, master_id))
                self._run("DELETE FROM master_inputs WHERE master_id = ?", (master_id,))
            else:
                master_id = self._run(
                    "INSERT INTO masters(night_id, kind, filter, exptime, xbin, ybin, width, height, date_obs,"
                    " method, signature, created, path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (*values, key)).lastrowid
            for frame in inputs:
                frame_id = self._run("SELECT id FROM frames WHERE path = ?", (str(Path(frame.path).resolve()),)).fetchone()
                if frame_id is not None:
                    self._run("INSERT OR IGNORE INTO master_inputs VALUES (?, ?)", (master_id, frame_id["id"]))
            return master_id

    def add_product(self, frame_id: int, path: str | os.PathLike, masters: dict[str, int | None], sig: str,
                    note: str = "") -> None:
        self._run(
            "INSERT INTO products(frame_id, path, bias_id, dark_id, flat_id, signature, created, note) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(frame_id) DO UPDATE SET path=excluded.path,"
            " bias_id=excluded.bias_id, dark_id=excluded.dark_id, flat_id=excluded.flat_id,"
            " signature=excluded.signature, created=excluded.created, note=excluded.note",
            (frame_id, str(Path(path).resolve()), masters.get("BIAS"), masters.get("DARK"), masters.get("FLAT"),
             sig, Time.now().isot, note),
        )

    # -- queries -----------------------------------------------------------------------
    def master_by_signature(self, sig: str) -> sqlite3.Row | None:
        """A recorded master built from exactly these inputs, if its file still exists."""
        row = self._run("SELECT * FROM masters WHERE signature = ? ORDER BY id DESC", (sig,)).fetchone()
        return row if row is not None and Path(row["path"]).exists() else None

    def product_signature(self, frame_id: int) -> str | None:
        row = self._run("SELECT path, signature FROM products WHERE frame_id = ?", (frame_id,)).fetchone()
        return row["signature"] if row is not None and Path(row["path"]).exists() else None

    def masters_for(self, info: FrameInfo, kind: str) -> list[sqlite3.Row]:
        """Recorded masters of ``kind`` with the frame's binning (and filter, for flats), newest first.

        Whether one fits (region, readout, gain, temperature) is for
        `torosdrivers.preprocessing.matching.why_not` to say.
        """
        where = "kind = ? AND xbin = ? AND ybin = ?"
        args: tuple = (kind, info.xbin, info.ybin)
        if kind == "FLAT":
            where += " AND filter = ?"
            args += (info.filter,)
        rows = self._run(f"SELECT * FROM masters WHERE {where} ORDER BY date_obs DESC, id DESC LIMIT 50", args)
        return [row for row in rows if Path(row["path"]).exists()]

    def inputs_of(self, product: str | os.PathLike) -> dict[str, list[str]]:
        """The raw files a product came from: its light, and the inputs of each master."""
        row = self._run("SELECT * FROM products WHERE path = ?", (str(Path(product).resolve()),)).fetchone()
        if row is None:
            raise KeyError(f"{product} is not a product in {self.path}")
        light = self._run("SELECT path FROM frames WHERE id = ?", (row["frame_id"],)).fetchone()["path"]
        result = {"LIGHT": [light]}
        for kind in ("bias", "dark", "flat"):
            master_id = row[f"{kind}_id"]
            if master_id is None:
                continue
            master = self._run("SELECT path FROM masters WHERE id = ?", (master_id,)).fetchone()["path"]
            raws = [r["path"] for r in self._run(
                "SELECT f.path FROM master_inputs m JOIN frames f ON f.id = m.frame_id WHERE m.master_id = ? "
                "ORDER BY f.path", (master_id,))]
            result[kind.upper()] = [master, *raws]
        return result

    def frames(self, night: str | os.PathLike, imagetyp: str | None = None) -> list[sqlite3.Row]:
        """Frames of a night, optionally of one type, in order of DATE-OBS."""
        night_id = self.night(night)
        sql = "SELECT * FROM frames WHERE night_id = ?"
        args: tuple = (night_id,)
        if imagetyp:
            sql += " AND imagetyp = ?"
            args += (imagetyp.upper(),)
        return list(self._run(sql + " ORDER BY date_obs, path", args))

    def master_id(self, path: str | os.PathLike) -> int | None:
        """Id of the master recorded at ``path``."""
        row = self._run("SELECT id FROM masters WHERE path = ?", (str(Path(path).resolve()),)).fetchone()
        return row["id"] if row else None

    def frame_row(self, path: str | os.PathLike) -> sqlite3.Row | None:
        return self._run("SELECT * FROM frames WHERE path = ?", (str(Path(path).resolve()),)).fetchone()

