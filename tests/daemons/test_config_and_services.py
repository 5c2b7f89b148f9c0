"""The configuration loader, and the service files that `make install` writes."""

from __future__ import annotations

import plistlib
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from torosdrivers.config import DEFAULTS, ConfigError, build_devices, build_hardware, load_config
from torosdrivers.config_schema import SCHEMA
from torosdrivers.daemons.tools.install import SERVICES, install, shipped_config, uninstall


def test_embedded_default_when_no_file(monkeypatch, tmp_path):
    monkeypatch.delenv("TOROS_CONFIG", raising=False)
    monkeypatch.setattr("torosdrivers.config.DEFAULT_PATH", tmp_path / "absent.yaml")
    config = load_config()
    assert config.source == "embedded default"
    assert config.address("Preprocessor") == ("127.0.0.1", 9001)
    assert config.url("Preprocessor") == "http://127.0.0.1:9001"


def test_environment_variable_and_flag(monkeypatch, tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(yaml.safe_dump({"Logging": {"Log Level": "debug"}}))
    b.write_text(yaml.safe_dump({"Telescope Address": {"IP": "127.0.0.1", "Port": 7000}}))
    monkeypatch.setenv("TOROS_CONFIG", str(a))
    assert load_config()["Logging"]["Log Level"] == "DEBUG"
    assert load_config(b).address("Telescope") == ("127.0.0.1", 7000)  # the flag wins


def test_shipped_file_loads_and_uses_every_documented_key(tmp_path):
    path = tmp_path / "toros.conf.yaml"
    path.write_text(shipped_config())
    config = load_config(path)
    assert config["Logging"]["File"] == "/var/log/toros/toros.log" and config["Web"]["Allow Orders"] is False
    shipped = yaml.safe_load(shipped_config())
    assert set(shipped) == set(DEFAULTS)
    for section, keys in DEFAULTS.items():  # every key it accepts is in the shipped file, with its comment
        if isinstance(keys, dict) and section != "Devices":
            assert set(shipped[section]) == set(keys), section
    # The comments name what the checks accept.
    text = shipped_config()
    assert "Log Level: INFO               # DEBUG, INFO, WARNING or ERROR" in text
    assert SCHEMA["Logging"]["Log Level"]("TRACE") == "expected one of ['DEBUG', 'INFO', 'WARNING', 'ERROR']"
    assert '"leave" to leave it' in text and SCHEMA["Telescope"]["On Fault"]("leave") is None
    assert "(Mount: lx200, Dome: ddw, Filter Wheel: qhycfw" in text


@pytest.mark.parametrize(
    "content, message",
    [
        ({"Logging": {"Log Level": "LOUD"}}, "Logging.Log Level: 'LOUD': expected one of"),
        ({"Telescope Address": {"IP": "localhost-ish", "Port": 1}}, "Telescope Address.IP: 'localhost-ish'"),
        ({"Dome Address": {"IP": "127.0.0.1", "Port": 70000}}, "Dome Address.Port: 70000"),
        ({"Devices": {"Mount": {"Backend": "lx200"}}}, "Devices.Mount.Port: the lx200 backend needs"),
        ({"Devices": {"Camera": {"Backend": "webcam"}}}, "Devices.Camera.Backend: 'webcam'"),
        ({"Security": {"Allowed Networks": ["everyone"]}}, "Security.Allowed Networks: ['everyone']: 'everyone' is not"),
        ({"Telescop": {}}, "'Telescop': unknown section; did you mean 'Telescope'?"),
        ({"Telescope": {"Minimum Altitud": 20}}, "Telescope.Minimum Altitud: unknown key; did you mean 'Minimum Altitude'?"),
        ({"Preprocessor Address": {"HTTP": "http://127.0.0.1:9005"}}, "names port 9005 but Port is 9001"),
        ({"Safety": {"Sun Close Altitude": -15.0}}, "Sun Close Altitude -15 is below Sun Open Altitude -12"),
        ({"Web": {"Port": 9002}}, "Web: port 9002 on 127.0.0.1 is Telescope Address's too"),
        ({"Web": {"Allow Orders": "yes"}}, "Web.Allow Orders: 'yes': expected true or false"),
        ("- just\n- a list\n", "expected a mapping of sections"),
        ("Logging: [unclosed\n", "not valid YAML"),
    ],
)
def test_invalid_config_names_key_and_problem(tmp_path, content, message):
    path = tmp_path / "bad.yaml"
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(path) in str(error.value) and message in str(error.value)


def test_daemon_refuses_to_start_on_a_bad_config(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"Logging": {"Log Level": "LOUD"}}))
    run = subprocess.run([sys.executable, "-m", "torosdrivers.daemons.frame.cli", "dome", "--config", str(path)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "Logging.Log Level" in run.stderr


BAD_CONFIGS = [  # issue 14's reproductions: each once printed a traceback or started serving
    ("Security:\n", "Security: None: expected a mapping"),
    ("Security: {Allowed Networks: null}\n", "Security.Allowed Networks: None: expected a list of networks"),
    ("Security: {Allowed Network: [10.0.0.0/8]}\n", "Security.Allowed Network: unknown key; did you mean "
                                                      "'Allowed Networks'?"),
    ("Security: {Client Timeout: .nan}\n", "Security.Client Timeout: nan: expected a finite number"),
    ("Security: {Client Timeout: 0}\n", "Security.Client Timeout: 0: expected a number above 0"),
    ("Security: {Max Request Bytes: big}\n", "Security.Max Request Bytes: 'big': expected a whole number"),
    ("Security: {Max Connections: -3}\n", "Security.Max Connections: -3: expected a whole number from 1"),
    ("Security: {TLS Certificate: /nonexistent.pem, TLS Key: /nonexistent.key}\n",
     "Security.TLS Certificate: '/nonexistent.pem': no readable file there"),
    ("Security: {Token File: /nonexistent-token}\n", "Security.Token File: '/nonexistent-token': no readable file"),
    ("Site: {Latitude: .inf}\n", "Site.Latitude: inf: expected a finite number"),
    ("Site: {Elevation: high}\n", "Site.Elevation: 'high': expected a number"),
    ("Simulator: {Time Scale: -1}\n", "Simulator.Time Scale: -1: expected a number above 0"),
    ("Simulator: {Start: tomorrow}\n", "Simulator.Start: 'tomorrow': expected an ISO 8601 time"),
    ("Telescope: {Minimum Altitude: 95}\n", "Telescope.Minimum Altitude: 95: expected a number from 0 to 89"),
    ("Dome Address: {Port: 70000}\n", "Dome Address.Port: 70000: expected a port number 1-65535"),
    ("Dome Address: {Port: true}\n", "Dome Address.Port: True: expected a port number"),
    ("Device Server: {Enabled: yes please}\n", "Device Server.Enabled: 'yes please': expected true or false"),
    ("Devices: {Dome: null}\n", "Devices.Dome.Backend: None: expected one of"),
    ("Devices: {Dome: {Backend: ddw, Port: /dev/ttyUSB1, Park Azimuth: 400}}\n",
     "Devices.Dome.Park Azimuth: 400: expected a number from 0 to 360"),
    ("Devices: {Mount: {Backend: lx200, Port: /dev/x, Baud: 9600}}\n",
     "Devices.Mount.Baud: unknown key; did you mean 'Baud Rate'?"),
    ("Devices: {Filter Wheel: {Backend: qhycfw, Port: /dev/x, Names: [V, V]}}\n",
     "Devices.Filter Wheel.Names: ['V', 'V']: expected a list of distinct filter names"),
    ("Preprocessor Address: {HTTP: ftp://x}\n", "Preprocessor Address.HTTP: 'ftp://x': expected an http://"),
    ("Data Directory: 12\n", "Data Directory: 12: expected a folder path"),
    ("Logging: {Wire Trace: maybe}\n", "Logging.Wire Trace: 'maybe': expected true or false"),
    ("\x00\xff\xfe", "not"),
]


@pytest.mark.parametrize("content, message", BAD_CONFIGS)
def test_a_bad_configuration_is_one_clear_line_per_problem_and_a_non_zero_exit(tmp_path, capsys, content, message):
    from torosdrivers.daemons.frame.cli import main_dome

    path = tmp_path / "bad.yaml"
    path.write_bytes(content.encode("latin-1"))
    assert main_dome(["--config", str(path), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert all(line.startswith(f"toros-dome: {path}: ") for line in err.splitlines()), err


def test_every_problem_of_a_configuration_is_reported(tmp_path, capsys):
    from torosdrivers.daemons.frame.cli import main_dome

    path = tmp_path / "bad.yaml"
    path.write_text("Security: {Client Timeout: .nan, Allowed Network: []}\nSite: {Latitude: 100}\n")
    assert main_dome(["--config", str(path)]) == 2
    assert len(capsys.readouterr().err.splitlines()) == 3


def test_a_journal_that_is_a_folder_and_a_port_out_of_range_are_refused(tmp_path, capsys):
    from torosdrivers.daemons.frame.cli import main_dome

    (tmp_path / "journal").mkdir()
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"Database": {"Journal": str(tmp_path / "journal")}}))
    assert main_dome(["--config", str(path)]) == 2
    assert "Database.Journal: " in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main_dome(["--config", str(path), "--port", "70000"])
    assert exit_.value.code == 2 and "70000 is not a port number 0-65535" in capsys.readouterr().err


def test_daemons_reach_their_devices_through_the_device_server_by_default(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"Device Server": {"IP": "127.0.0.1", "Port": 11222},
                                    "Devices": {"Dome": {"Backend": "ddw", "Port": "/dev/ttyUSB1"}}}))
    devices = build_devices(load_config(path))
    kinds = [type(d).__name__ for d in (devices.camera, devices.filter_wheel, devices.mount, devices.dome)]
    assert kinds == ["AlpacaCamera", "AlpacaFilterWheel", "AlpacaMount", "AlpacaDome"]
    assert devices.dome.name == "Alpaca dome 0 at 127.0.0.1:11222"
    assert type(build_hardware(load_config(path), ("Dome",)).dome).__name__ == "DDWDome"


