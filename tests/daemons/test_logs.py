"""Where a daemon's log lines go: the journal under systemd, else its own file; one format."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import yaml


def _run_preprocessor(tmp_path, env: dict, stderr_path) -> str:
    config = tmp_path / "toros.conf.yaml"
    config.write_text(yaml.safe_dump({
        "Logging": {"File": str(tmp_path / "logs" / "toros.log")},
        "Database": {"Journal": str(tmp_path / "journal.sqlite"), "Catalog": str(tmp_path / "catalog.sqlite")},
        "Data Directory": str(tmp_path / "data")}))
    with open(stderr_path, "wb") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "torosdrivers.daemons.frame.cli", "preprocessor", "--config",
                                    str(config), "--port", "0"], stdout=subprocess.PIPE, stderr=stderr, text=True,
                                   env={**os.environ, **env})
        line = process.stdout.readline()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    return line


def test_under_systemd_lines_go_to_the_journal_with_their_priority(tmp_path):
    stderr = tmp_path / "journal-stream"
    stderr.touch()
    st = os.stat(stderr)
    assert "serving XML-RPC" in _run_preprocessor(tmp_path, {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}, stderr)
    lines = stderr.read_text().splitlines()
    assert any(re.fullmatch(r"<6>toros\.preprocessor: serving XML-RPC on http://127\.0\.0\.1:\d+", line)
               for line in lines), lines
    assert not (tmp_path / "logs").exists()  # the journal has them; no file beside it


def test_run_by_hand_each_process_has_its_own_file_and_every_line_once(tmp_path):
    stderr = tmp_path / "stderr"
    _run_preprocessor(tmp_path, {"JOURNAL_STREAM": ""}, stderr)
    assert stderr.read_text() == ""  # not a terminal: the lines are in the file only, not twice
    lines = (tmp_path / "logs" / "toros-preprocessor.log").read_text().splitlines()
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
    assert any(re.fullmatch(fr"{stamp} INFO toros\.preprocessor: serving XML-RPC on http://\S+", line)
               for line in lines), lines
    assert all(re.match(fr"{stamp} (DEBUG|INFO|WARNING|ERROR) ", line) for line in lines)
