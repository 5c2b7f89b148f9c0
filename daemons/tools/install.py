"""Install the daemons as hardened systemd services (Linux) or launchd daemons (macOS).

``make install`` builds a production virtual environment in ``/opt/toros``
(the package without its test tools) and runs ``python -m
torosdrivers.daemons.tools.install install``, which

- creates the ``toros`` system user (group ``dialout``, for serial ports;
  ``_toros`` on macOS), so nothing runs as root;
- writes ``/etc/toros/toros.conf.yaml`` (an existing one is kept);
- writes the units ``/etc/systemd/system/{devices,preprocessor,telescope,
  dome,scheduler,alerts,web}.service``: ``User=toros``, state in ``/var/lib/toros``
  (``StateDirectory``), logs to the journal (``LogsDirectory`` keeps
  ``/var/log/toros`` for the log files of processes run by hand), the file
  system read-only but for those, no home, a private ``/tmp``, no
  capabilities, a system-call allowlist; ordered devices, then
  preprocessor, then telescope and dome, then web; or on macOS the launch
  daemons ``/Library/LaunchDaemons/org.toros.<name>.plist`` (started at boot
  by ``launchctl bootstrap system``, not only while someone is logged in).

``make uninstall`` removes the units, and the configuration only if it is
still the shipped one; data, journals and logs stay. ``--root`` writes under
another root (packaging, tests) and creates no user.
"""

from __future__ import annotations

import argparse
import grp
import os
import plistlib
import pwd
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

from torosdrivers._version import add_version

__all__ = ["SERVICES", "USER", "systemd_unit", "launchd_plist", "install", "uninstall", "main"]

SERVICES = ("devices", "preprocessor", "telescope", "dome", "scheduler", "alerts", "web")
USER = "toros"
MACOS_USER = "_toros"  # macOS role accounts begin with an underscore
#: What each unit is ordered after (and wants): the daemons reach their devices through ``devices``, the
#: telescope hands its nights to the preprocessor, the scheduler its orders to the telescope, the page watches all.
_AFTER = {"telescope": ("devices", "preprocessor"), "dome": ("devices",), "scheduler": ("devices", "telescope"),
          "alerts": ("devices", "scheduler"), "web": ("telescope", "dome", "preprocessor", "scheduler", "alerts")}
#: Units that may open serial ports themselves (the device server; the daemons when it is disabled).
_SERIAL = ("devices", "telescope", "dome")
#: Seconds systemd waits on a stop: the telescope lets the exposure under way end (up to an hour, the
#: longest an order may ask for) and the order then waits in the queue for the next start.
_STOP_SECONDS = {"telescope": 3720, "preprocessor": 600}
CONFIG = Path("etc/toros/toros.conf.yaml")
_WHAT = {"devices": "device server (one owner per device, ASCOM Alpaca)", "web": "observatory web page"}

# Hardening every unit shares (systemd.exec(5)); `systemd-analyze security <unit>` rates what is left.
_HARDENING = """NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateMounts=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RemoveIPC=yes
CapabilityBoundingSet=
AmbientCapabilities=
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources @mount @debug @cpu-emulation @obsolete @raw-io @reboot @swap
SystemCallErrorNumber=EPERM
UMask=0027"""


def shipped_config() -> str:
    """The configuration file that ``make install`` puts in /etc/toros."""
    return resources.files("torosdrivers.daemons").joinpath("toros.conf.yaml").read_text()


def systemd_unit(name: str, bin_dir: Path, config: Path, user: str = USER) -> str:
    """The hardened systemd unit that runs ``toros-<name> --config <config>`` as ``user``."""
    after = "".join(f" {n}.service" for n in _AFTER.get(name, ()))
    what = _WHAT.get(name, "daemon (XML-RPC front_desk)")
    # The work-order daemons tell systemd when they serve and feed its watchdog while healthy
    # (daemons/frame/notify.py): a dead worker or an unwritable journal gets the daemon restarted.
    kind = "simple" if name in ("devices", "web") else "notify\nNotifyAccess=main\nWatchdogSec=60"
    if name in _SERIAL:
        # Serial ports: the dialout group, tty devices only, and /run/lock for the port locks (serialio/lock.py).
        devices = "SupplementaryGroups=dialout\nDevicePolicy=closed\nDeviceAllow=char-ttyUSB rw\n" \
                  "DeviceAllow=char-ttyACM rw\nDeviceAllow=char-ttyS rw\nReadWritePaths=-/run/lock"
    else:
        devices = "PrivateDevices=yes\nPrivateUsers=yes\nMemoryDenyWriteExecute=yes"
    return f"""[Unit]
Description=TOROS {name} {what}
Documentation=https://github.com/toros-astro/torosmanager
After=network-online.target{after}
Wants=network-online.target{after}

[Service]
Type={kind}
User={user}
Group={user}
ExecStart={bin_dir / f"toros-{name}"} --config {config}
Restart=on-failure
RestartSec=5
# Exit status 2 is a bad configuration: restarting cannot mend it.
RestartPreventExitStatus=2
KillSignal=SIGTERM
TimeoutStopSec={_STOP_SECONDS.get(name, 60)}
StateDirectory=toros
LogsDirectory=toros
ConfigurationDirectory=toros
{devices}
{_HARDENING}

[Install]
WantedBy=multi-user.target
"""


