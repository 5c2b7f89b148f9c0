"""``toros-telescope``, ``toros-dome``, ``toros-preprocessor``, ``toros-scheduler``, ``toros-alerts``: run one
daemon until stopped.

Each takes ``--config PATH`` (else ``$TOROS_CONFIG``, else
``/etc/toros/toros.conf.yaml``, else the embedded default), logs as
`torosdrivers.daemons.frame.logs` describes, serves XML-RPC on its configured
address, and stops cleanly on SIGTERM or Ctrl-C. The systemd units and
launchd agents run exactly these.
"""

from __future__ import annotations

import argparse
import logging
import ssl
import sys

from torosdrivers._version import add_version
from torosdrivers.config import ConfigError, load_config
from torosdrivers.errors import DriverError
from torosdrivers.lifecycle import catch_stop, wait_for_stop

from torosdrivers.daemons.frame.journal import JournalError
from torosdrivers.daemons.frame.logs import fatal, setup_logging

__all__ = ["main_telescope", "main_dome", "main_preprocessor", "main_scheduler", "main_alerts", "port_number", "load_or_explain", "start_process"]


def port_number(text: str) -> int:
    """``--port``: 0 (any free port) to 65535, refused by argparse with one line otherwise."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number 0-65535 (0: any free one)")
    return port


def load_or_explain(prog: str, path: str | None):
    """The configuration, or None after printing each of its problems on a line of its own."""
    try:
        return load_config(path)
    except ConfigError as exc:
        for line in str(exc).splitlines():
            print(f"{prog}: {line}", file=sys.stderr)
        return None


def start_process(name: str, description: str, argv: list[str] | None, *,
                  port_help: str = "override the configured port (0: any free one)"):
    """What every long-running ``toros-<name>`` does first: ``--config``, ``--port``, ``--debug`` and
    ``--version``; SIGTERM caught; the configuration loaded and logging set up.

    Returns ``(args, config)``; ``config`` is None after its problems were printed (exit with status 2).
    """
    parser = argparse.ArgumentParser(prog=f"toros-{name}", description=description)
    parser.add_argument("--config", help="YAML configuration (default: $TOROS_CONFIG or /etc/toros/toros.conf.yaml)")
    parser.add_argument("--port", type=port_number, help=port_help)
    parser.add_argument("--debug", action="store_true", help="log at DEBUG with the wire trace of every device")
    args = add_version(parser).parse_args(argv)
    catch_stop()
    config = load_or_explain(f"toros-{name}", args.config)
    if config is not None:
        setup_logging(config, name, debug=args.debug)
    return args, config


def _serve(kind: str, argv: list[str] | None) -> int:
    args, config = start_process(kind, f"The TOROS {kind} daemon (XML-RPC front_desk).", argv)
    if config is None:
        return 2
    if kind == "telescope":
        from torosdrivers.daemons.services.telescope import TelescopeService as cls
    elif kind == "dome":
        from torosdrivers.daemons.services.dome import DomeService as cls
    elif kind == "scheduler":
        from torosdrivers.daemons.services.scheduler import SchedulerService as cls
    elif kind == "alerts":
        from torosdrivers.daemons.services.alerts import AlertsService as cls
    else:
        from torosdrivers.daemons.services.preprocessor import PreprocessorService as cls
    try:
        service = cls(config)
        server = service.serve(args.port)
    except ConfigError as exc:  # a file the configuration names cannot be used: as a bad configuration, exit 2
        fatal(logging.getLogger(f"toros.{kind}"), f"toros-{kind}", str(exc))
        return 2
    except (DriverError, JournalError, OSError, ssl.SSLError) as exc:
        fatal(logging.getLogger(f"toros.{kind}"), f"toros-{kind}", f"cannot start: {exc}")
        return 1
    print(f"toros-{kind}: serving XML-RPC on {'https' if server.tls else 'http'}://{server.server_address[0]}:"
          f"{server.port} (config: {config.source})", flush=True)
    wait_for_stop()
    service.stop()
    return 0


def main_telescope(argv: list[str] | None = None) -> int:
    return _serve("telescope", argv)


def main_dome(argv: list[str] | None = None) -> int:
    return _serve("dome", argv)


def main_preprocessor(argv: list[str] | None = None) -> int:
    return _serve("preprocessor", argv)


def main_scheduler(argv: list[str] | None = None) -> int:
    return _serve("scheduler", argv)


def main_alerts(argv: list[str] | None = None) -> int:
    return _serve("alerts", argv)


if __name__ == "__main__":
    sys.exit(_serve(sys.argv[1], sys.argv[2:]))
