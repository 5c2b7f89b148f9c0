"""Install the daemons as systemd units (Linux) or launchd agents (macOS), as the TOROS docs describe.

``make install`` runs ``python -m torosdrivers.daemons.services install``:
units ``/etc/systemd/system/{devices,preprocessor,telescope,dome}.service`` (so
``systemctl start preprocessor``) or agents
``/Library/LaunchAgents/org.toros.{name}.plist``, and the configuration
``/etc/toros/toros.conf.yaml`` (an existing one is kept). ``--root`` installs
under another root (packaging, tests). ``make uninstall`` removes the units,
and the configuration only if it is still the shipped one.
"""

from __future__ import annotations

import argparse
import plistlib
import sys
from importlib import resources
from pathlib import Path

from torosdrivers._version import add_version

__all__ = ["SERVICES", "systemd_unit", "launchd_plist", "install", "uninstall", "main"]

SERVICES = ("devices", "preprocessor", "telescope", "dome")
#: What each unit needs started first: the daemons reach their devices through ``devices``.
_NEEDS = {"telescope": ("devices",), "dome": ("devices",)}
CONFIG = Path("etc/toros/toros.conf.yaml")


def shipped_config() -> str:
    """The configuration file that ``make install`` puts in /etc/toros."""
    return resources.files("torosdrivers.daemons").joinpath("toros.conf.yaml").read_text()


def systemd_unit(name: str, bin_dir: Path, config: Path) -> str:
    """The systemd unit that runs ``toros-<name> --config <config>``."""
    needs = "".join(f" {n}.service" for n in _NEEDS.get(name, ()))
    what = "device server (one owner per device, ASCOM Alpaca)" if name == "devices" else "daemon (XML-RPC front_desk)"
    # The work-order daemons tell systemd when they serve and feed its watchdog while healthy
    # (daemons/notify.py): a dead worker or an unwritable journal gets the daemon restarted.
    kind = "simple" if name == "devices" else "notify\nNotifyAccess=main\nWatchdogSec=60"
    return f"""[Unit]
Description=TOROS {name} {what}
Documentation=https://github.com/toros-astro/torosmanager
After=network-online.target{needs}
Wants=network-online.target{needs}

[Service]
Type={kind}
ExecStart={bin_dir / f"toros-{name}"} --config {config}
Restart=on-failure
RestartSec=5
# Exit status 2 is a bad configuration: restarting cannot mend it.
RestartPreventExitStatus=2
KillSignal=SIGTERM
TimeoutStopSec=60
NoNewPrivileges=true

[Install]
WantedBy=multi-user.target
"""


def launchd_plist(name: str, bin_dir: Path, config: Path, logs: Path) -> bytes:
    """The launchd agent that runs ``toros-<name> --config <config>``."""
    return plistlib.dumps({
        "Label": f"org.toros.{name}",
        "ProgramArguments": [str(bin_dir / f"toros-{name}"), "--config", str(config)],
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "StandardOutPath": str(logs / f"{name}.out.log"),
        "StandardErrorPath": str(logs / f"{name}.err.log"),
    })


def _targets(root: Path, system: str) -> dict[str, Path]:
    if system == "linux":
        return {name: root / "etc/systemd/system" / f"{name}.service" for name in SERVICES}
    return {name: root / "Library/LaunchAgents" / f"org.toros.{name}.plist" for name in SERVICES}


def install(root: Path, system: str, bin_dir: Path) -> list[str]:
    """Write the units and the configuration under ``root``; returns what was done."""
    done = []
    config = root / CONFIG
    config.parent.mkdir(parents=True, exist_ok=True)
    (config.parent / "logs").mkdir(exist_ok=True)
    if config.exists():
        done.append(f"kept the existing {config}")
    else:
        config.write_text(shipped_config())
        done.append(f"wrote {config}")
    installed_config = Path("/") / CONFIG
    for name, path in _targets(root, system).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if system == "linux":
            path.write_text(systemd_unit(name, bin_dir, installed_config))
        else:
            path.write_bytes(launchd_plist(name, bin_dir, installed_config, Path("/etc/toros/logs")))
        done.append(f"wrote {path}")
    if system == "linux":
        done.append("now: systemctl daemon-reload && systemctl start devices preprocessor telescope dome")
    else:
        done.append("now: launchctl load /Library/LaunchAgents/org.toros.preprocessor.plist (and the others)")
    return done


def uninstall(root: Path, system: str) -> list[str]:
    done = []
    for path in _targets(root, system).values():
        if path.exists():
            path.unlink()
            done.append(f"removed {path}")
    config = root / CONFIG
    if config.exists():
        if config.read_text() == shipped_config():
            config.unlink()
            done.append(f"removed {config}")
        else:
            done.append(f"kept {config}: it was edited")
    return done


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m torosdrivers.daemons.services", description=__doc__.splitlines()[0])
    p.add_argument("action", choices=("install", "uninstall"))
    p.add_argument("--root", type=Path, default=Path("/"), help="install under this root (default: /)")
    p.add_argument("--system", choices=("auto", "linux", "macos"), default="auto")
    p.add_argument("--bin", type=Path, default=Path(sys.executable).parent, help="where the toros-* scripts are")
    args = add_version(p).parse_args(argv)
    system = args.system if args.system != "auto" else ("macos" if sys.platform == "darwin" else "linux")
    try:
        lines = install(args.root, system, args.bin.resolve()) if args.action == "install" else uninstall(args.root, system)
    except PermissionError as exc:
        print(f"{exc}: installing services needs root (sudo make install)", file=sys.stderr)
        return 1
    for line in lines:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