def test_configured_backends_are_built(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"Device Server": {"Enabled": False}, "Devices": {
        "Camera": {"Backend": "alpaca", "Address": "127.0.0.1:11111"},
        "Filter Wheel": {"Backend": "qhycfw", "Port": "socket://127.0.0.1:4031"},
        "Mount": {"Backend": "lx200", "Port": "/dev/ttyUSB0"},
        "Dome": {"Backend": "ddw", "Port": "socket://127.0.0.1:4032"},
    }}))
    devices = build_devices(load_config(path))
    kinds = [type(d).__name__ for d in (devices.camera, devices.filter_wheel, devices.mount, devices.dome)]
    assert kinds == ["AlpacaCamera", "QHYFilterWheel", "LX200Mount", "DDWDome"]
    assert devices.camera.context.mount is devices.mount and devices.mount.min_altitude.value == 15.0


def test_systemd_units(tmp_path):
    lines = install(tmp_path, "linux", tmp_path / "bin")
    for name in SERVICES:
        unit = (tmp_path / "etc/systemd/system" / f"{name}.service").read_text()
        assert f"ExecStart={tmp_path / 'bin'}/toros-{name} --config /etc/toros/toros.conf.yaml" in unit
        assert "Restart=on-failure" in unit and "WantedBy=multi-user.target" in unit
        for line in ("User=toros", "StateDirectory=toros", "LogsDirectory=toros", "ProtectSystem=strict",
                     "ProtectHome=yes", "PrivateTmp=yes", "NoNewPrivileges=yes", "CapabilityBoundingSet=\n"):
            assert line in unit, (name, line)
        if name in ("devices", "telescope", "dome"):  # may open serial ports themselves
            assert "SupplementaryGroups=dialout" in unit and "ReadWritePaths=-/run/lock" in unit
        if name != "devices" and name != "web":  # ready and watchdog notifications (daemons/frame/notify.py)
            assert "Type=notify" in unit and "WatchdogSec=60" in unit and "RestartPreventExitStatus=2" in unit
    units = {n: (tmp_path / "etc/systemd/system" / f"{n}.service").read_text() for n in SERVICES}
    assert "After=network-online.target devices.service preprocessor.service" in units["telescope"]
    assert "After=network-online.target devices.service\n" in units["dome"]
    assert "TimeoutStopSec=3720" in units["telescope"]  # an exposure of up to an hour may end
    assert "After=network-online.target devices.service telescope.service" in units["scheduler"]
    assert "After=network-online.target devices.service scheduler.service" in units["alerts"]
    assert (tmp_path / "etc/toros/toros.conf.yaml").read_text() == shipped_config()
    assert any("systemctl enable --now devices preprocessor telescope dome scheduler alerts web" in line for line in lines)
    if shutil.which("systemd-analyze"):
        (tmp_path / "bin").mkdir(exist_ok=True)
        for name in SERVICES:
            script = tmp_path / "bin" / f"toros-{name}"
            script.write_text("#!/bin/sh\n")
            script.chmod(0o755)
            path = str(tmp_path / "etc/systemd/system" / f"{name}.service")
            run = subprocess.run(["systemd-analyze", "verify", path], capture_output=True, text=True)
            assert run.returncode == 0, run.stderr
            run = subprocess.run(["systemd-analyze", "security", "--offline=yes", path], capture_output=True,
                                 text=True)
            exposure = float(re.search(r"Overall exposure level for \S+: ([\d.]+)", run.stdout).group(1))
            assert exposure < 2.0, (name, run.stdout[-2000:])  # the issue asks below 5; they measure 1.1-1.5


