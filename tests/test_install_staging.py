"""``make install DESTDIR=...`` into a staging root, as a package build does, inspected (issue 28).

What is installed must name the final prefix only (no staging path in any
script, configuration or bytecode) and own its interpreter (no link into a
home directory, which the units' ProtectHome=yes would hide). The
installed ``toros`` must then run from the final path.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SYSTEM_PYTHON = next((p for p in ("/usr/bin/python3", "/usr/local/bin/python3") if os.access(p, os.X_OK)), None)


@pytest.mark.slow
@pytest.mark.skipif(SYSTEM_PYTHON is None or shutil.which("make") is None, reason="no system Python 3 or make")
def test_make_install_into_a_staging_root_names_only_the_final_prefix(tmp_path):
    stage, prefix = tmp_path / "stage", "/opt/toros-staging-test"
    # Without the dependencies (numpy, astropy...: 20 s of pip): every script and file pip writes goes through the
    # same relocation and check, and the package itself imports none of them (make install, run by hand here,
    # passes the same check with them: packaging/stage_venv.py checks every install it makes).
    run = subprocess.run(["make", "-C", str(ROOT), "install", f"DESTDIR={stage}", f"PREFIX={prefix}",
                          "PIP_ARGS=--no-deps"], capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    venv = stage / prefix.lstrip("/")
    assert (venv / "bin" / "toros-telescope").read_text().splitlines()[0] == f"#!{prefix}/bin/python"
    assert "built from /usr" in run.stdout and f"for {prefix}" in run.stdout  # a system Python, not a home's
    assert not (venv / "bin" / "python").is_symlink()  # the venv owns its interpreter
    config = (venv / "pyvenv.cfg").read_text()
    assert str(stage) not in config and "/root/" not in config and "/home/" not in config, config
    unit = (stage / "etc/systemd/system/telescope.service").read_text()
    assert f"ExecStart={prefix}/bin/toros-telescope --config /etc/toros/toros.conf.yaml" in unit
    named = subprocess.run(["grep", "-rlI", str(stage), str(stage)], capture_output=True, text=True).stdout.split()
    bytecode = subprocess.run(["grep", "-rl", "--include=*.pyc", str(stage), str(stage)], capture_output=True,
                              text=True).stdout.split()
    assert not named and not bytecode, (named + bytecode)[:10]
    for root, dirs, files in os.walk(stage):
        for name in dirs + files:
            path = Path(root, name)
            if path.is_symlink():
                target = os.readlink(path)
                assert not os.path.isabs(target) or not target.startswith(("/root", "/home", str(stage))), path
    # Moved to where it was built for, it runs (as the package manager would put it there)
    moved = Path(prefix)
    if not os.access(moved.parent, os.W_OK) or moved.exists():
        return  # (not root: the inspection above is the test)
    shutil.move(str(venv), prefix)
    try:
        out = subprocess.run([f"{prefix}/bin/python", "-c", "import torosdrivers, sys; print(torosdrivers.__version__, "
                              "torosdrivers.__file__, sys.prefix)"], capture_output=True, text=True, timeout=120,
                             cwd="/")  # (from the checkout, python -c would import the source tree)
        assert out.returncode == 0 and f"{prefix}/lib/" in out.stdout and out.stdout.strip().endswith(prefix), \
            out.stdout + out.stderr
    finally:
        shutil.rmtree(prefix, ignore_errors=True)
