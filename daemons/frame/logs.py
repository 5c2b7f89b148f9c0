"""One logging format for every TOROS process, and where its lines go.

Every line is ``2026-11-27T03:14:15.926Z INFO toros.telescope: ...``: UTC in
ISO 8601 with its ``Z`` (as the journal and FITS headers are), then the
level. Where the lines go:

- under systemd (stderr is the journal's stream, ``$JOURNAL_STREAM``): to
  stderr only, each line with its syslog priority prefix (``<6>``) and no
  time stamp, which journald adds;
- otherwise: to this process's own file, ``Logging.File`` with the process
  name added (``toros.log`` -> ``toros-telescope.log``), rotated by that
  process alone; and to stderr when it is a terminal. Three processes never
  rotate one file, and a redirected stderr does not get every line twice.

Each process also keeps its last lines in memory (`recent`): the status API
serves them to the operators' page without reading any file.
"""

from __future__ import annotations

import collections
import logging
import logging.handlers
import os
import sys
import threading
from pathlib import Path

from torosdrivers.wire import set_wire_trace

from torosdrivers.daemons.frame.journal import utc_stamp

__all__ = ["setup_logging", "log_file", "recent", "keep_recent", "UTCFormatter", "under_journald", "fatal"]

#: Lines kept in memory for `recent`.
RECENT_LINES = 500
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: syslog priorities of the levels, for journald's ``<N>`` prefix.
_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}


class UTCFormatter(logging.Formatter):
    """Time stamps in UTC, ISO 8601 with milliseconds and a ``Z`` (`journal.utc_stamp`)."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return utc_stamp(record.created)


class _JournaldFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"<{_PRIORITY.get(record.levelno, 6)}>" + super().format(record)


class _Recent(logging.Handler):
    """The last lines, numbered, for ``recent``."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.lines: collections.deque[tuple[int, str]] = collections.deque(maxlen=size)
        self.count = 0
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # a bad log call must not break the caller
            self.handleError(record)
            return
        with self._guard:
            self.count += 1
            self.lines.append((self.count, line))


_recent = _Recent(RECENT_LINES)
_recent.setFormatter(UTCFormatter(_FORMAT))


def keep_recent() -> None:
    """Keep this process's log lines for `recent`, also where `setup_logging` was not called (a daemon
    embedded in a script logs as that script configured; its lines are kept all the same)."""
    root = logging.getLogger()
    if _recent not in root.handlers:
        root.addHandler(_recent)


def recent(after: int = 0, limit: int = 200) -> list[tuple[int, str]]:
    """This process's latest log lines numbered from 1, those numbered above ``after``, oldest first."""
    with _recent._guard:
        lines = [item for item in _recent.lines if item[0] > after]
    return lines[-limit:]


def under_journald() -> bool:
    """Whether stderr is connected to systemd's journal (``$JOURNAL_STREAM`` names its device and inode)."""
    stream = os.environ.get("JOURNAL_STREAM", "")
    try:
        device, inode = (int(part) for part in stream.split(":"))
        st = os.fstat(sys.stderr.fileno())
    except (ValueError, OSError, AttributeError):
        return False
    return (st.st_dev, st.st_ino) == (device, inode)


def log_file(config, name: str) -> Path:
    """This process's own log file: ``Logging.File`` with ``-<name>`` added before the suffix."""
    path = Path(os.path.expanduser(str(config["Logging"]["File"])))
    return path.with_name(f"{path.stem}-{name}{path.suffix or '.log'}")


def setup_logging(config, name: str, *, debug: bool = False) -> Path | None:
    """Configure the root logger of process ``toros-<name>``; returns its log file (None under journald).

    ``debug`` (``--debug``) logs at DEBUG and turns the wire trace on, as
    ``Logging: {Wire Trace: true}`` does at any level.
    """
    set_wire_trace(debug or bool(config["Logging"].get("Wire Trace")))
    level = logging.DEBUG if debug else getattr(logging, config["Logging"]["Log Level"])
    handlers: list[logging.Handler] = [_recent]
    path: Path | None = None
    if under_journald():
        journal = logging.StreamHandler(sys.stderr)
        journal.setFormatter(_JournaldFormatter("%(name)s: %(message)s"))
        handlers.append(journal)
    else:
        path = log_file(config, name)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handlers.append(logging.handlers.RotatingFileHandler(path, maxBytes=10 * 2**20, backupCount=5))
        except OSError as exc:
            print(f"toros-{name}: cannot log to {path} ({exc}); logging to stderr only", file=sys.stderr)
            path = None
        if path is None or sys.stderr.isatty():
            handlers.append(logging.StreamHandler(sys.stderr))
        for handler in handlers[1:]:
            handler.setFormatter(UTCFormatter(_FORMAT))
    logging.basicConfig(level=level, handlers=handlers, force=True)
    return path


def fatal(logger: logging.Logger, prog: str, message: str) -> None:
    """Log why the process cannot go on, and make sure stderr (systemctl status, the shell) says it too."""
    logger.error("%s", message)
    to_stderr = any(isinstance(h, logging.StreamHandler) and getattr(h, "stream", None) is sys.stderr
                    for h in logging.getLogger().handlers)
    if not to_stderr:
        print(f"{prog}: {message}", file=sys.stderr)