def test_the_service_user_is_created_once(monkeypatch):
    import torosdrivers.daemons.tools.install as services

    commands = []
    monkeypatch.setattr(services, "_run", commands.append)
    monkeypatch.setattr(services.pwd, "getpwnam", lambda name: (_ for _ in ()).throw(KeyError(name)))
    assert services.ensure_user("linux") == "created the system user toros"
    assert commands[0][:3] == ["useradd", "--system", "--user-group"] and commands[0][-1] == "toros"
    assert ("--groups" in commands[0]) == services._group_exists("dialout")
    assert services.ensure_user("macos") == "created the system user _toros"
    assert commands[1][:3] == ["sysadminctl", "-addUser", "_toros"] and "-roleAccount" in commands[1]
    monkeypatch.setattr(services.pwd, "getpwnam", lambda name: object())
    assert services.ensure_user("linux") == "kept the existing user toros" and len(commands) == 2


def test_launchd_daemons(tmp_path):
    lines = install(tmp_path, "macos", tmp_path / "bin")
    daemon = plistlib.loads((tmp_path / "Library/LaunchDaemons/org.toros.preprocessor.plist").read_bytes())
    assert daemon["Label"] == "org.toros.preprocessor" and daemon["UserName"] == "_toros"
    assert daemon["ProgramArguments"] == [str(tmp_path / "bin/toros-preprocessor"), "--config",
                                          "/etc/toros/toros.conf.yaml"]
    assert daemon["RunAtLoad"] is True and daemon["StandardErrorPath"] == "/var/log/toros/preprocessor.err.log"
    assert not (tmp_path / "Library/LaunchAgents").exists()
    assert "launchctl bootstrap system /Library/LaunchDaemons/org.toros.web.plist" in lines[-1]


def test_uninstall_keeps_an_edited_config(tmp_path):
    install(tmp_path, "linux", tmp_path / "bin")
    config = tmp_path / "etc/toros/toros.conf.yaml"
    config.write_text(config.read_text() + "\n# edited\n")
    assert install(tmp_path, "linux", tmp_path / "bin")[0].startswith("kept the existing")
    lines = uninstall(tmp_path, "linux")
    assert not list((tmp_path / "etc/systemd/system").iterdir())
    assert config.exists() and any("kept" in line for line in lines)
    config.write_text(shipped_config())
    uninstall(tmp_path, "linux")
    assert not config.exists()


def test_every_package_is_installed_by_make_install():
    """A non-editable install (make install) takes only the packages pyproject.toml lists."""
    import tomllib
    from pathlib import Path

    root = Path(__file__).parents[2]
    project = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(project["packages"])
    folders = {name: Path(folder) for name, folder in project["package-dir"].items()}
    found = {".".join((name, *init.parent.relative_to(root / folder).parts))
             for name, folder in folders.items() for init in (root / folder).rglob("__init__.py")}
    assert "torosdrivers.weather" in found and found - listed == set() and "webpage/*" in project["package-data"]["torosdrivers.daemons.tools"]
