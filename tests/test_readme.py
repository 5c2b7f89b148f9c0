"""The README's tour runs as written."""

from __future__ import annotations

import re
from pathlib import Path

from astropy.io import fits

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_tour_runs(tmp_path, monkeypatch):
    blocks = [b for b in re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S) if "m83.fits" in b]
    assert blocks, "the README lost its python example"
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks[0], "README.md", "exec"), {})
    header = fits.getheader(tmp_path / "m83.fits")
    assert header["OBJECT"] == "M 83" and header["WO_ID"] == "17" and header["FILTER"] == "V"


def test_readme_status_api_example_runs(tmp_path, monkeypatch, capsys):
    from tests.daemons.conftest import DOC_OBSERVATION, Stack, client_config, make_config, wait_state

    block = next(b for b in re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S) if "state()" in b)
    stack = Stack(make_config(tmp_path))
    try:
        stack.proxy(stack.telescope).front_desk({**DOC_OBSERVATION, "Calibration Frames": "No"})
        wait_state(stack.proxy(stack.telescope), "1")
        monkeypatch.setenv("TOROS_CONFIG", client_config(stack, tmp_path))
        scope: dict = {}
        exec(compile(block, "README.md", "exec"), scope)
        assert [Path(p).name for p in scope["paths"]] == ["1_light_000.fits"]
        assert capsys.readouterr().out.strip() in ("Open", "Closed")
    finally:
        stack.stop()


def test_readme_planning_example_runs(capsys):
    block = next(b for b in re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S) if "plan_night" in b)
    exec(compile(block, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "NGC 7479" in out and "GW candidate 17', 'never above 30 deg" in out


def test_readme_supervisor_from_a_script_runs(tmp_path, monkeypatch, capsys):
    block = next(b for b in re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S) if "Supervisor" in b)
    monkeypatch.chdir(tmp_path)
    # Noon at the site: the supervisor must find it unsafe, and say why.
    (tmp_path / "my.conf.yaml").write_text(f"Device Server: {{Enabled: false}}\nLogging: {{File: {tmp_path}/l.log}}\n"
                                           "Simulator: {Start: '2026-06-21T16:00:00', Weather: []}\n")
    exec(compile(block, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert out.startswith("False [") and "the Sun is at" in out


def test_readme_plate_solving_example_runs(capsys):
    from torosdrivers.astrometry import solver_available

    if not solver_available():
        import os

        import pytest

        if os.environ.get("TOROS_REQUIRE_SOLVER"):
            pytest.fail("astrometry.net is not installed")
        pytest.skip("astrometry.net is not installed")
    block = next(b for b in re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S) if "acquire(" in b)
    exec(compile(block, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "from where the mount says it points" in out and "acquired: " in out and "NOT" not in out, out


def test_readme_glade_conversion_reads_as_a_catalogue(tmp_path):
    """The README's GLADE+ command, with the download replaced by a file in GLADE+'s layout (40 columns,
    whitespace, null where unknown): the galaxies with a distance come out, readable as a catalogue."""
    import subprocess
    import sys

    from torosdrivers.alerts import Catalogue

    block = next(b for b in re.findall(r"```sh\n(.*?)```", README.read_text(), flags=re.S) if "GLADE+.txt" in b)
    rows = []
    for number, (ra, dec, b, k, d_l) in enumerate([("197.448", "-23.384", "12.9", "9.6", "40.1"),
                                                    ("10.68", "41.27", "4.4", "null", "0.78"),
                                                    ("150.0", "2.2", "null", "null", "null")], 1):
        row = ["null"] * 40
        row[0], row[8], row[9], row[10], row[18], row[32] = str(number), ra, dec, b, k, d_l
        rows.append(" ".join(row))
    (tmp_path / "sample.txt").write_text("\n".join(rows) + "\n")
    script = block.replace("curl -L http://elysium.elte.hu/~dalyag/GLADE+.txt", "cat sample.txt")
    script = script.replace(".venv/bin/python", sys.executable)
    assert script != block
    subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, check=True, timeout=120)
    catalogue = Catalogue.read(tmp_path / "glade+.fits")
    assert list(catalogue.name) == ["1", "2"] and list(catalogue.distance) == [40.1, 0.78]
    assert len(Catalogue.read(tmp_path / "glade+.fits", magnitude="K")) == 1  # M31 has no K here