def launchd_plist(name: str, bin_dir: Path, config: Path, logs: Path, user: str = MACOS_USER) -> bytes:
    """The launchd daemon that runs ``toros-<name> --config <config>`` as ``user`` from boot."""
    return plistlib.dumps({
        "Label": f"org.toros.{name}",
        "ProgramArguments": [str(bin_dir / f"toros-{name}"), "--config", str(config)],
        "UserName": user,
        "GroupName": user,
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "ExitTimeOut": _STOP_SECONDS.get(name, 60),
        "Umask": 0o027,
        "StandardOutPath": str(logs / f"{name}.out.log"),
        "StandardErrorPath": str(logs / f"{name}.err.log"),
    })


def _targets(root: Path, system: str) -> dict[str, Path]:
    if system == "linux":
        return {name: root / "etc/systemd/system" / f"{name}.service" for name in SERVICES}
    return {name: root / "Library/LaunchDaemons" / f"org.toros.{name}.plist" for name in SERVICES}


def _run(command: list[str]) -> None:
    subprocess.run(command, check=True, capture_output=True, text=True)


def ensure_user(system: str) -> str:
    """Create the service user when it is missing; returns what was done."""
    name = USER if system == "linux" else MACOS_USER
    try:
        pwd.getpwnam(name)
        return f"kept the existing user {name}"
    except KeyError:
        pass
    if system == "linux":
        groups = ["--groups", "dialout"] if _group_exists("dialout") else []
        _run(["useradd", "--system", "--user-group", *groups, "--home-dir", "/var/lib/toros", "--no-create-home",
              "--shell", shutil.which("nologin") or "/usr/sbin/nologin", "--comment", "TOROS observatory", name])
    else:
        _run(["sysadminctl", "-addUser", name, "-fullName", "TOROS observatory", "-roleAccount"])
    return f"created the system user {name}"


def _group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def install(root: Path, system: str, bin_dir: Path, *, create_user: bool = False) -> list[str]:
    """Write the units and the configuration under ``root`` (and create the user); returns what was done."""
    done = []
    if create_user:
        done.append(ensure_user(system))
    config = root / CONFIG
    config.parent.mkdir(parents=True, exist_ok=True)
    if config.exists():
        done.append(f"kept the existing {config}")
    else:
        config.write_text(shipped_config())
        config.chmod(0o644)
        done.append(f"wrote {config}")
    installed_config = Path("/") / CONFIG
    logs = Path("/var/log/toros")
    for name, path in _targets(root, system).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if system == "linux":
            path.write_text(systemd_unit(name, bin_dir, installed_config))
        else:
            (root / logs.relative_to("/")).mkdir(parents=True, exist_ok=True)
            path.write_bytes(launchd_plist(name, bin_dir, installed_config, logs))
        done.append(f"wrote {path}")
    names = " ".join(SERVICES)
    if system == "linux":
        done.append(f"now: systemctl daemon-reload && systemctl enable --now {names}")
    else:
        done.append("now: " + " && ".join(f"launchctl bootstrap system /Library/LaunchDaemons/org.toros.{n}.plist"
                                          for n in SERVICES))
    return done


def uninstall(root: Path, system: str) -> list[str]:
    """Remove the units, and the configuration if unedited; data, journals, logs and the user stay."""
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
    done.append("kept /var/lib/toros (journals, catalog, frames) and /var/log/toros")
    return done


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m torosdrivers.daemons.tools.install", description=__doc__.splitlines()[0])
    p.add_argument("action", choices=("install", "uninstall"))
    p.add_argument("--root", type=Path, default=Path("/"), help="install under this root (default: /)")
    p.add_argument("--system", choices=("auto", "linux", "macos"), default="auto")
    p.add_argument("--bin", type=Path, default=Path(sys.executable).parent, help="where the toros-* scripts are")
    args = add_version(p).parse_args(argv)
    system = args.system if args.system != "auto" else ("macos" if sys.platform == "darwin" else "linux")
    live = args.root.resolve() == Path("/")
    try:
        if args.action == "install":
            lines = install(args.root, system, args.bin.resolve(), create_user=live and os.geteuid() == 0)
        else:
            lines = uninstall(args.root, system)
    except PermissionError as exc:
        print(f"{exc}: installing services needs root (sudo make install)", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        print(f"{' '.join(exc.cmd)} failed: {exc.stderr.strip()}", file=sys.stderr)
        return 1
    for line in lines:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
